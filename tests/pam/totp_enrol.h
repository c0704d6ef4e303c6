/* SPDX-License-Identifier: BSD-3-Clause */
/* TOTP enrolment for the PAM-stack tests that need a second factor. */
#pragma once

#include <stddef.h>

#include "harness.h"

struct totp_user {
        char secret[64]; /* the raw secret, for computing codes */
        size_t secret_len;
        char backup[10][16]; /* the set printed at enrolment (or the last generate) */
};

/* cmocka setup: env_start with totp_window = 3 in the config, so that a
 * step boundary passing mid-test cannot push the steps a test uses (and
 * totp_enrol's confirmation) out of the window. */
int totp_env_start(void **state);
/* Enrol user (root provisions) and confirm with the code for step now-2, so
 * that the current steps are still unused; the daemon must run with
 * totp_window >= 2 (the tests use 3). */
void totp_enrol(struct env *e, const char *user, struct totp_user *ret);
/* "backup_codes":["xxxxx-xxxxx",...] from the CLI's JSON. */
void totp_parse_backup_codes(const char *json, struct totp_user *t);
/* The code for now + offset steps. */
const char *totp_code_at(const struct totp_user *t, int offset, char buf[16]);
