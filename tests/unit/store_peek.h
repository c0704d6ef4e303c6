/* SPDX-License-Identifier: BSD-3-Clause */
/* A temporary store (store_dir.h) with a second connection to its file,
 * which sees only what committed: tests read the rows their calls left
 * behind through it, with printf-style SQL. */
#pragma once

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "store_dir.h"

struct peek_fixture {
        struct store_fixture *f;
        sqlite3 *db;
};

/* NULL when the store or the second connection cannot be made. */
static inline struct peek_fixture *peek_fixture_new(void) {
        struct peek_fixture *x = calloc(1, sizeof(*x));
        char path[128];
        if (!x || !(x->f = store_fixture_new())) {
                free(x);
                return NULL;
        }
        snprintf(path, sizeof(path), "%s/%s", x->f->dir, STORE_DB_NAME);
        if (sqlite3_open(path, &x->db) != SQLITE_OK) {
                sqlite3_close(x->db);
                store_fixture_free(x->f);
                free(x);
                return NULL;
        }
        return x;
}

/* 0, or -1 when the directory had more in it than the store's files. */
static inline int peek_fixture_free(struct peek_fixture *x) {
        sqlite3_close(x->db);
        int r = store_fixture_free(x->f);
        free(x);
        return r;
}

/* The statement stepped to its first row (NULL when it has none or fails:
 * the reason goes to stderr); the caller finalizes it. */
static inline sqlite3_stmt *peek_row(struct peek_fixture *x, const char *fmt, va_list ap) {
        char sql[1024];
        sqlite3_stmt *st = NULL;
        vsnprintf(sql, sizeof(sql), fmt, ap);
        if (sqlite3_prepare_v2(x->db, sql, -1, &st, NULL) != SQLITE_OK) {
                fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(x->db));
                return NULL;
        }
        if (sqlite3_step(st) != SQLITE_ROW) {
                sqlite3_finalize(st);
                return NULL;
        }
        return st;
}

/* The first column of the first row: an integer (-1 no row). */
static inline int64_t peek_int(struct peek_fixture *x, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        sqlite3_stmt *st = peek_row(x, fmt, ap);
        va_end(ap);
        int64_t n = st ? sqlite3_column_int64(st, 0) : -1;
        sqlite3_finalize(st);
        return n;
}

/* ... or text ("" no row or NULL), in a buffer the next call reuses. */
static inline const char *peek_text(struct peek_fixture *x, const char *fmt, ...) {
        static char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        sqlite3_stmt *st = peek_row(x, fmt, ap);
        va_end(ap);
        const unsigned char *t = st ? sqlite3_column_text(st, 0) : NULL;
        snprintf(buf, sizeof(buf), "%s", t ? (const char *) t : "");
        sqlite3_finalize(st);
        return buf;
}
