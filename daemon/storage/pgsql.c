/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PostgreSQL engine (store = postgresql): many hosts share one database.
 * The only file that calls PQ*.  One connection, driven asynchronously: a
 * statement is sent, and the fiber that runs the request (core/worker.h)
 * waits on the connection's socket while the event loop goes on.  Every
 * wait has a deadline (postgresql_timeout from the first statement of a
 * unit of work); a deadline that passes drops the connection, so a hung
 * server can never leave a request half-answered, and the request fails
 * (the module then denies: fail closed).
 *
 * The connection is made on first use and after every failure, with
 * backoff: while it is down, requests fail at once instead of queueing.
 * Host names in the connection string are resolved by libpq synchronously:
 * give addresses (hostaddr=) or a socket directory (doc/fleet.md).
 *
 * Statements and the schema are in pgsql_sql.c.  Times are the database's
 * clock (store_now): hosts sharing it agree on expiry, windows and steps.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <libpq-fe.h>

#include "fiber.h"
#include "log.h"
#include "macro.h"
#include "pgsql_sql.h"
#include "secret.h"
#include "store.h"

#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define PARAMS_MAX 16
#define BACKOFF_MIN_USEC (100 * 1000ULL)
#define BACKOFF_MAX_USEC (5 * 1000000ULL)
#define PGSQL_CHANNEL "acctsec_hosts" /* NOTIFY's payload: the host asked to act */
#define SCHEMA_LOCK "1633907827" /* "acts": the advisory lock migrations hold */

struct pg {
        PGconn *conn; /* NULL: down */
        sd_event *event;
        sd_event_source *io;     /* the connection's socket, watched while it is up */
        sd_event_source *retry;  /* down: the next attempt, without waiting for a request */
        struct fiber *waiter;    /* the unit waiting on the socket */
        void (*wake)(void *ud);  /* store_options: run a unit (notifications, reconnection) */
        void *wake_ud;
        char conninfo[1024];
        char host_id[64];
        char key_id[32];
        char prev_key_id[32]; /* a rotation: the key being replaced */
        char key_path[256];
        uint64_t timeout_usec;
        uint64_t retry_at;       /* down: no new attempt before this (CLOCK_MONOTONIC) */
        uint64_t backoff_usec;
        uint64_t unit;           /* the fiber (fiber_self_id) whose deadline is running */
        uint64_t deadline;
        bool fatal;              /* a schema newer than ours: nothing will work */
        bool said_down;          /* the outage is logged once */
};

struct pgrows {
        PGresult *res;
        int row;
        unsigned char *blob; /* the last bytea decoded */
};

static struct pg *pg(const struct store *s) {
        return s->impl;
}

/* Each unit of work (a request, a completion, a maintenance job) has the
 * same budget from its first statement.  A unit runs on a fiber of its own:
 * told apart by number, not by address, which the next unit's fiber
 * usually reuses (the budget would then run on from the first request). */
static uint64_t deadline(struct pg *p) {
        uint64_t f = fiber_self_id();
        if (f != p->unit) {
                p->unit = f;
                p->deadline = fiber_clock() + p->timeout_usec;
        }
        return p->deadline;
}

static const char *conn_error(struct pg *p);

static int on_retry(sd_event_source *src, uint64_t usec, void *userdata) {
        struct pg *p = userdata;
        if (p->wake) /* a unit that touches the store connects again */
                p->wake(p->wake_ud);
        return 0;
}

/* No new attempt for a while: 0.1 s after the first failure, doubling up to
 * 5 s; then one is made even if no request comes (notifications, and the
 * scan that follows every connection, must not wait for a login). */
static void backoff(struct pg *p) {
        p->backoff_usec = p->backoff_usec ? p->backoff_usec * 2 : BACKOFF_MIN_USEC;
        if (p->backoff_usec > BACKOFF_MAX_USEC)
                p->backoff_usec = BACKOFF_MAX_USEC;
        p->retry_at = fiber_clock() + p->backoff_usec;
        if (!p->event || p->fatal)
                return;
        if (!p->retry)
                (void) sd_event_add_time(p->event, &p->retry, CLOCK_MONOTONIC, p->retry_at, 0, on_retry, p);
        else {
                (void) sd_event_source_set_time(p->retry, p->retry_at);
                (void) sd_event_source_set_enabled(p->retry, SD_EVENT_ONESHOT);
        }
}

