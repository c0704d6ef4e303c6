/* SPDX-License-Identifier: BSD-3-Clause */
/* Processes as /proc shows them.  A pid alone names nothing (pids are
 * reused): a process is (pid, start time), and every check compares both. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc {
        pid_t pid, ppid;
        uint64_t start;   /* clock ticks after boot (field 22 of /proc/PID/stat) */
        unsigned tty_nr;  /* controlling terminal (field 7); 0 none */
};

/* 0, -ENOENT (no such process), or another negative errno. */
int proc_read(pid_t pid, struct proc *ret);
/* Whether that very process still runs (not a zombie, not a reused pid). */
bool proc_alive(pid_t pid, uint64_t start);

/* Every process, read once (for descendants and terminals). */
struct proc_table {
        struct proc *p;
        size_t n;
};
int proc_table_load(struct proc_table *t);
void proc_table_free(struct proc_table *t);
/* The processes below root (not root itself), at most max of them; the
 * number found (which may exceed max). */
size_t proc_descendants(const struct proc_table *t, pid_t root, struct proc *out, size_t max);
/* "pts/3" or "tty2" for a tty_nr, into buf; false when it is neither. */
bool proc_tty_name(unsigned tty_nr, char *buf, size_t n);
/* The terminal that root or one of its descendants uses, if any. */
bool proc_terminal(const struct proc_table *t, pid_t root, unsigned *ret_tty_nr);
