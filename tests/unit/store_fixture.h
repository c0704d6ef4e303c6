/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests on a real, temporary store:
 * - a fresh database in a directory of its own for each test (cmocka setup
 *   and teardown: store_unit_test, or store_setup and store_teardown);
 * - each call a request of its own, as the dispatcher makes one (IN_TXN);
 * - a second connection to the same file, which sees only what committed,
 *   as another process would: tests read the rows their calls left behind
 *   through it with printf-style SQL (peek_int, peek_text, peek_events), and
 *   write through it behind the store's back (peek_exec: another daemon
 *   sharing the store, or a test's own setup). */
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include "unit.h"

#include "macro.h"
#include "store.h"
#include "txn.h"

struct store_fixture {
        char dir[64];
        struct store s;
        sqlite3 *db; /* the second connection */
};

/* Remove a test's state directory: the database, its WAL files and the
 * clean-stop mark go; anything else left makes rmdir fail.  0 or -1
 * (errno) like rmdir. */
static inline int store_dir_remove(const char *dir) {
        static const char *const files[] = { STORE_DB_NAME, STORE_DB_NAME "-wal", STORE_DB_NAME "-shm", STORE_MARK_NAME };
        char path[128];
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                (void) unlink(path);
        }
        return rmdir(dir);
}

/* NULL when the directory, the database or the second connection cannot
 * be made. */
static inline struct store_fixture *store_fixture_new(void) {
        struct store_fixture *f = calloc(1, sizeof(*f));
        const char *why = NULL;
        char path[128];
        if (!f)
                return NULL;
        strcpy(f->dir, "/tmp/acctsec-store.XXXXXX");
        if (!mkdtemp(f->dir)) {
                free(f);
                return NULL;
        }
        if (store_open(&f->s, f->dir, &why) < 0) {
                (void) store_dir_remove(f->dir);
                free(f);
                return NULL;
        }
        snprintf(path, sizeof(path), "%s/%s", f->dir, STORE_DB_NAME);
        if (sqlite3_open_v2(path, &f->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
                sqlite3_close(f->db);
                store_close(&f->s);
                (void) store_dir_remove(f->dir);
                free(f);
                return NULL;
        }
        return f;
}

/* 0, or -1 when the directory had more in it than the store's files. */
static inline int store_fixture_free(struct store_fixture *f) {
        sqlite3_close(f->db);
        store_close(&f->s);
        int r = store_dir_remove(f->dir);
        free(f);
        return r;
}

/* cmocka setup and teardown: *state is a struct store_fixture.  A test
 * file with more to set up calls store_setup from its own setup. */
static inline int store_setup(void **state) {
        *state = store_fixture_new();
        assert_non_null(*state);
        return 0;
}

static inline int store_teardown(void **state) {
        assert_int_equal(store_fixture_free(*state), 0);
        return 0;
}

/* A cmocka test on a fresh store, set up by store_setup or by setup. */
#define store_unit_test(fn) cmocka_unit_test_setup_teardown(fn, store_setup, store_teardown)
#define store_unit_test_setup(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, store_teardown)

/* The value of expr (an int), evaluated inside one request on the store s
 * that commits. */
#define IN_TXN(s, expr)                                                                                           \
        ({                                                                                                        \
                txn_begin(s);                                                                                     \
                int in_txn_r_ = (expr);                                                                           \
                assert_int_equal(txn_end((s), true), 0);                                                         \
                in_txn_r_;                                                                                        \
        })

/* The statement of printf-style SQL on db, stepped to its first row (NULL
 * when it has none or fails: the reason goes to stderr); the caller
 * finalizes it. */
_printf_(2, 0) static inline sqlite3_stmt *sql_row(sqlite3 *db, const char *fmt, va_list ap) {
        char sql[1024];
        sqlite3_stmt *st = NULL;
        vsnprintf(sql, sizeof(sql), fmt, ap);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
                fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
                return NULL;
        }
        if (sqlite3_step(st) != SQLITE_ROW) {
                sqlite3_finalize(st);
                return NULL;
        }
        return st;
}

/* The first column of the first row: an integer (-1 no row; NULL is 0). */
_printf_(2, 3) static inline int64_t sql_int(sqlite3 *db, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        sqlite3_stmt *st = sql_row(db, fmt, ap);
        va_end(ap);
        int64_t n = st ? sqlite3_column_int64(st, 0) : -1;
        sqlite3_finalize(st);
        return n;
}

/* ... or text ("" no row or NULL), in a buffer the next call reuses. */
_printf_(2, 3) static inline const char *sql_text(sqlite3 *db, const char *fmt, ...) {
        static char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        sqlite3_stmt *st = sql_row(db, fmt, ap);
        va_end(ap);
        const unsigned char *t = st ? sqlite3_column_text(st, 0) : NULL;
        snprintf(buf, sizeof(buf), "%s", t ? (const char *) t : "");
        sqlite3_finalize(st);
        return buf;
}

/* What committed, read through the second connection. */
#define peek_int(f, ...) sql_int((f)->db, __VA_ARGS__)
#define peek_text(f, ...) sql_text((f)->db, __VA_ARGS__)

/* How many events of a type committed. */
static inline int64_t peek_events(struct store_fixture *f, const char *type) {
        return peek_int(f, "SELECT count(*) FROM events WHERE type = '%s'", type);
}

/* Run printf-style SQL on the second connection, behind the store's back:
 * 0, or -1 (the reason goes to stderr). */
_printf_(2, 3) static inline int peek_exec(struct store_fixture *f, const char *fmt, ...) {
        char sql[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        if (sqlite3_exec(f->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
                fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(f->db));
                return -1;
        }
        return 0;
}
