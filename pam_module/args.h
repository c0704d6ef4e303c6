/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <security/pam_modules.h>

#include "conf.h"

enum acctsec_mode {
        MODE_NONE,
        MODE_PREAUTH,
        MODE_AUTHFAIL,
        MODE_AUTHSUCC,
        MODE_MFA,
        MODE_COMMIT, /* password: after pam_unix changed it */
        MODE_TOKEN,  /* auth: an API token typed as the password */
        MODE_RECOVER, /* auth: "forgot" typed as the password: a recovery code instead */
};

#define OVERRIDES_MAX 2048

struct module_args {
        struct acctsec_conf conf;
        enum acctsec_mode mode;
        /* policy keys from the module line, forwarded to the daemon */
        char overrides[OVERRIDES_MAX];
        size_t overrides_len;
};

/* Config file (global and [service] sections), then the module line.
 * Logs and returns PAM_SERVICE_ERR on an unknown or malformed option. */
int module_args_parse(pam_handle_t *pamh, int flags, int argc, const char **argv, struct module_args *a);
