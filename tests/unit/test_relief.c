/* SPDX-License-Identifier: BSD-3-Clause */
/* Second-factor relief on a real SQLite store (daemon/domain/relief.c):
 * the device of a login, the trusted-network skip and what never skips,
 * remembering only sources inside an allowlist entry, the expiry (the row's
 * and the setting in force), the source still listed, the per-user cap,
 * revocation and the purge.  Each call runs in a request's transaction, as
 * in the daemon; the rows and events left behind are read back. */
#include "config.h"

#include "unit.h"

#include "allowlist.h"
#include "relief.h"
#include "store_fixture.h"

#define T0 1700000000
#define DAY 86400
/* ssh-ed25519 with 32 zero bytes; OpenSSH: SHA256:... of the blob */
#define KEY_LINE "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static struct acctsec_conf conf_with(const char *skip, unsigned remember, const char *allowlist) {
        struct acctsec_conf c;
        acctsec_conf_defaults(&c);
        snprintf(c.mfa_skip_networks, sizeof(c.mfa_skip_networks), "%s", skip);
        snprintf(c.allowlist, sizeof(c.allowlist), "%s", allowlist);
        c.remember_device = remember;
        return c;
}

static struct attempt login_from(const char *rhost) {
        return (struct attempt){ .user = "alice", .service = "sshd", .rhost = rhost, .known = true,
                                 .privileged = true };
}
/* The same, as a pointer to a compound literal (an lvalue). */
#define FROM(r) (&(struct attempt){ .user = "alice", .service = "sshd", .rhost = (r), .known = true, .privileged = true })

static bool skips(struct store_fixture *f, const struct acctsec_conf *c, const struct attempt *a, const char *info,
                  int64_t now, char *reason, size_t n) {
        struct relief rl;
        assert_int_equal(relief_decide(&f->s, c, a, info, true, now, &rl), 0);
        if (reason)
                snprintf(reason, n, "%s", rl.reason);
        return rl.skip;
}

static void remember(struct store_fixture *f, const struct acctsec_conf *c, const struct attempt *a, const char *info,
                     int64_t now, const char *want_why) {
        const char *why = NULL;
        assert_int_equal(IN_TXN(&f->s, relief_remember(&f->s, c, a, info, now, &why)), 0);
        if (want_why)
                assert_string_equal(why ? why : "(remembered)", want_why);
        else
                assert_null(why);
}

static void test_device_of(void **state) {
        struct device d;
        assert_int_equal(device_of(KEY_LINE, "192.0.2.7", &d), 0);
        assert_int_equal(d.kind, DEVICE_KEY);
        assert_true(strncmp(d.name, "SHA256:", 7) == 0 && strlen(d.name) == 7 + 43);
        assert_int_equal(device_of(NULL, "::ffff:192.0.2.7", &d), 0);
        assert_int_equal(d.kind, DEVICE_ADDRESS);
        assert_string_equal(d.name, "192.0.2.7"); /* an IPv4-mapped address is the IPv4 one */
        assert_int_equal(device_of("publickey broken", "", &d), 0);
        assert_string_equal(d.name, "LOCAL");
        assert_int_equal(device_of(NULL, "host.example.com", &d), -EINVAL);
        assert_int_equal(device_of(NULL, "UNKNOWN", &d), -EINVAL);
}

