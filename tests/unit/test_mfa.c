/* SPDX-License-Identifier: BSD-3-Clause */
/* The second factor (daemon/domain/mfa.c) on a real SQLite store, each call a
 * request of its own: TOTP enrolment and its confirmation, a time step used
 * once and never one older than the last, backup codes used once and void
 * when a new set is made, disable, reset and the admin's requirement.  The
 * clock is a parameter: codes are computed for chosen steps. */
#include "config.h"

#include "unit.h"

#include <sodium.h>

#include "mfa.h"
#include "totp.h"
#include "store_fixture.h"

#define T0 1700000010 /* 10 s into a 30 s step */
#define STEP0 (T0 / TOTP_STEP)
#define WINDOW 1

static const uint8_t key[KEYFILE_KEY_SIZE] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
static struct acctsec_conf conf;

/* The second factor on the test's store. */
#define MFA(f) (&(struct mfa){ .store = &(f)->s, .key = key })

/* cmocka group setup: libsodium and the policy. */
static int group_setup(void **state) {
        acctsec_conf_defaults(&conf);
        return sodium_init() < 0 ? -1 : 0;
}

/* The code of a step, from the secret the store holds sealed. */
static void code_at(struct store_fixture *f, const char *user, int64_t step, char code[9]) {
        uint8_t sealed[TOTP_SECRET_SIZE + VAULT_OVERHEAD], secret[TOTP_SECRET_SIZE];
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT sealed FROM mfa_totp WHERE user = ?", -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_bytes(st, 0), sizeof(sealed));
        memcpy(sealed, sqlite3_column_blob(st, 0), sizeof(sealed));
        sqlite3_finalize(st);
        assert_int_equal(vault_open(key, sealed, sizeof(sealed), secret), 0);
        assert_int_equal(totp_code(secret, sizeof(secret), step, TOTP_DIGITS, code), 0);
}

static int enroll(struct store_fixture *f, const char *user, int64_t now) {
        char *uri = NULL, *b32 = NULL;
        int r = IN_TXN(&f->s, mfa_totp_enroll(MFA(f), user, now, &uri, &b32));
        assert_true(r < 0 || (uri && b32 && strstr(uri, "otpauth://totp/")));
        free(uri);
        free(b32);
        return r;
}

static int confirm(struct store_fixture *f, const char *user, int64_t now, const char *code,
                   char codes[BACKUP_CODES][BACKUP_CODE_TEXT]) {
        return IN_TXN(&f->s, mfa_totp_confirm(MFA(f), user, now, WINDOW, code, codes));
}

/* alice with an active TOTP, confirmed with the code of STEP0. */
static void enrolled(struct store_fixture *f, char codes[BACKUP_CODES][BACKUP_CODE_TEXT]) {
        char code[9];
        assert_int_equal(enroll(f, "alice", T0), 0);
        code_at(f, "alice", STEP0, code);
        assert_int_equal(confirm(f, "alice", T0, code, codes), 0);
}

static struct attempt login(void) {
        return (struct attempt){ .user = "alice", .service = "sshd", .known = true, .privileged = true,
                                 .factor = "totp", .conf = &conf };
}

static int verify(struct store_fixture *f, int64_t now, const char *code, int64_t *left) {
        struct attempt a = login();
        struct lock_result res;
        return IN_TXN(&f->s, mfa_verify(MFA(f), &a, now, WINDOW, NULL, code, &res, left));
}

