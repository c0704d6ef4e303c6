/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fibers on ucontext (fiber.h).  Each has a stack of its own with a guard
 * page below it; the pages are committed only as they are touched.  A
 * child forked from a fiber (mail, PAM) runs on that stack, hence its size.
 *
 * Under AddressSanitizer every switch is announced to it, or it would take
 * the other stack for an overflow.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "fiber.h"
#include "log.h"
#include "macro.h"

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif
#ifdef FIBER_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define FIBER_STACK_SIZE (1024 * 1024)

struct fiber {
        ucontext_t ctx;
        sd_event *event;
        void (*fn)(void *arg);
        void *arg;
        void (*done)(void *ud);
        void *ud;
        void *map; /* guard page + stack */
        size_t map_len;
        uint64_t id; /* fiber_self_id() */
        bool finished;
        /* what it waits for */
        sd_event_source *io, *timer, *wake;
        int result;
};

static ucontext_t loop_ctx;
static struct fiber *running;
#ifdef FIBER_ASAN
static void *loop_stack_bottom;
static size_t loop_stack_size;
#endif

struct fiber *fiber_self(void) {
        return running;
}

sd_event *fiber_event(void) {
        return running ? running->event : NULL;
}

uint64_t fiber_self_id(void) {
        return running ? running->id : 0;
}

uint64_t fiber_clock(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* Switch from the loop into f, until it waits or ends. */
static void switch_in(struct fiber *f) {
        running = f;
#ifdef FIBER_ASAN
        void *fake = NULL;
        __sanitizer_start_switch_fiber(&fake, (char *) f->map + getpagesize(), f->map_len - getpagesize());
        swapcontext(&loop_ctx, &f->ctx);
        __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
        swapcontext(&loop_ctx, &f->ctx);
#endif
        running = NULL;
}

/* Switch from the running fiber back to the loop. */
static void switch_out(struct fiber *f, bool last) {
#ifdef FIBER_ASAN
        void *fake = NULL;
        __sanitizer_start_switch_fiber(last ? NULL : &fake, loop_stack_bottom, loop_stack_size);
        swapcontext(&f->ctx, &loop_ctx);
        __sanitizer_finish_switch_fiber(fake, (const void **) &loop_stack_bottom, &loop_stack_size);
#else
        (void) last;
        swapcontext(&f->ctx, &loop_ctx);
#endif
}

static void fiber_free(struct fiber *f) {
        sd_event_source_disable_unref(f->io);
        sd_event_source_disable_unref(f->timer);
        sd_event_source_disable_unref(f->wake);
        munmap(f->map, f->map_len);
        free(f);
}

/* Resume f from a loop callback; when its function returned, done() and free. */
static void resume(struct fiber *f) {
        if (running) { /* a fiber is only ever resumed by the loop */
                log_error("internal error: a fiber resumed from inside another");
                abort();
        }
        switch_in(f);
        if (f->finished) {
                void (*done)(void *) = f->done;
                void *ud = f->ud;
                fiber_free(f);
                if (done)
                        done(ud);
        }
}

static void trampoline(void) {
        struct fiber *f = running;
#ifdef FIBER_ASAN
        __sanitizer_finish_switch_fiber(NULL, (const void **) &loop_stack_bottom, &loop_stack_size);
#endif
        f->fn(f->arg);
        f->finished = true;
        switch_out(f, true);
}

int fiber_start(sd_event *e, void (*fn)(void *arg), void *arg, void (*done)(void *ud), void *ud) {
        static uint64_t last_id;
        size_t page = (size_t) getpagesize();
        struct fiber *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        *f = (struct fiber){ .event = e, .fn = fn, .arg = arg, .done = done, .ud = ud, .id = ++last_id };
        f->map_len = FIBER_STACK_SIZE + page;
        f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (f->map == MAP_FAILED) {
                free(f);
                return -ENOMEM;
        }
        if (mprotect(f->map, page, PROT_NONE) < 0 || getcontext(&f->ctx) < 0) {
                int r = negative_errno();
                munmap(f->map, f->map_len);
                free(f);
                return r;
        }
        f->ctx.uc_stack.ss_sp = (char *) f->map + page;
        f->ctx.uc_stack.ss_size = FIBER_STACK_SIZE;
        f->ctx.uc_link = NULL; /* trampoline never returns */
        makecontext(&f->ctx, trampoline, 0);
        resume(f);
        return 0;
}

/* The sources a wait made go when it ends, whichever fired. */
static void wait_end(struct fiber *f) {
        f->io = sd_event_source_disable_unref(f->io);
        f->timer = sd_event_source_disable_unref(f->timer);
        f->wake = sd_event_source_disable_unref(f->wake);
}

static int on_fd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct fiber *f = userdata;
        f->result = 1;
        wait_end(f);
        resume(f);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        struct fiber *f = userdata;
        f->result = 0;
        wait_end(f);
        resume(f);
        return 0;
}

static int on_wake(sd_event_source *s, void *userdata) {
        struct fiber *f = userdata;
        f->result = 1;
        wait_end(f);
        resume(f);
        return 0;
}

/* Arm the deadline (if any) and give the CPU back until a source fires. */
static int wait_for(struct fiber *f, uint64_t deadline) {
        if (deadline) {
                int r = sd_event_add_time(f->event, &f->timer, CLOCK_MONOTONIC, deadline, 0, on_deadline, f);
                if (r < 0) {
                        wait_end(f);
                        return r;
                }
        }
        f->result = -EINTR;
        switch_out(f, false);
        return f->result;
}

static struct fiber *self_or_fail(void) {
        if (!running)
                log_error("internal error: a wait outside a fiber");
        return running;
}

int fiber_wait_fd(int fd, uint32_t events, uint64_t deadline) {
        struct fiber *f = self_or_fail();
        if (!f)
                return -EINVAL;
        int r = sd_event_add_io(f->event, &f->io, fd, events, on_fd, f);
        return r < 0 ? r : wait_for(f, deadline);
}

int fiber_wait(uint64_t deadline) {
        struct fiber *f = self_or_fail();
        if (!f)
                return -EINVAL;
        int r = sd_event_add_defer(f->event, &f->wake, on_wake, f);
        if (r >= 0)
                r = sd_event_source_set_enabled(f->wake, SD_EVENT_OFF);
        return r < 0 ? r : wait_for(f, deadline);
}

void fiber_wake(struct fiber *f) {
        if (f && f->wake)
                (void) sd_event_source_set_enabled(f->wake, SD_EVENT_ONESHOT);
}

int fiber_sleep_until(uint64_t deadline) {
        struct fiber *f = self_or_fail();
        if (!f)
                return -EINVAL;
        return wait_for(f, deadline ? deadline : 1);
}
