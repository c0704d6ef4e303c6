/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cidr.h"
#include "conf.h"
#include "macro.h"

enum key_type {
        T_ALLOWLIST, T_BOOL, T_UINT, T_SECONDS, T_MSEC, T_PATH, T_GROUP, T_FAILMODE, T_SCOPE, T_MFA, T_TRANSPORT,
        T_FILE, T_OPTFILE /* T_FILE, or empty for none */, T_TEXT, T_PROMPT, T_STORE, T_HOSTID, T_CONNINFO,
        T_SMS_TRANSPORT, T_SMS_FORMAT, T_LINE /* T_TEXT with spaces */,
};

/* Origins a key may come from. */
#define O_GLOBAL (1u << ACCTSEC_CONF_GLOBAL)
#define O_SECTION (1u << ACCTSEC_CONF_SECTION)
#define O_ARGV (1u << ACCTSEC_CONF_ARGV)
#define O_OVERRIDE (1u << ACCTSEC_CONF_OVERRIDE)
#define O_CLIENT (O_GLOBAL | O_ARGV)
#define O_POLICY (O_GLOBAL | O_SECTION | O_ARGV | O_OVERRIDE)

struct key {
        const char *name;
        enum key_type type;
        size_t offset;
        size_t size;
        unsigned long long min, max;
        unsigned origins;
};

#define F(field) offsetof(struct acctsec_conf, field), sizeof(((struct acctsec_conf *) 0)->field)
#define DAY (24ULL * 3600ULL)