static void close_conn(struct pg *p) {
        p->io = sd_event_source_disable_unref(p->io);
        PQfinish(p->conn);
        p->conn = NULL;
        if (p->waiter) /* it finds the connection gone */
                fiber_wake(p->waiter);
}

static void drop(struct pg *p, const char *why) {
        if (p->conn) {
                log_warning("postgresql: %s; the connection is dropped (requests fail until it is back)", why);
                close_conn(p);
                p->said_down = true;
        }
        backoff(p);
}

/* This host's notifications: a session here to end (SESSION_REQUEST_END). */
static void take_notifies(struct pg *p) {
        PGnotify *n;
        bool mine = false;
        while ((n = PQnotifies(p->conn))) {
                mine |= strcmp(n->extra, p->host_id) == 0;
                PQfreemem(n);
        }
        if (mine && p->wake)
                p->wake(p->wake_ud);
}

/* The socket while the connection is up: a waiting unit is woken; with
 * none, what came is a notification, or the server closing. */
static int on_socket(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        struct pg *p = userdata;
        if (p->waiter) {
                sd_event_source_set_enabled(src, SD_EVENT_OFF);
                fiber_wake(p->waiter);
                return 0;
        }
        if (!PQconsumeInput(p->conn)) {
                drop(p, conn_error(p));
                return 0;
        }
        take_notifies(p);
        return 0;
}

/* Wait for the socket (events) or the unit's deadline: 1 ready, 0 the
 * deadline passed, <0 the connection went meanwhile. */
static int wait_socket(struct pg *p, uint32_t events) {
        p->waiter = fiber_self();
        (void) sd_event_source_set_io_events(p->io, events);
        (void) sd_event_source_set_enabled(p->io, SD_EVENT_ON);
        int r = fiber_wait(deadline(p));
        p->waiter = NULL;
        if (!p->conn)
                return -ECONNRESET;
        (void) sd_event_source_set_io_events(p->io, EPOLLIN);
        (void) sd_event_source_set_enabled(p->io, SD_EVENT_ON);
        return r;
}

/* libpq's last error on one line, for the log (its messages span lines). */
static const char *conn_error(struct pg *p) {
        static char buf[512];
        const char *m = p->conn ? PQerrorMessage(p->conn) : "no connection";
        size_t n = 0;
        for (; m && *m && n < sizeof(buf) - 1; m++)
                if (!(*m == '\n' || *m == '\t' || *m == ' ') || (n > 0 && buf[n - 1] != ' '))
                        buf[n++] = *m == '\n' || *m == '\t' ? ' ' : *m;
        while (n > 0 && buf[n - 1] == ' ')
                n--;
        buf[n] = '\0';
        return n ? buf : "unknown error";
}

/* Send what libpq buffered, then wait for the whole result: 0, or <0 with
 * the connection dropped (the deadline passed, or it broke). */
static int await_result(struct pg *p) {
        int r, w;
        while ((r = PQflush(p->conn)) == 1)
                if ((w = wait_socket(p, EPOLLIN | EPOLLOUT)) <= 0)
                        return w < 0 ? w : (drop(p, "no answer within postgresql_timeout"), -ETIMEDOUT);
        if (r < 0)
                return drop(p, conn_error(p)), -ECONNRESET;
        while (PQisBusy(p->conn)) {
                if ((w = wait_socket(p, EPOLLIN)) <= 0)
                        return w < 0 ? w : (drop(p, "no answer within postgresql_timeout"), -ETIMEDOUT);
                if (!PQconsumeInput(p->conn))
                        return drop(p, conn_error(p)), -ECONNRESET;
        }
        take_notifies(p);
        return 0;
}

