/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 3-strike lockout.  A tally row per user (or per user and source with
 * lock_scope=user+source) counts failures from the first one; after
 * fail_interval without reaching `deny` the count starts again.  Reaching
 * `deny` sets locked_until = now + unlock_time, stored as wall-clock time so
 * a lock outlives a daemon restart and a reboot.  The daemon serialises
 * requests and every change is one BEGIN IMMEDIATE transaction, so counts are
 * exact under concurrent logins.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rowcap.h"
#include "lockout.h"
#include "seclog.h"

static const char sql_get[] = "SELECT failures, first_failure, last_failure, locked_until"
                              " FROM lockout WHERE user = ? AND source = ?";
static const char sql_put[] = "INSERT OR REPLACE INTO lockout"
                              " (user, source, failures, first_failure, last_failure, locked_until)"
                              " VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_del[] = "DELETE FROM lockout WHERE user = ? AND source = ?";

bool tally_is_locked(const struct tally *t, int64_t now) {
        return t->locked_until == LOCKED_FOREVER || t->locked_until > now;
}

/* lock_scope=user+source keys the tally by remote host, LOCAL without one. */
static const char *source_of(const struct attempt *a) {
        if (a->conf->lock_scope != ACCTSEC_LOCK_SCOPE_USER_SOURCE)
                return "";
        return a->rhost && *a->rhost ? a->rhost : "LOCAL";
}

static int tally_get(struct store *s, const char *user, const char *source, struct tally *ret) {
        sqlite3_stmt *st = store_stmt(s, sql_get);
        if (!st)
                return -EIO;
        memset(ret, 0, sizeof(*ret));
        snprintf(ret->source, sizeof(ret->source), "%s", source);
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                ret->failures = sqlite3_column_int64(st, 0);
                ret->first_failure = sqlite3_column_int64(st, 1);
                ret->last_failure = sqlite3_column_int64(st, 2);
                ret->locked_until = sqlite3_column_int64(st, 3);
        }
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int tally_put(struct store *s, const char *user, const struct tally *t) {
        sqlite3_stmt *st = store_stmt(s, sql_put);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, t->source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, t->failures);
        sqlite3_bind_int64(st, 4, t->first_failure);
        sqlite3_bind_int64(st, 5, t->last_failure);
        sqlite3_bind_int64(st, 6, t->locked_until);
        return store_exec_stmt(st);
}

static int tally_del(struct store *s, const char *user, const char *source) {
        sqlite3_stmt *st = store_stmt(s, sql_del);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
        return store_exec_stmt(st);
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
        r = store_begin(s);
        return r < 0 ? r : seclog_commit(s, now, &ev, 1);
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

int lockout_fail(struct store *s, const struct attempt *a, int64_t now, struct lock_result *ret) {
        struct event ev[3];
        struct tally t;
        char detail[96];
        size_t n = 0;

        memset(ret, 0, sizeof(*ret));
        int r = store_begin(s);
        if (r < 0)
                return r;
        if (a->factor) /* a token is no code: its refusal has its own event type */
                ev[n++] = event_of(a, strcmp(a->factor, "token") == 0 ? EV_TOKEN_REFUSED : EV_CODE_REFUSED,
                                   a->refusal ? a->refusal : a->factor);
        /* An unknown user has no tally (nothing to lock, nothing to fill the
         * database with) but the attempt is logged all the same, among the
         * newest UNKNOWN_EVENTS_MAX such. */
        if (!a->known) {
                ev[n++] = event_of(a, EV_AUTH_FAILURE, "unknown user");
                r = limit_unknown_user_events(s);
                if (r < 0) {
                        store_rollback(s);
                        return r;
                }
                return seclog_commit(s, now, ev, n);
        }
        r = tally_get(s, a->user, source_of(a), &t);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        bool locked_now = count_failure(a, &t, now);
        r = tally_put(s, a->user, &t);
        if (r == 0 && a->conf->lock_scope == ACCTSEC_LOCK_SCOPE_USER_SOURCE)
                r = limit_tally_sources(s, a->user, now);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        snprintf(detail, sizeof(detail), "%s%sfailures=%lld", a->factor ? a->factor : "", a->factor ? " " : "",
                 (long long) t.failures);
        ev[n++] = event_of(a, EV_AUTH_FAILURE, detail);
        if (locked_now)
                ev[n++] = event_of(a, EV_LOCKOUT, detail);
        r = seclog_commit(s, now, ev, n);
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
        int r = store_begin(s);
        if (r < 0)
                return r;
        r = lockout_success_in(s, a, now, ret, &ev);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        return seclog_commit(s, now, &ev, 1);
}

int lockout_list(struct store *s, const char *user, int (*cb)(const char *user, const struct tally *t, void *ud),
                 void *ud) {
        static const char sql_one[] = "SELECT user, source, failures, first_failure, last_failure, locked_until"
                                      " FROM lockout WHERE user = ? ORDER BY source";
        static const char sql_all[] = "SELECT user, source, failures, first_failure, last_failure, locked_until"
                                      " FROM lockout ORDER BY user, source";
        sqlite3_stmt *st = store_stmt(s, user ? sql_one : sql_all);
        int rc, r = 0;

        if (!st)
                return -EIO;
        if (user)
                sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct tally t = {
                        .failures = sqlite3_column_int64(st, 2),
                        .first_failure = sqlite3_column_int64(st, 3),
                        .last_failure = sqlite3_column_int64(st, 4),
                        .locked_until = sqlite3_column_int64(st, 5),
                };
                snprintf(t.source, sizeof(t.source), "%s", (const char *) sqlite3_column_text(st, 1));
                r = cb((const char *) sqlite3_column_text(st, 0), &t, ud);
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_errno(rc);
        sqlite3_reset(st);
        return r;
}

int lockout_reset(struct store *s, const char *user, const char *actor, int64_t now, int *ret_removed,
                  bool *ret_was_locked) {
        static const char sql_locked[] = "SELECT count(*), coalesce(sum(locked_until = -1 OR locked_until > ?), 0)"
                                         " FROM lockout WHERE user = ?";
        static const char sql_del_all[] = "DELETE FROM lockout WHERE user = ?";
        char detail[96];

        int r = store_begin(s);
        if (r < 0)
                return r;
        sqlite3_stmt *st = store_stmt(s, sql_locked);
        if (st) {
                sqlite3_bind_int64(st, 1, now);
                sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        }
        if (!st || sqlite3_step(st) != SQLITE_ROW) {
                if (st)
                        sqlite3_reset(st);
                store_rollback(s);
                return -EIO;
        }
        int removed = sqlite3_column_int(st, 0);
        bool was_locked = sqlite3_column_int(st, 1) > 0;
        sqlite3_reset(st);
        st = store_stmt(s, sql_del_all);
        if (!st) {
                store_rollback(s);
                return -EIO;
        }
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        r = store_exec_stmt(st);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        snprintf(detail, sizeof(detail), "%s, tallies cleared=%d", was_locked ? "was locked" : "was not locked",
                 removed);
        struct event ev = { .type = EV_UNLOCK, .user = user, .actor = actor, .detail = detail };
        r = seclog_commit(s, now, &ev, 1);
        if (r < 0)
                return r;
        *ret_removed = removed;
        *ret_was_locked = was_locked;
        return 0;
}
