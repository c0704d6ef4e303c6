/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading the security log a page at a time, and purging it.  Every read is
 * a walk along an index (the rowid, or events_by_user for one user's
 * events) that stops after EVENTLOG_EXAMINE_MAX rows whatever the filters
 * match, so no request makes the daemon scan millions of rows.  Type and
 * time are filtered here rather than in SQL, where the rows they skip could
 * not be counted.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "eventlog.h"

#define EVENT_COLUMNS "SELECT id, time, type, user, service, rhost, tty, actor, detail FROM events"
static const char sql_all_asc[] = EVENT_COLUMNS " WHERE id BETWEEN ?1 AND ?2 ORDER BY id";
static const char sql_all_desc[] = EVENT_COLUMNS " WHERE id BETWEEN ?1 AND ?2 ORDER BY id DESC";
static const char sql_user_asc[] = EVENT_COLUMNS " WHERE user = ?3 AND id BETWEEN ?1 AND ?2 ORDER BY id";
static const char sql_user_desc[] = EVENT_COLUMNS " WHERE user = ?3 AND id BETWEEN ?1 AND ?2 ORDER BY id DESC";
static const char sql_max_id[] = "SELECT max(id) FROM events";
/* Oldest first along events_by_time; never the newest row (see eventlog.h). */
static const char sql_purge[] = "DELETE FROM events WHERE id IN (SELECT id FROM events INDEXED BY events_by_time"
                                " WHERE time < ?1 AND id < (SELECT max(id) FROM events) ORDER BY time LIMIT ?2)";

static const char *text(sqlite3_stmt *st, int col) {
        const char *s = (const char *) sqlite3_column_text(st, col);
        return s ? s : "";
}

/* The filters on type and time; the user is the query's. */
static bool wanted(const struct eventlog_filter *f, sqlite3_stmt *st) {
        if (f->since > 0 && sqlite3_column_int64(st, 1) < f->since)
                return false;
        return !f->type || strcmp(text(st, 2), f->type) == 0;
}

static struct event_row row_of(sqlite3_stmt *st) {
        return (struct event_row){ .id = sqlite3_column_int64(st, 0),
                                   .time = sqlite3_column_int64(st, 1),
                                   .type = text(st, 2),
                                   .user = text(st, 3),
                                   .service = text(st, 4),
                                   .rhost = text(st, 5),
                                   .tty = text(st, 6),
                                   .actor = text(st, 7),
                                   .detail = text(st, 8) };
}

int eventlog_scan(struct store *s, const struct eventlog_filter *f, bool newest_first, int64_t lo, int64_t hi,
                  eventlog_fn fn, void *userdata, int64_t *ret_last) {
        const char *sql = f->user ? (newest_first ? sql_user_desc : sql_user_asc)
                                  : (newest_first ? sql_all_desc : sql_all_asc);
        sqlite3_stmt *st = store_stmt(s, sql);
        int64_t last = 0;
        int rc, r = 0, examined = 0;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, lo);
        sqlite3_bind_int64(st, 2, hi);
        if (f->user)
                sqlite3_bind_text(st, 3, f->user, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (examined++ == EVENTLOG_EXAMINE_MAX) {
                        r = 1;
                        break;
                }
                if (wanted(f, st)) {
                        struct event_row e = row_of(st);
                        r = fn(&e, userdata);
                        if (r != 0)
                                break;
                }
                last = sqlite3_column_int64(st, 0);
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                r = store_errno(rc);
        /* Always reset: a statement left mid-walk holds a read transaction
         * open, and with it the WAL. */
        sqlite3_reset(st);
        if (r < 0)
                return r;
        *ret_last = last;
        return r;
}

int eventlog_max_id(struct store *s, int64_t *ret) {
        sqlite3_stmt *st = store_stmt(s, sql_max_id);
        if (!st)
                return -EIO;
        int rc = sqlite3_step(st);
        int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0; /* NULL (empty) reads as 0 */
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
                return store_errno(rc) < 0 ? store_errno(rc) : -EIO;
        *ret = id;
        return 0;
}

int eventlog_purge(struct store *s, int64_t now, unsigned days) {
        if (days == 0)
                return 0;
        int r = store_begin(s);
        if (r < 0)
                return r;
        sqlite3_stmt *st = store_stmt(s, sql_purge);
        if (!st) {
                store_rollback(s);
                return -EIO;
        }
        sqlite3_bind_int64(st, 1, now - (int64_t) days * 86400);
        sqlite3_bind_int(st, 2, EVENTLOG_PURGE_BATCH);
        r = store_exec_stmt(st);
        int deleted = r == 0 ? sqlite3_changes(store_sqlite_db(s)) : 0;
        if (r == 0)
                r = store_commit(s);
        else
                store_rollback(s);
        if (r < 0)
                return r;
        return deleted == EVENTLOG_PURGE_BATCH ? 1 : 0;
}
