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

static int count_tokens(struct store *s, const char *user, int64_t *ret) {
        sqlite3_stmt *st = store_stmt(s, "SELECT count(*) FROM tokens WHERE user = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : store_errno(rc);
}

int tokens_create(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *user, const char *name,
                  const char *services, unsigned months, unsigned max, const char *actor, int64_t now,
                  char ret_token[TOKEN_TEXT], int64_t *ret_expires) {
        uint8_t hash[HASH_SIZE];
        char detail[TOKEN_NAME_MAX + TOKEN_SERVICES_MAX + 64];
        int64_t n = 0, expires = add_months(now, months);
        int r = store_begin(s);
        if (r == 0)
                r = count_tokens(s, user, &n);
        if (r == 0 && n >= (int64_t) max)
                r = -EMLINK;
        sqlite3_stmt *st = r < 0 ? NULL
                                 : store_stmt(s, "INSERT INTO tokens (user, name, hash, services, created, expires)"
                                                 " VALUES (?, ?, ?, ?, ?, ?)");
        if (r == 0 && !st)
                r = -EIO;
        if (r == 0) {
                token_new(ret_token);
                token_hash(key, ret_token, hash);
                sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
                sqlite3_bind_blob(st, 3, hash, sizeof(hash), SQLITE_TRANSIENT);
                sqlite3_bind_text(st, 4, services, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 5, now);
                sqlite3_bind_int64(st, 6, expires);
                r = store_exec_stmt(st);
                if (r == -EINVAL) /* the primary key: the name is taken */
                        r = -EEXIST;
        }
        if (r < 0) {
                store_rollback(s);
                acctsec_wipe(ret_token, TOKEN_TEXT);
                return r;
        }
        snprintf(detail, sizeof(detail), "%s: services %s, %u month%s", name, services, months, months == 1 ? "" : "s");
        struct event ev = { .type = EV_TOKEN_CREATED, .user = user, .actor = actor, .detail = detail };
        r = seclog_commit(s, now, &ev, 1);
        if (r < 0)
                acctsec_wipe(ret_token, TOKEN_TEXT);
        *ret_expires = expires;
        return r;
}

int tokens_revoke(struct store *s, const char *user, const char *name, const char *actor, int64_t now) {
        int r = store_begin(s);
        if (r < 0)
                return r;
        sqlite3_stmt *st = store_stmt(s, "DELETE FROM tokens WHERE user = ? AND name = ?");
        if (!st) {
                store_rollback(s);
                return -EIO;
        }
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        r = store_exec_stmt(st);
        if (r == 0 && sqlite3_changes(store_sqlite_db(s)) == 0)
                r = -ENOENT;
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        struct event ev = { .type = EV_TOKEN_REVOKED, .user = user, .actor = actor, .detail = name };
        return seclog_commit(s, now, &ev, 1);
}

static void row_info(sqlite3_stmt *st, struct token_info *t) {
        const unsigned char *name = sqlite3_column_text(st, 0), *services = sqlite3_column_text(st, 1);
        snprintf(t->name, sizeof(t->name), "%s", name ? (const char *) name : "");
        snprintf(t->services, sizeof(t->services), "%s", services ? (const char *) services : "");
        t->created = sqlite3_column_int64(st, 2);
        t->expires = sqlite3_column_int64(st, 3);
        t->last_used = sqlite3_column_int64(st, 4);
}

int tokens_list(struct store *s, const char *user, int (*cb)(const struct token_info *t, void *ud), void *ud) {
        sqlite3_stmt *st = store_stmt(s, "SELECT name, services, created, expires, last_used FROM tokens"
                                         " WHERE user = ? ORDER BY created DESC, name");
        struct token_info t;
        int rc, r = 0;
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                row_info(st, &t);
                r = cb(&t, ud);
        }
        sqlite3_reset(st);
        return r < 0 ? r : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int tokens_find_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *user, const char *token,
                   struct token_info *ret) {
        uint8_t hash[HASH_SIZE];
        token_hash(key, token, hash);
        sqlite3_stmt *st = store_stmt(s, "SELECT name, services, created, expires, last_used FROM tokens"
                                         " WHERE hash = ? AND user = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                row_info(st, ret);
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
}

int tokens_touch_in(struct store *s, const char *user, const char *name, int64_t now) {
        sqlite3_stmt *st = store_stmt(s, "UPDATE tokens SET last_used = ? WHERE user = ? AND name = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
        return store_exec_stmt(st);
}
