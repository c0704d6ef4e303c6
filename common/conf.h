/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one option parser: /etc/security/acctsec.conf lines and module
 * arguments use the same keys and go through acctsec_conf_set().  An unknown
 * key or a malformed value is always an error, never a warning.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define ACCTSEC_DEFAULT_SOCKET "/run/acctsec/acctsecd.sock"
#ifndef SYSCONFDIR /* set by the build from ./configure --sysconfdir */
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define ACCTSEC_DEFAULT_CONF SYSCONFDIR "/security/acctsec.conf"
#define ACCTSEC_DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/acctsec"
#define ACCTSEC_DEFAULT_FLEET_KEY SYSCONFDIR "/acctsec/fleet.key" /* store = postgresql: the key the fleet shares */
#define ACCTSEC_GROUP_MAX 64
#define ACCTSEC_SOCKET_PATH_MAX 108
#define ACCTSEC_CONF_FILE_MAX (1024 * 1024)
#define ACCTSEC_CONF_LINE_MAX 4096

enum acctsec_failmode { ACCTSEC_FAILMODE_SECURE, ACCTSEC_FAILMODE_OPEN };
enum acctsec_lock_scope { ACCTSEC_LOCK_SCOPE_USER, ACCTSEC_LOCK_SCOPE_USER_SOURCE };
enum acctsec_mfa { ACCTSEC_MFA_OFF, ACCTSEC_MFA_OPTIONAL, ACCTSEC_MFA_REQUIRED };
/* The same values as enum mail_transport (daemon/mail/mail.h). */
enum acctsec_store { ACCTSEC_STORE_SQLITE, ACCTSEC_STORE_POSTGRESQL };
enum acctsec_mail_transport { ACCTSEC_MAIL_MAILDIR, ACCTSEC_MAIL_SENDMAIL, ACCTSEC_MAIL_SMTP };
/* The same values as enum sms_transport (daemon/mail/sms.h): none, SMS off. */
enum acctsec_sms_transport { ACCTSEC_SMS_NONE, ACCTSEC_SMS_COMMAND, ACCTSEC_SMS_HTTP };
/* How sms_http_body is filled in: form (percent-encoded) or json (JSON string escapes). */
enum acctsec_sms_format { ACCTSEC_SMS_FORM, ACCTSEC_SMS_JSON };
/* What preauth asks a locked user (or a source outside the allowlist) for:
 * the first prompt that everyone else gets in that stack. */
enum acctsec_prompt { ACCTSEC_PROMPT_AUTO, ACCTSEC_PROMPT_PASSWORD, ACCTSEC_PROMPT_CODE };
#define ACCTSEC_CONF_STR_MAX 256 /* mail_from and the mail paths */

