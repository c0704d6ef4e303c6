/* SPDX-License-Identifier: BSD-3-Clause */
/* Emailed codes on a real SQLite store: lifetime, resend interval, single
 * use, binding to attempt, user and purpose, the try limit.  The clock is
 * a parameter (no sleeping). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "email.h"
#include "store.h"

#define T0 1700000000
#define TTL 1800
#define GAP 180

struct fx {
        char dir[64];
        struct store s;
        uint8_t key[KEYFILE_KEY_SIZE];
};

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof(*f));
        const char *why = NULL;
        strcpy(f->dir, "/tmp/acctsec-email.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        assert_int_equal(store_open(&f->s, f->dir, &why), 0);
        randombytes_buf(f->key, sizeof(f->key));
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        char cmd[128];
        store_close(&f->s);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

/* A new attempt and its first code, at time t. */
static void attempt_with_code(struct fx *f, const char *user, enum email_purpose p, int64_t t,
                              char attempt[EMAIL_ATTEMPT_HEX], char code[EMAIL_CODE_MAX]) {
        char to[EMAIL_ADDRESS_MAX];
        int64_t wait = -1;
        assert_int_equal(store_begin(&f->s), 0);
        assert_int_equal(email_attempt_new_in(&f->s, user, p, "u@example.com", t, attempt), 0);
        assert_int_equal(email_code_issue_in(&f->s, f->key, attempt, user, p, 6, TTL, GAP, t, code, to, &wait), 0);
        assert_int_equal(store_commit(&f->s), 0);
        assert_string_equal(to, "u@example.com");
        assert_int_equal(wait, 0);
        assert_int_equal(strlen(code), 6);
        assert_int_equal(strspn(code, "0123456789"), 6);
        assert_int_equal(strlen(attempt), 32);
}

static int use(struct fx *f, const char *attempt, const char *user, enum email_purpose p, const char *code, int64_t t) {
        assert_int_equal(store_begin(&f->s), 0);
        int r = email_code_use_in(&f->s, f->key, attempt, user, p, code, t);
        assert_int_equal(store_commit(&f->s), 0);
        return r;
}

/* A code that is surely not this one. */
static void other_code(const char *code, char out[EMAIL_CODE_MAX]) {
        strcpy(out, code);
        out[0] = out[0] == '9' ? '0' : (char) (out[0] + 1);
}

static void test_lifetime(void **state) {
        struct fx *f = *state;
        char a[EMAIL_ATTEMPT_HEX], b[EMAIL_ATTEMPT_HEX], ca[EMAIL_CODE_MAX], cb[EMAIL_CODE_MAX];
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, ca);
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, b, cb);
        assert_string_not_equal(a, b);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, ca, T0 + TTL - 1), 0);
        /* single use */
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, ca, T0 + TTL - 1), -ENOENT);
        /* the other attempt's code, at the second it expires: refused and void */
        assert_int_equal(use(f, b, "alice", EMAIL_LOGIN, cb, T0 + TTL), -ETIME);
        assert_int_equal(use(f, b, "alice", EMAIL_LOGIN, cb, T0 + 1), -ENOENT);
}

static void test_resend_interval_and_voiding(void **state) {
        struct fx *f = *state;
        char a[EMAIL_ATTEMPT_HEX], c1[EMAIL_CODE_MAX], c2[EMAIL_CODE_MAX], to[EMAIL_ADDRESS_MAX];
        int64_t wait = 0;
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, c1);
        assert_int_equal(store_begin(&f->s), 0);
        assert_int_equal(email_code_issue_in(&f->s, f->key, a, "alice", EMAIL_LOGIN, 6, TTL, GAP, T0 + GAP - 1, c2, to, &wait),
                         -EAGAIN);
        store_rollback(&f->s);
        assert_int_equal(wait, 1);
        assert_int_equal(store_begin(&f->s), 0);
        assert_int_equal(email_code_issue_in(&f->s, f->key, a, "alice", EMAIL_LOGIN, 8, TTL, GAP, T0 + GAP, c2, to, &wait), 0);
        assert_int_equal(store_commit(&f->s), 0);
        assert_int_equal(strlen(c2), 8);
        /* the new code voids the old one (a six-digit code cannot match eight) */
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, c1, T0 + GAP), -EACCES);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, c2, T0 + GAP), 0);
}

