/* SPDX-License-Identifier: BSD-3-Clause */
/* Second-factor relief at login (the one place MFA_BEGIN, MFA_VERIFY and
 * PREAUTH ask domain/relief.c), and the remembered devices' requests:
 * DEVICE_LIST, DEVICE_REVOKE. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "handlers.h"
#include "log.h"
#include "relief.h"
#include "request.h"

/* A password recovery in this login (recovery.c): the recovery code stood
 * in for the password only, so the second factor is asked whatever the
 * network or device: a mailbox alone never opens the account. */
static bool after_recovery(struct request *rq, const struct login *l) {
        struct account_info info;
        return l->a.known && account_get(&rq->d->store, l->a.user, &info) == 0 &&
               info.must_change == MUST_CHANGE_RECOVERY;
}

int relief_at_login(struct request *rq, const struct login *l, bool first_checked, bool act, struct relief *ret) {
        int r = relief_decide(&rq->d->store, &l->conf, &l->a, rq_str(rq, ACCTSEC_TAG_AUTH_INFO), first_checked,
                              rq->now, ret);
        if (r == 0 && ret->skip && after_recovery(rq, l))
                ret->skip = false;
        if (r == 0 && act && ret->skip)
                r = relief_skipped(&rq->d->store, &l->a, ret, rq->now);
        return r;
}

int relief_after_code(struct request *rq, const struct login *l) {
        const char *why = NULL;
        int r = relief_remember(&rq->d->store, &l->conf, &l->a, rq_str(rq, ACCTSEC_TAG_AUTH_INFO), rq->now, &why);
        if (r == 0 && why)
                log_msg(LOG_DEBUG, "device of %s not remembered: %s", l->a.user, why);
        return r;
}

static int add_device(const struct device_row *dv, void *ud) {
        struct acctsec_frame *f = ud;
        acctsec_frame_add_u64(f, ACCTSEC_TAG_RECORD, 0);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_DEVICE, (uint64_t) dv->id);
        acctsec_frame_add_str(f, ACCTSEC_TAG_DEVICE_KIND, dv->kind);
        acctsec_frame_add_str(f, ACCTSEC_TAG_DEVICE_NAME, dv->name);
        acctsec_frame_add_str(f, ACCTSEC_TAG_SOURCE, dv->source);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_CREATED, (uint64_t) dv->created);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_EXPIRES, (uint64_t) dv->expires);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_LAST_USED, (uint64_t) dv->last_used);
        return 0;
}

int handle_device_list(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_EXPIRES, rq->conf.remember_device); /* the setting, for the CLI */
        int r = relief_list(&d->store, p->name, add_device, reply);
        return r < 0 ? reply_db_error(reply, req->type, p->name, r) : 0;
}

int handle_device_revoke(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        uint64_t id = rq_u64(rq, ACCTSEC_TAG_DEVICE, 0), all = rq_u64(rq, ACCTSEC_TAG_ALL, 0);
        char actor[USER_NAME_MAX + 16];
        int64_t n = 0;

        if (id > INT64_MAX || (id == 0) == (all == 0))
                return reply_error(reply, -EINVAL, "name one remembered device, or ask for all of them");
        int r = relief_revoke(&d->store, p->name, (int64_t) id, rq_actor(rq, actor, sizeof(actor)),
                              rq_str(rq, ACCTSEC_TAG_USER) && !rq->self ? "by an administrator" : "by the user",
                              rq->now, &n);
        if (r == -ENOENT)
                return reply_error(reply, r, "no such remembered device");
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, (uint64_t) n);
        return 0;
}
