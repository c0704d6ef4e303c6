/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the API token format (common/token.c).  Built and
 * run by tests/fuzz/run.sh.  The input is checked as a typed password; its
 * first 32 bytes, when there are that many, as a secret to format.  A valid
 * token must decode (reference decoder below) to the secret that formats
 * back to it; a formatted secret must be valid and decode to the secret.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* The body as a number, in 32-bit little-endian limbs (not the bytewise
 * way token.c does it); false when it is not below 2^256. */
static bool ref_decode(const char *body, uint8_t ret[TOKEN_SECRET_BYTES]) {
        uint32_t limb[9] = { 0 };
        for (size_t i = 0; i < TOKEN_BODY_CHARS; i++) {
                const char *p = memchr(alphabet, body[i], 62);
                if (!p || body[i] == '\0')
                        abort(); /* only called on valid tokens */
                uint64_t carry = (uint64_t) (p - alphabet);
                for (size_t j = 0; j < 9; j++) {
                        carry += (uint64_t) limb[j] * 62u;
                        limb[j] = (uint32_t) carry;
                        carry >>= 32;
                }
        }
        for (size_t i = 0; i < TOKEN_SECRET_BYTES; i++)
                ret[TOKEN_SECRET_BYTES - 1 - i] = (uint8_t) (limb[i / 4] >> (8 * (i % 4)));
        return limb[8] == 0;
}

static void check_text(const char *s) {
        uint8_t secret[TOKEN_SECRET_BYTES];
        char again[TOKEN_TEXT];
        bool looks = token_looks_like(s), valid = token_valid(s);

        if (looks != (strncmp(s, "acst_", 5) == 0))
                abort();
        if (!valid)
                return;
        if (!looks || strlen(s) != TOKEN_LEN)
                abort();
        if (!ref_decode(s + 5, secret))
                abort();
        token_format(secret, again);
        if (strcmp(again, s) != 0)
                abort();
}

static void check_secret(const uint8_t *secret, uint8_t pos, uint8_t c) {
        char t[TOKEN_TEXT];
        uint8_t back[TOKEN_SECRET_BYTES];

        token_format(secret, t);
        if (strlen(t) != TOKEN_LEN || !token_looks_like(t) || !token_valid(t))
                abort();
        if (!ref_decode(t + 5, back) || memcmp(back, secret, sizeof(back)) != 0)
                abort();
        /* any one changed character is caught */
        pos %= TOKEN_LEN;
        if (c != 0 && (char) c != t[pos]) {
                t[pos] = (char) c;
                if (token_valid(t))
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *buf = malloc(size + 1); /* exactly sized, so that ASan sees any over-read */

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = '\0';
        check_text(buf);
        free(buf);
        if (size >= TOKEN_SECRET_BYTES + 2)
                check_secret(data, data[TOKEN_SECRET_BYTES], data[TOKEN_SECRET_BYTES + 1]);
        return 0;
}
