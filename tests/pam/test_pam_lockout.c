/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tier 3: real libpam (through pam_wrapper), pam_matrix as the password
 * module, the real pam_acctsec.so and a real acctsecd.  Every case checks
 * the PAM results and what was left behind: tally rows and log events.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libpamtest.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "harness.h"

#define WRONG "wrong-password"

/* One authentication and, if it passed, the account phase; with pamtest. */
static void auth(const char *service, const char *user, const char *pw, int want_auth, int want_acct,
                 struct msgs *m) {
        const char *answers[] = { pw, pw, NULL };
        struct pamtest_conv_data conv = msgs_conv(m, answers);
        struct pam_testcase tests[] = {
                pam_test(PAMTEST_AUTHENTICATE, want_auth),
                pam_test(PAMTEST_ACCOUNT, want_acct),
        };
        size_t n = want_auth == PAM_SUCCESS ? 2 : 1;
        enum pamtest_err r = _pamtest(service, user, &conv, tests, n, NULL);
        if (r != PAMTEST_ERR_OK) {
                const struct pam_testcase *f = _pamtest_failed_case(tests, n);
                fail_msg("%s/%s: pamtest %s (op %d returned %d)", service, user, pamtest_strerror(r),
                         f ? (int) f->pam_operation : -1, f ? f->op_rv : -1);
        }
}

static long long locked_until(struct env *e, const char *user) {
        return db_int(e, "SELECT coalesce(max(locked_until), 0) FROM lockout WHERE user = ?", user);
}

static void test_good_login(void **state) {
        struct env *e = *state;
        auth("lockout", "alice", ALICE_PW, PAM_SUCCESS, PAM_SUCCESS, NULL);
        assert_int_equal(db_events(e, "auth_success"), 1);
        assert_int_equal(db_events(e, "auth_failure"), 0);
        assert_int_equal(db_tally(e, "alice"), 0);
}

static void test_failures_counted_then_cleared(void **state) {
        struct env *e = *state;
        auth("lockout", "alice", WRONG, PAM_AUTH_ERR, 0, NULL);
        auth("lockout", "alice", WRONG, PAM_AUTH_ERR, 0, NULL);
        assert_int_equal(db_tally(e, "alice"), 2);
        assert_int_equal(locked_until(e, "alice"), 0);
        assert_int_equal(db_events(e, "auth_failure"), 2);
        /* A good login clears the count. */
        auth("lockout", "alice", ALICE_PW, PAM_SUCCESS, PAM_SUCCESS, NULL);
        assert_int_equal(db_tally(e, "alice"), 0);
        /* Counting is per user: bob is untouched by alice's failures. */
        auth("lockout", "bob", WRONG, PAM_AUTH_ERR, 0, NULL);
        assert_int_equal(db_tally(e, "bob"), 1);
        assert_int_equal(db_tally(e, "alice"), 0);
}

static void lock_alice(struct env *e) {
        for (int i = 0; i < 3; i++)
                auth("lockout", "alice", WRONG, PAM_AUTH_ERR, 0, NULL);
}

static void test_lockout_after_three(void **state) {
        struct env *e = *state;
        struct msgs errs;
        long long t0 = (long long) time(NULL);
        lock_alice(e);
        long long t1 = (long long) time(NULL);
        assert_int_equal(db_tally(e, "alice"), 3);
        assert_in_range(locked_until(e, "alice"), t0 + 3600, t1 + 3600);
        assert_int_equal(db_events(e, "lockout"), 1);
        /* The right password no longer works, and looks like a wrong one:
         * no message at all by default. */
        auth("lockout", "alice", ALICE_PW, PAM_AUTH_ERR, 0, &errs);
        assert_string_equal(errs.err[0], "");
        assert_int_equal(db_events(e, "auth_success"), 0);
        assert_int_equal(db_events(e, "login_denied"), 1);
        /* preauth stops a locked user before the password module: a wrong
         * password is not even counted. */
        auth("lockout", "alice", WRONG, PAM_AUTH_ERR, 0, &errs);
        assert_string_equal(errs.err[0], "");
        assert_int_equal(db_tally(e, "alice"), 3);
        assert_int_equal(db_events(e, "auth_failure"), 3);
        assert_int_equal(db_events(e, "login_denied"), 2);
        /* Only alice is locked. */
        auth("lockout", "bob", BOB_PW, PAM_SUCCESS, PAM_SUCCESS, NULL);
}

