/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "conf.h"

#define EXIT_USAGE 2
#define EXIT_DENIED 4
#define EXIT_UNAVAILABLE 69
#define EXIT_TEMPFAIL 75 /* try again later (a code was sent recently) */

struct cli {
        char socket[ACCTSEC_SOCKET_PATH_MAX];
        char private_socket[ACCTSEC_SOCKET_PATH_MAX]; /* root's; "": the one beside socket */
        const char *user;
        bool json;
        bool help; /* --help: the command's own usage lines */
        bool off;  /* mfa require --off */
        bool mail; /* account reset-password --mail */
        const char *name, *expires, *services; /* token create */
        bool all;        /* session list, log show/export: every user's */
        bool all_others; /* session terminate */
        const char *since, *type, *limit, *format, *output; /* log show/export */
        const char *pam_dir, *pam_file, *sshd_config, *conf_file, *module_dir; /* doctor; --config: fleet import */
        const char *state_dir; /* fleet import */
        bool dry_run;          /* fleet import */
        bool socket_from_conf; /* no --socket: doctor --config FILE takes FILE's socket= */
        const char *verb;
        char **args; /* the command's own positional arguments */
        struct acctsec_frame req;
        struct acctsec_msg reply;
        bool keep;      /* cli_keep_connection(): one connection for all requests */
        bool connected; /* fd is that connection */
        int fd;
        char connected_to[ACCTSEC_SOCKET_PATH_MAX];
};

/* Send c->req; on failure print why and return the exit status (else 0). */
int cli_call(struct cli *c);
/* cli_call, except that an error reply with errno allowed (positive)
 * returns -allowed, and says nothing. */
int cli_call_allowing(struct cli *c, int allowed);
/* Requests from now on share one connection (many in a row: user list),
 * until cli_disconnect(). */
void cli_keep_connection(struct cli *c);
void cli_disconnect(struct cli *c);
/* The same for requests that wait for a mail server or a PAM stack. */
int cli_call_long(struct cli *c);
int cli_fail(const struct cli *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "active", "pending" or "none" (enum acctsec_mfa_state). */
const char *mfa_state_name(uint64_t state);
int cmd_mfa_enroll(struct cli *c);
int cmd_mfa_confirm(struct cli *c);
int cmd_mfa_status(struct cli *c);
int cmd_mfa_reset(struct cli *c);
int cmd_backup_generate(struct cli *c);
int cmd_backup_status(struct cli *c);
int cmd_mfa_enroll_email(struct cli *c);
int cmd_mfa_disable(struct cli *c);
int cmd_mfa_require(struct cli *c);
int cmd_email_set(struct cli *c);
int cmd_email_verify(struct cli *c);
int cmd_phone_set(struct cli *c);
int cmd_phone_verify(struct cli *c);
int cmd_phone_clear(struct cli *c);
int cmd_mfa_enroll_sms(struct cli *c);
/* email.c: a reply to a request that sends a code (sent, not sent, wait) */
int sent_or_fail(struct cli *c);
void print_message(struct cli *c);
int cmd_account_disable(struct cli *c);
int cmd_account_enable(struct cli *c);
int cmd_account_expire(struct cli *c);
int cmd_account_reset_password(struct cli *c);
int cmd_token_create(struct cli *c);
int cmd_token_list(struct cli *c);
int cmd_token_revoke(struct cli *c);
int cmd_allowlist_add(struct cli *c);
int cmd_allowlist_remove(struct cli *c);
int cmd_allowlist_list(struct cli *c);
/* A positive decimal id (a session's, a device's): 0 or -EINVAL. */
int parse_id(const char *s, uint64_t *ret);
int cmd_device_list(struct cli *c);
int cmd_device_revoke(struct cli *c);
/* "N remembered devices revoked: ..." when N > 0. */
void print_devices_revoked(uint64_t n);
int cmd_session_list(struct cli *c);
int cmd_session_terminate(struct cli *c);
int cmd_notify(struct cli *c);
/* The TAG_NOTIFY value of a STATUS reply, in words. */
const char *notify_state_text(uint64_t v);
int cmd_log_show(struct cli *c);
int cmd_log_export(struct cli *c);
/* Exit 1 when it found a problem. */
int cmd_doctor(struct cli *c);
/* Runs acctsecd --import-from (root only); returns only when it cannot. */
int cmd_fleet_key(struct cli *c);
int cmd_fleet_import(struct cli *c);
/* The fleet's hosts (admins and auditors); one host alone with SQLite. */
int cmd_fleet_hosts(struct cli *c);
/* Every regular account's state and last login (admins and auditors). */
int cmd_user_list(struct cli *c);
