/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tier 3, API tokens and the IP allowlist through the real stack: a token
 * typed as the password for a service in its scope, out of scope, expired,
 * revoked, malformed; the 11th token; allowlists for IPv4, IPv6, LOCAL, and
 * PAM_RHOST values that are no address.
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

/* alice makes a token; returns it in buf. */
static void make_token(struct env *e, const char *name, const char *services, char *buf, size_t n) {
        char out[2048];
        const char *args[] = { "--json", "token", "create", "--name", name, "--expires", "1", "--services", services, NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), args), 0);
        char *p = strstr(out, "\"token\":\"");
        assert_non_null(p);
        p += strlen("\"token\":\"");
        size_t k = strcspn(p, "\"");
        assert_true(k < n);
        memcpy(buf, p, k);
        buf[k] = '\0';
        assert_int_equal(strncmp(buf, "acst_", 5), 0);
}

static void test_token_in_and_out_of_scope(void **state) {
        struct env *e = *state;
        char tok[128];
        make_token(e, "ci", "imap", tok, sizeof(tok));
        /* never stored in clear */
        assert_int_equal(db_int(e, "SELECT count(*) FROM tokens WHERE hash = ?", tok), 0);
        assert_int_equal(login("imap", "alice", tok, "192.0.2.10"), PAM_SUCCESS);
        assert_true(db_int(e, "SELECT last_used FROM tokens WHERE name = 'ci'", NULL) > 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'token_used' AND detail = 'ci'", NULL), 1);
        /* the same token for smtp: out of scope, counted */
        assert_int_equal(login("smtp", "alice", tok, "192.0.2.10"), PAM_AUTH_ERR);
        assert_int_equal(db_int(e, "SELECT failures FROM lockout WHERE user = 'alice'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'token_refused' AND detail LIKE '%not for this service%'", NULL), 1);
        /* bob cannot use alice's token */
        assert_int_equal(login("imap", "bob", tok, "192.0.2.10"), PAM_AUTH_ERR);
        /* a normal password still passes through to the password module */
        assert_int_equal(login("imap", "alice", ALICE_PW, "192.0.2.10"), PAM_SUCCESS);
}

static void test_token_expired_revoked_malformed(void **state) {
        struct env *e = *state;
        char tok[128], out[1024], bad[128];
        make_token(e, "old", "imap", tok, sizeof(tok));
        db_exec(e, "UPDATE tokens SET expires = 1 WHERE name = 'old'");
        assert_int_equal(login("imap", "alice", tok, NULL), PAM_AUTH_ERR);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'token_refused' AND detail LIKE 'token: expired%'", NULL), 1);
        make_token(e, "gone", "imap", tok, sizeof(tok));
        const char *revoke[] = { "token", "revoke", "gone", NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), revoke), 0);
        assert_int_equal(login("imap", "alice", tok, NULL), PAM_AUTH_ERR); /* the very next attempt */
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'token_revoked'", NULL), 1);
        /* a typo: the checksum fails; counted, and alice is now locked (3) */
        snprintf(bad, sizeof(bad), "%s", tok);
        bad[10] = bad[10] == 'a' ? 'b' : 'a';
        assert_int_equal(login("imap", "alice", bad, NULL), PAM_AUTH_ERR);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE detail LIKE 'token: malformed%'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM lockout WHERE user = 'alice' AND locked_until != 0", NULL), 1);
}

static void test_eleventh_token_and_roles(void **state) {
        struct env *e = *state;
        char tok[128], out[4096], name[16];
        for (int i = 0; i < 10; i++) {
                snprintf(name, sizeof(name), "t%d", i);
                make_token(e, name, "imap", tok, sizeof(tok));
        }
        const char *eleventh[] = { "token", "create", "--name", "t10", "--expires", "1", "--services", "imap", NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), eleventh), 1);
        const char *dup[] = { "token", "create", "--name", "t1", "--expires", "1", "--services", "imap", "--user", "bob", NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), dup), 4); /* not for others */
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), dup), 0); /* carol (admin) may, for bob */
        const char *list[] = { "--json", "token", "list", NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), list), 0);
        assert_non_null(strstr(out, "\"name\":\"t9\""));
        assert_null(strstr(out, "acst_")); /* never the secret */
        const char *months[] = { "token", "create", "--name", "x", "--expires", "13", "--services", "imap", NULL };
        assert_int_equal(run_cli(e, 1002, out, sizeof(out), months), 2);
}

/* The account phase alone (a public-key login skips auth). */
static int account_from(const char *user, const char *rhost) {
        struct pam_conv conv = { NULL, NULL };
        pam_handle_t *pamh = NULL;
        int r = pam_start("keyonly", user, &conv, &pamh);
        if (r != PAM_SUCCESS)
                return r;
        pam_set_item(pamh, PAM_RHOST, rhost);
        r = pam_acct_mgmt(pamh, PAM_SILENT);
        pam_end(pamh, r);
        return r;
}

