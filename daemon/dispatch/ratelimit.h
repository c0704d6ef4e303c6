/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What a local user (any uid but root) can make the daemon write: at most
 * USER_WRITES_PER_MIN requests a minute that may record something (a log
 * event, a tally, a token...).  Reads are not counted; root (the login
 * programs) is never limited. */
#define USER_WRITES_PER_MIN 60
#define RATELIMIT_SLOTS 64 /* uids tracked at once; more active uids in one minute pass unlimited */

/* Whether a counted request (the request table's RATE_WRITE, RATE_EXPORT)
 * from uid may run now; counts it if so. */
bool ratelimit_allow(uid_t uid, int64_t now);
