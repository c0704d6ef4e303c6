/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once
#include <stddef.h>
#include "store.h"
extern const char *const pgsql_sql[_Q_MAX];
extern const char *const pgsql_migrations[];
extern const size_t pgsql_migrations_count;
