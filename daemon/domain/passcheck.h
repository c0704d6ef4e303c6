/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stddef.h>

#define PASSCHECK_SERVICE "acctsec" /* /etc/pam.d/acctsec */

/* A user's password, checked through the PAM service PASSCHECK_SERVICE with
 * pam_authenticate only (the user is logged in already: the account phase
 * is not asked).  Blocking:
 * run it in a child (child.h).  0 right, -EACCES wrong, other errors -EIO
 * with a reason. */
struct passcheck {
        const char *user;
        const char *password;
};
int passcheck_run(void *arg, char *err, size_t errlen);

/* Set a user's password through the same service's password stack
 * (pam_chauthtok as root: pam_unix asks no old password and hashes it the
 * system's way).  Blocking: run it in a child.  0, or -EIO with a reason. */
int passset_run(void *arg, char *err, size_t errlen);
