/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Phone numbers for texted codes.  As mail addresses (email.h): an admin
 * sets a verified number, a user's own waits (pending) until the code
 * texted to it comes back; texted login codes are on or off.  The codes
 * themselves are email.h's: one attempt, one live code, a keyed hash, the
 * number in the attempt's address column.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define PHONE_NUMBER_MAX 17 /* E.164 and a NUL (sms.h's SMS_NUMBER_MAX) */

struct phone_info {
        char number[PHONE_NUMBER_MAX];  /* verified; "" none */
        char pending[PHONE_NUMBER_MAX]; /* set by the user, not verified yet */
        bool codes;                     /* texted login codes enabled */
};

/* A user's numbers; all empty when there is no row. */
int phone_get(struct store *s, const char *user, struct phone_info *ret);
/* Inside the caller's transaction, as email_set_in and email_promote_in. */
int phone_set_in(struct store *s, const char *user, const char *number, bool verified, int64_t now);
int phone_promote_in(struct store *s, const char *user, int64_t now);
/* Texted codes on (needs a verified number: -ENOENT) or off. */
int phone_codes_enable_in(struct store *s, const char *user, bool on, int64_t now);
/* The number, pending or not, and texted codes gone: 1 there was a row. */
int phone_delete_in(struct store *s, const char *user);
