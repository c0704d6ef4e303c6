/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Blocking work off the event loop: one forked child per job.  The child
 * never touches the database (a forked SQLite handle is not usable), reports
 * one line back through a pipe and exits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "macro.h"

struct job {
        struct job *prev, *next; /* the running jobs */
        child_done_t done;
        void *userdata;
        int result_fd;
        pid_t pid;
        sd_event_source *child, *timer;
};

/* Children running now, and who wants to know when there are none left
 * (the server: it waits for them at shutdown and before an idle exit). */
static unsigned running;
static struct job *jobs;
static bool cancelling;
static void (*idle_hook)(void *);
static void *idle_data;

unsigned child_running(void) {
        return running;
}

void child_on_idle(void (*fn)(void *userdata), void *userdata) {
        idle_hook = fn;
        idle_data = userdata;
}

void child_cancel_all(void) {
        cancelling = true;
        for (struct job *j = jobs; j; j = j->next)
                (void) kill(j->pid, SIGKILL); /* on_child reports it */
}

static void job_free(struct job *j) {
        if (j->prev)
                j->prev->next = j->next;
        else if (jobs == j)
                jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        sd_event_source_disable_unref(j->child);
        sd_event_source_disable_unref(j->timer);
        if (j->result_fd >= 0)
                close(j->result_fd);
        free(j);
}

static child_completer_t completer;
static void *completer_data;

void child_on_done(child_completer_t fn, void *ud) {
        completer = fn;
        completer_data = ud;
}

static void call_done(child_done_t done, int r, const char *out, void *userdata) {
        if (completer)
                completer(done, r, out, userdata, completer_data);
        else
                done(r, out, userdata);
}

static int on_child(sd_event_source *src, const siginfo_t *si, void *userdata) {
        struct job *j = userdata;
        char err[CHILD_OUT_MAX] = "";
        ssize_t k = read(j->result_fd, err, sizeof(err) - 1);
        err[k > 0 ? k : 0] = '\0';
        err[strcspn(err, "\n")] = '\0';
        int r = 0;
        if (si->si_code != CLD_EXITED || si->si_status != 0) {
                r = si->si_code != CLD_EXITED ? -ETIMEDOUT : si->si_status == 2 ? -EACCES : -EIO;
                if (!err[0])
                        snprintf(err, sizeof(err), "%s", si->si_code == CLD_EXITED ? "failed" : "timed out");
        }
        call_done(j->done, r, err, j->userdata);
        job_free(j);
        if (--running == 0 && idle_hook)
                idle_hook(idle_data);
        return 0;
}

static int on_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        struct job *j = userdata;
        log_warning("child %d still running after its timeout; killing it", (int) j->pid);
        (void) kill(j->pid, SIGKILL); /* on_child reports it */
        return 0;
}

static _Noreturn void child_main(int result_fd, child_fn_t fn, void *arg) {
        char err[CHILD_OUT_MAX] = "";
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        if (result_fd > 3)
                (void) close_range(3, (unsigned) result_fd - 1, 0);
        (void) close_range((unsigned) result_fd + 1, ~0U, 0);
        int r = fn(arg, err, sizeof(err));
        if (r < 0 && !err[0])
                snprintf(err, sizeof(err), "%s", strerror(-r));
        if (err[0]) /* the reason, or on success what the job returns */
                (void) !write(result_fd, err, strlen(err));
        _exit(r == 0 ? 0 : r == -EACCES ? 2 : 1);
}

static int (*before_start)(void *userdata);
static void *before_start_userdata;

void child_before_start(int (*fn)(void *userdata), void *userdata) {
        before_start = fn;
        before_start_userdata = userdata;
}

int child_run_async(sd_event *e, uint64_t timeout_usec, child_fn_t fn, void *arg, child_done_t done, void *userdata) {
        int pfd[2];
        int r = before_start ? before_start(before_start_userdata) : 0;
        if (r < 0)
                return r;
        struct job *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0) {
                free(j);
                return negative_errno();
        }
        *j = (struct job){ .done = done, .userdata = userdata, .result_fd = pfd[0] };
        j->pid = fork();
        if (j->pid == 0) {
                close(pfd[0]);
                child_main(pfd[1], fn, arg);
        }
        r = j->pid < 0 ? negative_errno() : 0;
        close(pfd[1]);
        if (r == 0)
                r = sd_event_add_child(e, &j->child, j->pid, WEXITED, on_child, j);
        if (r == 0)
                r = sd_event_add_time_relative(e, &j->timer, CLOCK_MONOTONIC, timeout_usec, 0, on_timeout, j);
        if (r < 0) {
                if (j->pid > 0) {
                        (void) kill(j->pid, SIGKILL);
                        j->child = sd_event_source_disable_unref(j->child);
                        (void) waitpid(j->pid, NULL, 0);
                }
                job_free(j);
                return r;
        }
        running++;
        j->next = jobs;
        if (jobs)
                jobs->prev = j;
        jobs = j;
        return 0;
}

struct child_wait {
        struct child_pool *pool;
        child_fn_t fn;
        void *arg;
        child_done_t done;
        void *userdata;
        struct child_wait *next;
};

static void pool_pump(struct child_pool *p);

static void pool_done(int r, const char *out, void *userdata) {
        struct child_wait *w = userdata;
        struct child_pool *p = w->pool;
        p->running--;
        w->done(r, out, w->userdata);
        free(w);
        pool_pump(p);
}

/* Start waiting jobs while there is room; a job that cannot start is
 * answered with its error at once. */
static void pool_pump(struct child_pool *p) {
        while (p->head && p->running < p->max) {
                struct child_wait *w = p->head;
                p->head = w->next;
                if (!p->head)
                        p->tail = NULL;
                p->running++;
                int r = cancelling ? -ECANCELED
                                   : child_run_async(p->event, p->timeout_usec, w->fn, w->arg, pool_done, w);
                if (r < 0) {
                        p->running--;
                        call_done(w->done, r, cancelling ? "shutting down" : "cannot start a child process",
                                  w->userdata);
                        free(w);
                }
        }
}

int child_pool_run(struct child_pool *p, child_fn_t fn, void *arg, child_done_t done, void *userdata) {
        struct child_wait *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (struct child_wait){ .pool = p, .fn = fn, .arg = arg, .done = done, .userdata = userdata };
        if (p->running >= p->max) {
                if (p->tail)
                        p->tail->next = w;
                else
                        p->head = w;
                p->tail = w;
                return 0;
        }
        p->running++;
        int r = child_run_async(p->event, p->timeout_usec, fn, arg, pool_done, w);
        if (r < 0) {
                p->running--;
                free(w);
        }
        return r;
}
