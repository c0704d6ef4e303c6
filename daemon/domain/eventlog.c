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

/* The filters on type and time; the user is the query's. */
static bool wanted(const struct eventlog_filter *f, const struct store_rows *row) {
        if (f->since > 0 && store_int(row, 1) < f->since)
                return false;
        return !f->type || strcmp(store_text(row, 2), f->type) == 0;
}

static struct event_row row_of(const struct store_rows *row) {
        return (struct event_row){ .id = store_int(row, 0),
                                   .time = store_int(row, 1),
                                   .type = store_text(row, 2),
                                   .user = store_text(row, 3),
                                   .service = store_text(row, 4),
                                   .rhost = store_text(row, 5),
                                   .tty = store_text(row, 6),
                                   .actor = store_text(row, 7),
                                   .detail = store_text(row, 8),
                                   .host = store_text(row, 9),
                                   .country = store_text(row, 10),
                                   .city = store_text(row, 11) };
}

static enum store_query scan_query(const struct eventlog_filter *f, bool newest_first) {
        if (f->user)
                return newest_first ? Q_EVENT_LIST_USER_DESC : Q_EVENT_LIST_USER_ASC;
        return newest_first ? Q_EVENT_LIST_ALL_DESC : Q_EVENT_LIST_ALL_ASC;
}

int eventlog_scan(struct store *s, const struct eventlog_filter *f, bool newest_first, int64_t lo, int64_t hi,
                  eventlog_fn fn, void *userdata, int64_t *ret_last) {
        struct store_rows rows;
        int64_t last = 0;
        int r, examined = 0;

        if (f->user)
                r = store_select(s, scan_query(f, newest_first), STORE_ARGS(A_INT(lo), A_INT(hi), A_TEXT(f->user)),
                                 &rows);
        else
                r = store_select(s, scan_query(f, newest_first), STORE_ARGS(A_INT(lo), A_INT(hi)), &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0) {
                r = 0;
                if (examined++ == EVENTLOG_EXAMINE_MAX) {
                        r = 1;
                        break;
                }
                if (wanted(f, &rows)) {
                        struct event_row e = row_of(&rows);
                        r = fn(&e, userdata);
                        if (r != 0)
                                break;
                }
                last = store_int(&rows, 0);
        }
        /* Always ended: a walk left half-way holds a read transaction
         * open, and with it the WAL. */
        store_rows_end(&rows);
        if (r < 0)
                return r;
        *ret_last = last;
        return r;
}

int eventlog_max_id(struct store *s, int64_t *ret) {
        int64_t id = 0;
        int r = store_get_int(s, Q_EVENT_MAX_ID, STORE_NO_ARGS, &id); /* NULL (empty) reads as 0 */
        if (r <= 0)
                return r < 0 ? r : -EIO;
        *ret = id;
        return 0;
}

int eventlog_purge(struct store *s, int64_t now, unsigned days) {
        if (days == 0)
                return 0;
        int r = store_exec(s, Q_EVENT_PURGE,
                           STORE_ARGS(A_INT(now - (int64_t) days * 86400), A_INT(EVENTLOG_PURGE_BATCH)));
        if (r < 0)
                return r;
        return r == EVENTLOG_PURGE_BATCH ? 1 : 0;
}
