/* SPDX-License-Identifier: BSD-3-Clause */
/* A new token: apart from token.c, whose parsing the module links, so that
 * libsodium is loaded only by the daemon and the CLI. */
#include "config.h"

#include <sodium.h>

#include "secret.h"
#include "token.h"

void token_new(char out[TOKEN_TEXT]) {
        uint8_t raw[TOKEN_SECRET_BYTES];
        randombytes_buf(raw, sizeof(raw));
        token_format(raw, out);
        acctsec_wipe(raw, sizeof(raw));
}