/* SQLSTATE classes to errno: what the caller reports ("database error"). */
static int sqlstate_errno(const char *st) {
        if (!st)
                return -EIO;
        if (strncmp(st, "23", 2) == 0)
                return -EINVAL; /* integrity constraint */
        if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strcmp(st, "55P03") == 0)
                return -EBUSY; /* serialization failure, deadlock, lock not available */
        if (strcmp(st, "57014") == 0)
                return -ETIMEDOUT; /* statement_timeout */
        if (strcmp(st, "53100") == 0)
                return -ENOSPC;
        if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0)
                return -ECONNRESET; /* connection exception; the server shuts down or restarts */
        if (strcmp(st, "42501") == 0)
                return -EACCES; /* insufficient privilege: the role's grants (doc/fleet.md) */
        return -EIO;
}

/* The one result of what was sent; NULL with *ret set on failure. */
static PGresult *take_result(struct store *s, const char *what, int *ret) {
        struct pg *p = pg(s);
        int r = await_result(p);
        if (r < 0)
                return *ret = r, NULL;
        PGresult *res = PQgetResult(p->conn), *more;
        /* Drain to be ready for the next query, waiting (never blocking) for
         * what has not arrived.  A query string of two statements (pq_commit)
         * yields the last one's result, or the first failure. */
        for (;;) {
                if ((r = await_result(p)) < 0) {
                        PQclear(res);
                        return *ret = r, NULL;
                }
                if (!(more = PQgetResult(p->conn)))
                        break;
                ExecStatusType was = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
                if (was == PGRES_COMMAND_OK || was == PGRES_TUPLES_OK) {
                        PQclear(res);
                        res = more;
                } else
                        PQclear(more);
        }
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
                return *ret = 0, res;
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        log_error("postgresql: %s: %s", what, res ? PQresultErrorMessage(res) : conn_error(p));
        *ret = sqlstate_errno(state);
        PQclear(res);
        if (PQstatus(p->conn) != CONNECTION_OK) {
                drop(p, "the connection broke");
                *ret = -ECONNRESET;
        }
        return NULL;
}

static int connect_poll(struct pg *p) {
        PostgresPollingStatusType st = PGRES_POLLING_WRITING;
        while (st != PGRES_POLLING_OK) {
                if (st == PGRES_POLLING_FAILED)
                        return -ECONNREFUSED;
                int w = fiber_wait_fd(PQsocket(p->conn), st == PGRES_POLLING_READING ? EPOLLIN : EPOLLOUT,
                                      deadline(p));
                if (w <= 0)
                        return w == 0 ? -ETIMEDOUT : w;
                st = PQconnectPoll(p->conn);
        }
        if (PQsetnonblocking(p->conn, 1) < 0)
                return -EIO;
        return sd_event_add_io(p->event, &p->io, PQsocket(p->conn), EPOLLIN, on_socket, p);
}

/* The session's settings: this host's name (the default of every host
 * column) and the server-side timeouts that match ours. */
static int session_setup(struct store *s) {
        struct pg *p = pg(s);
        char ms[32];
        snprintf(ms, sizeof(ms), "%" PRIu64, p->timeout_usec / 1000);
        const char *v[] = { p->host_id, ms, p->key_id };
        int r;
        if (!PQsendQueryParams(p->conn,
                               "SELECT set_config('acctsec.host_id', $1, false),"
                               " set_config('acctsec.key_id', $3, false),"
                               " set_config('statement_timeout', $2, false),"
                               " set_config('lock_timeout', $2, false),"
                               " set_config('idle_in_transaction_session_timeout', $2, false)",
                               3, NULL, v, NULL, NULL, 0))
                return drop(p, conn_error(p)), -ECONNRESET;
        PQclear(take_result(s, "session settings", &r));
        return r;
}

static int run_simple(struct store *s, const char *sql, const char *what) {
        int r;
        if (!PQsendQuery(pg(s)->conn, sql))
                return drop(pg(s), conn_error(pg(s))), -ECONNRESET;
        PQclear(take_result(s, what, &r));
        return r;
}

