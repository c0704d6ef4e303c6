/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <string.h>

#include "secret.h"
#include "token.h"

#define PREFIX_LEN (sizeof(TOKEN_PREFIX) - 1)

/* CRC-32 (IEEE 802.3, the zlib one), bit by bit: 48 bytes per token do not
 * need a table.  It catches every error confined to 32 consecutive bits, so
 * every single-character typo and every swap of two neighbours. */
static uint32_t crc32_ieee(const char *p, size_t n) {
        uint32_t crc = 0xffffffffu;
        for (size_t i = 0; i < n; i++) {
                crc ^= (uint8_t) p[i];
                for (int k = 0; k < 8; k++)
                        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
        }
        return ~crc;
}

/* "0-9A-Za-z" without a table lookup indexed by the secret (no cache-timing
 * signal): v 0..61; (9 - v) >> 31 is 1 exactly when v > 9. */
static char b62_char(uint32_t v) {
        return (char) ('0' + v + (((9u - v) >> 31) * 7u) + (((35u - v) >> 31) * 6u));
}

/* 0..61, or 62 for a byte outside the alphabet. */
static uint32_t b62_value(char c) {
        if (c >= '0' && c <= '9')
                return (uint32_t) (c - '0');
        if (c >= 'A' && c <= 'Z')
                return (uint32_t) (c - 'A' + 10);
        if (c >= 'a' && c <= 'z')
                return (uint32_t) (c - 'a' + 36);
        return 62;
}

static void checksum_text(const char *s, char out[TOKEN_CHECK_CHARS]) {
        uint64_t v = crc32_ieee(s, PREFIX_LEN + TOKEN_BODY_CHARS);
        for (size_t i = TOKEN_CHECK_CHARS; i-- > 0; v /= 62)
                out[i] = b62_char((uint32_t) (v % 62));
}

void token_format(const uint8_t secret[TOKEN_SECRET_BYTES], char out[TOKEN_TEXT]) {
        uint8_t n[TOKEN_SECRET_BYTES];
        char *body = out + PREFIX_LEN;

        memcpy(out, TOKEN_PREFIX, PREFIX_LEN);
        memcpy(n, secret, sizeof(n));
        /* Long division of the big-endian number by 62, least significant
         * digit first; 62^43 > 2^256, so 43 digits always hold it. */
        for (size_t i = TOKEN_BODY_CHARS; i-- > 0;) {
                uint32_t rem = 0;
                for (size_t j = 0; j < sizeof(n); j++) {
                        uint32_t cur = (rem << 8) | n[j];
                        n[j] = (uint8_t) (cur / 62);
                        rem = cur % 62;
                }
                body[i] = b62_char(rem);
        }
        acctsec_wipe(n, sizeof(n));
        checksum_text(out, body + TOKEN_BODY_CHARS);
        out[TOKEN_LEN] = '\0';
}


bool token_looks_like(const char *s) {
        return s && strncmp(s, TOKEN_PREFIX, PREFIX_LEN) == 0;
}

bool token_valid(const char *s) {
        uint8_t n[TOKEN_SECRET_BYTES + 1] = { 0 };
        char check[TOKEN_CHECK_CHARS];
        unsigned bad = 0;

        if (!token_looks_like(s) || strnlen(s, TOKEN_TEXT) != TOKEN_LEN)
                return false;
        /* Decode the body into 33 bytes: a body whose value needs the 33rd
         * byte (62^43 > 2^256) is not the text of any token, so that every
         * valid token is the one text of one secret. */
        for (size_t i = 0; i < TOKEN_BODY_CHARS; i++) {
                uint32_t d = b62_value(s[PREFIX_LEN + i]);
                bad |= d == 62;
                uint32_t carry = d == 62 ? 0 : d;
                for (size_t j = sizeof(n); j-- > 0;) {
                        carry += (uint32_t) n[j] * 62u;
                        n[j] = (uint8_t) carry;
                        carry >>= 8;
                }
        }
        bad |= n[0];
        acctsec_wipe(n, sizeof(n));
        checksum_text(s, check);
        for (size_t i = 0; i < TOKEN_CHECK_CHARS; i++)
                bad |= (unsigned) (check[i] ^ s[PREFIX_LEN + TOKEN_BODY_CHARS + i]);
        return bad == 0;
}
