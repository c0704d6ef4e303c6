/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the option parser: common/conf.c and common/conf_file.c. */
#include "config.h"

#include "unit.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "macro.h"
#include "tmp_dir.h"

#define DAY 86400u

/* ---- helpers ------------------------------------------------------------- */

static struct acctsec_conf fresh(void) {
        struct acctsec_conf c;
        memset(&c, 0xAA, sizeof(c)); /* defaults must set every field we look at */
        acctsec_conf_defaults(&c);
        return c;
}

static void assert_defaults(const struct acctsec_conf *c) {
        assert_string_equal(c->socket, "/run/acctsec/acctsecd.sock");
        assert_int_equal(c->timeout_ms, 3000);
        assert_int_equal(c->failmode, ACCTSEC_FAILMODE_SECURE);
        assert_false(c->debug);
        assert_false(c->silent);
        assert_int_equal(c->deny, 3);
        assert_int_equal(c->fail_interval, 3600);
        assert_int_equal(c->unlock_time, 3600);
        assert_false(c->even_deny_root);
        assert_int_equal(c->lock_scope, ACCTSEC_LOCK_SCOPE_USER);
        assert_false(c->lock_message);
        assert_true(c->account_lock);
        assert_string_equal(c->admin_group, "");
        assert_string_equal(c->audit_group, "");
        assert_int_equal(c->min_length, 12);
        assert_int_equal(c->max_length, 256);
        assert_true(c->require_upper);
        assert_true(c->require_lower);
        assert_true(c->require_digit);
        assert_true(c->require_special);
        assert_int_equal(c->history, 5);
        assert_string_equal(c->dictionary, "");
        assert_true(c->allow_self_change);
        assert_true(c->enforce_for_root);
        assert_int_equal(c->max_password_age, 0);
        assert_int_equal(c->retry, 3);
}

/* Set key=value from the global part of the file; returns the result and
 * checks that an error comes with an explanation and leaves c untouched. */
static int set_g(struct acctsec_conf *c, const char *key, const char *value) {
        struct acctsec_conf before;
        const char *why = NULL;
        memcpy(&before, c, sizeof(before));
        int r = acctsec_conf_set(c, key, value, ACCTSEC_CONF_GLOBAL, &why);
        if (r < 0) {
                assert_non_null(why);
                assert_true(strlen(why) > 0);
                assert_memory_equal(&before, c, sizeof(before));
        }
        return r;
}

static int set_o(struct acctsec_conf *c, const char *key, const char *value, enum acctsec_conf_origin o) {
        struct acctsec_conf before;
        const char *why = NULL;
        memcpy(&before, c, sizeof(before));
        int r = acctsec_conf_set(c, key, value, o, &why);
        if (r < 0) {
                assert_non_null(why);
                assert_memory_equal(&before, c, sizeof(before));
        } else
                assert_null(why);
        return r;
}

static int parse_str(struct acctsec_conf *c, const char *text, const struct acctsec_conf_match *m,
                     struct acctsec_conf_error *e) {
        if (e)
                *e = (struct acctsec_conf_error){ .line = 12345 };
        return acctsec_conf_parse(c, text, strlen(text), m, e);
}

struct groups {
        const char *const *names; /* NULL-terminated: groups the user is in */
        unsigned calls;
};

static bool in_group(const char *group, void *userdata) {
        struct groups *g = userdata;
        g->calls++;
        for (const char *const *p = g->names; *p; p++)
                if (strcmp(*p, group) == 0)
                        return true;
        return false;
}

static const char *const alice_groups[] = { "wheel", "staff", NULL };
static struct groups alice_g = { .names = alice_groups };
static const struct acctsec_conf_match alice_sshd = {
        .user = "alice",
        .service = "sshd",
        .in_group = in_group,
        .userdata = &alice_g,
};

static const char *const bob_groups[] = { "users", NULL };
static struct groups bob_g = { .names = bob_groups };
static const struct acctsec_conf_match bob_login = {
        .user = "bob",
        .service = "login",
        .in_group = in_group,
        .userdata = &bob_g,
};

/* Every origin a setting may come from. */
static const enum acctsec_conf_origin origins[] = {
        ACCTSEC_CONF_GLOBAL, ACCTSEC_CONF_SECTION, ACCTSEC_CONF_ARGV, ACCTSEC_CONF_OVERRIDE,
};

struct key_value {
        const char *key, *value;
};

/* Set every key of kv[n] from origin o: each must be taken. */
static void set_all(struct acctsec_conf *c, const struct key_value *kv, size_t n, enum acctsec_conf_origin o) {
        for (size_t i = 0; i < n; i++)
                if (set_o(c, kv[i].key, kv[i].value, o) != 0)
                        fail_msg("%s = %s refused from origin %d", kv[i].key, kv[i].value, (int) o);
}

/* ---- defaults ------------------------------------------------------------ */

static void test_defaults(void **state) {
        struct acctsec_conf c = fresh();
        assert_defaults(&c);
        assert_string_equal(ACCTSEC_DEFAULT_SOCKET, "/run/acctsec/acctsecd.sock");
}

/* ---- scalar parsers ------------------------------------------------------ */

static void test_parse_bool(void **state) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };
        static const char *const bad[] = { "", "2", "y", "n", "yess", " yes", "yes ", "10", "-1", "nope", "o" };
        bool b;

        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                b = false;
                assert_int_equal(acctsec_parse_bool(yes[i], &b), 0);
                assert_true(b);
        }
        for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
                b = true;
                assert_int_equal(acctsec_parse_bool(no[i], &b), 0);
                assert_false(b);
        }
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                b = true;
                assert_int_equal(acctsec_parse_bool(bad[i], &b), -EINVAL);
                assert_true(b); /* untouched */
        }
}

static void test_parse_duration(void **state) {
        static const struct {
                const char *s;
                unsigned long long v;
        } good[] = {
                { "0", 0 },
                { "90", 90 },
                { "90s", 90 },
                { "15m", 900 },
                { "2h", 7200 },
                { "1d", 86400 },
                { "0d", 0 },
                { "007m", 420 },
                { "18446744073709551615", ULLONG_MAX },
                { "18446744073709551615s", ULLONG_MAX },
                { "213503982334601d", 213503982334601ULL * 86400ULL },
                { "5124095576030431h", 5124095576030431ULL * 3600ULL },
                { "307445734561825860m", 307445734561825860ULL * 60ULL },
        };
        static const char *const bad[] = {
                "", "s", "m", "-1", "+1", " 1", "1 ", "1 s", "1x", "1ms", "1w", "1S", "1M",
                "1.5h", "0x10", "1ss", "1hm", "1d1h", "h1",
        };
        static const char *const overflow[] = {
                "18446744073709551616",  "99999999999999999999999", "213503982334602d",
                "5124095576030432h",     "307445734561825861m",     "18446744073709551616s",
        };
        unsigned long long v;

        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                v = 12345;
                assert_int_equal(acctsec_parse_duration(good[i].s, &v), 0);
                assert_true(v == good[i].v);
        }
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                v = 12345;
                assert_int_equal(acctsec_parse_duration(bad[i], &v), -EINVAL);
                assert_true(v == 12345);
        }
        for (size_t i = 0; i < ARRAY_SIZE(overflow); i++) {
                v = 12345;
                assert_int_equal(acctsec_parse_duration(overflow[i], &v), -ERANGE);
                assert_true(v == 12345);
        }
}

/* ---- every key, good and bad values -------------------------------------- */

/* A key whose value is a number or an enum: each good text sets the field
 * at offset (an unsigned or an enum, poisoned before each so that the set
 * is seen to write it) to its value; each bad one is refused and leaves the
 * last good value. */
struct good_value {
        const char *text;
        unsigned value;
};

static void check_key_values(const char *key, size_t offset, const struct good_value *good, size_t ngood,
                             const char *const *bad, size_t nbad) {
        struct acctsec_conf c = fresh();
        unsigned *field = (unsigned *) ((char *) &c + offset);

        for (size_t i = 0; i < ngood; i++) {
                *field = ~good[i].value;
                assert_int_equal(set_g(&c, key, good[i].text), 0);
                assert_int_equal(*field, good[i].value);
        }
        for (size_t i = 0; i < nbad; i++) {
                assert_int_equal(set_g(&c, key, bad[i]), -EINVAL);
                assert_int_equal(*field, good[ngood - 1].value);
        }
}

