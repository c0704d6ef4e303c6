/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * API token format: "acst_" + 43 characters of base62 for 256 random bits
 * (zero-padded, big-endian) + 6 characters of base62 checksum (CRC-32 of
 * the prefix and the 43 characters) = 54 characters.  Recognisable by its
 * prefix (leaked-token scanners), a typo is caught by the checksum before
 * any database lookup.  The secret part is never stored: the daemon keeps a
 * keyed hash of the whole token.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_PREFIX "acst_"
#define TOKEN_SECRET_BYTES 32
#define TOKEN_BODY_CHARS 43  /* base62 of 256 bits */
#define TOKEN_CHECK_CHARS 6  /* base62 of a CRC-32 */
#define TOKEN_LEN (5 + TOKEN_BODY_CHARS + TOKEN_CHECK_CHARS)
#define TOKEN_TEXT (TOKEN_LEN + 1)

/* A new token from 32 random bytes (libsodium randombytes_buf). */
void token_new(char out[TOKEN_TEXT]);
/* The same from given bytes (tests). */
void token_format(const uint8_t secret[TOKEN_SECRET_BYTES], char out[TOKEN_TEXT]);

/* Whether a typed password is meant to be a token: it starts with the
 * prefix.  Anything else passes through to the next module untouched. */
bool token_looks_like(const char *s);
/* Whether it is a well-formed token: prefix, length, alphabet, checksum.
 * Constant-time over the token's characters is not needed (nothing secret
 * is compared here), but no early exit leaks more than "malformed". */
bool token_valid(const char *s);
