/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec: account security settings for users (themselves) and admins. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

#define CLI_TIMEOUT_MS 10000
#define CLI_LONG_TIMEOUT_MS 60000 /* acctsecd kills a delivery after mail_timeout or sms_timeout (<= 50 s) + 5 s */

static void usage(FILE *f) {
        fputs("Usage: acctsec [--socket PATH] [--json] COMMAND [--user NAME]\n\n"
              "Commands:\n"
              "  status [--user NAME]          your account's security status (admins/auditors: anyone's)\n"
              "  lockout show [--user NAME]    failed-login tallies and locks\n"
              "  lockout reset --user NAME     unlock a user and clear the tally (admins)\n"
              "  mfa enroll totp [--user NAME] set up an authenticator app (QR code, then a code to confirm)\n"
              "  mfa enroll email              login codes by mail (needs a verified address)\n"
              "  mfa enroll sms                login codes by text message (needs a verified phone number)\n"
              "  mfa confirm CODE              confirm a pending enrolment (for scripts: enroll --json first)\n"
              "  mfa status [--user NAME]      second-factor state and policy\n"
              "  mfa reset --user NAME         remove a user's second factor (admins)\n"
              "  mfa disable                   turn your second factor off (password and a current code)\n"
              "  mfa require --user NAME [--off]  require a second factor for a user (admins)\n"
              "  email set ADDRESS [--user NAME]  your address (a code is mailed to confirm it;\n"
              "                                set by an admin with --user, it counts as verified)\n"
              "  email verify CODE             confirm your address with the mailed code\n"
              "  phone set NUMBER [--user NAME]  your phone number, +CCNNNN (a code is texted to confirm\n"
              "                                it; set by an admin with --user, it counts as verified)\n"
              "  phone verify CODE             confirm your number with the texted code\n"
              "  phone clear [--user NAME]     remove the number (and texted codes)\n"
              "  account disable --user NAME   refuse every login of a user, public keys included (admins)\n"
              "  account enable --user NAME    allow them again (admins)\n"
              "  account expire-password --user NAME  the password must be changed at the next login (admins)\n"
              "  account reset-password --user NAME [--mail]  a temporary password, shown once or mailed;\n"
              "                                changed at the next login (admins)\n"
              "  token create --name N --expires MONTHS --services LIST [--user NAME]\n"
              "                                an API token (shown once) that works as the password\n"
              "  token list [--user NAME]      name, created, last used, expires, services\n"
              "  token revoke NAME [--user NAME]  stops working at once\n"
              "  allowlist add|remove CIDR [--user NAME]  admins; no --user: the global list\n"
              "  allowlist list [--user NAME]  a list (empty: no restriction from it)\n"
              "  device list [--user NAME]     remembered devices: no code asked from them until they expire\n"
              "  device revoke ID | --all [--user NAME]  the next login from it asks for a code again\n"
              "  backup-codes generate [--user NAME]  a new set of 10 single-use codes (voids the old set)\n"
              "  backup-codes status [--user NAME]  how many are left\n"
              "  session list [--user NAME | --all]  active sessions; * marks this one\n"
              "  session terminate ID | --all-others [--user NAME]  end a session, or all but this one\n"
              "                                (--all-others also revokes the remembered devices)\n"
              "  notify on|off|status [--user NAME]  mail on a login from a new source\n"
              "  log show [--user NAME | --all] [--since T] [--type T] [--limit N]  the newest events\n"
              "  log export [--user NAME | --all] [--since T] [--type T] --format json|csv [--output FILE]\n"
              "                                every matching event, oldest first\n"
              "  user list                     every account (UID_MIN..UID_MAX of /etc/login.defs): lock,\n"
              "                                account, second factor, last login (admins, auditors)\n"
              "  doctor [--pam-dir DIR | --pam-file FILE] [--sshd-config FILE] [--config FILE]\n"
              "         [--module-dir DIR]\n"
              "                                check the PAM stacks, sshd, the daemon and lock-out risks;\n"
              "                                exit 1 when a problem is found\n"
              "  fleet import [--state-dir DIR] [--config FILE] [--dry-run]\n"
              "                                move this host's SQLite state into the fleet's PostgreSQL\n"
              "                                database (root; acctsec.conf: store = postgresql)\n"
              "  fleet key check|rotate        the fleet key's state; re-seal with fleet_key (root)\n"
              "  fleet hosts                   the fleet's hosts: last seen, active sessions\n"
              "                                (admins, auditors; store = sqlite: this host alone)\n\n"
              "Options:\n"
              "  --socket PATH   the acctsecd socket (default: socket= in " ACCTSEC_DEFAULT_CONF ",\n"
              "                  else " ACCTSEC_DEFAULT_SOCKET ")\n"
              "  --json          print one JSON document\n"
              "  --help, --version\n",
              f);
}

