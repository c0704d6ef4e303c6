/* SPDX-License-Identifier: BSD-3-Clause */
/* SMS: number rules, masks, request templates (escaping per format, unknown
 * placeholders, sizes), the settings check, and the command transport
 * against a gateway script written here (argv, stdin, exit codes).  The
 * HTTP transport against a real local receiver: tests/integration/test_sms.py. */
#include "config.h"

#include "unit.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sms.h"
#include "tmp_dir.h"

static char dir[PATH_MAX];

static int setup(void **state) {
        return tmp_dir_make(dir, sizeof(dir), "acctsec-sms");
}

static int teardown(void **state) {
        return tmp_dir_remove(dir);
}

static void test_number_valid(void **state) {
        static const char *const good[] = { "+4915112345678", "+12025550123", "+1234567", "+999999999999999" };
        static const char *const bad[] = { "", "4915112345678", "+0123456789", "+49 151 1234567", "+49-151",
                                           "+123456", "+1234567890123456", "++4915112345678", "+49151x",
                                           "-4915112345678", "+4915112345678\n" };
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                assert_true(sms_number_valid(good[i]));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(sms_number_valid(bad[i]));
        assert_false(sms_number_valid(NULL));
}

static void test_mask(void **state) {
        char buf[64];
        assert_int_equal(sms_mask("+4915112345678", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "+49\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u202278");
        assert_int_equal(sms_mask("nope", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(sms_mask("+4915112345678", buf, 10), -ENOBUFS);
}

static void test_render(void **state) {
        char out[256];
        assert_int_equal(sms_render("To={to}&From={from}&Body={text}", SMS_FORM, "+4915112345678", "ACME Co",
                                    "123456 is your code & more=1", "", out, sizeof(out)),
                         0);
        assert_string_equal(out, "To=%2B4915112345678&From=ACME%20Co&Body=123456%20is%20your%20code%20%26%20more%3D1");
        assert_int_equal(sms_render("{{\"to\":\"{to}\",\"text\":\"{text}\",\"key\":\"{secret}\"}", SMS_JSON, "+1234567",
                                    "", "say \"hi\"\\ \x01 \xc3\xa9", "s3cr\"t", out, sizeof(out)),
                         0);
        assert_string_equal(out, "{\"to\":\"+1234567\",\"text\":\"say \\\"hi\\\"\\\\ \\u0001 \xc3\xa9\",\"key\":\"s3cr\\\"t\"}");
        assert_int_equal(sms_render("Authorization: Bearer {secret}", SMS_RAW, "", "", "", "a b+c", out, sizeof(out)), 0);
        assert_string_equal(out, "Authorization: Bearer a b+c");
        /* Mistakes are refused, never sent half-filled. */
        assert_int_equal(sms_render("{number}", SMS_FORM, "", "", "", "", out, sizeof(out)), -EINVAL);
        assert_int_equal(sms_render("to={to", SMS_FORM, "", "", "", "", out, sizeof(out)), -EINVAL);
        assert_int_equal(sms_render("{text}", SMS_FORM, "", "", "0123456789", "", out, 10), -ENOBUFS);
        assert_int_equal(sms_render("0123456789", SMS_FORM, "", "", "", "", out, 10), -ENOBUFS);
}

static void test_settings(void **state) {
        const char *why = NULL;
        struct sms_settings s = { .transport = SMS_NONE, .timeout_s = 5 };
        assert_int_equal(sms_settings_check(&s, &why), 0);
        s.transport = SMS_COMMAND;
        s.command = "send-sms";
        assert_int_equal(sms_settings_check(&s, &why), -EINVAL);
        assert_non_null(strstr(why, "absolute path"));
        s.command = "/usr/local/bin/send-sms --gateway x";
        assert_int_equal(sms_settings_check(&s, &why), 0);

        s = (struct sms_settings){ .transport = SMS_HTTP, .url = "ftp://gw.example/send", .timeout_s = 5 };
        assert_int_equal(sms_settings_check(&s, &why), -EINVAL);
        s.url = "https://user:pw@gw.example/send";
        assert_int_equal(sms_settings_check(&s, &why), -EINVAL);
        assert_non_null(strstr(why, "sms_http_password_file"));
        s.url = "https://gw.example/send";
        assert_int_equal(sms_settings_check(&s, &why), 0);
        assert_null(sms_settings_warning(&s));
        s.body = "to={phone}";
        assert_int_equal(sms_settings_check(&s, &why), -EINVAL);
        assert_non_null(strstr(why, "placeholder"));
        s.body = "to={to}&key={secret}";
        assert_int_equal(sms_settings_check(&s, &why), -EINVAL); /* {secret} without the file */
        s.password_file = "/etc/acctsec/sms.secret";
        assert_int_equal(sms_settings_check(&s, &why), 0);
        s.header = "X Api Key: {secret}";
        assert_int_equal(sms_settings_check(&s, &why), -EINVAL);
        s.header = "X-Api-Key: {secret}";
        assert_int_equal(sms_settings_check(&s, &why), 0);
        /* Credentials in clear over a network: refused; to this host: allowed, with a warning. */
        s.url = "http://gw.example/send";
        assert_int_equal(sms_settings_check(&s, &why), -EINVAL);
        assert_non_null(strstr(why, "in clear"));
        s.url = "http://127.0.0.1:8080/send";
        assert_int_equal(sms_settings_check(&s, &why), 0);
        assert_non_null(sms_settings_warning(&s));
        s.url = "http://127.0.0.1.evil.example/send";
        assert_int_equal(sms_settings_check(&s, &why), -EINVAL);
}

static void write_script(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        assert_int_equal(chmod(path, 0755), 0);
}

static void test_command(void **state) {
        char gw[PATH_MAX + 32], cmd[PATH_MAX + 64], script[3 * PATH_MAX], got[PATH_MAX + 16], err[256];
        snprintf(gw, sizeof(gw), "%s/gw", dir);
        snprintf(got, sizeof(got), "%s/got", dir);
        snprintf(script, sizeof(script), "#!/bin/sh\nfor a in \"$@\"; do echo \"arg:$a\"; done > %s\ncat >> %s\n", got, got);
        write_script(gw, script);
        snprintf(cmd, sizeof(cmd), "%s --route eu", gw);
        struct sms_settings s = { .transport = SMS_COMMAND, .command = cmd, .timeout_s = 10 };
        assert_int_equal(sms_deliver(&s, "+4915112345678", "123456 is your code", err, sizeof(err)), 0);
        FILE *f = fopen(got, "re");
        assert_non_null(f);
        char buf[512] = "";
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        assert_string_equal(buf, "arg:--route\narg:eu\narg:+4915112345678\n123456 is your code");

        /* Refused before anything runs: a bad number, a text with a newline. */
        assert_int_equal(sms_deliver(&s, "+49 151", "x", err, sizeof(err)), -EINVAL);
        assert_int_equal(sms_deliver(&s, "+4915112345678", "a\nb", err, sizeof(err)), -EINVAL);
        /* The gateway's failure is named with the start of what it said. */
        write_script(gw, "#!/bin/sh\necho 'no credit left'\nexit 3\n");
        assert_int_equal(sms_deliver(&s, "+4915112345678", "x", err, sizeof(err)), -EIO);
        assert_non_null(strstr(err, "exited with status 3"));
        assert_non_null(strstr(err, "no credit left"));
        s.transport = SMS_NONE;
        assert_int_equal(sms_deliver(&s, "+4915112345678", "x", err, sizeof(err)), -ENOTSUP);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_number_valid),
                cmocka_unit_test(test_mask),
                cmocka_unit_test(test_render),
                cmocka_unit_test(test_settings),
                cmocka_unit_test_setup_teardown(test_command, setup, teardown),
        };
        return cmocka_run_group_tests_name("sms", tests, NULL, NULL);
}
