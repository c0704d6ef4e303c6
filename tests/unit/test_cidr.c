/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for IP allowlist entries and login sources: common/cidr.c. */
#include "config.h"

#include "unit.h"

#include "cidr.h"
#include "macro.h"

static void assert_roundtrip(const char *in, const char *canonical, uint8_t family, uint8_t prefix) {
        struct cidr c, again;
        char text[CIDR_TEXT_MAX];

        memset(&c, 0xAA, sizeof(c));
        if (cidr_parse(in, &c) != 0)
                fail_msg("\"%s\" refused", in);
        assert_int_equal(c.family, family);
        assert_int_equal(c.prefix, prefix);
        assert_int_equal(c.local, family == 0);
        cidr_format(&c, text);
        assert_string_equal(text, canonical);
        memset(&again, 0x55, sizeof(again));
        assert_int_equal(cidr_parse(text, &again), 0);
        assert_memory_equal(&c, &again, sizeof(c));
}

static void test_parse_ok(void **state) {
        assert_roundtrip("192.0.2.0/24", "192.0.2.0/24", 4, 24);
        assert_roundtrip("192.0.2.7", "192.0.2.7/32", 4, 32);
        assert_roundtrip("192.0.2.7/32", "192.0.2.7/32", 4, 32);
        assert_roundtrip("192.0.2.128/25", "192.0.2.128/25", 4, 25);
        assert_roundtrip("0.0.0.0/0", "0.0.0.0/0", 4, 0);
        assert_roundtrip("10.0.0.0/8", "10.0.0.0/8", 4, 8);
        assert_roundtrip("255.255.255.255", "255.255.255.255/32", 4, 32);
        assert_roundtrip("2001:db8::/32", "2001:db8::/32", 6, 32);
        assert_roundtrip("2001:DB8:0000::/32", "2001:db8::/32", 6, 32);
        assert_roundtrip("2001:db8:8000::/33", "2001:db8:8000::/33", 6, 33);
        assert_roundtrip("::1", "::1/128", 6, 128);
        assert_roundtrip("::/0", "::/0", 6, 0);
        assert_roundtrip("fe80::/10", "fe80::/10", 6, 10);
        assert_roundtrip("LOCAL", "LOCAL", 0, 0);
        assert_roundtrip("local", "LOCAL", 0, 0);
        assert_roundtrip("LoCaL", "LOCAL", 0, 0);
        /* Ranges inside ::ffff:0:0/96 become the IPv4 range they denote,
         * since sources there are compared as IPv4. */
        assert_roundtrip("::ffff:192.0.2.0/120", "192.0.2.0/24", 4, 24);
        assert_roundtrip("::ffff:c000:201", "192.0.2.1/32", 4, 32);
        assert_roundtrip("::ffff:0.0.0.0/96", "0.0.0.0/0", 4, 0);
        /* the deprecated IPv4-compatible form is plain IPv6 */
        assert_roundtrip("::1.2.3.4", "::1.2.3.4/128", 6, 128);

        struct cidr c;
        assert_int_equal(cidr_parse("192.0.2.0/24", &c), 0);
        static const uint8_t want[16] = { 192, 0, 2, 0 };
        assert_memory_equal(c.addr, want, 16);
}