static const struct key keys[] = {
        { "socket", T_PATH, F(socket), 0, 0, O_CLIENT },
        { "private_socket", T_PATH, F(private_socket), 0, 0, O_CLIENT },
        { "timeout", T_MSEC, F(timeout_ms), 10, 600000, O_CLIENT },
        { "failmode", T_FAILMODE, F(failmode), 0, 0, O_CLIENT },
        { "debug", T_BOOL, F(debug), 0, 0, O_CLIENT },
        { "silent", T_BOOL, F(silent), 0, 0, O_CLIENT },
        { "deny", T_UINT, F(deny), 0, 1000000, O_POLICY },
        { "fail_interval", T_SECONDS, F(fail_interval), 1, 366 * DAY, O_POLICY },
        { "unlock_time", T_SECONDS, F(unlock_time), 0, 366 * DAY, O_POLICY },
        { "even_deny_root", T_BOOL, F(even_deny_root), 0, 0, O_POLICY },
        { "lock_scope", T_SCOPE, F(lock_scope), 0, 0, O_POLICY },
        { "lock_message", T_BOOL, F(lock_message), 0, 0, O_POLICY },
        { "account_lock", T_BOOL, F(account_lock), 0, 0, O_POLICY },
        { "mfa", T_MFA, F(mfa), 0, 0, O_POLICY },
        { "totp_window", T_UINT, F(totp_window), 0, 10, O_POLICY },
        { "code_digits", T_UINT, F(code_digits), 6, 10, O_POLICY },
        { "code_ttl", T_SECONDS, F(code_ttl), 60, DAY, O_POLICY },
        { "code_resend_interval", T_SECONDS, F(code_resend_interval), 0, 3600, O_POLICY },
        { "min_length", T_UINT, F(min_length), 1, 1024, O_POLICY },
        { "max_length", T_UINT, F(max_length), 8, 4096, O_POLICY },
        { "require_upper", T_BOOL, F(require_upper), 0, 0, O_POLICY },
        { "require_lower", T_BOOL, F(require_lower), 0, 0, O_POLICY },
        { "require_digit", T_BOOL, F(require_digit), 0, 0, O_POLICY },
        { "require_special", T_BOOL, F(require_special), 0, 0, O_POLICY },
        { "history", T_UINT, F(history), 0, 50, O_POLICY },
        { "dictionary", T_OPTFILE, F(dictionary), 0, 0, O_GLOBAL },
        { "allow_self_change", T_BOOL, F(allow_self_change), 0, 0, O_POLICY },
        { "enforce_for_root", T_BOOL, F(enforce_for_root), 0, 0, O_POLICY },
        { "max_password_age", T_SECONDS, F(max_password_age), 0, 3650 * DAY, O_POLICY },
        { "retry", T_UINT, F(retry), 1, 10, O_CLIENT },
        { "prompt", T_PROMPT, F(prompt), 0, 0, O_CLIENT },
        { "token_max", T_UINT, F(token_max), 1, 100, O_POLICY },
        { "token_max_months", T_UINT, F(token_max_months), 1, 12, O_POLICY },
        { "allowlist", T_ALLOWLIST, F(allowlist), 0, 0, O_POLICY },
        { "notify_new_source", T_BOOL, F(notify_new_source), 0, 0, O_POLICY },
        { "password_recovery", T_BOOL, F(password_recovery), 0, 0, O_POLICY },
        { "password_recovery_admins", T_BOOL, F(password_recovery_admins), 0, 0, O_GLOBAL },
        { "geoip_database", T_OPTFILE, F(geoip_database), 0, 0, O_GLOBAL },
        { "mfa_skip_networks", T_ALLOWLIST, F(mfa_skip_networks), 0, 0, O_POLICY },
        { "remember_device", T_SECONDS, F(remember_device), 0, 90 * DAY, O_POLICY },
        { "log_retention_days", T_UINT, F(log_retention_days), 0, 36500, O_GLOBAL },
        { "mail_transport", T_TRANSPORT, F(mail_transport), 0, 0, O_GLOBAL },
        { "mail_from", T_TEXT, F(mail_from), 0, 0, O_GLOBAL },
        { "maildir", T_FILE, F(maildir), 0, 0, O_GLOBAL },
        { "sendmail_path", T_FILE, F(sendmail_path), 0, 0, O_GLOBAL },
        { "smtp_url", T_TEXT, F(smtp_url), 0, 0, O_GLOBAL },
        { "smtp_user", T_TEXT, F(smtp_user), 0, 0, O_GLOBAL },
        { "smtp_password_file", T_FILE, F(smtp_password_file), 0, 0, O_GLOBAL },
        { "smtp_ca_file", T_FILE, F(smtp_ca_file), 0, 0, O_GLOBAL },
        { "smtp_starttls", T_BOOL, F(smtp_starttls), 0, 0, O_GLOBAL },
        { "mail_timeout", T_SECONDS, F(mail_timeout), 1, 50, O_GLOBAL },
        { "mail_max_per_hour", T_UINT, F(mail_max_per_hour), 0, 1000, O_GLOBAL },
        { "sms_transport", T_SMS_TRANSPORT, F(sms_transport), 0, 0, O_GLOBAL },
        { "sms_command", T_LINE, F(sms_command), 0, 0, O_GLOBAL },
        { "sms_url", T_TEXT, F(sms_url), 0, 0, O_GLOBAL },
        { "sms_from", T_LINE, F(sms_from), 0, 0, O_GLOBAL },
        { "sms_http_body", T_LINE, F(sms_http_body), 0, 0, O_GLOBAL },
        { "sms_http_format", T_SMS_FORMAT, F(sms_http_format), 0, 0, O_GLOBAL },
        { "sms_http_header", T_LINE, F(sms_http_header), 0, 0, O_GLOBAL },
        { "sms_http_user", T_TEXT, F(sms_http_user), 0, 0, O_GLOBAL },
        { "sms_http_password_file", T_OPTFILE, F(sms_http_password_file), 0, 0, O_GLOBAL },
        { "sms_ca_file", T_OPTFILE, F(sms_ca_file), 0, 0, O_GLOBAL },
        { "sms_timeout", T_SECONDS, F(sms_timeout), 1, 50, O_GLOBAL },
        { "request_timeout", T_SECONDS, F(request_timeout), 1, 300, O_GLOBAL },
        { "store", T_STORE, F(store), 0, 0, O_GLOBAL },
        { "postgresql", T_CONNINFO, F(postgresql), 0, 0, O_GLOBAL },
        { "postgresql_timeout", T_MSEC, F(postgresql_timeout_ms), 100, 600000, O_GLOBAL },
        { "log_sync_delay", T_MSEC, F(log_sync_delay_ms), 0, 10000, O_GLOBAL },
        { "host_id", T_HOSTID, F(host_id), 0, 0, O_GLOBAL },
        { "fleet_key", T_FILE, F(fleet_key), 0, 0, O_GLOBAL },
        { "fleet_key_previous", T_OPTFILE, F(fleet_key_previous), 0, 0, O_GLOBAL },
        { "admin_group", T_GROUP, F(admin_group), 0, 0, O_GLOBAL },
        { "audit_group", T_GROUP, F(audit_group), 0, 0, O_GLOBAL },
};

