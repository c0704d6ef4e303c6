/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

#include "backup.h"
#include "secret.h"

/* No 0/o, 1/l/i: codes are read off paper. 31 characters. */
static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";

void backup_code_new(char out[BACKUP_CODE_TEXT]) {
        size_t k = 0;
        for (int i = 0; i < BACKUP_CODE_CHARS; i++) {
                if (i == BACKUP_CODE_CHARS / 2)
                        out[k++] = '-';
                out[k++] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
        }
        out[k] = '\0';
}

bool backup_code_normalize(const char *typed, char out[BACKUP_CODE_CHARS + 1]) {
        size_t n = 0;
        for (const char *p = typed; *p; p++) {
                char c = (char) tolower((unsigned char) *p);
                if (c == '-' || c == ' ')
                        continue;
                if (n == BACKUP_CODE_CHARS || !strchr(alphabet, c)) {
                        acctsec_wipe(out, BACKUP_CODE_CHARS + 1);
                        return false;
                }
                out[n++] = c;
        }
        out[n] = '\0';
        return n == BACKUP_CODE_CHARS;
}

void backup_code_hash(const uint8_t key[KEYFILE_KEY_SIZE], const char canonical[BACKUP_CODE_CHARS + 1],
                      uint8_t out[BACKUP_HASH_SIZE]) {
        uint8_t k[crypto_generichash_KEYBYTES];
        crypto_kdf_derive_from_key(k, sizeof(k), 2, "acctsecB", key);
        crypto_generichash(out, BACKUP_HASH_SIZE, (const uint8_t *) canonical, BACKUP_CODE_CHARS, k, sizeof(k));
        acctsec_wipe(k, sizeof(k));
}
