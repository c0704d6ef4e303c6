/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 3-strike lockout.  A tally row per user (or per user and source with
 * lock_scope=user+source) counts failures from the first one; after
 * fail_interval without reaching `deny` the count starts again.  Reaching
 * `deny` sets locked_until = now + unlock_time, stored as wall-clock time so
 * a lock outlives a daemon restart and a reboot.  A failure is counted by
 * compare and swap (the update names the tally it read, and is tried again
 * when another writer got there first), so counts are exact however many
 * daemons share the store.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rowcap.h"
#include "lockout.h"
#include "seclog.h"

bool tally_is_locked(const struct tally *t, int64_t now) {
        return t->locked_until == LOCKED_FOREVER || t->locked_until > now;
}

/* lock_scope=user+source keys the tally by remote host, LOCAL without one. */
static const char *source_of(const struct attempt *a) {
        if (a->conf->lock_scope != ACCTSEC_LOCK_SCOPE_USER_SOURCE)
                return "";
        return a->rhost && *a->rhost ? a->rhost : "LOCAL";
}

static void read_tally(const struct store_rows *row, void *ud) {
        struct tally *t = ud;
        t->failures = store_int(row, 0);
        t->first_failure = store_int(row, 1);
        t->last_failure = store_int(row, 2);
        t->locked_until = store_int(row, 3);
}

/* 1 the tally exists, 0 it does not (ret is then a zero tally), <0 error. */
static int tally_get(struct store *s, const char *user, const char *source, struct tally *ret) {
        memset(ret, 0, sizeof(*ret));
        snprintf(ret->source, sizeof(ret->source), "%s", source);
        return store_get(s, Q_TALLY_GET, STORE_ARGS(A_TEXT(user), A_TEXT(source)), read_tally, ret);
}

/* Replace the tally old (as read: exists or not) with t: 1 done, 0 someone
 * else changed it in between, <0 error. */
static int tally_swap(struct store *s, const char *user, bool existed, const struct tally *old,
                      const struct tally *t) {
        int r;
        if (!existed)
                r = store_exec(s, Q_TALLY_INSERT,
                               STORE_ARGS(A_TEXT(user), A_TEXT(t->source), A_INT(t->failures),
                                          A_INT(t->first_failure), A_INT(t->last_failure), A_INT(t->locked_until)));
        else
                r = store_exec(s, Q_TALLY_UPDATE,
                               STORE_ARGS(A_TEXT(user), A_TEXT(t->source), A_INT(t->failures),
                                          A_INT(t->first_failure), A_INT(t->last_failure), A_INT(t->locked_until),
                                          A_INT(old->failures), A_INT(old->first_failure), A_INT(old->last_failure),
                                          A_INT(old->locked_until)));
        return r < 0 ? r : r > 0;
}

static int tally_del(struct store *s, const char *user, const char *source) {
        int r = store_exec(s, Q_TALLY_DELETE, STORE_ARGS(A_TEXT(user), A_TEXT(source)));
        return r < 0 ? r : 0;
}

struct event event_of(const struct attempt *a, enum event_type type, const char *detail) {
        return (struct event){ .type = type,
                               .user = a->user,
                               .service = a->service,
                               .rhost = a->rhost,
                               .tty = a->tty,
                               .detail = detail };
}

static void result_of(const struct tally *t, int64_t now, struct lock_result *ret) {
        ret->locked = tally_is_locked(t, now);
        ret->locked_until = ret->locked ? t->locked_until : 0;
        ret->failures = t->failures;
}

int lockout_check(struct store *s, const struct attempt *a, int64_t now, struct lock_result *ret) {
        struct tally t;
        int r = tally_get(s, a->user, source_of(a), &t);
        if (r < 0)
                return r;
        result_of(&t, now, ret);
        if (!ret->locked)
                return 0;
        struct event ev = event_of(a, EV_LOGIN_DENIED, "locked");
        return seclog_add(s, now, &ev);
}

static bool may_lock(const struct attempt *a) {
        return a->conf->deny > 0 && (!a->root || a->conf->even_deny_root);
}

/* Count one failure into t; returns whether this failure locked the user. */
static bool count_failure(const struct attempt *a, struct tally *t, int64_t now) {
        if (tally_is_locked(t, now)) { /* a login that passed preauth before the lock */
                t->failures++;
                t->last_failure = now;
                return false;
        }
        /* An expired lock, or a window that ran out, starts a new count. */
        if (t->locked_until != 0 || t->failures == 0 || now - t->first_failure >= a->conf->fail_interval) {
                t->failures = 0;
                t->first_failure = now;
                t->locked_until = 0;
        }
        t->failures++;
        t->last_failure = now;
        if (!may_lock(a) || t->failures < a->conf->deny)
                return false;
        t->locked_until = a->conf->unlock_time ? now + a->conf->unlock_time : LOCKED_FOREVER;
        return true;
}

#define SWAP_TRIES 16 /* another daemon changing the same tally this often in a row: give up */

