/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "secret.h"

void acctsec_wipe(void *p, size_t n) {
        if (p && n > 0)
                sodium_memzero(p, n);
}

void acctsec_erase_and_free(char *s) {
        if (!s)
                return;
        acctsec_wipe(s, strlen(s));
        free(s);
}

bool acctsec_equal_ct(const void *a, const void *b, size_t n) {
        return sodium_memcmp(a, b, n) == 0;
}
