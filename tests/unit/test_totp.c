/* SPDX-License-Identifier: BSD-3-Clause */
/* TOTP: RFC 6238 vectors, the window, replay refusal, malformed codes, and
 * the sealed-secret vault.  The clock is a parameter (no sleeping). */
#include "config.h"

#include "unit.h"

#include <liboath/oath.h>
#include <sodium.h>

#include "backup.h"
#include "keyfile.h"
#include "totp.h"

static const uint8_t rfc_secret[] = "12345678901234567890"; /* RFC 6238 appendix B, SHA1 */

static void test_rfc6238_vectors(void **state) {
        static const struct {
                int64_t t;
                const char *code;
        } v[] = {
                { 59, "94287082" },         { 1111111109, "07081804" }, { 1111111111, "14050471" },
                { 1234567890, "89005924" }, { 2000000000, "69279037" }, { 20000000000LL, "65353130" },
        };
        char out[9];
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                assert_int_equal(totp_code(rfc_secret, 20, v[i].t / TOTP_STEP, 8, out), 0);
                assert_string_equal(out, v[i].code);
        }
        assert_int_equal(totp_code(rfc_secret, 20, 1, 5, out), -EINVAL);
        assert_int_equal(totp_code(rfc_secret, 20, -1, 6, out), -EINVAL);
}

static void code_at(int64_t step, char out[9]) {
        assert_int_equal(totp_code(rfc_secret, 20, step, 6, out), 0);
}

static void test_window_and_replay(void **state) {
        const int64_t now = 1111111111, step = now / TOTP_STEP;
        char c[9];
        int64_t got = 0;

        code_at(step, c);
        assert_int_equal(totp_check(rfc_secret, 20, now, 1, 0, c, &got), 0);
        assert_int_equal(got, step);
        /* The same step again, or an older one, is a replay. */
        assert_int_equal(totp_check(rfc_secret, 20, now, 1, step, c, &got), -EALREADY);
        code_at(step - 1, c);
        assert_int_equal(totp_check(rfc_secret, 20, now, 1, step, c, &got), -EALREADY);
        /* One step of drift either way is accepted with window 1, two are not. */
        code_at(step + 1, c);
        assert_int_equal(totp_check(rfc_secret, 20, now, 1, step, c, &got), 0);
        assert_int_equal(got, step + 1);
        code_at(step + 2, c);
        assert_int_equal(totp_check(rfc_secret, 20, now, 1, 0, c, &got), -EACCES);
        assert_int_equal(totp_check(rfc_secret, 20, now, 2, 0, c, &got), 0);
        code_at(step - 2, c);
        assert_int_equal(totp_check(rfc_secret, 20, now, 0, 0, c, &got), -EACCES);
}

static void test_malformed_codes(void **state) {
        const int64_t now = 1111111111;
        int64_t got;
        char c[9];
        static const char *const bad[] = { "", "12345", "1234567", "12345a", " 12345", "123 456", "-12345" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(totp_check(rfc_secret, 20, now, 1, 0, bad[i], &got), -EACCES);
        code_at(now / TOTP_STEP, c);
        assert_int_equal(totp_check(rfc_secret, 20, now, TOTP_WINDOW_MAX + 1, 0, c, &got), -EACCES);
}

static void test_uri(void **state) {
        char *uri = NULL, *b32 = NULL;
        assert_int_equal(totp_uri(rfc_secret, 20, "a b&c", "acctsec", &uri, &b32), 0);
        assert_string_equal(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_string_equal(uri, "otpauth://totp/acctsec:a%20b%26c?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                                 "&issuer=acctsec&algorithm=SHA1&digits=6&period=30");
        free(uri);
        free(b32);
}

static void test_vault(void **state) {
        uint8_t key[KEYFILE_KEY_SIZE], other[KEYFILE_KEY_SIZE], sealed[20 + VAULT_OVERHEAD], plain[20];
        randombytes_buf(key, sizeof(key));
        randombytes_buf(other, sizeof(other));
        vault_seal(key, rfc_secret, 20, sealed);
        assert_int_equal(vault_open(key, sealed, sizeof(sealed), plain), 0);
        assert_memory_equal(plain, rfc_secret, 20);
        assert_int_equal(vault_open(other, sealed, sizeof(sealed), plain), -EBADMSG);
        sealed[30] ^= 1;
        assert_int_equal(vault_open(key, sealed, sizeof(sealed), plain), -EBADMSG);
        assert_int_equal(vault_open(key, sealed, 10, plain), -EBADMSG);
}

static void test_backup_codes(void **state) {
        char a[BACKUP_CODE_TEXT], b[BACKUP_CODE_TEXT], canon[BACKUP_CODE_CHARS + 1];
        uint8_t key[KEYFILE_KEY_SIZE], other[KEYFILE_KEY_SIZE], h1[BACKUP_HASH_SIZE], h2[BACKUP_HASH_SIZE];

        backup_code_new(a);
        backup_code_new(b);
        assert_int_equal(strlen(a), 11);
        assert_int_equal(a[5], '-');
        assert_string_not_equal(a, b);
        assert_int_equal(strspn(a, "abcdefghjkmnpqrstuvwxyz23456789-"), 11);
        /* Typed loosely: case, spaces and dashes do not matter. */
        assert_true(backup_code_normalize("ABCDE-FGHJK", canon));
        assert_string_equal(canon, "abcdefghjk");
        assert_true(backup_code_normalize(" abcde fghjk ", canon));
        assert_string_equal(canon, "abcdefghjk");
        /* Look-alikes, wrong lengths and digits-only TOTP codes are not backup codes. */
        static const char *const bad[] = { "abcde-fghj", "abcde-fghjkm", "abcde-fghj0", "abcde-fghjl",
                                           "123456", "", "abcde_fghjk" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(backup_code_normalize(bad[i], canon));
        /* Keyed: the same code under another key hashes differently. */
        randombytes_buf(key, sizeof(key));
        randombytes_buf(other, sizeof(other));
        assert_true(backup_code_normalize(a, canon));
        backup_code_hash(key, canon, h1);
        backup_code_hash(key, canon, h2);
        assert_memory_equal(h1, h2, sizeof(h1));
        backup_code_hash(other, canon, h2);
        assert_memory_not_equal(h1, h2, sizeof(h1));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rfc6238_vectors), cmocka_unit_test(test_window_and_replay),
                cmocka_unit_test(test_malformed_codes), cmocka_unit_test(test_uri),
                cmocka_unit_test(test_vault), cmocka_unit_test(test_backup_codes),
        };
        if (sodium_init() < 0 || oath_init() != OATH_OK)
                return 1;
        return cmocka_run_group_tests_name("totp", tests, NULL, NULL);
}
