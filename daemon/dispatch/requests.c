/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The request table: one row per request type (common/proto.h).  A new
 * request is one row here and one handler; the dispatcher (dispatch.c)
 * enforces the row, authz.c has the rule behind .access and .others, and
 * doc/protocol.md's table is checked against this one by
 * tests/unit/test_requests.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "macro.h"
#include "request.h"

#define S(t) { .tag = ACCTSEC_TAG_##t, .type = FIELD_STR }
#define S_REQ(t) { .tag = ACCTSEC_TAG_##t, .type = FIELD_STR, .required = true }
#define S_ANY(t) { .tag = ACCTSEC_TAG_##t, .type = FIELD_STR, .lenient = true }
#define U(t) { .tag = ACCTSEC_TAG_##t, .type = FIELD_U64 }
#define U_ANY(t) { .tag = ACCTSEC_TAG_##t, .type = FIELD_U64, .lenient = true }
#define LOGIN_FIELDS S_REQ(USER), S(SERVICE), S(RHOST), S(TTY), S(CONF)

static const char others_read[] = "only admins and auditors may see other users";

static const struct request_type table[] = {
        [ACCTSEC_OP_PING] = { handle_ping, ACCESS_ANYONE, .offline = true },

        /* Logins: pam_acctsec.so, as root (or a screen locker, as the user). */
        [ACCTSEC_OP_PREAUTH] = { handle_login, ACCESS_LOGIN, .login = true, .writes = true, .rate = RATE_WRITE,
                                 .fields = { LOGIN_FIELDS, S_ANY(AUTH_INFO) } },
        [ACCTSEC_OP_AUTHFAIL] = { handle_login, ACCESS_LOGIN, .login = true, .writes = true, .rate = RATE_WRITE,
                                  .fields = { LOGIN_FIELDS } },
        [ACCTSEC_OP_AUTHSUCC] = { handle_login, ACCESS_LOGIN, .login = true, .writes = true, .rate = RATE_WRITE,
                                  .fields = { LOGIN_FIELDS } },
        [ACCTSEC_OP_ACCOUNT] = { handle_login, ACCESS_LOGIN, .login = true, .writes = true, .rate = RATE_WRITE,
                                 .fields = { LOGIN_FIELDS } },
        [ACCTSEC_OP_MFA_BEGIN] = { handle_mfa_begin, ACCESS_LOGIN, .login = true, .writes = true,
                                   .rate = RATE_WRITE, .fields = { LOGIN_FIELDS, U_ANY(FLAG), S_ANY(AUTH_INFO) } },
        [ACCTSEC_OP_MFA_VERIFY] = { handle_mfa_verify, ACCESS_LOGIN, .login = true, .writes = true,
                                    .rate = RATE_WRITE,
                                    .fields = { LOGIN_FIELDS, S_ANY(CODE), S_ANY(ATTEMPT), S_ANY(AUTH_INFO) } },
        [ACCTSEC_OP_CODE_SEND] = { handle_code_send, ACCESS_LOGIN, .login = true, .writes = true,
                                   .rate = RATE_WRITE, .deferred = true, .fields = { LOGIN_FIELDS, S(ATTEMPT) } },
        [ACCTSEC_OP_RECOVERY_BEGIN] = { handle_recovery_begin, ACCESS_LOGIN, .login = true, .writes = true,
                                        .rate = RATE_WRITE, .fields = { LOGIN_FIELDS } },
        [ACCTSEC_OP_RECOVERY_VERIFY] = { handle_recovery_verify, ACCESS_LOGIN, .login = true, .writes = true,
                                         .rate = RATE_WRITE, .deferred = true, .fields = { LOGIN_FIELDS, S_ANY(CODE), S_ANY(ATTEMPT) } },
        [ACCTSEC_OP_TOKEN_AUTH] = { handle_token_auth, ACCESS_LOGIN, .login = true, .writes = true,
                                    .rate = RATE_WRITE, .fields = { LOGIN_FIELDS, S_ANY(TOKEN) } },

        /* The module's password and session phases: root only. */
        [ACCTSEC_OP_PASSWORD_POLICY] = { handle_password_policy, ACCESS_ROOT, .login = true,
                                         .refusal = "only root changes passwords",
                                         .fields = { LOGIN_FIELDS, U_ANY(UID), U_ANY(FLAG) } },
        [ACCTSEC_OP_PASSWORD_CHECK] = { handle_password_check, ACCESS_ROOT, .login = true, .deferred = true,
                                        .refusal = "only root changes passwords",
                                        .fields = { LOGIN_FIELDS, U_ANY(UID), U_ANY(FLAG), S_ANY(PASSWORD) } },
        [ACCTSEC_OP_PASSWORD_COMMIT] = { handle_password_commit, ACCESS_ROOT, .login = true, .writes = true,
                                         .deferred = true, .refusal = "only root changes passwords",
                                         .fields = { LOGIN_FIELDS, U_ANY(UID), U_ANY(FLAG), S_ANY(PASSWORD) } },
        [ACCTSEC_OP_SESSION_OPEN] = { handle_session_open, ACCESS_ROOT, .writes = true,
                                      .refusal = "only root records sessions",
                                      .fields = { S_REQ(USER), S(SERVICE), S(TTY), S(RHOST), S(AUTH_INFO) } },
        [ACCTSEC_OP_SESSION_CLOSE] = { handle_session_close, ACCESS_ROOT, .writes = true,
                                       .refusal = "only root records sessions",
                                       .fields = { S_REQ(USER), U(SESSION) } },
        [ACCTSEC_OP_FLEET_STATUS] = { handle_fleet_status, ACCESS_ROOT,
                                      .refusal = "only root reads the fleet key's state" },
        [ACCTSEC_OP_FLEET_KEY_ROTATE] = { handle_fleet_key_rotate, ACCESS_ROOT, .writes = true,
                                          .refusal = "only root rotates the fleet key" },
        [ACCTSEC_OP_RELOAD] = { handle_reload, ACCESS_ROOT, .refusal = "only root reloads the configuration" },

        /* Admins and auditors: about no one account. */
        [ACCTSEC_OP_HOST_LIST] = { handle_host_list, ACCESS_READERS,
                                   .refusal = "only admins and auditors may list the fleet's hosts" },

        /* One's own account; admins and auditors read others'. */
        [ACCTSEC_OP_STATUS] = { handle_status, ACCESS_OWN, OTHERS_READERS, TARGET_USER, .refusal = others_read,
                                .fields = { S(USER) } },
        [ACCTSEC_OP_LOCKOUT_SHOW] = { handle_lockout_show, ACCESS_OWN, OTHERS_READERS, TARGET_ANYNAME_ALL,
                                      .refusal = others_read, .fields = { S(USER) } },
        [ACCTSEC_OP_MFA_STATUS] = { handle_mfa_status, ACCESS_OWN, OTHERS_READERS, TARGET_USER,
                                    .refusal = others_read, .fields = { S(USER) } },
        [ACCTSEC_OP_BACKUP_STATUS] = { handle_mfa_status, ACCESS_OWN, OTHERS_READERS, TARGET_USER,
                                       .refusal = others_read, .fields = { S(USER) } },
        [ACCTSEC_OP_DEVICE_LIST] = { handle_device_list, ACCESS_OWN, OTHERS_READERS, TARGET_USER,
                                     .refusal = others_read, .fields = { S(USER) } },
        [ACCTSEC_OP_TOKEN_LIST] = { handle_token_list, ACCESS_OWN, OTHERS_READERS, TARGET_USER,
                                    .refusal = "only admins manage other users' tokens", .fields = { S(USER) } },
        [ACCTSEC_OP_ALLOWLIST_LIST] = { handle_allowlist_list, ACCESS_OWN, OTHERS_READERS, TARGET_GLOBAL,
                                        .refusal = "you may only read your own allowlist", .fields = { S(USER) } },
        [ACCTSEC_OP_SESSION_LIST] = { handle_session_list, ACCESS_OWN, OTHERS_READERS, TARGET_USER, .all = true,
                                      .writes = true, .refusal = others_read, .fields = { S(USER), U(ALL) } },
        [ACCTSEC_OP_LOG_SHOW] = { handle_log_show, ACCESS_OWN, OTHERS_READERS, TARGET_ANYNAME, .all = true,
                                  .refusal = others_read,
                                  .fields = { S(USER), U(ALL), S(TYPE), U(SINCE), U(ID), U(UNTIL), U(COUNT) } },
        [ACCTSEC_OP_LOG_EXPORT] = { handle_log_export, ACCESS_OWN, OTHERS_READERS, TARGET_ANYNAME, .all = true,
                                    .writes = true, .rate = RATE_EXPORT, .refusal = others_read,
                                    .fields = { S(USER), U(ALL), S(TYPE), U(SINCE), U(ID), U(UNTIL), U(COUNT) } },

        /* One's own account; admins (or root) act on others'. */
        [ACCTSEC_OP_TOTP_ENROLL] = { handle_totp_enroll, ACCESS_OWN, OTHERS_ROOT, TARGET_USER, .writes = true,
                                     .rate = RATE_WRITE, .refusal = "you may only manage your own second factor",
                                     .fields = { S(USER) } },
        [ACCTSEC_OP_TOTP_CONFIRM] = { handle_totp_confirm, ACCESS_OWN, OTHERS_ROOT, TARGET_USER, .writes = true,
                                      .rate = RATE_WRITE, .refusal = "you may only manage your own second factor",
                                      .fields = { S(USER), S(CODE) } },
        [ACCTSEC_OP_BACKUP_GENERATE] = { handle_backup_generate, ACCESS_OWN, OTHERS_ROOT, TARGET_USER,
                                         .writes = true, .rate = RATE_WRITE,
                                         .refusal = "you may only manage your own second factor",
                                         .fields = { S(USER) } },
        [ACCTSEC_OP_EMAIL_SET] = { handle_email_set, ACCESS_OWN, OTHERS_ADMINS, TARGET_USER, .writes = true,
                                   .rate = RATE_WRITE, .deferred = true,
                                   .refusal = "only admins may set another user's address",
                                   .usage = "email set needs an address", .fields = { S(USER), S_REQ(ADDRESS) } },
        [ACCTSEC_OP_PHONE_SET] = { handle_phone_set, ACCESS_OWN, OTHERS_ADMINS, TARGET_USER, .writes = true,
                                   .rate = RATE_WRITE, .deferred = true,
                                   .refusal = "only admins may set another user's phone number",
                                   .usage = "phone set needs a number", .fields = { S(USER), S_REQ(PHONE) } },
        [ACCTSEC_OP_PHONE_CLEAR] = { handle_phone_clear, ACCESS_OWN, OTHERS_ADMINS, TARGET_USER, .writes = true,
                                     .rate = RATE_WRITE, .refusal = "only admins may remove another user's phone number",
                                     .fields = { S(USER) } },
        [ACCTSEC_OP_TOKEN_CREATE] = { handle_token_create, ACCESS_OWN, OTHERS_ADMINS, TARGET_USER, .writes = true,
                                      .rate = RATE_WRITE, .refusal = "only admins manage other users' tokens",
                                      .fields = { S(USER), S(NAME), S(SERVICES), U(COUNT) } },
        [ACCTSEC_OP_TOKEN_REVOKE] = { handle_token_revoke, ACCESS_OWN, OTHERS_ADMINS, TARGET_USER, .writes = true,
                                      .rate = RATE_WRITE, .refusal = "only admins manage other users' tokens",
                                      .fields = { S(USER), S(NAME) } },
        [ACCTSEC_OP_DEVICE_REVOKE] = { handle_device_revoke, ACCESS_OWN, OTHERS_ADMINS, TARGET_USER, .writes = true,
                                       .rate = RATE_WRITE, .refusal = "only admins revoke other users' devices",
                                       .fields = { S(USER), U(DEVICE), U(ALL) } },
        [ACCTSEC_OP_SESSION_TERMINATE] = { handle_session_terminate, ACCESS_OWN, OTHERS_ADMINS, TARGET_USER,
                                           .writes = true, .rate = RATE_WRITE, .deferred = true,
                                           .refusal = "only admins end other users' sessions",
                                           .fields = { S(USER), U(SESSION), U(ALL) } },
        [ACCTSEC_OP_NOTIFY_SET] = { handle_notify_set, ACCESS_OWN, OTHERS_ADMINS, TARGET_USER, .writes = true,
                                    .rate = RATE_WRITE, .refusal = "only admins change other users' settings",
                                    .fields = { S(USER), U(NOTIFY) } },

        /* One's own account only. */
        [ACCTSEC_OP_EMAIL_VERIFY] = { handle_email_verify, ACCESS_OWN, OTHERS_NOBODY, TARGET_USER, .writes = true,
                                      .rate = RATE_WRITE, .usage = "email verify needs the code from the mail",
                                      .fields = { S_REQ(CODE) } },
        [ACCTSEC_OP_EMAIL_CODES] = { handle_email_codes, ACCESS_OWN, OTHERS_NOBODY, TARGET_USER, .writes = true,
                                     .rate = RATE_WRITE },
        [ACCTSEC_OP_PHONE_VERIFY] = { handle_phone_verify, ACCESS_OWN, OTHERS_NOBODY, TARGET_USER, .writes = true,
                                      .rate = RATE_WRITE, .usage = "phone verify needs the code from the text",
                                      .fields = { S_REQ(CODE) } },
        [ACCTSEC_OP_PHONE_CODES] = { handle_phone_codes, ACCESS_OWN, OTHERS_NOBODY, TARGET_USER, .writes = true,
                                     .rate = RATE_WRITE },
        [ACCTSEC_OP_DISABLE_CODE] = { handle_disable_code, ACCESS_OWN, OTHERS_NOBODY, TARGET_USER, .writes = true,
                                      .rate = RATE_WRITE, .deferred = true },
        [ACCTSEC_OP_MFA_DISABLE] = { handle_mfa_disable, ACCESS_OWN, OTHERS_NOBODY, TARGET_USER, .writes = true,
                                     .rate = RATE_WRITE, .deferred = true,
                                     .usage = "mfa disable needs the password and a current code",
                                     .fields = { S_REQ(PASSWORD), S_REQ(CODE), S(ATTEMPT) } },

        /* Admins only. */
        [ACCTSEC_OP_LOCKOUT_RESET] = { handle_lockout_reset, ACCESS_ADMIN, .target = TARGET_ANYNAME,
                                       .writes = true, .rate = RATE_WRITE, .refusal = "only admins may unlock users",
                                       .usage = "lockout reset needs a user", .fields = { S_REQ(USER) } },
        [ACCTSEC_OP_MFA_RESET] = { handle_mfa_reset, ACCESS_ADMIN, .target = TARGET_USER, .writes = true,
                                   .rate = RATE_WRITE, .refusal = "only admins may reset a second factor",
                                   .usage = "mfa reset needs a user", .fields = { S_REQ(USER) } },
        [ACCTSEC_OP_MFA_REQUIRE] = { handle_mfa_require, ACCESS_ADMIN, .target = TARGET_USER, .writes = true,
                                     .rate = RATE_WRITE, .refusal = "only admins may require a second factor",
                                     .usage = "mfa require needs a user", .fields = { S_REQ(USER), U_ANY(FLAG) } },
        [ACCTSEC_OP_ACCOUNT_DISABLE] = { handle_account_disable, ACCESS_ADMIN, .target = TARGET_USER,
                                         .writes = true, .rate = RATE_WRITE,
                                         .refusal = "only admins may disable or enable accounts",
                                         .usage = "needs a user (--user NAME)", .fields = { S_REQ(USER) } },
        [ACCTSEC_OP_ACCOUNT_ENABLE] = { handle_account_disable, ACCESS_ADMIN, .target = TARGET_USER,
                                        .writes = true, .rate = RATE_WRITE,
                                        .refusal = "only admins may disable or enable accounts",
                                        .usage = "needs a user (--user NAME)", .fields = { S_REQ(USER) } },
        [ACCTSEC_OP_EXPIRE_PASSWORD] = { handle_expire_password, ACCESS_ADMIN, .target = TARGET_USER,
                                         .writes = true, .rate = RATE_WRITE,
                                         .refusal = "only admins may force a password change",
                                         .usage = "needs a user (--user NAME)", .fields = { S_REQ(USER) } },
        [ACCTSEC_OP_RESET_PASSWORD] = { handle_reset_password, ACCESS_ADMIN, .target = TARGET_USER,
                                        .writes = true, .rate = RATE_WRITE, .deferred = true,
                                        .refusal = "only admins may reset a password",
                                        .usage = "needs a user (--user NAME)", .fields = { S_REQ(USER), U_ANY(FLAG) } },
        [ACCTSEC_OP_ALLOWLIST_ADD] = { handle_allowlist_change, ACCESS_ADMIN, .target = TARGET_GLOBAL,
                                       .writes = true, .rate = RATE_WRITE, .refusal = "only admins change allowlists",
                                       .fields = { S(USER), S(CIDR) } },
        [ACCTSEC_OP_ALLOWLIST_REMOVE] = { handle_allowlist_change, ACCESS_ADMIN, .target = TARGET_GLOBAL,
                                          .writes = true, .rate = RATE_WRITE,
                                          .refusal = "only admins change allowlists",
                                          .fields = { S(USER), S(CIDR) } },
};

