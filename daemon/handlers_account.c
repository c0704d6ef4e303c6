/* SPDX-License-Identifier: BSD-3-Clause */
/* Account controls: admins disable, enable and expire passwords; the
 * module's commit line records a real password change. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "handlers.h"
#include "log.h"

/* The user an admin names: it must exist (admins may learn who exists). */
static int admin_target(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req, const char *what,
                        struct principal *ret, struct acctsec_frame *reply) {
        const char *user;
        if (get_str(req, ACCTSEC_TAG_USER, true, &user) < 0)
                return reply_error(reply, -EINVAL, "needs a user (--user NAME)"), 1;
        if (role_of(peer->uid, &d->policy.global) != ROLE_ADMIN)
                return refuse(d, reply, peer, req->type, what), 1;
        int r = user_by_name(user, ret);
        if (r < 0)
                return reply_error(reply, r, r == -ENOENT ? "no such user" : "user lookup failed"), 1;
        return 0;
}

static int handle_disable(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                          struct acctsec_frame *reply) {
        struct principal p;
        char actor[USER_NAME_MAX + 16];
        bool disable = req->type == ACCTSEC_OP_ACCOUNT_DISABLE, changed = false;

        if (admin_target(d, peer, req, "only admins may disable or enable accounts", &p, reply))
                return 0;
        if (disable && p.uid == 0)
                return reply_error(reply, -EPERM, "root cannot be disabled: it is the way back in "
                                                  "(lock its password, or disallow its logins in sshd, instead)");
        actor_name(peer, actor, sizeof(actor));
        int r = account_set_disabled(&d->store, p.name, disable, actor, (int64_t) time(NULL), &changed);
        if (r < 0)
                return reply_db_error(reply, req->type, p.name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p.name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, changed);
        return 0;
}

static int handle_expire(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                         struct acctsec_frame *reply) {
        struct principal p;
        char actor[USER_NAME_MAX + 16];

        if (admin_target(d, peer, req, "only admins may force a password change", &p, reply))
                return 0;
        actor_name(peer, actor, sizeof(actor));
        int r = account_expire_password(&d->store, p.name, actor, (int64_t) time(NULL));
        if (r < 0)
                return reply_db_error(reply, req->type, p.name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p.name);
        return 0;
}

int handle_account_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                           struct acctsec_frame *reply) {
        switch (req->type) {
        case ACCTSEC_OP_ACCOUNT_DISABLE:
        case ACCTSEC_OP_ACCOUNT_ENABLE:
                return handle_disable(d, peer, req, reply);
        default:
                return handle_expire(d, peer, req, reply);
        }
}
