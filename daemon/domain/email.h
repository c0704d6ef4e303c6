/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "keyfile.h"
#include "store.h"

#define EMAIL_ADDRESS_MAX 255  /* with the NUL */
#define EMAIL_ATTEMPT_HEX 33   /* 16 random bytes as hex, and a NUL */
#define EMAIL_CODE_MAX 11      /* code_digits <= 10, and a NUL */
#define EMAIL_TRIES_MAX 5      /* wrong codes before a live code is void */

/* What a code is for; a code is good only for its own purpose.  Login and
 * disable codes go to the address or the phone number their attempt was
 * made for (phone.h: texted codes share this table and its rules). */
enum email_purpose { EMAIL_LOGIN = 0, EMAIL_VERIFY = 1, EMAIL_DISABLE = 2, PHONE_VERIFY = 3, EMAIL_RECOVERY = 4 };

struct email_info {
        char address[EMAIL_ADDRESS_MAX]; /* verified; "" none */
        char pending[EMAIL_ADDRESS_MAX]; /* set by the user, not verified yet */
        bool codes;                      /* emailed login codes enabled */
};

/* A user's addresses; all empty when there is no row. */
int email_get(struct store *s, const char *user, struct email_info *ret);
/* Set the address, inside the caller's transaction: verified (an admin set
 * it) replaces the address; otherwise it is pending until its code comes
 * back, and the verified one (if any) stays in use. */
int email_set_in(struct store *s, const char *user, const char *address, bool verified, int64_t now);
/* The pending address becomes the address, inside the caller's transaction. */
int email_promote_in(struct store *s, const char *user, int64_t now);
/* Turn emailed login codes on or off, inside the caller's transaction:
 * on needs a verified address at that moment (-ENOENT). */
int email_codes_enable_in(struct store *s, const char *user, bool on, int64_t now);

/* A new attempt (no code yet), inside the caller's transaction.  Attempts
 * older than a day are purged here, so the table stays small. */
int email_attempt_new_in(struct store *s, const char *user, enum email_purpose purpose, const char *address,
                         int64_t now, char ret_attempt[EMAIL_ATTEMPT_HEX]);

/* The same for an address check or a disable code, whose resend interval
 * counts per user: none when a code for purpose went to user less than
 * interval ago (-EAGAIN, *ret_wait seconds, nothing written). */
int email_attempt_new_spaced_in(struct store *s, const char *user, enum email_purpose purpose, const char *address,
                                unsigned interval, int64_t now, char ret_attempt[EMAIL_ATTEMPT_HEX],
                                int64_t *ret_wait);

/* The attempt to use for a user's address check (the newest). */
int email_attempt_of(struct store *s, const char *user, enum email_purpose purpose,
                     char ret_attempt[EMAIL_ATTEMPT_HEX]);

/* Whether the attempt may have a new code now, writing nothing: 0 yes,
 * -EAGAIN with *ret_wait seconds when its last send was less than interval
 * ago, -ENOENT when it is not this user's or not for this purpose.  For
 * checking before anything else is written (the mail cap). */
int email_code_wait(struct store *s, const char *attempt, const char *user, enum email_purpose purpose,
                    unsigned interval, int64_t now, int64_t *ret_wait);

/* A fresh code for an attempt, voiding the one before; inside the caller's
 * transaction.  Errors as email_code_wait's (decided again here: a send in
 * between makes it -EAGAIN).  ret_address gets where to send it. */
int email_code_issue_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *attempt, const char *user,
                        enum email_purpose purpose, unsigned digits, unsigned ttl, unsigned interval, int64_t now, char ret_code[EMAIL_CODE_MAX],
                        char ret_address[EMAIL_ADDRESS_MAX], int64_t *ret_wait);
/* Delivery failed: the code is void and a new send is allowed at once. */
int email_code_unsend(struct store *s, const char *attempt, int64_t now);

/* Use a code, inside the caller's transaction: 0 and the code is gone for
 * good; -EACCES wrong (counted: EMAIL_TRIES_MAX voids it), -ETIME expired
 * (and void), -ENOENT no live code for this attempt, user and purpose.  An
 * address check's code that is right and live is used only while the user
 * has a pending address (-ENOENT otherwise, and the code is kept).  The
 * compare is constant-time on keyed hashes. */
int email_code_use_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *attempt, const char *user,
                      enum email_purpose purpose, const char *code, int64_t now);

/* Where a user's attempt for purpose sends its codes (an address or a
 * phone number): -ENOENT no such attempt. */
int email_attempt_destination(struct store *s, const char *attempt, const char *user, enum email_purpose purpose,
                              char ret[EMAIL_ADDRESS_MAX]);

/* When a code for this purpose was last sent to the user (0 never): the
 * resend interval applies per user for address checks and MFA_DISABLE. */
int email_last_sent(struct store *s, const char *user, enum email_purpose purpose, int64_t *ret);
