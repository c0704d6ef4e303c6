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

/* A login's second factor.  0: the code's step is consumed and the login's
 * success recorded (tally cleared, code_used + auth_success logged) in one
 * transaction, *ret filled.  A backup code is accepted where a TOTP code is
 * asked (used up atomically); then *ret_backup_left says how many are left,
 * else it is -1.  -EACCES wrong code, -EALREADY replayed code,
 * -ENOENT not enrolled (nothing written). */
int mfa_totp_verify(struct mfa *m, const struct attempt *a, int64_t now, unsigned window, const char *code,
                    struct lock_result *ret, int64_t *ret_backup_left);

/* Admin: remove every factor of a user; *ret_had whether there was one. */
int mfa_reset(struct mfa *m, const char *user, const char *actor, int64_t now, bool *ret_had);
