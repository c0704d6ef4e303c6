/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "location.h"
#include "log.h"
#include "macro.h"
#include "mailer.h"
#include "policy.h"

/* Mail and SMS settings that cannot work stop the daemon at start, not at
 * the first login that needs a code. */
static int check_mail(const struct acctsec_conf *g, struct acctsec_conf_error *e) {
        struct mail_settings ms;
        const char *why = NULL;
        mailer_settings(g, &ms);
        if (mail_settings_check(&ms, &why) < 0) {
                e->line = 0;
                snprintf(e->msg, sizeof(e->msg), "mail settings: %s", why ? why : "invalid");
                return -EINVAL;
        }
        /* The same for the SMS gateway; a working but unwise one is logged. */
        struct sms_settings ss;
        sms_settings_of(g, &ss);
        if (sms_settings_check(&ss, &why) < 0) {
                e->line = 0;
                snprintf(e->msg, sizeof(e->msg), "SMS settings: %s", why ? why : "invalid");
                return -EINVAL;
        }
        if ((why = sms_settings_warning(&ss)))
                log_warning("%s", why);
        return 0;
}

int policy_load(struct policy *p, const char *path, bool explicit, struct acctsec_conf_error *e) {
        struct policy n = { 0 };
        struct acctsec_conf_match none = { 0 };

        if (strlen(path) >= sizeof(n.path))
                return -ENAMETOOLONG;
        strcpy(n.path, path);
        acctsec_conf_defaults(&n.global);
        int r = acctsec_conf_read_file(path, &n.text, &n.len, e);
        if (r == -ENOENT && !explicit) {
                policy_free(p);
                *p = n;
                return 0;
        }
        if (r < 0)
                return r;
        /* Every section is checked now, so a typo stops the daemon at start. */
        r = acctsec_conf_parse(&n.global, n.text, n.len, &none, e);
        if (r == 0)
                r = check_mail(&n.global, e);
        if (r < 0) {
                free(n.text);
                return r;
        }
        policy_free(p);
        *p = n;
        return 0;
}

int policy_reload(struct policy *p, char *why, size_t n) {
        struct acctsec_conf_error e = { 0 };
        int r = policy_load(p, p->path, true, &e);
        if (r < 0) {
                snprintf(why, n, "%s:%u: %s", p->path, e.line, e.msg[0] ? e.msg : strerror(-r));
                log_error("reload of %s failed, keeping the old settings: line %u: %s", p->path, e.line,
                          e.msg[0] ? e.msg : strerror(-r));
                return r;
        }
        log_info("reloaded %s", p->path);
        /* Again even when the path is the same: the file may be a newer
         * edition (geoipupdate renames a new one into place). */
        location_follow(p->global.geoip_database);
        return 0;
}

void policy_free(struct policy *p) {
        free(p->text);
        p->text = NULL;
        p->len = 0;
}

static bool in_group(const char *group, void *userdata) {
        return user_in_group(userdata, group);
}

static int apply_overrides(struct acctsec_conf *c, const char *overrides, const char **why) {
        char line[ACCTSEC_CONF_LINE_MAX];
        for (const char *s = overrides; *s;) {
                size_t n = strcspn(s, " ");
                if (n >= sizeof(line))
                        return *why = "override too long", -EINVAL;
                memcpy(line, s, n);
                line[n] = '\0';
                if (n > 0) {
                        int r = acctsec_conf_set_arg(c, line, ACCTSEC_CONF_OVERRIDE, why);
                        if (r < 0)
                                return r;
                }
                s += n + (s[n] == ' ');
        }
        return 0;
}

/* Services that are not logins: cron and atd run a user's jobs, and
 * systemd-user (user@.service) starts the user's service manager.  A lock
 * (three wrong passwords, typed by anyone) does not stop them, so that it
 * cannot be used to stop someone's jobs and services; a disabled account
 * still does.  The file's sections may say otherwise. */
static const char *const not_logins[] = { "cron", "atd", "systemd-user" };

static void builtin_service_defaults(struct acctsec_conf *c, const char *service) {
        for (size_t i = 0; service && i < ARRAY_SIZE(not_logins); i++)
                if (strcmp(service, not_logins[i]) == 0)
                        c->account_lock = false;
}

/* Built in *ret itself, not in a copy: the settings are 7 KB and this runs
 * on every login request (copies of them were most of the instructions
 * issue 19's keys added to a PREAUTH). */
int policy_for(const struct policy *p, const struct principal *user, const char *service, const char *overrides,
               struct acctsec_conf *ret, const char **why) {
        struct acctsec_conf_error e;
        struct acctsec_conf_match m = {
                .user = user ? user->name : NULL,
                .service = service,
                .in_group = user ? in_group : NULL,
                .userdata = (void *) user,
        };

        acctsec_conf_defaults(ret);
        builtin_service_defaults(ret, service);
        if (p->text && acctsec_conf_parse(ret, p->text, p->len, &m, &e) < 0)
                return *why = "config file changed under us", -EINVAL;
        return overrides ? apply_overrides(ret, overrides, why) : 0;
}