static void test_account_phase_enforces_lock(void **state) {
        struct env *e = *state;
        const char *answers[] = { NULL };
        struct pamtest_conv_data conv = { .in_echo_off = answers };
        struct pam_testcase tests[] = { pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED) };
        lock_alice(e);
        assert_int_equal(run_pamtest("lockout", "alice", &conv, tests, NULL), PAMTEST_ERR_OK);
        assert_int_equal(db_events(e, "login_denied"), 1);
}

static void test_lock_message_opt_in(void **state) {
        struct env *e = *state;
        struct msgs errs;
        lock_alice(e);
        auth("lockmsg", "alice", ALICE_PW, PAM_AUTH_ERR, 0, &errs);
        assert_non_null(strstr(errs.err[0], "locked until"));
        /* The failure that locks says so too, with lock_message=yes. */
        auth("lockmsg", "bob", "wrong", PAM_AUTH_ERR, 0, &errs);
        auth("lockmsg", "bob", "wrong", PAM_AUTH_ERR, 0, &errs);
        assert_string_equal(errs.err[0], "");
        auth("lockmsg", "bob", "wrong", PAM_AUTH_ERR, 0, &errs);
        assert_non_null(strstr(errs.err[0], "locked until"));
}

static void test_lock_expires(void **state) {
        struct env *e = *state;
        lock_alice(e);
        auth("lockout", "alice", ALICE_PW, PAM_AUTH_ERR, 0, NULL);
        /* Let the hour pass by moving the lock into the past. */
        db_exec(e, "UPDATE lockout SET locked_until = strftime('%s','now') - 1 WHERE user = 'alice'");
        auth("lockout", "alice", ALICE_PW, PAM_SUCCESS, PAM_SUCCESS, NULL);
        assert_int_equal(db_tally(e, "alice"), 0);
        /* After an expired lock a failure starts a new count. */
        lock_alice(e);
        db_exec(e, "UPDATE lockout SET locked_until = strftime('%s','now') - 1 WHERE user = 'alice'");
        auth("lockout", "alice", WRONG, PAM_AUTH_ERR, 0, NULL);
        assert_int_equal(db_tally(e, "alice"), 1);
        assert_int_equal(locked_until(e, "alice"), 0);
}

static void test_fail_interval_restarts_count(void **state) {
        struct env *e = *state;
        auth("lockout", "alice", WRONG, PAM_AUTH_ERR, 0, NULL);
        auth("lockout", "alice", WRONG, PAM_AUTH_ERR, 0, NULL);
        db_exec(e, "UPDATE lockout SET first_failure = first_failure - 3600 WHERE user = 'alice'");
        auth("lockout", "alice", WRONG, PAM_AUTH_ERR, 0, NULL);
        assert_int_equal(db_tally(e, "alice"), 1);
        assert_int_equal(locked_until(e, "alice"), 0);
}

static void test_admin_reset(void **state) {
        struct env *e = *state;
        char out[4096];
        const char *reset[] = { "lockout", "reset", "--user", "alice", NULL };
        const char *show[] = { "--json", "lockout", "show", NULL };
        lock_alice(e);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), show), 0);
        assert_non_null(strstr(out, "\"user\":\"alice\""));
        assert_non_null(strstr(out, "\"locked\":true"));
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), reset), 0);
        assert_non_null(strstr(out, "unlocked"));
        assert_int_equal(db_tally(e, "alice"), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'unlock' AND user = ? AND actor != ''",
                                "alice"),
                         1);
        auth("lockout", "alice", ALICE_PW, PAM_SUCCESS, PAM_SUCCESS, NULL);
}

