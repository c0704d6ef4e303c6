/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-uid budgets for local users.  Every request that can add a row (a
 * security-log event above all: auth_failure from a screen locker,
 * log_exported, token_created...) counts against its caller's budget for
 * the current minute; over it, the request is refused before it does
 * anything, so the log and the state stay consistent.  A fixed table: a
 * uid has its own slot (no sharing, so one user cannot use up another's
 * budget); when every slot is taken by a uid active this minute, further
 * uids pass, as memory stays bounded and those users are limited by the
 * per-uid connection cap anyway.
 */
#include "config.h"

#include "ratelimit.h"

bool ratelimit_allow(uid_t uid, int64_t now) {
        static struct {
                uid_t uid;
                int64_t minute; /* 0: free */
                unsigned n;
        } slots[RATELIMIT_SLOTS];
        int64_t minute = now / 60 + 1;
        int free_slot = -1;

        if (uid == 0)
                return true;
        for (int i = 0; i < RATELIMIT_SLOTS; i++) {
                if (slots[i].minute == minute && slots[i].uid == uid)
                        return slots[i].n < USER_WRITES_PER_MIN ? (slots[i].n++, true) : false;
                if (slots[i].minute != minute && free_slot < 0)
                        free_slot = i;
        }
        if (free_slot >= 0)
                slots[free_slot].uid = uid, slots[free_slot].minute = minute, slots[free_slot].n = 1;
        return true;
}