int cli_fail(const struct cli *c, int code, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fprintf(stderr, "acctsec: %s\n", msg);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "error", msg);
                json_int(&j, "exit_status", code);
                json_close(&j, '}');
                json_end(&j);
        }
        return code;
}

void cli_keep_connection(struct cli *c) {
        c->keep = true;
}

void cli_disconnect(struct cli *c) {
        if (c->connected)
                (void) close(c->fd);
        c->connected = false;
}

/* One request on the kept connection, opened first when there is none.  A
 * request the daemon never read (it had closed the idle connection: EPIPE,
 * ECONNRESET) goes again, once, on a new one; after any other error the
 * connection's state is unknown, and it is closed. */
static int exchange(struct cli *c, unsigned timeout_ms, char path[static ACCTSEC_SOCKET_PATH_MAX]) {
        long long deadline = acctsec_deadline(timeout_ms);
        int r;
        for (int tries = 0;; tries++) {
                if (!c->connected) {
                        r = acctsec_connect_as_caller(c->socket, c->private_socket, deadline, &c->fd, path);
                        if (r < 0)
                                return r;
                        c->connected = true;
                        snprintf(c->connected_to, sizeof(c->connected_to), "%s", path);
                }
                snprintf(path, ACCTSEC_SOCKET_PATH_MAX, "%s", c->connected_to);
                r = acctsec_exchange(c->fd, deadline, false, NULL, &c->req, &c->reply);
                if (r >= 0)
                        return r;
                cli_disconnect(c);
                if (tries > 0 || (r != -EPIPE && r != -ECONNRESET))
                        return r;
        }
}

static int call(struct cli *c, unsigned timeout_ms, int allowed) {
        char path[ACCTSEC_SOCKET_PATH_MAX];
        int r = c->keep ? exchange(c, timeout_ms, path)
                        : acctsec_call_as_caller(c->socket, c->private_socket, timeout_ms, &c->req, &c->reply, path);
        if (r == -ENOENT || r == -ECONNREFUSED || r == -ETIMEDOUT || r == -ECONNRESET || r == -ECONNABORTED ||
            r == -EPIPE)
                return cli_fail(c, EXIT_UNAVAILABLE, "cannot reach acctsecd at %s: %s", path, strerror(-r));
        if (r == -EPERM)
                return cli_fail(c, EXIT_UNAVAILABLE,
                            "%s is not served by a trusted acctsecd (owner or peer is neither root nor you)",
                            path);
        if (r < 0)
                return cli_fail(c, EXIT_FAILURE, "talking to acctsecd at %s: %s", path, strerror(-r));
        int e = acctsec_reply_errno(&c->reply);
        if (e == 0)
                return 0;
        if (allowed && e == allowed)
                return -e;
        const char *m = acctsec_msg_str(&c->reply, ACCTSEC_TAG_MESSAGE);
        if (e == EPERM || e == EACCES)
                return cli_fail(c, EXIT_DENIED, "permission denied: %s", m ? m : strerror(e));
        return cli_fail(c, EXIT_FAILURE, "%s", m ? m : strerror(e));
}

int cli_call(struct cli *c) {
        return call(c, CLI_TIMEOUT_MS, 0);
}

int cli_call_allowing(struct cli *c, int allowed) {
        return call(c, CLI_TIMEOUT_MS, allowed);
}

int cli_call_long(struct cli *c) {
        return call(c, CLI_LONG_TIMEOUT_MS, 0);
}

static uint64_t u64(const struct acctsec_msg *m, uint8_t tag) {
        uint64_t v = 0;
        (void) acctsec_msg_u64(m, tag, &v);
        return v;
}

