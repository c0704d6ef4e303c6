/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>

#include "conf.h"
#include "users.h"

/* The daemon's view of /etc/security/acctsec.conf: checked whole at start
 * (and on SIGHUP), kept as text, and resolved per request for the
 * [user]/[group]/[service] sections that apply. */
struct policy {
        char path[4096];
        char *text; /* NULL: no file, built-in defaults */
        size_t len;
        struct acctsec_conf global; /* the file without any section */
};

/* explicit: the path was given on the command line, so it must exist. */
int policy_load(struct policy *p, const char *path, bool explicit, struct acctsec_conf_error *ret_err);
void policy_free(struct policy *p);
/* Read the same file again (SIGHUP, acctsecd --reload): a file with an
 * error is logged and the running settings are kept.  0, or negative with
 * the reason in why. */
int policy_reload(struct policy *p, char *why, size_t n);

/* The settings for one login.  user may be NULL (unknown user); overrides
 * are the module's space-separated "key=value" policy arguments, honoured only from root.
 * On an error *ret is half made: the caller refuses the request. */
int policy_for(const struct policy *p, const struct principal *user, const char *service, const char *overrides,
               struct acctsec_conf *ret, const char **ret_why);
