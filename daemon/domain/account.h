/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Why the password must be changed at the next login. */
enum must_change { MUST_CHANGE_NO = 0, MUST_CHANGE_ADMIN = 1, MUST_CHANGE_RECOVERY = 2 };

struct account_info {
        int64_t disabled;   /* unix time it was disabled; 0 enabled */
        char disabled_by[256];
        enum must_change must_change; /* change the password at the next login, and why */
        int64_t changed;    /* last recorded password change; 0 unknown */
};

/* A user's account controls; all zero when there is no row. */
int account_get(struct store *s, const char *user, struct account_info *ret);

/* Admin actions, each with its event (actor named).  *ret_changed says
 * whether the state changed (disabling a disabled account changes nothing
 * and logs nothing). */
int account_set_disabled(struct store *s, const char *user, bool disabled, const char *actor, int64_t now,
                         bool *ret_changed);
int account_expire_password(struct store *s, const char *user, const char *actor, int64_t now);
/* The same without the event, and with the reason. */
int account_expire_in(struct store *s, const char *user, enum must_change why, int64_t now);

/* The password was changed (pam_acctsec.so commit, after pam_unix): the
 * forced change is cleared and the time recorded. */
int account_password_changed_in(struct store *s, const char *user, int64_t now);