static void test_enroll_and_confirm(void **state) {
        struct store_fixture *f = *state;
        char codes[BACKUP_CODES][BACKUP_CODE_TEXT], code[9], first[128], second[128];
        enum acctsec_mfa_state st;

        assert_int_equal(enroll(f, "alice", T0), 0);
        assert_int_equal(mfa_totp_state(MFA(f), "alice", &st), 0);
        assert_int_equal(st, ACCTSEC_MFA_STATE_PENDING);
        assert_int_equal(peek_int(f, "SELECT active FROM mfa_totp WHERE user = 'alice'"), 0);
        snprintf(first, sizeof(first), "%s", peek_text(f, "SELECT hex(sealed) FROM mfa_totp"));
        /* a pending enrolment is started again with a new secret */
        assert_int_equal(enroll(f, "alice", T0 + 5), 0);
        snprintf(second, sizeof(second), "%s", peek_text(f, "SELECT hex(sealed) FROM mfa_totp"));
        assert_string_not_equal(first, second);
        assert_int_equal(peek_int(f, "SELECT created FROM mfa_totp WHERE user = 'alice'"), T0 + 5);
        /* a wrong code activates nothing and makes no backup codes */
        code_at(f, "alice", STEP0, code);
        code[0] = code[0] == '9' ? '0' : (char) (code[0] + 1);
        assert_int_equal(confirm(f, "alice", T0, code, codes), -EACCES);
        assert_int_equal(peek_int(f, "SELECT active FROM mfa_totp"), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM backup_codes"), 0);
        /* the right one does, with ten backup codes, and is used up */
        code_at(f, "alice", STEP0, code);
        assert_int_equal(confirm(f, "alice", T0, code, codes), 0);
        assert_int_equal(mfa_totp_state(MFA(f), "alice", &st), 0);
        assert_int_equal(st, ACCTSEC_MFA_STATE_ACTIVE);
        assert_int_equal(peek_int(f, "SELECT last_step FROM mfa_totp"), STEP0);
        assert_int_equal(peek_int(f, "SELECT activated FROM mfa_totp"), T0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM backup_codes WHERE user = 'alice' AND used = 0"),
                         BACKUP_CODES);
        assert_int_equal(strlen(codes[0]), BACKUP_CODE_TEXT - 1);
        assert_int_equal(peek_events(f, "mfa_enrolled"), 1);
        assert_int_equal(peek_events(f, "backup_codes_generated"), 1);
        /* an active TOTP is never replaced by a new enrolment */
        snprintf(first, sizeof(first), "%s", peek_text(f, "SELECT hex(sealed) FROM mfa_totp"));
        assert_int_equal(enroll(f, "alice", T0 + 60), -EEXIST);
        snprintf(second, sizeof(second), "%s", peek_text(f, "SELECT hex(sealed) FROM mfa_totp"));
        assert_string_equal(first, second);
        assert_int_equal(peek_int(f, "SELECT active FROM mfa_totp"), 1);
        /* nothing left to confirm */
        assert_int_equal(confirm(f, "alice", T0 + 30, code, codes), -ENOENT);
        int64_t n = 0;
        assert_int_equal(mfa_sealed_count(&f->s, &n), 0);
        assert_int_equal(n, 1);
}

static void test_step_once_never_backwards(void **state) {
        struct store_fixture *f = *state;
        char codes[BACKUP_CODES][BACKUP_CODE_TEXT], code[9];
        int64_t left = 0;

        enrolled(f, codes);
        /* the confirmation's code cannot log in */
        code_at(f, "alice", STEP0, code);
        assert_int_equal(verify(f, T0, code, &left), -EALREADY);
        assert_int_equal(left, -1);
        /* the next step's code works once, and is recorded with the login */
        code_at(f, "alice", STEP0 + 1, code);
        assert_int_equal(verify(f, T0 + TOTP_STEP, code, &left), 0);
        assert_int_equal(peek_int(f, "SELECT last_step FROM mfa_totp"), STEP0 + 1);
        assert_int_equal(peek_events(f, "code_used"), 1);
        assert_int_equal(peek_events(f, "auth_success"), 1);
        assert_int_equal(verify(f, T0 + TOTP_STEP, code, &left), -EALREADY);
        /* a code two steps ahead (inside the window later on) moves it on;
         * then the skipped step, still inside the window, is refused */
        code_at(f, "alice", STEP0 + 3, code);
        assert_int_equal(verify(f, T0 + 2 * TOTP_STEP, code, &left), 0);
        code_at(f, "alice", STEP0 + 2, code);
        assert_int_equal(verify(f, T0 + 2 * TOTP_STEP, code, &left), -EALREADY);
        assert_int_equal(peek_int(f, "SELECT last_step FROM mfa_totp"), STEP0 + 3);
        /* out of the window: wrong */
        code_at(f, "alice", STEP0 + 10, code);
        assert_int_equal(verify(f, T0 + 2 * TOTP_STEP, code, &left), -EACCES);
        assert_int_equal(peek_int(f, "SELECT last_step FROM mfa_totp"), STEP0 + 3);
        assert_int_equal(peek_events(f, "code_used"), 2);
}

static void test_backup_codes_once(void **state) {
        struct store_fixture *f = *state;
        char codes[BACKUP_CODES][BACKUP_CODE_TEXT], fresh[BACKUP_CODES][BACKUP_CODE_TEXT], typed[BACKUP_CODE_TEXT];
        int64_t left = 0;

        enrolled(f, codes);
        assert_int_equal(verify(f, T0 + 100, codes[0], &left), 0);
        assert_int_equal(left, BACKUP_CODES - 1);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM backup_codes WHERE used = %d", T0 + 100), 1);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM events WHERE type = 'code_used'"
                                           " AND detail = 'backup code, 9 left'"),
                         1);
        /* used up: refused, and still used at its first time */
        assert_int_equal(verify(f, T0 + 200, codes[0], &left), -EACCES);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM backup_codes WHERE used = %d", T0 + 100), 1);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM backup_codes WHERE used = 0"), BACKUP_CODES - 1);
        /* typed in upper case, with a space for the dash */
        memcpy(typed, codes[1], sizeof(typed));
        typed[5] = ' ';
        for (char *p = typed; *p; p++)
                *p = (char) (*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        assert_int_equal(verify(f, T0 + 300, typed, &left), 0);
        assert_int_equal(left, BACKUP_CODES - 2);
        assert_int_equal(mfa_backup_left(MFA(f), "alice", &left), 0);
        assert_int_equal(left, BACKUP_CODES - 2);
        /* a new set voids the old one */
        assert_int_equal(IN_TXN(&f->s, mfa_backup_generate(MFA(f), "alice", "root", T0 + 400, fresh)), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM backup_codes WHERE user = 'alice'"), BACKUP_CODES);
        assert_int_equal(verify(f, T0 + 500, codes[2], &left), -EACCES);
        assert_int_equal(verify(f, T0 + 500, fresh[2], &left), 0);
        assert_int_equal(left, BACKUP_CODES - 1);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM events WHERE type = 'backup_codes_generated'"
                                           " AND actor = 'root'"),
                         1);
        /* only with an active TOTP: bob has none, and gets no rows */
        assert_int_equal(IN_TXN(&f->s, mfa_backup_generate(MFA(f), "bob", NULL, T0, fresh)), -ENOENT);
        assert_int_equal(enroll(f, "bob", T0), 0);
        assert_int_equal(IN_TXN(&f->s, mfa_backup_generate(MFA(f), "bob", NULL, T0, fresh)), -ENOENT);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM backup_codes WHERE user = 'bob'"), 0);
}

