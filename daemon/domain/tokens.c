/* SPDX-License-Identifier: BSD-3-Clause */
/* API tokens: stored as a keyed BLAKE2b of the whole token, looked up by
 * that hash; the token itself exists only in the reply that creates it. */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "secret.h"
#include "seclog.h"
#include "tokens.h"

#define HASH_SIZE 32

static bool name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-';
}

bool token_name_valid(const char *name) {
        size_t n = strlen(name);
        if (n == 0 || n > TOKEN_NAME_MAX || name[0] == '-')
                return false;
        for (const char *p = name; *p; p++)
                if (!name_char(*p))
                        return false;
        return true;
}

bool token_services_valid(const char *services) {
        size_t n = strlen(services);
        if (n == 0 || n > TOKEN_SERVICES_MAX || services[0] == ',' || services[n - 1] == ',' || strstr(services, ",,"))
                return false;
        for (const char *p = services; *p; p++)
                if (*p != ',' && !name_char(*p))
                        return false;
        return true;
}

bool token_service_in(const char *services, const char *service) {
        size_t n = service ? strlen(service) : 0;
        if (n == 0)
                return false;
        for (const char *p = services; *p;) {
                size_t k = strcspn(p, ",");
                if (k == n && memcmp(p, service, n) == 0)
                        return true;
                p += k + (p[k] == ',');
        }
        return false;
}

static void token_hash(const uint8_t key[KEYFILE_KEY_SIZE], const char *token, uint8_t out[HASH_SIZE]) {
        uint8_t k[crypto_generichash_KEYBYTES];
        crypto_kdf_derive_from_key(k, sizeof(k), 4, "acctsecT", key);
        crypto_generichash(out, HASH_SIZE, (const uint8_t *) token, strlen(token), k, sizeof(k));
        acctsec_wipe(k, sizeof(k));
}

/* now + months, by the calendar (UTC), the day clamped by mktime's rules. */
static int64_t add_months(int64_t now, unsigned months) {
        time_t t = (time_t) now;
        struct tm tm;
        if (!gmtime_r(&t, &tm))
                return now + (int64_t) months * 30 * 86400;
        tm.tm_mon += (int) months;
        return (int64_t) timegm(&tm);
}

/* Why a token could not be inserted: the cap, else the name (or, never
 * seen, the hash) was taken. */
static int insert_refused(struct store *s, const char *user, unsigned max) {
        int64_t n = 0;
        int r = store_get_int(s, Q_TOKEN_COUNT, STORE_ARGS(A_TEXT(user)), &n);
        if (r < 0)
                return r;
        return n >= (int64_t) max ? -EMLINK : -EEXIST;
}

/* The insert counts the user's tokens itself: the cap holds however many
 * requests create tokens at once. */
static int token_insert(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *user, const char *name,
                        const char *services, unsigned max, int64_t now, int64_t expires, char token[TOKEN_TEXT]) {
        uint8_t hash[HASH_SIZE];
        token_new(token);
        token_hash(key, token, hash);
        int r = store_exec(s, Q_TOKEN_INSERT,
                           STORE_ARGS(A_TEXT(user), A_TEXT(name), A_BLOB(hash, sizeof(hash)), A_TEXT(services),
                                      A_INT(now), A_INT(expires), A_INT(max)));
        if (r == 0)
                r = insert_refused(s, user, max);
        return r < 0 ? r : 0;
}

int tokens_create(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *user, const char *name,
                  const char *services, unsigned months, unsigned max, const char *actor, int64_t now,
                  char ret_token[TOKEN_TEXT], int64_t *ret_expires) {
        char detail[TOKEN_NAME_MAX + TOKEN_SERVICES_MAX + 64];
        int64_t expires = add_months(now, months);
        int r = token_insert(s, key, user, name, services, max, now, expires, ret_token);
        if (r == 0) {
                snprintf(detail, sizeof(detail), "%s: services %s, %u month%s", name, services, months,
                         months == 1 ? "" : "s");
                struct event ev = { .type = EV_TOKEN_CREATED, .user = user, .actor = actor, .detail = detail };
                r = seclog_add(s, now, &ev);
        }
        if (r < 0) {
                acctsec_wipe(ret_token, TOKEN_TEXT);
                return r;
        }
        *ret_expires = expires;
        return 0;
}

int tokens_revoke(struct store *s, const char *user, const char *name, const char *actor, int64_t now) {
        int r = store_exec(s, Q_TOKEN_REVOKE, STORE_ARGS(A_TEXT(user), A_TEXT(name)));
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        struct event ev = { .type = EV_TOKEN_REVOKED, .user = user, .actor = actor, .detail = name };
        return seclog_add(s, now, &ev);
}

static void row_info(const struct store_rows *row, void *userdata) {
        struct token_info *t = userdata;
        snprintf(t->name, sizeof(t->name), "%s", store_text(row, 0));
        snprintf(t->services, sizeof(t->services), "%s", store_text(row, 1));
        t->created = store_int(row, 2);
        t->expires = store_int(row, 3);
        t->last_used = store_int(row, 4);
}

int tokens_list(struct store *s, const char *user, int (*cb)(const struct token_info *t, void *ud), void *ud) {
        struct store_rows rows;
        struct token_info t;
        int r = store_select(s, Q_TOKEN_LIST, STORE_ARGS(A_TEXT(user)), &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0) {
                row_info(&rows, &t);
                r = cb(&t, ud);
        }
        store_rows_end(&rows);
        return r < 0 ? r : 0;
}

int tokens_find_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *user, const char *token,
                   struct token_info *ret) {
        uint8_t hash[HASH_SIZE];
        token_hash(key, token, hash);
        int r = store_get(s, Q_TOKEN_FIND, STORE_ARGS(A_BLOB(hash, sizeof(hash)), A_TEXT(user)), row_info, ret);
        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int tokens_touch_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *user, const char *token,
                    int64_t now) {
        uint8_t hash[HASH_SIZE];
        token_hash(key, token, hash);
        int r = store_exec(s, Q_TOKEN_TOUCH, STORE_ARGS(A_INT(now), A_BLOB(hash, sizeof(hash)), A_TEXT(user)));
        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}
