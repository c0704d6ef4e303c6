/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define STORE_STMT_MAX 128
#define STORE_DB_NAME "acctsec.db"
#define STORE_MARK_NAME "acctsec.db.clean-stop" /* see store.c: the clean-stop mark */

struct store {
        sqlite3 *db;
        char state_dir[4096];     /* set once open: store_close() leaves the clean-stop mark there */
        bool quick_check_skipped; /* the file was as a clean stop in this boot left it */
        /* Group commit (doc/design.md): with batching on, the first
         * store_begin() opens one outer BEGIN IMMEDIATE and every caller's
         * transaction is a SAVEPOINT inside it; store_batch_commit() makes
         * them all durable with one COMMIT. */
        bool batching;
        bool batch_open;   /* the outer transaction is open */
        bool batch_failed; /* SQLite rolled it back on an error: it cannot commit */
        bool in_txn;       /* between a caller's store_begin() and its commit/rollback */
        void (*on_batch_open)(void *userdata);
        void *batch_userdata;
        uint64_t transactions; /* store_commit()s that succeeded */
        uint64_t commits;      /* durable COMMITs (fewer than transactions when batched) */
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

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Return 0 or -EIO/-ENOSPC/-EBUSY.
 * While a batch is open they are SAVEPOINT / RELEASE / ROLLBACK TO: what
 * store_commit() returned 0 for is durable only once store_batch_commit()
 * returned 0, and later transactions in the batch see it. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);
/* COMMIT the open batch (nothing to do: 0).  On failure everything in it
 * is rolled back.  -EBUSY, and the batch stays open, inside a caller's
 * transaction. */
int store_batch_commit(struct store *s);

/* Map an SQLite result code to a negative errno. */
int store_errno(int sqlite_rc);
/* sqlite3_step() for statements that return no row: 0 or negative errno. */
int store_exec_stmt(sqlite3_stmt *st);
