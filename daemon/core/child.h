/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#define CHILD_OUT_MAX 512 /* the one line a child reports */

/* Called from the event loop when the child ended: r is 0 or a negative
 * errno; out is the line the child wrote: a reason on failure, on success
 * what the job returns ("" if nothing). */
typedef void (*child_done_t)(int r, const char *out, void *userdata);
/* Runs in the child: 0 or a negative errno, with a line in out. */
typedef int (*child_fn_t)(void *arg, char *out, size_t outlen);

/* Run fn(arg) in a forked child so that the event loop never waits for a
 * mail server or a PAM stack.  The child starts with default signal
 * handling and no inherited descriptor but its result pipe; it is killed
 * after timeout_usec.  0: done is called exactly once; <0: nothing started. */
int child_run_async(sd_event *e, uint64_t timeout_usec, child_fn_t fn, void *arg, child_done_t done, void *userdata);

/* fn(userdata) runs before every child starts; a negative return is
 * child_run_async's, and nothing starts.  The server makes its group
 * commit durable there: a child acts outside (mails a code, signals a
 * session, sets a password) only on what is on disk. */
void child_before_start(int (*fn)(void *userdata), void *userdata);

/* Instead of calling done itself, hand each completion to fn (the server:
 * it runs it as a unit of work of its own, one transaction, worker.h). */
typedef void (*child_completer_t)(child_done_t done, int r, const char *out, void *userdata, void *ud);
void child_on_done(child_completer_t fn, void *ud);

/* How many children run now; fn(userdata) is called each time the last
 * one ended (one hook: the server's). */
unsigned child_running(void);
/* Shutdown: kill every running child (its job ends as a failure through
 * done, from the event loop) and fail the jobs still waiting in pools. */
void child_cancel_all(void);
void child_on_idle(void (*fn)(void *userdata), void *userdata);

/* At most max children of one kind at once (argon2id needs 64 MiB each);
 * the others wait in order.  Same contract as child_run_async, except that
 * the job may start later: arg must stay valid until done is called. */
struct child_pool {
        sd_event *event;
        unsigned max, running;
        uint64_t timeout_usec;
        struct child_wait *head, *tail;
};
int child_pool_run(struct child_pool *p, child_fn_t fn, void *arg, child_done_t done, void *userdata);
