/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Wire protocol between pam_acctsec.so / acctsec and acctsecd.  See
 * doc/protocol.md.  A frame is an 8-byte header (magic "AS", version, type,
 * big-endian u32 body length) and a body of fields (u8 tag, big-endian u16
 * length, value).  Strings never contain NUL; integers are 8-byte big-endian.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACCTSEC_PROTO_VERSION 1
#define ACCTSEC_HEADER_SIZE 8
#define ACCTSEC_FRAME_MAX 65536 /* header included */
#define ACCTSEC_BODY_MAX (ACCTSEC_FRAME_MAX - ACCTSEC_HEADER_SIZE)
#define ACCTSEC_FIELDS_MAX 1024
#define ACCTSEC_STR_MAX 4096 /* longest string field */

/* Request types: X(NAME, number, "wire name for logs").  Who may send each,
 * whether it writes, its rate limit and its fields are in the daemon's
 * request table (daemon/dispatch/requests.c); doc/protocol.md lists them, and
 * tests/unit/test_requests.c checks that the three agree. */
#define ACCTSEC_OPS(X)                                                                                          \
        X(PING, 1, "ping")                                                                                      \
        X(PREAUTH, 2, "preauth")                                                                                \
        X(AUTHFAIL, 3, "authfail")                                                                              \
        X(AUTHSUCC, 4, "authsucc")                                                                              \
        X(ACCOUNT, 5, "account")                                                                                \
        X(STATUS, 6, "status")                                                                                  \
        X(LOCKOUT_SHOW, 7, "lockout-show")                                                                      \
        X(LOCKOUT_RESET, 8, "lockout-reset")                                                                    \
        X(MFA_BEGIN, 9, "mfa-begin")                                                                            \
        X(MFA_VERIFY, 10, "mfa-verify")                                                                         \
        X(TOTP_ENROLL, 11, "totp-enroll")                                                                       \
        X(TOTP_CONFIRM, 12, "totp-confirm")                                                                     \
        X(MFA_STATUS, 13, "mfa-status")                                                                         \
        X(MFA_RESET, 14, "mfa-reset")                                                                           \
        X(BACKUP_GENERATE, 15, "backup-generate")                                                               \
        X(BACKUP_STATUS, 16, "backup-status")                                                                   \
        X(CODE_SEND, 17, "code-send")                                                                           \
        X(EMAIL_SET, 18, "email-set")                                                                           \
        X(EMAIL_VERIFY, 19, "email-verify")                                                                     \
        X(EMAIL_CODES, 20, "email-codes")                                                                       \
        X(MFA_DISABLE, 21, "mfa-disable")                                                                       \
        X(MFA_REQUIRE, 22, "mfa-require")                                                                       \
        X(DISABLE_CODE, 23, "disable-code")                                                                     \
        X(ACCOUNT_DISABLE, 24, "account-disable")                                                               \
        X(ACCOUNT_ENABLE, 25, "account-enable")                                                                 \
        X(EXPIRE_PASSWORD, 26, "expire-password")                                                               \
        X(PASSWORD_COMMIT, 27, "password-commit")                                                               \
        X(PASSWORD_POLICY, 28, "password-policy")                                                               \
        X(PASSWORD_CHECK, 29, "password-check")                                                                 \
        X(RESET_PASSWORD, 30, "reset-password")                                                                 \
        X(TOKEN_CREATE, 31, "token-create")                                                                     \
        X(TOKEN_LIST, 32, "token-list")                                                                         \
        X(TOKEN_REVOKE, 33, "token-revoke")                                                                     \
        X(TOKEN_AUTH, 34, "token-auth")                                                                         \
        X(ALLOWLIST_ADD, 35, "allowlist-add")                                                                   \
        X(ALLOWLIST_REMOVE, 36, "allowlist-remove")                                                             \
        X(ALLOWLIST_LIST, 37, "allowlist-list")                                                                 \
        X(SESSION_OPEN, 38, "session-open")                                                                     \
        X(SESSION_CLOSE, 39, "session-close")                                                                   \
        X(SESSION_LIST, 40, "session-list")                                                                     \
        X(SESSION_TERMINATE, 41, "session-terminate")                                                           \
        X(LOG_SHOW, 42, "log-show")                                                                             \
        X(LOG_EXPORT, 43, "log-export")                                                                         \
        X(NOTIFY_SET, 44, "notify-set")                                                                         \
        X(RELOAD, 45, "reload")                                                                                 \
        X(FLEET_STATUS, 46, "fleet-status")                                                                     \
        X(FLEET_KEY_ROTATE, 47, "fleet-key-rotate")                                                             \
        X(PHONE_SET, 48, "phone-set")                                                                           \
        X(PHONE_VERIFY, 49, "phone-verify")                                                                     \
        X(PHONE_CODES, 50, "phone-codes")                                                                       \
        X(PHONE_CLEAR, 51, "phone-clear")                                                                       \
        X(RECOVERY_BEGIN, 52, "recovery-begin")                                                                 \
        X(RECOVERY_VERIFY, 53, "recovery-verify")                                                               \
        X(DEVICE_LIST, 54, "device-list")                                                                       \
        X(DEVICE_REVOKE, 55, "device-revoke")                                                                   \
        X(HOST_LIST, 56, "host-list")

