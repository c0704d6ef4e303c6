/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Caps on what a flood of login attempts can make the database keep.  A
 * remote attacker chooses the user name (sshd passes any name on) and, with
 * an IPv6 prefix, the source address: neither may grow a table without
 * bound.  Attempts are still answered exactly as before and still reach the
 * journal; only old rows go.
 */
#include "config.h"

#include <errno.h>

#include "rowcap.h"

/* Failures for unknown users since the last prune (this process). */
static unsigned unknown_since_prune;

int limit_unknown_user_events(struct store *s) {
        if (++unknown_since_prune < UNKNOWN_PRUNE_EVERY)
                return 0;
        int r = store_exec(s, Q_ROWCAP_PRUNE_UNKNOWN_EVENTS, STORE_ARGS(A_INT(UNKNOWN_EVENTS_MAX)));
        if (r < 0)
                return r;
        unknown_since_prune = 0;
        return 0;
}

int limit_tally_sources(struct store *s, const char *user, int64_t now) {
        int r = store_exec(s, Q_ROWCAP_PRUNE_TALLY_SOURCES,
                           STORE_ARGS(A_TEXT(user), A_INT(now), A_INT(TALLY_SOURCES_MAX)));
        return r < 0 ? r : 0;
}
