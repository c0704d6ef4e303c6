/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Addresses and emailed one-time codes.  A code belongs to one attempt (one
 * login, one address check), is stored only as a keyed hash of attempt and
 * code, and is used up by a conditional UPDATE inside the caller's
 * BEGIN IMMEDIATE: of two racing uses exactly one wins.
 */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "email.h"
#include "secret.h"

#define CODE_HASH_SIZE 32
#define ATTEMPT_BYTES 16
#define PURGE_AFTER (24 * 3600)

static void copy_col(sqlite3_stmt *st, int col, char *buf, size_t n) {
        const unsigned char *t = sqlite3_column_text(st, col);
        snprintf(buf, n, "%s", t ? (const char *) t : "");
}

int email_get(struct store *s, const char *user, struct email_info *ret) {
        sqlite3_stmt *st = store_stmt(s, "SELECT address, pending, codes FROM email WHERE user = ?");
        memset(ret, 0, sizeof(*ret));
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                copy_col(st, 0, ret->address, sizeof(ret->address));
                copy_col(st, 1, ret->pending, sizeof(ret->pending));
                ret->codes = sqlite3_column_int(st, 2) != 0;
        }
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int email_set_in(struct store *s, const char *user, const char *address, bool verified, int64_t now) {
        sqlite3_stmt *st = store_stmt(
                s, verified ? "INSERT INTO email (user, address, pending, updated) VALUES (?1, ?2, '', ?3)"
                              " ON CONFLICT (user) DO UPDATE SET address = ?2, pending = '', updated = ?3"
                            : "INSERT INTO email (user, pending, updated) VALUES (?1, ?2, ?3)"
                              " ON CONFLICT (user) DO UPDATE SET pending = ?2, updated = ?3");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, address, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        return store_exec_stmt(st);
}

int email_promote_in(struct store *s, const char *user, int64_t now) {
        sqlite3_stmt *st = store_stmt(s, "UPDATE email SET address = pending, pending = '', updated = ?"
                                         " WHERE user = ? AND pending != ''");
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        int r = store_exec_stmt(st);
        return r < 0 ? r : sqlite3_changes(store_sqlite_db(s)) == 1 ? 0 : -ENOENT;
}

int email_codes_enable_in(struct store *s, const char *user, bool on, int64_t now) {
        sqlite3_stmt *st = store_stmt(s, "UPDATE email SET codes = ?, updated = ? WHERE user = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_int(st, 1, on);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
        int r = store_exec_stmt(st);
        return r < 0 ? r : sqlite3_changes(store_sqlite_db(s)) == 1 || !on ? 0 : -ENOENT;
}

int email_attempt_new_in(struct store *s, const char *user, enum email_purpose purpose, const char *address,
                         int64_t now, char ret_attempt[EMAIL_ATTEMPT_HEX]) {
        uint8_t id[ATTEMPT_BYTES];
        sqlite3_stmt *st = store_stmt(s, "DELETE FROM email_codes WHERE created < ?");
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now - PURGE_AFTER);
        int r = store_exec_stmt(st);
        if (r < 0)
                return r;
        randombytes_buf(id, sizeof(id));
        sodium_bin2hex(ret_attempt, EMAIL_ATTEMPT_HEX, id, sizeof(id));
        st = store_stmt(s, "INSERT INTO email_codes (attempt, user, purpose, address, created)"
                           " VALUES (?, ?, ?, ?, ?)");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, ret_attempt, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, purpose);
        sqlite3_bind_text(st, 4, address, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        return store_exec_stmt(st);
}

int email_attempt_of(struct store *s, const char *user, enum email_purpose purpose,
                     char ret_attempt[EMAIL_ATTEMPT_HEX]) {
        sqlite3_stmt *st = store_stmt(s, "SELECT attempt FROM email_codes WHERE user = ? AND purpose = ?"
                                         " ORDER BY created DESC, sent DESC LIMIT 1");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, purpose);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                copy_col(st, 0, ret_attempt, EMAIL_ATTEMPT_HEX);
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
}

/* keyed BLAKE2b over attempt || code: the same code in two attempts has two
 * different hashes, and a copy of the database alone cannot be searched. */
static void code_hash(const uint8_t key[KEYFILE_KEY_SIZE], const char *attempt, const char *code,
                      uint8_t out[CODE_HASH_SIZE]) {
        uint8_t k[crypto_generichash_KEYBYTES];
        crypto_generichash_state h;
        crypto_kdf_derive_from_key(k, sizeof(k), 3, "acctsecE", key);
        crypto_generichash_init(&h, k, sizeof(k), CODE_HASH_SIZE);
        crypto_generichash_update(&h, (const uint8_t *) attempt, strlen(attempt) + 1);
        crypto_generichash_update(&h, (const uint8_t *) code, strlen(code));
        crypto_generichash_final(&h, out, CODE_HASH_SIZE);
        acctsec_wipe(k, sizeof(k));
        acctsec_wipe(&h, sizeof(h));
}

