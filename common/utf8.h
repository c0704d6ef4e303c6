/* SPDX-License-Identifier: BSD-3-Clause */
/* Decoding UTF-8 one character at a time (password policy, text from a
 * location database). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The length of the UTF-8 sequence at s (n bytes left, n > 0) and its code
 * point, or 0 when it is invalid: truncated, overlong, a surrogate or above
 * U+10FFFF. */
static inline size_t acctsec_utf8_decode(const unsigned char *s, size_t n, uint32_t *ret) {
        static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
        size_t k = s[0] < 0x80              ? 1
                   : (s[0] & 0xE0) == 0xC0 ? 2
                   : (s[0] & 0xF0) == 0xE0 ? 3
                   : (s[0] & 0xF8) == 0xF0 ? 4
                                           : 0;
        if (k == 0 || k > n)
                return 0;
        uint32_t cp = k == 1 ? s[0] : s[0] & (0x7Fu >> k);
        for (size_t i = 1; i < k; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3F);
        }
        if (cp < least[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        *ret = cp;
        return k;
}