static const char *lock_text(uint64_t until, char *buf, size_t n) {
        if (until == 0)
                return "no";
        if (until == ACCTSEC_LOCKED_FOREVER)
                return "yes, until an admin unlocks";
        char t[64];
        snprintf(buf, n, "yes, until %s", fmt_time(until, t, sizeof(t)));
        return buf;
}

static void status_json(const struct acctsec_msg *m) {
        const char *user = acctsec_msg_str(m, ACCTSEC_TAG_USER), *role = acctsec_msg_str(m, ACCTSEC_TAG_ROLE);
        uint64_t until = u64(m, ACCTSEC_TAG_LOCKED_UNTIL), last = u64(m, ACCTSEC_TAG_LAST_FAILURE);
        struct json j;

        json_begin(&j, stdout);
        json_open(&j, NULL, '{');
        json_str(&j, "user", user);
        json_int(&j, "uid", (long long) u64(m, ACCTSEC_TAG_UID));
        json_str(&j, "role", role);
        json_int(&j, "failures", (long long) u64(m, ACCTSEC_TAG_FAILURES));
        json_int(&j, "deny", (long long) u64(m, ACCTSEC_TAG_DENY));
        json_time(&j, "last_failure", last);
        json_bool(&j, "locked", until != 0);
        json_time(&j, "locked_until", until);
        json_bool(&j, "disabled", u64(m, ACCTSEC_TAG_DISABLED) != 0);
        json_time(&j, "disabled_since", u64(m, ACCTSEC_TAG_DISABLED));
        json_str(&j, "disabled_by", acctsec_msg_str(m, ACCTSEC_TAG_ACTOR));
        json_bool(&j, "password_change_required", u64(m, ACCTSEC_TAG_MUST_CHANGE) != 0);
        json_time(&j, "password_changed", u64(m, ACCTSEC_TAG_CHANGED));
        json_str(&j, "totp", mfa_state_name(u64(m, ACCTSEC_TAG_MFA)));
        json_bool(&j, "email_codes", u64(m, ACCTSEC_TAG_FLAG) != 0);
        json_bool(&j, "sms_codes", u64(m, ACCTSEC_TAG_PHONE_CODES) != 0);
        json_str(&j, "mfa_policy", acctsec_msg_str(m, ACCTSEC_TAG_POLICY));
        json_bool(&j, "new_source_mails", u64(m, ACCTSEC_TAG_NOTIFY) == 1);
        json_str(&j, "password_rules", acctsec_msg_str(m, ACCTSEC_TAG_RULES));
        json_bool(&j, "password_self_change", u64(m, ACCTSEC_TAG_SELF_CHANGE) != 0);
        json_close(&j, '}');
        json_end(&j);
}

/* The daemon's sentence starts "Password policy: "; the line's label says it. */
static void print_rules(const struct acctsec_msg *m) {
        static const char prefix[] = "Password policy: ";
        const char *rules = acctsec_msg_str(m, ACCTSEC_TAG_RULES);
        if (!rules)
                return; /* an older acctsecd */
        if (strncmp(rules, prefix, sizeof(prefix) - 1) == 0)
                rules += sizeof(prefix) - 1;
        printf("Password rules:  ");
        print_safe(stdout, rules);
        if (!u64(m, ACCTSEC_TAG_SELF_CHANGE))
                printf("\n                 (password changes are made by an administrator)");
        fputc('\n', stdout);
}

