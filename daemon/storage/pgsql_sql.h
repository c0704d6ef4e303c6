/* SPDX-License-Identifier: BSD-3-Clause */
/* The PostgreSQL dialect of the schema and of every catalogue operation
 * (storage/pgsql_sql.c): plain data, no libpq, so the engine and the tests
 * (tests/fleet/pg_catalogue_check.c) share one text. */
#pragma once

#include <stddef.h>

#include "store.h"

/* The statement of every operation in store_queries.h, with $1..$n: the same
 * parameters, in the same order, and the same result columns as the SQLite
 * engine's statement of that operation.  Each prepares with no parameter
 * types given; every parameter is inferred as bigint, text or bytea and
 * every integer result column is bigint. */
extern const char *const pgsql_sql[_Q_MAX];

/* Schema steps, applied in order, each in the transaction that records the
 * new version in acctsec_meta (key 'schema_version', created by step 1).
 * Step N creates what the SQLite engine's step N creates; steps past the
 * SQLite engine's last are the fleet's own (key ids). */
extern const char *const pgsql_migrations[];
extern const size_t pgsql_migrations_count;
