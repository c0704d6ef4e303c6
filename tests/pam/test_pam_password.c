/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tier 3, the password stack: the policy line before the password module
 * (policy shown, rules and history checked by the daemon, retry=), the
 * commit line after it (history recorded, notice mailed), self-service
 * switch, enforce_for_root, maximum age.  pam_matrix is the password module:
 * it asks the new password again itself ("New Password :"), so the
 * conversations here answer it twice.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libpamtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define P1 "Correct-Horse-11"
#define P2 "Battery-Staple-22"

/* pam_chauthtok as the caller; answers: echo-off replies in order. */
static int change(const char *user, const char **answers, struct msgs *m) {
        struct pamtest_conv_data conv = msgs_conv(m, answers);
        struct pam_testcase tests[] = { pam_test(PAMTEST_CHAUTHTOK, PAM_SUCCESS) };
        enum pamtest_err r = run_pamtest("any", user, &conv, tests, NULL);
        assert_true(r == PAMTEST_ERR_OK || r == PAMTEST_ERR_CASE);
        return tests[0].op_rv;
}

/* old, then ours (new, retype), then pam_matrix's (new, verify). */
#define CHANGE(old, new) { old, new, new, new, new, NULL }

static void conf(struct env *e, const char *extra) {
        char text[2048];
        snprintf(text, sizeof(text), "maildir = %s\nmail_from = acctsec@test.example\n%s", e->maildir, extra);
        env_reconfigure(e, text);
}

/* Each test starts from the passdb the harness wrote (alice: ALICE_PW). */
static int start(void **state) {
        int r = env_start(state);
        struct env *e = *state;
        char text[512], cmd[PATH_MAX + 32];
        snprintf(text, sizeof(text), "alice:%s:any\nbob:%s:any\nroot:%s:any\n", ALICE_PW, BOB_PW, ROOT_PW);
        write_file(e->passdb, text);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->maildir);
        assert_int_equal(system(cmd), 0);
        conf(e, "");
        return r;
}

static void test_policy_shown_and_enforced_with_retry(void **state) {
        struct env *e = *state;
        struct msgs m;
        const char *answers[] = { ALICE_PW, "short", "short", "alllowercase-123", "alllowercase-123", P1, P1, P1, P1, NULL };
        assert_int_equal(change("alice", answers, &m), PAM_SUCCESS);
        assert_true(any_line(m.info, MSGS_MAX, "at least 12 characters"));
        assert_true(any_line(m.err, MSGS_MAX, "at least 12 characters"));
        assert_true(any_line(m.err, MSGS_MAX, "uppercase"));
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_changed'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM password_history WHERE user = 'alice' AND hash LIKE '$argon2id$%'", NULL), 1);
        /* The user name is refused too. */
        const char *named[] = { P1, "Alice-Is-Here-9", "Alice-Is-Here-9", "Alice-Is-Here-9", "Alice-Is-Here-9", NULL };
        struct msgs n;
        assert_int_not_equal(change("alice", named, &n), PAM_SUCCESS);
        assert_true(any_line(n.err, MSGS_MAX, "user name"));
}

