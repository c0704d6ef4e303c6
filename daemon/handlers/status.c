/* SPDX-License-Identifier: BSD-3-Clause */
/* STATUS, LOCKOUT_SHOW, LOCKOUT_RESET; and PING and RELOAD. */
#include "config.h"

#include <errno.h>

#include "account.h"
#include "lockout.h"
#include "notify.h"
#include "pwpolicy.h"
#include "request.h"

#define LIST_MAX 500 /* records in one reply (and what fits in a frame); the rest is counted */

int handle_ping(struct request *rq) {
        acctsec_frame_init(rq->reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(rq->reply, ACCTSEC_TAG_MESSAGE, PACKAGE_STRING);
        return 0;
}

struct status_sum {
        int64_t failures, last_failure, locked_until;
        int64_t now;
};

static int sum_tally(const char *user, const struct tally *t, void *ud) {
        struct status_sum *s = ud;
        s->failures += t->failures;
        if (t->last_failure > s->last_failure)
                s->last_failure = t->last_failure;
        if (tally_is_locked(t, s->now) && s->locked_until != LOCKED_FOREVER &&
            (t->locked_until == LOCKED_FOREVER || t->locked_until > s->locked_until))
                s->locked_until = t->locked_until;
        return 0;
}

/* The rules a new password must meet, as passwd shows them (PASSWORD_POLICY),
 * and whether the user may change it at all: a page that offers "change
 * password" must not offer it when only an administrator may. */
static void add_password_rules(const struct acctsec_conf *conf, struct acctsec_frame *reply) {
        char text[512];
        /* A text cut short is still the rules' start: better than none. */
        (void) pwpolicy_text(conf, text, sizeof(text));
        acctsec_frame_add_str(reply, ACCTSEC_TAG_RULES, text);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_SELF_CHANGE, conf->allow_self_change ? 1 : 0);
}

/* What acctsec status adds to the lockout: account, password, second factor. */
static int add_account_status(struct daemon *d, const struct principal *p, const struct acctsec_conf *conf,
                              struct acctsec_frame *reply) {
        struct account_info info;
        struct factors f;
        bool notify = true;
        int r = account_get(&d->store, p->name, &info);
        if (r == 0)
                r = factors_of(d, p->name, &f);
        if (r == 0)
                r = notify_pref(&d->store, p->name, &notify);
        if (r < 0)
                return reply_db_error(reply, ACCTSEC_OP_STATUS, p->name, r);
        enum acctsec_mfa policy = f.required && conf->mfa == ACCTSEC_MFA_OPTIONAL ? ACCTSEC_MFA_REQUIRED : conf->mfa;
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DISABLED, (uint64_t) info.disabled);
        if (info.disabled)
                acctsec_frame_add_str(reply, ACCTSEC_TAG_ACTOR, info.disabled_by);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_MUST_CHANGE, info.must_change);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_CHANGED, (uint64_t) info.changed);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_MFA, f.totp);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_FLAG, f.email.codes);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_PHONE_CODES, f.phone.codes);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_POLICY, acctsec_mfa_name(policy));
        /* 1 on; 0 the user turned them off; 2 notify_new_source = no; 3 on, but no verified address */
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_NOTIFY,
                              !conf->notify_new_source ? 2 : !notify ? 0 : f.email.address[0] ? 1 : 3);
        add_password_rules(conf, reply);
        return 0;
}

int handle_status(struct request *rq) {
        struct daemon *d = rq->d;
        struct acctsec_frame *reply = rq->reply;
        const struct principal *p = &rq->target;
        struct status_sum sum = { .now = rq->now };

        int r = lockout_list(&d->store, p->name, sum_tally, &sum);
        if (r < 0)
                return reply_error(reply, r, "database error");
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_UID, p->uid);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_ROLE, role_name(role_of(p->uid, &d->policy.global)));
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_FAILURES, (uint64_t) sum.failures);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_LAST_FAILURE, (uint64_t) sum.last_failure);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_LOCKED_UNTIL, wire_until(sum.locked_until));
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DENY, rq->conf.deny);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, sum.locked_until ? ACCTSEC_DENY_LOCKED : ACCTSEC_ALLOW);
        return add_account_status(d, p, &rq->conf, reply);
}

struct list_ctx {
        struct acctsec_frame *reply;
        int64_t now;
        uint64_t n;
};

static int add_tally(const char *user, const struct tally *t, void *ud) {
        struct list_ctx *c = ud;
        /* One record is at most ~600 bytes: stop while it surely fits. */
        if (c->n++ >= LIST_MAX || c->reply->len > ACCTSEC_FRAME_MAX - 1024)
                return 0;
        acctsec_frame_add_u64(c->reply, ACCTSEC_TAG_RECORD, c->n);
        acctsec_frame_add_str(c->reply, ACCTSEC_TAG_USER, user);
        acctsec_frame_add_str(c->reply, ACCTSEC_TAG_SOURCE, t->source);
        acctsec_frame_add_u64(c->reply, ACCTSEC_TAG_FAILURES, (uint64_t) t->failures);
        acctsec_frame_add_u64(c->reply, ACCTSEC_TAG_LAST_FAILURE, (uint64_t) t->last_failure);
        acctsec_frame_add_u64(c->reply, ACCTSEC_TAG_LOCKED_UNTIL,
                              tally_is_locked(t, c->now) ? wire_until(t->locked_until) : 0);
        return 0;
}

static int count_tally(const char *user, const struct tally *t, void *ud) {
        ((struct list_ctx *) ud)->n++;
        return 0;
}

/* One user's tallies, or (admins and auditors, no user named) everyone's. */
int handle_lockout_show(struct request *rq) {
        struct acctsec_frame *reply = rq->reply;
        struct list_ctx c = { .reply = reply, .now = rq->now };

        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        int r = lockout_list(&rq->d->store, rq->everyone ? NULL : rq->target.name, add_tally, &c);
        if (r < 0)
                return reply_error(reply, r, "database error");
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, c.n);
        return 0;
}

int handle_lockout_reset(struct request *rq) {
        struct daemon *d = rq->d;
        struct acctsec_frame *reply = rq->reply;
        const char *user = rq->target.name;
        char actor[USER_NAME_MAX + 16];
        int removed = 0;
        bool was_locked = false;

        actor_name(rq->peer, actor, sizeof(actor));
        /* A user that no longer exists may still have a tally to clear. */
        if (!rq->known) {
                struct list_ctx c = { .reply = NULL };
                if (lockout_list(&d->store, user, count_tally, &c) < 0 || c.n == 0)
                        return reply_error(reply, -ENOENT, "no such user");
        }
        int r = lockout_reset(&d->store, user, actor, rq->now, &removed, &was_locked);
        if (r < 0)
                return reply_error(reply, r, "database error");
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, user);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, (uint64_t) removed);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, was_locked ? ACCTSEC_DENY_LOCKED : ACCTSEC_ALLOW);
        return 0;
}

/* RELOAD: what SIGHUP does, with the outcome as the answer, so that
 * "systemctl reload acctsecd" (ExecReload=acctsecd --reload) waits for the
 * file to be read and fails when it has an error. */
int handle_reload(struct request *rq) {
        struct daemon *d = rq->d;
        struct acctsec_frame *reply = rq->reply;
        char why[512];
        int r = policy_reload(&d->policy, why, sizeof(why));
        if (r < 0)
                return reply_error(reply, r, why);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_MESSAGE, d->policy.path);
        return 0;
}
