/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The storage interface.  Domain code (lockout, mfa, tokens, ...) names an
 * operation from the catalogue (store_queries.h) and passes its arguments;
 * the engine (storage/sqlite.c today) holds the SQL of every operation and is
 * the only file that talks to the database library.  A second engine is one
 * more file that fills a struct store_engine.
 *
 * Transactions belong to the dispatcher, not to domain code: the dispatcher
 * arms one per request (store_request_begin), the first write opens it, and
 * store_request_end() commits or rolls it back.  Reads before the first
 * write run outside it, so domain code never relies on a read and a later
 * write sharing one lock: a write that depends on what was read says so in
 * its WHERE clause (compare and swap) and is retried when it changed nothing.
 *
 * Every operation has a kind: a read, a write that changes security state
 * (a counter, a single-use consumption, an enrolment, a disable, a token...)
 * or a write that only appends to the log.  The transaction records which
 * kinds it saw (struct store.txn_state), so durability can follow meaning.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_queries.h"

#define STORE_DB_NAME "acctsec.db"
#define STORE_MARK_NAME "acctsec.db.clean-stop" /* see storage/sqlite.c: the clean-stop mark */

enum store_kind {
        STORE_READ,  /* reads only */
        STORE_STATE, /* changes security state: durable before the reply */
        STORE_LOG,   /* appends to the security log (or other history) only */
};

enum store_query {
#define STORE_Q_ENUM(name, kind) Q_##name,
        STORE_QUERIES(STORE_Q_ENUM)
#undef STORE_Q_ENUM
                _Q_MAX
};

enum store_arg_type { STORE_ARG_NULL, STORE_ARG_INT, STORE_ARG_TEXT, STORE_ARG_BLOB };
struct store_arg {
        enum store_arg_type type;
        int64_t i;
        const void *p; /* TEXT (NUL-terminated) or BLOB */
        size_t n;      /* BLOB length */
};
#define A_INT(v) { .type = STORE_ARG_INT, .i = (int64_t) (v) }
#define A_TEXT(v) { .type = (v) ? STORE_ARG_TEXT : STORE_ARG_NULL, .p = (v) }
#define A_BLOB(v, len) { .type = STORE_ARG_BLOB, .p = (v), .n = (len) }
/* store_exec(s, Q_X, STORE_ARGS(A_TEXT(user), A_INT(now))) */
#define STORE_ARGS(...)                                                                                          \
        (const struct store_arg[]){ __VA_ARGS__ },                                                               \
                (sizeof((const struct store_arg[]){ __VA_ARGS__ }) / sizeof(struct store_arg))
#define STORE_NO_ARGS NULL, 0

/* The rows of a select, read one at a time: always end with store_rows_end(). */
struct store_rows {
        struct store *s;
        void *impl;
        int64_t row;
};

struct store;
struct store_engine {
        const char *name;
        bool waits; /* its calls wait on the network: they run on fibers (core/worker.h) */
        int (*open)(struct store *s, const char *state_dir, const char **why);
        void (*close)(struct store *s);
        int (*begin)(struct store *s);
        int (*commit)(struct store *s);
        void (*rollback)(struct store *s);
        int (*batch_commit)(struct store *s);
        /* What was committed so far, durable (defer_log). */
        int (*sync)(struct store *s);
        int (*select)(struct store *s, enum store_query q, const struct store_arg *args, size_t n,
                      struct store_rows *ret);
        int (*next)(struct store_rows *rows);
        bool (*is_null)(const struct store_rows *rows, int col);
        int64_t (*col_int)(const struct store_rows *rows, int col);
        const char *(*col_text)(const struct store_rows *rows, int col);
        const void *(*col_blob)(const struct store_rows *rows, int col, size_t *len);
        void (*end)(struct store_rows *rows);
        int (*exec)(struct store *s, enum store_query q, const struct store_arg *args, size_t n);
        int64_t (*now)(struct store *s);
        int (*schema_version)(void);
};
extern const struct store_engine store_sqlite;
extern const struct store_engine store_pgsql;

/* What store_open_with() needs beyond the state directory. */
struct store_options {
        bool postgresql;        /* store = postgresql */
        const char *conninfo;   /* postgresql = */
        const char *host_id;    /* this host's name in the fleet */
        uint64_t timeout_usec;  /* postgresql_timeout: a unit of work's budget */
        const char *key_id;     /* the fleet key's id (keyfile_id), checked against the fleet's */
        const char *prev_key_id; /* fleet_key_previous's id ("": none): also the fleet's, until a rotation */
        const char *key_path;   /* for messages */
        /* The engine asks for a unit of work (from the loop's stack): this
         * host was notified, or it connected again (what was asked of it
         * meanwhile), or a connection is due again. */
        void (*wake)(void *ud);
        void *wake_ud;
};

