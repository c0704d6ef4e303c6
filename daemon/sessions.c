/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include "sessions.h"

int sessions_reconcile(struct daemon *d, int64_t now) {
        (void) d;
        (void) now;
        return 0;
}

int sessions_purge(struct store *s, int64_t now, unsigned days) {
        (void) s;
        (void) now;
        (void) days;
        return 0;
}
