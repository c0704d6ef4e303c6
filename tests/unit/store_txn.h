/* SPDX-License-Identifier: BSD-3-Clause */
/* For tests of domain code on a temporary store (store_peek.h): each call a
 * request of its own, as the dispatcher makes one. */
#pragma once

#include <sqlite3.h>
#include <stdint.h>

#include "store_peek.h"
#include "txn.h"

/* The value of expr (an int), evaluated inside one request that commits. */
#define IN_TXN(s, expr)                                                                                           \
        ({                                                                                                        \
                txn_begin(s);                                                                                     \
                int in_txn_r_ = (expr);                                                                           \
                assert_int_equal(txn_end((s), true), 0);                                                         \
                in_txn_r_;                                                                                        \
        })

/* cmocka teardown of a struct peek_fixture state. */
static inline int peek_teardown(void **state) {
        assert_int_equal(peek_fixture_free(*state), 0);
        return 0;
}

/* How many events of a type committed. */
static inline int64_t peek_events(struct peek_fixture *x, const char *type) {
        return peek_int(x, "SELECT count(*) FROM events WHERE type = '%s'", type);
}

/* Change the file behind the store's back (a test's setup). */
static inline void peek_exec(struct peek_fixture *x, const char *sql) {
        if (sqlite3_exec(x->db, sql, NULL, NULL, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(x->db));
}
