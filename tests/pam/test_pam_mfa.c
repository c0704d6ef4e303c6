/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tier 3, second factor: password then TOTP through the real stack.  Codes
 * are computed here from the secret that enrolment printed; the daemon runs
 * with totp_window = 3 so that a step boundary passing mid-test cannot make
 * a chosen step fall out of the window.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libpamtest.h>
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "totp_enrol.h"

static struct totp_user alice; /* her secret and backup codes */

static void enrol_alice(struct env *e) {
        totp_enrol(e, "alice", &alice);
}

static const char *code_at(int offset, char buf[16]) {
        return totp_code_at(&alice, offset, buf);
}

static void login2(const char *service, const char *user, const char *pw, const char *code, int want, struct msgs *m) {
        const char *answers[] = { pw, code, NULL };
        struct pamtest_conv_data conv = msgs_conv(m, answers);
        struct pam_testcase tests[] = { pam_test(PAMTEST_AUTHENTICATE, want) };
        enum pamtest_err r = run_pamtest(service, user, &conv, tests, NULL);
        if (r != PAMTEST_ERR_OK)
                fail_msg("%s/%s: pamtest %s (returned %d, wanted %d)", service, user, pamtest_strerror(r),
                         tests[0].op_rv, want);
}

static void test_unenrolled_optional_passes_on_password(void **state) {
        struct env *e = *state;
        login2("mfa", "alice", "wrong", NULL, PAM_AUTH_ERR, NULL);
        login2("mfa", "alice", ALICE_PW, NULL, PAM_SUCCESS, NULL);
        /* mfa had nothing to ask: it ended the authentication and cleared the tally. */
        assert_int_equal(db_int(e, "SELECT count(*) FROM lockout", NULL), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_success'", NULL), 1);
}

static void test_unenrolled_required_is_told_how_to_enrol(void **state) {
        struct env *e = *state;
        struct msgs m;
        login2("mfareq", "alice", ALICE_PW, NULL, PAM_AUTH_ERR, &m);
        assert_non_null(strstr(m.err[0], "acctsec mfa enroll totp"));
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_success'", NULL), 0);
}

static void test_totp_login_and_replay(void **state) {
        struct env *e = *state;
        char c[16];
        enrol_alice(e);
        assert_int_equal(db_int(e, "SELECT active FROM mfa_totp WHERE user = ?", "alice"), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'mfa_enrolled'", NULL), 1);
        code_at(-1, c);
        login2("mfa", "alice", ALICE_PW, c, PAM_SUCCESS, NULL);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_used' AND service = ?", "mfa"), 1);
        /* The step was consumed in the same transaction as the success. */
        assert_true(db_int(e, "SELECT last_step FROM mfa_totp WHERE user = ?", "alice") > 0);
        /* The same code again is refused, and counts as a failure. */
        login2("mfa", "alice", ALICE_PW, c, PAM_AUTH_ERR, NULL);
        assert_int_equal(db_int(e, "SELECT failures FROM lockout WHERE user = ?", "alice"), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_refused' AND detail LIKE '%already%'",
                                NULL),
                         1);
        /* So is an older one; a newer one works and clears the count. */
        login2("mfa", "alice", ALICE_PW, code_at(-2, c), PAM_AUTH_ERR, NULL);
        login2("mfa", "alice", ALICE_PW, code_at(0, c), PAM_SUCCESS, NULL);
        assert_int_equal(db_int(e, "SELECT count(*) FROM lockout", NULL), 0);
        /* mfa=off never asks, even an enrolled user. */
        login2("mfaoff", "alice", ALICE_PW, NULL, PAM_SUCCESS, NULL);
}

static void test_wrong_codes_lock(void **state) {
        struct env *e = *state;
        char c[16];
        enrol_alice(e);
        login2("mfa", "alice", ALICE_PW, "000000", PAM_AUTH_ERR, NULL);
        login2("mfa", "alice", ALICE_PW, "", PAM_AUTH_ERR, NULL);        /* empty: a failure */
        login2("mfa", "alice", ALICE_PW, "12345x", PAM_AUTH_ERR, NULL);  /* malformed: a failure */
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'lockout'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_refused'", NULL), 3);
        /* Locked: the right password and a right code no longer help. */
        login2("mfa", "alice", ALICE_PW, code_at(0, c), PAM_AUTH_ERR, NULL);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_used'", NULL), 0);
}

static void test_admin_reset_removes_factor(void **state) {
        struct env *e = *state;
        char out[4096];
        const char *reset[] = { "mfa", "reset", "--user", "alice", NULL };
        enrol_alice(e);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), reset), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM mfa_totp", NULL), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM backup_codes", NULL), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'mfa_reset' AND actor = 'root'", NULL), 1);
        login2("mfa", "alice", ALICE_PW, NULL, PAM_SUCCESS, NULL); /* optional again: password only */
        const char *unknown[] = { "mfa", "reset", "--user", "no-such-user", NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), unknown), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'mfa_reset'", NULL), 1);
}

