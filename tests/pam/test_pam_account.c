/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tier 3, account controls: an admin disables and enables an account (the
 * account phase refuses every service, public-key style stacks included)
 * and forces a password change, which pam_acctsec.so commit clears only
 * after the password module really changed the password.
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
#include <string.h>

#include "harness.h"

#define NEW_PW "alice-New-Secret-9"

/* Run one PAM operation; returns its PAM code.  answers: echo-off replies. */
static int run(const char *service, const char *user, enum pamtest_ops op, const char **answers, struct msgs *m) {
        struct pamtest_conv_data conv = msgs_conv(m, answers);
        struct pam_testcase tests[] = { pam_test(op, PAM_SUCCESS) };
        enum pamtest_err r = run_pamtest(service, user, &conv, tests, NULL);
        assert_true(r == PAMTEST_ERR_OK || r == PAMTEST_ERR_CASE);
        return tests[0].op_rv;
}

static int account(const char *service, const char *user, struct msgs *m) {
        return run(service, user, PAMTEST_ACCOUNT, NULL, m);
}

static void test_disabled_account_refused_everywhere(void **state) {
        struct env *e = *state;
        char out[2048];
        struct msgs m;
        const char *disable[] = { "account", "disable", "--user", "alice", NULL };
        const char *enable[] = { "account", "enable", "--user", "alice", NULL };
        const char *status[] = { "--json", "status", "--user", "alice", NULL };
        const char *pw[] = { ALICE_PW, NULL };

        assert_int_equal(run_cli(e, 1002, out, sizeof(out), disable), 4); /* bob is no admin */
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), disable), 0); /* carol is */
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), disable), 0);
        assert_non_null(strstr(out, "already"));
        /* A password login and a key-style stack (account only) alike. */
        assert_int_equal(run("login", "alice", PAMTEST_AUTHENTICATE, pw, NULL), PAM_SUCCESS);
        assert_int_equal(account("login", "alice", &m), PAM_PERM_DENIED);
        assert_non_null(strstr(m.err[0], "disabled by an administrator"));
        assert_int_equal(account("keyonly", "alice", NULL), PAM_PERM_DENIED);
        assert_int_equal(account("keyonly", "bob", NULL), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'login_denied' AND detail = 'account disabled'", NULL), 2);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'account_disabled' AND actor = 'carol'", NULL), 1);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), status), 0);
        assert_non_null(strstr(out, "\"disabled\":true"));
        assert_non_null(strstr(out, "\"disabled_by\":\"carol\""));
        /* alice cannot enable herself; an admin can. */
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), enable), 4);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), enable), 0);
        assert_int_equal(account("keyonly", "alice", NULL), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'account_enabled' AND actor = 'root'", NULL), 1);
}

/* The account phase right after a successful authentication, in the same
 * handle and process, is answered by authsucc's reply (pam_module/carry.c):
 * no ACCOUNT request, so a disable that lands between the two (a
 * microsecond apart in login, su, sudo) is not seen by that login, and no
 * login_denied is logged for it.  Anything that differs is asked: another
 * user set between the calls, a second account call (the answer is used
 * up), a new handle; and an account a denial awaits carries nothing. */
static void test_account_answer_carried_from_authsucc(void **state) {
        struct env *e = *state;
        struct pam_conv conv = { harness_answer, (void *) ALICE_PW };
        pam_handle_t *pamh = NULL;
        const char *disable[] = { "account", "disable", "--user", "alice", NULL };
        const char *disable_bob[] = { "account", "disable", "--user", "bob", NULL };
        char out[1024];

        assert_int_equal(pam_start("login", "alice", &conv, &pamh), PAM_SUCCESS);
        assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), disable), 0);
        assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);  /* authsucc's answer */
        assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_PERM_DENIED); /* used up: asked */
        pam_end(pamh, PAM_PERM_DENIED);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'login_denied'", NULL), 1);

        /* Disabled before authsucc: nothing carried, the account phase asks. */
        assert_int_equal(pam_start("login", "alice", &conv, &pamh), PAM_SUCCESS);
        assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
        assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_PERM_DENIED);
        pam_end(pamh, PAM_PERM_DENIED);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'login_denied'", NULL), 2);

        /* Carried for alice, asked for bob. */
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out),
                                 (const char *[]){ "account", "enable", "--user", "alice", NULL }), 0);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), disable_bob), 0);
        assert_int_equal(pam_start("login", "alice", &conv, &pamh), PAM_SUCCESS);
        assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
        assert_int_equal(pam_set_item(pamh, PAM_USER, "bob"), PAM_SUCCESS);
        assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_PERM_DENIED);
        pam_end(pamh, PAM_PERM_DENIED);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'login_denied' AND user = ?", "bob"), 1);
}

static void test_root_cannot_be_disabled(void **state) {
        struct env *e = *state;
        char out[1024];
        const char *disable[] = { "account", "disable", "--user", "root", NULL };
        const char *nobody[] = { "account", "disable", "--user", "no-such-user", NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), disable), 4);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), nobody), 1);
        assert_int_equal(account("keyonly", "root", NULL), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM account", NULL), 0);
}

