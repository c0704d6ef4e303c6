/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>

#include "seclog.h"
#include "txn.h"

void txn_begin(struct store *s) {
        store_request_begin(s);
}

int txn_end(struct store *s, bool commit) {
        int r = store_request_end(s, commit, NULL);
        seclog_request_end(commit && r == 0);
        return r;
}

int txn_commit_now(struct store *s) {
        int r = store_request_commit(s);
        seclog_request_end(r == 0);
        return r;
}

/* Transitional (issue 16): explicit transactions of unconverted files. */
int store_begin(struct store *s) {
        if (s->in_txn)
                return s->armed ? 0 : -EBUSY;
        int r = s->engine->begin(s);
        if (r == 0)
                s->in_txn = true;
        return r;
}

int store_commit(struct store *s) {
        if (s->armed)
                return 0; /* the request's end commits */
        return txn_end(s, true);
}

void store_rollback(struct store *s) {
        if (s->in_txn)
                s->engine->rollback(s);
        s->in_txn = false;
        seclog_request_end(false);
}

int seclog_commit(struct store *s, int64_t now, const struct event *ev, size_t n) {
        int r = seclog_add_all(s, now, ev, n);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        return store_commit(s);
}
