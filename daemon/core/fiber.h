/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fibers: a function that runs on a stack of its own and can wait for a
 * socket, a deadline or a wake-up without holding up the event loop.  The
 * loop stays single-threaded (the daemon forks children that run libcurl and
 * PAM: threads are not an option); a fiber gives the CPU back only where it
 * waits, so code between two waits runs alone, as any loop callback does.
 *
 * The PostgreSQL engine waits on the network this way (storage/pgsql.c), so
 * request handlers stay plain sequential code on every engine.  A fiber is
 * never resumed from inside another: only the loop's callbacks resume them.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct fiber;

/* Start fn(arg) on a new fiber at once: it runs until it first waits or
 * returns.  done(ud) is called (on the loop's stack) after fn returned.
 * 0, or <0 when no fiber could be made (nothing ran). */
int fiber_start(sd_event *e, void (*fn)(void *arg), void *arg, void (*done)(void *ud), void *ud);

/* The running fiber, or NULL on the loop's own stack. */
struct fiber *fiber_self(void);
/* The running fiber's event loop (NULL outside a fiber). */
sd_event *fiber_event(void);
/* The running fiber's number, 0 on the loop's own stack.  Unlike its
 * address (a new fiber often gets the memory of the one that just ended),
 * no other fiber of this process had it. */
uint64_t fiber_self_id(void);

/* From inside a fiber: wait until fd has one of events (EPOLLIN,
 * EPOLLOUT) or until deadline (CLOCK_MONOTONIC usec; 0: none).  1 ready,
 * 0 the deadline passed, <0 error. */
int fiber_wait_fd(int fd, uint32_t events, uint64_t deadline);
/* Wait until fiber_wake() names this fiber, or the deadline: 1 woken, 0
 * deadline passed, <0 error. */
int fiber_wait(uint64_t deadline);
void fiber_wake(struct fiber *f);
/* Sleep until the deadline. */
int fiber_sleep_until(uint64_t deadline);

/* CLOCK_MONOTONIC in usec, for deadlines. */
uint64_t fiber_clock(void);
