/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"
#include "pgsql_sql.h"
const char *const pgsql_sql[_Q_MAX] = { 0 };
const char *const pgsql_migrations[] = { "" };
const size_t pgsql_migrations_count = 0;