static void test_allowlist(void **state) {
        struct env *e = *state;
        char out[2048];
        const char *add4[] = { "allowlist", "add", "192.0.2.0/24", "--user", "alice", NULL };
        const char *add6[] = { "allowlist", "add", "2001:db8::/32", "--user", "alice", NULL };
        const char *addl[] = { "allowlist", "add", "LOCAL", "--user", "alice", NULL };
        const char *hostbits[] = { "allowlist", "add", "192.0.2.1/24", NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), add4), 4); /* admins only */
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), hostbits), 1);
        /* empty lists: no restriction */
        assert_int_equal(login("login", "alice", ALICE_PW, "198.51.100.1"), PAM_SUCCESS);
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), add4), 0);
        assert_int_equal(login("login", "alice", ALICE_PW, "192.0.2.99"), PAM_SUCCESS);
        assert_int_equal(login("login", "alice", ALICE_PW, "::ffff:192.0.2.99"), PAM_SUCCESS);
        assert_int_equal(login("login", "alice", ALICE_PW, "198.51.100.1"), PAM_AUTH_ERR);
        assert_int_equal(login("login", "alice", ALICE_PW, "2001:db8::1"), PAM_AUTH_ERR);
        assert_int_equal(login("login", "alice", ALICE_PW, NULL), PAM_AUTH_ERR); /* LOCAL not listed */
        assert_int_equal(login("login", "alice", ALICE_PW, "UNKNOWN"), PAM_AUTH_ERR);
        assert_int_equal(login("login", "alice", ALICE_PW, "host.example.com"), PAM_AUTH_ERR);
        assert_int_equal(login("login", "alice", ALICE_PW, "192.0.2.99 "), PAM_AUTH_ERR);
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), add6), 0);
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), addl), 0);
        assert_int_equal(login("login", "alice", ALICE_PW, "2001:db8:1::5"), PAM_SUCCESS);
        assert_int_equal(login("login", "alice", ALICE_PW, NULL), PAM_SUCCESS);
        /* bob has no list: unrestricted; the account phase enforces it too (keys skip auth) */
        assert_int_equal(login("login", "bob", BOB_PW, "198.51.100.1"), PAM_SUCCESS);
        assert_int_equal(account_from("alice", "198.51.100.1"), PAM_PERM_DENIED);
        assert_int_equal(account_from("alice", "192.0.2.1"), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'login_denied' AND detail LIKE 'source % not in the allowlist'", NULL), 7);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'allowlist_added' AND actor = 'carol'", NULL), 3);
        /* the failures from denied sources do not count toward the lockout (the password was never checked) */
        assert_int_equal(db_int(e, "SELECT count(*) FROM lockout WHERE user = 'alice' AND failures > 0", NULL), 0);
        const char *list[] = { "--json", "allowlist", "list", "--user", "alice", NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), list), 0); /* her own */
        assert_non_null(strstr(out, "\"cidr\":\"2001:db8::/32\""));
        const char *others[] = { "allowlist", "list", "--user", "bob", NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), others), 4);
        /* the global list applies to everyone */
        const char *global[] = { "allowlist", "add", "203.0.113.0/24", NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), global), 0);
        assert_int_equal(login("login", "bob", BOB_PW, "198.51.100.1"), PAM_AUTH_ERR);
        assert_int_equal(login("login", "bob", BOB_PW, "203.0.113.4"), PAM_SUCCESS);
}

static const struct service_def services[] = {
        { "login", NULL, NULL, false, false, NULL },
        { "keyonly", NULL, NULL, false, false, "account  required $MOD\n" },
        { "imap", NULL, NULL, false, false,
          "auth     [success=done ignore=ignore default=die] $MOD token\n"
          "auth     requisite                  $MOD preauth\n"
          "auth     [success=1 default=ignore] $MATRIX\n"
          "auth     [default=die]              $MOD authfail\n"
          "auth     required                   $MOD authsucc\n"
          "account  required                   $MOD\n" },
        { "smtp", NULL, NULL, false, false,
          "auth     [success=done ignore=ignore default=die] $MOD token\n"
          "auth     requisite                  $MOD preauth\n"
          "auth     [success=1 default=ignore] $MATRIX\n"
          "auth     [default=die]              $MOD authfail\n"
          "auth     required                   $MOD authsucc\n"
          "account  required                   $MOD\n" },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_token_in_and_out_of_scope, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_token_expired_revoked_malformed, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_eleventh_token_and_roles, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_allowlist, env_start, env_stop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