#define CHECK_KEY_VALUES(key, member, good, bad)                                                                 \
        do {                                                                                                      \
                _Static_assert(sizeof(((struct acctsec_conf *) 0)->member) == sizeof(unsigned), #member);        \
                check_key_values(key, offsetof(struct acctsec_conf, member), good, ARRAY_SIZE(good), bad,        \
                                 ARRAY_SIZE(bad));                                                                \
        } while (0)

static void test_key_socket(void **state) {
        struct acctsec_conf c = fresh();
        char path[ACCTSEC_SOCKET_PATH_MAX + 1];

        assert_int_equal(set_g(&c, "socket", "/tmp/x.sock"), 0);
        assert_string_equal(c.socket, "/tmp/x.sock");
        assert_int_equal(set_g(&c, "socket", "/"), 0);
        assert_string_equal(c.socket, "/");

        /* 107 bytes is the longest path that fits sun_path with its NUL */
        memset(path, 'a', sizeof(path));
        path[0] = '/';
        path[107] = '\0';
        assert_int_equal(set_g(&c, "socket", path), 0);
        assert_string_equal(c.socket, path);
        path[107] = 'a';
        path[108] = '\0';
        assert_int_equal(set_g(&c, "socket", path), -EINVAL);

        assert_int_equal(set_g(&c, "socket", ""), -EINVAL);
        assert_int_equal(set_g(&c, "socket", "relative.sock"), -EINVAL);
        assert_int_equal(set_g(&c, "socket", "./x.sock"), -EINVAL);
        assert_int_equal(set_g(&c, "socket", " /x.sock"), -EINVAL);
}

/* root's socket: private/ beside the shared one unless configured. */
static void test_key_private_socket(void **state) {
        struct acctsec_conf c = fresh();
        char path[ACCTSEC_SOCKET_PATH_MAX], longest[ACCTSEC_SOCKET_PATH_MAX];

        assert_string_equal(c.private_socket, "");
        assert_int_equal(acctsec_private_socket_path(c.socket, c.private_socket, path), 0);
        assert_string_equal(path, "/run/acctsec/private/acctsecd.sock");
        assert_int_equal(set_g(&c, "socket", "/tmp/t/s"), 0);
        assert_int_equal(acctsec_private_socket_path(c.socket, c.private_socket, path), 0);
        assert_string_equal(path, "/tmp/t/private/s");
        assert_int_equal(set_g(&c, "socket", "/s"), 0);
        assert_int_equal(acctsec_private_socket_path(c.socket, c.private_socket, path), 0);
        assert_string_equal(path, "/private/s");
        assert_int_equal(set_o(&c, "private_socket", "/run/root.sock", ACCTSEC_CONF_ARGV), 0);
        assert_int_equal(acctsec_private_socket_path(c.socket, c.private_socket, path), 0);
        assert_string_equal(path, "/run/root.sock");
        assert_int_equal(set_g(&c, "private_socket", "relative"), -EINVAL);
        assert_int_equal(set_o(&c, "private_socket", "/x", ACCTSEC_CONF_SECTION), -EPERM);
        /* A socket path that fits, whose derived private path does not. */
        memset(longest, 'a', sizeof(longest));
        longest[0] = '/';
        longest[ACCTSEC_SOCKET_PATH_MAX - 1] = '\0';
        assert_int_equal(acctsec_private_socket_path(longest, "", path), -ENAMETOOLONG);
}

static void test_key_prompt(void **state) {
        struct acctsec_conf c = fresh();
        assert_int_equal(c.prompt, ACCTSEC_PROMPT_AUTO);
        assert_int_equal(set_o(&c, "prompt", "code", ACCTSEC_CONF_ARGV), 0);
        assert_int_equal(c.prompt, ACCTSEC_PROMPT_CODE);
        assert_int_equal(set_g(&c, "prompt", "password"), 0);
        assert_int_equal(c.prompt, ACCTSEC_PROMPT_PASSWORD);
        assert_int_equal(set_g(&c, "prompt", "auto"), 0);
        assert_int_equal(c.prompt, ACCTSEC_PROMPT_AUTO);
        assert_int_equal(set_g(&c, "prompt", "Code"), -EINVAL);
        assert_int_equal(set_g(&c, "prompt", ""), -EINVAL);
        assert_int_equal(set_o(&c, "prompt", "code", ACCTSEC_CONF_OVERRIDE), -EPERM);
        assert_false(acctsec_conf_key_is_policy("prompt=code"));
}

static void test_key_timeout(void **state) {
        static const struct good_value good[] = {
                { "10", 10 },     { "10ms", 10 },         { "3000", 3000 },     { "3000ms", 3000 },
                { "3s", 3000 },   { "1s", 1000 },         { "600s", 600000 },   { "600000", 600000 },
                { "600000ms", 600000 },                   { "0001500", 1500 },
        };
        static const char *const bad[] = {
                "",     "9",       "9ms",   "0",    "0s",   "600001", "601s", "1m",  "1h",   "1d",
                "3 s",  "3sec",    "3S",    "3MS",  "-1",   "+10",    "3.5s", "abc", "0x10", "ms",
                "s",    "3000 ",   " 3000", "99999999999999999999999", "18446744073709551615s",
        };
        CHECK_KEY_VALUES("timeout", timeout_ms, good, bad);
}

static void test_key_failmode(void **state) {
        static const struct good_value good[] = {
                { "open", ACCTSEC_FAILMODE_OPEN },
                { "secure", ACCTSEC_FAILMODE_SECURE },
                { "open", ACCTSEC_FAILMODE_OPEN },
        };
        static const char *const bad[] = { "", "closed", "Secure", "secure ", "1", "opened", "securely", "ope" };
        CHECK_KEY_VALUES("failmode", failmode, good, bad);
}

static void check_bool_key(const char *key, size_t offset) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };
        struct acctsec_conf c = fresh();
        bool *field = (bool *) ((char *) &c + offset);

        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                *field = false;
                assert_int_equal(set_g(&c, key, yes[i]), 0);
                assert_true(*field);
                assert_int_equal(set_g(&c, key, no[i]), 0);
                assert_false(*field);
        }
        *field = true;
        assert_int_equal(set_g(&c, key, ""), -EINVAL);
        assert_int_equal(set_g(&c, key, "2"), -EINVAL);
        assert_int_equal(set_g(&c, key, "maybe"), -EINVAL);
        assert_int_equal(set_g(&c, key, "yes please"), -EINVAL);
        assert_true(*field);
}

static void test_key_bools(void **state) {
        check_bool_key("debug", offsetof(struct acctsec_conf, debug));
        check_bool_key("silent", offsetof(struct acctsec_conf, silent));
        check_bool_key("even_deny_root", offsetof(struct acctsec_conf, even_deny_root));
        check_bool_key("lock_message", offsetof(struct acctsec_conf, lock_message));
        check_bool_key("account_lock", offsetof(struct acctsec_conf, account_lock));
        check_bool_key("require_upper", offsetof(struct acctsec_conf, require_upper));
        check_bool_key("require_lower", offsetof(struct acctsec_conf, require_lower));
        check_bool_key("require_digit", offsetof(struct acctsec_conf, require_digit));
        check_bool_key("require_special", offsetof(struct acctsec_conf, require_special));
        check_bool_key("allow_self_change", offsetof(struct acctsec_conf, allow_self_change));
        check_bool_key("enforce_for_root", offsetof(struct acctsec_conf, enforce_for_root));
        check_bool_key("password_recovery", offsetof(struct acctsec_conf, password_recovery));
        check_bool_key("password_recovery_admins", offsetof(struct acctsec_conf, password_recovery_admins));
        /* recovery is a policy (a section may turn it on); for admins, the global part's alone */
        struct acctsec_conf c = fresh();
        assert_false(c.password_recovery);
        assert_false(c.password_recovery_admins);
        assert_int_equal(set_o(&c, "password_recovery", "yes", ACCTSEC_CONF_SECTION), 0);
        assert_true(c.password_recovery);
        assert_int_equal(set_o(&c, "password_recovery_admins", "yes", ACCTSEC_CONF_SECTION), -EPERM);
        assert_int_equal(set_o(&c, "password_recovery_admins", "yes", ACCTSEC_CONF_ARGV), -EPERM);
        assert_false(c.password_recovery_admins);
}

/* A whole-number key: both ends of its range, one beyond each, and junk. */
static void check_uint_key(const char *key, size_t offset, unsigned min, unsigned max) {
        static const char *const bad[] = {
                "", "-1", "+1", " 5", "5 ", "0x5", "5.0", "1e2", "5s", "five", "99999999999999999999999", "4294967296",
        };
        struct acctsec_conf c = fresh();
        unsigned *field = (unsigned *) ((char *) &c + offset);
        char v[32];

        snprintf(v, sizeof(v), "%u", min);
        assert_int_equal(set_g(&c, key, v), 0);
        assert_int_equal(*field, min);
        snprintf(v, sizeof(v), "%u", max);
        assert_int_equal(set_g(&c, key, v), 0);
        assert_int_equal(*field, max);
        snprintf(v, sizeof(v), "%u", max + 1);
        assert_int_equal(set_g(&c, key, v), -EINVAL);
        if (min > 0) {
                snprintf(v, sizeof(v), "%u", min - 1);
                assert_int_equal(set_g(&c, key, v), -EINVAL);
        }
        snprintf(v, sizeof(v), "00%u", max);
        assert_int_equal(set_g(&c, key, v), 0);
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                assert_int_equal(set_g(&c, key, bad[i]), -EINVAL);
        assert_int_equal(*field, max);
}

static void test_key_password_numbers(void **state) {
        check_uint_key("min_length", offsetof(struct acctsec_conf, min_length), 1, 1024);
        check_uint_key("max_length", offsetof(struct acctsec_conf, max_length), 8, 4096);
        check_uint_key("history", offsetof(struct acctsec_conf, history), 0, 50);
        check_uint_key("retry", offsetof(struct acctsec_conf, retry), 1, 10);
}

/* The cap on mails to one user: a number the daemon applies to everyone,
 * so only in the global part. */
