/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "procs.h"
#include "seclog.h"
#include "sessions.h"

#define RECONCILE_BATCH 256 /* sessions closed per call (per transaction, on the timer) */

static const char *or_empty(const char *s) {
        return s ? s : "";
}

int sessions_insert(struct store *s, const struct session *in, int64_t *ret_id) {
        int r = store_get_int(s, Q_SESSION_INSERT,
                              STORE_ARGS(A_TEXT(in->user), A_TEXT(or_empty(in->service)), A_TEXT(or_empty(in->tty)),
                                         A_TEXT(or_empty(in->rhost)), A_TEXT(or_empty(in->logind)), A_INT(in->pid),
                                         A_INT((int64_t) in->pid_start), A_INT(in->started), A_INT(in->started),
                                         A_TEXT(or_empty(in->country)), A_TEXT(or_empty(in->city))),
                              ret_id);
        return r < 0 ? r : r == 0 ? -EIO : 0;
}

/* The columns of SESSION_COLUMNS (storage/sqlite.c), the strings borrowed
 * from the row. */
static struct session session_of(const struct store_rows *row) {
        return (struct session){
                .id = store_int(row, 0),
                .user = store_text(row, 1),
                .service = store_text(row, 2),
                .tty = store_text(row, 3),
                .rhost = store_text(row, 4),
                .logind = store_text(row, 5),
                .pid = (pid_t) store_int(row, 6),
                .pid_start = (uint64_t) store_int(row, 7),
                .started = store_int(row, 8),
                .last_active = store_int(row, 9),
                .ended = store_int(row, 10),
                .host = store_text(row, 11),
                .local = store_int(row, 12) != 0,
                .country = store_text(row, 13),
                .city = store_text(row, 14),
        };
}

#define SESSIONS_GONE_BATCH 100 /* SESSION_END_HOSTS_GONE's LIMIT */

static void session_copy(const struct store_rows *row, void *userdata) {
        struct session *out = userdata, x = session_of(row);
        *out = x;
        out->user = strdup(x.user);
        out->service = strdup(x.service);
        out->tty = strdup(x.tty);
        out->rhost = strdup(x.rhost);
        out->logind = strdup(x.logind);
        out->host = strdup(x.host);
        out->country = strdup(x.country);
        out->city = strdup(x.city);
}

void session_free(struct session *s) {
        free((char *) s->user);
        free((char *) s->service);
        free((char *) s->tty);
        free((char *) s->rhost);
        free((char *) s->logind);
        free((char *) s->host);
        free((char *) s->country);
        free((char *) s->city);
        memset(s, 0, sizeof(*s));
}

int sessions_end(struct store *s, int64_t *io_id, const char *user, pid_t pid, uint64_t pid_start, int64_t now,
                 const char *reason, struct session *ret) {
        bool term = *io_id && strcmp(reason, SESSION_REASON_TERMINATED) == 0;
        int r;

        memset(ret, 0, sizeof(*ret));
        if (*io_id)
                r = store_get(s, term ? Q_SESSION_END_TERMINATED : Q_SESSION_END_BY_ID,
                              STORE_ARGS(A_INT(now), A_TEXT(reason), A_INT(*io_id), A_TEXT(user)), session_copy, ret);
        else /* ?3 (the id) is not in this statement */
                r = store_get(s, Q_SESSION_END_BY_PID,
                              STORE_ARGS(A_INT(now), A_TEXT(reason), A_INT(0), A_TEXT(user), A_INT(pid),
                                         A_INT((int64_t) pid_start)),
                              session_copy, ret);
        if (r <= 0)
                return r;
        if (!ret->user || !ret->service || !ret->tty || !ret->rhost || !ret->logind || !ret->host || !ret->country ||
            !ret->city) {
                session_free(ret);
                return -ENOMEM;
        }
        *io_id = ret->id;
        return 1;
}

int sessions_foreach_active(struct store *s, const char *user, bool local, session_cb cb, void *userdata) {
        struct store_rows rows;
        int r = local  ? store_select(s, Q_SESSION_LIST_LOCAL, STORE_ARGS(A_TEXT(user)), &rows)
                : user ? store_select(s, Q_SESSION_LIST_USER, STORE_ARGS(A_TEXT(user)), &rows)
                       : store_select(s, Q_SESSION_LIST_ALL, STORE_NO_ARGS, &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0) {
                struct session x = session_of(&rows);
                r = cb(&x, userdata);
                if (r)
                        break;
        }
        store_rows_end(&rows);
        return r;
}

int sessions_request_end(struct store *s, int64_t now, const char *actor, int64_t id, const char *user,
                         char *ret_host, size_t host_len) {
        struct store_rows rows;
        int n = 0;
        int r = store_select(s, Q_SESSION_REQUEST_END, STORE_ARGS(A_INT(now), A_TEXT(actor), A_INT(id), A_TEXT(user)),
                             &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0)
                if (n++ == 0)
                        snprintf(ret_host, host_len, "%s", store_text(&rows, 1));
        store_rows_end(&rows);
        return r < 0 ? r : n;
}

int sessions_foreach_end_requested(struct store *s, session_end_cb cb, void *userdata) {
        struct store_rows rows;
        int r = store_select(s, Q_SESSION_LIST_END_REQUESTED, STORE_NO_ARGS, &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0) {
                struct session x = session_of(&rows);
                r = cb(&x, store_text(&rows, 15), userdata);
                if (r)
                        break;
        }
        store_rows_end(&rows);
        return r;
}