static void status_text(const struct acctsec_msg *m) {
        const char *user = acctsec_msg_str(m, ACCTSEC_TAG_USER), *role = acctsec_msg_str(m, ACCTSEC_TAG_ROLE);
        uint64_t until = u64(m, ACCTSEC_TAG_LOCKED_UNTIL), last = u64(m, ACCTSEC_TAG_LAST_FAILURE);
        char b1[64], b2[96];

        printf("User:            ");
        print_safe(stdout, user ? user : "?");
        printf(" (uid %llu)\nRole:            %s\n", (unsigned long long) u64(m, ACCTSEC_TAG_UID), role ? role : "?");
        printf("Failed logins:   %llu (locked at %llu; last %s)\n", (unsigned long long) u64(m, ACCTSEC_TAG_FAILURES),
               (unsigned long long) u64(m, ACCTSEC_TAG_DENY), fmt_time(last, b1, sizeof(b1)));
        printf("Locked:          %s\n", lock_text(until, b2, sizeof(b2)));
        uint64_t disabled = u64(m, ACCTSEC_TAG_DISABLED);
        printf("Account:         %s", disabled ? "disabled" : "enabled");
        if (disabled) {
                const char *by = acctsec_msg_str(m, ACCTSEC_TAG_ACTOR);
                printf(" (by ");
                print_safe(stdout, by && *by ? by : "?");
                printf(", %s)", fmt_time(disabled, b1, sizeof(b1)));
        }
        uint64_t changed = u64(m, ACCTSEC_TAG_CHANGED);
        printf("\nPassword:        %s%s%s\n", u64(m, ACCTSEC_TAG_MUST_CHANGE) ? "must be changed at the next login; " : "",
               changed ? "last changed " : "no change recorded", changed ? fmt_time(changed, b1, sizeof(b1)) : "");
        print_rules(m);
        const char *policy = acctsec_msg_str(m, ACCTSEC_TAG_POLICY);
        printf("Second factor:   TOTP %s, emailed codes %s, texted codes %s (mfa = %s)\n",
               mfa_state_name(u64(m, ACCTSEC_TAG_MFA)), u64(m, ACCTSEC_TAG_FLAG) ? "on" : "off",
               u64(m, ACCTSEC_TAG_PHONE_CODES) ? "on" : "off", policy ? policy : "?");
        uint64_t notify = 3;
        (void) acctsec_msg_u64(m, ACCTSEC_TAG_NOTIFY, &notify);
        printf("Login mails:     %s\n", notify_state_text(notify));
}

static int cmd_status(struct cli *c) {
        acctsec_frame_init(&c->req, ACCTSEC_OP_STATUS);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        if (c->json)
                status_json(&c->reply);
        else
                status_text(&c->reply);
        return 0;
}

static void show_record(struct cli *c, struct json *j, const struct acctsec_field *f, size_t n) {
        const char *user = "", *source = "";
        uint64_t failures = 0, last = 0, until = 0;
        char b1[64], b2[64];

        for (size_t i = 0; i < n; i++) {
                if (f[i].tag == ACCTSEC_TAG_USER && acctsec_field_is_string(&f[i]))
                        user = f[i].val;
                else if (f[i].tag == ACCTSEC_TAG_SOURCE && acctsec_field_is_string(&f[i]))
                        source = f[i].val;
                else if (f[i].tag == ACCTSEC_TAG_FAILURES)
                        (void) acctsec_field_u64(&f[i], &failures);
                else if (f[i].tag == ACCTSEC_TAG_LAST_FAILURE)
                        (void) acctsec_field_u64(&f[i], &last);
                else if (f[i].tag == ACCTSEC_TAG_LOCKED_UNTIL)
                        (void) acctsec_field_u64(&f[i], &until);
        }
        if (c->json) {
                json_open(j, NULL, '{');
                json_str(j, "user", user);
                json_str(j, "source", *source ? source : NULL);
                json_int(j, "failures", (long long) failures);
                json_time(j, "last_failure", last);
                json_bool(j, "locked", until != 0);
                json_time(j, "locked_until", until);
                json_close(j, '}');
                return;
        }
        print_padded(stdout, user, 16);
        print_padded(stdout, *source ? source : "-", 24);
        printf("%8llu  %-19s  %s\n", (unsigned long long) failures, fmt_time(last, b1, sizeof(b1)),
               until == ACCTSEC_LOCKED_FOREVER ? "until unlocked" : until ? fmt_time(until, b2, sizeof(b2)) : "-");
}