static void test_key_mail_max_per_hour(void **state) {
        struct acctsec_conf c = fresh();
        assert_int_equal(c.mail_max_per_hour, 10);
        check_uint_key("mail_max_per_hour", offsetof(struct acctsec_conf, mail_max_per_hour), 0, 1000);
        assert_int_equal(set_o(&c, "mail_max_per_hour", "3", ACCTSEC_CONF_SECTION), -EPERM);
        assert_int_equal(set_o(&c, "mail_max_per_hour", "3", ACCTSEC_CONF_ARGV), -EPERM);
        assert_int_equal(c.mail_max_per_hour, 10);
}

/* The SMS gateway: global only; its templates take spaces, no control
 * characters; the transport and format are words. */
static void test_key_sms(void **state) {
        static const struct good_value transports[] = {
                { "command", ACCTSEC_SMS_COMMAND }, { "http", ACCTSEC_SMS_HTTP }, { "none", ACCTSEC_SMS_NONE } };
        static const char *const bad_transports[] = { "", "smtp", "HTTP", "https", "command line" };
        CHECK_KEY_VALUES("sms_transport", sms_transport, transports, bad_transports);
        static const struct good_value formats[] = { { "json", ACCTSEC_SMS_JSON }, { "form", ACCTSEC_SMS_FORM } };
        static const char *const bad_formats[] = { "", "xml", "JSON", "form json" };
        CHECK_KEY_VALUES("sms_http_format", sms_http_format, formats, bad_formats);

        struct acctsec_conf c = fresh();
        assert_int_equal(c.sms_transport, ACCTSEC_SMS_NONE);
        assert_int_equal(c.sms_timeout, 20);
        assert_int_equal(set_g(&c, "sms_command", "/usr/local/bin/send-sms --route eu"), 0);
        assert_string_equal(c.sms_command, "/usr/local/bin/send-sms --route eu");
        assert_int_equal(set_g(&c, "sms_http_body", "{{\"to\":\"{to}\", \"text\":\"{text}\"}"), 0);
        assert_int_equal(set_g(&c, "sms_http_header", "Authorization: Bearer {secret}"), 0);
        assert_string_equal(c.sms_http_header, "Authorization: Bearer {secret}");
        assert_int_equal(set_g(&c, "sms_http_header", "X: a\tb"), -EINVAL);
        assert_string_equal(c.sms_http_header, "Authorization: Bearer {secret}");
        assert_int_equal(set_g(&c, "sms_url", "https://api.example.com/send"), 0);
        assert_int_equal(set_g(&c, "sms_url", "https://api.example.com/send now"), -EINVAL);
        assert_int_equal(set_g(&c, "sms_timeout", "51"), -EINVAL);
        assert_int_equal(set_g(&c, "sms_timeout", "10s"), 0);
        assert_int_equal(c.sms_timeout, 10);
        assert_int_equal(set_g(&c, "sms_http_password_file", ""), 0);
        assert_int_equal(set_o(&c, "sms_transport", "http", ACCTSEC_CONF_SECTION), -EPERM);
        assert_int_equal(set_o(&c, "sms_url", "https://evil.example/", ACCTSEC_CONF_ARGV), -EPERM);
        assert_string_equal(c.sms_url, "https://api.example.com/send");
}

static void test_key_max_password_age(void **state) {
        static const struct good_value good[] = {
                { "90d", 90 * DAY },
                { "0", 0 }, /* never expires */
                { "3650d", 3650 * DAY },
                { "315360000", 3650 * DAY },
                { "12h", 12 * 3600 },
        };
        static const char *const bad[] = {
                "", "3651d", "315360001", "87601h", "-1", "1w", "1y", "never", "90 d", "4294967296",
        };
        CHECK_KEY_VALUES("max_password_age", max_password_age, good, bad);
}

/* Second-factor relief: the skip networks are written like allowlist
 * entries; a remembered device lasts at most 90 days; both are policy
 * keys (sections and module arguments), off by default. */
static void test_key_relief(void **state) {
        static const struct good_value good[] = {
                { "0", 0 }, { "12h", 12 * 3600 }, { "30d", 30 * DAY }, { "90d", 90 * DAY },
        };
        static const char *const bad[] = { "", "91d", "-1", "1w", "forever", "7776001" };
        struct acctsec_conf c = fresh();
        assert_string_equal(c.mfa_skip_networks, "");
        assert_int_equal(c.remember_device, 0);
        CHECK_KEY_VALUES("remember_device", remember_device, good, bad);
        assert_int_equal(set_g(&c, "mfa_skip_networks", "10.1.0.0/16,2001:db8::/32,LOCAL"), 0);
        assert_string_equal(c.mfa_skip_networks, "10.1.0.0/16,2001:db8::/32,LOCAL");
        assert_int_equal(set_g(&c, "mfa_skip_networks", "10.1.0.1/16"), -EINVAL); /* host bits */
        assert_int_equal(set_g(&c, "mfa_skip_networks", "office.example.com"), -EINVAL);
        assert_int_equal(set_g(&c, "mfa_skip_networks", "10.1.0.0/16,"), -EINVAL);
        assert_int_equal(set_o(&c, "mfa_skip_networks", "192.0.2.0/24", ACCTSEC_CONF_SECTION), 0);
        assert_int_equal(set_o(&c, "remember_device", "1d", ACCTSEC_CONF_ARGV), 0);
        assert_int_equal(c.remember_device, DAY);
}

static void test_key_dictionary(void **state) {
        struct acctsec_conf c = fresh();
        char path[ACCTSEC_CONF_STR_MAX + 1];

        assert_int_equal(set_g(&c, "dictionary", "/usr/share/acctsec/forbidden.txt"), 0);
        assert_string_equal(c.dictionary, "/usr/share/acctsec/forbidden.txt");
        memset(path, 'd', sizeof(path));
        path[0] = '/';
        path[ACCTSEC_CONF_STR_MAX - 1] = '\0'; /* 255 bytes */
        assert_int_equal(set_g(&c, "dictionary", path), 0);
        assert_string_equal(c.dictionary, path);
        path[ACCTSEC_CONF_STR_MAX - 1] = 'd';
        path[ACCTSEC_CONF_STR_MAX] = '\0';
        assert_int_equal(set_g(&c, "dictionary", path), -EINVAL);
        assert_int_equal(set_g(&c, "dictionary", "forbidden.txt"), -EINVAL);
        assert_int_equal(set_g(&c, "dictionary", "./forbidden.txt"), -EINVAL);
        assert_int_equal(set_g(&c, "dictionary", " /x"), -EINVAL);
        assert_int_equal(set_g(&c, "dictionary", "/x"), 0);
        /* empty: no dictionary */
        assert_int_equal(set_g(&c, "dictionary", ""), 0);
        assert_string_equal(c.dictionary, "");
}

/* The location database: a path (or nothing) the daemon opens for every
 * login, so only in the global part. */
static void test_key_geoip_database(void **state) {
        struct acctsec_conf c = fresh();
        assert_string_equal(c.geoip_database, "");
        assert_int_equal(set_g(&c, "geoip_database", "/var/lib/GeoIP/GeoLite2-City.mmdb"), 0);
        assert_string_equal(c.geoip_database, "/var/lib/GeoIP/GeoLite2-City.mmdb");
        assert_int_equal(set_g(&c, "geoip_database", "GeoLite2-City.mmdb"), -EINVAL);
        assert_int_equal(set_o(&c, "geoip_database", "/x.mmdb", ACCTSEC_CONF_SECTION), -EPERM);
        assert_int_equal(set_o(&c, "geoip_database", "/x.mmdb", ACCTSEC_CONF_ARGV), -EPERM);
        assert_string_equal(c.geoip_database, "/var/lib/GeoIP/GeoLite2-City.mmdb");
        assert_int_equal(set_g(&c, "geoip_database", ""), 0);
        assert_string_equal(c.geoip_database, "");
}

static void test_key_deny(void **state) {
        static const struct good_value good[] = { { "0", 0 }, { "5", 5 }, { "1000000", 1000000 }, { "007", 7 } };
        static const char *const bad[] = {
                "",  "-1", "+1", "1000001", "3x", "3s", " 3", "3 ", "0x3", "3.0", "1e3",
                "99999999999999999999999", "4294967296", "4294967299",
        };
        CHECK_KEY_VALUES("deny", deny, good, bad);
}

static void test_key_fail_interval(void **state) {
        static const struct good_value good[] = {
                { "1", 1 },           { "90s", 90 },         { "15m", 900 },        { "2h", 7200 },
                { "1d", DAY },        { "366d", 366 * DAY }, { "31622400", 366 * DAY }, { "8784h", 366 * DAY },
                { "600", 600 },
        };
        static const char *const bad[] = {
                "",       "0",  "0s", "0d", "367d", "31622401", "8785h", "-1", "1w", "1 h", "h", "1.5h",
                "18446744073709551615", "213503982334602d", "4294967296", "49711d",
        };
        CHECK_KEY_VALUES("fail_interval", fail_interval, good, bad);
}

static void test_key_unlock_time(void **state) {
        static const struct good_value good[] = {
                { "0", 0 }, /* until an admin unlocks */
                { "0m", 0 }, { "30m", 1800 }, { "366d", 366 * DAY }, { "45s", 45 },
        };
        static const char *const bad[] = {
                "", "367d", "31622401", "-1", "1y", "forever", "never", "4294967296", "213503982334602d",
        };
        CHECK_KEY_VALUES("unlock_time", unlock_time, good, bad);
}