/* Count the failure: the tally as it is after it, and whether it locked. */
static int count_in_store(struct store *s, const struct attempt *a, int64_t now, struct tally *t, bool *locked_now) {
        for (int i = 0; i < SWAP_TRIES; i++) {
                struct tally old;
                int r = tally_get(s, a->user, source_of(a), &old);
                if (r < 0)
                        return r;
                *t = old;
                *locked_now = count_failure(a, t, now);
                r = tally_swap(s, a->user, r > 0, &old, t);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return -EBUSY;
}

int lockout_fail(struct store *s, const struct attempt *a, int64_t now, struct lock_result *ret) {
        struct event ev[3];
        struct tally t;
        char detail[96];
        size_t n = 0;
        bool locked_now = false;

        memset(ret, 0, sizeof(*ret));
        if (a->factor) /* a token is no code: its refusal has its own event type */
                ev[n++] = event_of(a, strcmp(a->factor, "token") == 0 ? EV_TOKEN_REFUSED : EV_CODE_REFUSED,
                                   a->refusal ? a->refusal : a->factor);
        /* An unknown user has no tally (nothing to lock, nothing to fill the
         * database with) but the attempt is logged all the same, among the
         * newest UNKNOWN_EVENTS_MAX such. */
        if (!a->known) {
                ev[n++] = event_of(a, EV_AUTH_FAILURE, "unknown user");
                int r = limit_unknown_user_events(s);
                return r < 0 ? r : seclog_add_all(s, now, ev, n);
        }
        int r = count_in_store(s, a, now, &t, &locked_now);
        if (r == 0 && a->conf->lock_scope == ACCTSEC_LOCK_SCOPE_USER_SOURCE)
                r = limit_tally_sources(s, a->user, now);
        if (r < 0)
                return r;
        snprintf(detail, sizeof(detail), "%s%sfailures=%lld", a->factor ? a->factor : "", a->factor ? " " : "",
                 (long long) t.failures);
        ev[n++] = event_of(a, EV_AUTH_FAILURE, detail);
        if (locked_now)
                ev[n++] = event_of(a, EV_LOCKOUT, detail);
        r = seclog_add_all(s, now, ev, n);
        if (r < 0)
                return r;
        result_of(&t, now, ret);
        return 0;
}

int lockout_success_in(struct store *s, const struct attempt *a, int64_t now, struct lock_result *ret,
                       struct event *ret_event) {
        struct tally t;
        const char *detail = NULL;

        memset(ret, 0, sizeof(*ret));
        int r = tally_get(s, a->user, source_of(a), &t);
        if (r < 0)
                return r;
        result_of(&t, now, ret);
        if (ret->locked) {
                /* Locked after this login's preauth: the lock wins. */
                *ret_event = event_of(a, EV_LOGIN_DENIED, "locked");
                return 0;
        }
        /* A process running as the user must not be able to clear its own
         * tally (and so brute-force sudo): only root callers reset it. */
        if (a->privileged && t.failures > 0) {
                r = tally_del(s, a->user, t.source);
                if (r < 0)
                        return r;
                ret->failures = 0;
        } else if (!a->privileged && t.failures > 0)
                detail = "unprivileged caller: failure count kept";
        if (a->factor && !detail)
                detail = a->factor;
        *ret_event = event_of(a, EV_AUTH_SUCCESS, detail);
        return 0;
}

int lockout_success(struct store *s, const struct attempt *a, int64_t now, struct lock_result *ret) {
        struct event ev;
        int r = lockout_success_in(s, a, now, ret, &ev);
        return r < 0 ? r : seclog_add(s, now, &ev);
}

int lockout_list(struct store *s, const char *user, int (*cb)(const char *user, const struct tally *t, void *ud),
                 void *ud) {
        struct store_rows rows;
        int r = user ? store_select(s, Q_TALLY_LIST_USER, STORE_ARGS(A_TEXT(user)), &rows)
                     : store_select(s, Q_TALLY_LIST_ALL, STORE_NO_ARGS, &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0) {
                struct tally t = {
                        .failures = store_int(&rows, 2),
                        .first_failure = store_int(&rows, 3),
                        .last_failure = store_int(&rows, 4),
                        .locked_until = store_int(&rows, 5),
                };
                snprintf(t.source, sizeof(t.source), "%s", store_text(&rows, 1));
                r = cb(store_text(&rows, 0), &t, ud);
        }
        store_rows_end(&rows);
        return r < 0 ? r : 0;
}

static void read_counts(const struct store_rows *row, void *ud) {
        int64_t *n = ud;
        n[0] = store_int(row, 0);
        n[1] = store_int(row, 1);
}

int lockout_reset(struct store *s, const char *user, const char *actor, int64_t now, int *ret_removed,
                  bool *ret_was_locked) {
        int64_t n[2] = { 0, 0 };
        char detail[96];

        int r = store_get(s, Q_TALLY_COUNT_LOCKED, STORE_ARGS(A_INT(now), A_TEXT(user)), read_counts, n);
        if (r == 0)
                r = -EIO;
        if (r > 0)
                r = store_exec(s, Q_TALLY_DELETE_USER, STORE_ARGS(A_TEXT(user)));
        if (r < 0)
                return r;
        /* What this request removed: a concurrent failure counted in between is removed too. */
        int removed = (int) n[0];
        bool was_locked = n[1] > 0;
        snprintf(detail, sizeof(detail), "%s, tallies cleared=%d", was_locked ? "was locked" : "was not locked",
                 removed);
        struct event ev = { .type = EV_UNLOCK, .user = user, .actor = actor, .detail = detail };
        r = seclog_add(s, now, &ev);
        if (r < 0)
                return r;
        *ret_removed = removed;
        *ret_was_locked = was_locked;
        return 0;
}
