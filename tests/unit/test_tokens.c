/* SPDX-License-Identifier: BSD-3-Clause */
/* API tokens (daemon/domain/tokens.c) on a real SQLite store, each call inside a
 * transaction as the dispatcher makes one: only a keyed hash is stored,
 * the per-user cap is counted by the insert itself, a name is taken once,
 * a token works only as its own user's, revoking deletes it (and a use
 * recorded after a revoke finds nothing), last_used follows `now`.  The
 * rows left behind are read through a second connection. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_peek.h"
#include "tokens.h"
#include "txn.h"

#define T0 1700000000 /* 2023-11-14 22:13:20 UTC */
#define MONTH_AFTER_T0 (T0 + 30 * 86400)
#define MAX 3

static const uint8_t key[KEYFILE_KEY_SIZE] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

static int setup(void **state) {
        *state = peek_fixture_new();
        assert_non_null(*state);
        return 0;
}

static int teardown(void **state) {
        assert_int_equal(peek_fixture_free(*state), 0);
        return 0;
}

/* tokens_create in a request of its own. */
static int create(struct peek_fixture *x, const char *user, const char *name, const char *services, unsigned months,
                  const char *actor, int64_t now, char token[TOKEN_TEXT], int64_t *expires) {
        txn_begin(&x->f->s);
        int r = tokens_create(&x->f->s, key, user, name, services, months, MAX, actor, now, token, expires);
        assert_int_equal(txn_end(&x->f->s, true), 0);
        return r;
}

static int revoke_token(struct peek_fixture *x, const char *user, const char *name, const char *actor, int64_t now) {
        txn_begin(&x->f->s);
        int r = tokens_revoke(&x->f->s, user, name, actor, now);
        assert_int_equal(txn_end(&x->f->s, true), 0);
        return r;
}

static int touch(struct peek_fixture *x, const char *user, const char *token, int64_t now) {
        txn_begin(&x->f->s);
        int r = tokens_touch_in(&x->f->s, key, user, token, now);
        assert_int_equal(txn_end(&x->f->s, true), 0);
        return r;
}

/* Whether the file (the database, or its WAL) holds the text. */
static bool file_has(const char *dir, const char *name, const char *text) {
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *fp = fopen(path, "rb");
        if (!fp)
                return false;
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), fp);
        fclose(fp);
        return memmem(buf, n, text, strlen(text)) != NULL;
}

static void test_create_stores_only_a_hash(void **state) {
        struct peek_fixture *x = *state;
        char token[TOKEN_TEXT];
        int64_t expires = 0;

        assert_int_equal(create(x, "alice", "ci", "sshd,su", 1, NULL, T0, token, &expires), 0);
        assert_true(token_valid(token));
        assert_int_equal(expires, MONTH_AFTER_T0); /* a calendar month */
        assert_int_equal(peek_int(x, "SELECT count(*) FROM tokens WHERE user = 'alice' AND name = 'ci'"
                                " AND services = 'sshd,su' AND created = 1700000000 AND expires = 1702592000"
                                " AND last_used = 0 AND length(hash) = 32"),
                         1);
        /* The token itself is nowhere: not in a column, not in the files. */
        assert_int_equal(peek_int(x, "SELECT count(*) FROM tokens WHERE hash = '%s' OR services = '%s'", token, token),
                         0);
        assert_false(file_has(x->f->dir, STORE_DB_NAME, token));
        assert_false(file_has(x->f->dir, STORE_DB_NAME "-wal", token));
        assert_false(file_has(x->f->dir, STORE_DB_NAME, token + strlen(TOKEN_PREFIX)));
        assert_false(file_has(x->f->dir, STORE_DB_NAME "-wal", token + strlen(TOKEN_PREFIX)));
        assert_string_equal(peek_text(x, "SELECT user || '|' || actor || '|' || detail FROM events"
                                   " WHERE type = 'token_created'"),
                            "alice||ci: services sshd,su, 1 month");

        /* Two tokens, two different hashes; an admin as the actor. */
        char other[TOKEN_TEXT];
        assert_int_equal(create(x, "alice", "backup", "sshd", 12, "root (uid 0)", T0 + 5, other, &expires), 0);
        assert_string_not_equal(token, other);
        assert_int_equal(peek_int(x, "SELECT count(DISTINCT hash) FROM tokens"), 2);
        assert_int_equal(expires, 1731622400 + 5); /* twelve calendar months (2024 is a leap year) */
        assert_string_equal(peek_text(x, "SELECT actor || '|' || detail FROM events WHERE type = 'token_created'"
                                   " ORDER BY id DESC"),
                            "root (uid 0)|backup: services sshd, 12 months");
}

