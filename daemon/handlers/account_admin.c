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
#include "request.h"
#include "log.h"

int handle_account_disable(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        char actor[USER_NAME_MAX + 16];
        bool disable = req->type == ACCTSEC_OP_ACCOUNT_DISABLE, changed = false;

        if (disable && p->uid == 0)
                return reply_error(reply, -EPERM, "root cannot be disabled: it is the way back in "
                                                  "(lock its password, or disallow its logins in sshd, instead)");
        actor_name(peer, actor, sizeof(actor));
        int r = account_set_disabled(&d->store, p->name, disable, actor, rq->now, &changed);
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, changed);
        return 0;
}

int handle_expire_password(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        char actor[USER_NAME_MAX + 16];

        actor_name(peer, actor, sizeof(actor));
        int r = account_expire_password(&d->store, p->name, actor, rq->now);
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        return 0;
}
