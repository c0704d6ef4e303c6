/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TOTP as a second factor.  The secret is sealed with the key file; a time
 * step, once used, can never be used again: last_step only moves forward,
 * by one conditional UPDATE inside BEGIN IMMEDIATE.
 */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "mfa.h"
#include "secret.h"
#include "email.h"
#include "seclog.h"
#include "totp.h"

#define SEALED_SIZE (TOTP_SECRET_SIZE + VAULT_OVERHEAD)
#define ISSUER "acctsec"

int mfa_sealed_count(struct store *s, int64_t *ret) {
        sqlite3_stmt *st = store_stmt(s, "SELECT count(*) FROM mfa_totp");
        if (!st)
                return -EIO;
        int rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : store_errno(rc);
}

int mfa_totp_state(struct mfa *m, const char *user, enum acctsec_mfa_state *ret) {
        sqlite3_stmt *st = store_stmt(m->store, "SELECT active FROM mfa_totp WHERE user = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        *ret = rc != SQLITE_ROW                 ? ACCTSEC_MFA_STATE_NONE
               : sqlite3_column_int(st, 0) != 0 ? ACCTSEC_MFA_STATE_ACTIVE
                                                : ACCTSEC_MFA_STATE_PENDING;
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_errno(rc);
}

/* Read and open a user's secret; active says which kind of row is wanted. */
static int load_secret(struct mfa *m, const char *user, bool active, uint8_t secret[TOTP_SECRET_SIZE],
                       int64_t *ret_last_step) {
        sqlite3_stmt *st =
                store_stmt(m->store, "SELECT sealed, last_step FROM mfa_totp WHERE user = ? AND active = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, active);
        int rc = sqlite3_step(st), r = -ENOENT;
        if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == SEALED_SIZE) {
                r = vault_open(m->key, sqlite3_column_blob(st, 0), SEALED_SIZE, secret);
                *ret_last_step = sqlite3_column_int64(st, 1);
        } else if (rc == SQLITE_ROW)
                r = -EBADMSG;
        else if (rc != SQLITE_DONE)
                r = store_errno(rc);
        sqlite3_reset(st);
        return r;
}

int mfa_totp_enroll(struct mfa *m, const char *user, int64_t now, char **ret_uri, char **ret_base32) {
        uint8_t secret[TOTP_SECRET_SIZE], sealed[SEALED_SIZE];
        enum acctsec_mfa_state state;

        int r = store_begin(m->store);
        if (r < 0)
                return r;
        r = mfa_totp_state(m, user, &state);
        if (r == 0 && state == ACCTSEC_MFA_STATE_ACTIVE)
                r = -EEXIST;
        if (r < 0) {
                store_rollback(m->store);
                return r;
        }
        randombytes_buf(secret, sizeof(secret));
        vault_seal(m->key, secret, sizeof(secret), sealed);
        sqlite3_stmt *st = store_stmt(m->store, "INSERT OR REPLACE INTO mfa_totp (user, sealed, active, last_step, "
                                                "created) VALUES (?, ?, 0, 0, ?)");
        if (!st) {
                store_rollback(m->store);
                acctsec_wipe(secret, sizeof(secret));
                return -EIO;
        }
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, sealed, sizeof(sealed), SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        r = store_exec_stmt(st);
        if (r == 0)
                r = store_commit(m->store);
        else
                store_rollback(m->store);
        if (r == 0)
                r = totp_uri(secret, sizeof(secret), user, ISSUER, ret_uri, ret_base32);
        acctsec_wipe(secret, sizeof(secret));
        return r;
}

/* Consume a step: the UPDATE matches only if no later step was used since. */
static int consume_step(struct mfa *m, const char *user, int64_t step, bool activate, int64_t now) {
        sqlite3_stmt *st = store_stmt(m->store, "UPDATE mfa_totp SET last_step = ?, active = 1,"
                                                " activated = CASE WHEN active THEN activated ELSE ? END"
                                                " WHERE user = ? AND active = ? AND last_step < ?");
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, step);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, !activate);
        sqlite3_bind_int64(st, 5, step);
        int r = store_exec_stmt(st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_sqlite_db(m->store)) == 1 ? 0 : -EALREADY;
}

/* Check a code against the user's secret and consume its step, inside the
 * caller's transaction. */
static int check_and_consume(struct mfa *m, const char *user, int64_t now, unsigned window, const char *code,
                             bool activate) {
        uint8_t secret[TOTP_SECRET_SIZE];
        int64_t last_step = 0, step = 0;

        int r = load_secret(m, user, !activate, secret, &last_step);
        if (r == 0)
                r = totp_check(secret, sizeof(secret), now, window, last_step, code, &step);
        acctsec_wipe(secret, sizeof(secret));
        if (r == 0)
                r = consume_step(m, user, step, activate, now);
        return r;
}

