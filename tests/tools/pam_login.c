/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pam_login: one login through real libpam with a service file from a
 * directory of our own (pam_start_confdir), the password read from stdin.
 * Used by scripts/demo.sh; nothing in /etc is read or changed.
 *
 *   echo PASSWORD | pam_login CONFDIR SERVICE USER [RHOST]
 *   printf 'PASSWORD\nCODE\n' | pam_login CONFDIR SERVICE USER [RHOST]
 *
 * With PAM_LOGIN_MAILDIR set, a prompt for an emailed code is answered with
 * the code from the newest mail in that Maildir (as the user would read it);
 * else with the second line of stdin (an authenticator app's code), if any.
 *
 * Prints the outcome and exits with the PAM code (0: PAM_SUCCESS).
 */
#include "config.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <security/pam_appl.h>

static bool is_login_mail(const char *path) {
        char text[8192];
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        size_t k = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[k] = '\0';
        return strstr(text, "verification code is: ") != NULL;
}

/* The code in the newest login-code mail of $PAM_LOGIN_MAILDIR/new, or NULL. */
static char *mailed_code(void) {
        static char code[16];
        char dir[4096], path[8192], best[8192] = "", text[8192];
        const char *md = getenv("PAM_LOGIN_MAILDIR");
        time_t newest = 0;
        struct stat st;
        if (!md)
                return NULL;
        snprintf(dir, sizeof(dir), "%s/new", md);
        DIR *d = opendir(dir);
        if (!d)
                return NULL;
        for (struct dirent *de; (de = readdir(d));) {
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                if (de->d_name[0] != '.' && stat(path, &st) == 0 && st.st_mtime >= newest && is_login_mail(path)) {
                        newest = st.st_mtime;
                        snprintf(best, sizeof(best), "%s", path);
                }
        }
        closedir(d);
        FILE *f = best[0] ? fopen(best, "re") : NULL;
        if (!f)
                return NULL;
        size_t k = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[k] = '\0';
        const char *p = strstr(text, "verification code is: ");
        if (!p || sscanf(p + 22, "%15[0-9]", code) != 1)
                return NULL;
        printf("    [mail] %s\n", strstr(text, "To: ") ? strtok(strstr(text, "To: "), "\r") : "To: ?");
        printf("    [mail] Your verification code is: %s\n", code);
        return code;
}

struct answers {
        char password[1024], code[64];
};

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        const struct answers *a = data;
        struct pam_response *r = calloc((size_t) n, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                switch (msg[i]->msg_style) {
                case PAM_PROMPT_ECHO_OFF:
                case PAM_PROMPT_ECHO_ON: {
                        const char *code = NULL;
                        if (strstr(msg[i]->msg, "code")) {
                                code = mailed_code();
                                code = code ? code : a->code[0] ? a->code : NULL;
                        }
                        printf("    [prompt] %s%s\n", msg[i]->msg, code ? code : "");
                        r[i].resp = strdup(code ? code : a->password);
                        break;
                }
                default: /* what the user would see */
                        printf("    [message] %s\n", msg[i]->msg);
                }
        }
        *resp = r;
        return PAM_SUCCESS;
}

int main(int argc, char **argv) {
        struct answers a = { "", "" };
        pam_handle_t *pamh = NULL;

        if (argc < 4 || argc > 5) {
                fprintf(stderr, "usage: echo PASSWORD | %s CONFDIR SERVICE USER [RHOST]\n", argv[0]);
                return 2;
        }
        if (fgets(a.password, sizeof(a.password), stdin))
                a.password[strcspn(a.password, "\n")] = '\0';
        if (fgets(a.code, sizeof(a.code), stdin))
                a.code[strcspn(a.code, "\n")] = '\0';
        struct pam_conv c = { conv, &a };
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
        memset(&a, 0, sizeof(a));
        return r;
}