static void test_roles(void **state) {
        struct env *e = *state;
        char out[4096];
        const char *reset[] = { "lockout", "reset", "--user", "alice", NULL };
        const char *status_alice[] = { "--json", "status", "--user", "alice", NULL };
        const char *status_self[] = { "--json", "status", NULL };
        if (getuid() != 0)
                skip(); /* needs to run the CLI as other uids */
        lock_alice(e);
        /* bob (no role) may not unlock or look at alice, but sees himself. */
        assert_int_equal(run_cli(e, 1002, out, sizeof(out), reset), 4);
        assert_int_equal(run_cli(e, 1002, out, sizeof(out), status_alice), 4);
        assert_int_equal(run_cli(e, 1002, out, sizeof(out), status_self), 0);
        assert_non_null(strstr(out, "\"user\":\"bob\""));
        /* dave (auditor) may look but not unlock. */
        assert_int_equal(run_cli(e, 1004, out, sizeof(out), status_alice), 0);
        assert_non_null(strstr(out, "\"locked\":true"));
        assert_int_equal(run_cli(e, 1004, out, sizeof(out), reset), 4);
        assert_int_equal(db_tally(e, "alice"), 3);
        /* carol (admin_group) unlocks, and the log says it was carol. */
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), reset), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'unlock' AND actor = ?", "carol"), 1);
        assert_int_equal(db_tally(e, "alice"), 0);
}

static void test_root_not_locked_by_default(void **state) {
        struct env *e = *state;
        for (int i = 0; i < 5; i++)
                auth("lockout", "root", WRONG, PAM_AUTH_ERR, 0, NULL);
        assert_int_equal(db_tally(e, "root"), 5); /* counted and logged ... */
        assert_int_equal(locked_until(e, "root"), 0); /* ... but not locked */
        assert_int_equal(db_events(e, "lockout"), 0);
        auth("lockout", "root", ROOT_PW, PAM_SUCCESS, PAM_SUCCESS, NULL);
        /* even_deny_root=yes locks root like anyone else. */
        for (int i = 0; i < 3; i++)
                auth("rootlock", "root", WRONG, PAM_AUTH_ERR, 0, NULL);
        auth("rootlock", "root", ROOT_PW, PAM_AUTH_ERR, 0, NULL);
        assert_int_equal(db_events(e, "lockout"), 1);
}

static void test_unknown_user_same_answer(void **state) {
        struct env *e = *state;
        for (int i = 0; i < 5; i++)
                auth("lockout", "mallory", WRONG, PAM_AUTH_ERR, 0, NULL);
        /* Logged, but nothing stored to fill the database with. */
        assert_int_equal(db_int(e, "SELECT count(*) FROM lockout", NULL), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE user = ? AND type = 'auth_failure'", "mallory"),
                         5);
}

static void test_lock_survives_restart(void **state) {
        struct env *e = *state;
        lock_alice(e);
        assert_int_equal(daemon_stop(e), 0);
        assert_int_equal(daemon_start(e), 0);
        auth("lockout", "alice", ALICE_PW, PAM_AUTH_ERR, 0, NULL);
        assert_int_equal(db_tally(e, "alice"), 3);
}

static void test_scope_user_source(void **state) {
        struct env *e = *state;
        for (int i = 0; i < 3; i++)
                assert_int_equal(login("scoped", "alice", WRONG, "203.0.113.9"), PAM_AUTH_ERR);
        assert_int_equal(login("scoped", "alice", ALICE_PW, "203.0.113.9"), PAM_AUTH_ERR);
        /* The attacker's source is locked; alice elsewhere is not. */
        assert_int_equal(login("scoped", "alice", ALICE_PW, "2001:db8::7"), PAM_SUCCESS);
        assert_int_equal(login("scoped", "alice", ALICE_PW, NULL), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM lockout WHERE user = 'alice' AND source = ?", "203.0.113.9"),
                         1);
}

static void test_daemon_stopped_failmode(void **state) {
        struct env *e = *state;
        assert_int_equal(daemon_stop(e), 0);
        /* secure (the default): denied */
        auth("lockout", "alice", ALICE_PW, PAM_AUTHINFO_UNAVAIL, 0, NULL);
        /* open: a named choice, and the login continues on the password alone */
        auth("open", "alice", ALICE_PW, PAM_SUCCESS, PAM_SUCCESS, NULL);
        auth("open", "alice", WRONG, PAM_AUTH_ERR, 0, NULL);
}

