/* SPDX-License-Identifier: BSD-3-Clause */
/* Session records: opened and closed by pam_acctsec.so's session phase,
 * closed by reconciliation when the process that opened one is gone. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon.h"
#include "store.h"

struct session {
        int64_t id;
        const char *user, *service, *tty, *rhost, *logind;
        pid_t pid;
        uint64_t pid_start; /* /proc/PID/stat starttime: the pid's identity */
        int64_t started, last_active, ended;
};

/* Close every active session whose leader process is gone. */
int sessions_reconcile(struct daemon *d, int64_t now);
/* Delete sessions that ended more than days ago (0: keep). */
int sessions_purge(struct store *s, int64_t now, unsigned days);
