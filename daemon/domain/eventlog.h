/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading and purging the events table (seclog.c writes it). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Rows one scan looks at, matching or not: a page over millions of events
 * with a rare filter costs the event loop a few milliseconds, then returns
 * its cursor for the client to come back with. */
#define EVENTLOG_EXAMINE_MAX 20000
/* Rows deleted per purge transaction: about 10 ms of work each (the rows
 * of events_by_user are spread over the index), so a long purge never holds
 * up logins for long. */
#define EVENTLOG_PURGE_BATCH 1000

/* One stored event; the strings live until the callback returns. */
struct event_row {
        int64_t id, time;
        const char *type, *user, *service, *rhost, *tty, *actor, *detail;
        const char *host; /* a fleet's: the host that logged it ("" with one host) */
        const char *country, *city; /* where rhost was (geoip_database): "" unknown */
};

struct eventlog_filter {
        const char *user; /* NULL: everyone's */
        const char *type; /* NULL: any type */
        int64_t since;    /* events at or after this unix time; 0: any */
};

/* Called for each matching row: 0 takes it, 1 stops the scan before it (the
 * row stays unconsumed, for the next page), <0 is an error. */
typedef int (*eventlog_fn)(const struct event_row *e, void *userdata);

/* The matching events with ids in [lo, hi], oldest first, or newest first
 * when newest_first.  Examines at most EVENTLOG_EXAMINE_MAX rows.  Returns 0
 * when the range was exhausted, 1 when the scan stopped early (the callback
 * or the cap), <0 on error.  *ret_last is the id of the last row consumed
 * (taken, or examined and not matching); 0 if none. */
int eventlog_scan(struct store *s, const struct eventlog_filter *f, bool newest_first, int64_t lo, int64_t hi,
                  eventlog_fn fn, void *userdata, int64_t *ret_last);

/* The newest event's id; 0 when the table is empty. */
int eventlog_max_id(struct store *s, int64_t *ret);

/* Delete events older than now - days (0: keep everything), a batch at a
 * time; 1 when a batch was full (call again), 0 when done, <0 on error.
 * The newest event is always kept: SQLite gives a new row max(id) + 1, so
 * ids are never reused and an export's cursor stays meaningful. */
int eventlog_purge(struct store *s, int64_t now, unsigned days);