static void test_secret_sealed_at_rest(void **state) {
        struct env *e = *state;
        enrol_alice(e);
        /* 20-byte secret + nonce + MAC; the plain secret appears nowhere in the file. */
        assert_int_equal(db_int(e, "SELECT length(sealed) FROM mfa_totp WHERE user = ?", "alice"), 20 + 40);
        char path[PATH_MAX + 32], cmd[2 * PATH_MAX];
        snprintf(path, sizeof(path), "%s/secret.key", e->state);
        snprintf(cmd, sizeof(cmd), "test \"$(stat -c %%a '%s')\" = 600", path);
        assert_int_equal(system(cmd), 0);
}

static void test_backup_codes(void **state) {
        struct env *e = *state;
        struct msgs m;
        char out[4096], upper[16];
        const char *status[] = { "--json", "mfa", "status", "--user", "alice", NULL };
        const char *generate[] = { "--json", "backup-codes", "generate", "--user", "alice", NULL };
        enrol_alice(e);
        assert_int_equal(db_int(e, "SELECT count(*) FROM backup_codes WHERE user = ? AND used = 0", "alice"), 10);
        /* Stored hashed: no code appears in the table. */
        assert_int_equal(db_int(e, "SELECT count(*) FROM backup_codes WHERE hash = ?", alice.backup[0]), 0);
        /* A backup code works where the verification code is asked, typed loosely. */
        snprintf(upper, sizeof(upper), "%s", alice.backup[0]);
        for (char *c = upper; *c; c++)
                *c = (char) (*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
        login2("mfa", "alice", ALICE_PW, upper, PAM_SUCCESS, NULL);
        /* The log names the factor that passed. */
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_success' AND detail = 'backup code'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_used' AND detail = 'backup code, 9 left'",
                                NULL),
                         1);
        /* Once. */
        login2("mfa", "alice", ALICE_PW, alice.backup[0], PAM_AUTH_ERR, NULL);
        assert_int_equal(db_int(e, "SELECT failures FROM lockout WHERE user = ?", "alice"), 1);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), status), 0);
        assert_non_null(strstr(out, "\"backup_codes_left\":9"));
        /* Down to three left: the login says so. */
        for (int i = 1; i <= 5; i++)
                login2("mfa", "alice", ALICE_PW, alice.backup[i], PAM_SUCCESS, NULL);
        login2("mfa", "alice", ALICE_PW, alice.backup[6], PAM_SUCCESS, &m);
        assert_non_null(strstr(m.info[0], "3 backup codes left"));
        /* A new set voids the old one. */
        char old[16];
        snprintf(old, sizeof(old), "%s", alice.backup[7]);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), generate), 0);
        totp_parse_backup_codes(out, &alice);
        login2("mfa", "alice", ALICE_PW, old, PAM_AUTH_ERR, NULL);
        login2("mfa", "alice", ALICE_PW, alice.backup[7], PAM_SUCCESS, NULL);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'backup_codes_generated'", NULL), 2);
}

static const struct service_def services[] = {
        { "mfa", NULL, NULL, true, false, NULL },
        { "mfareq", NULL, "mfa=required", true, false, NULL },
        { "mfaoff", NULL, "mfa=off", true, false, NULL },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        if (oath_init() != OATH_OK)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unenrolled_optional_passes_on_password, totp_env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_unenrolled_required_is_told_how_to_enrol, totp_env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_totp_login_and_replay, totp_env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_wrong_codes_lock, totp_env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_admin_reset_removes_factor, totp_env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_secret_sealed_at_rest, totp_env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_backup_codes, totp_env_start, env_stop),
        };
        return cmocka_run_group_tests_name("pam_mfa", tests, NULL, NULL);
}