static void test_parse_reject(void **state) {
        static const char *const bad[] = {
                "", "0177.0.0.1", "01.2.3.4", "0x7f.0.0.1", "127.1", "1.2.3", "1.2.3.4.5", "1.2.3.256",
                "1.2.3.4.", "1..2.3", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "\t1.2.3.4",
                "1.2.3.4/33", "1.2.3.4/", "/24", "/", "::/129", "::/1280", "1.2.3.4/024", "192.0.2.0/024",
                "0.0.0.0/00", "10.0.0.0/08", "::/00", "::/000", "::/0128",
                "1.2.3.4/+24", "1.2.3.4/-1", "1.2.3.4/ 24", "1.2.3.4/24 ", "1.2.3.4/0x10",
                "1.2.3.4/24/24", "1.2.3.4//24", "1.2.3.4/4294967328", "1.2.3.4/32\n",
                "fe80::1%eth0", "fe80::%eth0/64", "[::1]", "[::1]/128", "1::2::3", "::ffff:01.2.3.4",
                /* host bits below the prefix */
                "192.0.2.1/24", "128.0.0.0/0", "192.0.2.128/24", "2001:db8::1/32", "::1/0",
                "::ffff:1.2.3.4/96", "::ffff:0:0/95", "2001:db8:8000::/32",
                /* not LOCAL, not an address */
                "LOCAL ", " LOCAL", "LOCALHOST", "localhost", "example.com", "LOCAL/32",
                "UNKNOWN", "1.2.3.4,5.6.7.8",
                "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/64",
        };
        struct cidr c, before;

        memset(&c, 0x5A, sizeof(c));
        memcpy(&before, &c, sizeof(c));
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                int r = cidr_parse(bad[i], &c);
                if (r != -EINVAL)
                        fail_msg("\"%s\": %d, not -EINVAL", bad[i], r);
                assert_memory_equal(&c, &before, sizeof(c)); /* untouched on failure */
        }
        assert_int_equal(cidr_parse(NULL, &c), -EINVAL);
}

static struct cidr_source source(const char *rhost) {
        struct cidr_source s;
        memset(&s, 0xAA, sizeof(s));
        cidr_source_parse(rhost, &s);
        return s;
}

static void test_source(void **state) {
        static const uint8_t zero[16] = { 0 };
        static const uint8_t v4[16] = { 192, 0, 2, 1 };
        struct cidr_source s;

        s = source(NULL);
        assert_int_equal(s.kind, CIDR_SOURCE_LOCAL);
        assert_int_equal(s.family, 0);
        assert_memory_equal(s.addr, zero, 16);
        s = source("");
        assert_int_equal(s.kind, CIDR_SOURCE_LOCAL);

        static const char *const mapped[] = { "192.0.2.1", "::ffff:192.0.2.1", "::FFFF:192.0.2.1",
                                              "::ffff:c000:201", "0:0:0:0:0:ffff:c000:0201" };
        for (size_t i = 0; i < ARRAY_SIZE(mapped); i++) {
                s = source(mapped[i]);
                assert_int_equal(s.kind, CIDR_SOURCE_ADDRESS);
                assert_int_equal(s.family, 4);
                assert_memory_equal(s.addr, v4, 16);
        }
        s = source("2001:db8::1");
        assert_int_equal(s.kind, CIDR_SOURCE_ADDRESS);
        assert_int_equal(s.family, 6);
        assert_int_equal(s.addr[0], 0x20);
        assert_int_equal(s.addr[15], 1);
        s = source("::1.2.3.4"); /* IPv4-compatible, not mapped: stays IPv6 */
        assert_int_equal(s.family, 6);

        static const char *const invalid[] = {
                "localhost", "UNKNOWN", "LOCAL", "host.example.com", "garbage", "fe80::1%eth0",
                "[::1]", "[192.0.2.1]", "1.2.3.4.", " 1.2.3.4", "1.2.3.4 ", "0177.0.0.1", "127.1",
                "192.0.2.0/24", "192.0.2.1:22", " ", "::ffff:192.0.2.1%lo",
                "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000",
        };
        for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
                s = source(invalid[i]);
                if (s.kind != CIDR_SOURCE_INVALID)
                        fail_msg("\"%s\" taken as kind %d", invalid[i], (int) s.kind);
                assert_int_equal(s.family, 0);
                assert_memory_equal(s.addr, zero, 16);
        }
}

/* rhost "-" stands for NULL. */
static bool match(const char *entry, const char *rhost) {
        struct cidr c;
        if (cidr_parse(entry, &c) != 0)
                fail_msg("\"%s\" refused", entry);
        struct cidr_source s = source(strcmp(rhost, "-") == 0 ? NULL : rhost);
        return cidr_match(&c, &s);
}

