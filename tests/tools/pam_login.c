/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pam_login: one login through real libpam with a service file from a
 * directory of our own (pam_start_confdir), the password read from stdin.
 * Used by scripts/demo.sh; nothing in /etc is read or changed.
 *
 *   echo PASSWORD | pam_login CONFDIR SERVICE USER [RHOST]
 *
 * Prints the outcome and exits with the PAM code (0: PAM_SUCCESS).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <security/pam_appl.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        struct pam_response *r = calloc((size_t) n, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                switch (msg[i]->msg_style) {
                case PAM_PROMPT_ECHO_OFF:
                case PAM_PROMPT_ECHO_ON:
                        r[i].resp = strdup(data);
                        break;
                default: /* what the user would see */
                        printf("    [message] %s\n", msg[i]->msg);
                }
        }
        *resp = r;
        return PAM_SUCCESS;
}

int main(int argc, char **argv) {
        char password[1024] = "";
        pam_handle_t *pamh = NULL;

        if (argc < 4 || argc > 5) {
                fprintf(stderr, "usage: echo PASSWORD | %s CONFDIR SERVICE USER [RHOST]\n", argv[0]);
                return 2;
        }
        if (fgets(password, sizeof(password), stdin))
                password[strcspn(password, "\n")] = '\0';
        struct pam_conv c = { conv, password };
        int r = pam_start_confdir(argv[2], argv[3], &c, argv[1], &pamh);
        if (r == PAM_SUCCESS && argc == 5)
                r = pam_set_item(pamh, PAM_RHOST, argv[4]);
        const char *phase = "authenticate";
        if (r == PAM_SUCCESS)
                r = pam_authenticate(pamh, 0);
        if (r == PAM_SUCCESS) {
                phase = "account";
                r = pam_acct_mgmt(pamh, 0);
        }
        printf("    %s: %s\n", r == PAM_SUCCESS ? "login accepted" : "login refused",
               r == PAM_SUCCESS ? "PAM_SUCCESS" : pam_strerror(pamh, r));
        if (r != PAM_SUCCESS)
                printf("    (failed in %s)\n", phase);
        pam_end(pamh, r);
        memset(password, 0, sizeof(password));
        return r;
}