/* The 31st plus one month is the 3rd of the month after (timegm's rule). */
static void test_expiry_by_the_calendar(void **state) {
        struct peek_fixture *x = *state;
        char token[TOKEN_TEXT];
        int64_t expires = 0;
        assert_int_equal(create(x, "bob", "t", "sshd", 1, NULL, 1675123200 /* 2023-01-31 */, token, &expires), 0);
        assert_int_equal(expires, 1677801600); /* 2023-03-03 */
        struct token_info t;
        assert_int_equal(tokens_find_in(&x->f->s, key, "bob", token, &t), 0);
        assert_int_equal(t.expires, 1677801600);
        assert_int_equal(t.created, 1675123200);
}

static void test_name_taken_and_cap(void **state) {
        struct peek_fixture *x = *state;
        char token[TOKEN_TEXT], zero[TOKEN_TEXT] = { 0 };
        int64_t expires = 7;

        assert_int_equal(create(x, "alice", "a", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(create(x, "alice", "a", "su", 2, NULL, T0 + 1, token, &expires), -EEXIST);
        assert_memory_equal(token, zero, TOKEN_TEXT); /* wiped: never shown */
        assert_int_equal(expires, MONTH_AFTER_T0);    /* untouched by the refusal */
        assert_string_equal(peek_text(x, "SELECT services FROM tokens WHERE name = 'a'"), "sshd");
        /* Another user may use the same name. */
        assert_int_equal(create(x, "bob", "a", "su", 1, NULL, T0, token, &expires), 0);
        /* MAX per user, whatever the names. */
        assert_int_equal(create(x, "alice", "b", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(create(x, "alice", "c", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(create(x, "alice", "d", "sshd", 1, NULL, T0, token, &expires), -EMLINK);
        assert_memory_equal(token, zero, TOKEN_TEXT);
        assert_int_equal(create(x, "alice", "a", "sshd", 1, NULL, T0, token, &expires), -EMLINK); /* the cap first */
        assert_int_equal(peek_int(x, "SELECT count(*) FROM tokens WHERE user = 'alice'"), MAX);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM tokens WHERE user = 'bob'"), 1);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM events WHERE type = 'token_created'"), MAX + 1);
        /* A revoke makes room again. */
        assert_int_equal(revoke_token(x, "alice", "b", NULL, T0 + 2), 0);
        assert_int_equal(create(x, "alice", "d", "sshd", 1, NULL, T0 + 3, token, &expires), 0);
}

static void test_find_right_and_wrong(void **state) {
        struct peek_fixture *x = *state;
        char token[TOKEN_TEXT], bobs[TOKEN_TEXT], never[TOKEN_TEXT];
        uint8_t secret[TOKEN_SECRET_BYTES] = { 42 };
        struct token_info t;
        int64_t expires;

        assert_int_equal(create(x, "alice", "ci", "sshd,su", 3, NULL, T0, token, &expires), 0);
        assert_int_equal(create(x, "bob", "ci", "sshd", 1, NULL, T0, bobs, &expires), 0);
        memset(&t, 0, sizeof(t));
        assert_int_equal(tokens_find_in(&x->f->s, key, "alice", token, &t), 0);
        assert_string_equal(t.name, "ci");
        assert_string_equal(t.services, "sshd,su");
        assert_int_equal(t.created, T0);
        assert_int_equal(t.last_used, 0);
        /* A well-formed token that was never made, and another user's. */
        token_format(secret, never);
        assert_true(token_valid(never));
        assert_int_equal(tokens_find_in(&x->f->s, key, "alice", never, &t), -ENOENT);
        assert_int_equal(tokens_find_in(&x->f->s, key, "alice", bobs, &t), -ENOENT);
        assert_int_equal(tokens_find_in(&x->f->s, key, "bob", token, &t), -ENOENT);
        /* Another key (another host's key file) makes another hash. */
        static const uint8_t other_key[KEYFILE_KEY_SIZE] = { 9 };
        assert_int_equal(tokens_find_in(&x->f->s, other_key, "alice", token, &t), -ENOENT);
        /* The look-up only reads. */
        assert_false(x->f->s.in_txn);
}

static void test_services(void **state) {
        (void) state;
        assert_true(token_service_in("sshd,su", "sshd"));
        assert_true(token_service_in("sshd,su", "su"));
        assert_false(token_service_in("sshd,su", "s"));
        assert_false(token_service_in("sshd,su", "sshd,su"));
        assert_false(token_service_in("sshd,su", "sudo"));
        assert_false(token_service_in("sshd,su", ""));
        assert_false(token_service_in("sshd,su", NULL));
        assert_true(token_services_valid("sshd"));
        assert_true(token_services_valid("sshd,su,my-app_1.x"));
        assert_false(token_services_valid(""));
        assert_false(token_services_valid(",sshd"));
        assert_false(token_services_valid("sshd,"));
        assert_false(token_services_valid("sshd,,su"));
        assert_false(token_services_valid("ssh d"));
        assert_true(token_name_valid("ci-2024.release_x"));
        assert_false(token_name_valid("-ci"));
        assert_false(token_name_valid(""));
        assert_false(token_name_valid("a/b"));
}

static void test_revoke(void **state) {
        struct peek_fixture *x = *state;
        char token[TOKEN_TEXT];
        struct token_info t;
        int64_t expires;

        assert_int_equal(create(x, "alice", "ci", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(revoke_token(x, "bob", "ci", NULL, T0 + 1), -ENOENT); /* by its own user only */
        assert_int_equal(revoke_token(x, "alice", "nope", NULL, T0 + 1), -ENOENT);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM events WHERE type = 'token_revoked'"), 0);
        assert_int_equal(revoke_token(x, "alice", "ci", "root (uid 0)", T0 + 2), 0);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM tokens"), 0);
        assert_string_equal(peek_text(x, "SELECT time || '|' || user || '|' || actor || '|' || detail FROM events"
                                   " WHERE type = 'token_revoked'"),
                            "1700000002|alice|root (uid 0)|ci");
        assert_int_equal(tokens_find_in(&x->f->s, key, "alice", token, &t), -ENOENT);
        assert_int_equal(revoke_token(x, "alice", "ci", NULL, T0 + 3), -ENOENT); /* once */
        assert_int_equal(peek_int(x, "SELECT count(*) FROM events WHERE type = 'token_revoked'"), 1);
}

static void test_last_used(void **state) {
        struct peek_fixture *x = *state;
        char token[TOKEN_TEXT], other[TOKEN_TEXT];
        struct token_info t;
        int64_t expires;

        assert_int_equal(create(x, "alice", "ci", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(create(x, "alice", "old", "sshd", 1, NULL, T0 - 10, other, &expires), 0);
        assert_int_equal(touch(x, "alice", token, T0 + 100), 0);
        assert_int_equal(peek_int(x, "SELECT last_used FROM tokens WHERE name = 'ci'"), T0 + 100);
        assert_int_equal(peek_int(x, "SELECT last_used FROM tokens WHERE name = 'old'"), 0);
        assert_int_equal(tokens_find_in(&x->f->s, key, "alice", token, &t), 0);
        assert_int_equal(t.last_used, T0 + 100);
        assert_int_equal(touch(x, "bob", token, T0 + 200), -ENOENT); /* not bob's */
        assert_int_equal(peek_int(x, "SELECT last_used FROM tokens WHERE name = 'ci'"), T0 + 100);
        /* Revoked between the look-up and the use: the use finds nothing. */
        assert_int_equal(revoke_token(x, "alice", "ci", NULL, T0 + 300), 0);
        assert_int_equal(touch(x, "alice", token, T0 + 301), -ENOENT);
        assert_int_equal(peek_int(x, "SELECT count(*) FROM tokens WHERE last_used = 1700000301"), 0);
}

struct names {
        char v[8][TOKEN_NAME_MAX + 1];
        int64_t last_used[8];
        size_t n;
};

static int collect(const struct token_info *t, void *ud) {
        struct names *n = ud;
        snprintf(n->v[n->n], sizeof(n->v[n->n]), "%s", t->name);
        n->last_used[n->n++] = t->last_used;
        return n->n == 8 ? -ECANCELED : 0;
}

static void test_list(void **state) {
        struct peek_fixture *x = *state;
        char token[TOKEN_TEXT];
        struct names n = { .n = 0 };
        int64_t expires;

        assert_int_equal(create(x, "alice", "b", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(touch(x, "alice", token, T0 + 9), 0);
        assert_int_equal(create(x, "alice", "a", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(create(x, "alice", "c", "sshd", 1, NULL, T0 + 1, token, &expires), 0);
        assert_int_equal(create(x, "bob", "z", "sshd", 1, NULL, T0 + 2, token, &expires), 0);
        assert_int_equal(tokens_list(&x->f->s, "alice", collect, &n), 0);
        assert_int_equal(n.n, 3); /* newest first, then by name */
        assert_string_equal(n.v[0], "c");
        assert_string_equal(n.v[1], "a");
        assert_string_equal(n.v[2], "b");
        assert_int_equal(n.last_used[2], T0 + 9);
        n.n = 0;
        assert_int_equal(tokens_list(&x->f->s, "carol", collect, &n), 0);
        assert_int_equal(n.n, 0);
}

int main(void) {
        if (sodium_init() < 0)
                return 1;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_create_stores_only_a_hash, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expiry_by_the_calendar, setup, teardown),
                cmocka_unit_test_setup_teardown(test_name_taken_and_cap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_find_right_and_wrong, setup, teardown),
                cmocka_unit_test(test_services),
                cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
                cmocka_unit_test_setup_teardown(test_last_used, setup, teardown),
                cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
