/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one authorization rule: who may send a request, and whose account it
 * may be about.  The caller is known by SO_PEERCRED only.  A caller that
 * may not act on others is refused before any lookup when it names another
 * user, so the answer is the same for unknown users and for others'
 * accounts; those who may (admins, auditors for reads, root) learn "no such
 * user".
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "request.h"

static int refused(struct request *rq) {
        const char *why = rq->type->refusal ? rq->type->refusal : "you may only act on your own account";
        return refuse(rq->d, rq->reply, rq->peer, rq->op, why), 1;
}

static int failed(struct request *rq, int r, const char *why) {
        return reply_error(rq->reply, r, why), 1;
}

static bool may_name_others(const struct request *rq) {
        switch (rq->type->others) {
        case OTHERS_ROOT:
                return rq->peer->uid == 0;
        case OTHERS_READERS:
                return rq->role >= ROLE_AUDITOR;
        case OTHERS_ADMINS:
                return rq->role == ROLE_ADMIN;
        default:
                return false;
        }
}

/* The named user: looked up, or (TARGET_ANYNAME) only a name. */
static int look_up(struct request *rq, const char *name) {
        int r = user_by_name(name, &rq->target);
        if (r == 0) {
                rq->known = true;
                return 0;
        }
        if (r == -ENOENT && (rq->type->target == TARGET_ANYNAME || rq->type->target == TARGET_ANYNAME_ALL)) {
                if (strlen(name) >= sizeof(rq->target.name))
                        return failed(rq, -EINVAL, "malformed user");
                snprintf(rq->target.name, sizeof(rq->target.name), "%s", name);
                return 0;
        }
        return failed(rq, r, r == -ENOENT ? "no such user" : "user lookup failed");
}

static int own_target(struct request *rq, const char *name) {
        struct principal self;
        bool named_self = user_by_uid(rq->peer->uid, &self) == 0;
        if (!name) {
                if (rq->type->target == TARGET_GLOBAL)
                        return rq->global = true, 0;
                if (rq->type->target == TARGET_ANYNAME_ALL && rq->role >= ROLE_AUDITOR)
                        return rq->everyone = true, 0;
                if (!named_self)
                        return failed(rq, -ENOENT, "your uid has no user name");
                rq->target = self;
                rq->known = rq->self = true;
                return 0;
        }
        if (named_self && strcmp(name, self.name) == 0) {
                rq->target = self;
                rq->known = rq->self = true;
                return 0;
        }
        if (!may_name_others(rq))
                return refused(rq);
        return look_up(rq, name);
}

/* ALL=1: everyone's, for admins and auditors. */
static int everyone(struct request *rq, const char *name) {
        if (name)
                return failed(rq, -EINVAL, "a user or everyone (ALL), not both");
        if (rq->role < ROLE_AUDITOR)
                return refused(rq);
        rq->everyone = true;
        return 0;
}

static int target_policy(struct request *rq) {
        const char *why = NULL;
        if (!rq->known)
                return 0;
        int r = policy_for(&rq->d->policy, &rq->target, NULL, NULL, &rq->conf, &why);
        return r < 0 ? failed(rq, r, why) : 0;
}

int authorize(struct request *rq) {
        const struct request_type *t = rq->type;
        const char *name = t->target == TARGET_NONE ? NULL : rq_str(rq, ACCTSEC_TAG_USER);
        int r;

        switch (t->access) {
        case ACCESS_ANYONE:
                return 0;
        case ACCESS_ROOT:
                return rq->peer->uid == 0 ? 0 : refused(rq);
        case ACCESS_LOGIN: /* login_prologue() decides: root, or the user itself */
                return t->login ? 0 : refused(rq); /* a row without it would let anyone in */
        case ACCESS_ADMIN:
                rq->role = role_of(rq->peer->uid, &rq->d->policy.global);
                if (rq->role != ROLE_ADMIN)
                        return refused(rq);
                if (!name) {
                        rq->global = t->target == TARGET_GLOBAL;
                        return 0;
                }
                r = look_up(rq, name);
                break;
        case ACCESS_READERS:
                rq->role = role_of(rq->peer->uid, &rq->d->policy.global);
                return rq->role >= ROLE_AUDITOR ? 0 : refused(rq);
        case ACCESS_OWN:
                rq->role = role_of(rq->peer->uid, &rq->d->policy.global);
                if (t->all && rq_u64(rq, ACCTSEC_TAG_ALL, 0))
                        return everyone(rq, name);
                r = own_target(rq, name);
                break;
        default:
                return refused(rq);
        }
        return r ? r : target_policy(rq);
}
