/* SPDX-License-Identifier: BSD-3-Clause */
/* The 3-strike lockout (daemon/domain/lockout.c) on a real SQLite store, each call
 * a request of its own: failures counted in a window, the lock at `deny`
 * and its end, root exempt unless even_deny_root, lock_scope=user+source,
 * successes that clear the count only for privileged callers, and the
 * admin's reset.  The clock is a parameter. */
#include "config.h"

#include "unit.h"

#include "lockout.h"
#include "store_fixture.h"

#define T0 1700000000
#define DENY 3
#define INTERVAL 900
#define UNLOCK 600

/* The policy and the attempt of each test; setup resets them. */
static struct acctsec_conf conf;
static struct attempt a;

static int setup(void **state) {
        acctsec_conf_defaults(&conf);
        conf.deny = DENY;
        conf.fail_interval = INTERVAL;
        conf.unlock_time = UNLOCK;
        conf.even_deny_root = false;
        conf.lock_scope = ACCTSEC_LOCK_SCOPE_USER;
        a = (struct attempt){ .user = "alice", .service = "sshd", .rhost = "192.0.2.1", .known = true,
                              .privileged = true, .conf = &conf };
        return store_setup(state);
}

static struct lock_result failure(struct store_fixture *f, int64_t now) {
        struct lock_result res;
        assert_int_equal(IN_TXN(&f->s, lockout_fail(&f->s, &a, now, &res)), 0);
        return res;
}

static struct lock_result check(struct store_fixture *f, int64_t now) {
        struct lock_result res;
        assert_int_equal(IN_TXN(&f->s, lockout_check(&f->s, &a, now, &res)), 0);
        return res;
}

static struct lock_result succeed(struct store_fixture *f, int64_t now) {
        struct lock_result res;
        assert_int_equal(IN_TXN(&f->s, lockout_success(&f->s, &a, now, &res)), 0);
        return res;
}

/* A column of alice's tally (source ''), -1 without one. */
static int64_t tally(struct store_fixture *f, const char *col) {
        return peek_int(f, "SELECT %s FROM lockout WHERE user = 'alice' AND source = ''", col);
}

static void test_count_and_lock(void **state) {
        struct store_fixture *f = *state;

        assert_false(failure(f, T0).locked);
        assert_int_equal(failure(f, T0 + 10).failures, 2);
        assert_int_equal(tally(f, "failures"), 2);
        assert_int_equal(tally(f, "first_failure"), T0);
        assert_int_equal(tally(f, "last_failure"), T0 + 10);
        assert_int_equal(tally(f, "locked_until"), 0);
        assert_false(check(f, T0 + 11).locked);
        struct lock_result r = failure(f, T0 + 20);
        assert_true(r.locked);
        assert_int_equal(r.locked_until, T0 + 20 + UNLOCK);
        assert_int_equal(r.failures, DENY);
        assert_int_equal(tally(f, "locked_until"), T0 + 20 + UNLOCK);
        assert_int_equal(peek_events(f, "auth_failure"), 3);
        assert_int_equal(peek_events(f, "lockout"), 1);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM events WHERE type = 'auth_failure'"
                                           " AND detail = 'failures=3' AND rhost = '192.0.2.1'"),
                         1);
        /* locked: the check says so and logs the denial; the time is kept */
        r = check(f, T0 + 30);
        assert_true(r.locked);
        assert_int_equal(r.locked_until, T0 + 20 + UNLOCK);
        assert_int_equal(peek_events(f, "login_denied"), 1);
        /* a failure while locked (past preauth before the lock) is counted, the lock unchanged */
        r = failure(f, T0 + 40);
        assert_true(r.locked);
        assert_int_equal(tally(f, "failures"), DENY + 1);
        assert_int_equal(tally(f, "locked_until"), T0 + 20 + UNLOCK);
        assert_int_equal(peek_events(f, "lockout"), 1);
}

static void test_window_and_unlock_time(void **state) {
        struct store_fixture *f = *state;

        failure(f, T0);
        failure(f, T0 + 10);
        /* the window ran out: the count starts again */
        struct lock_result r = failure(f, T0 + INTERVAL);
        assert_false(r.locked);
        assert_int_equal(r.failures, 1);
        assert_int_equal(tally(f, "first_failure"), T0 + INTERVAL);
        failure(f, T0 + INTERVAL + 1);
        assert_true(failure(f, T0 + INTERVAL + 2).locked);
        int64_t until = T0 + INTERVAL + 2 + UNLOCK;
        assert_true(check(f, until - 1).locked);
        /* the lock ends by itself; the next failure starts a new count */
        assert_false(check(f, until).locked);
        r = failure(f, until + 5);
        assert_false(r.locked);
        assert_int_equal(r.failures, 1);
        assert_int_equal(tally(f, "locked_until"), 0);
        assert_int_equal(tally(f, "first_failure"), until + 5);
}

static void test_forever_and_never(void **state) {
        struct store_fixture *f = *state;

        conf.unlock_time = 0; /* until an admin unlocks */
        for (int i = 0; i < DENY; i++)
                failure(f, T0 + i);
        assert_int_equal(tally(f, "locked_until"), LOCKED_FOREVER);
        assert_true(check(f, T0 + 100 * 365 * 86400LL).locked);
        /* deny = 0: failures are counted and logged, nothing locks */
        conf.deny = 0;
        a.user = "bob";
        for (int i = 0; i < 10; i++)
                assert_false(failure(f, T0 + i).locked);
        assert_int_equal(peek_int(f, "SELECT failures FROM lockout WHERE user = 'bob'"), 10);
        assert_int_equal(peek_int(f, "SELECT locked_until FROM lockout WHERE user = 'bob'"), 0);
}