static void test_retries_run_out(void **state) {
        struct env *e = *state;
        const char *answers[] = { ALICE_PW, "weak", "weak", "weak", "weak", "weak", "weak", NULL };
        assert_int_equal(change("alice", answers, NULL), PAM_MAXTRIES);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_changed'", NULL), 0);
        const char *pw[] = { ALICE_PW, NULL }; /* unchanged */
        struct pamtest_conv_data conv = { .in_echo_off = pw };
        struct pam_testcase t[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
        assert_int_equal(run_pamtest("any", "alice", &conv, t, NULL), PAMTEST_ERR_OK);
}

static void test_history_refuses_reuse(void **state) {
        struct env *e = *state;
        struct msgs m;
        const char *first[] = CHANGE(ALICE_PW, P1);
        const char *second[] = CHANGE(P1, P2);
        const char *back[] = { P2, P1, P1, NULL };
        assert_int_equal(change("alice", first, NULL), PAM_SUCCESS);
        assert_int_equal(change("alice", second, NULL), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM password_history WHERE user = 'alice'", NULL), 2);
        assert_int_not_equal(change("alice", back, &m), PAM_SUCCESS);
        assert_true(any_line(m.err, MSGS_MAX, "last 5 passwords"));
        /* history = 1 keeps only the newest: P1 is allowed again */
        conf(e, "history = 1\n");
        const char *again[] = CHANGE(P2, P1);
        assert_int_equal(change("alice", again, NULL), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM password_history WHERE user = 'alice'", NULL), 1);
}

static void test_change_notice_mailed(void **state) {
        struct env *e = *state;
        char out[1024], text[8192];
        const char *set[] = { "email", "set", "alice@example.com", "--user", "alice", NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), set), 0);
        const char *answers[] = CHANGE(ALICE_PW, P1);
        assert_int_equal(change("alice", answers, NULL), PAM_SUCCESS);
        /* The notice goes from a child after the commit: wait for it. */
        assert_true(maildir_wait(e, 1, text, sizeof(text)) >= 1);
        assert_non_null(strstr(text, "Subject: Your password was changed"));
        assert_non_null(strstr(text, "was changed"));
        assert_null(strstr(text, P1)); /* never the password */
}

/* passwd run by alice: real uid alice, effective uid root. */
static int change_as_user(uid_t uid, const char **answers) {
        pid_t pid = fork();
        if (pid == 0) {
                if (setreuid(uid, 0) < 0)
                        _exit(100);
                _exit(change("alice", answers, NULL));
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_self_change_switch(void **state) {
        struct env *e = *state;
        const char *answers[] = CHANGE(ALICE_PW, P1);
        conf(e, "allow_self_change = no\n");
        assert_int_equal(change_as_user(1001, answers), PAM_AUTHTOK_ERR);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_changed'", NULL), 0);
        /* root (an admin) still can */
        assert_int_equal(change("alice", answers, NULL), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_changed' AND detail = 'by root'", NULL), 1);
        conf(e, "");
        const char *mine[] = CHANGE(P1, P2);
        assert_int_equal(change_as_user(1001, mine), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_changed' AND detail = 'by the user'", NULL), 1);
}

static void test_enforce_for_root(void **state) {
        struct env *e = *state;
        const char *weak[] = CHANGE(ALICE_PW, "weak");
        assert_int_not_equal(change("alice", weak, NULL), PAM_SUCCESS);
        conf(e, "enforce_for_root = no\n");
        assert_int_equal(change("alice", weak, NULL), PAM_SUCCESS);
        /* but not a user's own change */
        const char *mine[] = CHANGE("weak", "weaker");
        assert_int_not_equal(change_as_user(1001, mine), PAM_SUCCESS);
}

static void test_maximum_age(void **state) {
        struct env *e = *state;
        struct msgs m;
        const char *answers[] = CHANGE(ALICE_PW, P1);
        assert_int_equal(change("alice", answers, NULL), PAM_SUCCESS);
        conf(e, "max_password_age = 90d\n");
        struct pamtest_conv_data conv = msgs_conv(&m, NULL);
        struct pam_testcase t[] = { pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS) };
        assert_int_equal(run_pamtest("any", "alice", &conv, t, NULL), PAMTEST_ERR_OK);
        db_exec(e, "UPDATE account SET changed = changed - 91 * 86400");
        struct pam_testcase t2[] = { pam_test(PAMTEST_ACCOUNT, PAM_NEW_AUTHTOK_REQD) };
        assert_int_equal(run_pamtest("any", "alice", &conv, t2, NULL), PAMTEST_ERR_OK);
        assert_non_null(strstr(m.err[0], "expired"));
        /* bob's change time is unknown: never expired */
        struct pam_testcase t3[] = { pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS) };
        assert_int_equal(run_pamtest("any", "bob", &conv, t3, NULL), PAMTEST_ERR_OK);
}

static const struct service_def services[] = {
        /* "any": pam_matrix changes a password only for the service named in
         * its passdb line (user:password:any). */
        { "any", NULL, NULL, false, false,
          "auth     required                   $MATRIX\n"
          "account  required                   $MOD\n"
          "password requisite                  $MOD\n"
          "password [success=1 default=ignore] $MATRIX\n"
          "password requisite                  pam_deny.so\n"
          "password optional                   $MOD commit\n" },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_policy_shown_and_enforced_with_retry, start, env_stop),
                cmocka_unit_test_setup_teardown(test_retries_run_out, start, env_stop),
                cmocka_unit_test_setup_teardown(test_history_refuses_reuse, start, env_stop),
                cmocka_unit_test_setup_teardown(test_change_notice_mailed, start, env_stop),
                cmocka_unit_test_setup_teardown(test_self_change_switch, start, env_stop),
                cmocka_unit_test_setup_teardown(test_enforce_for_root, start, env_stop),
                cmocka_unit_test_setup_teardown(test_maximum_age, start, env_stop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
