/* SPDX-License-Identifier: BSD-3-Clause */
/* Session records: opened and closed by pam_acctsec.so's session phase,
 * closed by reconciliation when the process that opened one is gone. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

#define SESSION_REASON_CLOSED "closed"
#define SESSION_REASON_TERMINATED "terminated"
#define SESSION_REASON_GONE "process gone"

struct session {
        int64_t id;
        const char *user, *service, *tty, *rhost, *logind;
        pid_t pid;          /* the process that opened it (SO_PEERCRED) */
        uint64_t pid_start; /* its /proc start time: the pid's identity */
        int64_t started, last_active, ended;
        const char *host; /* a fleet's: the host it runs on ("" with one host) */
        bool local;       /* on this host: its pid means something here */
        const char *country, *city; /* where rhost is (geoip_database): "" unknown */
};

/* Insert an active session. */
int sessions_insert(struct store *s, const struct session *in, int64_t *ret_id);
/* End an active session (id, or else the newest active one of user opened
 * by pid/pid_start), in one conditional update: 1 ended (*io_id set,
 * *ret filled with copies the caller must free via session_free), 0 none.
 * With SESSION_REASON_TERMINATED (and an id) a session that ended
 * meanwhile for another reason is marked terminated too. */
int sessions_end(struct store *s, int64_t *io_id, const char *user, pid_t pid, uint64_t pid_start, int64_t now,
                 const char *reason, struct session *ret);
void session_free(struct session *s);
/* Each active session, of user or of everyone (user NULL), oldest first;
 * local: only those opened on this host (a fleet shares one table).  A
 * callback's nonzero return stops the walk and is returned. */
typedef int (*session_cb)(const struct session *s, void *userdata);
int sessions_foreach_active(struct store *s, const char *user, bool local, session_cb cb, void *userdata);

/* A fleet: ask the hosts of other hosts' sessions to end them (one id, or
 * 0 for all; of user, or NULL for anyone's), noting who asked; each is
 * notified when the transaction commits.  The number of sessions asked
 * for, or <0; *ret_host names one of their hosts (for the reply). */
int sessions_request_end(struct store *s, int64_t now, const char *actor, int64_t id, const char *user,
                         char *ret_host, size_t host_len);
/* This host's sessions that another host asked to end; by is who asked. */
typedef int (*session_end_cb)(const struct session *s, const char *by, void *userdata);
int sessions_foreach_end_requested(struct store *s, session_end_cb cb, void *userdata);
/* Record a logind session id found later (pam_systemd ran after us). */
int sessions_set_logind(struct store *s, int64_t id, const char *logind);
int sessions_touch(struct store *s, int64_t id, int64_t now);

/* Close the active sessions whose leader process is gone, a batch of at
 * most 256 (with their events): 1 when more may remain (call again), 0
 * done, <0 error.  Writes: inside a request or txn_begin()/txn_end(). */
int sessions_reconcile(struct store *s, int64_t now);
/* Delete sessions that ended more than days ago (0: keep). */
int sessions_purge(struct store *s, int64_t now, unsigned days);

/* A fleet: this host is alive (its maintenance tick), and the sessions of
 * hosts not seen for SESSIONS_HOST_GONE_AFTER seconds are ended ("host
 * gone") and logged, a batch at a time: 1 there may be more, 0 done, <0. */
#define SESSIONS_HOST_GONE_AFTER (24 * 3600)
#define SESSION_REASON_HOST_GONE "host gone"
int sessions_host_seen(struct store *s, int64_t now);
/* The fleet's hosts by name, at most max: when each was last seen (host,
 * this one: now) and its active sessions; one host (SQLite) is host alone.
 * A callback's nonzero return stops the walk and is returned. */
struct fleet_host {
        const char *host;
        int64_t last_seen;
        int64_t sessions;
};
typedef int (*fleet_host_cb)(const struct fleet_host *h, void *userdata);
int sessions_foreach_host(struct store *s, const char *host, int64_t now, int64_t max, fleet_host_cb cb,
                          void *userdata);
int sessions_end_hosts_gone(struct store *s, int64_t now);