static int cmd_lockout_show(struct cli *c) {
        const struct acctsec_msg *m = &c->reply;
        struct json j;

        acctsec_frame_init(&c->req, ACCTSEC_OP_LOCKOUT_SHOW);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        if (c->json) {
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_open(&j, "tallies", '[');
        } else
                printf("%-16s %-24s %8s  %-19s  %s\n", "USER", "SOURCE", "FAILURES", "LAST FAILURE", "LOCKED UNTIL");
        size_t shown = 0;
        for (size_t i = 0; i < m->nfields; i++) {
                if (m->f[i].tag != ACCTSEC_TAG_RECORD)
                        continue;
                size_t end = i + 1;
                while (end < m->nfields && m->f[end].tag != ACCTSEC_TAG_RECORD && m->f[end].tag != ACCTSEC_TAG_COUNT)
                        end++;
                show_record(c, &j, &m->f[i + 1], end - i - 1);
                shown++;
        }
        uint64_t total = u64(m, ACCTSEC_TAG_COUNT);
        if (c->json) {
                json_close(&j, ']');
                json_int(&j, "total", (long long) total);
                json_close(&j, '}');
                json_end(&j);
        } else if (total > shown)
                printf("(%llu more not shown)\n", (unsigned long long) (total - shown));
        return 0;
}

static int cmd_lockout_reset(struct cli *c) {
        if (!c->user) {
                fprintf(stderr, "acctsec: lockout reset needs --user NAME\n");
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_LOCKOUT_RESET);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        bool was_locked = u64(&c->reply, ACCTSEC_TAG_DECISION) == ACCTSEC_DENY_LOCKED;
        uint64_t cleared = u64(&c->reply, ACCTSEC_TAG_COUNT);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", c->user);
                json_bool(&j, "was_locked", was_locked);
                json_int(&j, "tallies_cleared", (long long) cleared);
                json_close(&j, '}');
                json_end(&j);
        } else {
                print_safe(stdout, c->user);
                printf(": %s (%llu tall%s cleared)\n", was_locked ? "unlocked" : "was not locked",
                       (unsigned long long) cleared, cleared == 1 ? "y" : "ies");
        }
        return 0;
}

static const struct command {
        const char *noun, *verb;
        int nargs; /* positional arguments after the verb; -1: none or one */
        int (*run)(struct cli *c);
} commands[] = {
        { "status", NULL, 0, cmd_status },
        { "lockout", "show", 0, cmd_lockout_show },
        { "lockout", "reset", 0, cmd_lockout_reset },
        { "mfa", "enroll", 1, cmd_mfa_enroll },
        { "mfa", "confirm", 1, cmd_mfa_confirm },
        { "mfa", "status", 0, cmd_mfa_status },
        { "mfa", "reset", 0, cmd_mfa_reset },
        { "mfa", "disable", 0, cmd_mfa_disable },
        { "mfa", "require", 0, cmd_mfa_require },
        { "email", "set", 1, cmd_email_set },
        { "email", "verify", 1, cmd_email_verify },
        { "phone", "set", 1, cmd_phone_set },
        { "phone", "verify", 1, cmd_phone_verify },
        { "phone", "clear", 0, cmd_phone_clear },
        { "account", "disable", 0, cmd_account_disable },
        { "account", "enable", 0, cmd_account_enable },
        { "account", "expire-password", 0, cmd_account_expire },
        { "account", "reset-password", 0, cmd_account_reset_password },
        { "token", "create", 0, cmd_token_create },
        { "token", "list", 0, cmd_token_list },
        { "token", "revoke", 1, cmd_token_revoke },
        { "allowlist", "add", 1, cmd_allowlist_add },
        { "allowlist", "remove", 1, cmd_allowlist_remove },
        { "allowlist", "list", 0, cmd_allowlist_list },
        { "device", "list", 0, cmd_device_list },
        { "device", "revoke", -1, cmd_device_revoke },
        { "backup-codes", "generate", 0, cmd_backup_generate },
        { "backup-codes", "status", 0, cmd_backup_status },
        { "session", "list", 0, cmd_session_list },
        { "session", "terminate", -1, cmd_session_terminate },
        { "notify", "on", 0, cmd_notify },
        { "notify", "off", 0, cmd_notify },
        { "notify", "status", 0, cmd_notify },
        { "log", "show", 0, cmd_log_show },
        { "log", "export", 0, cmd_log_export },
        { "doctor", NULL, 0, cmd_doctor },
        { "fleet", "import", 0, cmd_fleet_import },
        { "fleet", "key", 1, cmd_fleet_key },
        { "fleet", "hosts", 0, cmd_fleet_hosts },
        { "user", "list", 0, cmd_user_list },
};

