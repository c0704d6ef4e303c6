/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Second-factor relief: no code asked from a trusted network
 * (mfa_skip_networks), or from a device that typed a good code within
 * remember_device (a remembered device).  doc/design.md, "Second-factor
 * relief: trusted networks and remembered devices".
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "lockout.h"
#include "store.h"

#define DEVICE_NAME_MAX 64 /* "SHA256:" and 43 base64 characters, or an IPv6 address, and a NUL */
#define DEVICES_MAX 50     /* remembered per user; the least recently used go first */
#define RELIEF_REASON_MAX 192

enum device_kind { DEVICE_KEY, DEVICE_ADDRESS };

/* A device: the public key sshd took before keyboard-interactive, else the
 * source address (LOCAL for a login without a remote host). */
struct device {
        enum device_kind kind;
        char name[DEVICE_NAME_MAX]; /* SHA256:... fingerprint, canonical address, or LOCAL */
};

/* The device of a login: auth_info (sshd's SSH_AUTH_INFO_0 "publickey"
 * line, or NULL) and rhost (PAM_RHOST).  -EINVAL when there is none to
 * name: no key and a source that is not a literal address (a host name,
 * "UNKNOWN"): such a login is never relieved. */
int device_of(const char *auth_info, const char *rhost, struct device *ret);
const char *device_kind_name(enum device_kind k);

struct relief {
        bool skip;
        int64_t device; /* the remembered device's id, 0 for a trusted network */
        char reason[RELIEF_REASON_MAX]; /* "trusted network 10.1.0.0/16", "remembered device SHA256:... until ..." */
};

/* May this login skip the second factor?  Never when no first factor was
 * checked (first_checked false: sshd's keyboard-interactive alone), for a
 * caller that is not root (a screen locker may not pick its own relief),
 * for a source the allowlists refuse, or for a disabled account.  The
 * caller has checked the lock.  Reads only: 0 with *ret filled, or a
 * negative errno (then no relief). */
int relief_decide(struct store *s, const struct acctsec_conf *conf, const struct attempt *a, const char *auth_info,
                  bool first_checked, int64_t now, struct relief *ret);
/* The skip happened: mfa_skipped with the reason, and the device's last use. */
int relief_skipped(struct store *s, const struct attempt *a, const struct relief *rl, int64_t now);

/* After a good code: remember this device for conf->remember_device, if it
 * is on and the source is inside an allowlist entry (else nothing is
 * stored; *ret_why says why, for the caller's debug line).  Logs
 * device_remembered. */
int relief_remember(struct store *s, const struct acctsec_conf *conf, const struct attempt *a, const char *auth_info,
                    int64_t now, const char **ret_why);

struct device_row {
        int64_t id;
        const char *kind;
        const char *name;
        const char *source;
        int64_t created, expires, last_used;
};
/* A user's remembered devices, oldest first; cb returns <0 to stop. */
int relief_list(struct store *s, const char *user, int (*cb)(const struct device_row *d, void *ud), void *ud);
/* Revoke one (id > 0) or all (id 0) of a user's devices, with one
 * device_revoked event saying why ("by the user", "session terminate
 * --all-others", "mfa reset"); *ret_n how many went (-ENOENT: id is not
 * one of the user's). */
int relief_revoke(struct store *s, const char *user, int64_t id, const char *actor, const char *why, int64_t now,
                  int64_t *ret_n);
/* Expired devices (maintenance). */
int relief_purge(struct store *s, int64_t now);
