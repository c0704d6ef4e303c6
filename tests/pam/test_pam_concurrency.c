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
#include "totp_enrol.h"

/* One login of a parallel batch: SERVICE USER, INPUT on its stdin (the
 * password, or the code for an MFA-only stack), and the PAM code wanted
 * (ANY: the caller counts the outcomes itself). */
#define ANY (-2)
struct login_spec {
        const char *service, *user, *input;
        int want;
};

#define PARALLEL_MAX 256

/* n parallel logins released together; got[i] is login i's PAM code (or
 * -1 if it did not exit normally).  Returns how many got what they wanted. */
static int run_parallel(const struct login_spec *l, int n, int *got) {
        int barrier[2], ok = 0;
        pid_t pids[PARALLEL_MAX];
        assert_true(n <= PARALLEL_MAX);
        assert_int_equal(pipe(barrier), 0);
        for (int i = 0; i < n; i++)
                assert_true((pids[i] = pam_login_start(l[i].service, l[i].user, l[i].input, "198.51.100.4",
                                                       barrier)) > 0);
        close(barrier[0]);
        close(barrier[1]);
        for (int i = 0; i < n; i++) {
                int status;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                got[i] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
                if (got[i] != l[i].want && l[i].want >= 0)
                        print_message("login %d (%s %s): status 0x%x, wanted PAM code %d\n", i, l[i].service,
                                      l[i].user, status, l[i].want);
                ok += got[i] == l[i].want;
        }
        return ok;
}

/* n parallel identical logins; returns how many ended with `want`. */
static int parallel_logins(const char *service, const char *user, const char *pw, int n, int want) {
        struct login_spec l[PARALLEL_MAX];
        int got[PARALLEL_MAX];
        assert_true(n <= PARALLEL_MAX);
        for (int i = 0; i < n; i++)
                l[i] = (struct login_spec){ service, user, pw, want };
        return run_parallel(l, n, got);
}

static void test_50_parallel_failures_counted_exactly(void **state) {
        struct env *e = *state;
        assert_int_equal(parallel_logins("deny1000", "alice", "wrong", 50, PAM_AUTH_ERR), 50);
        assert_int_equal(db_int(e, "SELECT failures FROM lockout WHERE user = ?", "alice"), 50);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_failure' AND user = ?", "alice"), 50);
}

static void test_20_parallel_good_logins_no_lock(void **state) {
        struct env *e = *state;
        assert_int_equal(parallel_logins("lockout", "alice", ALICE_PW, 20, PAM_SUCCESS), 20);
        assert_int_equal(db_int(e, "SELECT count(*) FROM lockout", NULL), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_success'", NULL), 20);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'lockout'", NULL), 0);
}

static void test_parallel_failures_lock_once(void **state) {
        struct env *e = *state;
        assert_int_equal(parallel_logins("lockout", "alice", "wrong", 20, PAM_AUTH_ERR), 20);
        /* Exactly one lock, and every attempt is either counted or denied at preauth. */
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'lockout'", NULL), 1);
        long long counted = db_int(e, "SELECT failures FROM lockout WHERE user = ?", "alice");
        long long denied = db_int(e, "SELECT count(*) FROM events WHERE type = 'login_denied'", NULL);
        assert_true(counted >= 3);
        assert_int_equal(counted + denied, 20);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_failure'", NULL), counted);
}

/* 200 logins at once, as a busy SSH server sees them: good passwords
 * (alice's, root's), wrong ones (bob), a locked user (carol), an unknown
 * user.  Every one gets its own right answer — none is refused for lack of
 * a connection slot or a busy database — and every count is exact. */
#define MIX_GOOD 60
#define MIX_ROOT 20
#define MIX_BAD 60
#define MIX_LOCKED 40
#define MIX_UNKNOWN 20
#define MIX_N (MIX_GOOD + MIX_ROOT + MIX_BAD + MIX_LOCKED + MIX_UNKNOWN)

static void test_200_parallel_mixed_logins_exact(void **state) {
        struct env *e = *state;
        struct login_spec l[MIX_N];
        int got[MIX_N], n = 0;
        char log[PATH_MAX + 16], line[1024];

        db_exec(e, "INSERT INTO lockout (user, source, failures, first_failure, last_failure, locked_until)"
                   " VALUES ('carol', '', 3, strftime('%s'), strftime('%s'), -1)");
        /* Interleaved, so that every kind is in flight at every moment. */
        for (int i = 0; n < MIX_N; i++) {
                if (i < MIX_GOOD)
                        l[n++] = (struct login_spec){ "mix", "alice", ALICE_PW, PAM_SUCCESS };
                if (i < MIX_BAD)
                        l[n++] = (struct login_spec){ "mix", "bob", "wrong", PAM_AUTH_ERR };
                if (i < MIX_LOCKED)
                        l[n++] = (struct login_spec){ "mix", "carol", "anything", PAM_AUTH_ERR };
                if (i < MIX_ROOT)
                        l[n++] = (struct login_spec){ "mix", "root", ROOT_PW, PAM_SUCCESS };
                if (i < MIX_UNKNOWN)
                        l[n++] = (struct login_spec){ "mix", "nosuchuser", "wrong", PAM_AUTH_ERR };
        }
        assert_int_equal(run_parallel(l, n, got), MIX_N);

        assert_int_equal(db_int(e, "SELECT failures FROM lockout WHERE user = ?", "bob"), MIX_BAD);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_failure' AND user = ?", "bob"), MIX_BAD);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_success' AND user = ?", "alice"),
                         MIX_GOOD);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_success' AND user = ?", "root"),
                         MIX_ROOT);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'login_denied' AND user = ?", "carol"),
                         MIX_LOCKED);
        assert_int_equal(db_int(e, "SELECT failures FROM lockout WHERE user = ?", "carol"), 3); /* never checked */
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_failure' AND user = ?", "nosuchuser"),
                         MIX_UNKNOWN);
        assert_int_equal(db_int(e, "SELECT count(*) FROM lockout WHERE user IN ('alice', 'root', 'nosuchuser')", NULL),
                         0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events", NULL),
                         MIX_GOOD + MIX_ROOT + MIX_BAD + MIX_LOCKED + MIX_UNKNOWN);
        /* Nothing was turned away or retried on a busy database. */
        snprintf(log, sizeof(log), "%s/daemon.log", e->dir);
        FILE *f = fopen(log, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                if (strstr(line, "busy") || strstr(line, "database is locked") || strstr(line, "limit") ||
                    strstr(line, "closing connection") || strstr(line, "rror"))
                        fail_msg("daemon log: %s", line);
        fclose(f);
}