enum acctsec_op {
#define ACCTSEC_OP_ENUM(name, number, wire) ACCTSEC_OP_##name = number,
        ACCTSEC_OPS(ACCTSEC_OP_ENUM)
#undef ACCTSEC_OP_ENUM
};

/* Reply types. */
enum acctsec_reply {
        ACCTSEC_REPLY_OK = 0x80,
        ACCTSEC_REPLY_ERROR = 0x81, /* TAG_ERRNO and TAG_MESSAGE */
};

enum acctsec_tag {
        ACCTSEC_TAG_USER = 1,
        ACCTSEC_TAG_SERVICE = 2,
        ACCTSEC_TAG_RHOST = 3,
        ACCTSEC_TAG_TTY = 4,
        ACCTSEC_TAG_CODE = 6, /* a typed one-time code (a secret: wiped after use) */
        ACCTSEC_TAG_CONF = 5, /* policy overrides from module arguments, "key=value key=value" */
        ACCTSEC_TAG_ERRNO = 16,
        ACCTSEC_TAG_MESSAGE = 17,
        ACCTSEC_TAG_DECISION = 18, /* enum acctsec_decision */
        ACCTSEC_TAG_FAILURES = 19,
        ACCTSEC_TAG_LOCKED_UNTIL = 20, /* unix time; 0 not locked; UINT64_MAX until unlocked */
        ACCTSEC_TAG_LAST_FAILURE = 21,
        ACCTSEC_TAG_DENY = 22,
        ACCTSEC_TAG_SOURCE = 23, /* lock_scope=user+source: the source a tally counts */
        ACCTSEC_TAG_RECORD = 24, /* starts one record in a list reply */
        ACCTSEC_TAG_UID = 25,
        ACCTSEC_TAG_ROLE = 26,
        ACCTSEC_TAG_LAST_SUCCESS = 27,
        ACCTSEC_TAG_COUNT = 28,
        ACCTSEC_TAG_MFA = 29,    /* enum acctsec_mfa_ask (MFA_BEGIN; PREAUTH: ACCTSEC_MFA_TOTP when the code is next), enum acctsec_mfa_state (MFA_STATUS) */
        ACCTSEC_TAG_URI = 30,    /* otpauth:// URI (TOTP_ENROLL) */
        ACCTSEC_TAG_SECRET = 31, /* base32 TOTP secret (TOTP_ENROLL) */
        ACCTSEC_TAG_POLICY = 32, /* "required", "optional" or "off" */
        ACCTSEC_TAG_ATTEMPT = 33,  /* an emailed-code attempt: 32 hex digits */
        ACCTSEC_TAG_ADDRESS = 34,  /* a mail address (masked in login replies) */
        ACCTSEC_TAG_SENT = 35,     /* CODE_SEND and co: 1 delivered, 0 not */
        ACCTSEC_TAG_WAIT = 36,     /* seconds before another send is allowed */
        ACCTSEC_TAG_PASSWORD = 37, /* MFA_DISABLE (a secret: wiped after use) */
        ACCTSEC_TAG_FLAG = 38,     /* 1 on, 0 off (EMAIL_CODES, MFA_REQUIRE); EMAIL_SET: 1 verified;
                                    * MFA_BEGIN: 1 no first factor was checked (refuse if none to ask) */
        ACCTSEC_TAG_PENDING = 39,  /* an address waiting for its code */
        ACCTSEC_TAG_DISABLED = 40,    /* unix time an account was disabled; 0 enabled */
        ACCTSEC_TAG_MUST_CHANGE = 41, /* the password must be changed now: 1 an admin asked, 2 it is older than max_password_age */
        ACCTSEC_TAG_CHANGED = 42,     /* unix time of the last recorded password change; 0 unknown */
        ACCTSEC_TAG_ACTOR = 43,       /* who did it (an admin's name) */
        ACCTSEC_TAG_NAME = 44,        /* a token's name */
        ACCTSEC_TAG_SERVICES = 45,    /* a token's PAM services, comma-separated */
        ACCTSEC_TAG_EXPIRES = 46,     /* unix time */
        ACCTSEC_TAG_LAST_USED = 47,   /* unix time; 0 never */
        ACCTSEC_TAG_CIDR = 48,        /* an allowlist entry: canonical CIDR or LOCAL */
        ACCTSEC_TAG_TOKEN = 49,       /* an API token (a secret: wiped after use) */
        ACCTSEC_TAG_CREATED = 50,     /* unix time */
        ACCTSEC_TAG_AUTH_INFO = 51,   /* SESSION_OPEN, PREAUTH, MFA_*: sshd's SSH_AUTH_INFO_0 "publickey" line */
        ACCTSEC_TAG_SESSION = 52,     /* a session's id */
        ACCTSEC_TAG_LOGIND = 53,      /* a session's logind session id */
        ACCTSEC_TAG_PID = 54,         /* a session's leader process */
        ACCTSEC_TAG_SINCE = 55,       /* unix time: events at or after it */
        ACCTSEC_TAG_TYPE = 56,        /* an event type name */
        ACCTSEC_TAG_ID = 57,          /* an event's id; LOG_EXPORT: the cursor (events after it) */
        ACCTSEC_TAG_TIME = 58,        /* unix time of an event */
        ACCTSEC_TAG_DETAIL = 59,      /* an event's free text */
        ACCTSEC_TAG_OUTCOME = 60,     /* an event's outcome: success, failure or info */
        ACCTSEC_TAG_UNTIL = 61,       /* LOG_EXPORT: the last event id the export covers */
        ACCTSEC_TAG_MORE = 62,        /* LOG_EXPORT: 1 when more pages follow */
        ACCTSEC_TAG_NOTIFY = 63,      /* new-source login mails: 1 on, 0 off */
        ACCTSEC_TAG_ALL = 64,         /* SESSION_LIST, LOG_*: every user's (admins, auditors) */
        ACCTSEC_TAG_CURRENT = 65,     /* SESSION_LIST: 1 for the caller's own session */
        ACCTSEC_TAG_TERMINAL = 66,    /* SESSION_LIST: the terminal its processes use (pts/3) */
        ACCTSEC_TAG_ENDED = 67,       /* unix time a session ended; 0 active */
        ACCTSEC_TAG_HOST = 68,        /* a fleet: the host a session runs on */
        ACCTSEC_TAG_REMOTE = 69,      /* SESSION_TERMINATE: sessions whose hosts were asked to end them */
        ACCTSEC_TAG_KEY_ID = 70,      /* FLEET_*: this host's fleet key id */
        ACCTSEC_TAG_FLEET_KEY_ID = 71, /* FLEET_*: the id the fleet records */
        ACCTSEC_TAG_PREV_KEY_ID = 72, /* FLEET_*: fleet_key_previous's id, if set */
        ACCTSEC_TAG_SEALED_LEFT = 73, /* FLEET_*: TOTP secrets not sealed with this host's key */
        ACCTSEC_TAG_HASHED_LEFT = 74, /* FLEET_*: unused backup codes and tokens hashed with another key */
        ACCTSEC_TAG_ACCOUNT_OK = 75, /* AUTHSUCC/MFA_VERIFY allowed: 1 when ACCOUNT would say a plain yes now */
        ACCTSEC_TAG_PHONE = 76,        /* PHONE_SET, MFA_STATUS: a phone number, E.164 (+4915112345678) */
        ACCTSEC_TAG_PHONE_PENDING = 77, /* MFA_STATUS: a number waiting for its code */
        ACCTSEC_TAG_PHONE_CODES = 78,  /* MFA_STATUS: 1 texted login codes on */
        ACCTSEC_TAG_COUNTRY = 85,    /* SESSION_LIST, LOG_*: the ISO 3166 code of the remote address's country */
        ACCTSEC_TAG_CITY = 86,       /* SESSION_LIST, LOG_*: its city, as the location database names it */
        ACCTSEC_TAG_DEVICE = 90,      /* a remembered device's id (DEVICE_LIST, DEVICE_REVOKE) */
        ACCTSEC_TAG_DEVICE_KIND = 91, /* a remembered device: "key" or "address" */
        ACCTSEC_TAG_DEVICE_NAME = 92, /* a remembered device: the key's SHA256:... fingerprint, or the address */
        ACCTSEC_TAG_REASON = 93,      /* MFA_BEGIN: why no code is asked ("trusted network 10.1.0.0/16") */
        ACCTSEC_TAG_REVOKED = 94,     /* SESSION_TERMINATE --all-others, MFA_RESET: remembered devices revoked */
        ACCTSEC_TAG_RULES = 95,       /* STATUS: the password policy in words (pwpolicy_text) */
        ACCTSEC_TAG_SELF_CHANGE = 96, /* STATUS: 1 the user may change their own password (allow_self_change) */
};

