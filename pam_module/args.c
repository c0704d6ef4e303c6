/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>

#include "args.h"

static const struct {
        const char *word;
        enum acctsec_mode mode;
} modes[] = {
        { "preauth", MODE_PREAUTH },
        { "authfail", MODE_AUTHFAIL },
        { "authsucc", MODE_AUTHSUCC },
        { "mfa", MODE_MFA },
        { "commit", MODE_COMMIT },
        { "token", MODE_TOKEN },
        { "recover", MODE_RECOVER },
};

static int load_file(pam_handle_t *pamh, const char *path, bool explicit, struct acctsec_conf *c) {
        const void *service = NULL;
        struct acctsec_conf_error e = { 0 };

        (void) pam_get_item(pamh, PAM_SERVICE, &service);
        struct acctsec_conf_match m = { .service = service };
        int r = acctsec_conf_load(c, path, &m, &e);
        /* The default file is optional: the built-in defaults are the secure ones. */
        if (r == -ENOENT && !explicit)
                return PAM_SUCCESS;
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "%s:%u: %s", path, e.line, e.msg);
                return PAM_SERVICE_ERR;
        }
        return PAM_SUCCESS;
}

/* Policy arguments travel to the daemon space-separated: no value of a
 * policy key can contain a space, so one that does is malformed. */
static int add_override(pam_handle_t *pamh, struct module_args *a, const char *arg) {
        size_t n = strlen(arg);
        if (strchr(arg, ' ')) {
                pam_syslog(pamh, LOG_ERR, "module argument \"%s\": malformed", arg);
                return PAM_SERVICE_ERR;
        }
        if (a->overrides_len + n + 2 > sizeof(a->overrides)) {
                pam_syslog(pamh, LOG_ERR, "too many module arguments");
                return PAM_SERVICE_ERR;
        }
        memcpy(a->overrides + a->overrides_len, arg, n);
        a->overrides_len += n;
        a->overrides[a->overrides_len++] = ' ';
        a->overrides[a->overrides_len] = '\0';
        return PAM_SUCCESS;
}

static bool set_mode(struct module_args *a, const char *arg) {
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
                if (strcmp(arg, modes[i].word) == 0) {
                        a->mode = modes[i].mode;
                        return true;
                }
        return false;
}

int module_args_parse(pam_handle_t *pamh, int flags, int argc, const char **argv, struct module_args *a) {
        const char *path = ACCTSEC_DEFAULT_CONF;
        bool explicit = false;

        memset(a, 0, sizeof(*a));
        acctsec_conf_defaults(&a->conf);
        for (int i = 0; i < argc; i++)
                if (strncmp(argv[i], "conf=", 5) == 0) {
                        path = argv[i] + 5;
                        explicit = true;
                }
        int r = load_file(pamh, path, explicit, &a->conf);
        if (r != PAM_SUCCESS)
                return r;

        for (int i = 0; i < argc; i++) {
                const char *why = NULL;
                if (strncmp(argv[i], "conf=", 5) == 0 || set_mode(a, argv[i]))
                        continue;
                if (acctsec_conf_set_arg(&a->conf, argv[i], ACCTSEC_CONF_ARGV, &why) < 0) {
                        pam_syslog(pamh, LOG_ERR, "module argument \"%s\": %s", argv[i], why);
                        return PAM_SERVICE_ERR;
                }
                if (acctsec_conf_key_is_policy(argv[i])) {
                        r = add_override(pamh, a, argv[i]);
                        if (r != PAM_SUCCESS)
                                return r;
                }
        }
        if (flags & PAM_SILENT)
                a->conf.silent = true;
        return PAM_SUCCESS;
}