static void test_forced_change_cleared_by_a_real_change(void **state) {
        struct env *e = *state;
        char out[2048];
        struct msgs m;
        const char *expire[] = { "account", "expire-password", "--user", "alice", NULL };
        const char *status[] = { "--json", "status", "--user", "alice", NULL };
        const char *change[] = { ALICE_PW, NEW_PW, NEW_PW, NULL };

        assert_int_equal(run_cli(e, 1001, out, sizeof(out), expire), 4);
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), expire), 0);
        assert_int_equal(account("keyonly", "alice", &m), PAM_NEW_AUTHTOK_REQD);
        assert_non_null(strstr(m.err[0], "required to change your password"));
        assert_int_equal(account("keyonly", "bob", NULL), PAM_SUCCESS);
        /* A change the password module refuses is not recorded. */
        assert_int_equal(run("passwd-fails", "alice", PAMTEST_CHAUTHTOK, change, NULL), PAM_AUTHTOK_ERR);
        assert_int_equal(account("keyonly", "alice", NULL), PAM_NEW_AUTHTOK_REQD);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_changed'", NULL), 0);
        /* A real one is, and ends the forced change. */
        assert_int_equal(run("any", "alice", PAMTEST_CHAUTHTOK, change, NULL), PAM_SUCCESS);
        assert_int_equal(account("keyonly", "alice", NULL), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_changed' AND service = 'any'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_expired' AND actor = 'carol'", NULL), 1);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), status), 0);
        assert_non_null(strstr(out, "\"password_change_required\":false"));
        assert_null(strstr(out, "\"password_changed\":null"));
        /* The new password works. */
        const char *pw[] = { NEW_PW, NULL };
        assert_int_equal(run("login", "alice", PAMTEST_AUTHENTICATE, pw, NULL), PAM_SUCCESS);
}

/* The daemon sets the password through its own service "acctsec"; here its
 * password line is pam_permit (pam_matrix would ask for the old one), so
 * what is checked is everything around it: the test of the real pam_unix is
 * tests/system/test_password.py. */
static void test_reset_password(void **state) {
        struct env *e = *state;
        char out[2048], cmd[PATH_MAX + 64];
        const char *reset[] = { "--json", "account", "reset-password", "--user", "alice", NULL };
        const char *mail[] = { "account", "reset-password", "--user", "alice", "--mail", NULL };
        const char *root[] = { "account", "reset-password", "--user", "root", NULL };
        const char *set[] = { "email", "set", "alice@example.com", "--user", "alice", NULL };

        assert_int_equal(run_cli(e, 1002, out, sizeof(out), reset), 4); /* bob is no admin */
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), root), 4);  /* carol is, but not root */
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), mail), 1);  /* no address to mail to */
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), reset), 0);
        char *p = strstr(out, "\"password\":\"");
        assert_non_null(p);
        p += strlen("\"password\":\"");
        assert_int_equal(strcspn(p, "\""), 20);
        assert_true(strcspn(p, "ABCDEFGHJKLMNPQRSTUVWXYZ") < 20 && strcspn(p, "abcdefghijkmnopqrstuvwxyz") < 20 &&
                    strcspn(p, "23456789") < 20 && strcspn(p, "-_.:+=%@") < 20);
        assert_int_equal(account("keyonly", "alice", NULL), PAM_NEW_AUTHTOK_REQD);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_reset' AND actor = 'carol'", NULL), 1);
        /* Mailed instead of shown. */
        snprintf(cmd, sizeof(cmd), "maildir = %s\nmail_from = acctsec@test.example\n", e->maildir);
        env_reconfigure(e, cmd);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), set), 0);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), mail), 0);
        assert_non_null(strstr(out, "mailed to a"));
        assert_null(strstr(out, "Temporary password for"));
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_reset'", NULL), 2);
        /* That mail counts toward mail_max_per_hour: with a cap of 1, a
         * second mailed reset is refused before anything changes. */
        assert_int_equal(db_int(e, "SELECT count(*) FROM mail_sent WHERE user = 'alice'", NULL), 1);
        snprintf(cmd, sizeof(cmd), "maildir = %s\nmail_from = acctsec@test.example\nmail_max_per_hour = 1\n",
                 e->maildir);
        env_reconfigure(e, cmd);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), mail), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'password_reset'", NULL), 2);
        assert_int_equal(db_int(e, "SELECT count(*) FROM mail_sent WHERE user = 'alice'", NULL), 1);
}

static const struct service_def services[] = {
        { "login", NULL, NULL, false, false, NULL },
        { "keyonly", NULL, NULL, false, false, "account  required $MOD\n" },
        /* "any": pam_matrix changes a password only for the service named in
         * its passdb line (user:password:any). */
        { "any", NULL, NULL, false, false,
          "password [success=1 default=ignore] $MATRIX\n"
          "password requisite                  pam_deny.so\n"
          "password optional                   $MOD commit\n" },
        { "passwd-fails", NULL, NULL, false, false,
          "password [success=1 default=ignore] pam_deny.so\n"
          "password requisite                  pam_deny.so\n"
          "password optional                   $MOD commit\n" },
        { "acctsec", NULL, NULL, false, false, "auth required $MATRIX\npassword required pam_permit.so\n" },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        harness_daemon_pam = true;
        const struct CMUnitTest tests[] = {
                /* before test_reset_password, which changes alice's password */
                cmocka_unit_test_setup_teardown(test_account_answer_carried_from_authsucc, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_reset_password, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_disabled_account_refused_everywhere, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_root_cannot_be_disabled, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_forced_change_cleared_by_a_real_change, env_start, env_stop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