static void test_trusted_network(void **state) {
        struct store_fixture *f = *state;
        struct acctsec_conf c = conf_with("10.1.0.0/16,2001:db8::/32", 0, "");
        struct attempt in = login_from("10.1.2.3"), out = login_from("10.2.0.1"), v6 = login_from("2001:db8::5");
        struct attempt name = login_from("host.example.com"), local = login_from("");
        struct relief rl;
        char why[RELIEF_REASON_MAX];
        assert_true(skips(f, &c, &in, NULL, T0, why, sizeof(why)));
        assert_string_equal(why, "trusted network 10.1.0.0/16");
        assert_true(skips(f, &c, &v6, NULL, T0, why, sizeof(why)));
        assert_string_equal(why, "trusted network 2001:db8::/32");
        assert_false(skips(f, &c, &out, NULL, T0, NULL, 0));
        assert_false(skips(f, &c, &name, NULL, T0, NULL, 0));
        assert_false(skips(f, &c, &local, NULL, T0, NULL, 0)); /* LOCAL only when listed */
        /* never without a first factor, never for a caller that is not root */
        assert_int_equal(relief_decide(&f->s, &c, &in, NULL, false, T0, &rl), 0);
        assert_false(rl.skip);
        in.privileged = false;
        assert_false(skips(f, &c, &in, NULL, T0, NULL, 0));
        in.privileged = true;
        /* never past the allowlist, nor for a disabled account */
        struct acctsec_conf narrow = conf_with("10.1.0.0/16", 0, "192.0.2.0/24");
        assert_false(skips(f, &narrow, &in, NULL, T0, NULL, 0));
        assert_int_equal(peek_exec(f, "INSERT INTO account (user, disabled, updated) VALUES ('alice', %d, %d)", T0,
                                   T0),
                         0);
        assert_false(skips(f, &c, &in, NULL, T0, NULL, 0));
        /* an unknown user is skipped like a known one: no telling who exists */
        struct attempt ghost = login_from("10.1.2.3");
        ghost.user = "ghost", ghost.known = false;
        assert_true(skips(f, &c, &ghost, NULL, T0, NULL, 0));
        assert_int_equal(peek_int(f, "SELECT count(*) FROM events"), 0); /* deciding logs nothing */
}

static void test_remembered_only_from_a_listed_source(void **state) {
        struct store_fixture *f = *state;
        struct acctsec_conf open = conf_with("", DAY, ""), listed = conf_with("", DAY, "192.0.2.0/24");
        struct attempt a = login_from("192.0.2.7"), far = login_from("198.51.100.1");
        remember(f, &open, &a, NULL, T0, "the source is in no allowlist entry");
        remember(f, &listed, &far, NULL, T0, "the source is in no allowlist entry");
        remember(f, &listed, FROM("host.example.com"), NULL, T0, "the source is not an address");
        a.privileged = false;
        remember(f, &listed, &a, NULL, T0, "not asked by root");
        a.privileged = true;
        assert_int_equal(peek_int(f, "SELECT count(*) FROM devices"), 0);
        remember(f, &listed, &a, NULL, T0, NULL);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM devices WHERE kind = 'address' AND device = '192.0.2.7'"
                                     " AND expires = %d", T0 + DAY), 1);
        assert_int_equal(peek_events(f, "device_remembered"), 1);
        /* a user's own list counts as much as the global ones */
        assert_int_equal(peek_exec(f, "INSERT INTO allowlist VALUES ('alice', '198.51.100.0/24', 'root', %d)", T0), 0);
        remember(f, &open, &far, KEY_LINE, T0, NULL);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM devices WHERE kind = 'key' AND source = '198.51.100.1'"), 1);
        /* off: nothing, and no reason to give */
        struct acctsec_conf off = conf_with("", 0, "192.0.2.0/24");
        remember(f, &off, &a, NULL, T0, NULL);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM devices"), 2);
}

static void test_remembered_device_skips_until_it_expires(void **state) {
        struct store_fixture *f = *state;
        struct acctsec_conf c = conf_with("", DAY, "192.0.2.0/24");
        struct attempt a = login_from("192.0.2.7"), other = login_from("192.0.2.8");
        char why[RELIEF_REASON_MAX];
        remember(f, &c, &a, NULL, T0, NULL);
        assert_true(skips(f, &c, &a, NULL, T0 + 60, why, sizeof(why)));
        assert_string_equal(why, "remembered device 192.0.2.7 until 2023-11-15 22:13 UTC");
        assert_false(skips(f, &c, &other, NULL, T0 + 60, NULL, 0));
        assert_false(skips(f, &c, &a, NULL, T0 + DAY, NULL, 0)); /* expired */
        /* the setting in force shortens it; 0 turns every device off */
        struct acctsec_conf shorter = conf_with("", 3600, "192.0.2.0/24"), off = conf_with("", 0, "192.0.2.0/24");
        assert_true(skips(f, &shorter, &a, NULL, T0 + 3599, NULL, 0));
        assert_false(skips(f, &shorter, &a, NULL, T0 + 3600, NULL, 0));
        assert_false(skips(f, &off, &a, NULL, T0 + 60, NULL, 0));
        /* the source it was remembered from must still be listed */
        struct acctsec_conf moved = conf_with("", DAY, "192.0.2.7/32,192.0.2.8/32");
        struct attempt keyed = login_from("192.0.2.8");
        remember(f, &c, &keyed, KEY_LINE, T0, NULL);
        assert_true(skips(f, &moved, FROM("192.0.2.7"), KEY_LINE, T0 + 60, NULL, 0));
        moved = conf_with("", DAY, "192.0.2.7/32");
        assert_false(skips(f, &moved, FROM("192.0.2.7"), KEY_LINE, T0 + 60, NULL, 0));
        /* nor when no list is left at all */
        struct acctsec_conf unlisted = conf_with("", DAY, "");
        assert_false(skips(f, &unlisted, &a, NULL, T0 + 60, NULL, 0));
}

