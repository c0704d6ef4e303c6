/* SPDX-License-Identifier: BSD-3-Clause */
/* IP allowlists: ALLOWLIST_ADD and ALLOWLIST_REMOVE (admins), ALLOWLIST_LIST
 * (admins and auditors any list, a user their own and the global one). */
#include "config.h"

#include <errno.h>

#include "allowlist.h"
#include "cidr.h"
#include "request.h"

/* The list a request is about: a user's, or "" (no USER) the global one. */
static const char *list_of(const struct request *rq) {
        return rq->global ? "" : rq->target.name;
}

int handle_allowlist_change(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *user = list_of(rq), *entry = rq_str(rq, ACCTSEC_TAG_CIDR);
        char actor[USER_NAME_MAX + 16], text[CIDR_TEXT_MAX];
        struct cidr c;
        bool add = req->type == ACCTSEC_OP_ALLOWLIST_ADD;
        if (!entry || cidr_parse(entry, &c) < 0)
                return reply_error(reply, -EINVAL, "expected an address, a CIDR range (10.0.0.0/8, 2001:db8::/32; "
                                                   "no host bits below the prefix) or LOCAL");
        actor_name(peer, actor, sizeof(actor));
        int64_t now = rq->now;
        int r = add ? allowlist_add(&d->store, user, &c, actor, now) : allowlist_remove(&d->store, user, &c, actor, now);
        if (r == -EEXIST || r == -ENOENT)
                return reply_error(reply, r, add ? "already in the list" : "not in the list");
        if (r == -EMLINK)
                return reply_error(reply, r, "a list holds at most 256 entries: use wider ranges");
        if (r < 0)
                return reply_db_error(reply, req->type, user[0] ? user : "*", r);
        cidr_format(&c, text);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str_opt(reply, ACCTSEC_TAG_USER, user[0] ? user : NULL);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_CIDR, text);
        return 0;
}

static int add_cidr_record(const char *cidr, const char *actor, int64_t created, void *ud) {
        struct acctsec_frame *f = ud;
        acctsec_frame_add_u64(f, ACCTSEC_TAG_RECORD, 0);
        acctsec_frame_add_str(f, ACCTSEC_TAG_CIDR, cidr ? cidr : "");
        acctsec_frame_add_str(f, ACCTSEC_TAG_ACTOR, actor ? actor : "");
        acctsec_frame_add_u64(f, ACCTSEC_TAG_CREATED, (uint64_t) created);
        return 0;
}

int handle_allowlist_list(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *user = list_of(rq);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str_opt(reply, ACCTSEC_TAG_USER, user[0] ? user : NULL);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_POLICY, d->policy.global.allowlist);
        int r = allowlist_list(&d->store, user, add_cidr_record, reply);
        if (r < 0)
                return reply_db_error(reply, req->type, user[0] ? user : "*", r);
        return 0;
}
