/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <security/pam_appl.h>

#include "passcheck.h"

/* Answers the password prompt; everything else is shown to nobody. */
static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        const char *password = data;
        struct pam_response *r = calloc((size_t) n, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++)
                if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF && !(r[i].resp = strdup(password))) {
                        for (int k = 0; k < i; k++)
                                free(r[k].resp); /* pam frees (and its modules wipe) on success only */
                        free(r);
                        return PAM_BUF_ERR;
                }
        *resp = r;
        return PAM_SUCCESS;
}

int passcheck_run(void *arg, char *err, size_t errlen) {
        const struct passcheck *pc = arg;
        struct pam_conv c = { conv, (void *) pc->password };
        pam_handle_t *pamh = NULL;

        int r = pam_start(PASSCHECK_SERVICE, pc->user, &c, &pamh);
        if (r != PAM_SUCCESS) {
                snprintf(err, errlen, "pam_start(%s): %s", PASSCHECK_SERVICE, pam_strerror(pamh, r));
                return -EIO;
        }
        r = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK);
        if (r != PAM_SUCCESS)
                snprintf(err, errlen, "PAM service %s: %s", PASSCHECK_SERVICE, pam_strerror(pamh, r));
        pam_end(pamh, r);
        return r == PAM_SUCCESS ? 0
               : r == PAM_AUTH_ERR || r == PAM_USER_UNKNOWN || r == PAM_PERM_DENIED || r == PAM_MAXTRIES
                       ? -EACCES
                       : -EIO;
}

int passset_run(void *arg, char *err, size_t errlen) {
        const struct passcheck *pc = arg;
        struct pam_conv c = { conv, (void *) pc->password };
        pam_handle_t *pamh = NULL;

        int r = pam_start(PASSCHECK_SERVICE, pc->user, &c, &pamh);
        if (r != PAM_SUCCESS) {
                snprintf(err, errlen, "pam_start(%s): %s", PASSCHECK_SERVICE, pam_strerror(pamh, r));
                return -EIO;
        }
        r = pam_chauthtok(pamh, 0);
        if (r != PAM_SUCCESS)
                snprintf(err, errlen, "PAM service %s (password): %s", PASSCHECK_SERVICE, pam_strerror(pamh, r));
        pam_end(pamh, r);
        return r == PAM_SUCCESS ? 0 : -EIO;
}
