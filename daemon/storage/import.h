/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsecd --import-from STATE_DIR: a host's SQLite state moves into the
 * fleet's PostgreSQL database (doc/fleet.md, "Moving in"). */
#pragma once

#include <stdbool.h>

struct import_options {
        const char *state_dir; /* the host's: acctsec.db and secret.key */
        const char *config;    /* acctsec.conf, which must say store = postgresql */
        bool config_explicit;
        bool dry_run; /* everything, then ROLLBACK */
        bool json;    /* the report as one JSON document */
};

/* Runs the whole import in one PostgreSQL transaction and prints its
 * report on stdout (errors on stderr): the exit status, 0 when imported
 * (conflicts included: they are reported), 1 when nothing was written. */
int import_main(const struct import_options *o);
