/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading and purging the events table (seclog.c writes it). */
#pragma once

#include <stdint.h>

#include "store.h"

/* Delete events older than now - days (0: keep everything), a batch at a
 * time; 1 when a batch was full (call again), 0 when done, <0 on error. */
int eventlog_purge(struct store *s, int64_t now, unsigned days);