/* alice's verified address, with emailed codes on. */
static void add_email(struct store_fixture *f) {
        assert_int_equal(peek_exec(f, "INSERT INTO email (user, address, codes, updated)"
                                      " VALUES ('alice', 'a@example.com', 1, 1)"),
                         0);
}

static void test_reset(void **state) {
        struct store_fixture *f = *state;
        char codes[BACKUP_CODES][BACKUP_CODE_TEXT];
        bool had = false;

        enrolled(f, codes);
        add_email(f);
        assert_int_equal(IN_TXN(&f->s, mfa_reset(MFA(f), "alice", "root", T0 + 10, &had)), 0);
        assert_true(had);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM mfa_totp"), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM backup_codes"), 0);
        assert_int_equal(peek_int(f, "SELECT codes FROM email WHERE user = 'alice'"), 0);
        assert_string_equal(peek_text(f, "SELECT detail FROM events WHERE type = 'mfa_reset'"),
                            "totp, backup codes, emailed and texted codes removed");
        assert_int_equal(peek_int(f, "SELECT count(*) FROM events WHERE type = 'mfa_reset' AND actor = 'root'"),
                         1);
        /* nothing left: a second reset says so */
        assert_int_equal(IN_TXN(&f->s, mfa_reset(MFA(f), "alice", "root", T0 + 20, &had)), 0);
        assert_false(had);
        assert_string_equal(peek_text(f, "SELECT detail FROM events WHERE type = 'mfa_reset' ORDER BY id DESC"),
                            "none");
        /* and a backup code of the old set is no second factor any more */
        int64_t left;
        assert_int_equal(verify(f, T0 + 30, codes[0], &left), -EACCES);
        /* enrolling again starts from nothing */
        assert_int_equal(enroll(f, "alice", T0 + 40), 0);
        assert_int_equal(peek_int(f, "SELECT active FROM mfa_totp"), 0);
}

