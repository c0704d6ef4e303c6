/* SPDX-License-Identifier: BSD-3-Clause */
/* What the request handlers share, and the handler of each request type
 * (the table in requests.c names them). */
#pragma once

#include "daemon.h"
#include "email.h"
#include "phone.h"
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
/* The caller's name for the log: its user name, or uid=N. */
void actor_name(const struct ucred *peer, char *buf, size_t n);

/* A user's second factors. */
struct factors {
        enum acctsec_mfa_state totp;
        struct email_info email;
        struct phone_info phone;
        bool required; /* by an admin: acctsec mfa require */
};
int factors_of(struct daemon *d, const char *user, struct factors *ret);

/* email_codes.c: a new attempt for purpose, its code committed and mailed
 * (or texted, to a phone number) to address (the target's); the reply is
 * deferred (mfa_disable.c uses it for DISABLE_CODE, phone.c for PHONE_SET). */
struct request;
int mail_new_code(struct request *rq, enum email_purpose purpose, const char *address, bool set_pending,
                  struct event *ev);

/* passwords.c: whether a notice may be mailed to the user's verified
 * address, inside the caller's transaction: 1 yes (counted), 0 no address,
 * or the cap bit and *ret_capped holds the mail_capped event (detail in
 * buf). */
int notice_allowed(struct daemon *d, const char *user, const char *what, int64_t now, struct email_info *e,
                   struct event *ret_capped, char *buf, size_t n);

/* passwords.c: a notice mailed to a user (never waited for; a failed
 * delivery is logged as "WHAT to USER not delivered"), and the host name
 * and UTC time its text names. */
#define NOTICE_HOST_MAX 256
#define NOTICE_WHEN_MAX 64
void notice_send(struct daemon *d, const char *user, const char *address, const char *what, const char *subject,
                 const char *body);
void notice_stamp(char host[NOTICE_HOST_MAX], char when[NOTICE_WHEN_MAX]);

/* passwords.c: a random password that meets the user's policy (20
 * characters, each class). */
#define PASSWORD_TEMP_LENGTH 20
int password_generate(const struct acctsec_conf *c, const char *user, char out[PASSWORD_TEMP_LENGTH + 1]);

/* email_codes.c: mail (or text) a committed code and answer nobody: the
 * delivery's outcome is only logged (password recovery). */
int code_send_detached(struct daemon *d, enum email_purpose purpose, const struct attempt *a, const char *attempt,
                       const char *to, char code[EMAIL_CODE_MAX], unsigned ttl);

/* A login from a source the allowlists do not contain: logged with the
 * source, answered with ACCTSEC_DENY_NETWORK. */
int deny_network(struct daemon *d, const struct login *l, int64_t now, struct acctsec_frame *reply);
/* A successful authentication: ACCOUNT_OK in the reply when the account
 * phase would say a plain yes (login.c). */
int add_account_ok(struct daemon *d, const struct login *l, int64_t now, const struct lock_result *res,
                   struct acctsec_frame *reply);

/* Second-factor relief (devices.c, over domain/relief.c): whether this
 * login may skip the code (act: log the skip and touch the device), and,
 * after a good code, remembering the device. */
struct relief;
struct request;
int relief_at_login(struct request *rq, const struct login *l, bool first_checked, bool act, struct relief *ret);
int relief_after_code(struct request *rq, const struct login *l);

/* The handlers of the request table (requests.c). */
/* Not a request: a unit of work when the store says another host asked this
 * one to end some of its sessions (a fleet). */
void sessions_end_requested(struct daemon *d);

int handle_ping(struct request *rq);
int handle_fleet_status(struct request *rq);
int handle_fleet_key_rotate(struct request *rq);
int handle_host_list(struct request *rq);
int handle_reload(struct request *rq);
int handle_login(struct request *rq); /* PREAUTH, AUTHFAIL, AUTHSUCC, ACCOUNT */
int handle_status(struct request *rq);
int handle_lockout_show(struct request *rq);
int handle_lockout_reset(struct request *rq);
int handle_mfa_begin(struct request *rq);
int handle_mfa_verify(struct request *rq);
int handle_totp_enroll(struct request *rq);
int handle_totp_confirm(struct request *rq);
int handle_mfa_status(struct request *rq); /* MFA_STATUS, BACKUP_STATUS */
int handle_mfa_reset(struct request *rq);
int handle_mfa_require(struct request *rq);
int handle_backup_generate(struct request *rq);
int handle_code_send(struct request *rq);
int handle_email_set(struct request *rq);
int handle_email_verify(struct request *rq);
int handle_email_codes(struct request *rq);
int handle_phone_set(struct request *rq);
int handle_phone_verify(struct request *rq);
int handle_phone_codes(struct request *rq);
int handle_phone_clear(struct request *rq);
int handle_recovery_begin(struct request *rq);
int handle_recovery_verify(struct request *rq);
int handle_disable_code(struct request *rq);
int handle_mfa_disable(struct request *rq);
int handle_account_disable(struct request *rq); /* ACCOUNT_DISABLE, ACCOUNT_ENABLE */
int handle_expire_password(struct request *rq);
int handle_password_policy(struct request *rq);
int handle_password_check(struct request *rq);
int handle_password_commit(struct request *rq);
int handle_reset_password(struct request *rq);
int handle_token_create(struct request *rq);
int handle_token_list(struct request *rq);
int handle_token_revoke(struct request *rq);
int handle_token_auth(struct request *rq);
int handle_allowlist_change(struct request *rq); /* ALLOWLIST_ADD, ALLOWLIST_REMOVE */
int handle_allowlist_list(struct request *rq);
int handle_session_open(struct request *rq);
int handle_session_close(struct request *rq);
int handle_session_list(struct request *rq);
int handle_session_terminate(struct request *rq);
int handle_notify_set(struct request *rq);
int handle_log_show(struct request *rq);
int handle_log_export(struct request *rq);
int handle_device_list(struct request *rq);
int handle_device_revoke(struct request *rq);