/* A single-use thing raced by many logins at once: exactly one wins. */
static struct totp_user alice;

#define RACERS 24

static void race(const char *code, const char *what) {
        struct login_spec l[RACERS];
        int got[RACERS], won = 0, lost = 0;
        for (int i = 0; i < RACERS; i++)
                l[i] = (struct login_spec){ "mfaonly", "alice", code, ANY };
        run_parallel(l, RACERS, got);
        for (int i = 0; i < RACERS; i++) {
                won += got[i] == PAM_SUCCESS;
                lost += got[i] == PAM_AUTH_ERR;
        }
        if (won != 1 || lost != RACERS - 1)
                fail_msg("%s raced by %d logins: %d won, %d refused", what, RACERS, won, lost);
}

static void test_backup_code_raced_one_winner(void **state) {
        struct env *e = *state;
        totp_enrol(e, "alice", &alice);
        race(alice.backup[0], "one backup code");
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_used' AND user = ?", "alice"), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_refused' AND user = ?", "alice"),
                         RACERS - 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM backup_codes WHERE user = ? AND used = 0", "alice"), 9);
}

static void test_totp_step_raced_one_winner(void **state) {
        struct env *e = *state;
        char code[16];
        totp_enrol(e, "alice", &alice);
        race(totp_code_at(&alice, 0, code), "one TOTP code");
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_used' AND user = ?", "alice"), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_refused' AND user = ?", "alice"),
                         RACERS - 1);
}

/* The daemon's log in the test directory (e->log), for the cases that read it. */
static int start_logged(void **state) {
        harness_daemon_log = true;
        int r = env_start(state);
        harness_daemon_log = false;
        return r;
}

static const struct service_def services[] = {
        { "lockout", NULL, NULL, false, false, NULL },
        { "deny1000", NULL, "deny=1000", false, false, NULL },
        { "mix", NULL, "deny=1000", false, false, NULL },
        /* sshd with keys plus a second factor: no password step.  deny=1000:
         * the losers' refused codes must not lock the winner out. */
        { "mfaonly", NULL, "deny=1000 mfa=required", false, false,
          "auth requisite $MOD preauth\nauth requisite $MOD mfa\naccount required $MOD\n" },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_50_parallel_failures_counted_exactly, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_20_parallel_good_logins_no_lock, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_parallel_failures_lock_once, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_200_parallel_mixed_logins_exact, start_logged, env_stop),
                cmocka_unit_test_setup_teardown(test_backup_code_raced_one_winner, totp_env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_totp_step_raced_one_winner, totp_env_start, env_stop),
        };
        return cmocka_run_group_tests_name("pam_concurrency", tests, NULL, NULL);
}
