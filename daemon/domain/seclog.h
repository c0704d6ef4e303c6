/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum event_type {
        EV_AUTH_SUCCESS,
        EV_AUTH_FAILURE,
        EV_LOCKOUT,
        EV_UNLOCK,
        EV_LOGIN_DENIED,
        EV_MFA_ENROLLED,
        EV_MFA_RESET,
        EV_CODE_USED,
        EV_CODE_REFUSED,
        EV_BACKUP_GENERATED,
        EV_CODE_SENT,
        EV_CODE_SEND_FAILED,
        EV_EMAIL_SET,
        EV_EMAIL_VERIFIED,
        EV_MFA_DISABLED,
        EV_MFA_REQUIRED,
        EV_ACCOUNT_DISABLED,
        EV_ACCOUNT_ENABLED,
        EV_PASSWORD_EXPIRED,
        EV_PASSWORD_CHANGED,
        EV_PASSWORD_RESET,
        EV_TOKEN_CREATED,
        EV_TOKEN_USED,
        EV_TOKEN_REFUSED,
        EV_TOKEN_REVOKED,
        EV_ALLOWLIST_ADDED,
        EV_ALLOWLIST_REMOVED,
        EV_SESSION_OPENED,
        EV_SESSION_CLOSED,
        EV_SESSION_TERMINATED,
        EV_NEW_SOURCE,      /* a login from a source not seen before (mailed or not: detail) */
        EV_NOTIFY_CHANGED,  /* new-source mails turned on or off */
        EV_REQUEST_REFUSED, /* an operation the caller's role does not allow */
        EV_LOG_EXPORTED,    /* someone exported the security log */
        EV_MAIL_CAPPED,     /* a mail not sent: mail_max_per_hour was reached */
        EV_FLEET_KEY_ROTATED, /* a fleet's secrets were re-sealed: the new key is the fleet's */
        EV_PHONE_SET,       /* a phone number set (verified or waiting) or removed */
        EV_PHONE_VERIFIED,  /* a user's number confirmed with the texted code */
        EV_PASSWORD_RECOVERED, /* a recovery code took the password's place at a login */
        EV_NEW_LOCATION,      /* a login from a country not seen before (mailed or not: detail) */
        EV_MFA_SKIPPED,       /* no code asked: a trusted network or a remembered device (detail) */
        EV_DEVICE_REMEMBERED, /* a good code remembered for a device (remember_device) */
        EV_DEVICE_REVOKED,    /* remembered devices revoked (by the user, an admin, sign-out, mfa reset) */
        _EV_MAX,
};

struct event {
        enum event_type type;
        const char *user;
        const char *service;
        const char *rhost;
        const char *tty;
        const char *actor;  /* who acted, when not the user: "root", an admin's name */
        const char *detail; /* free text, never a secret */
        /* Where rhost is (geoip_database): NULL asks seclog_add to look it
         * up; "" for none. */
        const char *country, *city;
};

/* Insert into the events table, in the request's transaction; the journal
 * gets the event once it committed (seclog_request_end): it never shows
 * what did not commit.  An event with a remote host and no location gets
 * the one the location database gives it now. */
int seclog_add(struct store *s, int64_t now, const struct event *e);
int seclog_add_all(struct store *s, int64_t now, const struct event *ev, size_t n);
/* The request's transaction ended (txn.c): its events go to the journal
 * (committed) or are dropped. */
void seclog_request_end(bool committed);
/* Send to the journal (or stderr) with the event type's MESSAGE_ID; call
 * only after the transaction committed. */
void seclog_emit(const struct event *e);
/* During a group commit (server.c), seclog_emit() keeps the events until
 * seclog_release() sends them (the batch committed) or drops them. */
void seclog_hold(void);
void seclog_release(bool committed);
const char *seclog_type_name(enum event_type t);
/* "success", "failure" or "info": fixed per event type. */
const char *seclog_type_outcome(enum event_type t);
/* The type with this name, or -ENOENT. */
int seclog_type_by_name(const char *name);
/* The outcome of a stored type name ("info" for names this build does not know). */
const char *seclog_outcome_of(const char *type_name);