static void test_key_lock_scope(void **state) {
        static const struct good_value good[] = {
                { "user+source", ACCTSEC_LOCK_SCOPE_USER_SOURCE },
                { "user", ACCTSEC_LOCK_SCOPE_USER },
                { "user+source", ACCTSEC_LOCK_SCOPE_USER_SOURCE },
        };
        static const char *const bad[] = {
                "", "source", "user source", "User", "user+", "users", "user+sources", "use",
        };
        CHECK_KEY_VALUES("lock_scope", lock_scope, good, bad);
}

static void check_group_key(const char *key, size_t offset) {
        struct acctsec_conf c = fresh();
        const char *field = (const char *) &c + offset;
        char name[ACCTSEC_GROUP_MAX + 1];

        assert_int_equal(set_g(&c, key, "wheel"), 0);
        assert_string_equal(field, "wheel");
        assert_int_equal(set_g(&c, key, "acct-sec_admins.2"), 0);
        assert_string_equal(field, "acct-sec_admins.2");
        assert_int_equal(set_g(&c, key, "a"), 0);
        assert_string_equal(field, "a");

        memset(name, 'g', sizeof(name));
        name[ACCTSEC_GROUP_MAX - 1] = '\0'; /* 63 characters: fits */
        assert_int_equal(set_g(&c, key, name), 0);
        assert_string_equal(field, name);
        name[ACCTSEC_GROUP_MAX - 1] = 'g';
        name[ACCTSEC_GROUP_MAX] = '\0'; /* 64: does not */
        assert_int_equal(set_g(&c, key, name), -EINVAL);

        assert_int_equal(set_g(&c, key, "wheel"), 0);
        assert_int_equal(set_g(&c, key, "-wheel"), -EINVAL);
        assert_int_equal(set_g(&c, key, "wh eel"), -EINVAL);
        assert_int_equal(set_g(&c, key, "wh:eel"), -EINVAL);
        assert_int_equal(set_g(&c, key, "wh/eel"), -EINVAL);
        assert_int_equal(set_g(&c, key, "wheel\t"), -EINVAL);
        assert_int_equal(set_g(&c, key, "wh\xc3\xa9" "el"), -EINVAL);
        assert_string_equal(field, "wheel");

        /* empty: no such role */
        assert_int_equal(set_g(&c, key, ""), 0);
        assert_string_equal(field, "");
}

static void test_key_groups(void **state) {
        check_group_key("admin_group", offsetof(struct acctsec_conf, admin_group));
        check_group_key("audit_group", offsetof(struct acctsec_conf, audit_group));
}

static void test_unknown_key(void **state) {
        static const char *const unknown[] = {
                "", "denyx", "den", "Deny", "DENY", " deny", "deny ", "nosuchkey", "socket_path", "timeout_ms",
                "admin-group",
        };
        struct acctsec_conf c = fresh();

        for (size_t i = 0; i < ARRAY_SIZE(unknown); i++)
                for (size_t o = 0; o < ARRAY_SIZE(origins); o++)
                        assert_int_equal(set_o(&c, unknown[i], "1", origins[o]), -ENOENT);
        /* ret_why may be NULL */
        assert_int_equal(acctsec_conf_set(&c, "nosuchkey", "1", ACCTSEC_CONF_GLOBAL, NULL), -ENOENT);
        assert_int_equal(acctsec_conf_set(&c, "deny", "x", ACCTSEC_CONF_GLOBAL, NULL), -EINVAL);
        assert_int_equal(acctsec_conf_set(&c, "admin_group", "x", ACCTSEC_CONF_SECTION, NULL), -EPERM);
        assert_int_equal(acctsec_conf_set(&c, "deny", "4", ACCTSEC_CONF_GLOBAL, NULL), 0);
        assert_int_equal(c.deny, 4);
}

/* ---- origin rules -------------------------------------------------------- */

static void test_origin_roles(void **state) {
        static const char *const keys[] = { "admin_group", "audit_group" };
        struct acctsec_conf c = fresh();

        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                assert_int_equal(set_o(&c, keys[i], "wheel", ACCTSEC_CONF_SECTION), -EPERM);
                assert_int_equal(set_o(&c, keys[i], "wheel", ACCTSEC_CONF_ARGV), -EPERM);
                assert_int_equal(set_o(&c, keys[i], "wheel", ACCTSEC_CONF_OVERRIDE), -EPERM);
                /* the origin is checked before the value */
                assert_int_equal(set_o(&c, keys[i], "-bad name", ACCTSEC_CONF_ARGV), -EPERM);
                assert_int_equal(set_o(&c, keys[i], "", ACCTSEC_CONF_OVERRIDE), -EPERM);
        }
        assert_defaults(&c);
        assert_int_equal(set_o(&c, "admin_group", "wheel", ACCTSEC_CONF_GLOBAL), 0);
        assert_int_equal(set_o(&c, "audit_group", "adm", ACCTSEC_CONF_GLOBAL), 0);
        assert_string_equal(c.admin_group, "wheel");
        assert_string_equal(c.audit_group, "adm");

        /* the dictionary is a file the daemon reads: global only */
        c = fresh();
        assert_int_equal(set_o(&c, "dictionary", "/x", ACCTSEC_CONF_SECTION), -EPERM);
        assert_int_equal(set_o(&c, "dictionary", "/x", ACCTSEC_CONF_ARGV), -EPERM);
        assert_int_equal(set_o(&c, "dictionary", "/x", ACCTSEC_CONF_OVERRIDE), -EPERM);
        assert_int_equal(set_o(&c, "dictionary", "", ACCTSEC_CONF_ARGV), -EPERM);
        assert_defaults(&c);
        assert_int_equal(set_o(&c, "dictionary", "/x", ACCTSEC_CONF_GLOBAL), 0);
        assert_string_equal(c.dictionary, "/x");
}

static void test_origin_client(void **state) {
        static const struct key_value kv[] = {
                { "socket", "/tmp/s.sock" }, { "timeout", "5s" }, { "failmode", "open" },
                { "debug", "yes" },          { "silent", "yes" },     { "retry", "5" },
        };
        static const enum acctsec_conf_origin allowed[] = { ACCTSEC_CONF_ARGV, ACCTSEC_CONF_GLOBAL };
        struct acctsec_conf c = fresh();

        for (size_t i = 0; i < ARRAY_SIZE(kv); i++) {
                assert_int_equal(set_o(&c, kv[i].key, kv[i].value, ACCTSEC_CONF_SECTION), -EPERM);
                assert_int_equal(set_o(&c, kv[i].key, kv[i].value, ACCTSEC_CONF_OVERRIDE), -EPERM);
                assert_int_equal(set_o(&c, kv[i].key, "garbage", ACCTSEC_CONF_OVERRIDE), -EPERM);
                assert_int_equal(acctsec_conf_key_is_policy(kv[i].key), false);
        }
        assert_defaults(&c);

        /* the module's arguments and the global part may set them */
        for (size_t o = 0; o < ARRAY_SIZE(allowed); o++) {
                c = fresh();
                set_all(&c, kv, ARRAY_SIZE(kv), allowed[o]);
                assert_string_equal(c.socket, "/tmp/s.sock");
                assert_int_equal(c.timeout_ms, 5000);
                assert_int_equal(c.failmode, ACCTSEC_FAILMODE_OPEN);
                assert_true(c.debug);
                assert_true(c.silent);
                assert_int_equal(c.retry, 5);
        }
}

static void test_origin_policy(void **state) {
        static const struct key_value kv[] = {
                { "deny", "7" },           { "fail_interval", "10m" },     { "unlock_time", "0" },
                { "even_deny_root", "yes" }, { "lock_scope", "user+source" }, { "lock_message", "on" },
        };

        for (size_t o = 0; o < ARRAY_SIZE(origins); o++) {
                struct acctsec_conf c = fresh();
                set_all(&c, kv, ARRAY_SIZE(kv), origins[o]);
                assert_int_equal(c.deny, 7);
                assert_int_equal(c.fail_interval, 600);
                assert_int_equal(c.unlock_time, 0);
                assert_true(c.even_deny_root);
                assert_int_equal(c.lock_scope, ACCTSEC_LOCK_SCOPE_USER_SOURCE);
                assert_true(c.lock_message);
                /* a bad value is still a bad value */
                assert_int_equal(set_o(&c, "deny", "x", origins[o]), -EINVAL);
                assert_int_equal(set_o(&c, "lock_scope", "x", origins[o]), -EINVAL);
        }
}

