/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What one call of the module leaves for a later one of the same login, so
 * that the later one need not ask the daemon what it was just told:
 *
 *   - PREAUTH says the mfa line's next step is the code prompt (an active
 *     authenticator): the mfa line prompts and sends the code at once, one
 *     request instead of MFA_BEGIN and then MFA_VERIFY.  Only which prompt
 *     comes first rides on it; MFA_VERIFY decides, as always.
 *   - AUTHSUCC, or a good code, says the account phase would answer a plain
 *     yes (not locked, not disabled, no change due, the source allowed):
 *     pam_acct_mgmt, called right after pam_authenticate by login, su,
 *     sudo and sshd's password authentication, returns PAM_SUCCESS without
 *     a request.  Within CARRY_ACCOUNT_MS only: a later account phase (a
 *     program that waits between the two) asks the daemon again.
 *
 * Kept with pam_set_data, so nothing survives pam_end; used only by the
 * process that was told (sshd authenticates keyboard-interactive logins in
 * a child and asks account from its monitor, which asks the daemon) and
 * only for the same user, service, remote host, socket and policy
 * arguments; used up when read.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "carry.h"

#define CARRY_ACCOUNT_MS 1000

static const char *const names[] = {
        [CARRY_CODE_NEXT] = "pam_acctsec_code_next",
        [CARRY_ACCOUNT_OK] = "pam_acctsec_account_ok",
};

struct carried {
        pid_t pid;
        long long at_ms;
        size_t len;
        char key[]; /* the parts of key_parts(), each with its NUL */
};

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *item(pam_handle_t *pamh, int which) {
        const void *v = NULL;
        return pam_get_item(pamh, which, &v) == PAM_SUCCESS && v ? v : "";
}

#define KEY_PARTS 6

/* What must be the same for a carried answer to count. */
static void key_parts(pam_handle_t *pamh, const char *user, const struct module_args *a,
                      const char *parts[KEY_PARTS]) {
        parts[0] = user;
        parts[1] = item(pamh, PAM_SERVICE);
        parts[2] = item(pamh, PAM_RHOST);
        parts[3] = a->conf.socket;
        parts[4] = a->conf.private_socket;
        parts[5] = a->overrides;
}

static bool same_key(const struct carried *c, const char *parts[KEY_PARTS]) {
        size_t at = 0;
        for (size_t i = 0; i < KEY_PARTS; i++) {
                size_t k = strlen(parts[i]) + 1;
                if (k > c->len - at || memcmp(c->key + at, parts[i], k) != 0)
                        return false;
                at += k;
        }
        return at == c->len;
}

static void free_carried(pam_handle_t *pamh, void *data, int error_status) {
        free(data);
}

int carry_set(pam_handle_t *pamh, enum carry_kind k, const char *user, const struct module_args *a) {
        const char *parts[KEY_PARTS];
        size_t len = 0;
        key_parts(pamh, user, a, parts);
        for (size_t i = 0; i < KEY_PARTS; i++)
                len += strlen(parts[i]) + 1;
        struct carried *c = malloc(sizeof(*c) + len);
        if (!c)
                return PAM_BUF_ERR;
        *c = (struct carried){ .pid = getpid(), .at_ms = now_ms(), .len = len };
        for (size_t i = 0, at = 0; i < KEY_PARTS; i++) {
                size_t n = strlen(parts[i]) + 1;
                memcpy(c->key + at, parts[i], n);
                at += n;
        }
        if (pam_set_data(pamh, names[k], c, free_carried) != PAM_SUCCESS) {
                free(c);
                return PAM_BUF_ERR;
        }
        return PAM_SUCCESS;
}

bool carry_take(pam_handle_t *pamh, enum carry_kind k, const char *user, const struct module_args *a) {
        const void *data = NULL;
        const char *parts[KEY_PARTS];
        if (pam_get_data(pamh, names[k], &data) != PAM_SUCCESS || !data)
                return false;
        const struct carried *c = data;
        key_parts(pamh, user, a, parts);
        bool ok = c->pid == getpid() && same_key(c, parts) &&
                  (k != CARRY_ACCOUNT_OK || now_ms() - c->at_ms <= CARRY_ACCOUNT_MS);
        (void) pam_set_data(pamh, names[k], NULL, NULL); /* used up: the cleanup frees it */
        return ok;
}
