/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Addresses and emailed one-time codes.  A code belongs to one attempt (one
 * login, one address check), is stored only as a keyed hash of attempt and
 * code, and is used up by one conditional UPDATE whose changed-row count
 * decides: of two racing uses exactly one wins.  A new code replaces the
 * old one by compare and swap on the send time, so the resend interval
 * holds however many daemons share the store.
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
#define SWAP_TRIES 16 /* another writer changing the same attempt this often in a row: give up */

static void read_info(const struct store_rows *row, void *ud) {
        struct email_info *e = ud;
        snprintf(e->address, sizeof(e->address), "%s", store_text(row, 0));
        snprintf(e->pending, sizeof(e->pending), "%s", store_text(row, 1));
        e->codes = store_int(row, 2) != 0;
}

int email_get(struct store *s, const char *user, struct email_info *ret) {
        memset(ret, 0, sizeof(*ret));
        int r = store_get(s, Q_EMAIL_GET, STORE_ARGS(A_TEXT(user)), read_info, ret);
        return r < 0 ? r : 0;
}

int email_set_in(struct store *s, const char *user, const char *address, bool verified, int64_t now) {
        int r = store_exec(s, verified ? Q_EMAIL_SET_VERIFIED : Q_EMAIL_SET_PENDING,
                           STORE_ARGS(A_TEXT(user), A_TEXT(address), A_INT(now)));
        return r < 0 ? r : 0;
}

int email_promote_in(struct store *s, const char *user, int64_t now) {
        int r = store_exec(s, Q_EMAIL_PROMOTE, STORE_ARGS(A_INT(now), A_TEXT(user)));
        return r < 0 ? r : r == 1 ? 0 : -ENOENT;
}

int email_codes_enable_in(struct store *s, const char *user, bool on, int64_t now) {
        int r = store_exec(s, Q_EMAIL_CODES_SET, STORE_ARGS(A_INT(on), A_INT(now), A_TEXT(user)));
        return r < 0 ? r : r == 1 || !on ? 0 : -ENOENT;
}

/* A new attempt; with spaced, none when a code for this user and purpose
 * went out less than interval ago (-EAGAIN, nothing written).  Attempts
 * older than a day go once the new one is in. */
static int attempt_new(struct store *s, const char *user, enum email_purpose purpose, const char *address,
                       int64_t now, bool spaced, unsigned interval, char ret_attempt[EMAIL_ATTEMPT_HEX]) {
        uint8_t id[ATTEMPT_BYTES];
        randombytes_buf(id, sizeof(id));
        sodium_bin2hex(ret_attempt, EMAIL_ATTEMPT_HEX, id, sizeof(id));
        int r = spaced ? store_exec(s, Q_EMAIL_ATTEMPT_ADD_SPACED,
                                    STORE_ARGS(A_TEXT(ret_attempt), A_TEXT(user), A_INT(purpose), A_TEXT(address),
                                               A_INT(now), A_INT(interval)))
                       : store_exec(s, Q_EMAIL_ATTEMPT_ADD,
                                    STORE_ARGS(A_TEXT(ret_attempt), A_TEXT(user), A_INT(purpose), A_TEXT(address),
                                               A_INT(now)));
        if (r == 0)
                return -EAGAIN;
        if (r > 0)
                r = store_exec(s, Q_EMAIL_ATTEMPT_PURGE, STORE_ARGS(A_INT(now - PURGE_AFTER)));
        return r < 0 ? r : 0;
}

int email_attempt_new_in(struct store *s, const char *user, enum email_purpose purpose, const char *address,
                         int64_t now, char ret_attempt[EMAIL_ATTEMPT_HEX]) {
        int r = attempt_new(s, user, purpose, address, now, false, 0, ret_attempt);
        return r == -EAGAIN ? -EIO : r; /* an INSERT that inserted nothing */
}

