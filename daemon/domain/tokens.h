/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "keyfile.h"
#include "store.h"
#include "token.h"

#define TOKEN_NAME_MAX 64
#define TOKEN_SERVICES_MAX 256

struct token_info {
        char name[TOKEN_NAME_MAX + 1];
        char services[TOKEN_SERVICES_MAX + 1];
        int64_t created, expires, last_used;
};

/* Whether a token name is acceptable: 1..64 of [A-Za-z0-9._-], not
 * starting with '-'; services: comma-separated service names of the same
 * characters, at least one. */
bool token_name_valid(const char *name);
bool token_services_valid(const char *services);
/* Whether service is one of the comma-separated list. */
bool token_service_in(const char *services, const char *service);

/* A new token for user: -EEXIST name taken, -EMLINK at max tokens (the
 * insert itself counts); the token text is returned once in ret_token;
 * its event is logged with it. */
int tokens_create(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *user, const char *name,
                  const char *services, unsigned months, unsigned max, const char *actor, int64_t now,
                  char ret_token[TOKEN_TEXT], int64_t *ret_expires);
/* Revoke (delete) by name, with its event: -ENOENT none. */
int tokens_revoke(struct store *s, const char *user, const char *name, const char *actor, int64_t now);
/* Every token of a user (newest first); cb returns <0 to stop. */
int tokens_list(struct store *s, const char *user, int (*cb)(const struct token_info *t, void *ud), void *ud);

/* Look a typed token up: 0 with *ret (the owner must be user), -ENOENT
 * unknown (or another user's). */
int tokens_find_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *user, const char *token,
                   struct token_info *ret);
/* Record the use of the token found: -ENOENT when it is gone since (revoked
 * between the look-up and this write). */
int tokens_touch_in(struct store *s, const uint8_t key[KEYFILE_KEY_SIZE], const char *user, const char *token,
                    int64_t now);
