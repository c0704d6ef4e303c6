/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <security/pam_modules.h>

#include "pamerr.h"

int acctsec_errno_to_pam(int r) {
        switch (r) {
        case -ENOMEM:
                return PAM_BUF_ERR;
        case -EPERM:
        case -EACCES:
                return PAM_PERM_DENIED;
        case -ENOENT:
        case -ECONNREFUSED:
        case -ECONNRESET:
        case -ECONNABORTED:
        case -EPIPE:
        case -ETIMEDOUT:
        case -EAGAIN:
                /* The daemon is missing, hung or went away. */
                return PAM_AUTHINFO_UNAVAIL;
        case -EINVAL:
        case -EPROTO:
        case -EPROTONOSUPPORT:
        case -EBADMSG:
        case -EMSGSIZE:
        case -ENAMETOOLONG:
                return PAM_SERVICE_ERR;
        default:
                return PAM_SYSTEM_ERR;
        }
}
