/* SPDX-License-Identifier: BSD-3-Clause */
/* The SQLite engine's hooks for tests (query plans, the file itself); the
 * daemon never uses them: domain code knows only store.h. */
#pragma once

#include <sqlite3.h>

#include "store.h"

sqlite3 *store_sqlite_db(struct store *s);
/* The prepared statement whose SQL ends with suffix, or NULL. */
sqlite3_stmt *store_sqlite_find(struct store *s, const char *suffix);
/* Every operation has a statement that compiles (0), or the first that has
 * none (-ENOENT) or does not compile (-EINVAL) in *ret_bad. */
int store_sqlite_check(struct store *s, enum store_query *ret_bad);
