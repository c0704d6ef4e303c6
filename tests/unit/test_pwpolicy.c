/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the password policy: common/pwpolicy.c. */
#include "config.h"

#include "unit.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "macro.h"
#include "pwpolicy.h"
#include "tmp_dir.h"

#define GOOD "Correct-Horse7" /* meets the default policy */
#define E_ACUTE "\xc3\xa9"    /* U+00E9, 2 bytes */
#define GRIN "\xf0\x9f\x98\x80" /* U+1F600, 4 bytes */

/* ---- helpers ------------------------------------------------------------- */

static struct acctsec_conf conf(void) {
        struct acctsec_conf c;
        memset(&c, 0xAA, sizeof(c));
        acctsec_conf_defaults(&c);
        return c;
}

/* Check pw (len bytes) and return the rule; every outcome must come with a
 * sentence that is consistent with the return value and free of the password. */
static enum pwpolicy_rule check_n(const struct acctsec_conf *c, const char *user, const char *pw, size_t len) {
        struct pwpolicy_result res;
        memset(&res, 0x55, sizeof(res));
        int r = pwpolicy_check(c, user, pw, len, &res);
        size_t m = strnlen(res.message, sizeof(res.message));

        assert_true(m > 0 && m < sizeof(res.message));
        assert_int_equal(res.message[m - 1], '.');
        if (len >= 6) {
                assert_null(memmem(res.message, m, pw, len));
        }
        if (res.rule == PWPOLICY_OK)
                assert_int_equal(r, 0);
        else if (res.rule == PWPOLICY_UNCHECKED)
                assert_true(r < 0 && r != -EINVAL);
        else
                assert_int_equal(r, -EINVAL);
        /* ret is optional */
        assert_int_equal(pwpolicy_check(c, user, pw, len, NULL), r);
        return res.rule;
}

static enum pwpolicy_rule check(const struct acctsec_conf *c, const char *user, const char *pw) {
        return check_n(c, user, pw, strlen(pw));
}

static void assert_message(const struct acctsec_conf *c, const char *user, const char *pw, const char *msg) {
        struct pwpolicy_result res;
        (void) pwpolicy_check(c, user, pw, strlen(pw), &res);
        assert_string_equal(res.message, msg);
}

static char *repeat(const char *unit, size_t times, const char *tail) {
        size_t u = strlen(unit), t = strlen(tail);
        char *s = malloc(u * times + t + 1);
        assert_non_null(s);
        for (size_t i = 0; i < times; i++)
                memcpy(s + i * u, unit, u);
        memcpy(s + u * times, tail, t + 1);
        return s;
}

/* ---- the rules, one by one ----------------------------------------------- */