/* The first value of a one-row query's result, or "" (no row, NULL). */
static int query_value(struct store *s, const char *sql, const char *what, char *buf, size_t n) {
        int r;
        buf[0] = '\0';
        if (!PQsendQuery(pg(s)->conn, sql))
                return drop(pg(s), conn_error(pg(s))), -ECONNRESET;
        PGresult *res = take_result(s, what, &r);
        if (res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
                snprintf(buf, n, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return r;
}

/* 0 for an empty database. */
static int schema_version_found(struct store *s, int *ret) {
        char v[32];
        int r = query_value(s, "SELECT to_regclass('acctsec_meta') IS NOT NULL", "looking for the schema", v,
                            sizeof(v));
        if (r == 0 && strcmp(v, "t") == 0)
                r = query_value(s, "SELECT value FROM acctsec_meta WHERE key = 'schema_version'",
                                "reading the schema version", v, sizeof(v));
        *ret = r == 0 && v[0] != 'f' ? atoi(v) : 0;
        return r;
}

static int migrate_steps(struct store *s, int from) {
        char set[160];
        for (size_t v = (size_t) from; v < pgsql_migrations_count; v++) {
                int r = run_simple(s, pgsql_migrations[v], "a schema migration");
                if (r < 0)
                        return r;
                snprintf(set, sizeof(set),
                         "INSERT INTO acctsec_meta (key, value) VALUES ('schema_version', '%zu')"
                         " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         v + 1);
                if ((r = run_simple(s, set, "recording the schema version")) < 0)
                        return r;
        }
        return 0;
}

/* One host migrates at a time (an advisory lock), each step once. */
static int migrate(struct store *s) {
        struct pg *p = pg(s);
        int v = 0;
        int r = run_simple(s, "BEGIN", "BEGIN");
        if (r == 0)
                r = run_simple(s, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")", "the schema lock");
        if (r == 0)
                r = schema_version_found(s, &v);
        if (r == 0 && v > (int) pgsql_migrations_count) {
                log_error("postgresql: the fleet's schema is version %d, newer than this acctsecd knows (%zu):"
                          " upgrade acctsec on this host", v, pgsql_migrations_count);
                s->fatal = "the fleet's schema is newer than this acctsecd: upgrade acctsec on this host";
                p->fatal = true;
                r = -EPROTO;
        }
        if (r == 0 && v < (int) pgsql_migrations_count) {
                log_info("postgresql: migrating the schema from version %d to %zu", v, pgsql_migrations_count);
                r = migrate_steps(s, v);
        }
        if (p->conn)
                (void) run_simple(s, r == 0 ? "COMMIT" : "ROLLBACK", "the migration's end");
        return r;
}

/* The first host records the fleet key's id; every host must hold that key
 * (the key itself is never in the database).  A host with another key
 * could neither open the fleet's secrets nor check its codes: it refuses
 * everything, and says why. */
static int check_key(struct store *s) {
        struct pg *p = pg(s);
        static char why[512];
        char fleet[32];
        const char *v[] = { p->key_id };
        int r;
        if (!PQsendQueryParams(p->conn,
                               "INSERT INTO acctsec_meta (key, value) VALUES ('fleet_key_id', $1)"
                               " ON CONFLICT (key) DO NOTHING",
                               1, NULL, v, NULL, NULL, 0))
                return drop(p, conn_error(p)), -ECONNRESET;
        PQclear(take_result(s, "recording the fleet key's id", &r));
        if (r == 0)
                r = query_value(s, "SELECT value FROM acctsec_meta WHERE key = 'fleet_key_id'",
                                "reading the fleet key's id", fleet, sizeof(fleet));
        if (r < 0 || strcmp(fleet, p->key_id) == 0)
                return r;
        if (p->prev_key_id[0] && strcmp(fleet, p->prev_key_id) == 0) {
                log_notice("postgresql: the fleet still records the previous key (id %s): a rotation to %s (id %s)"
                           " is pending: acctsec fleet key rotate", fleet, p->key_path, p->key_id);
                return 0;
        }
        snprintf(why, sizeof(why),
                 "the fleet key %s (id %s) is not the fleet's (id %s): copy the fleet's key file to this host",
                 p->key_path, p->key_id, fleet);
        log_error("postgresql: %s; every request is refused", why);
        s->fatal = why;
        p->fatal = true;
        return -EKEYREJECTED;
}

static int try_connect(struct store *s) {
        struct pg *p = pg(s);
        /* Ours first: the admin's string (dbname, expanded) overrides them. */
        const char *const keys[] = { "application_name", "tcp_user_timeout", "keepalives_idle", "dbname", NULL };
        char tcp_ms[32];
        snprintf(tcp_ms, sizeof(tcp_ms), "%" PRIu64, p->timeout_usec / 1000);
        const char *const vals[] = { "acctsecd", tcp_ms, "10", p->conninfo, NULL };
        p->conn = PQconnectStartParams(keys, vals, 1);
        if (!p->conn)
                return -ENOMEM;
        int r = PQstatus(p->conn) == CONNECTION_BAD ? -EINVAL : connect_poll(p);
        if (r < 0 && p->conn) {
                if (!p->said_down) /* once per outage: it is tried again every few seconds */
                        log_warning("postgresql: cannot connect: %s",
                                    r == -ETIMEDOUT ? "no answer within postgresql_timeout" : conn_error(p));
                close_conn(p);
                backoff(p);
                return r;
        }
        if (r == 0)
                r = session_setup(s);
        if (r == 0)
                r = migrate(s);
        if (r == 0)
                r = check_key(s);
        if (r == 0)
                r = run_simple(s, "LISTEN " PGSQL_CHANNEL, "LISTEN");
        if (r < 0 && p->conn)
                drop(p, "setting the connection up failed");
        else if (r == 0 && p->wake) /* what was asked of this host while it was away */
                p->wake(p->wake_ud);
        return r;
}

/* A connection ready for a statement: 0, or <0 (down; fail at once). */
static int ready(struct store *s) {
        struct pg *p = pg(s);
        if (p->conn)
                return 0;
        if (p->fatal)
                return -EPROTO;
        if (!fiber_self()) {
                log_error("internal error: a PostgreSQL statement outside a unit of work");
                return -EINVAL;
        }
        p->event = fiber_event();
        if (fiber_clock() < p->retry_at)
                return -EHOSTDOWN;
        int r = try_connect(s);
        if (r < 0) {
                if (!p->said_down)
                        log_error("postgresql: the database is unavailable (%s); logins are denied until it is back",
                                  strerror(-r));
                p->said_down = true;
                return -EHOSTDOWN;
        }
        if (p->said_down)
                log_info("postgresql: connected again");
        p->said_down = false;
        p->backoff_usec = 0;
        return 0;
}

static int send_query(struct store *s, const char *sql, const struct store_arg *args, size_t n) {
        const char *values[PARAMS_MAX];
        int lengths[PARAMS_MAX], formats[PARAMS_MAX];
        unsigned types[PARAMS_MAX];
        char nums[PARAMS_MAX][24];
        if (n > PARAMS_MAX || !sql)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                const struct store_arg *a = &args[i];
                formats[i] = a->type == STORE_ARG_BLOB;
                lengths[i] = a->type == STORE_ARG_BLOB ? (int) a->n : 0;
                types[i] = a->type == STORE_ARG_INT ? OID_INT8 : a->type == STORE_ARG_TEXT ? OID_TEXT
                         : a->type == STORE_ARG_BLOB ? OID_BYTEA : 0;
                if (a->type == STORE_ARG_INT)
                        snprintf(nums[i], sizeof(nums[i]), "%" PRId64, a->i);
                values[i] = a->type == STORE_ARG_INT ? nums[i] : a->type == STORE_ARG_NULL ? NULL : a->p;
        }
        if (!PQsendQueryParams(pg(s)->conn, sql, (int) n, types, values, lengths, formats, 0))
                return drop(pg(s), conn_error(pg(s))), -ECONNRESET;
        return 0;
}

/* What the engine answers the store for "the database is away": a deadline
 * passed (ours, or the server's statement_timeout), the connection broke,
 * or none could be made.  One errno, EHOSTDOWN, that the dispatcher turns
 * into "database unavailable" and the module treats like an unreachable
 * daemon (failmode); every other error is the database's own answer. */
static int away(int r) {
        return r == -ETIMEDOUT || r == -ECONNRESET || r == -ECONNREFUSED ? -EHOSTDOWN : r;
}

/* One statement, and its result.  A connection found broken while nothing
 * was open on it (no transaction: the server restarted or failed over since
 * the last request) is made again at once and the statement sent once more;
 * inside a transaction nothing is retried (a COMMIT least of all). */
static PGresult *roundtrip(struct store *s, const char *sql, const struct store_arg *args, size_t n,
                           const char *what, int *ret) {
        struct pg *p = pg(s);
        for (int attempt = 0;; attempt++) {
                int r = ready(s);
                if (r < 0)
                        return *ret = r, NULL;
                bool idle = PQtransactionStatus(p->conn) == PQTRANS_IDLE;
                r = send_query(s, sql, args, n);
                PGresult *res = r < 0 ? NULL : take_result(s, what, &r);
                if (res || attempt > 0 || !idle || p->conn || r == -ETIMEDOUT)
                        return *ret = away(r), res;
                p->retry_at = 0;
                p->backoff_usec = 0;
        }
}

static PGresult *query(struct store *s, enum store_query q, const struct store_arg *args, size_t n, int *ret) {
        return roundtrip(s, pgsql_sql[q], args, n, store_query_name(q), ret);
}

static int pq_select(struct store *s, enum store_query q, const struct store_arg *args, size_t n,
                     struct store_rows *ret) {
        int r;
        PGresult *res = query(s, q, args, n, &r);
        if (!res)
                return r;
        struct pgrows *rows = calloc(1, sizeof(*rows));
        if (!rows) {
                PQclear(res);
                return -ENOMEM;
        }
        *rows = (struct pgrows){ .res = res, .row = -1 };
        ret->impl = rows;
        return 0;
}

static int pq_next(struct store_rows *rows) {
        struct pgrows *r = rows->impl;
        return ++r->row < PQntuples(r->res) ? 1 : 0;
}

static bool pq_is_null(const struct store_rows *rows, int col) {
        const struct pgrows *r = rows->impl;
        return PQgetisnull(r->res, r->row, col);
}

static int64_t pq_int(const struct store_rows *rows, int col) {
        const struct pgrows *r = rows->impl;
        return PQgetisnull(r->res, r->row, col) ? 0 : strtoll(PQgetvalue(r->res, r->row, col), NULL, 10);
}

static const char *pq_text(const struct store_rows *rows, int col) {
        const struct pgrows *r = rows->impl;
        return PQgetisnull(r->res, r->row, col) ? NULL : PQgetvalue(r->res, r->row, col);
}

/* bytea comes as text ("\x..."); the decoded copy lives until the next call. */
static const void *pq_blob(const struct store_rows *rows, int col, size_t *len) {
        struct pgrows *r = rows->impl;
        PQfreemem(r->blob);
        r->blob = NULL;
        *len = 0;
        if (PQgetisnull(r->res, r->row, col))
                return NULL;
        r->blob = PQunescapeBytea((const unsigned char *) PQgetvalue(r->res, r->row, col), len);
        return r->blob;
}

static void pq_end(struct store_rows *rows) {
        struct pgrows *r = rows->impl;
        PQfreemem(r->blob);
        PQclear(r->res);
        free(r);
}

static int pq_exec(struct store *s, enum store_query q, const struct store_arg *args, size_t n) {
        int r;
        PGresult *res = query(s, q, args, n, &r);
        if (!res)
                return r;
        r = atoi(PQcmdTuples(res));
        PQclear(res);
        return r;
}

static int command(struct store *s, const char *sql) {
        int r;
        PQclear(roundtrip(s, sql, NULL, 0, sql, &r));
        return r;
}

static int pq_begin(struct store *s) {
        return command(s, "BEGIN");
}

/* A COMMIT whose answer never came may or may not have happened: it is an
 * error (the reply never says "done" of what may not be). */
static void pq_rollback(struct store *s);

static int pq_commit(struct store *s) {
        struct pg *p = pg(s);
        if (!p->conn)
                return -EHOSTDOWN;
        int r;
        /* Durability by meaning: log appends alone are not waited for (the
         * server's WAL writer flushes them within 3 x wal_writer_delay, a
         * later synchronous commit with them). */
        const char *sql = s->defer_log && !s->txn_state ? "SET LOCAL synchronous_commit TO off; COMMIT" : "COMMIT";
        if (!PQsendQuery(p->conn, sql))
                return drop(p, conn_error(p)), -EHOSTDOWN;
        PGresult *res = take_result(s, "COMMIT", &r);
        r = away(r);
        if (res && strcmp(PQcmdStatus(res), "COMMIT") != 0)
                r = -EIO; /* "ROLLBACK": the transaction had failed */
        PQclear(res);
        if (r == 0)
                s->commits++;
        else /* the SET before COMMIT failed: the transaction is still open (aborted) */
                pq_rollback(s);
        return r;
}

static void pq_rollback(struct store *s) {
        struct pg *p = pg(s);
        if (p->conn && PQtransactionStatus(p->conn) != PQTRANS_IDLE)
                (void) run_simple(s, "ROLLBACK", "ROLLBACK");
}

static int pq_batch_commit(struct store *s) {
        return 0; /* no batching: PostgreSQL groups commits from many sessions itself */
}

/* The database's clock; on failure the host's, and the unit's storage
 * error makes its transaction roll back and its reply an error. */
static int64_t pq_now(struct store *s) {
        int r;
        PGresult *res = roundtrip(s, "SELECT floor(extract(epoch FROM clock_timestamp()))::bigint", NULL, 0,
                                  "reading the clock", &r);
        int64_t now = res && PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : (int64_t) time(NULL);
        if (!res && s->armed && !s->txn_error)
                s->txn_error = r < 0 ? r : -EIO;
        PQclear(res);
        return now;
}

static int pq_schema_version(void) {
        return (int) pgsql_migrations_count;
}

static int pq_open(struct store *s, const char *state_dir, const char **why) {
        const struct store_options *o = s->options;
        if (!o || !o->conninfo || !o->conninfo[0])
                return *why = "store = postgresql needs a postgresql = connection string", -EINVAL;
        struct pg *p = calloc(1, sizeof(*p));
        if (!p)
                return *why = "out of memory", -ENOMEM;
        snprintf(p->conninfo, sizeof(p->conninfo), "%s", o->conninfo);
        snprintf(p->host_id, sizeof(p->host_id), "%s", o->host_id);
        snprintf(p->key_id, sizeof(p->key_id), "%s", o->key_id ? o->key_id : "");
        snprintf(p->prev_key_id, sizeof(p->prev_key_id), "%s", o->prev_key_id ? o->prev_key_id : "");
        snprintf(p->key_path, sizeof(p->key_path), "%s", o->key_path ? o->key_path : "the fleet key");
        p->timeout_usec = o->timeout_usec;
        p->wake = o->wake;
        p->wake_ud = o->wake_ud;
        s->impl = p;
        return 0;
}

static void pq_close(struct store *s) {
        struct pg *p = pg(s);
        if (!p)
                return;
        if (p->conn)
                close_conn(p);
        sd_event_source_disable_unref(p->retry);
        acctsec_wipe(p->conninfo, sizeof(p->conninfo)); /* it may hold a password */
        free(p);
        s->impl = NULL;
}

const struct store_engine store_pgsql = {
        .name = "postgresql",
        .waits = true,
        .open = pq_open,
        .close = pq_close,
        .begin = pq_begin,
        .commit = pq_commit,
        .rollback = pq_rollback,
        .batch_commit = pq_batch_commit,
        .select = pq_select,
        .next = pq_next,
        .is_null = pq_is_null,
        .col_int = pq_int,
        .col_text = pq_text,
        .col_blob = pq_blob,
        .end = pq_end,
        .exec = pq_exec,
        .now = pq_now,
        .schema_version = pq_schema_version,
};
