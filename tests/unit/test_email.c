/* SPDX-License-Identifier: BSD-3-Clause */
/* Emailed codes on a real SQLite store: lifetime, resend interval, single
 * use, binding to attempt, user and purpose, the try limit, and the rows
 * each leaves behind.  Each call runs in a request's transaction
 * (txn_begin/txn_end), as in the daemon.  The clock is a parameter (no
 * sleeping). */
#include "config.h"

#include "unit.h"

#include <sodium.h>

#include "email.h"
#include "store_fixture.h"

#define T0 1700000000
#define TTL 1800
#define GAP 180

static uint8_t key[KEYFILE_KEY_SIZE];

/* cmocka group setup: libsodium and a random key. */
static int group_setup(void **state) {
        if (sodium_init() < 0)
                return -1;
        randombytes_buf(key, sizeof(key));
        return 0;
}

/* A new attempt and its first code, at time t. */
static void attempt_with_code(struct store_fixture *f, const char *user, enum email_purpose p, int64_t t,
                              char attempt[EMAIL_ATTEMPT_HEX], char code[EMAIL_CODE_MAX]) {
        char to[EMAIL_ADDRESS_MAX];
        int64_t wait = -1;
        txn_begin(&f->s);
        assert_int_equal(email_attempt_new_in(&f->s, user, p, "u@example.com", t, attempt), 0);
        assert_int_equal(email_code_issue_in(&f->s, key, attempt, user, p, 6, TTL, GAP, t, code, to, &wait), 0);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_string_equal(to, "u@example.com");
        assert_int_equal(wait, 0);
        assert_int_equal(strlen(code), 6);
        assert_int_equal(strspn(code, "0123456789"), 6);
        assert_int_equal(strlen(attempt), 32);
}

static int use(struct store_fixture *f, const char *attempt, const char *user, enum email_purpose p, const char *code, int64_t t) {
        return IN_TXN(&f->s, email_code_use_in(&f->s, key, attempt, user, p, code, t));
}

/* A column of an attempt's row, as committed (-1: no row; NULL: 0). */
static int64_t code_col(struct store_fixture *f, const char *attempt, const char *expr) {
        return peek_int(f, "SELECT %s FROM email_codes WHERE attempt = '%s'", expr, attempt);
}

static bool live(struct store_fixture *f, const char *attempt) {
        return code_col(f, attempt, "hash IS NOT NULL") == 1;
}

/* A code that is surely not this one. */
static void other_code(const char *code, char out[EMAIL_CODE_MAX]) {
        strcpy(out, code);
        out[0] = out[0] == '9' ? '0' : (char) (out[0] + 1);
}

static void test_lifetime(void **state) {
        struct store_fixture *f = *state;
        char a[EMAIL_ATTEMPT_HEX], b[EMAIL_ATTEMPT_HEX], ca[EMAIL_CODE_MAX], cb[EMAIL_CODE_MAX];
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, ca);
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, b, cb);
        assert_string_not_equal(a, b);
        assert_true(live(f, a) && live(f, b));
        assert_int_equal(code_col(f, a, "expires"), T0 + TTL);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, ca, T0 + TTL - 1), 0);
        assert_false(live(f, a)); /* gone for good, the attempt's row stays */
        assert_true(live(f, b));
        /* single use */
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, ca, T0 + TTL - 1), -ENOENT);
        assert_int_equal(code_col(f, a, "tries"), 0); /* not a wrong code */
        /* the other attempt's code, at the second it expires: refused and void */
        assert_int_equal(use(f, b, "alice", EMAIL_LOGIN, cb, T0 + TTL), -ETIME);
        assert_false(live(f, b));
        assert_int_equal(use(f, b, "alice", EMAIL_LOGIN, cb, T0 + 1), -ENOENT);
}

