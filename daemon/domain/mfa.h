/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "backup.h"
#include "keyfile.h"
#include "lockout.h"
#include "proto.h"
#include "store.h"

struct mfa {
        struct store *store;
        const uint8_t *key; /* the master key (keyfile.h) */
        const uint8_t *prev_key; /* a fleet's key being rotated out (fleet_key_previous), or NULL */
};

/* How many sealed secrets the database holds (any user, any state). */
int mfa_sealed_count(struct store *s, int64_t *ret);

/* Whether the user has TOTP, and in which state (enum acctsec_mfa_state). */
int mfa_totp_state(struct mfa *m, const char *user, enum acctsec_mfa_state *ret);

/* Start (or restart) enrolment: a new secret, stored sealed and inactive.
 * -EEXIST when TOTP is already active.  *ret_uri and *ret_base32 must be
 * erased and freed by the caller. */
int mfa_totp_enroll(struct mfa *m, const char *user, int64_t now, char **ret_uri, char **ret_base32);
/* The first good code activates a pending enrolment (and is used up), and
 * the first set of backup codes is made in the same transaction. */
int mfa_totp_confirm(struct mfa *m, const char *user, int64_t now, unsigned window, const char *code,
                     char codes[BACKUP_CODES][BACKUP_CODE_TEXT]);

/* A new set of backup codes (the old set is void); only with TOTP active
 * (-ENOENT otherwise).  actor is who asked, when not the user. */
int mfa_backup_generate(struct mfa *m, const char *user, const char *actor, int64_t now,
                        char codes[BACKUP_CODES][BACKUP_CODE_TEXT]);
/* Unused backup codes left. */
int mfa_backup_left(struct mfa *m, const char *user, int64_t *ret);

/* A login's second factor: a TOTP code (attempt NULL) or the emailed code
 * of that attempt; a backup code is accepted in either case (used up
 * atomically; then *ret_backup_left says how many are left, else it is -1).
 * 0: the code is consumed and the login's success recorded (tally cleared,
 * code_used + auth_success logged) in one transaction, *ret filled.
 * -EACCES wrong code, -EALREADY replayed TOTP code, -ETIME expired emailed
 * code, -ENOENT nothing to check against (not enrolled, no live code). */
int mfa_verify(struct mfa *m, const struct attempt *a, int64_t now, unsigned window, const char *attempt,
               const char *code, struct lock_result *ret, int64_t *ret_backup_left);

/* The user turns their second factor off (the password was checked
 * already): a current TOTP or backup code, or the emailed code of an
 * EMAIL_DISABLE attempt.  Removes TOTP, backup codes and emailed codes in
 * one transaction.  -EACCES/-EALREADY/-ETIME/-ENOENT: code refused. */
int mfa_disable(struct mfa *m, const char *user, const char *attempt, const char *code, unsigned window, int64_t now);

/* Admin-required second factor (acctsec mfa require): raises the policy of
 * one user from optional to required. */
int mfa_required(struct mfa *m, const char *user, bool *ret);
int mfa_require(struct mfa *m, const char *user, bool on, const char *actor, int64_t now);

/* Admin: remove every factor of a user; *ret_had whether there was one. */
int mfa_reset(struct mfa *m, const char *user, const char *actor, int64_t now, bool *ret_had);
