/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the security log's export formats and --since:
 * cli/export_format.c. */
#include "config.h"

#include "unit.h"

#include <time.h>

#include "export_format.h"

/* What a writer printed, as a string. */
struct capture {
        char *buf;
        size_t len;
        FILE *f;
};

static FILE *capture_start(struct capture *c) {
        c->buf = NULL;
        c->len = 0;
        c->f = open_memstream(&c->buf, &c->len);
        assert_non_null(c->f);
        return c->f;
}

static void capture_is(struct capture *c, const char *want) {
        assert_int_equal(fclose(c->f), 0);
        assert_string_equal(c->buf, want);
        free(c->buf);
}

static void json_is(const char *in, const char *want) {
        struct capture c;
        json_put_string(capture_start(&c), in);
        capture_is(&c, want);
}

static void csv_is(const char *in, bool guard, const char *want) {
        struct capture c;
        csv_put_field(capture_start(&c), in, guard);
        capture_is(&c, want);
}

static void test_json_escapes(void **state) {
        json_is("", "\"\"");
        json_is("alice", "\"alice\"");
        json_is("say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"");
        json_is("a\nb\tc\rd\be\ff", "\"a\\nb\\tc\\rd\\be\\ff\"");
        json_is("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
        json_is("\x1b[2J", "\"\\u001b[2J\"");
        /* U+2028 and U+2029 end a line in JavaScript */
        json_is("a\xe2\x80\xa8" "b\xe2\x80\xa9", "\"a\\u2028b\\u2029\"");
}

static void test_json_utf8(void **state) {
        /* well-formed: copied as is, 2, 3 and 4 bytes, the edges of each */
        json_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
        json_is("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
                "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"");
        /* a lone continuation byte, bytes never in UTF-8 */
        json_is("a\x80z", "\"a\\ufffdz\"");
        json_is("\xff\xfe", "\"\\ufffd\\ufffd\"");
        /* overlong forms of '/' and of NUL: one U+FFFD per byte */
        json_is("\xc0\xaf", "\"\\ufffd\\ufffd\"");
        json_is("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
        json_is("\xc1\xbf", "\"\\ufffd\\ufffd\"");
        /* a surrogate, beyond U+10FFFF, a 5-byte form */
        json_is("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
        json_is("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
        json_is("\xf8\x88\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
        /* cut short, at the end and before an ASCII byte */
        json_is("x\xe2\x82", "\"x\\ufffd\\ufffd\"");
        json_is("\xe2\x82z\"", "\"\\ufffd\\ufffdz\\\"\"");
}

static void test_csv_quoting(void **state) {
        csv_is("", false, "");
        csv_is("alice", false, "alice");
        csv_is("a,b", false, "\"a,b\"");
        csv_is("say \"hi\"", false, "\"say \"\"hi\"\"\"");
        csv_is("\"", false, "\"\"\"\"");
        csv_is("two\r\nlines", false, "\"two\r\nlines\"");
        csv_is("lf\nonly", false, "\"lf\nonly\"");
        /* the separators of other locales, quoted too */
        csv_is("a;b", false, "\"a;b\"");
        csv_is("a\tb", false, "\"a\tb\"");
        /* not UTF-8: U+FFFD, so the file stays UTF-8 */
        csv_is("a\xff" "b", false, "a\xef\xbf\xbd" "b");
        csv_is("\xc3\xa9t\xc3\xa9", false, "\xc3\xa9t\xc3\xa9");
}

static void test_csv_formula_guard(void **state) {
        csv_is("=HYPERLINK(\"http://x\")", true, "\"'=HYPERLINK(\"\"http://x\"\")\"");
        csv_is("=1+1", true, "'=1+1");
        csv_is("+1", true, "'+1");
        csv_is("-1", true, "'-1");
        csv_is("@SUM(A1)", true, "'@SUM(A1)");
        csv_is("\tx", true, "\"'\tx\"");
        csv_is("\rx", true, "\"'\rx\"");
        csv_is("=a,b", true, "\"'=a,b\"");
        /* only the first character counts; off without guard */
        csv_is("a=1", true, "a=1");
        csv_is("x-1", true, "x-1");
        csv_is("=1+1", false, "=1+1");
        csv_is("'=1", true, "'=1");
        csv_is("", true, "");
}

static const struct export_event sample = {
        .id = 42,
        .time = 1763856073, /* 2025-11-23T00:01:13Z */
        .type = "auth_failure",
        .outcome = "failure",
        .user = "alice",
        .service = "sshd",
        .rhost = "=cmd|' /C calc'!A0",
        .tty = "",
        .actor = "",
        .detail = "failures=1, \"quoted\"",
        .country = "FR",
        .city = "=Paris",
};

static void test_csv_lines(void **state) {
        struct capture c;
        FILE *f = capture_start(&c);
        export_csv_header(f);
        export_csv_event(f, &sample);
        struct export_event nulls = { .id = 1, .time = 0 }; /* missing strings are empty */
        export_csv_event(f, &nulls);
        capture_is(&c, "id,time,unix_time,type,outcome,user,service,rhost,tty,actor,detail,host,country,city\r\n"
                       "42,2025-11-23T00:01:13Z,1763856073,auth_failure,failure,alice,sshd,"
                       "'=cmd|' /C calc'!A0,,,\"failures=1, \"\"quoted\"\"\",,FR,'=Paris\r\n"
                       "1,1970-01-01T00:00:00Z,0,,,,,,,,,,,\r\n");
}

static void test_json_object(void **state) {
        struct capture c;
        export_json_event(capture_start(&c), &sample);
        capture_is(&c, "{\"id\":42,\"time\":\"2025-11-23T00:01:13Z\",\"unix_time\":1763856073,"
                       "\"type\":\"auth_failure\",\"outcome\":\"failure\",\"user\":\"alice\",\"service\":\"sshd\","
                       "\"rhost\":\"=cmd|' /C calc'!A0\",\"tty\":\"\",\"actor\":\"\","
                       "\"detail\":\"failures=1, \\\"quoted\\\"\",\"host\":\"\",\"country\":\"FR\","
                       "\"city\":\"=Paris\"}");
}

static void set_tz(const char *tz) {
        assert_int_equal(setenv("TZ", tz, 1), 0);
        tzset();
}

static void since_is(const char *text, time_t now, int64_t want) {
        int64_t got = -1;
        assert_int_equal(parse_since(text, now, &got), 0);
        assert_int_equal(got, want);
}

static void since_fails(const char *text, int err) {
        int64_t got = -12345;
        assert_int_equal(parse_since(text, 1763856073, &got), err);
        assert_int_equal(got, -12345); /* untouched on failure */
}

static void test_since_dates(void **state) {
        set_tz("UTC");
        since_is("2025-11-23", 0, 1763856000);
        since_is("2025-11-23 00:01", 0, 1763856060);
        since_is("2025-11-23 00:01:13", 0, 1763856073);
        since_is("2025-11-23T00:01:13", 0, 1763856073);
        since_is("1970-01-01", 0, 0);
        since_is("2024-02-29", 0, 1709164800);
        /* local time: an hour east of UTC in winter, two in summer */
        set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
        since_is("2025-11-23 01:01:13", 0, 1763856073);
        since_is("2025-07-01", 0, 1751320800);
        /* 02:30 on the last Sunday of March does not exist there */
        since_fails("2025-03-30 02:30", -ERANGE);
        since_is("2025-03-30 03:30", 0, 1743298200);
        set_tz("UTC");
}

static void test_since_relative(void **state) {
        since_is("@1700000000", 0, 1700000000);
        since_is("@0", 0, 0);
        since_is("45s", 1000000, 1000000 - 45);
        since_is("30m", 1000000, 1000000 - 1800);
        since_is("12h", 1000000, 1000000 - 43200);
        since_is("7d", 1000000, 1000000 - 604800);
        since_is("0m", 1000000, 1000000);
        since_is("1d", 86400, 0);
        /* further back than 1970 */
        int64_t got;
        assert_int_equal(parse_since("2d", 86400, &got), -ERANGE);
        since_fails("100000d", -ERANGE);
}

static void test_since_refused(void **state) {
        static const char *const bad[] = {
                "", "yesterday", "2025", "2025-11", "2025-1-1", "2025-11-1", "25-11-23", "2025/11/23",
                "2025-11-23x", "2025-11-23 ", "2025-11-23 1:00", "2025-11-23 10", "2025-11-23 10:0",
                "2025-11-23 10:00:", "2025-11-23 10:00:0", "2025-11-23 10:00:00Z", "2025-11-23 10:00:00.5",
                " 2025-11-23", "2025-11-23  10:00", "@", "@-5", "@12a", "@ 12", "@+12", "7", "d", "-7d", "+7d",
                "7w", "7D", "7d ", " 7d", "7dd", "7.5h", "99999999999999999999d", "@99999999999999999999",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int64_t got = -12345;
                int r = parse_since(bad[i], 1763856073, &got);
                if (r != -EINVAL)
                        fail_msg("parse_since(\"%s\") = %d, want -EINVAL", bad[i], r);
                assert_int_equal(got, -12345);
        }
        /* well-formed, but no such date or time */
        static const char *const impossible[] = {
                "2025-02-29", "2025-02-30", "2025-04-31", "2025-13-01", "2025-00-10", "2025-11-00", "2025-11-32",
                "2025-11-23 24:00", "2025-11-23 23:60", "2025-11-23 23:59:60", "1969-12-31",
        };
        for (size_t i = 0; i < sizeof(impossible) / sizeof(impossible[0]); i++)
                since_fails(impossible[i], -ERANGE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_escapes),    cmocka_unit_test(test_json_utf8),
                cmocka_unit_test(test_csv_quoting),     cmocka_unit_test(test_csv_formula_guard),
                cmocka_unit_test(test_csv_lines),       cmocka_unit_test(test_json_object),
                cmocka_unit_test(test_since_dates),     cmocka_unit_test(test_since_relative),
                cmocka_unit_test(test_since_refused),
        };

        set_tz("UTC");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