static void test_origin_password(void **state) {
        static const struct key_value kv[] = {
                { "min_length", "16" },       { "max_length", "128" },       { "require_upper", "no" },
                { "require_lower", "no" },    { "require_digit", "no" },     { "require_special", "no" },
                { "history", "0" },           { "allow_self_change", "no" }, { "enforce_for_root", "no" },
                { "max_password_age", "90d" },
        };

        for (size_t o = 0; o < ARRAY_SIZE(origins); o++) {
                struct acctsec_conf c = fresh();
                set_all(&c, kv, ARRAY_SIZE(kv), origins[o]);
                assert_int_equal(c.min_length, 16);
                assert_int_equal(c.max_length, 128);
                assert_false(c.require_upper || c.require_lower || c.require_digit || c.require_special);
                assert_int_equal(c.history, 0);
                assert_false(c.allow_self_change);
                assert_false(c.enforce_for_root);
                assert_int_equal(c.max_password_age, 90 * DAY);
                assert_int_equal(set_o(&c, "min_length", "0", origins[o]), -EINVAL);
                assert_int_equal(set_o(&c, "max_length", "7", origins[o]), -EINVAL);
                assert_int_equal(set_o(&c, "require_digit", "maybe", origins[o]), -EINVAL);
        }
        /* retry is the module's own: not in sections, not forwarded */
        struct acctsec_conf c = fresh();
        assert_int_equal(set_o(&c, "retry", "5", ACCTSEC_CONF_SECTION), -EPERM);
        assert_int_equal(set_o(&c, "retry", "5", ACCTSEC_CONF_OVERRIDE), -EPERM);
        assert_int_equal(c.retry, 3);
}

/* Password keys in sections; the parser does not relate min_length to
 * max_length (pwpolicy clamps), so any order of the two works. */
static void test_parse_password_sections(void **state) {
        static const char text[] = "min_length = 14\n"
                                   "history = 10\n"
                                   "dictionary = /etc/security/acctsec-forbidden\n"
                                   "max_password_age = 180d\n"
                                   "retry = 2\n"
                                   "[group wheel]\n"
                                   "min_length = 20\n"
                                   "max_length = 16\n"
                                   "[user bob]\n"
                                   "allow_self_change = no\n"
                                   "require_special = no\n"
                                   "[service sudo]\n"
                                   "enforce_for_root = no\n";
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e;

        assert_int_equal(parse_str(&c, text, &alice_sshd, &e), 0);
        assert_int_equal(c.min_length, 20);
        assert_int_equal(c.max_length, 16);
        assert_int_equal(c.history, 10);
        assert_string_equal(c.dictionary, "/etc/security/acctsec-forbidden");
        assert_int_equal(c.max_password_age, 180 * DAY);
        assert_int_equal(c.retry, 2);
        assert_true(c.allow_self_change);
        assert_true(c.require_special);
        assert_true(c.enforce_for_root);

        c = fresh();
        assert_int_equal(parse_str(&c, text, &bob_login, &e), 0);
        assert_int_equal(c.min_length, 14);
        assert_int_equal(c.max_length, 256);
        assert_false(c.allow_self_change);
        assert_false(c.require_special);
        assert_true(c.enforce_for_root);

        /* dictionary and retry inside a section, even one that does not apply */
        c = fresh();
        assert_int_equal(parse_str(&c, "[user bob]\ndictionary = /x\n", &alice_sshd, &e), -EPERM);
        assert_int_equal(e.line, 2);
        assert_non_null(strstr(e.msg, "not allowed inside a section"));
        assert_int_equal(parse_str(&c, "[user bob]\nretry = 1\n", &alice_sshd, &e), -EPERM);
        assert_non_null(strstr(e.msg, "outside sections"));
        assert_int_equal(parse_str(&c, "[group wheel]\nhistory = 51\n", &alice_sshd, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "out of range"));
        assert_defaults(&c);
}

static void test_key_is_policy(void **state) {
        static const char *const policy[] = {
                "deny", "deny=5", "deny=", "fail_interval", "fail_interval=1h", "unlock_time=0",
                "even_deny_root", "even_deny_root=yes", "lock_scope=user+source", "lock_message",
                "deny=not a number", /* the value is not looked at */
                "min_length=16", "max_length=64", "require_upper=no", "require_lower", "require_digit=0",
                "require_special=off", "history=0", "allow_self_change=no", "enforce_for_root=no",
                "max_password_age=90d",
        };
        static const char *const not_policy[] = {
                "", "=", "=deny", "debug", "debug=yes", "silent", "socket=/x", "timeout=5", "failmode=open",
                "admin_group=wheel", "audit_group", "nosuchkey", "nosuchkey=1", "den", "denyx", "denyx=1",
                " deny", "deny =5", "Deny", "retry=3", "retry", "dictionary=/x", "dictionary",
        };

        for (size_t i = 0; i < ARRAY_SIZE(policy); i++)
                assert_true(acctsec_conf_key_is_policy(policy[i]));
        for (size_t i = 0; i < ARRAY_SIZE(not_policy); i++)
                assert_false(acctsec_conf_key_is_policy(not_policy[i]));
}

/* ---- key=value arguments ------------------------------------------------- */

/* Bare booleans, and the origin rules they are still subject to. */
static void check_set_arg_bare_bools(struct acctsec_conf *c) {
        const char *why = NULL;

        assert_int_equal(acctsec_conf_set_arg(c, "debug", ACCTSEC_CONF_ARGV, &why), 0);
        assert_true(c->debug);
        assert_int_equal(acctsec_conf_set_arg(c, "silent", ACCTSEC_CONF_ARGV, &why), 0);
        assert_true(c->silent);
        assert_int_equal(acctsec_conf_set_arg(c, "even_deny_root", ACCTSEC_CONF_OVERRIDE, &why), 0);
        assert_true(c->even_deny_root);
        assert_int_equal(acctsec_conf_set_arg(c, "debug=no", ACCTSEC_CONF_ARGV, &why), 0);
        assert_false(c->debug);
        /* a bare boolean is still subject to the origin rules */
        why = NULL;
        assert_int_equal(acctsec_conf_set_arg(c, "debug", ACCTSEC_CONF_OVERRIDE, &why), -EPERM);
        assert_non_null(why);
        assert_false(c->debug);
        assert_int_equal(acctsec_conf_set_arg(c, "debug", ACCTSEC_CONF_SECTION, &why), -EPERM);
        assert_false(c->debug);
}

/* A bare non-boolean key, an empty or malformed value: refused, deny still 5. */
static void check_set_arg_bad_values(struct acctsec_conf *c) {
        const char *why = NULL;

        /* a bare non-boolean key needs a value */
        assert_int_equal(acctsec_conf_set_arg(c, "deny", ACCTSEC_CONF_ARGV, &why), -EINVAL);
        assert_non_null(why);
        assert_int_equal(c->deny, 5);
        assert_int_equal(acctsec_conf_set_arg(c, "socket", ACCTSEC_CONF_ARGV, NULL), -EINVAL);
        assert_int_equal(acctsec_conf_set_arg(c, "admin_group", ACCTSEC_CONF_ARGV, NULL), -EINVAL);

        /* key=empty value */
        assert_int_equal(acctsec_conf_set_arg(c, "debug=", ACCTSEC_CONF_ARGV, NULL), -EINVAL);
        assert_int_equal(acctsec_conf_set_arg(c, "deny=", ACCTSEC_CONF_ARGV, NULL), -EINVAL);
        assert_int_equal(acctsec_conf_set_arg(c, "deny=5=6", ACCTSEC_CONF_ARGV, NULL), -EINVAL);
        assert_int_equal(acctsec_conf_set_arg(c, "deny= 6", ACCTSEC_CONF_ARGV, NULL), -EINVAL);
}

/* Unknown keys, empty ones and ones longer than any key: refused. */
static void check_set_arg_unknown_keys(struct acctsec_conf *c) {
        const char *why = NULL;
        char longkey[100];

        assert_int_equal(acctsec_conf_set_arg(c, "nosuchkey", ACCTSEC_CONF_ARGV, &why), -ENOENT);
        assert_non_null(why);
        assert_int_equal(acctsec_conf_set_arg(c, "nosuchkey=1", ACCTSEC_CONF_ARGV, NULL), -ENOENT);
        assert_int_equal(acctsec_conf_set_arg(c, "", ACCTSEC_CONF_ARGV, NULL), -ENOENT);
        assert_int_equal(acctsec_conf_set_arg(c, "=5", ACCTSEC_CONF_ARGV, NULL), -ENOENT);
        assert_int_equal(acctsec_conf_set_arg(c, "=", ACCTSEC_CONF_ARGV, NULL), -ENOENT);
        assert_int_equal(acctsec_conf_set_arg(c, "deny =5", ACCTSEC_CONF_ARGV, NULL), -ENOENT);
        memset(longkey, 'd', sizeof(longkey));
        longkey[sizeof(longkey) - 1] = '\0';
        assert_int_equal(acctsec_conf_set_arg(c, longkey, ACCTSEC_CONF_ARGV, NULL), -ENOENT);
        memcpy(longkey + 64, "=1", 3);
        assert_int_equal(acctsec_conf_set_arg(c, longkey, ACCTSEC_CONF_ARGV, NULL), -ENOENT);
}

static void test_set_arg(void **state) {
        struct acctsec_conf c = fresh();
        const char *why = NULL;

        assert_int_equal(acctsec_conf_set_arg(&c, "deny=5", ACCTSEC_CONF_ARGV, &why), 0);
        assert_int_equal(c.deny, 5);
        assert_int_equal(acctsec_conf_set_arg(&c, "timeout=250ms", ACCTSEC_CONF_ARGV, &why), 0);
        assert_int_equal(c.timeout_ms, 250);
        assert_int_equal(acctsec_conf_set_arg(&c, "socket=/a=b", ACCTSEC_CONF_ARGV, &why), 0);
        assert_string_equal(c.socket, "/a=b"); /* split at the first '=' */

        check_set_arg_bare_bools(&c);
        check_set_arg_bad_values(&c);
        check_set_arg_unknown_keys(&c);

        /* origin rules through set_arg */
        assert_int_equal(acctsec_conf_set_arg(&c, "admin_group=wheel", ACCTSEC_CONF_ARGV, NULL), -EPERM);
        assert_int_equal(acctsec_conf_set_arg(&c, "socket=/x", ACCTSEC_CONF_OVERRIDE, NULL), -EPERM);
        assert_int_equal(acctsec_conf_set_arg(&c, "unlock_time=1d", ACCTSEC_CONF_OVERRIDE, NULL), 0);
        assert_int_equal(c.unlock_time, DAY);
        assert_string_equal(c.admin_group, "");
        assert_string_equal(c.socket, "/a=b");
        assert_int_equal(c.deny, 5);
}

