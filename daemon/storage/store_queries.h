/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The catalogue of storage operations: Q(NAME, KIND), KIND one of READ,
 * STATE (changes security state), LOG (appends history only).  Each engine
 * has the statement of every entry (storage/sqlite.c: sql[Q_NAME]); a unit
 * test checks that none is missing.  One list per domain, in the domain's
 * order; a new operation is one line here and one statement per engine.
 */
#pragma once

#define STORE_QUERIES_SECLOG(Q)                                                                                  \
        Q(EVENT_ADD, LOG)

#define STORE_QUERIES_LOCKOUT(Q)                                                                                 \
        Q(TALLY_GET, READ)                                                                                       \
        Q(TALLY_INSERT, STATE)                                                                                   \
        Q(TALLY_UPDATE, STATE)                                                                                   \
        Q(TALLY_DELETE, STATE)                                                                                   \
        Q(TALLY_LIST_USER, READ)                                                                                 \
        Q(TALLY_LIST_ALL, READ)                                                                                  \
        Q(TALLY_COUNT_LOCKED, READ)                                                                              \
        Q(TALLY_DELETE_USER, STATE)

#define STORE_QUERIES_ROWCAP(Q)                                                                                  \
        Q(ROWCAP_PRUNE_UNKNOWN_EVENTS, LOG)                                                                      \
        Q(ROWCAP_PRUNE_TALLY_SOURCES, STATE)

#define STORE_QUERIES_ACCOUNT(Q)                                                                                 \
        Q(ACCOUNT_GET, READ)                                                                                     \
        Q(ACCOUNT_ENSURE, STATE)                                                                                 \
        Q(ACCOUNT_DISABLE, STATE)                                                                                \
        Q(ACCOUNT_ENABLE, STATE)                                                                                 \
        Q(ACCOUNT_EXPIRE, STATE)                                                                                 \
        Q(ACCOUNT_PASSWORD_CHANGED, STATE)

#define STORE_QUERIES_ALLOWLIST(Q)                                                                               \
        Q(ALLOWLIST_ADD, STATE)                                                                                  \
        Q(ALLOWLIST_REMOVE, STATE)                                                                               \
        Q(ALLOWLIST_LIST, READ)

#define STORE_QUERIES_PWHISTORY(Q)                                                                               \
        Q(PWHISTORY_LOAD, READ)                                                                                  \
        Q(PWHISTORY_ADD, STATE)                                                                                  \
        Q(PWHISTORY_TRIM, STATE)

#define STORE_QUERIES_MFA(Q)                                                                                     \
        Q(TOTP_COUNT, READ)                                                                                      \
        Q(TOTP_STATE, READ)                                                                                      \
        Q(TOTP_GET, READ)                                                                                        \
        Q(TOTP_ENROLL, STATE)                                                                                    \
        Q(TOTP_CONSUME, STATE)                                                                                   \
        Q(TOTP_DELETE, STATE)                                                                                    \
        Q(BACKUP_DELETE_IF_ACTIVE, STATE)                                                                        \
        Q(BACKUP_INSERT_IF_ACTIVE, STATE)                                                                        \
        Q(BACKUP_LEFT, READ)                                                                                     \
        Q(BACKUP_CONSUME, STATE)                                                                                 \
        Q(BACKUP_DELETE_USER, STATE)                                                                             \
        Q(MFA_EMAIL_CODES_OFF, STATE)                                                                            \
        Q(MFA_PHONE_CODES_OFF, STATE)                                                                            \
        Q(MFA_REQUIRED_GET, READ)                                                                                \
        Q(MFA_REQUIRED_SET, STATE)                                                                               \
        Q(MFA_REQUIRED_DELETE, STATE)

#define STORE_QUERIES_EMAIL(Q)                                                                                   \
        Q(EMAIL_GET, READ)                                                                                       \
        Q(EMAIL_SET_VERIFIED, STATE)                                                                             \
        Q(EMAIL_SET_PENDING, STATE)                                                                              \
        Q(EMAIL_PROMOTE, STATE)                                                                                  \
        Q(EMAIL_CODES_SET, STATE)                                                                                \
        Q(EMAIL_ATTEMPT_ADD, STATE)                                                                              \
        Q(EMAIL_ATTEMPT_ADD_SPACED, STATE)                                                                       \
        Q(EMAIL_ATTEMPT_PURGE, STATE)                                                                            \
        Q(EMAIL_ATTEMPT_LATEST, READ)                                                                            \
        Q(EMAIL_CODE_STATE, READ)                                                                                \
        Q(EMAIL_CODE_SET, STATE)                                                                                 \
        Q(EMAIL_CODE_UNSEND, STATE)                                                                              \
        Q(EMAIL_CODE_GET, READ)                                                                                  \
        Q(EMAIL_CODE_TRY, STATE)                                                                                 \
        Q(EMAIL_CODE_CONSUME, STATE)                                                                             \
        Q(EMAIL_CODE_CONSUME_PENDING, STATE)                                                                     \
        Q(EMAIL_LAST_SENT, READ)                                                                                 \
        Q(PHONE_GET, READ)                                                                                       \
        Q(PHONE_SET_VERIFIED, STATE)                                                                             \
        Q(PHONE_SET_PENDING, STATE)                                                                              \
        Q(PHONE_PROMOTE, STATE)                                                                                  \
        Q(PHONE_CODES_SET, STATE)                                                                                \
        Q(PHONE_DELETE, STATE)                                                                                   \
        Q(PHONE_CODE_CONSUME_PENDING, STATE)

