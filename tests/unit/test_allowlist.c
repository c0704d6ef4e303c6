/* SPDX-License-Identifier: BSD-3-Clause */
/* IP allowlists (daemon/domain/allowlist.c) on a real SQLite store: adding and
 * removing entries (each with its event, nothing when nothing changes), the
 * cap on one list, and the check: every list that applies and is not empty
 * (the config's, the global one, the user's) must contain the source. */
#include "config.h"

#include "unit.h"

#include "allowlist.h"
#include "store_fixture.h"

#define T0 1700000000

/* The config's policy (its allowlist=); setup resets it. */
static struct acctsec_conf conf;

static int setup(void **state) {
        acctsec_conf_defaults(&conf);
        return store_setup(state);
}

static int add(struct store_fixture *f, const char *user, const char *text, int64_t now) {
        struct cidr c;
        assert_int_equal(cidr_parse(text, &c), 0);
        return IN_TXN(&f->s, allowlist_add(&f->s, user, &c, "root", now));
}

static int del(struct store_fixture *f, const char *user, const char *text, int64_t now) {
        struct cidr c;
        assert_int_equal(cidr_parse(text, &c), 0);
        return IN_TXN(&f->s, allowlist_remove(&f->s, user, &c, "root", now));
}

/* Whether a login of user from rhost may go on. */
static bool allowed(struct store_fixture *f, const char *user, const char *rhost) {
        bool ok = true;
        assert_int_equal(allowlist_check(&f->s, &conf, user, rhost, &ok), 0);
        return ok;
}

static int64_t rows(struct store_fixture *f, const char *user) {
        return peek_int(f, "SELECT count(*) FROM allowlist WHERE user = '%s'", user);
}

static void test_add_remove(void **state) {
        struct store_fixture *f = *state;
        assert_int_equal(add(f, "alice", "192.0.2.0/24", T0), 0);
        assert_int_equal(peek_int(f, "SELECT created FROM allowlist WHERE user = 'alice'"
                                           " AND cidr = '192.0.2.0/24'"
                                           " AND actor = 'root'"),
                         T0);
        assert_string_equal(peek_text(f, "SELECT user || ' ' || actor || ' ' || detail FROM events"
                                         " WHERE type = 'allowlist_added'"),
                            "alice root 192.0.2.0/24");
        /* the same range again: nothing changes, nothing logged */
        assert_int_equal(add(f, "alice", "192.0.2.0/24", T0 + 1), -EEXIST);
        assert_int_equal(rows(f, "alice"), 1);
        assert_int_equal(peek_events(f, "allowlist_added"), 1);
        /* LOCAL and IPv6, canonical */
        assert_int_equal(add(f, "alice", "local", T0 + 2), 0);
        assert_int_equal(add(f, "alice", "2001:db8::/32", T0 + 3), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM allowlist WHERE cidr IN ('LOCAL', '2001:db8::/32')"),
                         2);
        /* removed once; the second time there is nothing to remove */
        assert_int_equal(del(f, "alice", "192.0.2.0/24", T0 + 4), 0);
        assert_int_equal(del(f, "alice", "192.0.2.0/24", T0 + 5), -ENOENT);
        assert_int_equal(rows(f, "alice"), 2);
        assert_int_equal(peek_events(f, "allowlist_removed"), 1);
        /* another user's list is another list */
        assert_int_equal(del(f, "bob", "LOCAL", T0 + 6), -ENOENT);
        assert_int_equal(rows(f, "alice"), 2);
}

static void test_global_list(void **state) {
        struct store_fixture *f = *state;
        assert_int_equal(add(f, "", "198.51.100.0/24", T0), 0);
        assert_int_equal(rows(f, ""), 1);
        assert_string_equal(peek_text(f, "SELECT user || ' ' || detail FROM events WHERE type = 'allowlist_added'"),
                            "* 198.51.100.0/24 (global list)");
        /* the global list applies to everyone */
        assert_true(allowed(f, "alice", "198.51.100.7"));
        assert_false(allowed(f, "alice", "192.0.2.1"));
        assert_false(allowed(f, "bob", NULL)); /* LOCAL is not in it */
        /* a user's list must contain the source as well */
        assert_int_equal(add(f, "alice", "198.51.100.7", T0), 0);
        assert_true(allowed(f, "alice", "198.51.100.7"));
        assert_false(allowed(f, "alice", "198.51.100.8"));
        assert_true(allowed(f, "bob", "198.51.100.8"));
        assert_int_equal(del(f, "", "198.51.100.0/24", T0 + 1), 0);
        assert_string_equal(peek_text(f, "SELECT user || ' ' || detail FROM events WHERE type = 'allowlist_removed'"),
                            "* 198.51.100.0/24 (global list)");
        assert_true(allowed(f, "bob", "192.0.2.1"));
        assert_false(allowed(f, "alice", "192.0.2.1"));
}

