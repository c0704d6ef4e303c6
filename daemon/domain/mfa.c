/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TOTP as a second factor.  The secret is sealed with the key file; a time
 * step, once used, can never be used again: last_step only moves forward,
 * by one conditional UPDATE whose changed-row count decides.
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
        int r = store_get_int(s, Q_TOTP_COUNT, STORE_NO_ARGS, ret);
        return r < 0 ? r : 0;
}

int mfa_totp_state(struct mfa *m, const char *user, enum acctsec_mfa_state *ret) {
        int64_t active = 0;
        int r = store_get_int(m->store, Q_TOTP_STATE, STORE_ARGS(A_TEXT(user)), &active);
        *ret = r <= 0 ? ACCTSEC_MFA_STATE_NONE : active != 0 ? ACCTSEC_MFA_STATE_ACTIVE : ACCTSEC_MFA_STATE_PENDING;
        return r < 0 ? r : 0;
}

struct sealed_secret {
        struct mfa *m;
        uint8_t *secret;
        int64_t last_step;
        int r;
};

static void open_secret(const struct store_rows *row, void *ud) {
        struct sealed_secret *x = ud;
        size_t len = 0;
        const void *sealed = store_blob(row, 0, &len);
        x->r = len == SEALED_SIZE ? vault_open(x->m->key, sealed, SEALED_SIZE, x->secret) : -EBADMSG;
        if (x->r == -EBADMSG && len == SEALED_SIZE && x->m->prev_key) /* not re-sealed yet: a rotation */
                x->r = vault_open(x->m->prev_key, sealed, SEALED_SIZE, x->secret);
        x->last_step = store_int(row, 1);
}

/* Read and open a user's secret; active says which kind of row is wanted. */
static int load_secret(struct mfa *m, const char *user, bool active, uint8_t secret[TOTP_SECRET_SIZE],
                       int64_t *ret_last_step) {
        struct sealed_secret x = { .m = m, .secret = secret, .r = -ENOENT };
        int r = store_get(m->store, Q_TOTP_GET, STORE_ARGS(A_TEXT(user), A_INT(active)), open_secret, &x);
        if (r < 0)
                return r;
        if (x.r == 0)
                *ret_last_step = x.last_step;
        return x.r;
}

/* A new inactive secret replaces a pending one, never an active one: the
 * upsert says so in its WHERE clause (-EEXIST when it changed nothing). */
int mfa_totp_enroll(struct mfa *m, const char *user, int64_t now, char **ret_uri, char **ret_base32) {
        uint8_t secret[TOTP_SECRET_SIZE], sealed[SEALED_SIZE];

        randombytes_buf(secret, sizeof(secret));
        vault_seal(m->key, secret, sizeof(secret), sealed);
        int r = store_exec(m->store, Q_TOTP_ENROLL,
                           STORE_ARGS(A_TEXT(user), A_BLOB(sealed, sizeof(sealed)), A_INT(now)));
        if (r == 0)
                r = -EEXIST;
        if (r > 0)
                r = totp_uri(secret, sizeof(secret), user, ISSUER, ret_uri, ret_base32);
        acctsec_wipe(secret, sizeof(secret));
        return r;
}

/* Consume a step: the UPDATE matches only if no later step was used since. */
static int consume_step(struct mfa *m, const char *user, int64_t step, bool activate, int64_t now) {
        int r = store_exec(m->store, Q_TOTP_CONSUME,
                           STORE_ARGS(A_INT(step), A_INT(now), A_TEXT(user), A_INT(!activate), A_INT(step)));
        return r < 0 ? r : r == 1 ? 0 : -EALREADY;
}

/* Check a code against the user's secret and consume its step. */
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

/* Replace the user's backup codes, while TOTP is active (-ENOENT when it
 * is not: then nothing was written). */