const struct request_type *request_type_of(uint8_t op) {
        if (op >= ARRAY_SIZE(table) || !table[op].handler)
                return NULL;
        return &table[op];
}

bool request_is_offline(uint8_t op) {
        const struct request_type *t = request_type_of(op);
        return t && t->offline;
}

static const char *who(const struct request_type *t) {
        static const char *const others[] = {
                [OTHERS_NOBODY] = "own account",
                [OTHERS_ROOT] = "own account; root: anyone's",
                [OTHERS_READERS] = "own account; admins, auditors: anyone's",
                [OTHERS_ADMINS] = "own account; admins: anyone's",
        };
        switch (t->access) {
        case ACCESS_ANYONE:
                return "anyone";
        case ACCESS_ROOT:
                return "root";
        case ACCESS_LOGIN:
                return "root; the user: own account";
        case ACCESS_ADMIN:
                return "admins";
        case ACCESS_READERS:
                return "admins, auditors";
        default:
                return others[t->others];
        }
}

int request_type_describe(uint8_t op, char *buf, size_t n) {
        static const char *const rates[] = { [RATE_FREE] = "no", [RATE_WRITE] = "yes", [RATE_EXPORT] = "first page" };
        const struct request_type *t = request_type_of(op);
        if (!t)
                return -ENOENT;
        int w = snprintf(buf, n, "%s | %s | %s | %s", who(t), t->writes ? "yes" : "no", rates[t->rate],
                         t->deferred ? "yes" : "no");
        return w < 0 || (size_t) w >= n ? -ENOBUFS : 0;
}