struct acctsec_conf {
        /* client side: used by the module (and the CLI for socket) */
        char socket[ACCTSEC_SOCKET_PATH_MAX];
        /* root's own socket; "": private/ beside socket (acctsec_private_socket_path) */
        char private_socket[ACCTSEC_SOCKET_PATH_MAX];
        unsigned timeout_ms;
        enum acctsec_failmode failmode;
        bool debug;
        bool silent;
        /* lockout policy: decided by the daemon */
        unsigned deny;          /* 0: never lock (failures are still logged) */
        unsigned fail_interval; /* seconds */
        unsigned unlock_time;   /* seconds; 0: locked until an admin unlocks */
        bool even_deny_root;
        enum acctsec_lock_scope lock_scope;
        bool lock_message; /* tell a locked user "locked until HH:MM" */
        /* the account phase refuses a locked user (public-key logins); the
         * daemon turns it off for services that are not logins (policy.c) */
        bool account_lock;
        /* second factor: decided by the daemon */
        enum acctsec_mfa mfa;
        unsigned totp_window; /* steps of 30 s accepted either side of now */
        unsigned code_digits;          /* emailed codes */
        unsigned code_ttl;             /* seconds a code stays valid */
        unsigned code_resend_interval; /* seconds between two sends for one attempt */
        /* passwords: decided by the daemon (common/pwpolicy.h) */
        unsigned min_length; /* characters (UTF-8 code points); clamped to max_length */
        unsigned max_length; /* bytes, checked before anything else */
        bool require_upper;
        bool require_lower;
        bool require_digit;
        bool require_special;
        unsigned history; /* the last N passwords may not be reused; 0: no check */
        char dictionary[ACCTSEC_CONF_STR_MAX]; /* forbidden passwords; "": none; global only */
        bool allow_self_change; /* no: users must ask an admin */
        bool enforce_for_root;  /* root changing another user's password is checked too */
        unsigned max_password_age; /* seconds; 0: never expires */
        unsigned retry; /* module: new-password prompts per change */
        enum acctsec_prompt prompt; /* module: preauth's prompt for a refused user */
        /* API tokens and the network */
        unsigned token_max;        /* tokens per user */
        unsigned token_max_months; /* the longest expiry a token may have */
        char allowlist[ACCTSEC_CONF_STR_MAX]; /* "CIDR,CIDR,LOCAL"; "": no restriction from the config */
        /* second-factor relief (daemon/domain/relief.c) */
        char mfa_skip_networks[ACCTSEC_CONF_STR_MAX]; /* "CIDR,CIDR,LOCAL": no code asked from there; "": none */
        unsigned remember_device; /* seconds a good code is remembered per device; 0: never */
        /* notifications and the security log */
        bool notify_new_source;      /* mail a user on a login from a new source (they may opt out) */
        bool password_recovery;      /* "forgot" at the password prompt sends a recovery code */
        bool password_recovery_admins; /* global: recovery for root and admin_group too (not by default) */
        unsigned log_retention_days; /* events and ended sessions older than this are purged; 0: kept */
        char geoip_database[ACCTSEC_CONF_STR_MAX]; /* a MaxMind DB city file; "": no location; global only */
        /* mail delivery: global section only */
        enum acctsec_mail_transport mail_transport;
        char mail_from[ACCTSEC_CONF_STR_MAX];
        char maildir[ACCTSEC_CONF_STR_MAX];
        char sendmail_path[ACCTSEC_CONF_STR_MAX];
        char smtp_url[ACCTSEC_CONF_STR_MAX];
        char smtp_user[ACCTSEC_CONF_STR_MAX];
        char smtp_password_file[ACCTSEC_CONF_STR_MAX];
        char smtp_ca_file[ACCTSEC_CONF_STR_MAX];
        bool smtp_starttls;
        unsigned mail_timeout; /* seconds for one delivery */
        unsigned mail_max_per_hour; /* mails to one user in any hour (codes and notices); 0: no cap */
        /* SMS delivery (texted codes): global section only */
        enum acctsec_sms_transport sms_transport;
        char sms_command[ACCTSEC_CONF_STR_MAX];   /* program and fixed arguments; the number is added last */
        char sms_url[ACCTSEC_CONF_STR_MAX];       /* the gateway's API: https://... (http:// only for testing) */
        char sms_from[ACCTSEC_CONF_STR_MAX];      /* {from}: the sender id or number the gateway knows */
        char sms_http_body[ACCTSEC_CONF_STR_MAX]; /* the request body, with {to} {from} {text} {secret} */
        enum acctsec_sms_format sms_http_format;
        char sms_http_header[ACCTSEC_CONF_STR_MAX];        /* one more header, e.g. Authorization: Bearer {secret} */
        char sms_http_user[ACCTSEC_CONF_STR_MAX];          /* HTTP basic authentication, password from the file */
        char sms_http_password_file[ACCTSEC_CONF_STR_MAX]; /* {secret}, or the basic password; "" none */
        char sms_ca_file[ACCTSEC_CONF_STR_MAX];            /* "" the system's CAs */
        unsigned sms_timeout; /* seconds for one delivery */
        /* daemon limits: global section only */
        unsigned request_timeout; /* seconds a client has to send a request or read a reply */
        /* storage: global section only, read when the daemon starts */
        enum acctsec_store store;
        char postgresql[1024];          /* a libpq connection string */
        unsigned postgresql_timeout_ms; /* the longest a request waits for the database */
        unsigned log_sync_delay_ms; /* a log append alone is on disk within this (0: before the reply) */
        char host_id[64];               /* this host's name in the fleet; "": the host name */
        char fleet_key[ACCTSEC_CONF_STR_MAX];
        char fleet_key_previous[ACCTSEC_CONF_STR_MAX]; /* during a rotation: the key being replaced; "": none */
        /* roles: global section only */
        char admin_group[ACCTSEC_GROUP_MAX];
        char audit_group[ACCTSEC_GROUP_MAX];
};

