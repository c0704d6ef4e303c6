/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the request handlers (handlers.c, handlers_mfa.c). */
#pragma once

#include "daemon.h"
#include "email.h"
#include "lockout.h"
#include "users.h"

/* A login request from the module, parsed, authorised and with its policy. */
struct login {
        struct attempt a;
        struct principal p;
        struct acctsec_conf conf;
};

/* 0, or 1 when the request was refused and reply already holds the error. */
int login_prologue(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req, struct login *l,
                   struct acctsec_frame *reply);

int reply_error(struct acctsec_frame *reply, int negative_errno, const char *message);
/* -EPERM with why; logged to the journal and (rate-limited) the events table. */
int refuse(struct daemon *d, struct acctsec_frame *reply, const struct ucred *peer, uint8_t op, const char *why);
int reply_db_error(struct acctsec_frame *reply, uint8_t op, const char *user, int r);
void reply_decision(struct acctsec_frame *reply, const struct acctsec_conf *conf, const struct lock_result *res);
int get_str(const struct acctsec_msg *m, uint8_t tag, bool required, const char **ret);
uint64_t wire_until(int64_t locked_until);
int target_of(const struct acctsec_msg *req, const struct ucred *peer, struct principal *ret);
bool may_read(const struct daemon *d, const struct ucred *peer, uid_t target);
/* The user a read request is about (--user or the caller), if the caller
 * may read it, with that user's policy.  0, or 1 when reply holds a refusal:
 * the same one for unknown users and for others' accounts. */
int readable_target(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req, struct principal *p,
                    struct acctsec_conf *conf, struct acctsec_frame *reply);
/* The caller's name for the log: its user name, or uid=N. */
void actor_name(const struct ucred *peer, char *buf, size_t n);

/* A user's second factors. */
struct factors {
        enum acctsec_mfa_state totp;
        struct email_info email;
        bool required; /* by an admin: acctsec mfa require */
};
int factors_of(struct daemon *d, const char *user, struct factors *ret);

int handle_mfa_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                       struct acctsec_frame *reply);
int handle_email_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                         struct acctsec_frame *reply);
int handle_account_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                           struct acctsec_frame *reply);
int handle_password_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                            struct acctsec_frame *reply);
int handle_token_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                         struct acctsec_frame *reply);
int handle_session_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                           struct acctsec_frame *reply);
int handle_log_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                       struct acctsec_frame *reply);
/* A login from a source the allowlists do not contain: logged with the
 * source, answered with ACCTSEC_DENY_NETWORK. */
int deny_network(struct daemon *d, const struct login *l, int64_t now, struct acctsec_frame *reply);