void acctsec_conf_defaults(struct acctsec_conf *c) {
        *c = (struct acctsec_conf){
                .timeout_ms = 3000,
                .failmode = ACCTSEC_FAILMODE_SECURE,
                .deny = 3,
                .fail_interval = 3600,
                .unlock_time = 3600,
                .lock_scope = ACCTSEC_LOCK_SCOPE_USER,
                .account_lock = true,
                .mfa = ACCTSEC_MFA_OPTIONAL,
                .totp_window = 1,
                .code_digits = 6,
                .code_ttl = 30 * 60,
                .code_resend_interval = 3 * 60,
                .min_length = 12,
                .max_length = 256,
                .require_upper = true,
                .require_lower = true,
                .require_digit = true,
                .require_special = true,
                .history = 5,
                .allow_self_change = true,
                .enforce_for_root = true,
                .retry = 3,
                .token_max = 10,
                .token_max_months = 12,
                .notify_new_source = true,
                .log_retention_days = 365,
                .mail_transport = ACCTSEC_MAIL_MAILDIR,
                .smtp_starttls = true,
                .mail_timeout = 20,
                .mail_max_per_hour = 10,
                .sms_transport = ACCTSEC_SMS_NONE,
                .sms_http_format = ACCTSEC_SMS_FORM,
                .sms_timeout = 20,
                .request_timeout = 10,
                .store = ACCTSEC_STORE_SQLITE,
                .postgresql_timeout_ms = 2000,
                .log_sync_delay_ms = 1000,
        };
        strcpy(c->socket, ACCTSEC_DEFAULT_SOCKET);
        strcpy(c->mail_from, "root@localhost");
        strcpy(c->maildir, ACCTSEC_DEFAULT_STATE_DIR "/maildir");
        strcpy(c->sendmail_path, "/usr/sbin/sendmail");
        strcpy(c->fleet_key, ACCTSEC_DEFAULT_FLEET_KEY);
}

int acctsec_private_socket_path(const char *socket, const char *configured, char ret[static ACCTSEC_SOCKET_PATH_MAX]) {
        if (configured && configured[0]) {
                if (strlen(configured) >= ACCTSEC_SOCKET_PATH_MAX)
                        return -ENAMETOOLONG;
                strcpy(ret, configured);
                return 0;
        }
        const char *slash = strrchr(socket, '/');
        size_t dir = slash ? (size_t) (slash - socket) + 1 : 0;
        int n = snprintf(ret, ACCTSEC_SOCKET_PATH_MAX, "%.*sprivate/%s", (int) dir, socket, socket + dir);
        return n < 0 || n >= ACCTSEC_SOCKET_PATH_MAX ? -ENAMETOOLONG : 0;
}

const char *acctsec_mfa_name(enum acctsec_mfa m) {
        return m == ACCTSEC_MFA_REQUIRED ? "required" : m == ACCTSEC_MFA_OFF ? "off" : "optional";
}

int acctsec_parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };
        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                if (strcmp(s, yes[i]) == 0)
                        return *ret = true, 0;
                if (strcmp(s, no[i]) == 0)
                        return *ret = false, 0;
        }
        return -EINVAL;
}