/* ---- whole files --------------------------------------------------------- */

static void test_parse_empty(void **state) {
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e;

        assert_int_equal(parse_str(&c, "", &alice_sshd, &e), 0);
        assert_defaults(&c);
        assert_int_equal(acctsec_conf_parse(&c, NULL, 0, NULL, NULL), 0);
        assert_defaults(&c);
        assert_int_equal(parse_str(&c, "\n\n\n", NULL, &e), 0);
        assert_int_equal(parse_str(&c, "# only a comment", NULL, &e), 0);
        assert_defaults(&c);
}

static void test_parse_basic(void **state) {
        static const char text[] = "# acctsec.conf\n"
                                   "; another comment style\n"
                                   "\n"
                                   "   # indented comment with = sign\n"
                                   "deny = 5\n"
                                   "  fail_interval\t=\t15m  \n"
                                   "unlock_time=2h\n"
                                   "\t\n"
                                   "even_deny_root = yes\n"
                                   "lock_scope = user+source\n"
                                   "lock_message = on\n"
                                   "admin_group = wheel\n"
                                   "audit_group = adm\n"
                                   "socket = /run/other.sock\n"
                                   "timeout = 2s\n"
                                   "failmode = open\n"
                                   "debug = true\n"
                                   "silent = 1\n";
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e;

        assert_int_equal(parse_str(&c, text, &alice_sshd, &e), 0);
        assert_int_equal(c.deny, 5);
        assert_int_equal(c.fail_interval, 900);
        assert_int_equal(c.unlock_time, 7200);
        assert_true(c.even_deny_root);
        assert_int_equal(c.lock_scope, ACCTSEC_LOCK_SCOPE_USER_SOURCE);
        assert_true(c.lock_message);
        assert_string_equal(c.admin_group, "wheel");
        assert_string_equal(c.audit_group, "adm");
        assert_string_equal(c.socket, "/run/other.sock");
        assert_int_equal(c.timeout_ms, 2000);
        assert_int_equal(c.failmode, ACCTSEC_FAILMODE_OPEN);
        assert_true(c.debug);
        assert_true(c.silent);
}

static void test_parse_crlf_and_no_final_newline(void **state) {
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e;

        assert_int_equal(parse_str(&c, "# comment\r\ndeny = 7\r\n\r\n[user alice]\r\nunlock_time = 1h\r\n"
                                       "admin_group =\r\n",
                                   &alice_sshd, &e),
                         -EPERM);
        assert_int_equal(e.line, 6);

        c = fresh();
        assert_int_equal(parse_str(&c, "# comment\r\ndeny = 7\r\n\r\n[user alice]\r\nunlock_time = 1h\r\n",
                                   &alice_sshd, &e),
                         0);
        assert_int_equal(c.deny, 7);
        assert_int_equal(c.unlock_time, 3600);

        c = fresh();
        assert_int_equal(parse_str(&c, "deny = 8\r\nsocket = /x.sock\r", NULL, &e), 0);
        assert_int_equal(c.deny, 8);
        assert_string_equal(c.socket, "/x.sock");

        c = fresh();
        assert_int_equal(parse_str(&c, "deny = 1\nlock_scope=user+source", NULL, &e), 0);
        assert_int_equal(c.lock_scope, ACCTSEC_LOCK_SCOPE_USER_SOURCE);
}

static void test_parse_override_order(void **state) {
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e;

        assert_int_equal(parse_str(&c, "deny = 5\ndeny = 6\nunlock_time = 1m\nunlock_time = 2m\n", NULL, &e), 0);
        assert_int_equal(c.deny, 6);
        assert_int_equal(c.unlock_time, 120);

        /* two matching sections: the later one wins */
        c = fresh();
        assert_int_equal(parse_str(&c, "deny = 5\n[group wheel]\ndeny = 2\n[user alice]\ndeny = 1\n", &alice_sshd, &e), 0);
        assert_int_equal(c.deny, 1);
        c = fresh();
        assert_int_equal(parse_str(&c, "deny = 5\n[user alice]\ndeny = 1\n[group wheel]\ndeny = 2\n", &alice_sshd, &e), 0);
        assert_int_equal(c.deny, 2);
        /* a key missing from the later section keeps the earlier value */
        c = fresh();
        assert_int_equal(parse_str(&c, "[user alice]\ndeny = 1\nunlock_time = 5m\n[service sshd]\ndeny = 9\n",
                                   &alice_sshd, &e),
                         0);
        assert_int_equal(c.deny, 9);
        assert_int_equal(c.unlock_time, 300);
}

/* The file of test_parse_sections with no one to match: only its global part applies. */
static void check_sections_unmatched(const char *text) {
        struct acctsec_conf c;
        struct acctsec_conf_error e;

        /* no match struct: only the global part applies */
        c = fresh();
        assert_int_equal(parse_str(&c, text, NULL, &e), 0);
        assert_int_equal(c.deny, 5);
        assert_int_equal(c.unlock_time, 600);
        assert_false(c.even_deny_root);
        assert_false(c.lock_message);
        assert_int_equal(c.lock_scope, ACCTSEC_LOCK_SCOPE_USER);
        assert_int_equal(c.fail_interval, 3600);

        /* NULL fields never match; a NULL in_group is never called */
        const struct acctsec_conf_match empty = { 0 };
        c = fresh();
        assert_int_equal(parse_str(&c, text, &empty, &e), 0);
        assert_int_equal(c.deny, 5);
        assert_int_equal(c.unlock_time, 600);
        assert_false(c.even_deny_root);
        assert_int_equal(c.lock_scope, ACCTSEC_LOCK_SCOPE_USER);
        assert_int_equal(c.fail_interval, 3600);
}

/* Section names match exactly; whitespace inside and around a header is ignored. */
static void check_section_headers(void) {
        struct acctsec_conf c;
        struct acctsec_conf_error e;

        /* names match exactly */
        c = fresh();
        assert_int_equal(parse_str(&c, "[user alic]\ndeny = 1\n[user alice2]\ndeny = 2\n[user Alice]\ndeny = 4\n"
                                       "[service ssh]\ndeny = 8\n[group whee]\ndeny = 9\n",
                                   &alice_sshd, &e),
                         0);
        assert_int_equal(c.deny, 3);

        /* whitespace inside and around the header */
        c = fresh();
        assert_int_equal(parse_str(&c, "  [ user\talice ]  \ndeny = 1\n", &alice_sshd, &e), 0);
        assert_int_equal(c.deny, 1);
        c = fresh();
        assert_int_equal(parse_str(&c, "[user   alice]\r\ndeny = 2\r\n", &alice_sshd, &e), 0);
        assert_int_equal(c.deny, 2);
}

static void test_parse_sections(void **state) {
        static const char text[] = "deny = 5\n"
                                   "unlock_time = 10m\n"
                                   "[user alice]\n"
                                   "deny = 1\n"
                                   "[group users]\n"
                                   "unlock_time = 0\n"
                                   "[service sshd]\n"
                                   "even_deny_root = yes\n"
                                   "[service login]\n"
                                   "lock_message = yes\n"
                                   "[group wheel]\n"
                                   "lock_scope = user+source\n"
                                   "[user bob]\n"
                                   "fail_interval = 1d\n";
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e;

        alice_g.calls = 0;
        assert_int_equal(parse_str(&c, text, &alice_sshd, &e), 0);
        assert_int_equal(alice_g.calls, 2); /* "users" and "wheel" */
        assert_int_equal(c.deny, 1);
        assert_int_equal(c.unlock_time, 600);
        assert_true(c.even_deny_root);
        assert_false(c.lock_message);
        assert_int_equal(c.lock_scope, ACCTSEC_LOCK_SCOPE_USER_SOURCE);
        assert_int_equal(c.fail_interval, 3600);

        c = fresh();
        bob_g.calls = 0;
        assert_int_equal(parse_str(&c, text, &bob_login, &e), 0);
        assert_int_equal(bob_g.calls, 2);
        assert_int_equal(c.deny, 5);
        assert_int_equal(c.unlock_time, 0);
        assert_false(c.even_deny_root);
        assert_true(c.lock_message);
        assert_int_equal(c.lock_scope, ACCTSEC_LOCK_SCOPE_USER);
        assert_int_equal(c.fail_interval, DAY);

        check_sections_unmatched(text);
        check_section_headers();
}

static bool group_userdata_check(const char *group, void *userdata) {
        int *magic = userdata;
        assert_int_equal(*magic, 4242);
        return strcmp(group, "wheel") == 0;
}

