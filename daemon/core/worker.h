/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store's worker: everything that reads or writes the store (a request,
 * a child's completion, a maintenance tick) is a unit of work, and units run
 * one at a time, in order.  With an engine that never waits (SQLite) a unit
 * runs at once on the caller's stack, as a plain call.  With one that waits
 * on the network (PostgreSQL) it runs on a fiber (fiber.h): while it waits,
 * the loop goes on accepting connections, answering PING and queueing the
 * next units, which start when it ends.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

struct work;

struct worker {
        sd_event *event;
        bool fibers;            /* the engine waits: units run on fibers */
        bool busy;              /* a unit is running (or waiting) */
        struct work *head, *tail;
        unsigned queued;
        void (*on_idle)(void *ud); /* the last unit ended and none waits */
        void *idle_ud;
};

void worker_init(struct worker *w, sd_event *e, bool fibers);

/* Run fn(arg) as a unit of work, then done(arg) on the loop's stack (done
 * may be NULL).  A unit started while another runs waits for it; with
 * fibers off, a unit started from inside a running one runs at once, inside
 * it (a completion answered while its job could not start).  0, or <0 when
 * nothing will run (and done will not be called). */
int worker_run(struct worker *w, void (*fn)(void *arg), void (*done)(void *arg), void *arg);

/* No unit running or waiting. */
bool worker_idle(const struct worker *w);
