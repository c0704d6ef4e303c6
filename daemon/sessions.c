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

#define RECONCILE_BATCH 256 /* sessions closed per transaction */

static const char *text(sqlite3_stmt *st, int col) {
        const char *t = (const char *) sqlite3_column_text(st, col);
        return t ? t : "";
}

int sessions_insert(struct store *s, const struct session *in, int64_t *ret_id) {
        static const char sql[] = "INSERT INTO sessions (user, service, tty, rhost, logind, pid, pid_start, started,"
                                  " last_active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
        sqlite3_stmt *st = store_stmt(s, sql);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, in->user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, in->service ? in->service : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, in->tty ? in->tty : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, in->rhost ? in->rhost : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, in->logind ? in->logind : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, in->pid);
        sqlite3_bind_int64(st, 7, (int64_t) in->pid_start);
        sqlite3_bind_int64(st, 8, in->started);
        sqlite3_bind_int64(st, 9, in->started);
        int r = store_exec_stmt(st);
        if (r == 0)
                *ret_id = sqlite3_last_insert_rowid(store_sqlite_db(s));
        return r;
}

static void session_copy(sqlite3_stmt *st, struct session *out) {
        *out = (struct session){
                .id = sqlite3_column_int64(st, 0),
                .user = strdup(text(st, 1)),
                .service = strdup(text(st, 2)),
                .tty = strdup(text(st, 3)),
                .rhost = strdup(text(st, 4)),
                .logind = strdup(text(st, 5)),
                .pid = (pid_t) sqlite3_column_int64(st, 6),
                .pid_start = (uint64_t) sqlite3_column_int64(st, 7),
                .started = sqlite3_column_int64(st, 8),
                .last_active = sqlite3_column_int64(st, 9),
                .ended = sqlite3_column_int64(st, 10),
        };
}

void session_free(struct session *s) {
        free((char *) s->user);
        free((char *) s->service);
        free((char *) s->tty);
        free((char *) s->rhost);
        free((char *) s->logind);
        memset(s, 0, sizeof(*s));
}

#define SESSION_COLUMNS "id, user, service, tty, rhost, logind, pid, pid_start, started, last_active, ended"

int sessions_end(struct store *s, int64_t *io_id, const char *user, pid_t pid, uint64_t pid_start, int64_t now,
                 const char *reason, struct session *ret) {
        static const char by_id[] = "UPDATE sessions SET ended = ?1, end_reason = ?2"
                                    " WHERE id = ?3 AND (?4 IS NULL OR user = ?4) AND ended = 0 RETURNING " SESSION_COLUMNS;
        static const char by_pid[] = "UPDATE sessions SET ended = ?1, end_reason = ?2 WHERE id = ("
                                     "SELECT id FROM sessions WHERE ended = 0 AND user = ?4 AND pid = ?5"
                                     " AND pid_start = ?6 ORDER BY id DESC LIMIT 1) RETURNING " SESSION_COLUMNS;
        /* A terminated session's leader often closes it on the way out
         * (sshd does on SIGTERM): terminate still has the last word. */
        static const char terminated[] = "UPDATE sessions SET ended = CASE ended WHEN 0 THEN ?1 ELSE ended END,"
                                         " end_reason = ?2 WHERE id = ?3 AND (?4 IS NULL OR user = ?4)"
                                         " AND end_reason != ?2 RETURNING " SESSION_COLUMNS;
        bool term = *io_id && strcmp(reason, SESSION_REASON_TERMINATED) == 0;
        sqlite3_stmt *st = store_stmt(s, term ? terminated : *io_id ? by_id : by_pid);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
        if (*io_id)
                sqlite3_bind_int64(st, 3, *io_id);
        sqlite3_bind_text(st, 4, user, -1, SQLITE_STATIC);
        if (!*io_id) {
                sqlite3_bind_int64(st, 5, pid);
                sqlite3_bind_int64(st, 6, (int64_t) pid_start);
        }
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                session_copy(st, ret);
                *io_id = ret->id;
                rc = sqlite3_step(st);
        }
        int r = store_errno(rc);
        sqlite3_reset(st);
        if (r < 0) {
                if (ret->user)
                        session_free(ret);
                return r;
        }
        return ret->user ? 1 : 0;
}