/* What the module must ask for after MFA_BEGIN. */
enum acctsec_mfa_ask {
        ACCTSEC_MFA_NONE = 0,     /* nothing: not enrolled and not required (the module returns PAM_IGNORE) */
        ACCTSEC_MFA_TOTP = 1,     /* a code from the authenticator app */
        ACCTSEC_MFA_ENROL = 2,    /* required but not enrolled: refuse, saying how to enrol */
        ACCTSEC_MFA_EMAIL = 3,    /* a mailed code: CODE_SEND with TAG_ATTEMPT, then MFA_VERIFY with it */
        ACCTSEC_MFA_SMS = 4,      /* a texted code: the same requests, the code sent to the phone */
};

enum acctsec_mfa_state {
        ACCTSEC_MFA_STATE_NONE = 0,
        ACCTSEC_MFA_STATE_PENDING = 1, /* enrolment started, not confirmed */
        ACCTSEC_MFA_STATE_ACTIVE = 2,
};

enum acctsec_decision {
        ACCTSEC_ALLOW = 0,
        ACCTSEC_DENY_LOCKED = 1,
        ACCTSEC_DENY_CODE = 2, /* MFA_VERIFY: wrong, replayed or missing code */
        ACCTSEC_DENY_DISABLED = 3, /* ACCOUNT: disabled by an administrator */
        ACCTSEC_DENY_POLICY = 4,   /* PASSWORD_POLICY/CHECK: refused; MESSAGE says why */
        ACCTSEC_DENY_NETWORK = 5,  /* PREAUTH/ACCOUNT/TOKEN_AUTH: the source is not in the allowlist */
};

