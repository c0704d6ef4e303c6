/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

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