static void test_parse_group_userdata(void **state) {
        int magic = 4242;
        const struct acctsec_conf_match m = { .in_group = group_userdata_check, .userdata = &magic };
        struct acctsec_conf c = fresh();

        assert_int_equal(parse_str(&c, "[group wheel]\ndeny = 11\n[group other]\ndeny = 12\n", &m, NULL), 0);
        assert_int_equal(c.deny, 11);
}

static void test_parse_section_origin(void **state) {
        static const char *const forbidden[] = {
                "admin_group = wheel", "audit_group = adm", "socket = /x", "timeout = 5s",
                "failmode = open",     "debug = yes",       "silent = yes",
        };
        static const char *const headers[] = { "[user alice]", "[user bob]", "[group wheel]", "[service other]" };
        char text[256];

        for (size_t h = 0; h < ARRAY_SIZE(headers); h++)
                for (size_t i = 0; i < ARRAY_SIZE(forbidden); i++) {
                        struct acctsec_conf c = fresh();
                        struct acctsec_conf_error e;

                        /* whether or not the section applies */
                        snprintf(text, sizeof(text), "deny = 4\n\n%s\n# x\n%s\n", headers[h], forbidden[i]);
                        assert_int_equal(parse_str(&c, text, &alice_sshd, &e), -EPERM);
                        assert_int_equal(e.line, 5);
                        assert_true(strncmp(e.msg, forbidden[i], strcspn(forbidden[i], " ")) == 0);
                        assert_non_null(strstr(e.msg, i < 2 ? "not allowed inside a section" : "outside sections"));
                        assert_int_equal(c.deny, 4);
                        assert_string_equal(c.admin_group, "");
                        assert_string_equal(c.socket, ACCTSEC_DEFAULT_SOCKET);
                        assert_false(c.debug);
                }
}

static void test_parse_nonmatching_errors(void **state) {
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e;

        /* bob's section is checked when alice logs in */
        assert_int_equal(parse_str(&c, "deny = 4\n[user bob]\ndeny = 1\nunlock_time = soon\n", &alice_sshd, &e),
                         -EINVAL);
        assert_int_equal(e.line, 4);
        assert_non_null(strstr(e.msg, "unlock_time"));
        assert_int_equal(c.deny, 4); /* bob's value did not leak */

        c = fresh();
        assert_int_equal(parse_str(&c, "\n\n[service ftp]\n\n\nnosuchkey = 1\n", &alice_sshd, &e), -ENOENT);
        assert_int_equal(e.line, 6);
        assert_non_null(strstr(e.msg, "nosuchkey"));
        assert_non_null(strstr(e.msg, "unknown key"));

        c = fresh();
        assert_int_equal(parse_str(&c, "[group nobody]\nlock_scope = everything\n", &alice_sshd, &e), -EINVAL);
        assert_int_equal(e.line, 2);
        c = fresh();
        assert_int_equal(parse_str(&c, "[group nobody]\nlock_scope = everything\n", NULL, &e), -EINVAL);
        assert_int_equal(e.line, 2);

        /* values in a non-matching section never reach c */
        c = fresh();
        assert_int_equal(parse_str(&c, "[user bob]\ndeny = 1\nunlock_time = 0\neven_deny_root = yes\n"
                                       "lock_scope = user+source\nlock_message = yes\nfail_interval = 1d\n",
                                   &alice_sshd, &e),
                         0);
        assert_defaults(&c);
}

static void test_parse_errors(void **state) {
        static const struct {
                const char *text;
                int r;
                unsigned line;
                const char *msg; /* substring of the message */
        } cases[] = {
                { "deny 5\n", -EINVAL, 1, "expected key = value" },
                { "# c\n\ndeny\n", -EINVAL, 3, "expected key = value" },
                { "debug\n", -EINVAL, 1, "expected key = value" }, /* no bare booleans in the file */
                { "deny = 5\nunlock_time\n", -EINVAL, 2, "expected key = value" },
                { "deny = 5 # trailing comment\n", -EINVAL, 1, "deny" },
                { "= 5\n", -ENOENT, 1, "unknown key" },
                { "nosuchkey = 5\n", -ENOENT, 1, "nosuchkey" },
                { "Deny = 5\n", -ENOENT, 1, "unknown key" },
                { "deny = \n", -EINVAL, 1, "deny" },
                { "deny = -1\n", -EINVAL, 1, "deny" },
                { "deny = 1000001\n", -EINVAL, 1, "out of range" },
                { "timeout = 1m\n", -EINVAL, 1, "timeout" },
                { "fail_interval = 400d\n", -EINVAL, 1, "out of range" },
                { "debug = perhaps\n", -EINVAL, 1, "debug" },
                { "socket = relative\n", -EINVAL, 1, "socket" },
                { "deny = 1\n\n\n\n\n\n\n\n\n\ndeny = x\n", -EINVAL, 11, "deny" },
                /* malformed section headers */
                { "[user]\n", -EINVAL, 1, "malformed section header" },
                { "[user ]\n", -EINVAL, 1, "malformed section header" },
                { "[user alice\n", -EINVAL, 1, "malformed section header" },
                { "deny = 1\n[]\n", -EINVAL, 2, "malformed section header" },
                { "[ ]\n", -EINVAL, 1, "malformed section header" },
                { "[\n", -EINVAL, 1, "malformed section header" },
                { "[x]\n", -EINVAL, 1, "malformed section header" },
                { "[host foo]\n", -EINVAL, 1, "malformed section header" },
                { "[USER alice]\n", -EINVAL, 1, "malformed section header" },
                { "[user alice bob]\n", -EINVAL, 1, "malformed section header" },
                { "[user a]b]\n", -EINVAL, 1, "malformed section header" },
                { "[user [a]\n", -EINVAL, 1, "malformed section header" },
                { "[user alice] # comment\n", -EINVAL, 1, "malformed section header" },
                { "[user alice]\ndeny = 1\n[group]\n", -EINVAL, 3, "malformed section header" },
                /* admin_group after a section is inside that section */
                { "[user bob]\nadmin_group = wheel\n", -EPERM, 2, "admin_group" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct acctsec_conf c = fresh();
                struct acctsec_conf_error e;
                int r = parse_str(&c, cases[i].text, &alice_sshd, &e);
                if (r != cases[i].r || e.line != cases[i].line || !strstr(e.msg, cases[i].msg))
                        fail_msg("case %zu (%s): r=%d line=%u msg='%s'", i, cases[i].text, r, e.line, e.msg);
                /* and without an error struct */
                c = fresh();
                assert_int_equal(acctsec_conf_parse(&c, cases[i].text, strlen(cases[i].text), &alice_sshd, NULL),
                                 cases[i].r);
        }
}

static void test_parse_long_lines(void **state) {
        const size_t max = ACCTSEC_CONF_LINE_MAX;
        _cleanup_free_ char *text = malloc(3 * max);
        struct acctsec_conf c;
        struct acctsec_conf_error e;
        size_t n;

        assert_non_null(text);

        /* ACCTSEC_CONF_LINE_MAX - 1 bytes before the newline: accepted */
        c = fresh();
        memset(text, ' ', max - 1);
        memcpy(text + max - 1 - strlen("deny = 9"), "deny = 9", strlen("deny = 9"));
        memcpy(text + max - 1, "\ndeny = 8\n", 11);
        n = strlen(text);
        assert_int_equal(n, max - 1 + 10);
        assert_int_equal(acctsec_conf_parse(&c, text, n, NULL, &e), 0);
        assert_int_equal(c.deny, 8);
        assert_int_equal(acctsec_conf_parse(&c, text, max - 1, NULL, &e), 0);
        assert_int_equal(c.deny, 9);

        /* one more: refused, whether it is padding or a comment */
        c = fresh();
        memset(text, ' ', max);
        memcpy(text + max - strlen("deny = 9"), "deny = 9", strlen("deny = 9"));
        memcpy(text + max, "\n", 2);
        assert_int_equal(acctsec_conf_parse(&c, text, strlen(text), NULL, &e), -EINVAL);
        assert_int_equal(e.line, 1);
        assert_non_null(strstr(e.msg, "too long"));
        assert_int_equal(c.deny, 3);

        /* a long comment on line 3, with no final newline */
        memcpy(text, "deny = 2\n\n#", 11);
        memset(text + 11, 'x', 2 * max);
        text[11 + 2 * max] = '\0';
        c = fresh();
        assert_int_equal(acctsec_conf_parse(&c, text, strlen(text), NULL, &e), -EINVAL);
        assert_int_equal(e.line, 3);
        assert_non_null(strstr(e.msg, "too long"));

        /* the CR of a CRLF counts */
        memset(text, ' ', max - 2);
        memcpy(text + max - 2, "\r\n", 3);
        assert_int_equal(acctsec_conf_parse(&c, text, strlen(text), NULL, &e), 0);
        memset(text, ' ', max - 1);
        memcpy(text + max - 1, "\r\n", 3);
        assert_int_equal(acctsec_conf_parse(&c, text, strlen(text), NULL, &e), -EINVAL);
}

static void test_parse_nul(void **state) {
        static const char t1[] = "deny = 5\0\n";
        static const char t2[] = "deny = 5\n# ok\nunlock_time = 1\0h\n";
        static const char t3[] = "deny = 5\n\0";
        static const char t4[] = "\0# comment\n";
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e;

        assert_int_equal(acctsec_conf_parse(&c, t1, sizeof(t1) - 1, NULL, &e), -EINVAL);
        assert_int_equal(e.line, 1);
        assert_non_null(strstr(e.msg, "NUL"));
        assert_int_equal(c.deny, 3);

        c = fresh();
        assert_int_equal(acctsec_conf_parse(&c, t2, sizeof(t2) - 1, NULL, &e), -EINVAL);
        assert_int_equal(e.line, 3);
        assert_int_equal(c.unlock_time, 3600);

        assert_int_equal(acctsec_conf_parse(&c, t3, sizeof(t3) - 1, NULL, &e), -EINVAL);
        assert_int_equal(e.line, 2);
        assert_int_equal(acctsec_conf_parse(&c, t4, sizeof(t4) - 1, NULL, &e), -EINVAL);
        assert_int_equal(e.line, 1);
        /* but a NUL beyond len is not looked at */
        c = fresh();
        assert_int_equal(acctsec_conf_parse(&c, t1, 8, NULL, &e), 0);
        assert_int_equal(c.deny, 5);
}

static void test_parse_len_bounded(void **state) {
        /* not NUL-terminated, and len stops in the middle of the text */
        static const char text[] = { 'd', 'e', 'n', 'y', '=', '4', '\n', 'd', 'e', 'n', 'y', '=', '5', '0' };
        _cleanup_free_ char *heap = malloc(sizeof(text));
        struct acctsec_conf c = fresh();

        assert_non_null(heap);
        memcpy(heap, text, sizeof(text));
        assert_int_equal(acctsec_conf_parse(&c, heap, sizeof(text), NULL, NULL), 0);
        assert_int_equal(c.deny, 50);
        assert_int_equal(acctsec_conf_parse(&c, heap, 13, NULL, NULL), 0);
        assert_int_equal(c.deny, 5);
        assert_int_equal(acctsec_conf_parse(&c, heap, 7, NULL, NULL), 0);
        assert_int_equal(c.deny, 4);
        assert_int_equal(acctsec_conf_parse(&c, heap, 3, NULL, NULL), -EINVAL); /* "den" */
}

/* ---- acctsec_conf_load --------------------------------------------------- */

static int tmp_setup(void **state) {
        return tmp_file_setup(state, "test_conf", "acctsec.conf");
}

/* A test with a temporary directory for the file to load. */
#define load_test(fn) cmocka_unit_test_setup_teardown(fn, tmp_setup, tmp_file_teardown)

static void test_load_ok(void **state) {
        struct tmp_file *t = *state;
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e = { 0 };

        write_file(t->path, "deny = 9\n[user alice]\nunlock_time = 0\n", 0644);
        assert_int_equal(acctsec_conf_load(&c, t->path, &alice_sshd, &e), 0);
        assert_int_equal(c.deny, 9);
        assert_int_equal(c.unlock_time, 0);

        c = fresh();
        write_file(t->path, "deny = 8\n", 0600);
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, NULL), 0);
        assert_int_equal(c.deny, 8);

        c = fresh();
        write_file(t->path, "", 0640);
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, &e), 0);
        assert_defaults(&c);

        /* group-writable is the admin's choice; only world-writable is refused */
        write_file(t->path, "deny = 7\n", 0664);
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, &e), 0);
        assert_int_equal(c.deny, 7);
}

