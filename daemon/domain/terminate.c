/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "procs.h"
#include "terminate.h"

#define TREE_MAX 4096               /* processes signalled per session */
#define GRACE_MSEC 3000             /* after SIGTERM/SIGHUP, before SIGKILL */
#define KILL_WAIT_MSEC 2000         /* after SIGKILL */
#define POLL_MSEC 20

static bool all_gone(const struct terminate_job *j) {
        for (size_t i = 0; i < j->n; i++)
                if (proc_alive(j->s[i].pid, j->s[i].start))
                        return false;
        return true;
}

/* Poll (this is a child: blocking is its job) until every leader is gone. */
static bool wait_gone(const struct terminate_job *j, unsigned msec) {
        const struct timespec step = { .tv_nsec = POLL_MSEC * 1000000L };
        for (unsigned waited = 0;; waited += POLL_MSEC) {
                if (all_gone(j))
                        return true;
                if (waited >= msec)
                        return false;
                nanosleep(&step, NULL);
        }
}

static int logind_terminate(sd_bus *bus, const char *id) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(bus, "org.freedesktop.login1", "/org/freedesktop/login1",
                                   "org.freedesktop.login1.Manager", "TerminateSession", &e, NULL, "s", id);
        sd_bus_error_free(&e);
        return r;
}

static bool protected(const struct terminate_job *j, pid_t pid) {
        if (pid <= 1 || pid == getpid() || pid == getppid()) /* init, us, acctsecd */
                return true;
        for (size_t i = 0; i < j->nprotect; i++)
                if (j->protect[i] == pid)
                        return true;
        return false;
}

static void signal_one(const struct terminate_job *j, const struct proc *p, int sig) {
        /* Re-checked just before: the pid must still be that process. */
        if (!protected(j, p->pid) && proc_alive(p->pid, p->start)) {
                (void) kill(p->pid, sig);
                if (sig != SIGKILL)
                        (void) kill(p->pid, SIGCONT); /* a stopped process acts on SIGTERM only when resumed */
        }
}

/* The leader and everything below it.  Shells ignore SIGTERM but not
 * SIGHUP, which is what a hang-up of their terminal sends. */
static void signal_tree(const struct terminate_job *j, int sig) {
        static struct proc tree[TREE_MAX];
        struct proc_table t = { 0 };
        if (proc_table_load(&t) < 0)
                return;
        for (size_t i = 0; i < j->n; i++) {
                struct proc leader = { .pid = j->s[i].pid, .start = j->s[i].start };
                size_t n = proc_descendants(&t, leader.pid, tree, TREE_MAX);
                for (size_t k = 0; k < n && k < TREE_MAX; k++) {
                        if (sig == SIGTERM)
                                signal_one(j, &tree[k], SIGHUP);
                        signal_one(j, &tree[k], sig);
                }
                signal_one(j, &leader, sig);
        }
        proc_table_free(&t);
}

int terminate_run(void *arg, char *out, size_t outlen) {
        struct terminate_job *j = arg;
        sd_bus *bus = NULL;
        bool asked = false;

        out[0] = '\0';
        if (sd_booted() > 0)
                for (size_t i = 0; i < j->n; i++) {
                        if (!j->s[i].logind[0] || !proc_alive(j->s[i].pid, j->s[i].start))
                                continue;
                        if (!bus && sd_bus_open_system(&bus) < 0) {
                                bus = NULL;
                                break;
                        }
                        /* On failure, the signals below do it. */
                        asked |= logind_terminate(bus, j->s[i].logind) >= 0;
                }
        sd_bus_flush_close_unref(bus);
        if (wait_gone(j, asked ? GRACE_MSEC : 0))
                return 0;
        signal_tree(j, SIGTERM);
        if (wait_gone(j, GRACE_MSEC))
                return 0;
        signal_tree(j, SIGKILL);
        if (wait_gone(j, KILL_WAIT_MSEC))
                return 0;
        size_t len = 0;
        for (size_t i = 0; i < j->n; i++)
                if (proc_alive(j->s[i].pid, j->s[i].start) && len < outlen)
                        len += (size_t) snprintf(out + len, outlen - len, "%s%lld", len ? " " : "",
                                                 (long long) j->s[i].id);
        return -ESRCH;
}
