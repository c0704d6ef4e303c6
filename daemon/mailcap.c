/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "mailcap.h"

/* A user's newest mails that count, newest first; at most max rows are read
 * (more cannot change the answer). */
static const char sql_newest[] = "SELECT time FROM mail_sent WHERE user = ?1 AND time > ?2 AND time <= ?3"
                                 " ORDER BY time DESC LIMIT ?4";
static const char sql_trim[] = "DELETE FROM mail_sent WHERE user = ?1 AND (time <= ?2 OR time > ?3)";
static const char sql_add[] = "INSERT INTO mail_sent (user, time) VALUES (?1, ?2)";
static const char sql_purge[] = "DELETE FROM mail_sent WHERE time <= ?1 OR time > ?2";

int64_t mailcap_wait(const int64_t *newest_first, size_t n, int64_t now, unsigned max) {
        size_t counted = 0;
        if (max == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                int64_t t = newest_first[i];
                if (t > now || t <= now - MAILCAP_WINDOW)
                        continue;
                /* max mails in the window: one more may go once the
                 * oldest of these max newest ones leaves it. */
                if (++counted == max)
                        return t + MAILCAP_WINDOW - now;
        }
        return 0;
}

int mailcap_check(struct store *s, const char *user, int64_t now, unsigned max, int64_t *ret_wait) {
        int64_t times[MAILCAP_MAX];
        size_t n = 0;
        int rc = SQLITE_DONE;

        if (max == 0)
                return 0;
        if (max > MAILCAP_MAX)
                max = MAILCAP_MAX;
        sqlite3_stmt *st = store_stmt(s, sql_newest);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now - MAILCAP_WINDOW);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int(st, 4, (int) max);
        while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
                times[n++] = sqlite3_column_int64(st, 0);
        int r = n == max ? 0 : store_errno(rc);
        sqlite3_reset(st);
        if (r < 0)
                return r;
        int64_t wait = mailcap_wait(times, n, now, max);
        if (wait == 0)
                return 0;
        *ret_wait = wait;
        return -EDQUOT;
}

static int exec_user_time(struct store *s, const char *sql, const char *user, int64_t a, int64_t b) {
        sqlite3_stmt *st = store_stmt(s, sql);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, a);
        sqlite3_bind_int64(st, 3, b);
        return store_exec_stmt(st);
}

int mailcap_take(struct store *s, const char *user, int64_t now, unsigned max, int64_t *ret_wait) {
        if (max == 0) /* no cap: nothing to count, and nothing unbounded to keep */
                return 0;
        int r = mailcap_check(s, user, now, max, ret_wait);
        if (r == 0) /* the user's rows that no longer count: at most max stay */
                r = exec_user_time(s, sql_trim, user, now - MAILCAP_WINDOW, now);
        if (r < 0)
                return r;
        sqlite3_stmt *st = store_stmt(s, sql_add);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        return store_exec_stmt(st);
}

int mailcap_purge(struct store *s, int64_t now) {
        int r = store_begin(s);
        if (r < 0)
                return r;
        sqlite3_stmt *st = store_stmt(s, sql_purge);
        r = st ? 0 : -EIO;
        if (r == 0) {
                sqlite3_bind_int64(st, 1, now - MAILCAP_WINDOW);
                sqlite3_bind_int64(st, 2, now);
                r = store_exec_stmt(st);
        }
        if (r == 0)
                return store_commit(s);
        store_rollback(s);
        return r;
}

struct event mailcap_event(const char *user, const char *what, unsigned max, char *buf, size_t n) {
        snprintf(buf, n, "%s not mailed: %u mail%s in the last hour (mail_max_per_hour)", what, max,
                 max == 1 ? "" : "s");
        return (struct event){ .type = EV_MAIL_CAPPED, .user = user, .detail = buf };
}

void mailcap_message(int64_t wait, char *buf, size_t n) {
        int64_t minutes = (wait + 59) / 60; /* "in 0 minutes" would never be true */
        snprintf(buf, n, "Too many mails were sent to this account in the last hour; try again in %lld minute%s.",
                 (long long) minutes, minutes == 1 ? "" : "s");
}