/* The socket named in the config file, if it names one and is readable. */
static void default_socket(struct cli *c) {
        struct acctsec_conf conf;
        acctsec_conf_defaults(&conf);
        (void) acctsec_conf_load(&conf, ACCTSEC_DEFAULT_CONF, NULL, NULL);
        snprintf(c->socket, sizeof(c->socket), "%s", conf.socket);
        snprintf(c->private_socket, sizeof(c->private_socket), "%s", conf.private_socket);
}

enum {
        ARG_SOCKET = 256, ARG_JSON, ARG_USER, ARG_VERSION, ARG_OFF, ARG_MAIL, ARG_NAME, ARG_EXPIRES, ARG_SERVICES,
        ARG_ALL, ARG_ALL_OTHERS, ARG_SINCE, ARG_TYPE, ARG_LIMIT, ARG_FORMAT, ARG_OUTPUT,
        ARG_PAM_DIR, ARG_PAM_FILE, ARG_SSHD_CONFIG, ARG_CONFIG, ARG_MODULE_DIR, ARG_STATE_DIR, ARG_DRY_RUN
};

/* The field an option with a value sets to its argument, or NULL. */
static const char **option_value(struct cli *c, int o) {
        switch (o) {
        case ARG_USER:
                return &c->user;
        case ARG_NAME:
                return &c->name;
        case ARG_EXPIRES:
                return &c->expires;
        case ARG_SERVICES:
                return &c->services;
        case ARG_SINCE:
                return &c->since;
        case ARG_TYPE:
                return &c->type;
        case ARG_LIMIT:
                return &c->limit;
        case ARG_FORMAT:
                return &c->format;
        case ARG_OUTPUT:
                return &c->output;
        case ARG_PAM_DIR:
                return &c->pam_dir;
        case ARG_PAM_FILE:
                return &c->pam_file;
        case ARG_SSHD_CONFIG:
                return &c->sshd_config;
        case ARG_CONFIG:
                return &c->conf_file;
        case ARG_MODULE_DIR:
                return &c->module_dir;
        case ARG_STATE_DIR:
                return &c->state_dir;
        default:
                return NULL;
        }
}

/* The flag an option without a value sets, or NULL. */
static bool *option_flag(struct cli *c, int o) {
        switch (o) {
        case ARG_JSON:
                return &c->json;
        case ARG_OFF:
                return &c->off;
        case ARG_MAIL:
                return &c->mail;
        case ARG_ALL:
                return &c->all;
        case ARG_ALL_OTHERS:
                return &c->all_others;
        case ARG_DRY_RUN:
                return &c->dry_run;
        case 'h':
                return &c->help; /* after the command words: its own lines */
        default:
                return NULL;
        }
}

/* One option from getopt_long: -1 to go on, else the exit status. */
static int take_option(struct cli *c, int o) {
        const char **value = option_value(c, o);
        bool *flag = option_flag(c, o);

        if (value) {
                *value = optarg;
                return -1;
        }
        if (flag) {
                *flag = true;
                return -1;
        }
        switch (o) {
        case ARG_SOCKET:
                if (strlen(optarg) >= sizeof(c->socket)) {
                        fprintf(stderr, "acctsec: --socket: path too long\n");
                        return EXIT_USAGE;
                }
                strcpy(c->socket, optarg);
                return -1;
        case ARG_VERSION:
                puts(PACKAGE_STRING);
                return 0;
        default:
                usage(stderr);
                return EXIT_USAGE;
        }
}

static int parse_options(struct cli *c, int argc, char **argv) {
        static const struct option longopts[] = {
                { "socket", required_argument, NULL, ARG_SOCKET }, { "json", no_argument, NULL, ARG_JSON },
                { "user", required_argument, NULL, ARG_USER },     { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },     { "off", no_argument, NULL, ARG_OFF },
                { "mail", no_argument, NULL, ARG_MAIL },
                { "name", required_argument, NULL, ARG_NAME },
                { "expires", required_argument, NULL, ARG_EXPIRES },
                { "services", required_argument, NULL, ARG_SERVICES },
                { "all", no_argument, NULL, ARG_ALL },
                { "all-others", no_argument, NULL, ARG_ALL_OTHERS },
                { "since", required_argument, NULL, ARG_SINCE },
                { "type", required_argument, NULL, ARG_TYPE },
                { "limit", required_argument, NULL, ARG_LIMIT },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "output", required_argument, NULL, ARG_OUTPUT },
                { "pam-dir", required_argument, NULL, ARG_PAM_DIR },
                { "pam-file", required_argument, NULL, ARG_PAM_FILE },
                { "sshd-config", required_argument, NULL, ARG_SSHD_CONFIG },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "module-dir", required_argument, NULL, ARG_MODULE_DIR },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                {},
        };
        int o, r;
        while ((o = getopt_long(argc, argv, "h", longopts, NULL)) >= 0)
                if ((r = take_option(c, o)) >= 0)
                        return r;
        return -1;
}