/* Where a key=value came from; not every key is allowed everywhere. */
enum acctsec_conf_origin {
        ACCTSEC_CONF_GLOBAL,   /* the config file, outside any section */
        ACCTSEC_CONF_SECTION,  /* a [user]/[group]/[service] section */
        ACCTSEC_CONF_ARGV,     /* module arguments in /etc/pam.d */
        ACCTSEC_CONF_OVERRIDE, /* policy arguments the module forwards to the daemon */
};

void acctsec_conf_defaults(struct acctsec_conf *c);

/* 0, or -ENOENT (unknown key), -EINVAL (bad value), -EPERM (key not allowed
 * from this origin); *ret_why then points to a static explanation. */
int acctsec_conf_set(struct acctsec_conf *c, const char *key, const char *value,
                     enum acctsec_conf_origin origin, const char **ret_why);
/* "key=value", or a bare boolean key such as "debug". */
int acctsec_conf_set_arg(struct acctsec_conf *c, const char *arg, enum acctsec_conf_origin origin,
                         const char **ret_why);
/* Policy keys are decided by the daemon; the module forwards them. */
bool acctsec_conf_key_is_policy(const char *arg);

/* Which [user]/[group]/[service] sections apply.  NULL fields never match. */
struct acctsec_conf_match {
        const char *user;
        const char *service;
        bool (*in_group)(const char *group, void *userdata);
        void *userdata;
};

struct acctsec_conf_error {
        unsigned line;
        char msg[192];
};

/* Parse a whole config file.  Sections that do not match are still checked,
 * so a typo is reported whoever logs in.  -ENOENT when the file is missing. */
int acctsec_conf_load(struct acctsec_conf *c, const char *path, const struct acctsec_conf_match *m,
                      struct acctsec_conf_error *ret_err);
/* Read a config file with those checks (regular file, not a FIFO, owned by
 * root or us, not world-writable, at most 1 MiB); NUL-terminated. */
int acctsec_conf_read_file(const char *path, char **ret_text, size_t *ret_len, struct acctsec_conf_error *ret_err);
/* Same, from memory (used by acctsec_conf_load and the fuzzer). */
int acctsec_conf_parse(struct acctsec_conf *c, const char *text, size_t len,
                       const struct acctsec_conf_match *m, struct acctsec_conf_error *ret_err);

/* The socket a root caller uses: configured (private_socket) if not empty,
 * else "private/" inserted before the last component of socket
 * (/run/acctsec/private/acctsecd.sock).  0, or -ENAMETOOLONG. */
int acctsec_private_socket_path(const char *socket, const char *configured, char ret[static ACCTSEC_SOCKET_PATH_MAX]);

/* Parse "90", "90s", "15m", "2h", "1d" into seconds. */
int acctsec_parse_duration(const char *s, unsigned long long *ret_seconds);
int acctsec_parse_bool(const char *s, bool *ret);
const char *acctsec_mfa_name(enum acctsec_mfa m);