static int new_backup_set(struct mfa *m, const char *user, int64_t now, char codes[BACKUP_CODES][BACKUP_CODE_TEXT]) {
        char canon[BACKUP_CODE_CHARS + 1];
        uint8_t hash[BACKUP_HASH_SIZE];
        int r = store_exec(m->store, Q_BACKUP_DELETE_IF_ACTIVE, STORE_ARGS(A_TEXT(user)));
        for (int i = 0; r >= 0 && i < BACKUP_CODES; i++) {
                backup_code_new(codes[i]);
                (void) backup_code_normalize(codes[i], canon);
                backup_code_hash(m->key, canon, hash);
                r = store_exec(m->store, Q_BACKUP_INSERT_IF_ACTIVE,
                               STORE_ARGS(A_TEXT(user), A_BLOB(hash, sizeof(hash)), A_INT(now)));
                if (r == 0)
                        r = -ENOENT; /* TOTP went away: the first insert is the one that says so */
        }
        acctsec_wipe(canon, sizeof(canon));
        return r < 0 ? r : 0;
}

int mfa_totp_confirm(struct mfa *m, const char *user, int64_t now, unsigned window, const char *code,
                     char codes[BACKUP_CODES][BACKUP_CODE_TEXT]) {
        struct event ev[2] = {
                { .type = EV_MFA_ENROLLED, .user = user, .detail = "totp" },
                { .type = EV_BACKUP_GENERATED, .user = user, .detail = "10 codes, with the enrolment" },
        };
        int r = check_and_consume(m, user, now, window, code, true);
        if (r == 0)
                r = new_backup_set(m, user, now, codes);
        return r < 0 ? r : seclog_add_all(m->store, now, ev, 2);
}

int mfa_backup_generate(struct mfa *m, const char *user, const char *actor, int64_t now,
                        char codes[BACKUP_CODES][BACKUP_CODE_TEXT]) {
        struct event ev = { .type = EV_BACKUP_GENERATED, .user = user, .actor = actor,
                            .detail = "10 codes; the previous set is void" };
        enum acctsec_mfa_state state;
        int r = mfa_totp_state(m, user, &state);
        if (r == 0 && state != ACCTSEC_MFA_STATE_ACTIVE)
                r = -ENOENT;
        if (r == 0)
                r = new_backup_set(m, user, now, codes);
        return r < 0 ? r : seclog_add(m->store, now, &ev);
}

int mfa_backup_left(struct mfa *m, const char *user, int64_t *ret) {
        int r = store_get_int(m->store, Q_BACKUP_LEFT, STORE_ARGS(A_TEXT(user)), ret);
        return r < 0 ? r : 0;
}

/* Use up a backup code: one conditional UPDATE; exactly one racer wins. */
static int use_backup_code(struct mfa *m, const char *user, const char *typed, int64_t now) {
        char canon[BACKUP_CODE_CHARS + 1];
        uint8_t hash[BACKUP_HASH_SIZE];
        if (!backup_code_normalize(typed, canon))
                return -EACCES;
        int r = 0;
        /* Codes made before a rotation of the fleet key keep working (under
         * fleet_key_previous) until they are used or regenerated. */
        for (int k = 0; r == 0 && k < (m->prev_key ? 2 : 1); k++) {
                backup_code_hash(k ? m->prev_key : m->key, canon, hash);
                r = store_exec(m->store, Q_BACKUP_CONSUME,
                               STORE_ARGS(A_INT(now), A_TEXT(user), A_BLOB(hash, sizeof(hash))));
        }
        acctsec_wipe(canon, sizeof(canon));
        return r < 0 ? r : r == 1 ? 0 : -EACCES;
}

/* Six digits are a TOTP code, all digits an emailed one; anything else may
 * be a backup code. */
static bool all_digits(const char *code) {
        return code[0] && strspn(code, "0123456789") == strlen(code);
}

/* A wrong or expired emailed code counted a try (email.c): that write is
 * kept with the refusal; every other refusal wrote nothing. */
int mfa_verify(struct mfa *m, const struct attempt *a, int64_t now, unsigned window, const char *attempt,
               const char *code, struct lock_result *ret, int64_t *ret_backup_left) {
        struct event ev[2];
        char detail[64];

        snprintf(detail, sizeof(detail), "%s", a->factor ? a->factor : attempt ? "emailed code" : "totp");
        *ret_backup_left = -1;
        int r = attempt ? email_code_use_in(m->store, m->key, attempt, a->user, EMAIL_LOGIN, code, now)
                        : check_and_consume(m, a->user, now, window, code, false);
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
        if (r < 0)
                return r;
        ev[0] = event_of(a, EV_CODE_USED, detail);
        return seclog_add_all(m->store, now, ev, 2);
}