static void test_load_parse_error(void **state) {
        struct tmp_file *t = *state;
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e = { 0 };

        write_file(t->path, "deny = 9\n\n[user bob]\ndeny = lots\n", 0644);
        assert_int_equal(acctsec_conf_load(&c, t->path, &alice_sshd, &e), -EINVAL);
        assert_int_equal(e.line, 4);
        assert_non_null(strstr(e.msg, "deny"));
}

static void test_load_missing(void **state) {
        struct tmp_file *t = *state;
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e = { .line = 99 };

        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, &e), -ENOENT);
        assert_int_equal(e.line, 0);
        assert_non_null(strstr(e.msg, t->path));
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, NULL), -ENOENT);
        assert_defaults(&c);
}

static void test_load_fifo(void **state) {
        struct tmp_file *t = *state;
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e = { .line = 99 };
        int r;

        assert_int_equal(mkfifo(t->path, 0644), 0);
        /* no writer: a blocking open would hang forever; SIGALRM kills the test instead */
        alarm(10);
        r = acctsec_conf_load(&c, t->path, NULL, &e);
        alarm(0);
        assert_int_equal(r, -EINVAL);
        assert_int_equal(e.line, 0);
        assert_non_null(strstr(e.msg, "not a regular file"));
        assert_defaults(&c);
}

static void test_load_directory(void **state) {
        struct tmp_file *t = *state;
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e = { .line = 99 };

        assert_int_equal(mkdir(t->path, 0755), 0);
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, &e), -EINVAL);
        assert_int_equal(e.line, 0);
        assert_non_null(strstr(e.msg, "not a regular file"));
        assert_defaults(&c);
}

static void test_load_device(void **state) {
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e = { .line = 99 };

        assert_int_equal(acctsec_conf_load(&c, "/dev/null", NULL, &e), -EINVAL);
        assert_int_equal(e.line, 0);
        assert_non_null(strstr(e.msg, "not a regular file"));
}

static void test_load_world_writable(void **state) {
        struct tmp_file *t = *state;
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e = { .line = 99 };

        write_file(t->path, "deny = 9\n", 0646);
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, &e), -EPERM);
        assert_int_equal(e.line, 0);
        assert_non_null(strstr(e.msg, "world-writable"));
        assert_defaults(&c);
        write_file(t->path, "deny = 9\n", 0666);
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, &e), -EPERM);
        write_file(t->path, "deny = 9\n", 01777);
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, &e), -EPERM);
        assert_defaults(&c);
}

static void test_load_foreign_owner(void **state) {
        struct tmp_file *t = *state;
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e = { .line = 99 };

        if (geteuid() != 0)
                skip(); /* only root can give a file away */
        write_file(t->path, "deny = 9\n", 0644);
        if (chown(t->path, 65534, 65534) < 0)
                skip(); /* e.g. a user namespace without that uid */
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, &e), -EPERM);
        assert_non_null(strstr(e.msg, "not owned by root"));
        assert_defaults(&c);
}

static void test_load_too_big(void **state) {
        struct tmp_file *t = *state;
        struct acctsec_conf c = fresh();
        struct acctsec_conf_error e = { .line = 99 };

        write_file(t->path, "", 0644);
        assert_int_equal(truncate(t->path, ACCTSEC_CONF_FILE_MAX + 1), 0);
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, &e), -EFBIG);
        assert_int_equal(e.line, 0);
        /* exactly 1 MiB is read (and rejected for its NUL bytes, on line 1) */
        assert_int_equal(truncate(t->path, ACCTSEC_CONF_FILE_MAX), 0);
        assert_int_equal(acctsec_conf_load(&c, t->path, NULL, &e), -EINVAL);
        assert_int_equal(e.line, 1);
        assert_non_null(strstr(e.msg, "too long"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_parse_bool),
                cmocka_unit_test(test_parse_duration),
                cmocka_unit_test(test_key_socket),
                cmocka_unit_test(test_key_private_socket),
                cmocka_unit_test(test_key_prompt),
                cmocka_unit_test(test_key_timeout),
                cmocka_unit_test(test_key_failmode),
                cmocka_unit_test(test_key_bools),
                cmocka_unit_test(test_key_deny),
                cmocka_unit_test(test_key_fail_interval),
                cmocka_unit_test(test_key_unlock_time),
                cmocka_unit_test(test_key_lock_scope),
                cmocka_unit_test(test_key_sms),
                cmocka_unit_test(test_key_groups),
                cmocka_unit_test(test_key_password_numbers),
                cmocka_unit_test(test_key_mail_max_per_hour),
                cmocka_unit_test(test_key_max_password_age),
                cmocka_unit_test(test_key_relief),
                cmocka_unit_test(test_key_dictionary),
                cmocka_unit_test(test_key_geoip_database),
                cmocka_unit_test(test_unknown_key),
                cmocka_unit_test(test_origin_roles),
                cmocka_unit_test(test_origin_client),
                cmocka_unit_test(test_origin_policy),
                cmocka_unit_test(test_origin_password),
                cmocka_unit_test(test_key_is_policy),
                cmocka_unit_test(test_set_arg),
                cmocka_unit_test(test_parse_empty),
                cmocka_unit_test(test_parse_basic),
                cmocka_unit_test(test_parse_crlf_and_no_final_newline),
                cmocka_unit_test(test_parse_override_order),
                cmocka_unit_test(test_parse_sections),
                cmocka_unit_test(test_parse_password_sections),
                cmocka_unit_test(test_parse_group_userdata),
                cmocka_unit_test(test_parse_section_origin),
                cmocka_unit_test(test_parse_nonmatching_errors),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_parse_long_lines),
                cmocka_unit_test(test_parse_nul),
                cmocka_unit_test(test_parse_len_bounded),
                load_test(test_load_ok),
                load_test(test_load_parse_error),
                load_test(test_load_missing),
                load_test(test_load_fifo),
                load_test(test_load_directory),
                cmocka_unit_test(test_load_device),
                load_test(test_load_world_writable),
                load_test(test_load_foreign_owner),
                load_test(test_load_too_big),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
