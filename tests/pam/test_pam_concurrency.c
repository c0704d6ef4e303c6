/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Concurrent logins through the real stack: counts must be exact.  Children
 * are released together from a barrier (a pipe the parent closes).  Each
 * runs tests/tools/pam_login, i.e. real libpam with pam_start_confdir on the
 * harness's service directory: pam_wrapper cannot run 50 processes at once
 * (its per-process directory names collide).
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* n parallel logins; returns how many ended with `want`. */
static int parallel_logins(const char *service, const char *user, const char *pw, int n, int want) {
        int barrier[2], ok = 0;
        pid_t pids[64];
        assert_true(n <= 64);
        assert_int_equal(pipe(barrier), 0);
        for (int i = 0; i < n; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        char c, tool[PATH_MAX + 32];
                        int in[2];
                        close(barrier[1]);
                        (void) read(barrier[0], &c, 1); /* returns at EOF: all start together */
                        if (pipe(in) < 0 || write(in[1], pw, strlen(pw)) < 0)
                                _exit(98);
                        close(in[1]);
                        dup2(in[0], STDIN_FILENO);
                        int null = open("/dev/null", O_WRONLY);
                        if (null >= 0)
                                dup2(null, STDOUT_FILENO); /* keep our TAP output clean */
                        unsetenv("LD_PRELOAD");
                        snprintf(tool, sizeof(tool), "%s/tests/tools/pam_login", getenv("ACCTSEC_BUILD_DIR"));
                        execl(tool, tool, getenv("PAM_WRAPPER_SERVICE_DIR"), service, user, "198.51.100.4",
                              (char *) NULL);
                        _exit(97);
                }
        }
        close(barrier[0]);
        close(barrier[1]);
        for (int i = 0; i < n; i++) {
                int status;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                bool good = WIFEXITED(status) && WEXITSTATUS(status) == want;
                if (!good)
                        print_message("login %d: status 0x%x, wanted PAM code %d\n", i, status, want);
                ok += good;
        }
        return ok;
}

static long long q(struct env *e, const char *sql, const char *arg) {
        return db_int(e, sql, arg);
}

static void test_50_parallel_failures_counted_exactly(void **state) {
        struct env *e = *state;
        assert_int_equal(parallel_logins("deny1000", "alice", "wrong", 50, PAM_AUTH_ERR), 50);
        assert_int_equal(q(e, "SELECT failures FROM lockout WHERE user = ?", "alice"), 50);
        assert_int_equal(q(e, "SELECT count(*) FROM events WHERE type = 'auth_failure' AND user = ?", "alice"), 50);
}

static void test_20_parallel_good_logins_no_lock(void **state) {
        struct env *e = *state;
        assert_int_equal(parallel_logins("lockout", "alice", ALICE_PW, 20, PAM_SUCCESS), 20);
        assert_int_equal(q(e, "SELECT count(*) FROM lockout", NULL), 0);
        assert_int_equal(q(e, "SELECT count(*) FROM events WHERE type = 'auth_success'", NULL), 20);
        assert_int_equal(q(e, "SELECT count(*) FROM events WHERE type = 'lockout'", NULL), 0);
}

static void test_parallel_failures_lock_once(void **state) {
        struct env *e = *state;
        assert_int_equal(parallel_logins("lockout", "alice", "wrong", 20, PAM_AUTH_ERR), 20);
        /* Exactly one lock, and every attempt is either counted or denied at preauth. */
        assert_int_equal(q(e, "SELECT count(*) FROM events WHERE type = 'lockout'", NULL), 1);
        long long counted = q(e, "SELECT failures FROM lockout WHERE user = ?", "alice");
        long long denied = q(e, "SELECT count(*) FROM events WHERE type = 'login_denied'", NULL);
        assert_true(counted >= 3);
        assert_int_equal(counted + denied, 20);
        assert_int_equal(q(e, "SELECT count(*) FROM events WHERE type = 'auth_failure'", NULL), counted);
}

static const struct service_def services[] = {
        { "lockout", NULL, NULL, false, false, NULL },
        { "deny1000", NULL, "deny=1000", false, false, NULL },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_50_parallel_failures_counted_exactly, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_20_parallel_good_logins_no_lock, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_parallel_failures_lock_once, env_start, env_stop),
        };
        return cmocka_run_group_tests_name("pam_concurrency", tests, NULL, NULL);
}