static void test_skip_is_logged_and_touches_the_device(void **state) {
        struct store_fixture *f = *state;
        struct acctsec_conf c = conf_with("", DAY, "192.0.2.0/24");
        struct attempt a = login_from("192.0.2.7");
        struct relief rl;
        remember(f, &c, &a, NULL, T0, NULL);
        assert_int_equal(relief_decide(&f->s, &c, &a, NULL, true, T0 + 100, &rl), 0);
        assert_true(rl.skip && rl.device > 0);
        assert_int_equal(IN_TXN(&f->s, relief_skipped(&f->s, &a, &rl, T0 + 100)), 0);
        assert_int_equal(peek_events(f, "mfa_skipped"), 1);
        assert_int_equal(peek_int(f, "SELECT last_used FROM devices"), T0 + 100);
}

static int count_row(const struct device_row *d, void *ud) {
        (*(int *) ud)++;
        return 0;
}

static void test_cap_revoke_and_purge(void **state) {
        struct store_fixture *f = *state;
        struct acctsec_conf c = conf_with("", DAY, "10.0.0.0/8");
        char rhost[32];
        int64_t n = 0;
        int listed = 0;
        for (int i = 0; i <= DEVICES_MAX; i++) {
                snprintf(rhost, sizeof(rhost), "10.0.0.%d", i + 1);
                remember(f, &c, FROM(rhost), NULL, T0 + i, NULL);
        }
        assert_int_equal(peek_int(f, "SELECT count(*) FROM devices"), DEVICES_MAX);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM devices WHERE device = '10.0.0.1'"), 0); /* the oldest */
        assert_int_equal(relief_list(&f->s, "alice", count_row, &listed), 0);
        assert_int_equal(listed, DEVICES_MAX);
        int64_t id = peek_int(f, "SELECT min(id) FROM devices");
        assert_int_equal(IN_TXN(&f->s, relief_revoke(&f->s, "bob", id, NULL, "by the user", T0, &n)), -ENOENT);
        assert_int_equal(IN_TXN(&f->s, relief_revoke(&f->s, "alice", id, NULL, "by the user", T0, &n)), 0);
        assert_int_equal(n, 1);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM devices WHERE id = %lld", (long long) id), 0);
        /* the purge takes the expired ones only */
        assert_int_equal(IN_TXN(&f->s, relief_purge(&f->s, T0 + DAY + 10)), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM devices"), DEVICES_MAX - 1 - 9);
        assert_int_equal(IN_TXN(&f->s, relief_revoke(&f->s, "alice", 0, "root", "(mfa reset)", T0, &n)), 0);
        assert_int_equal(n, DEVICES_MAX - 10);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM devices"), 0);
        assert_string_equal(peek_text(f, "SELECT detail FROM events WHERE type = 'device_revoked' ORDER BY id DESC"),
                            "40 remembered devices (mfa reset)");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_device_of),
                store_unit_test(test_trusted_network),
                store_unit_test(test_remembered_only_from_a_listed_source),
                store_unit_test(test_remembered_device_skips_until_it_expires),
                store_unit_test(test_skip_is_logged_and_touches_the_device),
                store_unit_test(test_cap_revoke_and_purge),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