/* Is verb the word after the noun, or one of its a|b|c alternatives? */
static bool has_verb(const char *rest, const char *verb) {
        rest += strspn(rest, " ");
        size_t word = strcspn(rest, " "), n = strlen(verb);
        for (const char *p = rest; p < rest + word; p += strcspn(p, "|") + 1)
                if (strncmp(p, verb, n) == 0 && (p[n] == '|' || p[n] == ' ' || p + n == rest + word))
                        return true;
        return false;
}

/* acctsec NOUN [VERB] --help: the usage lines of that command (a line that
 * starts with "  NOUN", and the indented lines that continue it), or all. */
static int help(const char *noun, const char *verb) {
        static char text[8192];
        FILE *f = fmemopen(text, sizeof(text) - 1, "w");
        if (!f)
                return usage(stdout), 0;
        usage(f);
        fclose(f);
        char want[64];
        snprintf(want, sizeof(want), "  %s", noun ? noun : "");
        bool shown = false, in = false;
        for (char *line = strtok(text, "\n"); noun && line; line = strtok(NULL, "\n")) {
                size_t n = strlen(want);
                if (strncmp(line, "  ", 2) != 0)
                        in = false; /* a heading: "Options:" */
                else if (line[2] != ' ')
                        in = strncmp(line, want, n) == 0 && (line[n] == ' ' || line[n] == 0) &&
                             (!verb || has_verb(line + n, verb));
                if (in) {
                        if (!shown)
                                puts("Usage: acctsec [--socket PATH] [--json] COMMAND [--user NAME]\n");
                        puts(line);
                        shown = true;
                }
        }
        if (!shown)
                usage(stdout);
        else
                puts("\nSee acctsec --help for the common options, and acctsec(1).");
        return 0;
}

int main(int argc, char **argv) {
        static struct cli c; /* large: keep it off the stack */

        int r = parse_options(&c, argc, argv);
        if (r >= 0)
                return r;
        if (c.help)
                return help(optind < argc ? argv[optind] : NULL, optind + 1 < argc ? argv[optind + 1] : NULL);
        if (!c.socket[0]) {
                default_socket(&c);
                c.socket_from_conf = true;
        }
        const char *noun = optind < argc ? argv[optind] : NULL;
        const char *verb = optind + 1 < argc ? argv[optind + 1] : NULL;
        for (size_t i = 0; noun && i < sizeof(commands) / sizeof(commands[0]); i++) {
                const struct command *k = &commands[i];
                int words = k->verb ? 2 : 1;
                if (strcmp(k->noun, noun) != 0 || (k->verb && (!verb || strcmp(k->verb, verb) != 0)))
                        continue;
                int given = argc - optind - words;
                if (k->nargs >= 0 ? given != k->nargs : given > 1) {
                        fprintf(stderr, "acctsec: %s %s takes %s argument(s)\n", k->noun, k->verb ? k->verb : "",
                                k->nargs < 0 ? "at most one" : k->nargs == 0 ? "no" : k->nargs == 1 ? "one" : "two");
                        return EXIT_USAGE;
                }
                c.args = argv + optind + words;
                c.verb = k->verb;
                return k->run(&c);
        }
        if (noun)
                fprintf(stderr, "acctsec: unknown command \"%s%s%s\"; see acctsec --help\n", noun, verb ? " " : "",
                        verb ? verb : "");
        else {
                fprintf(stderr, "acctsec: no command given\n");
                usage(stderr);
        }
        return EXIT_USAGE;
}