struct store {
        const struct store_engine *engine;
        void *impl;               /* the engine's connection */
        const struct store_options *options; /* as given to store_open_with() */
        const char *fatal; /* set by the engine when nothing can work (a wrong key): why */
        char state_dir[4096];     /* set once open */
        bool quick_check_skipped; /* sqlite: the file was as a clean stop in this boot left it */
        /* Group commit (doc/design.md): with batching on, the first write of
         * a request opens one outer transaction and every request's is a
         * savepoint inside it; store_batch_commit() makes them all durable at
         * once. */
        bool batching;
        bool batch_open;   /* the outer transaction is open */
        bool batch_failed; /* the engine rolled it back on an error: it cannot commit */
        bool in_txn;       /* a request's transaction is open */
        bool armed;        /* a request is running: its first write opens its transaction */
        bool txn_state;    /* the open transaction changed security state */
        /* Durability by meaning (doc/design.md): with defer_log set, a
         * commit that only appended to the log is not waited for on disk;
         * the next commit that changes security state, or store_sync(),
         * makes it durable (unsynced says one waits).  Without it every
         * commit is durable before the reply. */
        bool defer_log;
        bool batch_state; /* the open batch holds a change of security state */
        bool unsynced;    /* log appends were committed and are not yet on disk */
        int txn_error;     /* the first storage error of the request: its end rolls back */
        void (*on_batch_open)(void *userdata);
        void *batch_userdata;
        uint64_t transactions; /* request transactions that committed */
        uint64_t commits;      /* durable commits (fewer than transactions when batched) */
        uint64_t deferred;     /* of those, log appends only: synced later (defer_log) */
        uint64_t late_syncs;   /* store_sync() calls that made deferred commits durable */
};

/* Open (creating if needed) the store in a state directory that must be
 * ours and private: pragmas, migrations, a check.  On error, *ret_why says
 * what is wrong for the log. */
int store_open(struct store *s, const char *state_dir, const char **ret_why);
/* The same with the engine the options name (SQLite when o is NULL).  A
 * PostgreSQL store connects on first use, from a fiber. */
int store_open_with(struct store *s, const char *state_dir, const struct store_options *o, const char **ret_why);
/* Make every commit so far durable (log appends deferred by defer_log):
 * from a timer within log_sync_delay, and before a clean stop. */
int store_sync(struct store *s);
/* Whether the store's calls must run on fibers (core/worker.h). */
bool store_waits(const struct store *s);
void store_close(struct store *s);
int store_schema_version(void);
/* The name of a query (for logs and tests) and its kind. */
const char *store_query_name(enum store_query q);
enum store_kind store_query_kind(enum store_query q);

/* The database's clock (unix time): expiry, lock windows and TOTP steps are
 * decided by it, so that hosts sharing one database agree. */
int64_t store_now(struct store *s);

/* Run a query that returns rows; then store_next() until it returns 0 (no
 * more) or <0 (an error), and store_rows_end() in every case. */
int store_select(struct store *s, enum store_query q, const struct store_arg *args, size_t n,
                 struct store_rows *ret);
int store_next(struct store_rows *rows);
bool store_is_null(const struct store_rows *rows, int col);
int64_t store_int(const struct store_rows *rows, int col);
const char *store_text(const struct store_rows *rows, int col); /* "" for NULL */
const void *store_blob(const struct store_rows *rows, int col, size_t *len);
void store_rows_end(struct store_rows *rows);
/* The first row only: 1 found (*ret filled by fn), 0 none, <0 error. */
int store_get(struct store *s, enum store_query q, const struct store_arg *args, size_t n,
              void (*fn)(const struct store_rows *row, void *ud), void *ud);
/* One integer (the first column of the first row): 1 found, 0 no row, <0 error. */
int store_get_int(struct store *s, enum store_query q, const struct store_arg *args, size_t n, int64_t *ret);
/* A query that returns no rows: the number of rows it changed, or <0. */
int store_exec(struct store *s, enum store_query q, const struct store_arg *args, size_t n);

/* For the dispatcher (and the event loop's own jobs) only.  A request is
 * armed; its first write begins its transaction; the end commits it (0, or
 * <0 and rolled back) or rolls it back.  Returns whether a transaction had
 * begun in *ret_began. */
void store_request_begin(struct store *s);
int store_request_end(struct store *s, bool commit, bool *ret_began);
/* Commit what the request wrote so far (before a deferred reply starts a
 * child): 0 or <0 (rolled back); the request stays armed. */
int store_request_commit(struct store *s);
/* COMMIT the open batch (nothing to do: 0).  On failure everything in it
 * is rolled back.  -EBUSY, and the batch stays open, inside a request. */
int store_batch_commit(struct store *s);
