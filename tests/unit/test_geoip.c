/* SPDX-License-Identifier: BSD-3-Clause */
/* The location database wrapper (daemon/domain/geoip.c) on a small .mmdb
 * that tests/tools/make_mmdb.pl writes (skipped, exit 77, without Perl's
 * MaxMind::DB::Writer: Debian's libmaxmind-db-writer-perl). */
#include "config.h"

#include "unit.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "geoip.h"
#include "macro.h"
#include "tmp_dir.h"

static char dir[64], mmdb[128];
static struct geoip db;

static int run(const char *cmd) {
        int st = system(cmd);
        return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void where_is(const char *addr, const char *country, const char *name, const char *city) {
        struct geoip_location loc;
        memset(&loc, 'x', sizeof(loc)); /* cleared on every path */
        assert_int_equal(geoip_lookup(&db, addr, &loc), 1);
        assert_string_equal(loc.country, country);
        assert_string_equal(loc.country_name, name);
        assert_string_equal(loc.city, city);
}

static void nowhere(const char *addr) {
        struct geoip_location loc;
        memset(&loc, 'x', sizeof(loc));
        if (geoip_lookup(&db, addr, &loc) != 0)
                fail_msg("%s has a location (%s)", addr, loc.country);
        assert_string_equal(loc.country, "");
        assert_string_equal(loc.city, "");
}

static void test_lookup(void **state) {
        where_is("127.0.0.1", "DE", "Germany", "Berlin");
        where_is("127.0.0.2", "FR", "France", "Paris");
        where_is("10.9.3.4", "US", "United States", ""); /* a country without a city */
        where_is("2001:db8::5", "JP", "Japan", "Tokyo");
        where_is("2001:DB8:0:0::5", "JP", "Japan", "Tokyo");
        where_is("::ffff:127.0.0.2", "FR", "France", "Paris"); /* IPv4 written as IPv6 */
        nowhere("127.0.0.9"); /* not in the database: a private address, say */
        nowhere("192.168.1.1");
        nowhere("::1");
}

/* A name is never resolved: whoever connects chooses what it resolves to. */
static void test_literals_only(void **state) {
        static const char *const names[] = {
                "localhost", "example.com", "", "127.0.0.1 ", " 127.0.0.1", "127.0.0.1.", "127.1",
                "0x7f.0.0.1", "fe80::1%lo", "[::1]", "127.0.0.1/32", "2001:db8::5/64",
        };
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                nowhere(names[i]);
        struct geoip_location loc;
        assert_int_equal(geoip_lookup(&db, NULL, &loc), 0);
}

/* What the file holds is data: no escape sequence or reordering mark gets
 * through, and nothing is longer than the buffers. */
static void test_hostile_names(void **state) {
        where_is("127.0.0.3", "NL", "Evil[31mland", "Bad]0;pwnedCity");
        nowhere("127.0.0.4"); /* "X\x7f" is no country code: no location at all */
        struct geoip_location loc;
        assert_int_equal(geoip_lookup(&db, "127.0.0.5", &loc), 1);
        assert_string_equal(loc.country, "IT");
        assert_int_equal(strlen(loc.city), GEOIP_NAME_MAX - 1);
        assert_int_equal(strspn(loc.city, "A"), GEOIP_NAME_MAX - 1);
}

static void sanitized_is(const char *in, size_t n, const char *want) {
        char out[64];
        assert_true(n <= sizeof(out));
        geoip_sanitize(out, n, in, strlen(in));
        assert_string_equal(out, want);
}

static void test_sanitize(void **state) {
        sanitized_is("Z\xc3\xbcrich", 64, "Z\xc3\xbcrich");
        sanitized_is("Z\xc3\xbcrich", 3, "Z"); /* never half a character */
        sanitized_is("Z\xc3\xbcrich", 4, "Z\xc3\xbc");
        sanitized_is("a\tb\nc\rd\x1b[0me\x7f", 64, "abcd[0me");
        sanitized_is("\xc2\x9b" "31m", 64, "31m");              /* C1 CSI */
        sanitized_is("abc\xe2\x80\xae" "cba", 64, "abccba");    /* RIGHT-TO-LEFT OVERRIDE */
        sanitized_is("x\xe2\x81\xa6y\xef\xbb\xbfz", 64, "xyz"); /* an isolate, a BOM */
        sanitized_is("\xff\xfe" "ok\xc0\xaf\xed\xa0\x80", 64, "ok"); /* ill-formed, overlong, surrogate */
        sanitized_is("\xe6\x9d\xb1\xe4\xba\xac", 64, "\xe6\x9d\xb1\xe4\xba\xac"); /* 東京 */
        sanitized_is("anything", 1, "");
}

static void test_format(void **state) {
        char out[GEOIP_NAME_MAX + 8];
        geoip_format(out, sizeof(out), "DE", "Berlin");
        assert_string_equal(out, "Berlin, DE");
        geoip_format(out, sizeof(out), "US", "");
        assert_string_equal(out, "US");
        geoip_format(out, sizeof(out), "", "Berlin"); /* no city without a country */
        assert_string_equal(out, "");
        geoip_format(out, sizeof(out), NULL, NULL);
        assert_string_equal(out, "");
}

static void open_fails(const char *path, int want, const char *said) {
        struct geoip g;
        char why[512] = "";
        assert_int_equal(geoip_open(&g, path, why, sizeof(why)), want);
        assert_false(g.open);
        if (!strstr(why, said) || !strstr(why, path))
                fail_msg("geoip_open(%s): \"%s\" does not say \"%s\"", path, why, said);
        struct geoip_location loc;
        assert_int_equal(geoip_lookup(&g, "127.0.0.1", &loc), 0); /* a closed database knows nothing */
        geoip_close(&g);
}

static void test_open_errors(void **state) {
        char path[160];
        snprintf(path, sizeof(path), "%s/missing.mmdb", dir);
        open_fails(path, -ENOENT, "No such file");
        snprintf(path, sizeof(path), "%s/text.mmdb", dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("not a database\n", f);
        fclose(f);
        open_fails(path, -EINVAL, "not a MaxMind DB file");
        open_fails(dir, -EINVAL, "not a regular file");
        /* a FIFO would block the daemon's open */
        snprintf(path, sizeof(path), "%s/fifo.mmdb", dir);
        assert_int_equal(mkfifo(path, 0600), 0);
        open_fails(path, -EINVAL, "not a regular file");
        /* cut short: the metadata at the end is gone */
        snprintf(path, sizeof(path), "%s/short.mmdb", dir);
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "head -c 600 '%s' > '%s'", mmdb, path);
        assert_int_equal(run(cmd), 0);
        open_fails(path, -EINVAL, "not a MaxMind DB file");
}

static void test_metadata(void **state) {
        assert_string_equal(db.db.metadata.database_type, "GeoLite2-City");
        assert_int_equal(db.db.metadata.build_epoch, 1000000000);
}

static int group_setup(void **state) {
        char cmd[400], why[512];
        if (tmp_dir_make(dir, sizeof(dir), "test_geoip") < 0)
                return -1;
        snprintf(mmdb, sizeof(mmdb), "%s/test.mmdb", dir);
        snprintf(cmd, sizeof(cmd), "perl '%s/tests/tools/make_mmdb.pl' '%s' 1000000000", TOP_SRCDIR, mmdb);
        if (run(cmd) != 0 || geoip_open(&db, mmdb, why, sizeof(why)) < 0) {
                fprintf(stderr, "test_geoip: cannot build or open %s\n", mmdb);
                return -1;
        }
        return 0;
}

static int group_teardown(void **state) {
        geoip_close(&db);
        return tmp_dir_remove(dir);
}

int main(void) {
        if (run("perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null") != 0) {
                printf("# SKIP test_geoip: Perl's MaxMind::DB::Writer is missing "
                       "(Debian: libmaxmind-db-writer-perl)\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lookup),     cmocka_unit_test(test_literals_only),
                cmocka_unit_test(test_hostile_names), cmocka_unit_test(test_sanitize),
                cmocka_unit_test(test_format),     cmocka_unit_test(test_open_errors),
                cmocka_unit_test(test_metadata),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