int sessions_set_logind(struct store *s, int64_t id, const char *logind) {
        int r = store_exec(s, Q_SESSION_SET_LOGIND, STORE_ARGS(A_TEXT(logind), A_INT(id)));
        return r < 0 ? r : 0;
}

int sessions_touch(struct store *s, int64_t id, int64_t now) {
        int r = store_exec(s, Q_SESSION_TOUCH, STORE_ARGS(A_INT(now), A_INT(id)));
        return r < 0 ? r : 0;
}

struct gone {
        int64_t ids[RECONCILE_BATCH];
        size_t n;
        bool more;
};

static int collect_gone(const struct session *x, void *userdata) {
        struct gone *g = userdata;
        if (proc_alive(x->pid, x->pid_start))
                return 0;
        if (g->n == RECONCILE_BATCH) {
                g->more = true;
                return 1;
        }
        g->ids[g->n++] = x->id;
        return 0;
}

/* End one session found gone, and log it: 1 ended, 0 it had ended meanwhile. */
static int end_gone(struct store *s, int64_t id, int64_t now) {
        struct session ended;
        char detail[64];
        /* user NULL: the row is looked up by id alone */
        int r = sessions_end(s, &id, NULL, 0, 0, now, SESSION_REASON_GONE, &ended);
        if (r <= 0)
                return r;
        snprintf(detail, sizeof(detail), "session %lld: %s", (long long) id, SESSION_REASON_GONE);
        struct event ev = { .type = EV_SESSION_CLOSED, .user = ended.user, .service = ended.service,
                            .rhost = ended.rhost, .tty = ended.tty, .detail = detail, .country = ended.country,
                            .city = ended.city };
        r = seclog_add(s, now, &ev);
        session_free(&ended);
        return r < 0 ? r : 1;
}

/* The process that opened a session is gone without pam_close_session
 * (killed, crashed, a host without a session line that closes): the
 * session is over.  Checked on a timer and before every list.  Each is
 * ended by a conditional update (ended = 0), so a close or terminate that
 * came between the look and the write keeps its word. */
int sessions_reconcile(struct store *s, int64_t now) {
        struct gone g = { .n = 0 };
        int r = sessions_foreach_active(s, NULL, true, collect_gone, &g);
        if (r > 0)
                r = 0; /* the batch is full */
        for (size_t i = 0; r >= 0 && i < g.n; i++)
                r = end_gone(s, g.ids[i], now);
        return r < 0 ? r : g.more;
}

int sessions_host_seen(struct store *s, int64_t now) {
        int r = store_exec(s, Q_HOST_SEEN, STORE_ARGS(A_INT(now)));
        return r < 0 ? r : 0;
}

int sessions_foreach_host(struct store *s, const char *host, int64_t now, int64_t max, fleet_host_cb cb,
                          void *userdata) {
        struct store_rows rows;
        int r = store_select(s, Q_HOST_LIST, STORE_ARGS(A_INT(now), A_TEXT(host), A_INT(max)), &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0) {
                struct fleet_host h = { .host = store_text(&rows, 0), .last_seen = store_int(&rows, 1),
                                        .sessions = store_int(&rows, 2) };
                if ((r = cb(&h, userdata)) != 0)
                        break;
        }
        store_rows_end(&rows);
        return r;
}

int sessions_end_hosts_gone(struct store *s, int64_t now) {
        struct store_rows rows;
        struct event ev[SESSIONS_GONE_BATCH];
        char detail[SESSIONS_GONE_BATCH][128];
        size_t n = 0;
        int r = store_select(s, Q_SESSION_END_HOSTS_GONE,
                             STORE_ARGS(A_INT(now), A_INT(now - SESSIONS_HOST_GONE_AFTER)), &rows);
        /* Events are written once the rows are read: one statement at a time. */
        struct session x[SESSIONS_GONE_BATCH];
        while (r >= 0 && n < SESSIONS_GONE_BATCH && (r = store_next(&rows)) > 0) {
                session_copy(&rows, &x[n]);
                snprintf(detail[n], sizeof(detail[n]), "session %lld: %s (%s, not seen for a day)",
                         (long long) x[n].id, SESSION_REASON_HOST_GONE, x[n].host ? x[n].host : "?");
                ev[n] = (struct event){ .type = EV_SESSION_CLOSED, .user = x[n].user, .service = x[n].service,
                                        .rhost = x[n].rhost, .tty = x[n].tty, .detail = detail[n],
                                        .country = x[n].country, .city = x[n].city };
                n++;
        }
        store_rows_end(&rows);
        for (size_t i = 0; i < n; i++) {
                if (r >= 0 && x[i].user)
                        r = seclog_add(s, now, &ev[i]);
                session_free(&x[i]);
        }
        return r < 0 ? r : n == SESSIONS_GONE_BATCH;
}

int sessions_purge(struct store *s, int64_t now, unsigned days) {
        if (days == 0)
                return 0;
        int r = store_exec(s, Q_SESSION_PURGE, STORE_ARGS(A_INT(now - (int64_t) days * 86400)));
        return r < 0 ? r : 0;
}