#define ACCTSEC_LOCKED_FOREVER UINT64_MAX

/* Building a frame.  Errors are sticky: check once with acctsec_frame_finish(). */
struct acctsec_frame {
        size_t len;
        int error;
        uint8_t buf[ACCTSEC_FRAME_MAX];
};

void acctsec_frame_init(struct acctsec_frame *f, uint8_t type);
void acctsec_frame_add_str(struct acctsec_frame *f, uint8_t tag, const char *s);
void acctsec_frame_add_u64(struct acctsec_frame *f, uint8_t tag, uint64_t v);
/* Add a string only if it is not NULL. */
void acctsec_frame_add_str_opt(struct acctsec_frame *f, uint8_t tag, const char *s);
/* Fill in the header; 0 or the first error (-EMSGSIZE, -EINVAL). */
int acctsec_frame_finish(struct acctsec_frame *f);

/* A parsed frame.  Strings are NUL-terminated copies inside the message. */
struct acctsec_field {
        uint8_t tag;
        uint16_t len;
        const char *val;
};

struct acctsec_msg {
        uint8_t type;
        size_t nfields;
        struct acctsec_field f[ACCTSEC_FIELDS_MAX];
        size_t used;
        char arena[ACCTSEC_BODY_MAX + ACCTSEC_FIELDS_MAX];
};

/* Check a header; returns the body length or -EPROTO (bad magic),
 * -EPROTONOSUPPORT (version), -EMSGSIZE (too long). */
int acctsec_header_parse(const uint8_t hdr[ACCTSEC_HEADER_SIZE], uint8_t *ret_type, uint32_t *ret_len);
/* Parse a body (the header already checked).  -EBADMSG when malformed. */
int acctsec_msg_parse(struct acctsec_msg *m, uint8_t type, const uint8_t *body, size_t len);

/* First field with this tag, from index *pos onward when pos is given
 * (iteration over records). */
const char *acctsec_msg_str(const struct acctsec_msg *m, uint8_t tag);
int acctsec_msg_u64(const struct acctsec_msg *m, uint8_t tag, uint64_t *ret);
int acctsec_field_u64(const struct acctsec_field *f, uint64_t *ret);
/* Whether a string field is text without control characters. */
bool acctsec_field_is_string(const struct acctsec_field *f);

/* Wipe a message or frame that may have carried a secret. */
void acctsec_msg_wipe(struct acctsec_msg *m);
void acctsec_frame_wipe(struct acctsec_frame *f);

const char *acctsec_op_name(uint8_t op);
