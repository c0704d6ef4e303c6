/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <sqlite3.h>

#define STORE_STMT_MAX 128
#define STORE_DB_NAME "acctsec.db"

struct store {
        sqlite3 *db;
        struct {
                const char *sql;
                sqlite3_stmt *stmt;
        } cache[STORE_STMT_MAX];
};

/* Open (creating if needed) the database in a state directory that must be
 * ours and private.  Applies pragmas, migrations and a quick_check.  On
 * error, *ret_why says what is wrong for the log. */
int store_open(struct store *s, const char *state_dir, const char **ret_why);
void store_close(struct store *s);
int store_schema_version(void);

/* A prepared statement for a static SQL string, cached, reset and cleared. */
sqlite3_stmt *store_stmt(struct store *s, const char *sql);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Return 0 or -EIO/-ENOSPC/-EBUSY. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* Map an SQLite result code to a negative errno. */
int store_errno(int sqlite_rc);
/* sqlite3_step() for statements that return no row: 0 or negative errno. */
int store_exec_stmt(sqlite3_stmt *st);
