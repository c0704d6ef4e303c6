/* SPDX-License-Identifier: BSD-3-Clause */
/* What the files of the import (import.c: the run; import_tables.c: each
 * table's merge rule; import_report.c: the report) share.  The import is
 * the one place that speaks to both engines at once, directly through
 * sqlite3_* and PQ*: it is a one-shot program, not a unit of work of the
 * event loop, so its libpq calls block. */
#pragma once

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "import.h"
#include "keyfile.h"
#include "macro.h"

/* What happened to one row of the host's, in the staging tables' outcome
 * column (and the report's columns, in this order). */
#define IMPORT_OUTCOMES { "imported", "merged", "same", "kept", "not_importable" }
#define IMPORT_OUTCOME_COUNT 5

struct import_table {
        const char *name;    /* the table, in both databases */
        const char *columns; /* in both (SQLite accepts the quoted "user") */
        bool ordered;        /* an id column to keep the host's order by: appended rows */
        int reseal_column;   /* >= 0: a TOTP secret to open with the host key and seal with the fleet's */
        bool hashed;         /* keyed hashes: they move only when the host key is the fleet key */
        const char *default_outcome; /* for every staged row, before the steps ("": decided by them) */
        const char *steps[4];        /* the merge, in order; for hashed rows when the keys are equal */
        const char *steps_other_key[2]; /* hashed rows when they are not */
};

extern const struct import_table import_tables[];
extern const size_t import_tables_count;

struct import_result {
        PGresult *counts; /* outcome, count */
        PGresult *lines;  /* user, note, rows, items (text), items (json) */
};

struct import {
        const struct import_options *o;
        sqlite3 *lite;
        PGconn *pg;
        uint8_t host_key[KEYFILE_KEY_SIZE];
        uint8_t fleet_key[KEYFILE_KEY_SIZE];
        bool have_host_key;
        bool keys_equal;
        char host_id[64];
        char key_id[KEYFILE_ID_SIZE];
        char why[1024]; /* the reason of a failure, for the one line on stderr */
        struct import_result *results; /* one per table */
        bool committed;
};

/* Record why the import fails; returns r. */
int import_fail(struct import *im, int r, const char *fmt, ...) _printf_(3, 4);

/* One statement on the fleet's connection, in the import's transaction:
 * 0 (with *ret its result when ret, else cleared) or < 0 with im->why set.
 * params: NULL-terminated text values, $1.. */
int import_pg(struct import *im, const char *sql, const char *const *params, PGresult **ret);

/* Stage one table of the host's, merge it by its rule, and keep what the
 * report says of it in im->results[i]. */
int import_table_run(struct import *im, size_t i);

/* Print the report (text or JSON) on stdout. */
void import_report_print(const struct import *im);
void import_report_error(const struct import *im);
