/* SPDX-License-Identifier: BSD-3-Clause */
/* Formats for the security log (acctsec log show|export) and the --since
 * parser: apart from the CLI's I/O so that tests/unit/test_export.c can
 * check them byte for byte. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* One event as the daemon sent it (doc/protocol.md, LOG_SHOW). */
struct export_event {
        uint64_t id, time;
        const char *type, *outcome, *user, *service, *rhost, *tty, *actor, *detail;
        const char *host; /* a fleet's: the host that logged it ("" with one host) */
        const char *country, *city; /* where rhost is: ISO code and city ("" unknown) */
};

/* A quoted JSON string: '"', '\' and control characters escaped, U+2028 and
 * U+2029 escaped (for JavaScript), and every byte that is not part of
 * well-formed UTF-8 replaced by U+FFFD, so the output is always valid. */
void json_put_string(FILE *f, const char *s);

/* One CSV field (RFC 4180): quoted, with quotes doubled, when it holds a
 * comma, quote, CR or LF, and also a ';' or TAB (the separators spreadsheets
 * use in other locales).  With guard, a value that starts with '=', '+',
 * '-', '@', TAB or CR, which a spreadsheet would run as a formula, gets a
 * leading "'" first. */
void csv_put_field(FILE *f, const char *s, bool guard);

/* The header line and one event per line, CRLF-terminated; every text
 * field guarded. */
void export_csv_header(FILE *f);
void export_csv_event(FILE *f, const struct export_event *e);
/* One event as a JSON object on one line, no newline. */
void export_json_event(FILE *f, const struct export_event *e);

/* "2026-11-23T00:01:13Z"; buf holds at least 32 bytes. */
const char *export_time_utc(uint64_t t, char *buf, size_t n);

/* --since, as a unix time: YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS] (or with T
 * for the space) in local time, a time ago (30s, 30m, 12h, 7d) counted back
 * from now, or @UNIXTIME.  -EINVAL for anything else, -ERANGE for a date
 * that does not exist (2026-02-30, a local time skipped by a DST change) or
 * lies before 1970. */
int parse_since(const char *text, time_t now, int64_t *ret);