/* Replace the user's backup codes, inside the caller's transaction. */
static int new_backup_set(struct mfa *m, const char *user, int64_t now, char codes[BACKUP_CODES][BACKUP_CODE_TEXT]) {
        char canon[BACKUP_CODE_CHARS + 1];
        uint8_t hash[BACKUP_HASH_SIZE];
        sqlite3_stmt *st = store_stmt(m->store, "DELETE FROM backup_codes WHERE user = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        int r = store_exec_stmt(st);
        for (int i = 0; r == 0 && i < BACKUP_CODES; i++) {
                backup_code_new(codes[i]);
                (void) backup_code_normalize(codes[i], canon);
                backup_code_hash(m->key, canon, hash);
                st = store_stmt(m->store, "INSERT INTO backup_codes (user, hash, created) VALUES (?, ?, ?)");
                if (!st) {
                        r = -EIO;
                        break;
                }
                sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
                sqlite3_bind_blob(st, 2, hash, sizeof(hash), SQLITE_STATIC);
                sqlite3_bind_int64(st, 3, now);
                r = store_exec_stmt(st);
        }
        acctsec_wipe(canon, sizeof(canon));
        return r;
}

int mfa_totp_confirm(struct mfa *m, const char *user, int64_t now, unsigned window, const char *code,
                     char codes[BACKUP_CODES][BACKUP_CODE_TEXT]) {
        struct event ev[2] = {
                { .type = EV_MFA_ENROLLED, .user = user, .detail = "totp" },
                { .type = EV_BACKUP_GENERATED, .user = user, .detail = "10 codes, with the enrolment" },
        };
        int r = store_begin(m->store);
        if (r < 0)
                return r;
        r = check_and_consume(m, user, now, window, code, true);
        if (r == 0)
                r = new_backup_set(m, user, now, codes);
        if (r < 0) {
                store_rollback(m->store);
                return r;
        }
        return seclog_commit(m->store, now, ev, 2);
}

int mfa_backup_generate(struct mfa *m, const char *user, const char *actor, int64_t now,
                        char codes[BACKUP_CODES][BACKUP_CODE_TEXT]) {
        struct event ev = { .type = EV_BACKUP_GENERATED, .user = user, .actor = actor,
                            .detail = "10 codes; the previous set is void" };
        enum acctsec_mfa_state state;
        int r = store_begin(m->store);
        if (r < 0)
                return r;
        r = mfa_totp_state(m, user, &state);
        if (r == 0 && state != ACCTSEC_MFA_STATE_ACTIVE)
                r = -ENOENT;
        if (r == 0)
                r = new_backup_set(m, user, now, codes);
        if (r < 0) {
                store_rollback(m->store);
                return r;
        }
        return seclog_commit(m->store, now, &ev, 1);
}

int mfa_backup_left(struct mfa *m, const char *user, int64_t *ret) {
        sqlite3_stmt *st = store_stmt(m->store, "SELECT count(*) FROM backup_codes WHERE user = ? AND used = 0");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : store_errno(rc);
}

/* Use up a backup code: one conditional UPDATE; exactly one racer wins. */
static int use_backup_code(struct mfa *m, const char *user, const char *typed, int64_t now) {
        char canon[BACKUP_CODE_CHARS + 1];
        uint8_t hash[BACKUP_HASH_SIZE];
        if (!backup_code_normalize(typed, canon))
                return -EACCES;
        backup_code_hash(m->key, canon, hash);
        acctsec_wipe(canon, sizeof(canon));
        sqlite3_stmt *st =
                store_stmt(m->store, "UPDATE backup_codes SET used = ? WHERE user = ? AND hash = ? AND used = 0");
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, hash, sizeof(hash), SQLITE_STATIC);
        int r = store_exec_stmt(st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_sqlite_db(m->store)) == 1 ? 0 : -EACCES;
}

/* Six digits are a TOTP code, all digits an emailed one; anything else may
 * be a backup code. */
static bool all_digits(const char *code) {
        return code[0] && strspn(code, "0123456789") == strlen(code);
}

int mfa_verify(struct mfa *m, const struct attempt *a, int64_t now, unsigned window, const char *attempt,
               const char *code, struct lock_result *ret, int64_t *ret_backup_left) {
        struct event ev[2];
        char detail[64];

        snprintf(detail, sizeof(detail), "%s", attempt ? "emailed code" : "totp");
        *ret_backup_left = -1;
        int r = store_begin(m->store);
        if (r < 0)
                return r;
        if (attempt)
                r = email_code_use_in(m->store, m->key, attempt, a->user, EMAIL_LOGIN, code, now);
        else
                r = check_and_consume(m, a->user, now, window, code, false);
        struct attempt used = *a; /* the factor that passed, for auth_success */
        if ((r == -EACCES || r == -ENOENT) && !all_digits(code)) {
                r = use_backup_code(m, a->user, code, now);
                if (r == 0)
                        r = mfa_backup_left(m, a->user, ret_backup_left);
                if (r == 0) {
                        snprintf(detail, sizeof(detail), "backup code, %lld left", (long long) *ret_backup_left);
                        used.factor = "backup code";
                }
        }
        if (r == 0)
                r = lockout_success_in(m->store, &used, now, ret, &ev[1]);
        if (r < 0) {
                /* A wrong emailed code counted a try: keep that. */
                if (attempt && (r == -EACCES || r == -ETIME) && store_commit(m->store) == 0)
                        return r;
                store_rollback(m->store);
                return r;
        }
        ev[0] = event_of(a, EV_CODE_USED, detail);
        return seclog_commit(m->store, now, ev, 2);
}