static void test_hung_daemon_denied(void **state) {
        struct env *e = *state;
        char path[PATH_MAX + 16];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        /* A daemon that accepts connections (the kernel does, via the
         * backlog) and never answers. */
        snprintf(path, sizeof(path), "%s/hung.sock", e->dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 16), 0);
        alarm(30); /* a hang fails the test instead of stalling the suite */
        auth("hung", "alice", ALICE_PW, PAM_AUTHINFO_UNAVAIL, 0, NULL);
        alarm(0);
        close(fd);
}

static void test_bad_options_fail_closed(void **state) {
        struct env *e = *state;
        auth("badvalue", "alice", ALICE_PW, PAM_SERVICE_ERR, 0, NULL);
        auth("badkey", "alice", ALICE_PW, PAM_SERVICE_ERR, 0, NULL);
        /* A broken config file: the module refuses, whatever failmode says. */
        env_write_conf(e, "deny = 3 # inline comments are not allowed\n");
        auth("open", "alice", ALICE_PW, PAM_SERVICE_ERR, 0, NULL);
        env_write_conf(e, "");
        assert_int_equal(db_events(e, "auth_success"), 0);
}

/* sshd authenticates in one process and runs the account phase in another:
 * the module keeps no state between phases, so the lock placed in between
 * is seen by the forked child. */
static void test_fork_between_phases(void **state) {
        struct env *e = *state;
        struct pam_conv conv = { harness_answer, (void *) ALICE_PW };
        pam_handle_t *pamh = NULL;
        int status;

        assert_int_equal(pam_start("lockout", "alice", &conv, &pamh), PAM_SUCCESS);
        assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(pam_acct_mgmt(pamh, 0));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), PAM_SUCCESS);
        /* Now the account gets locked elsewhere before the next child's account phase. */
        lock_alice(e);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(pam_acct_mgmt(pamh, 0));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(WEXITSTATUS(status), PAM_PERM_DENIED);
        pam_end(pamh, PAM_SUCCESS);
}

static int count_fds(void) {
        int n = 0;
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return -1;
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static void test_no_leaked_fds_or_signals(void **state) {
        struct sigaction before[NSIG], after[NSIG];
        (void) state;
        /* Signals glibc reserves (32, 33) cannot be queried: skip them. */
        bool valid[NSIG];
        for (int s = 1; s < NSIG; s++)
                valid[s] = sigaction(s, NULL, &before[s]) == 0;
        int fds = count_fds();
        auth("lockout", "alice", ALICE_PW, PAM_SUCCESS, PAM_SUCCESS, NULL);
        auth("lockout", "alice", WRONG, PAM_AUTH_ERR, 0, NULL);
        assert_int_equal(count_fds(), fds);
        for (int s = 1; s < NSIG; s++) {
                if (!valid[s] || sigaction(s, NULL, &after[s]) < 0)
                        continue;
                if (before[s].sa_handler != after[s].sa_handler)
                        fail_msg("signal %d (%s) changed disposition", s, strsignal(s));
        }
}

static const struct service_def services[] = {
        { "lockout", NULL, NULL, false, false, NULL },
        { "lockmsg", NULL, "lock_message=yes", false, false, NULL },
        { "rootlock", NULL, "even_deny_root=yes", false, false, NULL },
        { "scoped", NULL, "lock_scope=user+source", false, false, NULL },
        { "open", NULL, "failmode=open", false, false, NULL },
        { "hung", "hung.sock", "timeout=300", false, false, NULL },
        { "badvalue", NULL, "deny=three", false, false, NULL },
        { "badkey", NULL, "no_such_option=1", false, false, NULL },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_good_login, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_failures_counted_then_cleared, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_lockout_after_three, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_account_phase_enforces_lock, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_lock_message_opt_in, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_lock_expires, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_fail_interval_restarts_count, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_admin_reset, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_roles, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_root_not_locked_by_default, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_unknown_user_same_answer, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_lock_survives_restart, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_scope_user_source, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_daemon_stopped_failmode, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_hung_daemon_denied, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_bad_options_fail_closed, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_no_leaked_fds_or_signals, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_fork_between_phases, env_start, env_stop),
        };
        return cmocka_run_group_tests_name("pam_lockout", tests, NULL, NULL);
}
