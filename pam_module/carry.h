/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <security/pam_modules.h>

#include "args.h"

/* What one call of the module leaves for a later one of the same login
 * (carry.c). */
enum carry_kind {
        CARRY_CODE_NEXT,  /* PREAUTH: the mfa line's next step is the code prompt */
        CARRY_ACCOUNT_OK, /* AUTHSUCC or a good code: the account phase says yes */
};

/* Remember k for user under these settings; PAM_SUCCESS or PAM_BUF_ERR. */
int carry_set(pam_handle_t *pamh, enum carry_kind k, const char *user, const struct module_args *a);
/* Whether k was left for this user, these settings, this process (and, for
 * CARRY_ACCOUNT_OK, within CARRY_ACCOUNT_MS); it is used up either way. */
bool carry_take(pam_handle_t *pamh, enum carry_kind k, const char *user, const struct module_args *a);
