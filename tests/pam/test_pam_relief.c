/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tier 3, second-factor relief through the real module and stacks: from a
 * trusted network the mfa line asks nothing and the password decides; a
 * wrong password is still refused; sshd's keyboard-interactive alone (no
 * first factor) is asked for the code even there; a right code from an
 * allowlisted source is remembered for the address, or for the ssh key
 * sshd passed, and the next login from it is not asked; a revoke brings the
 * prompt back.  Counted by the prompts the conversation saw, and the rows
 * and events left behind.
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

#include "harness.h"
#include "totp_enrol.h"

#define SSH_KEY "SSH_AUTH_INFO_0=publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEYEXAMPLEKEYEXAMPLEKEYEXAMP"
#define SSH_NO_METHOD "SSH_AUTH_INFO_0=" /* keyboard-interactive with no method before it */

static struct totp_user alice;

struct answers {
        const char *a[3];
        int next;
        int prompts;
};

static int answer_in_turn(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        struct answers *c = data;
        struct pam_response *r = calloc((size_t) n, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++)
                if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
                        c->prompts++;
                        r[i].resp = strdup(c->next < 3 && c->a[c->next] ? c->a[c->next++] : "");
                }
        *resp = r;
        return PAM_SUCCESS;
}

/* One pam_authenticate from rhost (ssh_info as sshd sets it, or NULL);
 * the answers in turn; *ret_prompts how many were asked. */
static int auth(const char *service, const char *rhost, const char *ssh_info, const char *first, const char *second,
                int *ret_prompts) {
        struct answers c = { .a = { first, second } };
        struct pam_conv conv = { answer_in_turn, &c };
        pam_handle_t *pamh = NULL;
        assert_int_equal(pam_start(service, "alice", &conv, &pamh), PAM_SUCCESS);
        no_fail_delay(pamh);
        assert_int_equal(pam_set_item(pamh, PAM_RHOST, rhost), PAM_SUCCESS);
        if (ssh_info)
                assert_int_equal(pam_putenv(pamh, ssh_info), PAM_SUCCESS);
        int r = pam_authenticate(pamh, 0);
        pam_end(pamh, r);
        *ret_prompts = c.prompts;
        return r;
}

static int start_with(void **state, const char *conf) {
        int r = env_start(state);
        env_reconfigure(*state, conf);
        totp_enrol(*state, "alice", &alice);
        return r;
}

static int trusted_start(void **state) {
        return start_with(state, "totp_window = 3\nmfa_skip_networks = 10.1.0.0/16\n");
}

static int remember_start(void **state) {
        return start_with(state, "totp_window = 3\nremember_device = 1d\nallowlist = 192.0.2.0/24\n");
}

static void test_trusted_network(void **state) {
        struct env *e = *state;
        int prompts = 0;
        assert_int_equal(auth("mfa", "10.1.2.3", NULL, ALICE_PW, NULL, &prompts), PAM_SUCCESS);
        assert_int_equal(prompts, 1); /* the password only */
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'mfa_skipped'"
                                   " AND detail = 'trusted network 10.1.0.0/16'", NULL), 1);
        /* the skip is no grant: a wrong password still fails */
        assert_int_equal(auth("mfa", "10.1.2.3", NULL, "wrong", NULL, &prompts), PAM_AUTH_ERR);
        /* outside, the code is asked (and a missing one refused) */
        assert_int_equal(auth("mfa", "192.0.2.7", NULL, ALICE_PW, "", &prompts), PAM_AUTH_ERR);
        assert_int_equal(prompts, 2);
        /* keys plus a code: the key is the first factor, so no prompt at all */
        assert_int_equal(auth("keycode", "10.1.2.3", SSH_KEY, NULL, NULL, &prompts), PAM_SUCCESS);
        assert_int_equal(prompts, 0);
        /* keyboard-interactive alone: nothing checked before, so the code is asked */
        assert_int_equal(auth("keycode", "10.1.2.3", SSH_NO_METHOD, "000000", NULL, &prompts), PAM_AUTH_ERR);
        assert_int_equal(prompts, 1);
        assert_int_equal(db_events(e, "mfa_skipped"), 2);
}

static void test_remembered_device(void **state) {
        struct env *e = *state;
        char c[16], out[4096];
        int prompts = 0;
        assert_int_equal(auth("mfa", "192.0.2.7", NULL, ALICE_PW, totp_code_at(&alice, 0, c), &prompts), PAM_SUCCESS);
        assert_int_equal(prompts, 2);
        assert_int_equal(db_int(e, "SELECT count(*) FROM devices WHERE kind = 'address' AND device = ?", "192.0.2.7"), 1);
        /* the next login from it: the password only */
        assert_int_equal(auth("mfa", "192.0.2.7", NULL, ALICE_PW, NULL, &prompts), PAM_SUCCESS);
        assert_int_equal(prompts, 1);
        assert_int_equal(db_events(e, "mfa_skipped"), 1);
        assert_int_equal(auth("mfa", "192.0.2.8", NULL, ALICE_PW, "", &prompts), PAM_AUTH_ERR);
        assert_int_equal(prompts, 2);
        /* the key sshd passed is the device, whatever listed source it comes from */
        assert_int_equal(auth("keycode", "192.0.2.8", SSH_KEY, totp_code_at(&alice, 1, c), NULL, &prompts),
                         PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM devices WHERE kind = 'key'", NULL), 1);
        assert_int_equal(auth("keycode", "192.0.2.9", SSH_KEY, NULL, NULL, &prompts), PAM_SUCCESS);
        assert_int_equal(prompts, 0);
        /* revoked: the code is asked again */
        const char *revoke[] = { "device", "revoke", "--all", "--user", "alice", NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), revoke), 0);
        assert_int_equal(auth("mfa", "192.0.2.7", NULL, ALICE_PW, "", &prompts), PAM_AUTH_ERR);
        assert_int_equal(prompts, 2);
        assert_int_equal(db_events(e, "device_revoked"), 1);
}

static const struct service_def services[] = {
        { "mfa", NULL, NULL, true, false, NULL },
        /* sshd: AuthenticationMethods publickey,keyboard-interactive */
        { "keycode", NULL, NULL, false, false,
          "auth     requisite                  $MOD preauth\n"
          "auth     requisite                  $MOD mfa\n" },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        if (oath_init() != OATH_OK)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_trusted_network, trusted_start, env_stop),
                cmocka_unit_test_setup_teardown(test_remembered_device, remember_start, env_stop),
        };
        return cmocka_run_group_tests_name("pam_relief", tests, NULL, NULL);
}
