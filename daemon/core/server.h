/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <systemd/sd-event.h>

#include "daemon.h"

#define CONN_MAX 128          /* on the shared socket at once; more wait in the listen backlog */
#define CONN_RESERVED_ROOT 32 /* of those, kept for root (a root client without the private socket) */
#define CONN_MAX_PER_USER 16  /* for a non-root uid: a local user cannot starve logins */
#define CONN_MAX_PRIVATE 128  /* on root's private socket, counted apart: local users never take them */
#define GROUP_COMMIT_MAX 64 /* replies held for one COMMIT at most */
/* request_timeout (acctsec.conf): the time to send a request, or to read a reply */

struct conn;

struct server {
        sd_event *event;
        struct daemon *d;
        int listen_fd;               /* the shared socket: every user */
        int private_fd;              /* root's socket (-1: none); its connections go first */
        sd_event_source *listen_src;
        sd_event_source *private_src;
        sd_event_source *idle_src;
        sd_event_source *grace_src;
        sd_event_source *commit_src; /* the group commit: after the ready requests */
        sd_event_source *sync_src;   /* log appends committed, not yet on disk: within log_sync_delay */
        uint64_t idle_exit_usec; /* 0: never */
        struct conn *conns;
        unsigned nconns;   /* both sockets */
        unsigned nprivate; /* of those, on the private socket */
        bool stopping;
        bool grace_over; /* connections no longer hold up the exit */
        uint64_t refused; /* connections refused over the limits */
        struct acctsec_msg *msg;     /* scratch: requests are handled one at a time */
        struct acctsec_frame *frame; /* scratch */
        /* scratch of the requests that need no store (PING): answered at once
         * while a unit of work waits on a fiber with msg and frame */
        struct acctsec_msg *omsg;
        struct acctsec_frame *oframe;
        struct conn *current;        /* the connection whose request is being handled */
        unsigned nheld;              /* replies waiting for the group commit */
};

/* private_fd: root's socket, or -1.  Its listener and connections run at a
 * higher priority than the shared socket's, and have their own slots. */
int server_init(struct server *s, struct daemon *d, int listen_fd, int private_fd, uint64_t idle_exit_usec);
/* Runs until SIGTERM/SIGINT or idle exit; returns the exit code. */
int server_run(struct server *s);
void server_done(struct server *s);
/* End the group commit now: COMMIT, then send the held replies (errors if
 * it failed).  0, or the COMMIT's negative errno; -EBUSY inside a
 * transaction (the batch stays open). */
int server_commit(struct server *s);