static void test_disable(void **state) {
        struct store_fixture *f = *state;
        char codes[BACKUP_CODES][BACKUP_CODE_TEXT], code[9];

        enrolled(f, codes);
        add_email(f);
        /* a wrong code changes nothing */
        assert_int_equal(IN_TXN(&f->s, mfa_disable(MFA(f), "alice", NULL, "000000x", WINDOW, T0 + 30)), -EACCES);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM mfa_totp"), 1);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM backup_codes"), BACKUP_CODES);
        /* the confirmation's step is used already */
        code_at(f, "alice", STEP0, code);
        assert_int_equal(IN_TXN(&f->s, mfa_disable(MFA(f), "alice", NULL, code, WINDOW, T0)), -EALREADY);
        assert_int_equal(peek_events(f, "mfa_disabled"), 0);
        /* a backup code does it */
        assert_int_equal(IN_TXN(&f->s, mfa_disable(MFA(f), "alice", NULL, codes[4], WINDOW, T0 + 30)), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM mfa_totp"), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM backup_codes"), 0);
        assert_int_equal(peek_int(f, "SELECT codes FROM email WHERE user = 'alice'"), 0);
        assert_int_equal(peek_events(f, "mfa_disabled"), 1);
}

static void test_require(void **state) {
        struct store_fixture *f = *state;
        bool on = true;

        assert_int_equal(mfa_required(MFA(f), "carol", &on), 0);
        assert_false(on);
        assert_int_equal(IN_TXN(&f->s, mfa_require(MFA(f), "carol", true, "root", T0)), 0);
        assert_int_equal(mfa_required(MFA(f), "carol", &on), 0);
        assert_true(on);
        assert_int_equal(peek_int(f, "SELECT since FROM mfa_required WHERE user = 'carol' AND actor = 'root'"),
                         T0);
        assert_int_equal(IN_TXN(&f->s, mfa_require(MFA(f), "carol", false, "root", T0 + 1)), 0);
        assert_int_equal(mfa_required(MFA(f), "carol", &on), 0);
        assert_false(on);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM mfa_required"), 0);
        assert_int_equal(peek_events(f, "mfa_required"), 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                store_unit_test(test_enroll_and_confirm),
                store_unit_test(test_step_once_never_backwards),
                store_unit_test(test_backup_codes_once),
                store_unit_test(test_reset),
                store_unit_test(test_disable),
                store_unit_test(test_require),
        };
        return cmocka_run_group_tests(tests, group_setup, NULL);
}
