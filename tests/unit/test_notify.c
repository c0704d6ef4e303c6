/* SPDX-License-Identifier: BSD-3-Clause */
/* New-source notifications on a real SQLite store (daemon/domain/notify.c): a
 * source is new once, "last seen" moves, each user keeps at most
 * NOTIFY_SOURCES_MAX (the least recently seen go), and the opt-out.  Each
 * call runs in a request's transaction, as in the daemon. */
#include "config.h"

#include "unit.h"

#include "notify.h"
#include "store_fixture.h"

#define T0 1700000000

/* One login's learning, committed: whether the source was new. */
static bool learn(struct store_fixture *f, const char *user, const char *rhost, const char *key, int64_t now) {
        bool fresh = false;
        assert_int_equal(IN_TXN(&f->s, notify_learn_source_in(&f->s, user, rhost, key, now, &fresh)), 0);
        return fresh;
}

static int64_t seen(struct store_fixture *f, const char *col, const char *rhost, const char *key) {
        return peek_int(f, "SELECT %s FROM known_sources WHERE user = 'alice' AND rhost = '%s' AND key = '%s'", col,
                        rhost, key);
}

static void test_new_once_and_last_seen(void **state) {
        struct store_fixture *f = *state;
        assert_true(learn(f, "alice", "192.0.2.1", NULL, T0));
        assert_false(learn(f, "alice", "192.0.2.1", NULL, T0 + 10));
        assert_int_equal(seen(f, "first_seen", "192.0.2.1", ""), T0);
        assert_int_equal(seen(f, "last_seen", "192.0.2.1", ""), T0 + 10);
        /* another key from the same host, another user: new each */
        assert_true(learn(f, "alice", "192.0.2.1", "SHA256:abc", T0 + 20));
        assert_false(learn(f, "alice", "192.0.2.1", "SHA256:abc", T0 + 21));
        assert_true(learn(f, "bob", "192.0.2.1", NULL, T0 + 30));
        assert_int_equal(peek_int(f, "SELECT count(*) FROM known_sources"), 3);
}

/* A login whose request rolls back was never seen: the next one is new. */
static void test_rolled_back_learning(void **state) {
        struct store_fixture *f = *state;
        bool fresh = false;
        txn_begin(&f->s);
        assert_int_equal(notify_learn_source_in(&f->s, "alice", "192.0.2.9", NULL, T0, &fresh), 0);
        assert_true(fresh);
        assert_int_equal(txn_end(&f->s, false), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM known_sources"), 0);
        assert_true(learn(f, "alice", "192.0.2.9", NULL, T0 + 1));
}

/* At NOTIFY_SOURCES_MAX a new source pushes out the least recently seen. */
static void test_sources_are_capped(void **state) {
        struct store_fixture *f = *state;
        assert_int_equal(peek_exec(f,
                                   "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
                                   " INSERT INTO known_sources (user, rhost, first_seen, last_seen)"
                                   " SELECT 'alice', 'h' || i, %d, %d + i FROM n",
                                   NOTIFY_SOURCES_MAX, T0, T0),
                         0);
        assert_false(learn(f, "alice", "h1", NULL, T0 + 5000)); /* h1 is now the most recent */
        assert_true(learn(f, "alice", "new", NULL, T0 + 5001));
        assert_int_equal(peek_int(f, "SELECT count(*) FROM known_sources WHERE user = 'alice'"),
                         NOTIFY_SOURCES_MAX);
        assert_int_equal(seen(f, "count(*)", "h2", ""), 0); /* the least recently seen went */
        assert_int_equal(seen(f, "count(*)", "h1", ""), 1);
        assert_int_equal(seen(f, "count(*)", "new", ""), 1);
}

static void test_preference(void **state) {
        struct store_fixture *f = *state;
        bool on = false;
        assert_int_equal(notify_pref(&f->s, "alice", &on), 0);
        assert_true(on); /* no row: on */
        assert_int_equal(IN_TXN(&f->s, notify_set_in(&f->s, "alice", false)), 0);
        assert_int_equal(notify_pref(&f->s, "alice", &on), 0);
        assert_false(on);
        assert_int_equal(notify_pref(&f->s, "bob", &on), 0);
        assert_true(on);
        assert_int_equal(IN_TXN(&f->s, notify_set_in(&f->s, "alice", true)), 0);
        assert_int_equal(notify_pref(&f->s, "alice", &on), 0);
        assert_true(on);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM notify"), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                store_unit_test(test_new_once_and_last_seen),
                store_unit_test(test_rolled_back_learning),
                store_unit_test(test_sources_are_capped),
                store_unit_test(test_preference),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
