/* SPDX-License-Identifier: BSD-3-Clause */
/* The 3-strike lockout (daemon/domain/lockout.c) on a real SQLite store, each call
 * a request of its own: failures counted in a window, the lock at `deny`
 * and its end, root exempt unless even_deny_root, lock_scope=user+source,
 * successes that clear the count only for privileged callers, and the
 * admin's reset.  The clock is a parameter. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockout.h"
#include "store_txn.h"

#define T0 1700000000
#define DENY 3
#define INTERVAL 900
#define UNLOCK 600

/* The policy and the attempt of each test; setup resets them. */
static struct acctsec_conf conf;
static struct attempt a;

static int setup(void **state) {
        *state = peek_fixture_new();
        assert_non_null(*state);
        acctsec_conf_defaults(&conf);
        conf.deny = DENY;
        conf.fail_interval = INTERVAL;
        conf.unlock_time = UNLOCK;
        conf.even_deny_root = false;
        conf.lock_scope = ACCTSEC_LOCK_SCOPE_USER;
        a = (struct attempt){ .user = "alice", .service = "sshd", .rhost = "192.0.2.1", .known = true,
                              .privileged = true, .conf = &conf };
        return 0;
}

static struct lock_result failure(struct peek_fixture *x, int64_t now) {
        struct lock_result res;
        assert_int_equal(IN_TXN(&x->f->s, lockout_fail(&x->f->s, &a, now, &res)), 0);
        return res;
}

static struct lock_result check(struct peek_fixture *x, int64_t now) {
        struct lock_result res;
        assert_int_equal(IN_TXN(&x->f->s, lockout_check(&x->f->s, &a, now, &res)), 0);
        return res;
}

static struct lock_result succeed(struct peek_fixture *x, int64_t now) {
        struct lock_result res;
        assert_int_equal(IN_TXN(&x->f->s, lockout_success(&x->f->s, &a, now, &res)), 0);
        return res;
}

/* A column of alice's tally (source ''), -1 without one. */
static int64_t tally(struct peek_fixture *x, const char *col) {
        return peek_int(x, "SELECT %s FROM lockout WHERE user = 'alice' AND source = ''", col);
}

static void test_count_and_lock(void **state) {
        struct peek_fixture *x = *state;

        assert_false(failure(x, T0).locked);
        assert_int_equal(failure(x, T0 + 10).failures, 2);
        assert_int_equal(tally(x, "failures"), 2);
        assert_int_equal(tally(x, "first_failure"), T0);
        assert_int_equal(tally(x, "last_failure"), T0 + 10);
        assert_int_equal(tally(x, "locked_until"), 0);
        assert_false(check(x, T0 + 11).locked);
        struct lock_result r = failure(x, T0 + 20);
        assert_true(r.locked);
        assert_int_equal(r.locked_until, T0 + 20 + UNLOCK);
        assert_int_equal(r.failures, DENY);
        assert_int_equal(tally(x, "locked_until"), T0 + 20 + UNLOCK);
        assert_int_equal(peek_events(x, "auth_failure"), 3);
        assert_int_equal(peek_events(x, "lockout"), 1);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM events WHERE type = 'auth_failure'"
                                           " AND detail = 'failures=3' AND rhost = '192.0.2.1'"),
                         1);
        /* locked: the check says so and logs the denial; the time is kept */
        r = check(x, T0 + 30);
        assert_true(r.locked);
        assert_int_equal(r.locked_until, T0 + 20 + UNLOCK);
        assert_int_equal(peek_events(x, "login_denied"), 1);
        /* a failure while locked (past preauth before the lock) is counted, the lock unchanged */
        r = failure(x, T0 + 40);
        assert_true(r.locked);
        assert_int_equal(tally(x, "failures"), DENY + 1);
        assert_int_equal(tally(x, "locked_until"), T0 + 20 + UNLOCK);
        assert_int_equal(peek_events(x, "lockout"), 1);
}

static void test_window_and_unlock_time(void **state) {
        struct peek_fixture *x = *state;

        failure(x, T0);
        failure(x, T0 + 10);
        /* the window ran out: the count starts again */
        struct lock_result r = failure(x, T0 + INTERVAL);
        assert_false(r.locked);
        assert_int_equal(r.failures, 1);
        assert_int_equal(tally(x, "first_failure"), T0 + INTERVAL);
        failure(x, T0 + INTERVAL + 1);
        assert_true(failure(x, T0 + INTERVAL + 2).locked);
        int64_t until = T0 + INTERVAL + 2 + UNLOCK;
        assert_true(check(x, until - 1).locked);
        /* the lock ends by itself; the next failure starts a new count */
        assert_false(check(x, until).locked);
        r = failure(x, until + 5);
        assert_false(r.locked);
        assert_int_equal(r.failures, 1);
        assert_int_equal(tally(x, "locked_until"), 0);
        assert_int_equal(tally(x, "first_failure"), until + 5);
}

static void test_forever_and_never(void **state) {
        struct peek_fixture *x = *state;

        conf.unlock_time = 0; /* until an admin unlocks */
        for (int i = 0; i < DENY; i++)
                failure(x, T0 + i);
        assert_int_equal(tally(x, "locked_until"), LOCKED_FOREVER);
        assert_true(check(x, T0 + 100 * 365 * 86400LL).locked);
        /* deny = 0: failures are counted and logged, nothing locks */
        conf.deny = 0;
        a.user = "bob";
        for (int i = 0; i < 10; i++)
                assert_false(failure(x, T0 + i).locked);
        assert_int_equal(peek_int(x, "SELECT failures FROM lockout WHERE user = 'bob'"), 10);
        assert_int_equal(peek_int(x, "SELECT locked_until FROM lockout WHERE user = 'bob'"), 0);
}

