/* SPDX-License-Identifier: BSD-3-Clause */
/* Ending sessions: through logind (TerminateSession) where the session has
 * a logind id and logind runs, else by signalling the session's processes.
 * Runs in a child (child.h): D-Bus calls and waits never block the loop. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TERMINATE_MAX 64   /* sessions ended by one request */
#define PROTECT_MAX 64     /* processes never signalled: the caller and its ancestors */
#define LOGIND_ID_MAX 64

struct terminate_job {
        size_t n;
        struct {
                int64_t id;
                pid_t pid;
                uint64_t start;
                char logind[LOGIND_ID_MAX];
        } s[TERMINATE_MAX];
        size_t nprotect;
        pid_t protect[PROTECT_MAX];
};

/* child_fn_t: 0 when every session's leader is gone, else -ESRCH with the
 * ids of those that are not in out. */
int terminate_run(void *arg, char *out, size_t outlen);