int email_attempt_new_spaced_in(struct store *s, const char *user, enum email_purpose purpose, const char *address,
                                unsigned interval, int64_t now, char ret_attempt[EMAIL_ATTEMPT_HEX],
                                int64_t *ret_wait) {
        int64_t last = 0;
        *ret_wait = 0;
        int r = attempt_new(s, user, purpose, address, now, true, interval, ret_attempt);
        if (r != -EAGAIN)
                return r;
        r = email_last_sent(s, user, purpose, &last);
        if (r < 0)
                return r;
        *ret_wait = last + (int64_t) interval - now;
        if (*ret_wait < 1) /* changed again since: say "try again" all the same */
                *ret_wait = 1;
        return -EAGAIN;
}

static void read_attempt(const struct store_rows *row, void *ud) {
        snprintf(ud, EMAIL_ATTEMPT_HEX, "%s", store_text(row, 0));
}

int email_attempt_of(struct store *s, const char *user, enum email_purpose purpose,
                     char ret_attempt[EMAIL_ATTEMPT_HEX]) {
        int r = store_get(s, Q_EMAIL_ATTEMPT_LATEST, STORE_ARGS(A_TEXT(user), A_INT(purpose)), read_attempt,
                          ret_attempt);
        return r < 0 ? r : r == 0 ? -ENOENT : 0;
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

struct code_state {
        int64_t sent;
        char *address;
};

static void read_state(const struct store_rows *row, void *ud) {
        struct code_state *c = ud;
        c->sent = store_int(row, 0);
        if (c->address)
                snprintf(c->address, EMAIL_ADDRESS_MAX, "%s", store_text(row, 1));
}

/* The attempt's last send as it is now: 0, -EAGAIN (*ret_wait set) when a
 * new send must wait, -ENOENT when it is not this user's or purpose's. */
static int code_state(struct store *s, const char *attempt, const char *user, enum email_purpose purpose,
                      unsigned interval, int64_t now, struct code_state *ret, int64_t *ret_wait) {
        *ret_wait = 0;
        int r = store_get(s, Q_EMAIL_CODE_STATE, STORE_ARGS(A_TEXT(attempt), A_TEXT(user), A_INT(purpose)),
                          read_state, ret);
        if (r <= 0)
                return r == 0 ? -ENOENT : r;
        if (ret->sent > 0 && now < ret->sent + (int64_t) interval) {
                *ret_wait = ret->sent + (int64_t) interval - now;
                return -EAGAIN;
        }
        return 0;
}

int email_code_wait(struct store *s, const char *attempt, const char *user, enum email_purpose purpose,
                    unsigned interval, int64_t now, int64_t *ret_wait) {
        struct code_state c = { 0 };
        return code_state(s, attempt, user, purpose, interval, now, &c, ret_wait);
}

/* Replace the attempt's code with hash if its send time is still as read:
 * 1 done, 0 another writer got there first, <0 error. */
static int code_swap(struct store *s, const char *attempt, const uint8_t hash[CODE_HASH_SIZE], int64_t sent,
                     unsigned ttl, int64_t now) {
        int r = store_exec(s, Q_EMAIL_CODE_SET,
                           STORE_ARGS(A_BLOB(hash, CODE_HASH_SIZE), A_INT(now), A_INT(now + (int64_t) ttl),
                                      A_TEXT(attempt), A_INT(sent)));
        return r < 0 ? r : r > 0;
}

int email_code_issue_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *attempt, const char *user,
                        enum email_purpose purpose, unsigned digits, unsigned ttl, unsigned interval, int64_t now,
                        char ret_code[EMAIL_CODE_MAX], char ret_address[EMAIL_ADDRESS_MAX], int64_t *ret_wait) {
        uint8_t hash[CODE_HASH_SIZE];
        struct code_state c = { .address = ret_address };
        int r = -EBUSY;
        for (int i = 0; i < SWAP_TRIES; i++) {
                r = code_state(s, attempt, user, purpose, interval, now, &c, ret_wait);
                if (r < 0)
                        return r;
                new_code(digits, ret_code);
                code_hash(key, attempt, ret_code, hash);
                r = code_swap(s, attempt, hash, c.sent, ttl, now);
                if (r != 0)
                        break;
                r = -EBUSY;
        }
        if (r < 0)
                acctsec_wipe(ret_code, EMAIL_CODE_MAX);
        return r < 0 ? r : 0;
}

