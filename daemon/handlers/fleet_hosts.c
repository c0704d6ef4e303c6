/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HOST_LIST (acctsec fleet hosts): the hosts of a fleet, when each was last
 * seen (its maintenance tick, every 5 minutes) and its active sessions, for
 * admins and auditors.  One host (store = sqlite) is a fleet of one: itself.
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "request.h"
#include "sessions.h"

#define HOSTS_MAX 400 /* records in one reply: a record is at most 100 bytes */

/* This host's name, as its sessions and events carry it in a fleet. */
static const char *this_host(struct daemon *d, char *buf, size_t n) {
        if (d->store_options.host_id)
                return d->store_options.host_id;
        if (d->policy.global.host_id[0])
                snprintf(buf, n, "%s", d->policy.global.host_id);
        else if (gethostname(buf, n - 1) < 0 || !buf[0])
                snprintf(buf, n, "unknown");
        buf[n - 1] = '\0';
        return buf;
}

struct host_list {
        struct acctsec_frame *reply;
        uint64_t n;
};

static int add_host(const struct fleet_host *h, void *userdata) {
        struct host_list *l = userdata;
        if (l->n == HOSTS_MAX)
                return 1; /* the row past the last: there are more */
        acctsec_frame_add_u64(l->reply, ACCTSEC_TAG_RECORD, ++l->n);
        acctsec_frame_add_str(l->reply, ACCTSEC_TAG_HOST, h->host ? h->host : "");
        acctsec_frame_add_u64(l->reply, ACCTSEC_TAG_TIME, (uint64_t) h->last_seen);
        acctsec_frame_add_u64(l->reply, ACCTSEC_TAG_COUNT, (uint64_t) h->sessions);
        return 0;
}

int handle_host_list(struct request *rq) {
        struct daemon *d = rq->d;
        char name[256] = "";
        struct host_list l = { .reply = rq->reply };

        acctsec_frame_init(rq->reply, ACCTSEC_REPLY_OK);
        /* A fleet's store waits on the network (store = postgresql). */
        acctsec_frame_add_u64(rq->reply, ACCTSEC_TAG_FLAG, store_waits(&d->store));
        int r = sessions_foreach_host(&d->store, this_host(d, name, sizeof(name)), rq->now, HOSTS_MAX + 1,
                                      add_host, &l);
        if (r < 0)
                return reply_db_error(rq->reply, rq->op, "the fleet's hosts", r);
        acctsec_frame_add_u64(rq->reply, ACCTSEC_TAG_MORE, r > 0);
        return 0;
}
