/* SPDX-License-Identifier: BSD-3-Clause */
/* Wiping and comparing secrets without libsodium: pam_acctsec.so links
 * this, and libpam loads the module (and what it links) on every
 * pam_start().  glibc's explicit_bzero is what sodium_memzero calls on
 * glibc; the comparison is OpenBSD's timingsafe_bcmp, read through volatile
 * so that no compiler turns it into an early exit. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "secret.h"

void acctsec_wipe(void *p, size_t n) {
        if (p && n > 0)
                explicit_bzero(p, n);
}

void acctsec_erase_and_free(char *s) {
        if (!s)
                return;
        acctsec_wipe(s, strlen(s));
        free(s);
}

bool acctsec_equal_ct(const void *a, const void *b, size_t n) {
        const volatile unsigned char *x = a, *y = b;
        unsigned char diff = 0;
        for (size_t i = 0; i < n; i++)
                diff |= x[i] ^ y[i];
        return diff == 0;
}
