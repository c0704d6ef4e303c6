/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the API token format: common/token.c. */
#include "config.h"

#include "unit.h"

#include "token.h"

/* Computed independently (Python: int.from_bytes, zlib.crc32). */
#define TOKEN_ZERO "acst_0000000000000000000000000000000000000000000" "0KTL91"
#define TOKEN_ONE "acst_0000000000000000000000000000000000000000001" "1qk6hR"
#define TOKEN_FF "acst_yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1" "3OeJjP"
#define TOKEN_SEQ "acst_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf" "19XThL"
/* Bodies that decode to 2^256 and 62^43 - 1, with their right checksums:
 * not the text of any 32 bytes. */
#define TOKEN_2_256 "acst_yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp2" "0axml7"
#define TOKEN_MAX "acst_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" "24oYEU"
/* Bytes outside the alphabet, with the checksum of what is there. */
#define TOKEN_BANG "acst_000000000000000000000000000000000000000000!" "2D46uH"
#define TOKEN_B64 "acst_00000000000000000000+000000000000000000000/" "4FceEr"
#define TOKEN_HIGH "acst_000000000000000000000000000000000000000000\x80" "3yqsBL"

static bool in_alphabet(char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void assert_shape(const char *t) {
        assert_int_equal(strlen(t), TOKEN_LEN);
        assert_int_equal(TOKEN_LEN, 54);
        assert_memory_equal(t, "acst_", 5);
        for (size_t i = 5; i < TOKEN_LEN; i++)
                assert_true(in_alphabet(t[i]));
}

static void format(uint8_t fill, char out[TOKEN_TEXT]) {
        uint8_t b[TOKEN_SECRET_BYTES];
        memset(b, fill, sizeof(b));
        token_format(b, out);
}

static void test_known(void **state) {
        uint8_t b[TOKEN_SECRET_BYTES];
        char t[TOKEN_TEXT + 8];

        memset(t, 'X', sizeof(t));
        format(0x00, t);
        assert_string_equal(t, TOKEN_ZERO);
        for (size_t i = TOKEN_TEXT; i < sizeof(t); i++) /* nothing written past the end */
                assert_int_equal(t[i], 'X');
        format(0xff, t);
        assert_string_equal(t, TOKEN_FF);
        for (size_t i = 0; i < sizeof(b); i++)
                b[i] = (uint8_t) i;
        token_format(b, t);
        assert_string_equal(t, TOKEN_SEQ);
        assert_int_equal(b[31], 31); /* the input is not consumed */
        memset(b, 0, sizeof(b));
        b[31] = 1;
        token_format(b, t);
        assert_string_equal(t, TOKEN_ONE);

        assert_true(token_valid(TOKEN_ZERO));
        assert_true(token_valid(TOKEN_ONE));
        assert_true(token_valid(TOKEN_FF));
        assert_true(token_valid(TOKEN_SEQ));
        assert_false(token_valid(TOKEN_2_256));
        assert_false(token_valid(TOKEN_MAX));
        assert_false(token_valid(TOKEN_BANG));
        assert_false(token_valid(TOKEN_B64));
        assert_false(token_valid(TOKEN_HIGH));
        assert_int_equal(strlen(TOKEN_HIGH), TOKEN_LEN);
}

static void test_new(void **state) {
        char t[64][TOKEN_TEXT];

        for (size_t i = 0; i < 64; i++) {
                token_new(t[i]);
                assert_shape(t[i]);
                assert_true(token_valid(t[i]));
                assert_true(token_looks_like(t[i]));
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(t[i], t[j]);
        }
}

/* Every other byte at every position, including the prefix and the
 * checksum: nothing but the original is valid. */
static void test_substitution(void **state) {
        char t[TOKEN_TEXT];

        token_new(t);
        for (size_t i = 0; i < TOKEN_LEN; i++) {
                char orig = t[i];
                for (int c = 1; c < 256; c++) {
                        if ((char) c == orig)
                                continue;
                        t[i] = (char) c;
                        if (token_valid(t))
                                fail_msg("substitution at %zu by 0x%02x accepted: %s", i, (unsigned) c, t);
                }
                t[i] = orig;
                assert_true(token_valid(t));
        }
}

static void test_transposition(void **state) {
        char t[TOKEN_TEXT];
        size_t swapped = 0;

        for (int round = 0; round < 8; round++) {
                token_new(t);
                for (size_t i = 0; i + 1 < TOKEN_LEN; i++) {
                        char a = t[i], b = t[i + 1];
                        if (a == b)
                                continue;
                        t[i] = b, t[i + 1] = a;
                        if (token_valid(t))
                                fail_msg("swap at %zu accepted: %s", i, t);
                        t[i] = a, t[i + 1] = b;
                        swapped++;
                }
                assert_true(token_valid(t));
        }
        assert_true(swapped > 8 * 40);
}

static void test_looks_like_vs_valid(void **state) {
        char t[TOKEN_TEXT + 1];

        assert_false(token_looks_like(NULL));
        assert_false(token_valid(NULL));
        assert_false(token_looks_like(""));
        assert_false(token_looks_like("acst"));
        assert_false(token_looks_like("ACST_" "0000"));
        assert_false(token_looks_like(" acst_"));
        assert_false(token_looks_like("correct horse battery staple"));
        assert_true(token_looks_like("acst_"));
        assert_true(token_looks_like("acst_not a token"));
        assert_false(token_valid("acst_"));
        assert_false(token_valid("acst_not a token"));
        assert_false(token_valid(""));

        /* right content, wrong length either way */
        strcpy(t, TOKEN_ZERO);
        assert_true(token_valid(t));
        t[TOKEN_LEN - 1] = '\0';
        assert_false(token_valid(t));
        assert_true(token_looks_like(t));
        strcpy(t, TOKEN_ZERO "1");
        assert_false(token_valid(t));
        assert_false(token_valid(TOKEN_ZERO "\n"));
        /* a valid body and checksum under another prefix */
        static const char *const prefixes[] = { "ACST_", "acst-", "acsu_", "Acst_", "acst " };
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                strcpy(t, TOKEN_ZERO);
                memcpy(t, prefixes[i], 5);
                assert_false(token_valid(t));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_known),
                cmocka_unit_test(test_new),
                cmocka_unit_test(test_substitution),
                cmocka_unit_test(test_transposition),
                cmocka_unit_test(test_looks_like_vs_valid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
