/* SPDX-License-Identifier: BSD-3-Clause */
/* API tokens (daemon/domain/tokens.c) on a real SQLite store, each call inside a
 * transaction as the dispatcher makes one: only a keyed hash is stored,
 * the per-user cap is counted by the insert itself, a name is taken once,
 * a token works only as its own user's, revoking deletes it (and a use
 * recorded after a revoke finds nothing), last_used follows `now`.  The
 * rows left behind are read through a second connection. */
#include "config.h"

#include "unit.h"

#include <sodium.h>

#include "tokens.h"
#include "store_fixture.h"

#define T0 1700000000 /* 2023-11-14 22:13:20 UTC */
#define MONTH_AFTER_T0 (T0 + 30 * 86400)
#define MAX 3

static const uint8_t key[KEYFILE_KEY_SIZE] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

/* tokens_create in a request of its own. */
static int create(struct store_fixture *f, const char *user, const char *name, const char *services, unsigned months,
                  const char *actor, int64_t now, char token[TOKEN_TEXT], int64_t *expires) {
        return IN_TXN(&f->s, tokens_create(&f->s, key, user, name, services, months, MAX, actor, now, token, expires));
}

static int revoke_token(struct store_fixture *f, const char *user, const char *name, const char *actor, int64_t now) {
        return IN_TXN(&f->s, tokens_revoke(&f->s, user, name, actor, now));
}

static int touch(struct store_fixture *f, const char *user, const char *token, int64_t now) {
        return IN_TXN(&f->s, tokens_touch_in(&f->s, key, user, token, now));
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
        struct store_fixture *f = *state;
        char token[TOKEN_TEXT];
        int64_t expires = 0;

        assert_int_equal(create(f, "alice", "ci", "sshd,su", 1, NULL, T0, token, &expires), 0);
        assert_true(token_valid(token));
        assert_int_equal(expires, MONTH_AFTER_T0); /* a calendar month */
        assert_int_equal(peek_int(f, "SELECT count(*) FROM tokens WHERE user = 'alice' AND name = 'ci'"
                                " AND services = 'sshd,su' AND created = 1700000000 AND expires = 1702592000"
                                " AND last_used = 0 AND length(hash) = 32"),
                         1);
        /* The token itself is nowhere: not in a column, not in the files. */
        assert_int_equal(peek_int(f, "SELECT count(*) FROM tokens WHERE hash = '%s' OR services = '%s'", token, token),
                         0);
        assert_false(file_has(f->dir, STORE_DB_NAME, token));
        assert_false(file_has(f->dir, STORE_DB_NAME "-wal", token));
        assert_false(file_has(f->dir, STORE_DB_NAME, token + strlen(TOKEN_PREFIX)));
        assert_false(file_has(f->dir, STORE_DB_NAME "-wal", token + strlen(TOKEN_PREFIX)));
        assert_string_equal(peek_text(f, "SELECT user || '|' || actor || '|' || detail FROM events"
                                   " WHERE type = 'token_created'"),
                            "alice||ci: services sshd,su, 1 month");

        /* Two tokens, two different hashes; an admin as the actor. */
        char other[TOKEN_TEXT];
        assert_int_equal(create(f, "alice", "backup", "sshd", 12, "root (uid 0)", T0 + 5, other, &expires), 0);
        assert_string_not_equal(token, other);
        assert_int_equal(peek_int(f, "SELECT count(DISTINCT hash) FROM tokens"), 2);
        assert_int_equal(expires, 1731622400 + 5); /* twelve calendar months (2024 is a leap year) */
        assert_string_equal(peek_text(f, "SELECT actor || '|' || detail FROM events WHERE type = 'token_created'"
                                   " ORDER BY id DESC"),
                            "root (uid 0)|backup: services sshd, 12 months");
}

