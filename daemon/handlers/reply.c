/* SPDX-License-Identifier: BSD-3-Clause */
/* What the request handlers share: replies, refusals, the login prologue. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "handlers.h"
#include "lockout.h"
#include "log.h"
#include "users.h"

int reply_error(struct acctsec_frame *reply, int negative_errno, const char *message) {
        acctsec_frame_init(reply, ACCTSEC_REPLY_ERROR);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_ERRNO, (uint64_t) -negative_errno);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_MESSAGE, message);
        return 0;
}

/* Refusals go to the security log too (request_refused), at most
 * REFUSED_EVENTS_PER_MIN per uid a minute: a local user looping on a
 * forbidden request fills the journal's rate limit, not the database. */
#define REFUSED_EVENTS_PER_MIN 10
#define REFUSED_SLOTS 64
static bool refused_event_allowed(uid_t uid, int64_t now) {
        static struct {
                uid_t uid;
                int64_t minute;
                unsigned n;
        } slots[REFUSED_SLOTS];
        size_t i = uid % REFUSED_SLOTS; /* a collision only shares a budget */
        if (slots[i].uid != uid || slots[i].minute != now / 60)
                slots[i].uid = uid, slots[i].minute = now / 60, slots[i].n = 0;
        return slots[i].n++ < REFUSED_EVENTS_PER_MIN;
}

int refuse(struct daemon *d, struct acctsec_frame *reply, const struct ucred *peer, uint8_t op, const char *why) {
        char actor[USER_NAME_MAX + 16], detail[256];
        int64_t now = store_now(&d->store);

        log_warning("refused %s from uid %u (pid %d): %s", acctsec_op_name(op), (unsigned) peer->uid,
                    (int) peer->pid, why);
        if (refused_event_allowed(peer->uid, now)) {
                actor_name(peer, actor, sizeof(actor));
                snprintf(detail, sizeof(detail), "%s: %s", acctsec_op_name(op), why);
                struct event ev = { .type = EV_REQUEST_REFUSED, .user = actor, .detail = detail };
                (void) seclog_add(&d->store, now, &ev);
        }
        return reply_error(reply, -EPERM, why);
}

/* A string field: absent is fine unless required; present must be clean text. */
int get_str(const struct acctsec_msg *m, uint8_t tag, bool required, const char **ret) {
        *ret = NULL;
        for (size_t i = 0; i < m->nfields; i++)
                if (m->f[i].tag == tag) {
                        if (!acctsec_field_is_string(&m->f[i]))
                                return -EINVAL;
                        *ret = m->f[i].val;
                        return 0;
                }
        return required ? -EINVAL : 0;
}

uint64_t wire_until(int64_t locked_until) {
        return locked_until == LOCKED_FOREVER ? ACCTSEC_LOCKED_FOREVER : (uint64_t) locked_until;
}

int login_prologue(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req, struct login *l,
                   struct acctsec_frame *reply) {
        struct attempt *a = &l->a;
        const char *overrides, *why = NULL;
        uint8_t op = req->type;

        /* Not l->conf, 7 KB: policy_for() below sets all of it. */
        l->a = (struct attempt){ 0 };
        l->p = (struct principal){ 0 };
        if (get_str(req, ACCTSEC_TAG_USER, true, &a->user) < 0 || get_str(req, ACCTSEC_TAG_SERVICE, false, &a->service) < 0 ||
            get_str(req, ACCTSEC_TAG_RHOST, false, &a->rhost) < 0 || get_str(req, ACCTSEC_TAG_TTY, false, &a->tty) < 0 ||
            get_str(req, ACCTSEC_TAG_CONF, false, &overrides) < 0)
                return reply_error(reply, -EINVAL, "missing or malformed field"), 1;
        int r = user_by_name(a->user, &l->p);
        if (r < 0 && r != -ENOENT) /* NSS is down: do not guess */
                return reply_error(reply, r, "user lookup failed"), 1;
        a->known = r == 0;
        a->root = a->known && l->p.uid == 0;
        a->privileged = peer->uid == 0;
        /* A screen locker runs as the user: it may ask about that user only. */
        if (!a->privileged && (!a->known || l->p.uid != peer->uid))
                return refuse(d, reply, peer, op, "you may only ask about your own account"), 1;
        if (overrides && !a->privileged) {
                log_notice("ignoring policy arguments from unprivileged uid %u", (unsigned) peer->uid);
                overrides = NULL;
        }
        r = policy_for(&d->policy, a->known ? &l->p : NULL, a->service, overrides, &l->conf, &why);
        if (r < 0)
                return reply_error(reply, r, why), 1;
        a->conf = &l->conf;
        return 0;
}

int reply_db_error(struct acctsec_frame *reply, uint8_t op, const char *user, int r) {
        log_error("%s for %s failed: %s", acctsec_op_name(op), user, strerror(-r));
        /* store = postgresql: the database is away (storage/pgsql.c says so
         * with this errno only); the module treats it like an unreachable
         * daemon (failmode). */
        if (r == -EHOSTDOWN)
                return reply_error(reply, r, "database unavailable");
        return reply_error(reply, r, "database error");
}

void reply_decision(struct acctsec_frame *reply, const struct acctsec_conf *conf, const struct lock_result *res) {
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, res->locked ? ACCTSEC_DENY_LOCKED : ACCTSEC_ALLOW);
        if (res->locked && conf->lock_message)
                acctsec_frame_add_u64(reply, ACCTSEC_TAG_LOCKED_UNTIL, wire_until(res->locked_until));
}

void actor_name(const struct ucred *peer, char *buf, size_t n) {
        struct principal p;
        if (user_by_uid(peer->uid, &p) == 0)
                snprintf(buf, n, "%s", p.name);
        else
                snprintf(buf, n, "uid=%u", (unsigned) peer->uid);
}
