/* SPDX-License-Identifier: BSD-3-Clause */
/* The storage interface (store.h): what every engine shares. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "store.h"

static const struct {
        const char *name;
        enum store_kind kind;
} queries[_Q_MAX] = {
#define STORE_Q_INFO(n, k) [Q_##n] = { #n, STORE_##k },
        STORE_QUERIES(STORE_Q_INFO)
#undef STORE_Q_INFO
};

const char *store_query_name(enum store_query q) {
        return q < _Q_MAX ? queries[q].name : "?";
}

enum store_kind store_query_kind(enum store_query q) {
        return q < _Q_MAX ? queries[q].kind : STORE_STATE;
}

int store_open_with(struct store *s, const char *state_dir, const struct store_options *o, const char **why) {
        memset(s, 0, sizeof(*s));
        s->options = o;
        s->engine = o && o->postgresql ? &store_pgsql : &store_sqlite;
        return s->engine->open(s, state_dir, why);
}

int store_open(struct store *s, const char *state_dir, const char **why) {
        return store_open_with(s, state_dir, NULL, why);
}

bool store_waits(const struct store *s) {
        return s->engine && s->engine->waits;
}

void store_close(struct store *s) {
        if (s->engine)
                s->engine->close(s);
        memset(s, 0, sizeof(*s));
}

int store_schema_version(void) {
        return store_sqlite.schema_version();
}

int64_t store_now(struct store *s) {
        return s->engine->now(s);
}

/* A storage error during a request: the request's end will roll back. */
static int failed(struct store *s, int r) {
        if (r < 0 && s->armed && !s->txn_error)
                s->txn_error = r;
        return r;
}

/* A write opens the request's transaction; outside a request it is a bug. */
static int before(struct store *s, enum store_query q) {
        enum store_kind kind = store_query_kind(q);
        if (kind == STORE_READ || s->in_txn)
                goto ok;
        if (!s->armed) {
                log_error("%s: a write outside a request's transaction", store_query_name(q));
                return -EINVAL;
        }
        int r = s->engine->begin(s);
        if (r < 0)
                return failed(s, r);
        s->in_txn = true;
ok:
        if (kind == STORE_STATE)
                s->txn_state = true;
        return 0;
}

int store_select(struct store *s, enum store_query q, const struct store_arg *args, size_t n,
                 struct store_rows *ret) {
        memset(ret, 0, sizeof(*ret));
        ret->s = s;
        int r = before(s, q);
        return r < 0 ? r : failed(s, s->engine->select(s, q, args, n, ret));
}

int store_next(struct store_rows *rows) {
        if (!rows->impl)
                return 0;
        int r = rows->s->engine->next(rows);
        if (r > 0)
                rows->row++;
        return failed(rows->s, r);
}

bool store_is_null(const struct store_rows *rows, int col) {
        return rows->s->engine->is_null(rows, col);
}

int64_t store_int(const struct store_rows *rows, int col) {
        return rows->s->engine->col_int(rows, col);
}

const char *store_text(const struct store_rows *rows, int col) {
        const char *t = rows->s->engine->col_text(rows, col);
        return t ? t : "";
}

const void *store_blob(const struct store_rows *rows, int col, size_t *len) {
        return rows->s->engine->col_blob(rows, col, len);
}

void store_rows_end(struct store_rows *rows) {
        if (rows->s && rows->impl)
                rows->s->engine->end(rows);
        rows->impl = NULL;
}

int store_get(struct store *s, enum store_query q, const struct store_arg *args, size_t n,
              void (*fn)(const struct store_rows *row, void *ud), void *ud) {
        struct store_rows rows;
        int r = store_select(s, q, args, n, &rows);
        if (r == 0)
                r = store_next(&rows);
        if (r > 0)
                fn(&rows, ud);
        store_rows_end(&rows);
        return r;
}

int store_get_int(struct store *s, enum store_query q, const struct store_arg *args, size_t n, int64_t *ret) {
        struct store_rows rows;
        int r = store_select(s, q, args, n, &rows);
        if (r == 0)
                r = store_next(&rows);
        *ret = r > 0 ? store_int(&rows, 0) : 0;
        store_rows_end(&rows);
        return r;
}

int store_exec(struct store *s, enum store_query q, const struct store_arg *args, size_t n) {
        int r = before(s, q);
        return r < 0 ? r : failed(s, s->engine->exec(s, q, args, n));
}

void store_request_begin(struct store *s) {
        s->armed = true;
        s->txn_state = false;
        s->txn_error = 0;
}

static int finish(struct store *s, bool commit) {
        int r = commit ? s->txn_error : 0;
        if (!s->in_txn)
                return r;
        if (commit && r == 0)
                r = s->engine->commit(s); /* rolled back when it fails */
        else
                s->engine->rollback(s);
        if (commit && r == 0)
                s->transactions++;
        s->in_txn = false;
        return r;
}

int store_request_end(struct store *s, bool commit, bool *ret_began) {
        if (ret_began)
                *ret_began = s->in_txn;
        int r = finish(s, commit);
        s->armed = false;
        s->txn_state = false;
        s->txn_error = 0;
        return r;
}

int store_request_commit(struct store *s) {
        int r = finish(s, true);
        s->txn_error = 0;
        return r;
}

int store_sync(struct store *s) {
        if (!s->unsynced || s->in_txn || s->batch_open)
                return 0;
        int r = s->engine->sync ? s->engine->sync(s) : 0;
        if (r == 0) {
                s->unsynced = false;
                s->late_syncs++;
        }
        return r;
}

int store_batch_commit(struct store *s) {
        if (s->in_txn)
                return -EBUSY;
        return s->engine->batch_commit(s);
}
