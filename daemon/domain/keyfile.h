/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYFILE_NAME "secret.key"
#define KEYFILE_KEY_SIZE 32

/* The daemon's master key: STATE_DIR/secret.key, 32 random bytes, mode 0600,
 * owned by the daemon's user, created on first start (O_EXCL, O_NOFOLLOW).
 * A key file that is not exactly that is refused, never repaired; a missing
 * one is created only when may_create (nothing is sealed with an old one). */
int keyfile_load(const char *state_dir, bool may_create, uint8_t key[KEYFILE_KEY_SIZE], const char **ret_why);

/* store = postgresql: the fleet's key at path (fleet_key), placed by the
 * admin on every host, never created here; the same checks as above. */
int keyfile_load_file(const char *path, uint8_t key[KEYFILE_KEY_SIZE], const char **ret_why);

/* The key's id: 16 hex digits of a keyed hash of a constant (reveals
 * nothing of the key); stored beside what it sealed, and by the fleet. */
#define KEYFILE_ID_SIZE 17
void keyfile_id(const uint8_t key[KEYFILE_KEY_SIZE], char id[KEYFILE_ID_SIZE]);

/* Seal and open small secrets with a subkey of the master key (secretbox:
 * nonce || MAC || ciphertext).  sealed must hold len + VAULT_OVERHEAD bytes. */
#define VAULT_OVERHEAD (24 + 16)
void vault_seal(const uint8_t key[KEYFILE_KEY_SIZE], const uint8_t *plain, size_t len, uint8_t *sealed);
int vault_open(const uint8_t key[KEYFILE_KEY_SIZE], const uint8_t *sealed, size_t sealed_len, uint8_t *plain);
