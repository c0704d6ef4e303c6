/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading and purging the security log on a real SQLite store
 * (daemon/domain/eventlog.c): each statement's query plan, and how much work one
 * user's newest events, a bounded scan and a purge batch cost, counted in
 * SQLite's own statement counters (no clock). */
#include "config.h"

#include "unit.h"

#include "eventlog.h"
#include "store_sqlite.h"
#include "store_fixture.h"

#define USERS 500
#define EVENTS (2 * EVENTLOG_EXAMINE_MAX) /* twice what one scan may look at */
#define T0 1700000000

/* EVENTS events, one a second from T0, of USERS users in turn ("u0" ...),
 * every tenth an auth_success, the rest auth_failure. */
static int setup(void **state) {
        store_setup(state);
        struct store_fixture *f = *state;
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(store_sqlite_db(&f->s), "INSERT INTO events (time, type, user) VALUES (?, ?, ?)", -1, &st,
                                            NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_exec(store_sqlite_db(&f->s), "BEGIN", NULL, NULL, NULL), SQLITE_OK);
        for (int i = 0; i < EVENTS; i++) {
                char user[16];
                snprintf(user, sizeof(user), "u%d", i % USERS);
                sqlite3_bind_int64(st, 1, T0 + i);
                sqlite3_bind_text(st, 2, i % 10 ? "auth_failure" : "auth_success", -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, user, -1, SQLITE_TRANSIENT);
                assert_int_equal(sqlite3_step(st), SQLITE_DONE);
                sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        assert_int_equal(sqlite3_exec(store_sqlite_db(&f->s), "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        return 0;
}

struct took {
        int64_t ids[EVENTS];
        size_t n, max;
};

static int take(const struct event_row *e, void *userdata) {
        struct took *t = userdata;
        if (t->n == t->max)
                return 1;
        t->ids[t->n++] = e->id;
        return 0;
}

/* The statement eventlog.c prepared (the store caches it) whose SQL ends
 * with what. */
static sqlite3_stmt *cached(struct store *s, const char *what) {
        sqlite3_stmt *st = store_sqlite_find(s, what);
        if (!st)
                fail_msg("no cached statement ending with \"%s\"", what);
        return st;
}

static void plan_has(struct store *s, sqlite3_stmt *st, const char *want) {
        char sql[1024], plan[1024] = "";
        sqlite3_stmt *e;
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", sqlite3_sql(st));
        assert_int_equal(sqlite3_prepare_v2(store_sqlite_db(s), sql, -1, &e, NULL), SQLITE_OK);
        while (sqlite3_step(e) == SQLITE_ROW) {
                strncat(plan, (const char *) sqlite3_column_text(e, 3), sizeof(plan) - strlen(plan) - 2);
                strcat(plan, ";");
        }
        sqlite3_finalize(e);
        if (!strstr(plan, want))
                fail_msg("plan of [%s]: %s; wanted %s", sqlite3_sql(st), plan, want);
        assert_null(strstr(plan, "SCAN events")); /* never the whole table */
}

/* One user's newest 100 events: along events_by_user, and the work is
 * that of about 100 rows, not of the 40,000 in the table. */
static void test_one_users_newest(void **state) {
        struct store_fixture *f = *state;
        struct eventlog_filter flt = { .user = "u7" };
        static struct took t;
        int64_t last = 0;

        t = (struct took){ .max = 60 };
        assert_int_equal(eventlog_scan(&f->s, &flt, true, 1, INT64_MAX, take, &t, &last), 1);
        sqlite3_stmt *st = cached(&f->s, "user = ?3 AND id BETWEEN ?1 AND ?2 ORDER BY id DESC");
        plan_has(&f->s, st, "SEARCH events USING INDEX events_by_user (user=? AND id>? AND id<?)");
        (void) sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
        t = (struct took){ .max = 100 };
        assert_int_equal(eventlog_scan(&f->s, &flt, true, 1, INT64_MAX, take, &t, &last), 0); /* all 80 of them */
        int steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
        assert_int_equal(t.n, EVENTS / USERS);
        for (size_t i = 0; i < t.n; i++)
                assert_int_equal(t.ids[i], EVENTS - USERS + 8 - (int64_t) i * USERS); /* u7: ids 8, 508, ... */
        assert_int_equal(last, 8);
        assert_in_range(steps, 1, 100 * (int) t.n);
        assert_int_equal(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0), 0);
        assert_true(sqlite3_stmt_busy(st) == 0); /* reset: no read transaction left open */

        /* oldest first, from a cursor */
        t = (struct took){ .max = 3 };
        assert_int_equal(eventlog_scan(&f->s, &flt, false, 9, INT64_MAX, take, &t, &last), 1);
        assert_int_equal(t.n, 3);
        assert_int_equal(t.ids[0], 508);
        assert_int_equal(t.ids[2], 1508);
        assert_int_equal(last, 1508);
        plan_has(&f->s, cached(&f->s, "user = ?3 AND id BETWEEN ?1 AND ?2 ORDER BY id"),
                 "SEARCH events USING INDEX events_by_user (user=? AND id>? AND id<?)");
}

/* A type no row has, over everyone's events: the scan stops after
 * EVENTLOG_EXAMINE_MAX rows and says where, in both directions. */
static void test_scan_is_bounded(void **state) {
        struct store_fixture *f = *state;
        struct eventlog_filter flt = { .type = "lockout" };
        static struct took t;
        int64_t last = 0;

        t = (struct took){ .max = 100 };
        assert_int_equal(eventlog_scan(&f->s, &flt, false, 1, INT64_MAX, take, &t, &last), 1);
        assert_int_equal(t.n, 0);
        assert_int_equal(last, EVENTLOG_EXAMINE_MAX);
        assert_int_equal(eventlog_scan(&f->s, &flt, true, 1, INT64_MAX, take, &t, &last), 1);
        assert_int_equal(last, EVENTS - EVENTLOG_EXAMINE_MAX + 1);
        /* the rest: exhausted */
        assert_int_equal(eventlog_scan(&f->s, &flt, true, 1, last - 1, take, &t, &last), 0);
        assert_int_equal(last, 1);
        plan_has(&f->s, cached(&f->s, "WHERE id BETWEEN ?1 AND ?2 ORDER BY id DESC"),
                 "SEARCH events USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)");
        /* since and type together, from the newest: since filters, it does
         * not end the scan (ids follow time only as far as the clock did) */
        flt = (struct eventlog_filter){ .type = "auth_success", .since = T0 + EVENTS - 30 };
        t = (struct took){ .max = 100 };
        assert_int_equal(eventlog_scan(&f->s, &flt, true, 1, INT64_MAX, take, &t, &last), 1);
        assert_int_equal(t.n, 3);
        assert_int_equal(t.ids[0], EVENTS - 9);
        assert_int_equal(t.ids[2], EVENTS - 29);
        assert_int_equal(last, EVENTS - EVENTLOG_EXAMINE_MAX + 1);
}

/* One purge batch, a maintenance job: a transaction of its own. */
static int purge(struct store_fixture *f, int64_t now, unsigned days) {
        return IN_TXN(&f->s, eventlog_purge(&f->s, now, days));
}

/* Purging: along events_by_time, a batch at a time, never the newest. */
static void test_purge(void **state) {
        struct store_fixture *f = *state;
        int64_t max = 0;
        sqlite3_stmt *count;

        assert_int_equal(purge(f, T0 + 10 * 86400, 0), 0); /* 0 days: keep everything */
        assert_int_equal(purge(f, T0 + 86400 + 2500, 1), 1); /* the 2,500 oldest: a full batch */
        plan_has(&f->s, cached(&f->s, "ORDER BY time LIMIT ?2)"), "USING COVERING INDEX events_by_time (time<?)");
        assert_int_equal(purge(f, T0 + 86400 + 2500, 1), 1);
        assert_int_equal(purge(f, T0 + 86400 + 2500, 1), 0); /* 500 left: done */
        assert_int_equal(purge(f, T0 + 86400 + 2500, 1), 0);
        assert_int_equal(sqlite3_prepare_v2(store_sqlite_db(&f->s), "SELECT count(*), min(id) FROM events", -1, &count, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(count), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(count, 0), EVENTS - 2500);
        assert_int_equal(sqlite3_column_int(count, 1), 2501);
        sqlite3_reset(count);
        /* everything is old: all goes but the newest */
        while (purge(f, T0 + 1000 * 86400, 1) == 1)
                ;
        assert_int_equal(sqlite3_step(count), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(count, 0), 1);
        assert_int_equal(sqlite3_column_int(count, 1), EVENTS);
        sqlite3_finalize(count);
        assert_int_equal(eventlog_max_id(&f->s, &max), 0);
        assert_int_equal(max, EVENTS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                store_unit_test_setup(test_one_users_newest, setup),
                store_unit_test_setup(test_scan_is_bounded, setup),
                store_unit_test_setup(test_purge, setup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
