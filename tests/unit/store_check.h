/* SPDX-License-Identifier: BSD-3-Clause */
/* For tests of domain code on a real store: run a call as a request of its
 * own (one transaction, committed), and read what it left behind through a
 * connection of the test's own. */
#pragma once

#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"
#include "store_dir.h"
#include "txn.h"

/* The value of expr (an int), evaluated inside one committed request. */
#define IN_TXN(s, expr)                                                                                           \
        ({                                                                                                        \
                txn_begin(s);                                                                                     \
                int in_txn_r_ = (expr);                                                                           \
                assert_int_equal(txn_end((s), true), 0);                                                         \
                in_txn_r_;                                                                                        \
        })

/* A connection of the test's own on the store's file. */
static inline sqlite3 *check_open(const char *dir, int flags) {
        char path[128];
        sqlite3 *db = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
        assert_int_equal(sqlite3_open_v2(path, &db, flags, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, 1000);
        return db;
}

/* sql (printf-style) prepared and stepped once: the caller reads the row
 * (if sqlite3_stmt_busy) and calls check_done. */
static inline sqlite3_stmt *check_query(sqlite3 *db, const char *fmt, va_list ap) {
        char sql[512];
        sqlite3_stmt *st = NULL;
        vsnprintf(sql, sizeof(sql), fmt, ap);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        return st;
}

static inline void check_done(sqlite3 *db, sqlite3_stmt *st) {
        sqlite3_finalize(st);
        sqlite3_close(db);
}

/* The first column of the first row, or -1 without a row. */
__attribute__((format(printf, 2, 3))) static inline int64_t check_int(const char *dir, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        sqlite3 *db = check_open(dir, SQLITE_OPEN_READONLY);
        sqlite3_stmt *st = check_query(db, fmt, ap);
        va_end(ap);
        int64_t v = sqlite3_stmt_busy(st) ? sqlite3_column_int64(st, 0) : -1;
        check_done(db, st);
        return v;
}

/* The same for a text column, into buf ("" without a row or for NULL). */
__attribute__((format(printf, 4, 5))) static inline const char *check_text(const char *dir, char *buf, size_t n,
                                                                          const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        sqlite3 *db = check_open(dir, SQLITE_OPEN_READONLY);
        sqlite3_stmt *st = check_query(db, fmt, ap);
        va_end(ap);
        const unsigned char *t = sqlite3_stmt_busy(st) ? sqlite3_column_text(st, 0) : NULL;
        snprintf(buf, n, "%s", t ? (const char *) t : "");
        check_done(db, st);
        return buf;
}

/* Change the store's file behind its back (a test's setup): sql
 * (printf-style) must succeed. */
__attribute__((format(printf, 2, 3))) static inline void check_exec(const char *dir, const char *fmt, ...) {
        char sql[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        sqlite3 *db = check_open(dir, SQLITE_OPEN_READWRITE);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        sqlite3_close(db);
}

/* How many events of a type the store holds. */
static inline int64_t check_events(const char *dir, const char *type) {
        return check_int(dir, "SELECT count(*) FROM events WHERE type = '%s'", type);
}

/* A test's state: a struct of size bytes whose first member is a struct
 * store_fixture *, set to a fresh store; the rest zero. */
static inline void *check_state_new(size_t size) {
        struct store_fixture **f = calloc(1, size);
        assert_non_null(f);
        *f = store_fixture_new();
        assert_non_null(*f);
        return f;
}

/* cmocka teardown of such a state: nothing but the store was left in its directory. */
static inline int check_state_free(void **state) {
        struct store_fixture **f = *state;
        assert_int_equal(store_fixture_free(*f), 0);
        free(f);
        return 0;
}
