/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Password history: argon2id hashes (libsodium crypto_pwhash_str, the
 * "interactive" limits of the day: 64 MiB, so hashing runs in a bounded pool
 * of child processes) of a user's last passwords.
 */
#pragma once

#include <sodium.h>
#include <stdint.h>

#include "store.h"

#define PWHISTORY_MAX 50            /* history= at most */
#define PWHISTORY_POOL 4            /* argon2id children at once: 256 MiB at most */
#define PWHISTORY_PASSWORD_MAX 4096 /* bytes; max_length is at most this */

/* A job for a child: hash the password, or look for it among the hashes. */
struct pwhistory_job {
        char password[PWHISTORY_PASSWORD_MAX + 1];
        char hashes[PWHISTORY_MAX][crypto_pwhash_STRBYTES];
        unsigned n;
};

/* In a child: out = the argon2id hash of job->password. */
int pwhistory_hash_run(void *job, char *out, size_t n);
/* In a child: 0 when job->password matches none of job->hashes, -EACCES
 * when it matches one (a reused password). */
int pwhistory_match_run(void *job, char *out, size_t n);

/* The user's last `limit` hashes into job (newest first). */
int pwhistory_load(struct store *s, const char *user, unsigned limit, struct pwhistory_job *job);
/* Record a new hash and keep only the newest `keep`. */
int pwhistory_add_in(struct store *s, const char *user, const char *hash, unsigned keep, int64_t now);
