/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdint.h>

#include "store.h"

/* Rows that attempts from outside can add, capped (doc/design.md, "Limits").
 * Both run inside the caller's transaction; <0: -errno. */

/* Security-log rows for unknown user names: the newest UNKNOWN_EVENTS_MAX
 * unknown-user failures are kept (the journal has every one).  Pruned every
 * UNKNOWN_PRUNE_EVERY such failures, so the table holds at most
 * UNKNOWN_EVENTS_MAX + UNKNOWN_PRUNE_EVERY of them between prunes. */
#define UNKNOWN_EVENTS_MAX 10000
#define UNKNOWN_PRUNE_EVERY 100
int limit_unknown_user_events(struct store *s);

/* lock_scope = user+source: at most TALLY_SOURCES_MAX tally rows per user
 * (one per remote host); locked ones are kept first, then the most recent. */
#define TALLY_SOURCES_MAX 256
int limit_tally_sources(struct store *s, const char *user, int64_t now);