/* The code that allows turning the second factor off, used up. */
static int use_disable_code(struct mfa *m, const char *user, const char *attempt, const char *code, unsigned window,
                            int64_t now, enum acctsec_mfa_state state) {
        int r;
        if (state == ACCTSEC_MFA_STATE_ACTIVE)
                r = check_and_consume(m, user, now, window, code, false);
        else
                r = attempt ? email_code_use_in(m->store, m->key, attempt, user, EMAIL_DISABLE, code, now) : -EACCES;
        if ((r == -EACCES || r == -ENOENT) && !all_digits(code))
                r = use_backup_code(m, user, code, now);
        return r;
}

/* Every factor of the user goes; whether a TOTP row or a codes flag did. */
static int remove_factors(struct mfa *m, const char *user, bool *ret_had) {
        int r = store_exec(m->store, Q_TOTP_DELETE, STORE_ARGS(A_TEXT(user)));
        bool had = r > 0;
        if (r >= 0)
                r = store_exec(m->store, Q_MFA_EMAIL_CODES_OFF, STORE_ARGS(A_TEXT(user)));
        had = had || r > 0;
        if (r >= 0)
                r = store_exec(m->store, Q_MFA_PHONE_CODES_OFF, STORE_ARGS(A_TEXT(user)));
        had = had || r > 0;
        if (r >= 0)
                r = store_exec(m->store, Q_BACKUP_DELETE_USER, STORE_ARGS(A_TEXT(user)));
        if (r < 0)
                return r;
        *ret_had = had;
        return 0;
}

int mfa_disable(struct mfa *m, const char *user, const char *attempt, const char *code, unsigned window, int64_t now) {
        struct event ev = { .type = EV_MFA_DISABLED, .user = user };
        enum acctsec_mfa_state state;
        bool had;
        int r = mfa_totp_state(m, user, &state);
        if (r == 0)
                r = use_disable_code(m, user, attempt, code, window, now, state);
        if (r == 0)
                r = remove_factors(m, user, &had);
        if (r < 0)
                return r; /* a refused emailed code keeps its counted try */
        ev.detail = state == ACCTSEC_MFA_STATE_ACTIVE ? "totp, backup codes, emailed and texted codes"
                                                      : "emailed and texted codes";
        return seclog_add(m->store, now, &ev);
}

int mfa_required(struct mfa *m, const char *user, bool *ret) {
        int64_t one = 0;
        int r = store_get_int(m->store, Q_MFA_REQUIRED_GET, STORE_ARGS(A_TEXT(user)), &one);
        *ret = r > 0;
        return r < 0 ? r : 0;
}

int mfa_require(struct mfa *m, const char *user, bool on, const char *actor, int64_t now) {
        struct event ev = { .type = EV_MFA_REQUIRED, .user = user, .actor = actor,
                            .detail = on ? "a second factor is required" : "the requirement is lifted" };
        int r = on ? store_exec(m->store, Q_MFA_REQUIRED_SET,
                                STORE_ARGS(A_TEXT(user), A_TEXT(actor ? actor : ""), A_INT(now)))
                   : store_exec(m->store, Q_MFA_REQUIRED_DELETE, STORE_ARGS(A_TEXT(user)));
        return r < 0 ? r : seclog_add(m->store, now, &ev);
}

int mfa_reset(struct mfa *m, const char *user, const char *actor, int64_t now, bool *ret_had) {
        bool had = false;
        int r = remove_factors(m, user, &had);
        if (r < 0)
                return r;
        struct event ev = { .type = EV_MFA_RESET, .user = user, .actor = actor,
                            .detail = had ? "totp, backup codes, emailed and texted codes removed" : "none" };
        r = seclog_add(m->store, now, &ev);
        if (r == 0)
                *ret_had = had;
        return r;
}
