/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Called from the event loop when the child ended: r is 0 or a negative
 * errno, err a one-line reason ("" on success). */
typedef void (*child_done_t)(int r, const char *err, void *userdata);
/* Runs in the child: 0 or a negative errno with a reason in err. */
typedef int (*child_fn_t)(void *arg, char *err, size_t errlen);

/* Run fn(arg) in a forked child so that the event loop never waits for a
 * mail server or a PAM stack.  The child starts with default signal
 * handling and no inherited descriptor but its result pipe; it is killed
 * after timeout_usec.  0: done is called exactly once; <0: nothing started. */
int child_run_async(sd_event *e, uint64_t timeout_usec, child_fn_t fn, void *arg, child_done_t done, void *userdata);