int email_code_unsend(struct store *s, const char *attempt, int64_t now) {
        int r = store_exec(s, Q_EMAIL_CODE_UNSEND, STORE_ARGS(A_TEXT(attempt), A_INT(now)));
        return r < 0 ? r : 0;
}

/* A wrong guess: the fifth voids the code (a six-digit code is not
 * guessable in five tries; the lockout counts them too for logins).  It
 * counts against whatever code the attempt has by now: never lost. */
static int count_try(struct store *s, const char *attempt) {
        int r = store_exec(s, Q_EMAIL_CODE_TRY, STORE_ARGS(A_INT(EMAIL_TRIES_MAX), A_TEXT(attempt)));
        return r < 0 ? r : 0;
}

struct live_code {
        uint8_t hash[CODE_HASH_SIZE];
        int64_t expires;
        bool ok;
};

static void read_live(const struct store_rows *row, void *ud) {
        struct live_code *c = ud;
        size_t len = 0;
        const void *p = store_blob(row, 0, &len);
        c->ok = p && len == CODE_HASH_SIZE;
        if (c->ok)
                memcpy(c->hash, p, CODE_HASH_SIZE);
        c->expires = store_int(row, 1);
}

/* Use up the code that was compared (one conditional UPDATE: of two racing
 * uses exactly one changes the row): 1 used, 0 gone already, <0 error. */
static int consume(struct store *s, const char *attempt, const char *user, enum email_purpose purpose,
                   const uint8_t hash[CODE_HASH_SIZE], int64_t now) {
        int r;
        if (purpose == EMAIL_VERIFY || purpose == PHONE_VERIFY)
                r = store_exec(s, purpose == EMAIL_VERIFY ? Q_EMAIL_CODE_CONSUME_PENDING : Q_PHONE_CODE_CONSUME_PENDING,
                               STORE_ARGS(A_TEXT(attempt), A_BLOB(hash, CODE_HASH_SIZE), A_INT(now), A_TEXT(user)));
        else
                r = store_exec(s, Q_EMAIL_CODE_CONSUME, STORE_ARGS(A_TEXT(attempt), A_BLOB(hash, CODE_HASH_SIZE)));
        return r < 0 ? r : r == 1;
}

int email_code_use_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *attempt, const char *user,
                      enum email_purpose purpose, const char *code, int64_t now) {
        struct live_code want = { .ok = false };
        uint8_t got[CODE_HASH_SIZE];
        int r = store_get(s, Q_EMAIL_CODE_GET, STORE_ARGS(A_TEXT(attempt), A_TEXT(user), A_INT(purpose)), read_live,
                          &want);
        if (r < 0)
                return r;
        if (!want.ok)
                return -ENOENT;
        code_hash(key, attempt, code, got);
        if (sodium_memcmp(want.hash, got, CODE_HASH_SIZE) != 0) {
                r = count_try(s, attempt);
                return r < 0 ? r : -EACCES;
        }
        /* Right but too late: void it either way. */
        r = consume(s, attempt, user, purpose, want.hash, now);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        return now < want.expires ? 0 : -ETIME;
}

int email_attempt_destination(struct store *s, const char *attempt, const char *user, enum email_purpose purpose,
                              char ret[EMAIL_ADDRESS_MAX]) {
        struct code_state c = { .address = ret };
        ret[0] = '\0';
        int r = store_get(s, Q_EMAIL_CODE_STATE, STORE_ARGS(A_TEXT(attempt), A_TEXT(user), A_INT(purpose)),
                          read_state, &c);
        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static void read_max(const struct store_rows *row, void *ud) {
        *(int64_t *) ud = store_int(row, 0); /* max() of no rows is NULL: 0 */
}

int email_last_sent(struct store *s, const char *user, enum email_purpose purpose, int64_t *ret) {
        *ret = 0;
        int r = store_get(s, Q_EMAIL_LAST_SENT, STORE_ARGS(A_TEXT(user), A_INT(purpose)), read_max, ret);
        return r < 0 ? r : 0;
}