static void test_accept(void **state) {
        struct acctsec_conf c = conf();
        assert_int_equal(check(&c, "alice", GOOD), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", "Tr0ub4dor&3xyz"), PWPOLICY_OK);
        assert_int_equal(check(&c, NULL, GOOD), PWPOLICY_OK);
        assert_message(&c, "alice", GOOD, "The password meets the policy.");
}

static void test_min_length(void **state) {
        struct acctsec_conf c = conf();

        assert_int_equal(check(&c, "alice", "Abcdefgh1!x"), PWPOLICY_TOO_SHORT); /* 11 */
        assert_int_equal(check(&c, "alice", "Abcdefgh1!xy"), PWPOLICY_OK);       /* 12 */
        assert_message(&c, "alice", "Abcdefgh1!x", "The password must have at least 12 characters.");
        assert_int_equal(check(&c, "alice", ""), PWPOLICY_TOO_SHORT);
        assert_int_equal(check_n(&c, "alice", NULL, 0), PWPOLICY_TOO_SHORT);

        c.min_length = 1;
        c.require_upper = c.require_lower = c.require_digit = c.require_special = false;
        assert_int_equal(check(&c, "alice", ""), PWPOLICY_TOO_SHORT);
        assert_message(&c, "alice", "", "The password must have at least 1 character.");
        assert_int_equal(check(&c, "alice", "x"), PWPOLICY_OK);

        c = conf();
        c.min_length = 20;
        assert_int_equal(check(&c, "alice", "Abcdefgh1!xyzABCDEF"), PWPOLICY_TOO_SHORT);
        assert_int_equal(check(&c, "alice", "Abcdefgh1!xyzABCDEFG"), PWPOLICY_OK);
}

static void test_min_length_counts_characters(void **state) {
        struct acctsec_conf c = conf();

        /* 11 characters in 18 bytes: too short; 12 in 20: enough */
        assert_int_equal(check(&c, "alice", "Ab1" E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE),
                         PWPOLICY_TOO_SHORT);
        assert_int_equal(check(&c, "alice", "Ab1" E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE
                                            E_ACUTE),
                         PWPOLICY_OK);
        /* a 4-byte character is one character */
        assert_int_equal(check(&c, "alice", "Abcdefgh1" GRIN GRIN), PWPOLICY_TOO_SHORT);
        assert_int_equal(check(&c, "alice", "Abcdefgh1" GRIN GRIN GRIN), PWPOLICY_OK);
}

static void test_max_length(void **state) {
        struct acctsec_conf c = conf();
        _cleanup_free_ char *at = repeat("Ab1!", 64, "");   /* 256 bytes */
        _cleanup_free_ char *over = repeat("Ab1!", 64, "x"); /* 257 */
        _cleanup_free_ char *wide = repeat(E_ACUTE, 126, "Ab1!"); /* 256 bytes, 130 characters */
        _cleanup_free_ char *wide_over = repeat(E_ACUTE, 127, "Ab1!");
        _cleanup_free_ char *big = repeat("Ab1!", 1024, "");
        _cleanup_free_ char *big_over = repeat("Ab1!", 1024, "x");

        assert_int_equal(check(&c, "alice", at), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", over), PWPOLICY_TOO_LONG);
        assert_message(&c, "alice", over, "The password is too long (at most 256 bytes).");
        assert_int_equal(check(&c, "alice", wide), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", wide_over), PWPOLICY_TOO_LONG); /* bytes, not characters */

        c.max_length = 4096;
        assert_int_equal(check(&c, "alice", big), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", big_over), PWPOLICY_TOO_LONG);
        c.max_length = 8;
        assert_int_equal(check(&c, "alice", "Ab1!Ab1!x"), PWPOLICY_TOO_LONG);
        assert_message(&c, "alice", "Ab1!Ab1!x", "The password is too long (at most 8 bytes).");
}

/* When min_length exceeds max_length, max_length is the minimum too. */
static void test_min_clamped_to_max(void **state) {
        struct acctsec_conf c = conf();
        char text[256];

        c.min_length = 20;
        c.max_length = 16;
        assert_int_equal(check(&c, "alice", "Abcdefgh1!abcdef"), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", "Abcdefgh1!abcde"), PWPOLICY_TOO_SHORT);
        assert_message(&c, "alice", "Abcdefgh1!abcde", "The password must have at least 16 characters.");
        assert_int_equal(pwpolicy_text(&c, text, sizeof(text)), 0);
        assert_non_null(strstr(text, "at least 16 characters"));
}

/* The length is checked before any byte is read: an inaccessible buffer is fine. */
static void test_max_length_reads_nothing(void **state) {
        struct acctsec_conf c = conf();
        struct pwpolicy_result res;
        long page = sysconf(_SC_PAGESIZE);
        char *p = mmap(NULL, (size_t) page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        assert_true(p != MAP_FAILED);
        assert_int_equal(pwpolicy_check(&c, "alice", p, 257, &res), -EINVAL);
        assert_int_equal(res.rule, PWPOLICY_TOO_LONG);
        assert_int_equal(pwpolicy_check(&c, "alice", p, SIZE_MAX, &res), -EINVAL);
        assert_int_equal(res.rule, PWPOLICY_TOO_LONG);
        assert_int_equal(munmap(p, (size_t) page), 0);
}

static void test_bad_utf8(void **state) {
        static const char *const bad[] = {
                "\xc3",                 /* truncated */
                "\xe2\x82",             /* truncated */
                "\x80",                 /* lone continuation byte */
                "\xbf",                 /* lone continuation byte */
                "\xc0\xaf",             /* overlong '/' */
                "\xc1\xbf",             /* overlong */
                "\xe0\x80\xaf",         /* overlong */
                "\xf0\x80\x80\xaf",     /* overlong */
                "\xed\xa0\x80",         /* surrogate U+D800 */
                "\xed\xbf\xbf",         /* surrogate U+DFFF */
                "\xf4\x90\x80\x80",     /* U+110000 */
                "\xf5\x80\x80\x80",     /* beyond */
                "\xf8\x88\x80\x80\x80", /* 5 bytes */
                "\xfe",
                "\xff",
                "\xc3\x28", /* a continuation byte missing */
        };
        static const char *const good[] = {
                "\xc2\xa0",         /* U+00A0, no-break space */
                "\xed\x9f\xbf",     /* U+D7FF */
                "\xee\x80\x80",     /* U+E000 */
                "\xef\xbf\xbd",     /* U+FFFD */
                "\xf4\x8f\xbf\xbf", /* U+10FFFF */
                "\xdf\xbf",         /* U+07FF */
                "\xe0\xa0\x80",     /* U+0800 */
                "\xf0\x90\x80\x80", /* U+10000 */
        };
        struct acctsec_conf c = conf();
        char pw[64];

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                snprintf(pw, sizeof(pw), "Abcdefgh1!xy%s", bad[i]);
                assert_int_equal(check(&c, "alice", pw), PWPOLICY_BAD_UTF8);
                snprintf(pw, sizeof(pw), "%sAbcdefgh1!xy", bad[i]);
                assert_int_equal(check(&c, "alice", pw), PWPOLICY_BAD_UTF8);
                /* the message does not depend on where it is */
                assert_message(&c, "alice", pw, "The password is not valid UTF-8 text.");
        }
        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                snprintf(pw, sizeof(pw), "Abcdefgh1xy%s", good[i]); /* the character is the special one */
                assert_int_equal(check(&c, "alice", pw), PWPOLICY_OK);
        }
}

static void test_control(void **state) {
        static const char *const ctl[] = {
                "\t", "\n", "\r", "\x01", "\x1b", "\x1f", "\x7f", "\xc2\x80", "\xc2\x85", "\xc2\x9f",
        };
        struct acctsec_conf c = conf();
        char pw[64];

        for (size_t i = 0; i < ARRAY_SIZE(ctl); i++) {
                snprintf(pw, sizeof(pw), "Abcd%sefgh1!xy", ctl[i]);
                assert_int_equal(check(&c, "alice", pw), PWPOLICY_CONTROL);
                assert_message(&c, "alice", pw, "The password must not contain control characters such as tab.");
        }
        /* an embedded NUL */
        assert_int_equal(check_n(&c, "alice", "Abcdefgh1!xy\0z", 14), PWPOLICY_CONTROL);
        assert_int_equal(check_n(&c, "alice", "\0Abcdefgh1!xy", 13), PWPOLICY_CONTROL);
        /* space is printable */
        assert_int_equal(check(&c, "alice", "Abcd efgh1xy"), PWPOLICY_OK);
}

static void test_classes(void **state) {
        struct acctsec_conf c = conf();

        assert_int_equal(check(&c, "alice", "abcdefgh1!xy"), PWPOLICY_NO_UPPER);
        assert_message(&c, "alice", "abcdefgh1!xy", "The password must contain an uppercase letter.");
        assert_int_equal(check(&c, "alice", "ABCDEFGH1!XY"), PWPOLICY_NO_LOWER);
        assert_message(&c, "alice", "ABCDEFGH1!XY", "The password must contain a lowercase letter.");
        assert_int_equal(check(&c, "alice", "Abcdefghi!xy"), PWPOLICY_NO_DIGIT);
        assert_message(&c, "alice", "Abcdefghi!xy", "The password must contain a digit.");
        assert_int_equal(check(&c, "alice", "Abcdefghi1xy"), PWPOLICY_NO_SPECIAL);
        assert_message(&c, "alice", "Abcdefghi1xy",
                       "The password must contain a special character (not a letter or digit).");

        /* special: any printable non-alphanumeric ASCII, space included, or non-ASCII */
        static const char *const special[] = { " ", "!", "~", "/", "@", "[", "`", "{", "\"", E_ACUTE, GRIN };
        for (size_t i = 0; i < ARRAY_SIZE(special); i++) {
                char pw[32];
                snprintf(pw, sizeof(pw), "Abcdefghi1x%s", special[i]);
                assert_int_equal(check(&c, "alice", pw), PWPOLICY_OK);
        }
        /* case and digits are ASCII only: É is not an uppercase letter, ² not a digit */
        assert_int_equal(check(&c, "alice", "\xc3\x89" "bcdefgh1!xyz"), PWPOLICY_NO_UPPER);
        assert_int_equal(check(&c, "alice", "Abcdefgh\xc2\xb2!xyz"), PWPOLICY_NO_DIGIT);
}

static void test_classes_off(void **state) {
        struct acctsec_conf c = conf();

        c.require_upper = false;
        assert_int_equal(check(&c, "alice", "abcdefgh1!xy"), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", "abcdefghi!xy"), PWPOLICY_NO_DIGIT);
        c = conf();
        c.require_lower = false;
        assert_int_equal(check(&c, "alice", "ABCDEFGH1!XY"), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", "abcdefgh1!xy"), PWPOLICY_NO_UPPER);
        c = conf();
        c.require_digit = false;
        assert_int_equal(check(&c, "alice", "Abcdefghi!xy"), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", "Abcdefghi1xy"), PWPOLICY_NO_SPECIAL);
        c = conf();
        c.require_special = false;
        assert_int_equal(check(&c, "alice", "Abcdefghi1xy"), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", "Abcdefghi!xy"), PWPOLICY_NO_DIGIT);
        c.require_upper = c.require_lower = c.require_digit = false;
        assert_int_equal(check(&c, "alice", "aaaaaaaaaaaa"), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", "111111111111"), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", "            "), PWPOLICY_OK);
        /* the other rules stay */
        assert_int_equal(check(&c, "alice", "aaaaaaaaaaa"), PWPOLICY_TOO_SHORT);
        assert_int_equal(check(&c, "alice", "aaaaaaaaaaa\t"), PWPOLICY_CONTROL);
}

static void test_user_name(void **state) {
        struct acctsec_conf c = conf();

        assert_int_equal(check(&c, "alice", "MyAlice2024!x"), PWPOLICY_USER_NAME);
        assert_message(&c, "alice", "MyAlice2024!x", "The password must not contain the user name.");
        assert_int_equal(check(&c, "alice", "ALICE-2024!xy"), PWPOLICY_USER_NAME);
        assert_int_equal(check(&c, "alice", "X1!-aLiCe-end"), PWPOLICY_USER_NAME);
        assert_int_equal(check(&c, "alice", "Abc1!xyzalice"), PWPOLICY_USER_NAME); /* at the end */
        assert_int_equal(check(&c, "alice", "Alic-e2024!xy"), PWPOLICY_OK);
        assert_int_equal(check(&c, "alice", "Ecila-2024!xy"), PWPOLICY_OK); /* reversed is not checked */
        /* 3 characters and more */
        assert_int_equal(check(&c, "bob", "Xbob-2024!xyz"), PWPOLICY_USER_NAME);
        assert_int_equal(check(&c, "Bob", "XbOB-2024!xyz"), PWPOLICY_USER_NAME);
        assert_int_equal(check(&c, "al", "Albert-2024!x"), PWPOLICY_OK);
        assert_int_equal(check(&c, "a", "Albert-2024!x"), PWPOLICY_OK);
        assert_int_equal(check(&c, "", "Albert-2024!x"), PWPOLICY_OK);
        assert_int_equal(check(&c, NULL, "Albert-2024!x"), PWPOLICY_OK);
        /* a name longer than the password */
        assert_int_equal(check(&c, "averyveryverylongusername", "Albert-2024!x"), PWPOLICY_OK);
        /* the whole password */
        assert_int_equal(check(&c, "Ab1!Ab1!Ab1!", "aB1!ab1!ab1!"), PWPOLICY_USER_NAME);
}

/* The first failing rule is reported, in a fixed order. */
static void test_order(void **state) {
        struct acctsec_conf c = conf();
        _cleanup_free_ char *long_bad = repeat("a\xff\t", 100, "");

        strcpy(c.dictionary, "/nonexistent/acctsec-dictionary");
        assert_int_equal(check(&c, "alice", long_bad), PWPOLICY_TOO_LONG);
        assert_int_equal(check(&c, "alice", "\xff\t"), PWPOLICY_BAD_UTF8);
        assert_int_equal(check(&c, "alice", "\t\xff"), PWPOLICY_CONTROL);
        assert_int_equal(check(&c, "alice", "alice"), PWPOLICY_TOO_SHORT);
        assert_int_equal(check(&c, "alice", "alicealicealice"), PWPOLICY_NO_UPPER);
        assert_int_equal(check(&c, "alice", "ALICEALICEALICE"), PWPOLICY_NO_LOWER);
        assert_int_equal(check(&c, "alice", "Alicealicealice"), PWPOLICY_NO_DIGIT);
        assert_int_equal(check(&c, "alice", "Alicealice1alice"), PWPOLICY_NO_SPECIAL);
        assert_int_equal(check(&c, "alice", "Alice-alice1alice"), PWPOLICY_USER_NAME);
        /* the dictionary is read last: a missing one refuses the change */
        assert_int_equal(check(&c, "alice", GOOD), PWPOLICY_UNCHECKED);
        assert_int_equal(pwpolicy_check(&c, "alice", GOOD, strlen(GOOD), NULL), -ENOENT);
        assert_message(&c, "alice", GOOD, "The list of forbidden passwords cannot be read; ask an administrator.");
}

/* ---- the policy text ----------------------------------------------------- */

static void assert_text(const struct acctsec_conf *c, const char *want) {
        char text[512];
        memset(text, 'x', sizeof(text));
        assert_int_equal(pwpolicy_text(c, text, sizeof(text)), 0);
        assert_string_equal(text, want);
}

static void test_text(void **state) {
        struct acctsec_conf c = conf();

        assert_text(&c, "Password policy: at least 12 characters, with an uppercase letter, a lowercase letter, "
                        "a digit and a special character; not containing your user name; not one of your last 5 "
                        "passwords.");
        c.history = 0;
        assert_text(&c, "Password policy: at least 12 characters, with an uppercase letter, a lowercase letter, "
                        "a digit and a special character; not containing your user name.");
        c.history = 1;
        strcpy(c.dictionary, "/usr/share/dict/forbidden");
        assert_text(&c, "Password policy: at least 12 characters, with an uppercase letter, a lowercase letter, "
                        "a digit and a special character; not containing your user name; not a common password; "
                        "not your current password.");

        c = conf();
        c.require_upper = c.require_special = false;
        c.history = 50;
        assert_text(&c, "Password policy: at least 12 characters, with a lowercase letter and a digit; not "
                        "containing your user name; not one of your last 50 passwords.");
        c.require_lower = false;
        c.min_length = 1;
        assert_text(&c, "Password policy: at least 1 character, with a digit; not containing your user name; not "
                        "one of your last 50 passwords.");
        c.require_digit = false;
        c.history = 0;
        assert_text(&c, "Password policy: at least 1 character; not containing your user name.");
        c.require_special = true;
        assert_text(&c, "Password policy: at least 1 character, with a special character; not containing your user "
                        "name.");
        c.require_upper = true;
        c.require_digit = true;
        assert_text(&c, "Password policy: at least 1 character, with an uppercase letter, a digit and a special "
                        "character; not containing your user name.");
}

static void test_text_max_age(void **state) {
        static const struct {
                unsigned secs;
                const char *words;
        } ages[] = {
                { 90 * 86400, "90 days" }, { 86400, "1 day" },       { 36 * 3600, "36 hours" }, { 3600, "1 hour" },
                { 90 * 60, "90 minutes" }, { 90, "90 seconds" },     { 1, "1 second" },
                { 3650u * 86400, "3650 days" },                      { 86401, "86401 seconds" },
        };
        struct acctsec_conf c = conf();
        char want[512];

        c.history = 0;
        for (size_t i = 0; i < ARRAY_SIZE(ages); i++) {
                c.max_password_age = ages[i].secs;
                snprintf(want, sizeof(want),
                         "Password policy: at least 12 characters, with an uppercase letter, a lowercase letter, a "
                         "digit and a special character; not containing your user name; it expires after %s.",
                         ages[i].words);
                assert_text(&c, want);
        }
}

static void test_text_buffer(void **state) {
        struct acctsec_conf c = conf();
        char full[512], small[512];
        size_t n;

        assert_int_equal(pwpolicy_text(&c, full, sizeof(full)), 0);
        n = strlen(full);
        assert_int_equal(pwpolicy_text(&c, small, n + 1), 0); /* exactly fits */
        assert_string_equal(small, full);
        assert_int_equal(pwpolicy_text(&c, small, n), -ENOBUFS);
        assert_int_equal(strlen(small), n - 1);
        assert_memory_equal(small, full, n - 1);
        assert_int_equal(pwpolicy_text(&c, small, 20), -ENOBUFS);
        assert_int_equal(strlen(small), 19);
        assert_int_equal(pwpolicy_text(&c, small, 1), -ENOBUFS);
        assert_string_equal(small, "");
        small[0] = 'x';
        assert_int_equal(pwpolicy_text(&c, small, 0), -ENOBUFS);
        assert_int_equal(small[0], 'x');
}

/* ---- the dictionary ------------------------------------------------------ */

static int tmp_setup(void **state) {
        return tmp_file_setup(state, "test_pwpolicy", "dict");
}

/* A test with a temporary directory for the dictionary. */
#define dict_test(fn) cmocka_unit_test_setup_teardown(fn, tmp_setup, tmp_file_teardown)

/* 1: in the dictionary, 0: not, or the negative error (then ret is untouched). */
static int contains(const char *path, const char *pw) {
        bool hit = 0;
        memset(&hit, 0x42, sizeof(hit));
        int r = pwpolicy_dictionary_contains(path, pw, &hit);
        if (r < 0) {
                unsigned char raw;
                memcpy(&raw, &hit, 1);
                assert_int_equal(raw, 0x42);
                return r;
        }
        assert_int_equal(r, 0);
        return hit ? 1 : 0;
}

static const char dict[] = "# forbidden passwords\n"
                           "\n"
                           "Summer2024!xyz\n"
                           "letmein-please-1A\r\n"
                           "#Commented-Out1\n"
                           "  Leading-space1\n"
                           "Trailing-space1 \n"
                           "\r\n"
                           "Last-line-9z";

static void test_dict_lookup(void **state) {
        struct tmp_file *t = *state;

        write_file(t->path, dict, 0644);
        assert_int_equal(contains(t->path, "Summer2024!xyz"), 1);
        assert_int_equal(contains(t->path, "summer2024!XYZ"), 1); /* case-insensitive */
        assert_int_equal(contains(t->path, "SUMMER2024!XYZ"), 1);
        assert_int_equal(contains(t->path, "letmein-please-1A"), 1); /* CRLF */
        assert_int_equal(contains(t->path, "letmein-please-1A\r"), 0);
        assert_int_equal(contains(t->path, "Last-line-9z"), 1); /* no final newline */
        assert_int_equal(contains(t->path, "  Leading-space1"), 1);
        assert_int_equal(contains(t->path, "Leading-space1"), 0);
        assert_int_equal(contains(t->path, "Trailing-space1 "), 1);
        assert_int_equal(contains(t->path, "Trailing-space1"), 0);
        /* comments and blank lines are not entries */
        assert_int_equal(contains(t->path, "#Commented-Out1"), 0);
        assert_int_equal(contains(t->path, "# forbidden passwords"), 0);
        assert_int_equal(contains(t->path, ""), 0);
        /* whole lines only */
        assert_int_equal(contains(t->path, "Summer2024!xy"), 0);
        assert_int_equal(contains(t->path, "Summer2024!xyzz"), 0);
        assert_int_equal(contains(t->path, "ummer2024!xyz"), 0);
        assert_int_equal(contains(t->path, "Summer2024!xyz\nletmein-please-1A"), 0);
        /* ASCII case only */
        write_file(t->path, "P\xc3\xa4ssword-12\n", 0644);
        assert_int_equal(contains(t->path, "p\xc3\xa4ssword-12"), 1);
        assert_int_equal(contains(t->path, "p\xc3\x84ssword-12"), 0);
        /* an empty file, and a NUL inside a line */
        write_file(t->path, "", 0644);
        assert_int_equal(contains(t->path, "Summer2024!xyz"), 0);
        write_file_n(t->path, "Abc\0def-12345\nAbc\n", 18, 0644);
        assert_int_equal(contains(t->path, "Abc"), 1);
        assert_int_equal(contains(t->path, "Abcdef-12345"), 0);
        /* group-writable is the admin's choice */
        write_file(t->path, dict, 0664);
        assert_int_equal(contains(t->path, "Summer2024!xyz"), 1);
        write_file(t->path, dict, 0400);
        assert_int_equal(contains(t->path, "Summer2024!xyz"), 1);
}

static void test_dict_in_check(void **state) {
        struct tmp_file *t = *state;
        struct acctsec_conf c = conf();

        write_file(t->path, dict, 0644);
        strcpy(c.dictionary, t->path);
        assert_int_equal(check(&c, "alice", "SUMMER2024!xyz"), PWPOLICY_DICTIONARY);
        assert_message(&c, "alice", "SUMMER2024!xyz", "The password is in the list of forbidden passwords.");
        assert_int_equal(check(&c, "alice", GOOD), PWPOLICY_OK);
        /* the user name comes first */
        assert_int_equal(check(&c, "summer", "Summer2024!xyz"), PWPOLICY_USER_NAME);
        /* no dictionary configured: not read */
        c.dictionary[0] = '\0';
        assert_int_equal(check(&c, "alice", "Summer2024!xyz"), PWPOLICY_OK);
}

/* Lines cross read boundaries; overlong lines are skipped, not truncated. */
static void test_dict_long(void **state) {
        struct tmp_file *t = *state;
        const size_t size = 100000;
        _cleanup_free_ char *text = malloc(size);
        _cleanup_free_ char *pw4096 = repeat("Ab1!", 1024, "");
        _cleanup_free_ char *pw4097 = repeat("Ab1!", 1024, "x");

        assert_non_null(text);
        /* padding lines, then an entry straddling offset 16384 */
        memset(text, 'p', size);
        for (size_t i = 99; i < 16380; i += 100)
                text[i] = '\n';
        memcpy(text + 16379, "\nStraddle-123!\n", 15);
        /* a line far longer than any password whose tail is an entry */
        memcpy(text + 40000, "\nTail-entry-12\n", 15);
        write_file_n(t->path, text, 50000, 0644);
        assert_int_equal(contains(t->path, "Straddle-123!"), 1);
        assert_int_equal(contains(t->path, "Tail-entry-12"), 1);
        assert_int_equal(contains(t->path, "Straddle-123"), 0);

        /* only the overlong line holds it: no match */
        memset(text, 'p', size);
        memcpy(text + 50000, "Only-in-long-1\n", 15);
        write_file_n(t->path, text, 50015, 0644);
        assert_int_equal(contains(t->path, "Only-in-long-1"), 0);

        /* the longest password that can be listed: 4096 bytes; before it,
         * lines just too long for the line buffer are skipped */
        memcpy(text, "x\n", 2);
        memset(text + 2, 'A', 4098);
        text[4100] = '\n';
        memcpy(text + 4101, pw4096, 4096);
        memcpy(text + 8197, "x\r\n", 3);
        memcpy(text + 8200, pw4096, 4096);
        memcpy(text + 12296, "\r\n", 2);
        memcpy(text + 12298, pw4097, 4097);
        write_file_n(t->path, text, 12298 + 4097, 0644);
        assert_int_equal(contains(t->path, pw4096), 1);
        assert_int_equal(contains(t->path, pw4097), 0);
        assert_int_equal(contains(t->path, "x"), 1);
}

static void test_dict_missing(void **state) {
        struct tmp_file *t = *state;
        assert_int_equal(contains(t->path, "Summer2024!xyz"), -ENOENT);
        assert_int_equal(contains("/nonexistent/dir/dict", "x"), -ENOENT);
}

static void test_dict_world_writable(void **state) {
        struct tmp_file *t = *state;
        write_file(t->path, dict, 0646);
        assert_int_equal(contains(t->path, "Summer2024!xyz"), -EPERM);
        write_file(t->path, dict, 0666);
        assert_int_equal(contains(t->path, "Summer2024!xyz"), -EPERM);
}

static void test_dict_symlink(void **state) {
        struct tmp_file *t = *state;
        char target[160];
        snprintf(target, sizeof(target), "%s/target", t->dir);
        write_file(target, dict, 0644);
        assert_int_equal(symlink(target, t->path), 0);
        assert_int_equal(contains(t->path, "Summer2024!xyz"), -ELOOP);
        assert_int_equal(contains(target, "Summer2024!xyz"), 1);
}

static void test_dict_not_regular(void **state) {
        struct tmp_file *t = *state;
        struct acctsec_conf c = conf();

        assert_int_equal(contains("/dev/null", "x"), -EBADFD);
        assert_int_equal(mkdir(t->path, 0755), 0);
        assert_int_equal(contains(t->path, "x"), -EBADFD);
        assert_int_equal(rmdir(t->path), 0);
        /* a FIFO without a writer must not hang: SIGALRM kills the test instead */
        assert_int_equal(mkfifo(t->path, 0644), 0);
        alarm(10);
        assert_int_equal(contains(t->path, "x"), -EBADFD);
        strcpy(c.dictionary, t->path);
        assert_int_equal(check(&c, "alice", GOOD), PWPOLICY_UNCHECKED);
        alarm(0);
}

static void test_dict_too_big(void **state) {
        struct tmp_file *t = *state;

        write_file(t->path, "", 0644);
        assert_int_equal(truncate(t->path, PWPOLICY_DICTIONARY_MAX + 1), 0);
        assert_int_equal(contains(t->path, "x"), -EFBIG);
        /* exactly the limit is read (one long line of NUL bytes: no entry) */
        assert_int_equal(truncate(t->path, PWPOLICY_DICTIONARY_MAX), 0);
        assert_int_equal(contains(t->path, "x"), 0);
}

static void test_dict_foreign_owner(void **state) {
        struct tmp_file *t = *state;

        if (geteuid() != 0)
                skip(); /* only root can give a file away */
        write_file(t->path, dict, 0644);
        if (chown(t->path, 65534, 65534) < 0)
                skip();
        assert_int_equal(contains(t->path, "Summer2024!xyz"), -EPERM);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_accept),
                cmocka_unit_test(test_min_length),
                cmocka_unit_test(test_min_length_counts_characters),
                cmocka_unit_test(test_max_length),
                cmocka_unit_test(test_min_clamped_to_max),
                cmocka_unit_test(test_max_length_reads_nothing),
                cmocka_unit_test(test_bad_utf8),
                cmocka_unit_test(test_control),
                cmocka_unit_test(test_classes),
                cmocka_unit_test(test_classes_off),
                cmocka_unit_test(test_user_name),
                cmocka_unit_test(test_order),
                cmocka_unit_test(test_text),
                cmocka_unit_test(test_text_max_age),
                cmocka_unit_test(test_text_buffer),
                dict_test(test_dict_lookup),
                dict_test(test_dict_in_check),
                dict_test(test_dict_long),
                dict_test(test_dict_missing),
                dict_test(test_dict_world_writable),
                dict_test(test_dict_symlink),
                dict_test(test_dict_not_regular),
                dict_test(test_dict_too_big),
                dict_test(test_dict_foreign_owner),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