static void test_resend_interval_and_voiding(void **state) {
        struct store_fixture *f = *state;
        char a[EMAIL_ATTEMPT_HEX], c1[EMAIL_CODE_MAX], c2[EMAIL_CODE_MAX], to[EMAIL_ADDRESS_MAX];
        int64_t wait = 0;
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, c1);
        txn_begin(&f->s);
        assert_int_equal(email_code_wait(&f->s, a, "alice", EMAIL_LOGIN, GAP, T0 + GAP - 1, &wait), -EAGAIN);
        assert_int_equal(wait, 1);
        wait = 0;
        assert_int_equal(email_code_issue_in(&f->s, key, a, "alice", EMAIL_LOGIN, 6, TTL, GAP, T0 + GAP - 1, c2, to, &wait),
                         -EAGAIN);
        assert_false(f->s.in_txn); /* refused: nothing was written */
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(wait, 1);
        assert_int_equal(code_col(f, a, "sent"), T0);
        assert_int_equal(code_col(f, a, "expires"), T0 + TTL);
        assert_true(live(f, a));
        txn_begin(&f->s);
        assert_int_equal(email_code_wait(&f->s, a, "alice", EMAIL_LOGIN, GAP, T0 + GAP, &wait), 0);
        assert_int_equal(email_code_issue_in(&f->s, key, a, "alice", EMAIL_LOGIN, 8, TTL, GAP, T0 + GAP, c2, to, &wait), 0);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(strlen(c2), 8);
        assert_int_equal(code_col(f, a, "sent"), T0 + GAP);
        assert_int_equal(code_col(f, a, "expires"), T0 + GAP + TTL);
        /* the new code voids the old one (a six-digit code cannot match eight) */
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, c1, T0 + GAP), -EACCES);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, c2, T0 + GAP), 0);
}

static void test_bound_to_user_purpose_and_attempt(void **state) {
        struct store_fixture *f = *state;
        char a[EMAIL_ATTEMPT_HEX], b[EMAIL_ATTEMPT_HEX], ca[EMAIL_CODE_MAX], cb[EMAIL_CODE_MAX], to[EMAIL_ADDRESS_MAX];
        int64_t wait;
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, ca);
        attempt_with_code(f, "alice", EMAIL_VERIFY, T0, b, cb);
        assert_int_equal(use(f, a, "bob", EMAIL_LOGIN, ca, T0), -ENOENT);
        assert_int_equal(use(f, a, "alice", EMAIL_VERIFY, ca, T0), -ENOENT);
        if (strcmp(ca, cb) != 0)
                assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, cb, T0), -EACCES);
        /* bob cannot have alice's attempt send him a code */
        txn_begin(&f->s);
        assert_int_equal(email_code_wait(&f->s, a, "bob", EMAIL_LOGIN, 0, T0, &wait), -ENOENT);
        assert_int_equal(email_code_issue_in(&f->s, key, a, "bob", EMAIL_LOGIN, 6, TTL, 0, T0, cb, to, &wait),
                         -ENOENT);
        /* nor a code for another purpose through a login attempt */
        assert_int_equal(email_code_issue_in(&f->s, key, a, "alice", EMAIL_DISABLE, 6, TTL, 0, T0, cb, to, &wait),
                         -ENOENT);
        assert_false(f->s.in_txn);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, ca, T0), 0);
}

static void test_try_limit(void **state) {
        struct store_fixture *f = *state;
        char a[EMAIL_ATTEMPT_HEX], c[EMAIL_CODE_MAX], wrong[EMAIL_CODE_MAX];
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, c);
        other_code(c, wrong);
        for (int i = 0; i < EMAIL_TRIES_MAX; i++) {
                assert_true(live(f, a));
                assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, wrong, T0), -EACCES);
                assert_int_equal(code_col(f, a, "tries"), i + 1); /* each wrong code counted, committed */
        }
        assert_false(live(f, a)); /* the fifth voided it */
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, wrong, T0), -ENOENT);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, c, T0), -ENOENT);
        assert_int_equal(code_col(f, a, "tries"), EMAIL_TRIES_MAX);
}

static void test_unsend_allows_a_new_send(void **state) {
        struct store_fixture *f = *state;
        char a[EMAIL_ATTEMPT_HEX], c[EMAIL_CODE_MAX], c2[EMAIL_CODE_MAX], to[EMAIL_ADDRESS_MAX];
        int64_t wait = 0;
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, c);
        assert_int_equal(IN_TXN(&f->s, email_code_unsend(&f->s, a, T0)), 0);
        assert_false(live(f, a));
        assert_int_equal(code_col(f, a, "sent"), 0);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, c, T0), -ENOENT);
        assert_int_equal(
                IN_TXN(&f->s, email_code_issue_in(&f->s, key, a, "alice", EMAIL_LOGIN, 6, TTL, GAP, T0, c2, to, &wait)),
                0);
        assert_true(live(f, a));
}

