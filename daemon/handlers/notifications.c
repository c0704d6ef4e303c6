/* SPDX-License-Identifier: BSD-3-Clause */
/* NOTIFY_SET: new-source login mails on or off, for oneself (admins: anyone). */
#include "config.h"

#include <errno.h>

#include "notify.h"
#include "request.h"

int handle_notify_set(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *target = &rq->target;
        uint64_t on = rq_u64(rq, ACCTSEC_TAG_NOTIFY, 1);
        char actor[USER_NAME_MAX + 16];

        if (on > 1)
                return reply_error(reply, -EINVAL, "malformed field");
        struct event ev = { .type = EV_NOTIFY_CHANGED, .user = target->name, .actor = rq_actor(rq, actor, sizeof(actor)),
                            .detail = on ? "new-source login mails on" : "new-source login mails off" };
        int r = notify_set_in(&d->store, target->name, on);
        if (r == 0)
                r = seclog_add(&d->store, rq->now, &ev);
        if (r < 0)
                return reply_db_error(reply, req->type, target->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, target->name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_NOTIFY, on);
        return 0;
}