static void new_code(unsigned digits, char out[EMAIL_CODE_MAX]) {
        for (unsigned i = 0; i < digits; i++)
                out[i] = (char) ('0' + randombytes_uniform(10));
        out[digits] = '\0';
}

int email_code_issue_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *attempt, const char *user,
                        enum email_purpose purpose, unsigned digits, unsigned ttl, unsigned interval, int64_t now, char ret_code[EMAIL_CODE_MAX],
                        char ret_address[EMAIL_ADDRESS_MAX], int64_t *ret_wait) {
        uint8_t hash[CODE_HASH_SIZE];
        *ret_wait = 0;
        sqlite3_stmt *st = store_stmt(s, "SELECT sent, address FROM email_codes"
                                         " WHERE attempt = ? AND user = ? AND purpose = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, attempt, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, purpose);
        int rc = sqlite3_step(st);
        int64_t sent = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        if (rc == SQLITE_ROW)
                copy_col(st, 1, ret_address, EMAIL_ADDRESS_MAX);
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
        if (sent > 0 && now < sent + (int64_t) interval) {
                *ret_wait = sent + (int64_t) interval - now;
                return -EAGAIN;
        }
        new_code(digits, ret_code);
        code_hash(key, attempt, ret_code, hash);
        st = store_stmt(s, "UPDATE email_codes SET hash = ?, sent = ?, expires = ?, tries = 0 WHERE attempt = ?");
        if (!st) {
                acctsec_wipe(ret_code, EMAIL_CODE_MAX);
                return -EIO;
        }
        sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int64(st, 3, now + (int64_t) ttl);
        sqlite3_bind_text(st, 4, attempt, -1, SQLITE_STATIC);
        int r = store_exec_stmt(st);
        if (r < 0)
                acctsec_wipe(ret_code, EMAIL_CODE_MAX);
        return r;
}

int email_code_unsend(struct store *s, const char *attempt, int64_t now) {
        sqlite3_stmt *st = store_stmt(s, "UPDATE email_codes SET hash = NULL, sent = 0 WHERE attempt = ? AND sent <= ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, attempt, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        return store_exec_stmt(st);
}

/* A wrong guess: the fifth voids the code (a six-digit code is not
 * guessable in five tries; the lockout counts them too for logins). */
static int count_try(struct store *s, const char *attempt) {
        sqlite3_stmt *st = store_stmt(s, "UPDATE email_codes SET tries = tries + 1,"
                                         " hash = CASE WHEN tries + 1 >= ? THEN NULL ELSE hash END WHERE attempt = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_int(st, 1, EMAIL_TRIES_MAX);
        sqlite3_bind_text(st, 2, attempt, -1, SQLITE_STATIC);
        return store_exec_stmt(st);
}

int email_code_use_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *attempt, const char *user,
                      enum email_purpose purpose, const char *code, int64_t now) {
        uint8_t want[CODE_HASH_SIZE], got[CODE_HASH_SIZE];
        sqlite3_stmt *st = store_stmt(s, "SELECT hash, expires FROM email_codes"
                                         " WHERE attempt = ? AND user = ? AND purpose = ? AND hash IS NOT NULL");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, attempt, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, purpose);
        int rc = sqlite3_step(st), r = 0;
        int64_t expires = 0;
        if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == CODE_HASH_SIZE) {
                memcpy(want, sqlite3_column_blob(st, 0), CODE_HASH_SIZE);
                expires = sqlite3_column_int64(st, 1);
        } else
                r = rc == SQLITE_ROW || rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
        sqlite3_reset(st);
        if (r < 0)
                return r;
        code_hash(key, attempt, code, got);
        bool same = sodium_memcmp(want, got, CODE_HASH_SIZE) == 0;
        if (!same) {
                r = count_try(s, attempt);
                return r < 0 ? r : -EACCES;
        }
        /* Right but too late: void it either way. */
        st = store_stmt(s, "UPDATE email_codes SET hash = NULL WHERE attempt = ? AND hash = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, attempt, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, want, CODE_HASH_SIZE, SQLITE_TRANSIENT);
        r = store_exec_stmt(st);
        if (r < 0)
                return r;
        if (sqlite3_changes(store_sqlite_db(s)) != 1)
                return -ENOENT;
        return now < expires ? 0 : -ETIME;
}

int email_last_sent(struct store *s, const char *user, enum email_purpose purpose, int64_t *ret) {
        sqlite3_stmt *st = store_stmt(s, "SELECT max(sent) FROM email_codes WHERE user = ? AND purpose = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, purpose);
        int rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : store_errno(rc);
}