/* Digits only: no sign, no spaces, no hex, no overflow. */
static int parse_digits(const char *s, const char **ret_end, unsigned long long *ret) {
        unsigned long long v = 0;
        const char *p = s;
        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                unsigned d = (unsigned) (*p - '0');
                if (v > (ULLONG_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret_end = p;
        *ret = v;
        return 0;
}

static int parse_scaled(const char *s, const char *const *suffixes, const unsigned long long *scale,
                        size_t n, unsigned long long *ret) {
        const char *end;
        unsigned long long v;
        int r = parse_digits(s, &end, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (strcmp(end, suffixes[i]) == 0) {
                        if (v > ULLONG_MAX / scale[i])
                                return -ERANGE;
                        *ret = v * scale[i];
                        return 0;
                }
        return -EINVAL;
}

int acctsec_parse_duration(const char *s, unsigned long long *ret_seconds) {
        static const char *const suf[] = { "", "s", "m", "h", "d" };
        static const unsigned long long mul[] = { 1, 1, 60, 3600, DAY };
        return parse_scaled(s, suf, mul, ARRAY_SIZE(suf), ret_seconds);
}

static int parse_msec(const char *s, unsigned long long *ret) {
        static const char *const suf[] = { "", "ms", "s" };
        static const unsigned long long mul[] = { 1, 1, 1000 };
        return parse_scaled(s, suf, mul, ARRAY_SIZE(suf), ret);
}

static bool valid_group_name(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n >= ACCTSEC_GROUP_MAX || s[0] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.-", *p))
                        return false;
        return true;
}

/* No control characters and no spaces: these values end up in mail
 * headers, URLs and SMTP commands. */
static bool printable(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p <= 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static bool printable_line(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* A fleet host's name in the shared database: what the log shows. */
static bool valid_host_id(const char *v) {
        size_t n = strlen(v);
        return n >= 1 && n <= 63 &&
               strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

/* "CIDR,CIDR,LOCAL": each item parses (cidr.h); "" is an empty list. */
static bool valid_allowlist(const char *v) {
        char item[CIDR_TEXT_MAX];
        struct cidr c;
        for (const char *p = v; *p;) {
                size_t n = strcspn(p, ",");
                if (n == 0 || n >= sizeof(item))
                        return false;
                memcpy(item, p, n);
                item[n] = '\0';
                if (cidr_parse(item, &c) < 0)
                        return false;
                p += n;
                if (*p == ',' && *++p == '\0')
                        return false;
        }
        return true;
}

static int set_number(void *field, const struct key *k, unsigned long long v, const char **why) {
        if (v < k->min || v > k->max) {
                *why = "value out of range";
                return -EINVAL;
        }
        *(unsigned *) field = (unsigned) v;
        return 0;
}

/* T_UINT, T_SECONDS and T_MSEC: a number within the key's range. */
static int set_number_value(void *field, const struct key *k, const char *v, const char **why) {
        unsigned long long n;

        switch (k->type) {
        case T_UINT:
                if (parse_digits(v, &(const char *){ NULL }, &n) < 0 || strspn(v, "0123456789") != strlen(v))
                        return *why = "expected a whole number", -EINVAL;
                return set_number(field, k, n, why);
        case T_SECONDS:
                if (acctsec_parse_duration(v, &n) < 0)
                        return *why = "expected a duration such as 90, 15m, 1h or 1d", -EINVAL;
                return set_number(field, k, n, why);
        case T_MSEC:
                if (parse_msec(v, &n) < 0)
                        return *why = "expected milliseconds, such as 3000 or 3s", -EINVAL;
                return set_number(field, k, n, why);
        default:
                return *why = "internal error", -EINVAL;
        }
}

/* The keys copied as they are into a char array, once checked. */
static int set_text_value(void *field, const struct key *k, const char *v, const char **why) {
        switch (k->type) {
        case T_PATH:
                if (v[0] != '/' || strlen(v) >= k->size)
                        return *why = "expected an absolute path of at most 107 bytes", -EINVAL;
                break;
        case T_OPTFILE: /* the empty value means "none" */
        case T_FILE:
                if (k->type == T_OPTFILE && v[0] == '\0')
                        return *(char *) field = '\0', 0;
                if (v[0] != '/' || strlen(v) >= k->size)
                        return *why = "expected an absolute path of at most 255 bytes", -EINVAL;
                break;
        case T_TEXT:
                if (strlen(v) >= k->size || !printable(v))
                        return *why = "expected printable text of at most 255 bytes", -EINVAL;
                break;
        case T_LINE:
                if (strlen(v) >= k->size || !printable_line(v))
                        return *why = "expected one line of text of at most 255 bytes, without control characters",
                               -EINVAL;
                break;
        case T_CONNINFO: /* key=value pairs with spaces, or a URI */
                if (strlen(v) >= k->size || !printable_line(v))
                        return *why = "expected a connection string of at most 1023 bytes, without control characters",
                               -EINVAL;
                break;
        case T_HOSTID:
                if (!valid_host_id(v))
                        return *why = "expected 1 to 63 letters, digits, '.', '-' or '_', such as web1", -EINVAL;
                break;
        case T_ALLOWLIST:
                if (strlen(v) >= k->size || !valid_allowlist(v))
                        return *why = "expected comma-separated CIDR ranges or LOCAL, such as 10.0.0.0/8,LOCAL", -EINVAL;
                break;
        case T_GROUP:
                if (v[0] != '\0' && !valid_group_name(v))
                        return *why = "expected a group name", -EINVAL;
                break;
        default:
                return *why = "internal error", -EINVAL;
        }
        strcpy(field, v);
        return 0;
}

static int set_mail_transport(struct acctsec_conf *c, const char *v, const char **why) {
        if (strcmp(v, "maildir") == 0)
                c->mail_transport = ACCTSEC_MAIL_MAILDIR;
        else if (strcmp(v, "sendmail") == 0)
                c->mail_transport = ACCTSEC_MAIL_SENDMAIL;
        else if (strcmp(v, "smtp") == 0)
                c->mail_transport = ACCTSEC_MAIL_SMTP;
        else
                return *why = "expected maildir, sendmail or smtp", -EINVAL;
        return 0;
}

static int set_sms_transport(struct acctsec_conf *c, const char *v, const char **why) {
        if (strcmp(v, "none") == 0)
                c->sms_transport = ACCTSEC_SMS_NONE;
        else if (strcmp(v, "command") == 0)
                c->sms_transport = ACCTSEC_SMS_COMMAND;
        else if (strcmp(v, "http") == 0)
                c->sms_transport = ACCTSEC_SMS_HTTP;
        else
                return *why = "expected none, command or http", -EINVAL;
        return 0;
}

static int set_sms_format(struct acctsec_conf *c, const char *v, const char **why) {
        if (strcmp(v, "form") == 0)
                c->sms_http_format = ACCTSEC_SMS_FORM;
        else if (strcmp(v, "json") == 0)
                c->sms_http_format = ACCTSEC_SMS_JSON;
        else
                return *why = "expected form or json", -EINVAL;
        return 0;
}

static int set_store(struct acctsec_conf *c, const char *v, const char **why) {
        if (strcmp(v, "sqlite") == 0)
                c->store = ACCTSEC_STORE_SQLITE;
        else if (strcmp(v, "postgresql") == 0)
                c->store = ACCTSEC_STORE_POSTGRESQL;
        else
                return *why = "expected sqlite or postgresql", -EINVAL;
        return 0;
}

static int set_failmode(struct acctsec_conf *c, const char *v, const char **why) {
        if (strcmp(v, "secure") == 0)
                c->failmode = ACCTSEC_FAILMODE_SECURE;
        else if (strcmp(v, "open") == 0)
                c->failmode = ACCTSEC_FAILMODE_OPEN;
        else
                return *why = "expected secure or open", -EINVAL;
        return 0;
}

static int set_mfa(struct acctsec_conf *c, const char *v, const char **why) {
        if (strcmp(v, "required") == 0)
                c->mfa = ACCTSEC_MFA_REQUIRED;
        else if (strcmp(v, "optional") == 0)
                c->mfa = ACCTSEC_MFA_OPTIONAL;
        else if (strcmp(v, "off") == 0)
                c->mfa = ACCTSEC_MFA_OFF;
        else
                return *why = "expected required, optional or off", -EINVAL;
        return 0;
}

static int set_prompt(struct acctsec_conf *c, const char *v, const char **why) {
        if (strcmp(v, "auto") == 0)
                c->prompt = ACCTSEC_PROMPT_AUTO;
        else if (strcmp(v, "password") == 0)
                c->prompt = ACCTSEC_PROMPT_PASSWORD;
        else if (strcmp(v, "code") == 0)
                c->prompt = ACCTSEC_PROMPT_CODE;
        else
                return *why = "expected auto, password or code", -EINVAL;
        return 0;
}

static int set_lock_scope(struct acctsec_conf *c, const char *v, const char **why) {
        if (strcmp(v, "user") == 0)
                c->lock_scope = ACCTSEC_LOCK_SCOPE_USER;
        else if (strcmp(v, "user+source") == 0)
                c->lock_scope = ACCTSEC_LOCK_SCOPE_USER_SOURCE;
        else
                return *why = "expected user or user+source", -EINVAL;
        return 0;
}

static int set_value(struct acctsec_conf *c, const struct key *k, const char *v, const char **why) {
        void *field = (char *) c + k->offset;
        bool b;

        switch (k->type) {
        case T_BOOL:
                if (acctsec_parse_bool(v, &b) < 0)
                        return *why = "expected yes or no", -EINVAL;
                *(bool *) field = b;
                return 0;
        case T_UINT:
        case T_SECONDS:
        case T_MSEC:
                return set_number_value(field, k, v, why);
        case T_PATH:
        case T_OPTFILE:
        case T_FILE:
        case T_TEXT:
        case T_LINE:
        case T_ALLOWLIST:
        case T_GROUP:
        case T_HOSTID:
        case T_CONNINFO:
                return set_text_value(field, k, v, why);
        case T_STORE:
                return set_store(c, v, why);
        case T_TRANSPORT:
                return set_mail_transport(c, v, why);
        case T_SMS_TRANSPORT:
                return set_sms_transport(c, v, why);
        case T_SMS_FORMAT:
                return set_sms_format(c, v, why);
        case T_FAILMODE:
                return set_failmode(c, v, why);
        case T_MFA:
                return set_mfa(c, v, why);
        case T_PROMPT:
                return set_prompt(c, v, why);
        case T_SCOPE:
                return set_lock_scope(c, v, why);
        }
        return *why = "internal error", -EINVAL;
}

static const struct key *find_key(const char *name, size_t len) {
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0)
                        return &keys[i];
        return NULL;
}

int acctsec_conf_set(struct acctsec_conf *c, const char *key, const char *value,
                     enum acctsec_conf_origin origin, const char **ret_why) {
        const char *why_unused;
        const char **why = ret_why ? ret_why : &why_unused;
        const struct key *k = find_key(key, strlen(key));

        if (!k)
                return *why = "unknown key", -ENOENT;
        if (!(k->origins & (1u << origin))) {
                *why = origin == ACCTSEC_CONF_SECTION ? "not allowed inside a section"
                                                       : "only allowed in the config file";
                if (k->origins == O_CLIENT)
                        *why = "only allowed outside sections or as a module argument";
                return -EPERM;
        }
        return set_value(c, k, value, why);
}

bool acctsec_conf_key_is_policy(const char *arg) {
        const struct key *k = find_key(arg, strcspn(arg, "="));
        return k && (k->origins & O_OVERRIDE);
}

int acctsec_conf_set_arg(struct acctsec_conf *c, const char *arg, enum acctsec_conf_origin origin,
                         const char **ret_why) {
        char key[64];
        const char *eq = strchr(arg, '=');
        size_t klen = eq ? (size_t) (eq - arg) : strlen(arg);

        if (klen == 0 || klen >= sizeof(key)) {
                if (ret_why)
                        *ret_why = "unknown key";
                return -ENOENT;
        }
        memcpy(key, arg, klen);
        key[klen] = '\0';
        if (!eq) {
                const struct key *k = find_key(key, klen);
                if (k && k->type == T_BOOL) /* "debug" means "debug=yes" */
                        return acctsec_conf_set(c, key, "yes", origin, ret_why);
                if (k) {
                        if (ret_why)
                                *ret_why = "expected key=value";
                        return -EINVAL;
                }
        }
        return acctsec_conf_set(c, key, eq ? eq + 1 : "", origin, ret_why);
}