static void test_match_v4(void **state) {
        assert_true(match("192.0.2.0/24", "192.0.2.0"));
        assert_true(match("192.0.2.0/24", "192.0.2.255"));
        assert_true(match("192.0.2.0/24", "::ffff:192.0.2.77"));
        assert_false(match("192.0.2.0/24", "192.0.1.255"));
        assert_false(match("192.0.2.0/24", "192.0.3.0"));
        assert_false(match("192.0.2.0/24", "::192.0.2.1"));
        assert_false(match("192.0.2.0/24", "2001:db8::c000:201"));
        assert_true(match("192.0.2.128/25", "192.0.2.128"));
        assert_true(match("192.0.2.128/25", "192.0.2.255"));
        assert_false(match("192.0.2.128/25", "192.0.2.127"));
        assert_true(match("192.0.2.7", "192.0.2.7"));
        assert_false(match("192.0.2.7", "192.0.2.6"));
        assert_false(match("192.0.2.7", "192.0.2.8"));
        assert_true(match("::ffff:192.0.2.0/120", "192.0.2.9"));
        assert_true(match("::ffff:192.0.2.0/120", "::ffff:192.0.2.9"));
        assert_false(match("::ffff:192.0.2.0/120", "192.0.3.9"));
}

static void test_match_v6(void **state) {
        assert_true(match("2001:db8::/32", "2001:db8::"));
        assert_true(match("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert_false(match("2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert_false(match("2001:db8::/32", "2001:db9::"));
        assert_true(match("2001:db8::/33", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff"));
        assert_false(match("2001:db8::/33", "2001:db8:8000::"));
        assert_true(match("fe80::/10", "febf:ffff::1"));
        assert_false(match("fe80::/10", "fec0::"));
        assert_true(match("::1", "::1"));
        assert_true(match("::1", "0:0:0:0:0:0:0:1"));
        assert_false(match("::1", "::2"));
        assert_false(match("::1", "127.0.0.1"));
        assert_false(match("::/96", "::ffff:1.2.3.4"));
}

static void test_match_all(void **state) {
        static const char *const v4[] = { "0.0.0.0", "255.255.255.255", "192.0.2.1", "::ffff:1.2.3.4" };
        static const char *const v6[] = { "::", "::1", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" };
        static const char *const other[] = { "-", "", "localhost", "UNKNOWN", "fe80::1%eth0" };

        for (size_t i = 0; i < ARRAY_SIZE(v4); i++) {
                assert_true(match("0.0.0.0/0", v4[i]));
                assert_false(match("::/0", v4[i]));
                assert_false(match("LOCAL", v4[i]));
        }
        for (size_t i = 0; i < ARRAY_SIZE(v6); i++) {
                assert_true(match("::/0", v6[i]));
                assert_false(match("0.0.0.0/0", v6[i]));
                assert_false(match("LOCAL", v6[i]));
        }
        for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
                assert_false(match("0.0.0.0/0", other[i]));
                assert_false(match("::/0", other[i]));
        }
}

static void test_match_local_invalid(void **state) {
        assert_true(match("LOCAL", "-"));
        assert_true(match("local", ""));
        assert_false(match("LOCAL", "localhost"));
        assert_false(match("LOCAL", "LOCAL"));
        assert_false(match("LOCAL", "127.0.0.1"));
        assert_false(match("LOCAL", "::1"));
        assert_false(match("127.0.0.1", "-"));
        assert_false(match("127.0.0.0/8", "localhost"));

        /* an entry not made by cidr_parse matches nothing */
        struct cidr c = { .family = 4, .prefix = 33 };
        struct cidr_source s = source("0.0.0.0");
        assert_false(cidr_match(&c, &s));
        c = (struct cidr){ .family = 5 };
        assert_false(cidr_match(&c, &s));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_ok),
                cmocka_unit_test(test_parse_reject),
                cmocka_unit_test(test_source),
                cmocka_unit_test(test_match_v4),
                cmocka_unit_test(test_match_v6),
                cmocka_unit_test(test_match_all),
                cmocka_unit_test(test_match_local_invalid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