int sessions_foreach_active(struct store *s, const char *user, session_cb cb, void *userdata) {
        static const char one[] = "SELECT " SESSION_COLUMNS " FROM sessions WHERE ended = 0 AND user = ? ORDER BY id";
        static const char all[] = "SELECT " SESSION_COLUMNS " FROM sessions WHERE ended = 0 ORDER BY id";
        sqlite3_stmt *st = store_stmt(s, user ? one : all);
        int rc, r = 0;
        if (!st)
                return -EIO;
        if (user)
                sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct session x = {
                        .id = sqlite3_column_int64(st, 0),
                        .user = text(st, 1),
                        .service = text(st, 2),
                        .tty = text(st, 3),
                        .rhost = text(st, 4),
                        .logind = text(st, 5),
                        .pid = (pid_t) sqlite3_column_int64(st, 6),
                        .pid_start = (uint64_t) sqlite3_column_int64(st, 7),
                        .started = sqlite3_column_int64(st, 8),
                        .last_active = sqlite3_column_int64(st, 9),
                };
                r = cb(&x, userdata);
                if (r)
                        break;
        }
        if (!r)
                r = store_errno(rc);
        sqlite3_reset(st);
        return r;
}

int sessions_set_logind(struct store *s, int64_t id, const char *logind) {
        sqlite3_stmt *st = store_stmt(s, "UPDATE sessions SET logind = ? WHERE id = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, logind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, id);
        return store_exec_stmt(st);
}

int sessions_touch(struct store *s, int64_t id, int64_t now) {
        sqlite3_stmt *st = store_stmt(s, "UPDATE sessions SET last_active = max(last_active, ?) WHERE id = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, id);
        return store_exec_stmt(st);
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

/* The process that opened a session is gone without pam_close_session
 * (killed, crashed, a host without a session line that closes): the
 * session is over.  Checked on a timer and before every list. */
int sessions_reconcile(struct daemon *d, int64_t now) {
        struct gone g;
        do {
                g = (struct gone){ .n = 0 };
                int r = sessions_foreach_active(&d->store, NULL, collect_gone, &g);
                if (r < 0)
                        return r;
                if (g.n == 0)
                        return 0;
                r = store_begin(&d->store);
                if (r < 0)
                        return r;
                struct session ended[RECONCILE_BATCH];
                struct event ev[RECONCILE_BATCH];
                char detail[RECONCILE_BATCH][64];
                size_t n = 0;
                for (size_t i = 0; i < g.n && r >= 0; i++) {
                        int64_t id = g.ids[i];
                        memset(&ended[n], 0, sizeof(ended[n]));
                        /* user "" never matches: look the row up by id alone */
                        r = sessions_end(&d->store, &id, NULL, 0, 0, now, SESSION_REASON_GONE, &ended[n]);
                        if (r == 1) {
                                snprintf(detail[n], sizeof(detail[n]), "session %lld: %s", (long long) id,
                                         SESSION_REASON_GONE);
                                ev[n] = (struct event){ .type = EV_SESSION_CLOSED, .user = ended[n].user,
                                                        .service = ended[n].service, .rhost = ended[n].rhost,
                                                        .tty = ended[n].tty, .detail = detail[n] };
                                n++;
                        }
                }
                if (r >= 0)
                        r = seclog_commit(&d->store, now, ev, n);
                else
                        store_rollback(&d->store);
                for (size_t i = 0; i < n; i++)
                        session_free(&ended[i]);
                if (r < 0)
                        return r;
        } while (g.more);
        return 0;
}

int sessions_purge(struct store *s, int64_t now, unsigned days) {
        if (days == 0)
                return 0;
        sqlite3_stmt *st = store_stmt(s, "DELETE FROM sessions WHERE ended != 0 AND ended < ?");
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now - (int64_t) days * 86400);
        return store_exec_stmt(st);
}
