/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include "eventlog.h"

int eventlog_purge(struct store *s, int64_t now, unsigned days) {
        (void) s;
        (void) now;
        (void) days;
        return 0;
}