static void test_root(void **state) {
        struct store_fixture *f = *state;

        a.user = "root";
        a.root = true;
        for (int i = 0; i < 2 * DENY; i++)
                assert_false(failure(f, T0 + i).locked);
        assert_int_equal(peek_int(f, "SELECT failures FROM lockout WHERE user = 'root'"), 2 * DENY);
        assert_int_equal(peek_events(f, "lockout"), 0);
        int removed;
        bool was_locked;
        assert_int_equal(IN_TXN(&f->s, lockout_reset(&f->s, "root", "root", T0 + 10, &removed, &was_locked)), 0);
        assert_int_equal(removed, 1);
        conf.even_deny_root = true;
        for (int i = 0; i < DENY - 1; i++)
                assert_false(failure(f, T0 + 20 + i).locked);
        assert_true(failure(f, T0 + 30).locked);
        assert_int_equal(peek_events(f, "lockout"), 1);
}

static void test_user_source(void **state) {
        struct store_fixture *f = *state;

        conf.lock_scope = ACCTSEC_LOCK_SCOPE_USER_SOURCE;
        for (int i = 0; i < DENY; i++)
                failure(f, T0 + i);
        assert_true(check(f, T0 + 10).locked);
        /* another source has its own tally; no remote host is LOCAL */
        a.rhost = "198.51.100.9";
        assert_false(check(f, T0 + 10).locked);
        assert_false(failure(f, T0 + 11).locked);
        a.rhost = NULL;
        assert_false(failure(f, T0 + 12).locked);
        assert_int_equal(peek_int(f, "SELECT failures FROM lockout WHERE user = 'alice'"
                                           " AND source = '192.0.2.1'"),
                         DENY);
        assert_int_equal(peek_int(f, "SELECT failures FROM lockout WHERE user = 'alice'"
                                           " AND source = '198.51.100.9'"),
                         1);
        assert_int_equal(peek_int(f, "SELECT failures FROM lockout WHERE user = 'alice' AND source = 'LOCAL'"),
                         1);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout"), 3);
        /* a success clears only its own source's tally */
        succeed(f, T0 + 13);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout WHERE source = 'LOCAL'"), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout"), 2);
}

static void test_success(void **state) {
        struct store_fixture *f = *state;

        failure(f, T0);
        failure(f, T0 + 1);
        /* an unprivileged caller (a process of the user's) cannot clear it */
        a.privileged = false;
        struct lock_result r = succeed(f, T0 + 2);
        assert_false(r.locked);
        assert_int_equal(r.failures, 2);
        assert_int_equal(tally(f, "failures"), 2);
        assert_string_equal(peek_text(f, "SELECT detail FROM events WHERE type = 'auth_success'"),
                            "unprivileged caller: failure count kept");
        /* root's can */
        a.privileged = true;
        r = succeed(f, T0 + 3);
        assert_int_equal(r.failures, 0);
        assert_int_equal(tally(f, "failures"), -1);
        assert_int_equal(peek_events(f, "auth_success"), 2);
        /* locked meanwhile: the lock wins, and stays */
        for (int i = 0; i < DENY; i++)
                failure(f, T0 + 10 + i);
        r = succeed(f, T0 + 20);
        assert_true(r.locked);
        assert_int_equal(tally(f, "failures"), DENY);
        assert_int_equal(peek_events(f, "auth_success"), 2);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM events WHERE type = 'login_denied'"
                                           " AND detail = 'locked'"),
                         1);
}

static void test_reset_and_unknown(void **state) {
        struct store_fixture *f = *state;
        int removed = -1;
        bool was_locked = false;

        conf.lock_scope = ACCTSEC_LOCK_SCOPE_USER_SOURCE;
        for (int i = 0; i < DENY; i++)
                failure(f, T0 + i);
        a.rhost = "198.51.100.9";
        failure(f, T0 + 5);
        assert_int_equal(IN_TXN(&f->s, lockout_reset(&f->s, "alice", "admin", T0 + 6, &removed, &was_locked)), 0);
        assert_int_equal(removed, 2);
        assert_true(was_locked);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout"), 0);
        assert_string_equal(peek_text(f, "SELECT detail FROM events WHERE type = 'unlock' AND actor = 'admin'"),
                            "was locked, tallies cleared=2");
        assert_int_equal(IN_TXN(&f->s, lockout_reset(&f->s, "alice", "admin", T0 + 7, &removed, &was_locked)), 0);
        assert_int_equal(removed, 0);
        assert_false(was_locked);
        /* an unknown user: logged, no tally */
        a.user = "nobody-here";
        a.known = false;
        for (int i = 0; i < DENY + 1; i++)
                assert_false(failure(f, T0 + 10 + i).locked);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout"), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM events WHERE user = 'nobody-here'"
                                           " AND detail = 'unknown user'"),
                         DENY + 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                store_unit_test_setup(test_count_and_lock, setup),
                store_unit_test_setup(test_window_and_unlock_time, setup),
                store_unit_test_setup(test_forever_and_never, setup),
                store_unit_test_setup(test_root, setup),
                store_unit_test_setup(test_user_source, setup),
                store_unit_test_setup(test_success, setup),
                store_unit_test_setup(test_reset_and_unknown, setup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
