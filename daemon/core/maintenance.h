/* SPDX-License-Identifier: BSD-3-Clause */
/* Housekeeping on a timer: sessions whose processes are gone are closed,
 * events and ended sessions past log_retention_days are purged, and so are
 * the mail counts (mailcap.h) older than an hour. */
#pragma once

#include "daemon.h"

/* Runs once right away, then every MAINTENANCE_INTERVAL_USEC. */
int maintenance_start(struct daemon *d);
/* store_options.wake: the store asks for a unit of work (a fleet's host was
 * notified, or connected again): sessions other hosts asked to end. */
void maintenance_wake(void *daemon);
void maintenance_stop(struct daemon *d);

#define MAINTENANCE_INTERVAL_USEC (300 * 1000000ULL)
#define MAINTENANCE_BATCH_GAP_USEC (10 * 1000ULL) /* between two purge batches: let requests in */
