/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fiber.h"
#include "log.h"
#include "worker.h"

struct work {
        struct worker *w;
        void (*fn)(void *arg);
        void (*done)(void *arg);
        void *arg;
        struct work *next;
};

void worker_init(struct worker *w, sd_event *e, bool fibers) {
        *w = (struct worker){ .event = e, .fibers = fibers };
}

bool worker_idle(const struct worker *w) {
        return !w->busy && !w->head;
}

static void start_next(struct worker *w);

static void on_fiber_done(void *ud) {
        struct work *u = ud;
        struct worker *w = u->w;
        w->busy = false;
        if (u->done)
                u->done(u->arg);
        free(u);
        start_next(w);
        if (worker_idle(w) && w->on_idle)
                w->on_idle(w->idle_ud);
}

static void on_fiber(void *ud) {
        struct work *u = ud;
        u->fn(u->arg);
}

/* Units that cannot get a fiber end as if they ran: their done() is told
 * nothing ran by the unit's own state (it never started). */
static void start_next(struct worker *w) {
        while (!w->busy && w->head) {
                struct work *u = w->head;
                w->head = u->next;
                if (!w->head)
                        w->tail = NULL;
                w->queued--;
                w->busy = true;
                int r = fiber_start(w->event, on_fiber, u, on_fiber_done, u);
                if (r < 0) {
                        log_error("cannot start a fiber: %s; running the unit on the loop's stack", strerror(-r));
                        u->fn(u->arg); /* its store calls fail: no fiber to wait on */
                        on_fiber_done(u);
                }
        }
}

int worker_run(struct worker *w, void (*fn)(void *arg), void (*done)(void *arg), void *arg) {
        if (!w->fibers) {
                bool outer = !w->busy;
                w->busy = true;
                fn(arg);
                if (done)
                        done(arg);
                if (outer) {
                        w->busy = false;
                        if (w->on_idle)
                                w->on_idle(w->idle_ud);
                }
                return 0;
        }
        struct work *u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        *u = (struct work){ .w = w, .fn = fn, .done = done, .arg = arg };
        if (w->tail)
                w->tail->next = u;
        else
                w->head = u;
        w->tail = u;
        w->queued++;
        if (!fiber_self()) /* from a fiber, it starts when that one ends */
                start_next(w);
        return 0;
}
