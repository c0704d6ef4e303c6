/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_SIZE 20 /* 160 bits, as RFC 4226 recommends */
#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define TOTP_WINDOW_MAX 10

/* The code for one time step (RFC 6238, HMAC-SHA1), digits 6..8. */
int totp_code(const uint8_t *secret, size_t len, int64_t step, unsigned digits, char out[9]);

/* Check a typed code against the steps now±window.  Every candidate is
 * compared in constant time.  0 with *ret_step the matching step;
 * -EACCES no match (or not digits); -EALREADY the matching step is not after
 * last_step (a replay, or an older code than one already used). */
int totp_check(const uint8_t *secret, size_t len, int64_t now, unsigned window, int64_t last_step, const char *code,
               int64_t *ret_step);

/* otpauth://totp/ISSUER:USER?secret=BASE32&issuer=ISSUER&...; free() it. */
int totp_uri(const uint8_t *secret, size_t len, const char *user, const char *issuer, char **ret_uri,
             char **ret_base32);
