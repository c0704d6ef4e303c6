/* SPDX-License-Identifier: BSD-3-Clause */
/* For tests on a real store: cmocka setup and teardown of a fresh one, and
 * what it holds, read with SQLite on a connection of its own (it sees only
 * what committed, as another process would). */
#pragma once

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"
#include "store_dir.h"

/* cmocka setup/teardown: *state is a struct store_fixture. */
static inline int store_test_setup(void **state) {
        *state = store_fixture_new();
        return *state ? 0 : -1;
}

static inline int store_test_teardown(void **state) {
        return store_fixture_free(*state);
}

/* A cmocka test on a fresh store. */
#define store_unit_test(fn) cmocka_unit_test_setup_teardown(fn, store_test_setup, store_test_teardown)

/* The first column of the first row of sql (an integer), -1 when there is
 * no row or the query fails. */
static inline int64_t store_peek_int(const char *dir, const char *sql) {
        char path[128];
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        int64_t n = -1;
        snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
            sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return n;
}

/* Run sql as another writer would (another daemon sharing the store): 0 or -1. */
static inline int store_poke(const char *dir, const char *sql) {
        char path[128];
        sqlite3 *db = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
        int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_close(db);
        return rc == SQLITE_OK ? 0 : -1;
}