static void test_addresses_and_purge(void **state) {
        struct store_fixture *f = *state;
        struct email_info e;
        char a[EMAIL_ATTEMPT_HEX], b[EMAIL_ATTEMPT_HEX], c[EMAIL_CODE_MAX], latest[EMAIL_ATTEMPT_HEX];
        int64_t last = -1;
        txn_begin(&f->s);
        assert_int_equal(email_set_in(&f->s, "alice", "old@example.com", true, T0), 0);
        assert_int_equal(email_set_in(&f->s, "alice", "new@example.com", false, T0), 0);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(email_get(&f->s, "alice", &e), 0);
        assert_string_equal(e.address, "old@example.com"); /* still in use until verified */
        assert_string_equal(e.pending, "new@example.com");
        txn_begin(&f->s);
        assert_int_equal(email_promote_in(&f->s, "alice", T0), 0);
        assert_int_equal(email_promote_in(&f->s, "alice", T0), -ENOENT);
        assert_int_equal(txn_end(&f->s, true), 0);
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
        assert_int_equal(code_col(f, a, "1"), -1); /* the row is gone */
        assert_int_equal(code_col(f, b, "1"), 1);
}


/* Another daemon sends a code for the attempt after the interval was
 * checked: the send decides again, refuses, and leaves that code alone. */
static void test_send_in_between_is_seen(void **state) {
        struct store_fixture *f = *state;
        char a[EMAIL_ATTEMPT_HEX], c[EMAIL_CODE_MAX], c2[EMAIL_CODE_MAX], to[EMAIL_ADDRESS_MAX];
        int64_t wait = 0;
        attempt_with_code(f, "alice", EMAIL_LOGIN, T0, a, c);
        txn_begin(&f->s);
        assert_int_equal(email_code_wait(&f->s, a, "alice", EMAIL_LOGIN, GAP, T0 + GAP, &wait), 0);
        assert_int_equal(peek_exec(f, "UPDATE email_codes SET sent = %d WHERE attempt = '%s'", T0 + GAP, a), 0);
        assert_int_equal(
                email_code_issue_in(&f->s, key, a, "alice", EMAIL_LOGIN, 6, TTL, GAP, T0 + GAP, c2, to, &wait),
                -EAGAIN);
        assert_int_equal(wait, GAP);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(use(f, a, "alice", EMAIL_LOGIN, c, T0 + GAP), 0);
}

/* An address check's code is used only while an address waits for it: a
 * right code with none is refused and kept (nothing to promote); a wrong
 * one is counted and an expired one voided all the same. */
static void test_address_check_needs_a_pending_address(void **state) {
        struct store_fixture *f = *state;
        char a[EMAIL_ATTEMPT_HEX], b[EMAIL_ATTEMPT_HEX], c[EMAIL_CODE_MAX], cb[EMAIL_CODE_MAX], wrong[EMAIL_CODE_MAX];
        attempt_with_code(f, "alice", EMAIL_VERIFY, T0, a, c);
        other_code(c, wrong);
        assert_int_equal(use(f, a, "alice", EMAIL_VERIFY, wrong, T0), -EACCES);
        assert_int_equal(code_col(f, a, "tries"), 1);
        assert_int_equal(use(f, a, "alice", EMAIL_VERIFY, c, T0), -ENOENT);
        assert_true(live(f, a));
        assert_int_equal(IN_TXN(&f->s, email_set_in(&f->s, "alice", "new@example.com", false, T0)), 0);
        assert_int_equal(use(f, a, "alice", EMAIL_VERIFY, c, T0 + 1), 0);
        assert_false(live(f, a));
        attempt_with_code(f, "bob", EMAIL_VERIFY, T0, b, cb);
        assert_int_equal(use(f, b, "bob", EMAIL_VERIFY, cb, T0 + TTL), -ETIME);
        assert_false(live(f, b));
}

static int64_t attempts(struct store_fixture *f, const char *user, enum email_purpose p) {
        return peek_int(f, "SELECT count(*) FROM email_codes WHERE user = '%s' AND purpose = %d", user, (int) p);
}

/* Address checks and disable codes: the interval counts per user and
 * purpose, in the insert of the new attempt; a refusal writes nothing. */
