/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "macro.h"
#include "procs.h"

#define PROC_TABLE_MAX 1000000 /* more than pid_max allows */

int proc_read(pid_t pid, struct proc *ret) {
        char path[64], buf[1024];
        if (pid <= 0)
                return -ENOENT;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT || errno == ESRCH ? -ENOENT : negative_errno();
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return n == 0 ? -ENOENT : (errno == ESRCH ? -ENOENT : negative_errno());
        buf[n] = '\0';
        /* "pid (comm) state ppid pgrp session tty_nr ..." where comm may hold
         * spaces and parentheses: fields start after the last ')'. */
        char *p = strrchr(buf, ')');
        if (!p || p[1] != ' ')
                return -EBADMSG;
        char state;
        int ppid, pgrp, session, tty_nr;
        unsigned long long start;
        /* fields 3..7, then skip 8..21, then 22 (starttime) */
        if (sscanf(p + 2, "%c %d %d %d %d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
                   &ppid, &pgrp, &session, &tty_nr, &start) != 6)
                return -EBADMSG;
        if (state == 'Z' || state == 'X') /* exited: only its parent's wait() is left */
                return -ENOENT;
        *ret = (struct proc){ .pid = pid, .ppid = ppid, .start = start, .tty_nr = (unsigned) tty_nr };
        return 0;
}

bool proc_alive(pid_t pid, uint64_t start) {
        struct proc p;
        return proc_read(pid, &p) == 0 && p.start == start;
}

int proc_table_load(struct proc_table *t) {
        size_t cap = 256;
        struct dirent *de;

        t->n = 0;
        t->p = malloc(cap * sizeof(*t->p));
        DIR *dir = opendir("/proc");
        if (!t->p || !dir) {
                int r = -errno;
                if (dir)
                        closedir(dir);
                proc_table_free(t);
                return r ? r : -ENOMEM;
        }
        while ((de = readdir(dir))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 0 || t->n >= PROC_TABLE_MAX)
                        continue;
                if (t->n == cap) {
                        struct proc *np = realloc(t->p, 2 * cap * sizeof(*t->p));
                        if (!np) {
                                closedir(dir);
                                proc_table_free(t);
                                return -ENOMEM;
                        }
                        t->p = np;
                        cap *= 2;
                }
                if (proc_read((pid_t) pid, &t->p[t->n]) == 0) /* gone meanwhile: skip */
                        t->n++;
        }
        closedir(dir);
        return 0;
}

void proc_table_free(struct proc_table *t) {
        free(t->p);
        t->p = NULL;
        t->n = 0;
}

/* Breadth first over the parent links; a process table is small (thousands),
 * and a session's tree is smaller still. */
size_t proc_descendants(const struct proc_table *t, pid_t root, struct proc *out, size_t max) {
        size_t found = 0, done = 0;
        pid_t parent = root;

        for (;;) {
                for (size_t i = 0; i < t->n; i++)
                        if (t->p[i].ppid == parent && t->p[i].pid != root) {
                                if (found < max)
                                        out[found] = t->p[i];
                                found++;
                        }
                /* Children of what is beyond max are not followed: the caller
                 * only sees max of them anyway. */
                if (done >= found || done >= max)
                        return found;
                parent = out[done++].pid;
        }
}

bool proc_tty_name(unsigned tty_nr, char *buf, size_t n) {
        unsigned maj = major(tty_nr), min = minor(tty_nr);
        if (maj >= 136 && maj <= 143) /* Unix98 pty slaves */
                return snprintf(buf, n, "pts/%u", (maj - 136) * 256 + min) < (int) n;
        if (maj == 4 && min < 64) /* virtual consoles */
                return snprintf(buf, n, "tty%u", min) < (int) n;
        return false;
}

bool proc_terminal(const struct proc_table *t, pid_t root, unsigned *ret_tty_nr) {
        struct proc kids[64];
        char name[32];
        for (size_t i = 0; i < t->n; i++)
                if (t->p[i].pid == root && proc_tty_name(t->p[i].tty_nr, name, sizeof(name))) {
                        *ret_tty_nr = t->p[i].tty_nr;
                        return true;
                }
        size_t n = proc_descendants(t, root, kids, ARRAY_SIZE(kids));
        for (size_t i = 0; i < n && i < ARRAY_SIZE(kids); i++)
                if (proc_tty_name(kids[i].tty_nr, name, sizeof(name))) {
                        *ret_tty_nr = kids[i].tty_nr;
                        return true;
                }
        return false;
}