/* The 31st plus one month is the 3rd of the month after (timegm's rule). */
static void test_expiry_by_the_calendar(void **state) {
        struct store_fixture *f = *state;
        char token[TOKEN_TEXT];
        int64_t expires = 0;
        assert_int_equal(create(f, "bob", "t", "sshd", 1, NULL, 1675123200 /* 2023-01-31 */, token, &expires), 0);
        assert_int_equal(expires, 1677801600); /* 2023-03-03 */
        struct token_info t;
        assert_int_equal(tokens_find_in(&f->s, key, "bob", token, &t), 0);
        assert_int_equal(t.expires, 1677801600);
        assert_int_equal(t.created, 1675123200);
}

static void test_name_taken_and_cap(void **state) {
        struct store_fixture *f = *state;
        char token[TOKEN_TEXT], zero[TOKEN_TEXT] = { 0 };
        int64_t expires = 7;

        assert_int_equal(create(f, "alice", "a", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(create(f, "alice", "a", "su", 2, NULL, T0 + 1, token, &expires), -EEXIST);
        assert_memory_equal(token, zero, TOKEN_TEXT); /* wiped: never shown */
        assert_int_equal(expires, MONTH_AFTER_T0);    /* untouched by the refusal */
        assert_string_equal(peek_text(f, "SELECT services FROM tokens WHERE name = 'a'"), "sshd");
        /* Another user may use the same name. */
        assert_int_equal(create(f, "bob", "a", "su", 1, NULL, T0, token, &expires), 0);
        /* MAX per user, whatever the names. */
        assert_int_equal(create(f, "alice", "b", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(create(f, "alice", "c", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(create(f, "alice", "d", "sshd", 1, NULL, T0, token, &expires), -EMLINK);
        assert_memory_equal(token, zero, TOKEN_TEXT);
        assert_int_equal(create(f, "alice", "a", "sshd", 1, NULL, T0, token, &expires), -EMLINK); /* the cap first */
        assert_int_equal(peek_int(f, "SELECT count(*) FROM tokens WHERE user = 'alice'"), MAX);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM tokens WHERE user = 'bob'"), 1);
        assert_int_equal(peek_events(f, "token_created"), MAX + 1);
        /* A revoke makes room again. */
        assert_int_equal(revoke_token(f, "alice", "b", NULL, T0 + 2), 0);
        assert_int_equal(create(f, "alice", "d", "sshd", 1, NULL, T0 + 3, token, &expires), 0);
}

static void test_find_right_and_wrong(void **state) {
        struct store_fixture *f = *state;
        char token[TOKEN_TEXT], bobs[TOKEN_TEXT], never[TOKEN_TEXT];
        uint8_t secret[TOKEN_SECRET_BYTES] = { 42 };
        struct token_info t;
        int64_t expires;

        assert_int_equal(create(f, "alice", "ci", "sshd,su", 3, NULL, T0, token, &expires), 0);
        assert_int_equal(create(f, "bob", "ci", "sshd", 1, NULL, T0, bobs, &expires), 0);
        memset(&t, 0, sizeof(t));
        assert_int_equal(tokens_find_in(&f->s, key, "alice", token, &t), 0);
        assert_string_equal(t.name, "ci");
        assert_string_equal(t.services, "sshd,su");
        assert_int_equal(t.created, T0);
        assert_int_equal(t.last_used, 0);
        /* A well-formed token that was never made, and another user's. */
        token_format(secret, never);
        assert_true(token_valid(never));
        assert_int_equal(tokens_find_in(&f->s, key, "alice", never, &t), -ENOENT);
        assert_int_equal(tokens_find_in(&f->s, key, "alice", bobs, &t), -ENOENT);
        assert_int_equal(tokens_find_in(&f->s, key, "bob", token, &t), -ENOENT);
        /* Another key (another host's key file) makes another hash. */
        static const uint8_t other_key[KEYFILE_KEY_SIZE] = { 9 };
        assert_int_equal(tokens_find_in(&f->s, other_key, "alice", token, &t), -ENOENT);
        /* The look-up only reads. */
        assert_false(f->s.in_txn);
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
        struct store_fixture *f = *state;
        char token[TOKEN_TEXT];
        struct token_info t;
        int64_t expires;

        assert_int_equal(create(f, "alice", "ci", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(revoke_token(f, "bob", "ci", NULL, T0 + 1), -ENOENT); /* by its own user only */
        assert_int_equal(revoke_token(f, "alice", "nope", NULL, T0 + 1), -ENOENT);
        assert_int_equal(peek_events(f, "token_revoked"), 0);
        assert_int_equal(revoke_token(f, "alice", "ci", "root (uid 0)", T0 + 2), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM tokens"), 0);
        assert_string_equal(peek_text(f, "SELECT time || '|' || user || '|' || actor || '|' || detail FROM events"
                                   " WHERE type = 'token_revoked'"),
                            "1700000002|alice|root (uid 0)|ci");
        assert_int_equal(tokens_find_in(&f->s, key, "alice", token, &t), -ENOENT);
        assert_int_equal(revoke_token(f, "alice", "ci", NULL, T0 + 3), -ENOENT); /* once */
        assert_int_equal(peek_events(f, "token_revoked"), 1);
}

static void test_last_used(void **state) {
        struct store_fixture *f = *state;
        char token[TOKEN_TEXT], other[TOKEN_TEXT];
        struct token_info t;
        int64_t expires;

        assert_int_equal(create(f, "alice", "ci", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(create(f, "alice", "old", "sshd", 1, NULL, T0 - 10, other, &expires), 0);
        assert_int_equal(touch(f, "alice", token, T0 + 100), 0);
        assert_int_equal(peek_int(f, "SELECT last_used FROM tokens WHERE name = 'ci'"), T0 + 100);
        assert_int_equal(peek_int(f, "SELECT last_used FROM tokens WHERE name = 'old'"), 0);
        assert_int_equal(tokens_find_in(&f->s, key, "alice", token, &t), 0);
        assert_int_equal(t.last_used, T0 + 100);
        assert_int_equal(touch(f, "bob", token, T0 + 200), -ENOENT); /* not bob's */
        assert_int_equal(peek_int(f, "SELECT last_used FROM tokens WHERE name = 'ci'"), T0 + 100);
        /* Revoked between the look-up and the use: the use finds nothing. */
        assert_int_equal(revoke_token(f, "alice", "ci", NULL, T0 + 300), 0);
        assert_int_equal(touch(f, "alice", token, T0 + 301), -ENOENT);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM tokens WHERE last_used = 1700000301"), 0);
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
        struct store_fixture *f = *state;
        char token[TOKEN_TEXT];
        struct names n = { .n = 0 };
        int64_t expires;

        assert_int_equal(create(f, "alice", "b", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(touch(f, "alice", token, T0 + 9), 0);
        assert_int_equal(create(f, "alice", "a", "sshd", 1, NULL, T0, token, &expires), 0);
        assert_int_equal(create(f, "alice", "c", "sshd", 1, NULL, T0 + 1, token, &expires), 0);
        assert_int_equal(create(f, "bob", "z", "sshd", 1, NULL, T0 + 2, token, &expires), 0);
        assert_int_equal(tokens_list(&f->s, "alice", collect, &n), 0);
        assert_int_equal(n.n, 3); /* newest first, then by name */
        assert_string_equal(n.v[0], "c");
        assert_string_equal(n.v[1], "a");
        assert_string_equal(n.v[2], "b");
        assert_int_equal(n.last_used[2], T0 + 9);
        n.n = 0;
        assert_int_equal(tokens_list(&f->s, "carol", collect, &n), 0);
        assert_int_equal(n.n, 0);
}

int main(void) {
        if (sodium_init() < 0)
                return 1;
        const struct CMUnitTest tests[] = {
                store_unit_test(test_create_stores_only_a_hash),
                store_unit_test(test_expiry_by_the_calendar),
                store_unit_test(test_name_taken_and_cap),
                store_unit_test(test_find_right_and_wrong),
                cmocka_unit_test(test_services),
                store_unit_test(test_revoke),
                store_unit_test(test_last_used),
                store_unit_test(test_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