static void test_spaced_attempts(void **state) {
        struct store_fixture *f = *state;
        char a[EMAIL_ATTEMPT_HEX], b[EMAIL_ATTEMPT_HEX], c[EMAIL_CODE_MAX];
        int64_t wait = 0;
        attempt_with_code(f, "alice", EMAIL_VERIFY, T0, a, c);
        txn_begin(&f->s);
        assert_int_equal(email_attempt_new_spaced_in(&f->s, "alice", EMAIL_VERIFY, "u@example.com", GAP, T0 + GAP - 10,
                                                     b, &wait),
                         -EAGAIN);
        assert_int_equal(wait, 10);
        assert_int_equal(email_attempt_new_spaced_in(&f->s, "alice", EMAIL_DISABLE, "u@example.com", GAP, T0 + 1, b,
                                                     &wait),
                         0);
        assert_int_equal(
                email_attempt_new_spaced_in(&f->s, "bob", EMAIL_VERIFY, "b@example.com", GAP, T0 + 1, b, &wait), 0);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(attempts(f, "alice", EMAIL_VERIFY), 1);
        assert_int_equal(attempts(f, "alice", EMAIL_DISABLE), 1);
        assert_int_equal(attempts(f, "bob", EMAIL_VERIFY), 1);
        /* a code that could not go out holds nothing back */
        txn_begin(&f->s);
        assert_int_equal(email_code_unsend(&f->s, a, T0 + 1), 0);
        assert_int_equal(
                email_attempt_new_spaced_in(&f->s, "alice", EMAIL_VERIFY, "u@example.com", GAP, T0 + 2, b, &wait), 0);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(attempts(f, "alice", EMAIL_VERIFY), 2);
        assert_int_equal(code_col(f, b, "created"), T0 + 2);
}

/* Emailed login codes go on only with a verified address, as written. */
static void test_codes_need_a_verified_address(void **state) {
        struct store_fixture *f = *state;
        txn_begin(&f->s);
        assert_int_equal(email_codes_enable_in(&f->s, "alice", true, T0), -ENOENT); /* no row */
        assert_int_equal(email_codes_enable_in(&f->s, "alice", false, T0), 0);
        assert_int_equal(email_set_in(&f->s, "alice", "new@example.com", false, T0), 0);
        assert_int_equal(email_codes_enable_in(&f->s, "alice", true, T0), -ENOENT); /* pending only */
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(peek_int(f, "SELECT codes FROM email WHERE user = 'alice'"), 0);
        txn_begin(&f->s);
        assert_int_equal(email_set_in(&f->s, "alice", "a@example.com", true, T0), 0);
        assert_int_equal(email_codes_enable_in(&f->s, "alice", true, T0 + 1), 0);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(peek_int(f, "SELECT codes FROM email WHERE user = 'alice'"), 1);
        assert_int_equal(peek_int(f, "SELECT updated FROM email WHERE user = 'alice'"), T0 + 1);
}

/* A request that rolls back leaves nothing behind. */
static void test_rolled_back_request_leaves_nothing(void **state) {
        struct store_fixture *f = *state;
        char a[EMAIL_ATTEMPT_HEX];
        struct email_info e;
        txn_begin(&f->s);
        assert_int_equal(email_set_in(&f->s, "alice", "a@example.com", true, T0), 0);
        assert_int_equal(email_attempt_new_in(&f->s, "alice", EMAIL_LOGIN, "a@example.com", T0, a), 0);
        assert_int_equal(txn_end(&f->s, false), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM email"), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM email_codes"), 0);
        assert_int_equal(email_get(&f->s, "alice", &e), 0);
        assert_string_equal(e.address, "");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                store_unit_test(test_lifetime),
                store_unit_test(test_resend_interval_and_voiding),
                store_unit_test(test_bound_to_user_purpose_and_attempt),
                store_unit_test(test_try_limit),
                store_unit_test(test_unsend_allows_a_new_send),
                store_unit_test(test_addresses_and_purge),
                store_unit_test(test_send_in_between_is_seen),
                store_unit_test(test_address_check_needs_a_pending_address),
                store_unit_test(test_spaced_attempts),
                store_unit_test(test_codes_need_a_verified_address),
                store_unit_test(test_rolled_back_request_leaves_nothing),
        };
        return cmocka_run_group_tests(tests, group_setup, NULL);
}
