/* SPDX-License-Identifier: BSD-3-Clause */
/* New-source login notifications: the sources (remote address, and for SSH
 * the key's fingerprint) each user logged in from, and who opted out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "geoip.h"
#include "store.h"

#define NOTIFY_SOURCES_MAX 1000 /* remembered per user; the least recently seen go first */
#define SSH_FINGERPRINT_MAX 64  /* "SHA256:" and 43 base64 characters, and a NUL */

/* The fingerprint OpenSSH shows ("SHA256:...", unpadded base64 of the
 * SHA-256 of the key blob) of the key in sshd's SSH_AUTH_INFO_0 line
 * "publickey TYPE BASE64 [...]".  -EINVAL when the line is not that. */
int ssh_key_fingerprint(const char *auth_info, char *out, size_t n);

/* Remember a source, inside the caller's transaction; *ret_new tells
 * whether it had never been seen for this user (exactly one of two racing
 * logins from a new source sees it new). */
int notify_learn_source_in(struct store *s, const char *user, const char *rhost, const char *key, int64_t now,
                           bool *ret_new);
/* Remember a country (an ISO code) a user logged in from, inside the
 * caller's transaction; *ret_notice tells whether it is a new location
 * worth a notice: never seen before for this user, who had logged in
 * from another country already.  The first country on record is learned
 * quietly: the first login with a location database is not "new". */
int notify_learn_country_in(struct store *s, const char *user, const char *country, int64_t now, bool *ret_notice);
/* A user's own choice: 1 on (the default, also with no row), 0 off. */
int notify_pref(struct store *s, const char *user, bool *ret_on);
int notify_set_in(struct store *s, const char *user, bool on);

/* Mail "New login to your account" (a new source) or "Login to your
 * account from a new location" to address, without waiting for it. */
struct new_login {
        const char *user, *address, *service, *rhost, *key, *tty;
        const struct geoip_location *where; /* NULL: no location known */
        bool new_location;
        int64_t when;
};
void notify_send(struct daemon *d, const struct new_login *l);