int mfa_disable(struct mfa *m, const char *user, const char *attempt, const char *code, unsigned window, int64_t now) {
        struct event ev = { .type = EV_MFA_DISABLED, .user = user };
        enum acctsec_mfa_state state;
        int r = store_begin(m->store);
        if (r < 0)
                return r;
        r = mfa_totp_state(m, user, &state);
        if (r == 0 && state == ACCTSEC_MFA_STATE_ACTIVE)
                r = check_and_consume(m, user, now, window, code, false);
        else if (r == 0)
                r = attempt ? email_code_use_in(m->store, m->key, attempt, user, EMAIL_DISABLE, code, now) : -EACCES;
        if ((r == -EACCES || r == -ENOENT) && !all_digits(code))
                r = use_backup_code(m, user, code, now);
        if (r < 0) {
                if (attempt && (r == -EACCES || r == -ETIME) && store_commit(m->store) == 0)
                        return r; /* keep the try counted */
                store_rollback(m->store);
                return r;
        }
        static const char *const wipe[] = {
                "DELETE FROM mfa_totp WHERE user = ?",
                "DELETE FROM backup_codes WHERE user = ?",
                "UPDATE email SET codes = 0 WHERE user = ?",
        };
        for (size_t i = 0; r == 0 && i < sizeof(wipe) / sizeof(wipe[0]); i++) {
                sqlite3_stmt *st = store_stmt(m->store, wipe[i]);
                if (!st)
                        r = -EIO;
                else {
                        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
                        r = store_exec_stmt(st);
                }
        }
        if (r < 0) {
                store_rollback(m->store);
                return r;
        }
        ev.detail = state == ACCTSEC_MFA_STATE_ACTIVE ? "totp, backup codes and emailed codes" : "emailed codes";
        return seclog_commit(m->store, now, &ev, 1);
}

int mfa_required(struct mfa *m, const char *user, bool *ret) {
        sqlite3_stmt *st = store_stmt(m->store, "SELECT 1 FROM mfa_required WHERE user = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW;
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int mfa_require(struct mfa *m, const char *user, bool on, const char *actor, int64_t now) {
        struct event ev = { .type = EV_MFA_REQUIRED, .user = user, .actor = actor,
                            .detail = on ? "a second factor is required" : "the requirement is lifted" };
        int r = store_begin(m->store);
        if (r < 0)
                return r;
        sqlite3_stmt *st = on ? store_stmt(m->store, "INSERT OR REPLACE INTO mfa_required (user, actor, since)"
                                                     " VALUES (?, ?, ?)")
                              : store_stmt(m->store, "DELETE FROM mfa_required WHERE user = ?");
        if (!st) {
                store_rollback(m->store);
                return -EIO;
        }
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        if (on) {
                sqlite3_bind_text(st, 2, actor ? actor : "", -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 3, now);
        }
        r = store_exec_stmt(st);
        if (r < 0) {
                store_rollback(m->store);
                return r;
        }
        return seclog_commit(m->store, now, &ev, 1);
}

int mfa_reset(struct mfa *m, const char *user, const char *actor, int64_t now, bool *ret_had) {
        int r = store_begin(m->store);
        if (r < 0)
                return r;
        sqlite3_stmt *st = store_stmt(m->store, "DELETE FROM mfa_totp WHERE user = ?");
        if (!st) {
                store_rollback(m->store);
                return -EIO;
        }
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        r = store_exec_stmt(st);
        bool had = r == 0 && sqlite3_changes(store_sqlite_db(m->store)) > 0;
        if (r == 0) {
                st = store_stmt(m->store, "UPDATE email SET codes = 0 WHERE user = ? AND codes = 1");
                if (!st)
                        r = -EIO;
                else {
                        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
                        r = store_exec_stmt(st);
                        had = had || (r == 0 && sqlite3_changes(store_sqlite_db(m->store)) > 0);
                }
        }
        if (r == 0) {
                st = store_stmt(m->store, "DELETE FROM backup_codes WHERE user = ?");
                if (!st)
                        r = -EIO;
                else {
                        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
                        r = store_exec_stmt(st);
                }
        }
        struct event ev = { .type = EV_MFA_RESET, .user = user, .actor = actor, .detail = had ? "totp, backup codes and emailed codes removed" : "none" };
        if (r == 0)
                r = seclog_add(m->store, now, &ev);
        if (r == 0)
                r = store_commit(m->store);
        else
                store_rollback(m->store);
        if (r == 0) {
                seclog_emit(&ev);
                *ret_had = had;
        }
        return r;
}