static void test_check(void **state) {
        struct store_fixture *f = *state;

        /* no list: anyone from anywhere */
        assert_true(allowed(f, "alice", "192.0.2.1"));
        assert_true(allowed(f, "alice", NULL));
        /* LOCAL: no remote host (NULL or ""), and nothing else */
        assert_int_equal(add(f, "alice", "LOCAL", T0), 0);
        assert_true(allowed(f, "alice", NULL));
        assert_true(allowed(f, "alice", ""));
        assert_false(allowed(f, "alice", "127.0.0.1"));
        /* a host name or garbage matches nothing, LOCAL included */
        assert_false(allowed(f, "alice", "localhost"));
        assert_false(allowed(f, "alice", "UNKNOWN"));
        assert_int_equal(add(f, "alice", "2001:db8:1::/48", T0), 0);
        assert_int_equal(add(f, "alice", "192.0.2.0/24", T0), 0);
        assert_true(allowed(f, "alice", "::ffff:192.0.2.9")); /* IPv4-mapped */
        assert_true(allowed(f, "alice", "2001:db8:1::5"));
        assert_false(allowed(f, "alice", "2001:db8::1"));
        /* the config's list too */
        snprintf(conf.allowlist, sizeof(conf.allowlist), "%s", "192.0.2.128/25,LOCAL");
        assert_false(allowed(f, "alice", "192.0.2.9"));
        assert_true(allowed(f, "alice", "192.0.2.200"));
        assert_true(allowed(f, "alice", NULL));
        assert_false(allowed(f, "bob", "192.0.2.9"));
        assert_true(allowed(f, "bob", "192.0.2.129"));
        /* the check only reads */
        assert_int_equal(peek_events(f, "allowlist_added"), 3);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM events"), 3);
}

static void test_cap(void **state) {
        struct store_fixture *f = *state;
        char text[CIDR_TEXT_MAX];

        for (int i = 0; i < ALLOWLIST_MAX; i++) {
                snprintf(text, sizeof(text), "10.0.%d.%d", i / 256, i % 256);
                assert_int_equal(add(f, "alice", text, T0 + i), 0);
        }
        assert_int_equal(rows(f, "alice"), ALLOWLIST_MAX);
        assert_int_equal(add(f, "alice", "192.0.2.0/24", T0), -EMLINK);
        assert_int_equal(add(f, "alice", "10.0.0.0/32", T0), -EMLINK); /* full comes first */
        assert_int_equal(rows(f, "alice"), ALLOWLIST_MAX);
        assert_int_equal(peek_events(f, "allowlist_added"), ALLOWLIST_MAX);
        /* the insert itself checks the room (two daemons adding at once) */
        txn_begin(&f->s);
        assert_int_equal(store_exec(&f->s, Q_ALLOWLIST_ADD, STORE_ARGS(A_TEXT("alice"), A_TEXT("192.0.2.0/24"),
                                                                      A_TEXT("root"), A_INT(T0),
                                                                      A_INT(ALLOWLIST_MAX))),
                         0);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(rows(f, "alice"), ALLOWLIST_MAX);
        /* other lists are not full */
        assert_int_equal(add(f, "bob", "192.0.2.0/24", T0), 0);
        assert_int_equal(add(f, "", "192.0.2.0/24", T0), 0);
        /* room again after a removal */
        assert_int_equal(del(f, "alice", "10.0.0.0/32", T0), 0);
        assert_int_equal(add(f, "alice", "192.0.2.0/24", T0), 0);
        assert_int_equal(rows(f, "alice"), ALLOWLIST_MAX);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                store_unit_test_setup(test_add_remove, setup),
                store_unit_test_setup(test_global_list, setup),
                store_unit_test_setup(test_check, setup),
                store_unit_test_setup(test_cap, setup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
