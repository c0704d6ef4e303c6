/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dispatcher: a parsed frame from a peer known by SO_PEERCRED becomes a
 * request of the table (requests.c).  In order: the rate limit, the fields
 * the row lists, who may send it and whose account it is about (authz.c),
 * the login's policy, then the handler, all in one transaction.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ratelimit.h"
#include "request.h"
#include "txn.h"

static const struct acctsec_field *find(const struct acctsec_msg *m, uint8_t tag) {
        for (size_t i = 0; i < m->nfields; i++)
                if (m->f[i].tag == tag)
                        return &m->f[i];
        return NULL;
}

static const struct field *listed(const struct request_type *t, uint8_t tag) {
        for (size_t i = 0; i < REQUEST_FIELDS_MAX && t->fields[i].tag; i++)
                if (t->fields[i].tag == tag)
                        return &t->fields[i];
        return NULL;
}

const char *rq_str(const struct request *rq, uint8_t tag) {
        const struct acctsec_field *f = listed(rq->type, tag) ? find(rq->msg, tag) : NULL;
        return f && acctsec_field_is_string(f) ? f->val : NULL;
}

uint64_t rq_u64(const struct request *rq, uint8_t tag, uint64_t def) {
        const struct acctsec_field *f = listed(rq->type, tag) ? find(rq->msg, tag) : NULL;
        uint64_t v;
        return f && acctsec_field_u64(f, &v) == 0 ? v : def;
}

const char *rq_actor(struct request *rq, char *buf, size_t n) {
        if (rq->known && rq->peer->uid == rq->target.uid)
                return NULL;
        actor_name(rq->peer, buf, n);
        return buf;
}

/* Every field the row lists: present when required, of its type. */
static int check_fields(const struct request *rq) {
        for (size_t i = 0; i < REQUEST_FIELDS_MAX && rq->type->fields[i].tag; i++) {
                const struct field *spec = &rq->type->fields[i];
                const struct acctsec_field *f = find(rq->msg, spec->tag);
                uint64_t v;
                if (!f) {
                        if (spec->required)
                                return -EINVAL;
                        continue;
                }
                if (spec->lenient)
                        continue;
                if (spec->type == FIELD_STR ? !acctsec_field_is_string(f) : acctsec_field_u64(f, &v) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* LOG_EXPORT's pages after the first are reads (an export is one write). */
static bool counted(const struct request *rq) {
        switch (rq->type->rate) {
        case RATE_WRITE:
                return true;
        case RATE_EXPORT:
                return !(rq_u64(rq, ACCTSEC_TAG_ID, 0) != 0 && rq_u64(rq, ACCTSEC_TAG_UNTIL, 0) != 0);
        default:
                return false;
        }
}

/* Admins (admin_group) are trusted like root: a bulk unlock script must not stall. */
static bool over_rate(const struct request *rq) {
        if (!counted(rq) || ratelimit_allow(rq->peer->uid, rq->now))
                return false;
        if (role_of(rq->peer->uid, &rq->d->policy.global) == ROLE_ADMIN)
                return false;
        log_warning("refused %s from uid %u (pid %d): over %u requests a minute", acctsec_op_name(rq->op),
                    (unsigned) rq->peer->uid, (int) rq->peer->pid, USER_WRITES_PER_MIN);
        return true;
}

/* 0: the handler may run; 1: the reply is already filled (a refusal, a bad field). */
static int prepare(struct request *rq) {
        if (over_rate(rq))
                return reply_error(rq->reply, -EAGAIN, "too many requests: try again in a minute"), 1;
        if (check_fields(rq) < 0)
                return reply_error(rq->reply, -EINVAL, rq->type->usage ? rq->type->usage
                                                                        : "missing or malformed field"), 1;
        if (authorize(rq))
                return 1;
        if (rq->type->login && login_prologue(rq->d, rq->peer, rq->msg, &rq->login, rq->reply))
                return 1;
        return 0;
}

/* One transaction per request: what the handler wrote commits when it
 * returns (an error reply included: a wrong code is counted), and rolls back
 * when a write failed; a reply never says "done" of what did not commit. */
int handle_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *msg,
                   struct acctsec_frame *reply) {
        struct request rq = { .d = d, .peer = peer, .msg = msg, .reply = reply, .op = msg->type };
        rq.type = request_type_of(msg->type);
        if (!rq.type) {
                reply_error(reply, -EOPNOTSUPP, "unknown request type");
                return -EOPNOTSUPP;
        }
        if (rq.type->offline) {
                rq.now = time(NULL);
                return prepare(&rq) ? 0 : rq.type->handler(&rq);
        }
        txn_begin(&d->store);
        rq.now = store_now(&d->store);
        if (d->store.txn_error) { /* the database is away: nothing can be decided */
                int e = d->store.txn_error;
                (void) txn_end(&d->store, false);
                reply_db_error(reply, rq.op, "the request", e);
                return 0;
        }
        int r = prepare(&rq) ? 0 : rq.type->handler(&rq);
        int c = txn_end(&d->store, r >= 0);
        if (c < 0 && r != HANDLE_DEFERRED)
                reply_db_error(reply, rq.op, rq.target.name[0] ? rq.target.name : "the request", c);
        else if (c < 0)
                log_error("%s: the transaction before the deferred reply failed: %s", acctsec_op_name(rq.op),
                          strerror(-c));
        return r;
}
