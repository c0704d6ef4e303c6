/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyfile.h"

#define BACKUP_CODES 10          /* in one set */
#define BACKUP_CODE_CHARS 10     /* significant characters: 31^10, about 2^49.5 */
#define BACKUP_CODE_TEXT 12      /* "xxxxx-xxxxx" and a NUL */
#define BACKUP_HASH_SIZE 32
#define BACKUP_WARN_AT 3         /* warn at login when this many or fewer are left */

/* A new random code, "xxxxx-xxxxx" from an alphabet without look-alikes. */
void backup_code_new(char out[BACKUP_CODE_TEXT]);
/* What the user typed, as the canonical 10 characters (case, spaces and
 * dashes ignored); false when it cannot be a backup code. */
bool backup_code_normalize(const char *typed, char out[BACKUP_CODE_CHARS + 1]);
/* The stored form: BLAKE2b keyed with a subkey of the master key, so that a
 * copy of the database alone cannot be searched offline. */
void backup_code_hash(const uint8_t key[KEYFILE_KEY_SIZE], const char canonical[BACKUP_CODE_CHARS + 1],
                      uint8_t out[BACKUP_HASH_SIZE]);