#define STORE_QUERIES_MAILCAP(Q)                                                                                 \
        Q(MAILCAP_NEWEST, READ)                                                                                  \
        Q(MAILCAP_ADD, LOG)                                                                                      \
        Q(MAILCAP_TRIM, LOG)                                                                                     \
        Q(MAILCAP_PURGE, LOG)

#define STORE_QUERIES_NOTIFY(Q)                                                                                  \
        Q(NOTIFY_SOURCE_ADD, LOG)                                                                                \
        Q(NOTIFY_SOURCE_SEEN, LOG)                                                                               \
        Q(NOTIFY_SOURCE_TRIM, LOG)                                                                               \
        Q(NOTIFY_COUNTRY_ADD, LOG)                                                                               \
        Q(NOTIFY_COUNTRY_COUNT, READ)                                                                            \
        Q(NOTIFY_PREF_GET, READ)                                                                                 \
        Q(NOTIFY_PREF_SET, STATE)

#define STORE_QUERIES_SESSIONS(Q)                                                                                \
        Q(SESSION_INSERT, STATE)                                                                                 \
        Q(SESSION_END_BY_ID, STATE)                                                                              \
        Q(SESSION_END_BY_PID, STATE)                                                                             \
        Q(SESSION_END_TERMINATED, STATE)                                                                         \
        Q(SESSION_LIST_USER, READ)                                                                               \
        Q(SESSION_LIST_ALL, READ)                                                                                \
        Q(SESSION_LIST_LOCAL, READ)                                                                              \
        Q(SESSION_REQUEST_END, STATE)                                                                            \
        Q(SESSION_LIST_END_REQUESTED, READ)                                                                      \
        Q(SESSION_SET_LOGIND, STATE)                                                                             \
        Q(SESSION_TOUCH, LOG)                                                                                    \
        Q(SESSION_PURGE, LOG)

#define STORE_QUERIES_TOKENS(Q)                                                                                  \
        Q(TOKEN_COUNT, READ)                                                                                     \
        Q(TOKEN_INSERT, STATE)                                                                                   \
        Q(TOKEN_REVOKE, STATE)                                                                                   \
        Q(TOKEN_LIST, READ)                                                                                      \
        Q(TOKEN_FIND, READ)                                                                                      \
        Q(TOKEN_TOUCH, LOG)

#define STORE_QUERIES_EVENTLOG(Q)                                                                                \
        Q(EVENT_LIST_ALL_ASC, READ)                                                                              \
        Q(EVENT_LIST_ALL_DESC, READ)                                                                             \
        Q(EVENT_LIST_USER_ASC, READ)                                                                             \
        Q(EVENT_LIST_USER_DESC, READ)                                                                            \
        Q(EVENT_MAX_ID, READ)                                                                                    \
        Q(EVENT_PURGE, LOG)

/* Second-factor relief: remembered devices (domain/relief.c). */
#define STORE_QUERIES_DEVICES(Q)                                                                                 \
        Q(DEVICE_FIND, READ)                                                                                     \
        Q(DEVICE_REMEMBER, STATE)                                                                                \
        Q(DEVICE_TRIM, STATE)                                                                                    \
        Q(DEVICE_TOUCH, LOG)                                                                                     \
        Q(DEVICE_LIST, READ)                                                                                     \
        Q(DEVICE_REVOKE, STATE)                                                                                  \
        Q(DEVICE_PURGE, LOG)

/* The fleet key's rotation (PostgreSQL; one host: nothing to rotate). */
#define STORE_QUERIES_FLEET(Q)                                                                                   \
        Q(FLEET_KEY_ID_GET, READ)                                                                                \
        Q(FLEET_KEY_ID_SET, STATE)                                                                               \
        Q(FLEET_KEY_LEFT, READ)                                                                                  \
        Q(TOTP_OTHER_KEY, READ)                                                                                  \
        Q(TOTP_RESEAL, STATE)

/* Purges run on one host of a fleet at a time: 1 this host leads them. */
#define STORE_QUERIES_MAINTENANCE(Q)                                                                             \
        Q(MAINTENANCE_LEAD, READ)                                                                                \
        Q(HOST_SEEN, LOG)                                                                                        \
        Q(HOST_LIST, READ)                                                                                       \
        Q(SESSION_END_HOSTS_GONE, STATE)

#define STORE_QUERIES(Q)                                                                                         \
        STORE_QUERIES_SECLOG(Q)                                                                                  \
        STORE_QUERIES_LOCKOUT(Q)                                                                                 \
        STORE_QUERIES_ROWCAP(Q)                                                                                  \
        STORE_QUERIES_ACCOUNT(Q)                                                                                 \
        STORE_QUERIES_ALLOWLIST(Q)                                                                               \
        STORE_QUERIES_PWHISTORY(Q)                                                                               \
        STORE_QUERIES_MFA(Q)                                                                                     \
        STORE_QUERIES_EMAIL(Q)                                                                                   \
        STORE_QUERIES_MAILCAP(Q)                                                                                 \
        STORE_QUERIES_NOTIFY(Q)                                                                                  \
        STORE_QUERIES_SESSIONS(Q)                                                                                \
        STORE_QUERIES_TOKENS(Q)                                                                                  \
        STORE_QUERIES_DEVICES(Q)                                                                                 \
        STORE_QUERIES_EVENTLOG(Q)                                                                                \
        STORE_QUERIES_MAINTENANCE(Q)                                                                             \
        STORE_QUERIES_FLEET(Q)
