/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Wipe memory that held a secret; the compiler may not elide it. */
void acctsec_wipe(void *p, size_t n);
/* Wipe a NUL-terminated string in place, then free it. NULL is fine. */
void acctsec_erase_and_free(char *s);
static inline void erase_and_freep(char **p) {
        acctsec_erase_and_free(*p);
}
#define _cleanup_erase_ _cleanup_(erase_and_freep)
/* Constant-time comparison of two equal-length buffers. */
bool acctsec_equal_ct(const void *a, const void *b, size_t n);
