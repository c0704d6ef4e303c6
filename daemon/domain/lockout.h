/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "seclog.h"
#include "store.h"

#define LOCKED_FOREVER (-1) /* locked_until in the table: until an admin unlocks */

/* One login attempt as the module reports it. */
struct attempt {
        const char *user;
        const char *service;
        const char *rhost;
        const char *tty;
        bool known;      /* the user exists (NSS) */
        bool root;       /* uid 0 */
        bool privileged; /* the caller is root: may reset the tally */
        const char *factor; /* "totp" when this is a second-factor attempt, else NULL */
        const char *refusal; /* why a code was refused (logged as code_refused) */
        const struct acctsec_conf *conf;
};

struct tally {
        char source[256];
        int64_t failures;
        int64_t first_failure;
        int64_t last_failure;
        int64_t locked_until; /* 0, unix time, or LOCKED_FOREVER */
};

struct lock_result {
        bool locked;
        int64_t locked_until;
        int64_t failures;
};

bool tally_is_locked(const struct tally *t, int64_t now);

/* preauth and account: is the user locked now?  Logs a denial if so. */
int lockout_check(struct store *s, const struct attempt *a, int64_t now, struct lock_result *ret);
/* A failed attempt: count it, lock at `deny`, log both.  Atomic. */
int lockout_fail(struct store *s, const struct attempt *a, int64_t now, struct lock_result *ret);
/* A successful authentication: clear the tally (root callers only), log it. */
int lockout_success(struct store *s, const struct attempt *a, int64_t now, struct lock_result *ret);
/* The same inside the caller's transaction: *ret_event is the event to
 * commit with it (auth_success, or login_denied when locked meanwhile). */
int lockout_success_in(struct store *s, const struct attempt *a, int64_t now, struct lock_result *ret,
                       struct event *ret_event);
/* An event about this attempt (user, service, rhost, tty filled in). */
struct event event_of(const struct attempt *a, enum event_type type, const char *detail);

/* Tallies of one user (all sources), or of everyone when user is NULL.
 * The callback returns <0 to stop. */
int lockout_list(struct store *s, const char *user, int (*cb)(const char *user, const struct tally *t, void *ud),
                 void *ud);
/* Admin unlock: remove every tally of the user and log who did it.
 * *ret_removed: how many tallies went; *ret_was_locked whether one was locked. */
int lockout_reset(struct store *s, const char *user, const char *actor, int64_t now, int *ret_removed,
                  bool *ret_was_locked);
