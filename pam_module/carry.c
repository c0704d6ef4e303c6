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
        char key[]; /* user, service, rhost, socket, private socket and policy arguments, NUL-separated */
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

/* The key into buf, its length (0 when it does not fit: nothing is carried). */
static size_t make_key(pam_handle_t *pamh, const char *user, const struct module_args *a, char *buf, size_t n) {
        const char *parts[] = { user, item(pamh, PAM_SERVICE), item(pamh, PAM_RHOST), a->conf.socket,
                                a->conf.private_socket, a->overrides };
        size_t len = 0;
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
                size_t k = strlen(parts[i]) + 1;
                if (len + k > n)
                        return 0;
                memcpy(buf + len, parts[i], k);
                len += k;
        }
        return len;
}

#define KEY_MAX (3 * 4096 + OVERRIDES_MAX)

static void free_carried(pam_handle_t *pamh, void *data, int error_status) {
        free(data);
}

int carry_set(pam_handle_t *pamh, enum carry_kind k, const char *user, const struct module_args *a) {
        char *key = malloc(KEY_MAX);
        if (!key)
                return PAM_BUF_ERR;
        size_t len = make_key(pamh, user, a, key, KEY_MAX);
        struct carried *c = len ? malloc(sizeof(*c) + len) : NULL;
        if (c) {
                c->pid = getpid();
                c->at_ms = now_ms();
                c->len = len;
                memcpy(c->key, key, len);
        }
        free(key);
        if (!len) /* too long to compare: not carried, asked again */
                return PAM_SUCCESS;
        if (!c || pam_set_data(pamh, names[k], c, free_carried) != PAM_SUCCESS) {
                free(c);
                return PAM_BUF_ERR;
        }
        return PAM_SUCCESS;
}

bool carry_take(pam_handle_t *pamh, enum carry_kind k, const char *user, const struct module_args *a) {
        const void *data = NULL;
        if (pam_get_data(pamh, names[k], &data) != PAM_SUCCESS || !data)
                return false;
        const struct carried *c = data;
        char *key = malloc(KEY_MAX);
        size_t len = key ? make_key(pamh, user, a, key, KEY_MAX) : 0;
        bool ok = len && c->len == len && c->pid == getpid() && memcmp(c->key, key, len) == 0 &&
                  (k != CARRY_ACCOUNT_OK || now_ms() - c->at_ms <= CARRY_ACCOUNT_MS);
        free(key);
        (void) pam_set_data(pamh, names[k], NULL, NULL); /* used up: the cleanup frees it */
        return ok;
}