static void test_bound_to_user_purpose_and_attempt(void **state) {
        struct fx *f = *state;
        char a[EMAIL_ATTEMPT_HEX], b[EMAIL_ATTEMPT_HEX], ca[EMAIL_CODE_MAX], cb[EMAIL_CODE_MAX], to[EMAIL_ADDRESS_MAX];
        int64_t wait;
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, ca);
        attempt_with_code(f, "alice", EMAIL_VERIFY, T0, b, cb);
        assert_int_equal(use(f, a, "bob", EMAIL_LOGIN, ca, T0), -ENOENT);
        assert_int_equal(use(f, a, "alice", EMAIL_VERIFY, ca, T0), -ENOENT);
        if (strcmp(ca, cb) != 0)
                assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, cb, T0), -EACCES);
        /* bob cannot have alice's attempt send him a code */
        assert_int_equal(store_begin(&f->s), 0);
        assert_int_equal(email_code_issue_in(&f->s, f->key, a, "bob", EMAIL_LOGIN, 6, TTL, 0, T0, cb, to, &wait),
                         -ENOENT);
        /* nor a code for another purpose through a login attempt */
        assert_int_equal(email_code_issue_in(&f->s, f->key, a, "alice", EMAIL_DISABLE, 6, TTL, 0, T0, cb, to, &wait),
                         -ENOENT);
        store_rollback(&f->s);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, ca, T0), 0);
}

static void test_try_limit(void **state) {
        struct fx *f = *state;
        char a[EMAIL_ATTEMPT_HEX], c[EMAIL_CODE_MAX], wrong[EMAIL_CODE_MAX];
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, c);
        other_code(c, wrong);
        for (int i = 0; i < EMAIL_TRIES_MAX; i++)
                assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, wrong, T0), i < EMAIL_TRIES_MAX ? -EACCES : -ENOENT);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, c, T0), -ENOENT);
}

static void test_unsend_allows_a_new_send(void **state) {
        struct fx *f = *state;
        char a[EMAIL_ATTEMPT_HEX], c[EMAIL_CODE_MAX], c2[EMAIL_CODE_MAX], to[EMAIL_ADDRESS_MAX];
        int64_t wait = 0;
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, c);
        assert_int_equal(email_code_unsend(&f->s, a, T0), 0);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, c, T0), -ENOENT);
        assert_int_equal(store_begin(&f->s), 0);
        assert_int_equal(email_code_issue_in(&f->s, f->key, a, "alice", EMAIL_LOGIN, 6, TTL, GAP, T0, c2, to, &wait), 0);
        assert_int_equal(store_commit(&f->s), 0);
}

static void test_addresses_and_purge(void **state) {
        struct fx *f = *state;
        struct email_info e;
        char a[EMAIL_ATTEMPT_HEX], b[EMAIL_ATTEMPT_HEX], c[EMAIL_CODE_MAX], latest[EMAIL_ATTEMPT_HEX];
        int64_t last = -1;
        assert_int_equal(store_begin(&f->s), 0);
        assert_int_equal(email_set_in(&f->s, "alice", "old@example.com", true, T0), 0);
        assert_int_equal(email_set_in(&f->s, "alice", "new@example.com", false, T0), 0);
        assert_int_equal(store_commit(&f->s), 0);
        assert_int_equal(email_get(&f->s, "alice", &e), 0);
        assert_string_equal(e.address, "old@example.com"); /* still in use until verified */
        assert_string_equal(e.pending, "new@example.com");
        assert_int_equal(store_begin(&f->s), 0);
        assert_int_equal(email_promote_in(&f->s, "alice", T0), 0);
        assert_int_equal(email_promote_in(&f->s, "alice", T0), -ENOENT);
        assert_int_equal(store_commit(&f->s), 0);
        assert_int_equal(email_get(&f->s, "alice", &e), 0);
        assert_string_equal(e.address, "new@example.com");
        assert_string_equal(e.pending, "");
        assert_int_equal(email_get(&f->s, "nobody", &e), 0);
        assert_string_equal(e.address, "");

        attempt_with_code(f, "alice", EMAIL_VERIFY, T0, a, c);
        assert_int_equal(email_last_sent(&f->s, "alice", EMAIL_VERIFY, &last), 0);
        assert_int_equal(last, T0);
        /* a day later the old attempt is purged when a new one starts */
        attempt_with_code(f, "alice", EMAIL_VERIFY, T0 + 24 * 3600 + 1, b, c);
        assert_int_equal(email_attempt_of(&f->s, "alice", EMAIL_VERIFY, latest), 0);
        assert_string_equal(latest, b);
        assert_int_equal(use(f, a, "alice", EMAIL_VERIFY, c, T0 + 24 * 3600 + 1), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_lifetime, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resend_interval_and_voiding, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bound_to_user_purpose_and_attempt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_try_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unsend_allows_a_new_send, setup, teardown),
                cmocka_unit_test_setup_teardown(test_addresses_and_purge, setup, teardown),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