static void test_root(void **state) {
        struct peek_fixture *x = *state;

        a.user = "root";
        a.root = true;
        for (int i = 0; i < 2 * DENY; i++)
                assert_false(failure(x, T0 + i).locked);
        assert_int_equal(peek_int(x, "SELECT failures FROM lockout WHERE user = 'root'"), 2 * DENY);
        assert_int_equal(peek_events(x, "lockout"), 0);
        int removed;
        bool was_locked;
        assert_int_equal(IN_TXN(&x->f->s, lockout_reset(&x->f->s, "root", "root", T0 + 10, &removed, &was_locked)), 0);
        assert_int_equal(removed, 1);
        conf.even_deny_root = true;
        for (int i = 0; i < DENY - 1; i++)
                assert_false(failure(x, T0 + 20 + i).locked);
        assert_true(failure(x, T0 + 30).locked);
        assert_int_equal(peek_events(x, "lockout"), 1);
}

static void test_user_source(void **state) {
        struct peek_fixture *x = *state;

        conf.lock_scope = ACCTSEC_LOCK_SCOPE_USER_SOURCE;
        for (int i = 0; i < DENY; i++)
                failure(x, T0 + i);
        assert_true(check(x, T0 + 10).locked);
        /* another source has its own tally; no remote host is LOCAL */
        a.rhost = "198.51.100.9";
        assert_false(check(x, T0 + 10).locked);
        assert_false(failure(x, T0 + 11).locked);
        a.rhost = NULL;
        assert_false(failure(x, T0 + 12).locked);
        assert_int_equal(peek_int(x, "SELECT failures FROM lockout WHERE user = 'alice'"
                                           " AND source = '192.0.2.1'"),
                         DENY);
        assert_int_equal(peek_int(x, "SELECT failures FROM lockout WHERE user = 'alice'"
                                           " AND source = '198.51.100.9'"),
                         1);
        assert_int_equal(peek_int(x, "SELECT failures FROM lockout WHERE user = 'alice' AND source = 'LOCAL'"),
                         1);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM lockout"), 3);
        /* a success clears only its own source's tally */
        succeed(x, T0 + 13);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM lockout WHERE source = 'LOCAL'"), 0);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM lockout"), 2);
}

static void test_success(void **state) {
        struct peek_fixture *x = *state;

        failure(x, T0);
        failure(x, T0 + 1);
        /* an unprivileged caller (a process of the user's) cannot clear it */
        a.privileged = false;
        struct lock_result r = succeed(x, T0 + 2);
        assert_false(r.locked);
        assert_int_equal(r.failures, 2);
        assert_int_equal(tally(x, "failures"), 2);
        assert_string_equal(peek_text(x, "SELECT detail FROM events WHERE type = 'auth_success'"),
                            "unprivileged caller: failure count kept");
        /* root's can */
        a.privileged = true;
        r = succeed(x, T0 + 3);
        assert_int_equal(r.failures, 0);
        assert_int_equal(tally(x, "failures"), -1);
        assert_int_equal(peek_events(x, "auth_success"), 2);
        /* locked meanwhile: the lock wins, and stays */
        for (int i = 0; i < DENY; i++)
                failure(x, T0 + 10 + i);
        r = succeed(x, T0 + 20);
        assert_true(r.locked);
        assert_int_equal(tally(x, "failures"), DENY);
        assert_int_equal(peek_events(x, "auth_success"), 2);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM events WHERE type = 'login_denied'"
                                           " AND detail = 'locked'"),
                         1);
}

static void test_reset_and_unknown(void **state) {
        struct peek_fixture *x = *state;
        int removed = -1;
        bool was_locked = false;

        conf.lock_scope = ACCTSEC_LOCK_SCOPE_USER_SOURCE;
        for (int i = 0; i < DENY; i++)
                failure(x, T0 + i);
        a.rhost = "198.51.100.9";
        failure(x, T0 + 5);
        assert_int_equal(IN_TXN(&x->f->s, lockout_reset(&x->f->s, "alice", "admin", T0 + 6, &removed, &was_locked)), 0);
        assert_int_equal(removed, 2);
        assert_true(was_locked);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM lockout"), 0);
        assert_string_equal(peek_text(x, "SELECT detail FROM events WHERE type = 'unlock' AND actor = 'admin'"),
                            "was locked, tallies cleared=2");
        assert_int_equal(IN_TXN(&x->f->s, lockout_reset(&x->f->s, "alice", "admin", T0 + 7, &removed, &was_locked)), 0);
        assert_int_equal(removed, 0);
        assert_false(was_locked);
        /* an unknown user: logged, no tally */
        a.user = "nobody-here";
        a.known = false;
        for (int i = 0; i < DENY + 1; i++)
                assert_false(failure(x, T0 + 10 + i).locked);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM lockout"), 0);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM events WHERE user = 'nobody-here'"
                                           " AND detail = 'unknown user'"),
                         DENY + 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_count_and_lock, setup, peek_teardown),
                cmocka_unit_test_setup_teardown(test_window_and_unlock_time, setup, peek_teardown),
                cmocka_unit_test_setup_teardown(test_forever_and_never, setup, peek_teardown),
                cmocka_unit_test_setup_teardown(test_root, setup, peek_teardown),
                cmocka_unit_test_setup_teardown(test_user_source, setup, peek_teardown),
                cmocka_unit_test_setup_teardown(test_success, setup, peek_teardown),
                cmocka_unit_test_setup_teardown(test_reset_and_unknown, setup, peek_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
