/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <time.h>

#include "log.h"
#include "macro.h"
#include "store.h"
#include "store_sqlite.h"

/* The SQLite engine: the only file that calls sqlite3_*.  One connection,
 * WAL, synchronous=FULL; group commit as savepoints in one outer
 * transaction (doc/design.md).  With defer_log (durability by meaning):
 * synchronous=NORMAL, and after every commit that changed security state
 * the WAL is synced before anyone is told, which is what FULL does at its
 * commit; a commit of log appends alone is in the WAL file (it survives
 * the daemon's death) and reaches the disk with the next such sync, or
 * store_sync() within log_sync_delay. */
struct sq {
        sqlite3 *db;
        bool normal; /* PRAGMA synchronous = NORMAL is in force */
        sqlite3_stmt *stmt[_Q_MAX]; /* prepared on first use */
        struct {
                const char *sql;
                sqlite3_stmt *stmt;
        } cache[16]; /* BEGIN, COMMIT and co */
};

static struct sq *sq(const struct store *s) {
        return s->impl;
}

/* Schema migrations, applied in order by PRAGMA user_version.  Never edit a
 * shipped step: add a new one. */
static const char *const migrations[] = {
        /* 1: lockout tallies and the security log */
        "CREATE TABLE lockout ("
        "  user TEXT NOT NULL,"
        "  source TEXT NOT NULL DEFAULT '',"        /* '' unless lock_scope=user+source */
        "  failures INTEGER NOT NULL DEFAULT 0,"
        "  first_failure INTEGER NOT NULL DEFAULT 0,"
        "  last_failure INTEGER NOT NULL DEFAULT 0,"
        "  locked_until INTEGER NOT NULL DEFAULT 0," /* unix time; 0 not locked; -1 until unlocked */
        "  PRIMARY KEY (user, source)) WITHOUT ROWID;"
        "CREATE TABLE events ("
        "  id INTEGER PRIMARY KEY,"
        "  time INTEGER NOT NULL,"
        "  type TEXT NOT NULL,"
        "  user TEXT NOT NULL,"
        "  service TEXT NOT NULL DEFAULT '',"
        "  rhost TEXT NOT NULL DEFAULT '',"
        "  tty TEXT NOT NULL DEFAULT '',"
        "  actor TEXT NOT NULL DEFAULT '',"          /* who acted, when not the user */
        "  detail TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX events_by_user ON events (user, id);",
        /* 2: TOTP second factor; the secret is sealed with the key file */
        "CREATE TABLE mfa_totp ("
        "  user TEXT PRIMARY KEY,"
        "  sealed BLOB NOT NULL,"                   /* nonce || secretbox(secret) */
        "  active INTEGER NOT NULL DEFAULT 0,"      /* 0: enrolment not confirmed yet */
        "  last_step INTEGER NOT NULL DEFAULT 0,"   /* the last time step used: only moves forward */
        "  created INTEGER NOT NULL,"
        "  activated INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;",
        /* 3: backup codes, stored as keyed hashes; used = the time it was used */
        "CREATE TABLE backup_codes ("
        "  user TEXT NOT NULL,"
        "  hash BLOB NOT NULL,"
        "  used INTEGER NOT NULL DEFAULT 0,"
        "  created INTEGER NOT NULL,"
        "  PRIMARY KEY (user, hash)) WITHOUT ROWID;",
        /* 4: mail addresses, emailed codes (one row per login attempt or
         * address check; the code only as a keyed hash), admin-required MFA */
        "CREATE TABLE email ("
        "  user TEXT PRIMARY KEY,"
        "  address TEXT NOT NULL DEFAULT '',"       /* verified, '' none */
        "  pending TEXT NOT NULL DEFAULT '',"       /* set by the user, waiting for its code */
        "  codes INTEGER NOT NULL DEFAULT 0,"       /* 1: emailed login codes enabled */
        "  updated INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE email_codes ("
        "  attempt TEXT PRIMARY KEY,"               /* random, 32 hex digits */
        "  user TEXT NOT NULL,"
        "  purpose INTEGER NOT NULL,"               /* enum email_purpose */
        "  address TEXT NOT NULL,"
        "  hash BLOB,"                              /* NULL: no live code */
        "  sent INTEGER NOT NULL DEFAULT 0,"        /* last send; 0 none (or it failed) */
        "  expires INTEGER NOT NULL DEFAULT 0,"
        "  tries INTEGER NOT NULL DEFAULT 0,"       /* wrong codes for the live one */
        "  created INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX email_codes_by_user ON email_codes (user, purpose);"
        "CREATE INDEX email_codes_by_age ON email_codes (created);"
        "CREATE TABLE mfa_required ("
        "  user TEXT PRIMARY KEY,"
        "  actor TEXT NOT NULL,"
        "  since INTEGER NOT NULL) WITHOUT ROWID;",
        /* 5: account controls: disabled by an admin, a forced password
         * change, and when the password last changed (pam_acctsec commit) */
        "CREATE TABLE account ("
        "  user TEXT PRIMARY KEY,"
        "  disabled INTEGER NOT NULL DEFAULT 0,"    /* unix time it was disabled; 0 enabled */
        "  disabled_by TEXT NOT NULL DEFAULT '',"
        "  must_change INTEGER NOT NULL DEFAULT 0," /* 1: change the password at the next login (2: after a recovery) */
        "  changed INTEGER NOT NULL DEFAULT 0,"     /* last recorded password change; 0 unknown */
        "  updated INTEGER NOT NULL) WITHOUT ROWID;",
        /* 6: password history: argon2id hashes (crypto_pwhash_str) of the
         * last passwords, written by pam_acctsec.so commit */
        "CREATE TABLE password_history ("
        "  id INTEGER PRIMARY KEY,"
        "  user TEXT NOT NULL,"
        "  hash TEXT NOT NULL,"
        "  created INTEGER NOT NULL);"
        "CREATE INDEX password_history_by_user ON password_history (user, id);",
        /* 7: API tokens (a keyed hash of the token, never the token) and IP
         * allowlists (user '' = the global list) */
        "CREATE TABLE tokens ("
        "  user TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  hash BLOB NOT NULL UNIQUE,"
        "  services TEXT NOT NULL,"                /* comma-separated PAM services */
        "  created INTEGER NOT NULL,"
        "  expires INTEGER NOT NULL,"
        "  last_used INTEGER NOT NULL DEFAULT 0,"
        "  PRIMARY KEY (user, name)) WITHOUT ROWID;"
        "CREATE TABLE allowlist ("
        "  user TEXT NOT NULL,"
        "  cidr TEXT NOT NULL,"                    /* canonical text, or LOCAL */
        "  actor TEXT NOT NULL,"
        "  created INTEGER NOT NULL,"
        "  PRIMARY KEY (user, cidr)) WITHOUT ROWID;",
        /* 8: sessions (pam_sm_open_session .. close or reconciliation), the
         * sources each user logged in from, and new-source mail opt-outs */
        "CREATE TABLE sessions ("
        "  id INTEGER PRIMARY KEY,"
        "  user TEXT NOT NULL,"
        "  service TEXT NOT NULL DEFAULT '',"
        "  tty TEXT NOT NULL DEFAULT '',"
        "  rhost TEXT NOT NULL DEFAULT '',"
        "  logind TEXT NOT NULL DEFAULT '',"      /* logind session id, '' none (yet) */
        "  pid INTEGER NOT NULL,"                 /* the process that opened it (SO_PEERCRED) */
        "  pid_start INTEGER NOT NULL,"           /* its start time (/proc/PID/stat): pids are reused */
        "  started INTEGER NOT NULL,"
        "  last_active INTEGER NOT NULL,"
        "  ended INTEGER NOT NULL DEFAULT 0,"     /* 0: active */
        "  end_reason TEXT NOT NULL DEFAULT '');" /* closed, terminated, process gone */
        "CREATE INDEX sessions_active ON sessions (ended, user);"
        "CREATE TABLE known_sources ("
        "  user TEXT NOT NULL,"
        "  rhost TEXT NOT NULL,"
        "  key TEXT NOT NULL DEFAULT '',"         /* SHA256:... of the ssh key, '' none */
        "  first_seen INTEGER NOT NULL,"
        "  last_seen INTEGER NOT NULL,"
        "  PRIMARY KEY (user, rhost, key)) WITHOUT ROWID;"
        "CREATE TABLE notify ("
        "  user TEXT PRIMARY KEY,"
        "  new_source INTEGER NOT NULL) WITHOUT ROWID;",
        /* 9: the security log by age: log_retention_days purges the oldest
         * events a batch at a time without scanning the table */
        "CREATE INDEX events_by_time ON events (time);",
        /* 10: failures for unknown user names, which rowcap.c keeps to the
         * newest UNKNOWN_EVENTS_MAX without scanning the whole log */
        ("CREATE INDEX events_unknown_user ON events (id)"
         "  WHERE type = 'auth_failure' AND detail = 'unknown user';"),
        /* 11: the mails sent to each user in the last hour (mailcap.c:
         * mail_max_per_hour); one row per mail, older rows purged */
        "CREATE TABLE mail_sent ("
        "  id INTEGER PRIMARY KEY,"
        "  user TEXT NOT NULL,"
        "  time INTEGER NOT NULL);"
        "CREATE INDEX mail_sent_by_user ON mail_sent (user, time);",
        /* 12: phone numbers for texted codes (as email: verified, pending,
         * codes on); their codes live in email_codes, the number in its
         * address column */
        "CREATE TABLE phone ("
        "  user TEXT PRIMARY KEY,"
        "  number TEXT NOT NULL DEFAULT '',"  /* verified, E.164; '' none */
        "  pending TEXT NOT NULL DEFAULT '',"  /* set by the user, waiting for its code */
        "  codes INTEGER NOT NULL DEFAULT 0,"  /* 1: texted login codes enabled */
        "  updated INTEGER NOT NULL) WITHOUT ROWID;",
        /* 13: the location of a login's remote address (geoip_database):
         * the country's ISO code and the city on sessions and events, ''
         * none; and the countries each user logged in from, for the
         * new-location notice (at most one row per country code) */
        "ALTER TABLE sessions ADD COLUMN country TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE sessions ADD COLUMN city TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE events ADD COLUMN country TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE events ADD COLUMN city TEXT NOT NULL DEFAULT '';"
        "CREATE TABLE known_countries ("
        "  user TEXT NOT NULL,"
        "  country TEXT NOT NULL,"
        "  first_seen INTEGER NOT NULL,"
        "  PRIMARY KEY (user, country)) WITHOUT ROWID;",
        /* 14: remembered devices (domain/relief.c): a good code skips the
         * next ones from this key or address until expires */
        "CREATE TABLE devices ("
        "  id INTEGER PRIMARY KEY,"
        "  user TEXT NOT NULL,"
        "  kind TEXT NOT NULL,"                    /* key or address */
        "  device TEXT NOT NULL,"                  /* SHA256:... of the ssh key, or the address (LOCAL) */
        "  source TEXT NOT NULL,"                  /* the address it was remembered from (LOCAL) */
        "  created INTEGER NOT NULL,"
        "  expires INTEGER NOT NULL,"
        "  last_used INTEGER NOT NULL DEFAULT 0,"
        "  UNIQUE (user, kind, device));"
        "CREATE INDEX devices_by_expiry ON devices (expires);",
};


static const char *os_error(const char *msg) {
        const char *p = strstr(msg, ": (");
        int err = 0;
        if (!p || sscanf(p, ": (%d)", &err) != 1 || err <= 0)
                return "";
        return strerror(err);
}

/* SQLite's own account of a failed write or open (the file and the OS
 * error), logged once beside the handler's line; the SQL it may quote is
 * our constant text with ? parameters, never a secret. */
static void sqlite_log(void *unused, int code, const char *msg) {
        (void) unused;
        switch (code & 0xff) {
        case SQLITE_FULL:
        case SQLITE_IOERR:
        case SQLITE_READONLY:
        case SQLITE_CANTOPEN:
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
        case SQLITE_PERM:
                /* os_unix.c's messages carry the errno as "(N)" but not its text. */
                log_error("sqlite: %s%s (%s)", msg, os_error(msg), sqlite3_errstr(code));
                break;
        default:
                break;
        }
}

/* The statement of every operation in store_queries.h, by domain. */
static const char *const sql[_Q_MAX] = {
        /* seclog */
        [Q_EVENT_ADD] = "INSERT INTO events (time, type, user, service, rhost, tty, actor, detail, country, city)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",

        /* lockout */
        [Q_TALLY_GET] = "SELECT failures, first_failure, last_failure, locked_until"
                        " FROM lockout WHERE user = ? AND source = ?",
        [Q_TALLY_INSERT] = "INSERT INTO lockout (user, source, failures, first_failure, last_failure, locked_until)"
                           " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [Q_TALLY_UPDATE] = "UPDATE lockout SET failures = ?3, first_failure = ?4, last_failure = ?5, locked_until = ?6"
                           " WHERE user = ?1 AND source = ?2 AND failures = ?7 AND first_failure = ?8"
                           " AND last_failure = ?9 AND locked_until = ?10",
        [Q_TALLY_DELETE] = "DELETE FROM lockout WHERE user = ? AND source = ?",
        [Q_TALLY_LIST_USER] = "SELECT user, source, failures, first_failure, last_failure, locked_until"
                              " FROM lockout WHERE user = ? ORDER BY source",
        [Q_TALLY_LIST_ALL] = "SELECT user, source, failures, first_failure, last_failure, locked_until"
                             " FROM lockout ORDER BY user, source",
        [Q_TALLY_COUNT_LOCKED] = "SELECT count(*), coalesce(sum(locked_until = -1 OR locked_until > ?), 0)"
                                 " FROM lockout WHERE user = ?",
        [Q_TALLY_DELETE_USER] = "DELETE FROM lockout WHERE user = ?",

        /* rowcap: the unknown-user failure (detail "unknown user", see lockout.c)
         * and the code_refused / token_refused event logged just before it
         * in the same transaction (id - 1, same user) */
        [Q_ROWCAP_PRUNE_UNKNOWN_EVENTS] =
                "WITH old AS (SELECT id, user FROM events WHERE type = 'auth_failure' AND detail = 'unknown user'"
                "             ORDER BY id DESC LIMIT -1 OFFSET ?1)"
                " DELETE FROM events WHERE id IN (SELECT id FROM old UNION ALL"
                "  SELECT e.id FROM old JOIN events e ON e.id = old.id - 1 AND e.user = old.user"
                "   AND e.type IN ('code_refused', 'token_refused'))",
        [Q_ROWCAP_PRUNE_TALLY_SOURCES] = "DELETE FROM lockout WHERE user = ?1 AND source IN ("
                                         " SELECT source FROM lockout WHERE user = ?1"
                                         " ORDER BY (locked_until = -1 OR locked_until > ?2) DESC, last_failure DESC"
                                         " LIMIT -1 OFFSET ?3)",

        /* account */
        [Q_ACCOUNT_GET] = "SELECT disabled, disabled_by, must_change, changed FROM account WHERE user = ?",
        [Q_ACCOUNT_ENSURE] = "INSERT OR IGNORE INTO account (user, updated) VALUES (?, ?)",
        [Q_ACCOUNT_DISABLE] = "UPDATE account SET disabled = ?1, disabled_by = ?2, updated = ?1"
                              " WHERE user = ?3 AND disabled = 0",
        [Q_ACCOUNT_ENABLE] = "UPDATE account SET disabled = 0, disabled_by = ?2, updated = ?1"
                             " WHERE user = ?3 AND disabled != 0",
        [Q_ACCOUNT_EXPIRE] = "UPDATE account SET must_change = ?, updated = ? WHERE user = ?",
        [Q_ACCOUNT_PASSWORD_CHANGED] = "UPDATE account SET must_change = 0, changed = ?1, updated = ?1 WHERE user = ?2",

        /* allowlist: an entry is added only while the list has room */
        [Q_ALLOWLIST_ADD] = "INSERT OR IGNORE INTO allowlist (user, cidr, actor, created) SELECT ?1, ?2, ?3, ?4"
                            " WHERE (SELECT count(*) FROM allowlist WHERE user = ?1) < ?5",
        [Q_ALLOWLIST_REMOVE] = "DELETE FROM allowlist WHERE user = ?1 AND cidr = ?2",
        [Q_ALLOWLIST_LIST] = "SELECT cidr, actor, created FROM allowlist WHERE user = ? ORDER BY created, cidr",

        /* pwhistory */
        [Q_PWHISTORY_LOAD] = "SELECT hash FROM password_history WHERE user = ? ORDER BY id DESC LIMIT ?",
        [Q_PWHISTORY_ADD] = "INSERT INTO password_history (user, hash, created) VALUES (?, ?, ?)",
        [Q_PWHISTORY_TRIM] = "DELETE FROM password_history WHERE user = ?1 AND id NOT IN"
                             " (SELECT id FROM password_history WHERE user = ?1 ORDER BY id DESC LIMIT ?2)",

        /* mfa: a step is consumed only if no later one was used since; an
         * enrolment never replaces an active secret; backup codes are made
         * only for an active TOTP, and each is used once */
        [Q_TOTP_COUNT] = "SELECT count(*) FROM mfa_totp",
        [Q_TOTP_STATE] = "SELECT active FROM mfa_totp WHERE user = ?",
        [Q_TOTP_GET] = "SELECT sealed, last_step FROM mfa_totp WHERE user = ? AND active = ?",
        [Q_TOTP_ENROLL] = "INSERT INTO mfa_totp (user, sealed, active, last_step, created) VALUES (?1, ?2, 0, 0, ?3)"
                          " ON CONFLICT (user) DO UPDATE SET sealed = ?2, last_step = 0, created = ?3, activated = 0"
                          " WHERE active = 0",
        [Q_TOTP_CONSUME] = "UPDATE mfa_totp SET last_step = ?, active = 1,"
                           " activated = CASE WHEN active THEN activated ELSE ? END"
                           " WHERE user = ? AND active = ? AND last_step < ?",
        [Q_TOTP_DELETE] = "DELETE FROM mfa_totp WHERE user = ?",
        [Q_BACKUP_DELETE_IF_ACTIVE] = "DELETE FROM backup_codes WHERE user = ?1"
                                      " AND EXISTS (SELECT 1 FROM mfa_totp WHERE user = ?1 AND active = 1)",
        [Q_BACKUP_INSERT_IF_ACTIVE] = "INSERT INTO backup_codes (user, hash, created) SELECT ?1, ?2, ?3"
                                      " WHERE EXISTS (SELECT 1 FROM mfa_totp WHERE user = ?1 AND active = 1)",
        [Q_BACKUP_LEFT] = "SELECT count(*) FROM backup_codes WHERE user = ? AND used = 0",
        [Q_BACKUP_CONSUME] = "UPDATE backup_codes SET used = ? WHERE user = ? AND hash = ? AND used = 0",
        [Q_BACKUP_DELETE_USER] = "DELETE FROM backup_codes WHERE user = ?",
        [Q_MFA_EMAIL_CODES_OFF] = "UPDATE email SET codes = 0 WHERE user = ? AND codes = 1",
        [Q_MFA_PHONE_CODES_OFF] = "UPDATE phone SET codes = 0 WHERE user = ? AND codes = 1",
        [Q_MFA_REQUIRED_GET] = "SELECT 1 FROM mfa_required WHERE user = ?",
        [Q_MFA_REQUIRED_SET] = "INSERT OR REPLACE INTO mfa_required (user, actor, since) VALUES (?, ?, ?)",
        [Q_MFA_REQUIRED_DELETE] = "DELETE FROM mfa_required WHERE user = ?",

        /* email */
        [Q_EMAIL_GET] = "SELECT address, pending, codes FROM email WHERE user = ?",
        [Q_EMAIL_SET_VERIFIED] = "INSERT INTO email (user, address, pending, updated) VALUES (?1, ?2, '', ?3)"
                                 " ON CONFLICT (user) DO UPDATE SET address = ?2, pending = '', updated = ?3",
        [Q_EMAIL_SET_PENDING] = "INSERT INTO email (user, pending, updated) VALUES (?1, ?2, ?3)"
                                " ON CONFLICT (user) DO UPDATE SET pending = ?2, updated = ?3",
        [Q_EMAIL_PROMOTE] = "UPDATE email SET address = pending, pending = '', updated = ?"
                            " WHERE user = ? AND pending != ''",
        /* codes on needs a verified address (as the caller read it, still so) */
        [Q_EMAIL_CODES_SET] = "UPDATE email SET codes = ?1, updated = ?2 WHERE user = ?3 AND (?1 = 0 OR address != '')",
        [Q_EMAIL_ATTEMPT_ADD] = "INSERT INTO email_codes (attempt, user, purpose, address, created)"
                                " VALUES (?, ?, ?, ?, ?)",
        /* the same, unless a code for this user and purpose went out less than ?6 seconds ago */
        [Q_EMAIL_ATTEMPT_ADD_SPACED] = "INSERT INTO email_codes (attempt, user, purpose, address, created)"
                                       " SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM email_codes"
                                       " WHERE user = ?2 AND purpose = ?3 AND sent > 0 AND ?5 < sent + ?6)",
        [Q_EMAIL_ATTEMPT_PURGE] = "DELETE FROM email_codes WHERE created < ?",
        [Q_EMAIL_ATTEMPT_LATEST] = "SELECT attempt FROM email_codes WHERE user = ? AND purpose = ?"
                                   " ORDER BY created DESC, sent DESC LIMIT 1",
        [Q_EMAIL_CODE_STATE] = "SELECT sent, address FROM email_codes WHERE attempt = ? AND user = ? AND purpose = ?",
        /* compare and swap: the send time as read */
        [Q_EMAIL_CODE_SET] = "UPDATE email_codes SET hash = ?, sent = ?, expires = ?, tries = 0"
                             " WHERE attempt = ? AND sent = ?",
        [Q_EMAIL_CODE_UNSEND] = "UPDATE email_codes SET hash = NULL, sent = 0 WHERE attempt = ? AND sent <= ?",
        [Q_EMAIL_CODE_GET] = "SELECT hash, expires FROM email_codes"
                             " WHERE attempt = ? AND user = ? AND purpose = ? AND hash IS NOT NULL",
        [Q_EMAIL_CODE_TRY] = "UPDATE email_codes SET tries = tries + 1,"
                             " hash = CASE WHEN tries + 1 >= ? THEN NULL ELSE hash END WHERE attempt = ?",
        [Q_EMAIL_CODE_CONSUME] = "UPDATE email_codes SET hash = NULL WHERE attempt = ? AND hash = ?",
        /* an address check's live code is used only while its address waits */
        [Q_EMAIL_CODE_CONSUME_PENDING] = "UPDATE email_codes SET hash = NULL WHERE attempt = ?1 AND hash = ?2"
                                         " AND (expires <= ?3 OR EXISTS (SELECT 1 FROM email"
                                         " WHERE user = ?4 AND pending != ''))",
        [Q_EMAIL_LAST_SENT] = "SELECT max(sent) FROM email_codes WHERE user = ? AND purpose = ?",

        /* phone */
        [Q_PHONE_GET] = "SELECT number, pending, codes FROM phone WHERE user = ?",
        [Q_PHONE_SET_VERIFIED] = "INSERT INTO phone (user, number, pending, updated) VALUES (?1, ?2, '', ?3)"
                                 " ON CONFLICT (user) DO UPDATE SET number = ?2, pending = '', updated = ?3",
        [Q_PHONE_SET_PENDING] = "INSERT INTO phone (user, pending, updated) VALUES (?1, ?2, ?3)"
                                " ON CONFLICT (user) DO UPDATE SET pending = ?2, updated = ?3",
        [Q_PHONE_PROMOTE] = "UPDATE phone SET number = pending, pending = '', updated = ?"
                            " WHERE user = ? AND pending != ''",
        [Q_PHONE_CODES_SET] = "UPDATE phone SET codes = ?1, updated = ?2 WHERE user = ?3 AND (?1 = 0 OR number != '')",
        [Q_PHONE_DELETE] = "DELETE FROM phone WHERE user = ?",
        /* a number check's live code is used only while its number waits */
        [Q_PHONE_CODE_CONSUME_PENDING] = "UPDATE email_codes SET hash = NULL WHERE attempt = ?1 AND hash = ?2"
                                         " AND (expires <= ?3 OR EXISTS (SELECT 1 FROM phone"
                                         " WHERE user = ?4 AND pending != ''))",

        /* mailcap */
        /* a user's newest mails that count, newest first; at most ?4 rows
         * are read (more cannot change the answer) */
        [Q_MAILCAP_NEWEST] = "SELECT time FROM mail_sent WHERE user = ?1 AND time > ?2 AND time <= ?3"
                             " ORDER BY time DESC LIMIT ?4",
        /* one more mail, only while fewer than ?4 count (time in (?3, ?2]) */
        [Q_MAILCAP_ADD] = "INSERT INTO mail_sent (user, time) SELECT ?1, ?2 WHERE (SELECT count(*) FROM"
                          " (SELECT 1 FROM mail_sent WHERE user = ?1 AND time > ?3 AND time <= ?2 LIMIT ?4)) < ?4",
        [Q_MAILCAP_TRIM] = "DELETE FROM mail_sent WHERE user = ?1 AND (time <= ?2 OR time > ?3)",
        [Q_MAILCAP_PURGE] = "DELETE FROM mail_sent WHERE time <= ?1 OR time > ?2",

        /* notify */
        [Q_NOTIFY_SOURCE_ADD] = "INSERT INTO known_sources (user, rhost, key, first_seen, last_seen)"
                                " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT DO NOTHING",
        [Q_NOTIFY_SOURCE_SEEN] = "UPDATE known_sources SET last_seen = ?4 WHERE user = ?1 AND rhost = ?2 AND key = ?3",
        [Q_NOTIFY_SOURCE_TRIM] = "DELETE FROM known_sources WHERE user = ?1 AND (rhost, key) IN ("
                                 "SELECT rhost, key FROM known_sources WHERE user = ?1"
                                 " ORDER BY last_seen DESC LIMIT -1 OFFSET ?2)",
        [Q_NOTIFY_COUNTRY_ADD] = "INSERT INTO known_countries (user, country, first_seen) VALUES (?1, ?2, ?3)"
                                 " ON CONFLICT DO NOTHING",
        [Q_NOTIFY_COUNTRY_COUNT] = "SELECT count(*) FROM known_countries WHERE user = ?1",
        [Q_NOTIFY_PREF_GET] = "SELECT new_source FROM notify WHERE user = ?",
        [Q_NOTIFY_PREF_SET] = "INSERT OR REPLACE INTO notify (user, new_source) VALUES (?, ?)",

        /* sessions */
/* ... and the host ('' : this one) and whether it is this host's (1) */
#define SESSION_COLUMNS                                                                                          \
        "id, user, service, tty, rhost, logind, pid, pid_start, started, last_active, ended, '', 1, country, city"
        [Q_SESSION_INSERT] = "INSERT INTO sessions (user, service, tty, rhost, logind, pid, pid_start, started,"
                             " last_active, country, city) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [Q_SESSION_END_BY_ID] = "UPDATE sessions SET ended = ?1, end_reason = ?2"
                                " WHERE id = ?3 AND (?4 IS NULL OR user = ?4) AND ended = 0 RETURNING " SESSION_COLUMNS,
        [Q_SESSION_END_BY_PID] = "UPDATE sessions SET ended = ?1, end_reason = ?2 WHERE id = ("
                                 "SELECT id FROM sessions WHERE ended = 0 AND user = ?4 AND pid = ?5"
                                 " AND pid_start = ?6 ORDER BY id DESC LIMIT 1) RETURNING " SESSION_COLUMNS,
        /* A terminated session's leader often closes it on the way out
         * (sshd does on SIGTERM): terminate still has the last word. */
        [Q_SESSION_END_TERMINATED] = "UPDATE sessions SET ended = CASE ended WHEN 0 THEN ?1 ELSE ended END,"
                                     " end_reason = ?2 WHERE id = ?3 AND (?4 IS NULL OR user = ?4)"
                                     " AND end_reason != ?2 RETURNING " SESSION_COLUMNS,
        [Q_SESSION_LIST_USER] = "SELECT " SESSION_COLUMNS " FROM sessions WHERE ended = 0 AND user = ? ORDER BY id",
        [Q_SESSION_LIST_ALL] = "SELECT " SESSION_COLUMNS " FROM sessions WHERE ended = 0 ORDER BY id",
        /* the sessions of this host (one host: all), of one user or (NULL) everyone's */
        [Q_SESSION_LIST_LOCAL] = "SELECT " SESSION_COLUMNS " FROM sessions WHERE ended = 0"
                                 " AND (?1 IS NULL OR user = ?1) ORDER BY id",
        /* One host has no other hosts to ask (PostgreSQL: a fleet's) */
        [Q_SESSION_REQUEST_END] = "SELECT id, '' FROM sessions WHERE 0 AND ?1 IS ?1 AND ?2 IS ?2 AND ?3 IS ?3"
                                  " AND ?4 IS ?4",
        [Q_SESSION_LIST_END_REQUESTED] = "SELECT " SESSION_COLUMNS ", '' FROM sessions WHERE 0",
        [Q_SESSION_END_HOSTS_GONE] = "SELECT " SESSION_COLUMNS " FROM sessions WHERE 0 AND ?1 IS ?1 AND ?2 IS ?2",
        [Q_SESSION_SET_LOGIND] = "UPDATE sessions SET logind = ? WHERE id = ?",
        [Q_SESSION_TOUCH] = "UPDATE sessions SET last_active = max(last_active, ?) WHERE id = ?",
        [Q_SESSION_PURGE] = "DELETE FROM sessions WHERE ended != 0 AND ended < ?",
#undef SESSION_COLUMNS

        /* tokens */
        [Q_TOKEN_COUNT] = "SELECT count(*) FROM tokens WHERE user = ?",
        /* At most ?7 tokens per user, counted in the insert itself; a name
         * taken inserts nothing either. */
        [Q_TOKEN_INSERT] = "INSERT INTO tokens (user, name, hash, services, created, expires)"
                           " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE (SELECT count(*) FROM tokens WHERE user = ?1) < ?7"
                           " ON CONFLICT DO NOTHING",
        [Q_TOKEN_REVOKE] = "DELETE FROM tokens WHERE user = ? AND name = ?",
        [Q_TOKEN_LIST] = "SELECT name, services, created, expires, last_used FROM tokens"
                         " WHERE user = ? ORDER BY created DESC, name",
        [Q_TOKEN_FIND] = "SELECT name, services, created, expires, last_used FROM tokens WHERE hash = ? AND user = ?",
        /* By the hash that was found: nothing when it was revoked meanwhile. */
        [Q_TOKEN_TOUCH] = "UPDATE tokens SET last_used = ? WHERE hash = ? AND user = ?",

        /* relief: one row per (user, kind, device); remembering again starts anew */
        [Q_DEVICE_FIND] = "SELECT id, source, created, expires FROM devices WHERE user = ? AND kind = ? AND device = ?",
        [Q_DEVICE_REMEMBER] = "INSERT INTO devices (user, kind, device, source, created, expires, last_used)"
                              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5) ON CONFLICT (user, kind, device) DO UPDATE"
                              " SET source = ?4, created = ?5, expires = ?6, last_used = ?5",
        [Q_DEVICE_TRIM] = "DELETE FROM devices WHERE user = ?1 AND id IN (SELECT id FROM devices WHERE user = ?1"
                          " ORDER BY last_used DESC, id DESC LIMIT -1 OFFSET ?2)",
        [Q_DEVICE_TOUCH] = "UPDATE devices SET last_used = max(last_used, ?) WHERE id = ?",
        [Q_DEVICE_LIST] = "SELECT id, kind, device, source, created, expires, last_used FROM devices"
                          " WHERE user = ? ORDER BY id",
        /* one (?2 the id) or all (?2 = 0) of a user's */
        [Q_DEVICE_REVOKE] = "DELETE FROM devices WHERE user = ?1 AND (?2 = 0 OR id = ?2) RETURNING id, kind, device",
        [Q_DEVICE_PURGE] = "DELETE FROM devices WHERE expires <= ?",

        /* eventlog */
#define EVENT_COLUMNS                                                                                            \
        "SELECT id, time, type, user, service, rhost, tty, actor, detail, '', country, city FROM events" /* no host */
        [Q_EVENT_LIST_ALL_ASC] = EVENT_COLUMNS " WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
        [Q_EVENT_LIST_ALL_DESC] = EVENT_COLUMNS " WHERE id BETWEEN ?1 AND ?2 ORDER BY id DESC",
        [Q_EVENT_LIST_USER_ASC] = EVENT_COLUMNS " WHERE user = ?3 AND id BETWEEN ?1 AND ?2 ORDER BY id",
        [Q_EVENT_LIST_USER_DESC] = EVENT_COLUMNS " WHERE user = ?3 AND id BETWEEN ?1 AND ?2 ORDER BY id DESC",
#undef EVENT_COLUMNS
        [Q_EVENT_MAX_ID] = "SELECT max(id) FROM events",
        /* Oldest first along events_by_time; never the newest row (see eventlog.h). */
        /* fleet: one host has no fleet key (the handlers refuse first) */
        [Q_FLEET_KEY_ID_GET] = "SELECT NULL WHERE 0",
        [Q_FLEET_KEY_ID_SET] = "UPDATE mfa_totp SET user = user WHERE 0 AND ?1 IS ?1",
        [Q_FLEET_KEY_LEFT] = "SELECT 0, 0 WHERE ?1 IS ?1",
        [Q_TOTP_OTHER_KEY] = "SELECT user, sealed FROM mfa_totp WHERE 0 AND ?1 IS ?1 AND ?2 IS ?2",
        [Q_TOTP_RESEAL] = "UPDATE mfa_totp SET sealed = ?1 WHERE 0 AND user = ?2 AND sealed = ?3",
        /* maintenance: one host leads them all */
        [Q_MAINTENANCE_LEAD] = "SELECT 1",
        /* one host: no other host to outlive */
        [Q_HOST_SEEN] = "UPDATE mfa_totp SET user = user WHERE 0 AND ?1 IS ?1",
        /* one host: itself, seen now, with every active session */
        [Q_HOST_LIST] = "SELECT ?2, ?1, (SELECT count(*) FROM sessions WHERE ended = 0) WHERE ?3 > 0",

        [Q_EVENT_PURGE] = "DELETE FROM events WHERE id IN (SELECT id FROM events INDEXED BY events_by_time"
                          " WHERE time < ?1 AND id < (SELECT max(id) FROM events) ORDER BY time LIMIT ?2)",
};

static int schema_version(void) {
        return (int) ARRAY_SIZE(migrations);
}

static int sq_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
                return 0;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
                return -EINVAL;
        default:
                return -EIO;
        }
}

/* SQLite says only "disk I/O error" when a write or fsync fails, but the
 * file keeps the OS error: a read-only or full file system is worth
 * naming in the log. */
static int io_errno(sqlite3 *db) {
        sqlite3_file *wal = NULL;
        int err = 0;
        if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK && wal &&
            wal->pMethods)
                (void) wal->pMethods->xFileControl(wal, SQLITE_FCNTL_LAST_ERRNO, &err);
        if (err == 0)
                (void) sqlite3_file_control(db, "main", SQLITE_FCNTL_LAST_ERRNO, &err);
        return err == EROFS || err == ENOSPC || err == EDQUOT ? -err : -EIO;
}

static int step_errno(sqlite3_stmt *st, int rc) {
        return (rc & 0xff) == SQLITE_IOERR ? io_errno(sqlite3_db_handle(st)) : sq_errno(rc);
}

/* Step a statement that returns no row: 0 or a negative errno. */
static int step_done(sqlite3_stmt *st) {
        if (!st)
                return -EIO;
        int rc = sqlite3_step(st);
        int r = step_errno(st, rc);
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? -EINVAL : r;
}

static sqlite3_stmt *cached(struct store *s, const char *text) {
        struct sq *q = sq(s);
        size_t i;
        for (i = 0; i < ARRAY_SIZE(q->cache) && q->cache[i].sql; i++)
                if (q->cache[i].sql == text) {
                        sqlite3_reset(q->cache[i].stmt);
                        return q->cache[i].stmt;
                }
        if (i == ARRAY_SIZE(q->cache) ||
            sqlite3_prepare_v3(q->db, text, -1, SQLITE_PREPARE_PERSISTENT, &q->cache[i].stmt, NULL) != SQLITE_OK)
                return NULL;
        q->cache[i].sql = text;
        return q->cache[i].stmt;
}

static int exec(struct store *s, const char *text) {
        return sq_errno(sqlite3_exec(sq(s)->db, text, NULL, NULL, NULL));
}

static int exec_cached(struct store *s, const char *text) {
        return step_done(cached(s, text));
}

/* The prepared statement of an operation, bound to its arguments. */
static sqlite3_stmt *prepare(struct store *s, enum store_query qid, const struct store_arg *args, size_t n) {
        struct sq *q = sq(s);
        if (qid >= _Q_MAX || !sql[qid])
                return log_error("%s: no SQLite statement", store_query_name(qid)), NULL;
        if (!q->stmt[qid] &&
            sqlite3_prepare_v3(q->db, sql[qid], -1, SQLITE_PREPARE_PERSISTENT, &q->stmt[qid], NULL) != SQLITE_OK) {
                log_error("%s: %s", store_query_name(qid), sqlite3_errmsg(q->db));
                return NULL;
        }
        sqlite3_stmt *st = q->stmt[qid];
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        for (size_t i = 0; i < n; i++) {
                int col = (int) i + 1;
                switch (args[i].type) {
                case STORE_ARG_NULL:
                        break;
                case STORE_ARG_INT:
                        sqlite3_bind_int64(st, col, args[i].i);
                        break;
                case STORE_ARG_TEXT:
                        sqlite3_bind_text(st, col, args[i].p, -1, SQLITE_STATIC);
                        break;
                case STORE_ARG_BLOB:
                        sqlite3_bind_blob(st, col, args[i].p, (int) args[i].n, SQLITE_STATIC);
                        break;
                }
        }
        return st;
}

static int sq_select(struct store *s, enum store_query qid, const struct store_arg *args, size_t n,
                     struct store_rows *ret) {
        sqlite3_stmt *st = prepare(s, qid, args, n);
        if (!st)
                return -EIO;
        ret->impl = st;
        return 0;
}

static int sq_next(struct store_rows *rows) {
        sqlite3_stmt *st = rows->impl;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        int r = step_errno(st, rc);
        return r < 0 ? r : -EIO;
}

static bool sq_is_null(const struct store_rows *rows, int col) {
        return sqlite3_column_type(rows->impl, col) == SQLITE_NULL;
}

static int64_t sq_int(const struct store_rows *rows, int col) {
        return sqlite3_column_int64(rows->impl, col);
}

static const char *sq_text(const struct store_rows *rows, int col) {
        return (const char *) sqlite3_column_text(rows->impl, col);
}

static const void *sq_blob(const struct store_rows *rows, int col, size_t *len) {
        const void *p = sqlite3_column_blob(rows->impl, col);
        *len = (size_t) sqlite3_column_bytes(rows->impl, col);
        return p;
}

static void sq_end(struct store_rows *rows) {
        sqlite3_reset(rows->impl);
}

static int sq_exec(struct store *s, enum store_query qid, const struct store_arg *args, size_t n) {
        sqlite3_stmt *st = prepare(s, qid, args, n);
        int r = step_done(st);
        return r < 0 ? r : sqlite3_changes(sq(s)->db);
}

static int64_t sq_now(struct store *s) {
        return (int64_t) time(NULL); /* one host: its clock is the database's */
}

/* SQLite rolls a whole transaction back on some errors (SQLITE_FULL,
 * SQLITE_IOERR, SQLITE_NOMEM...): the batch then lost requests that were
 * told "committed" by store_commit(), and must not commit what follows. */
static void check_batch(struct store *s) {
        if (s->batch_open && sqlite3_get_autocommit(sq(s)->db))
                s->batch_failed = true;
}

/* The WAL's own file, synced as SQLite syncs it at a FULL commit (its
 * VFS: fdatasync, and the directory the first time). */
static int sq_sync(struct store *s) {
        sqlite3_file *wal = NULL;
        if (sqlite3_file_control(sq(s)->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK || !wal ||
            !wal->pMethods)
                return 0; /* no WAL open: nothing was written since the last checkpoint */
        int rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
        if (rc != SQLITE_OK) {
                log_error("syncing the WAL failed: %s", sqlite3_errstr(rc));
                return -EIO;
        }
        return 0;
}

/* After a commit: durable now if it changed security state (and with it
 * every log append before it), else later. */
static int after_commit(struct store *s, bool state) {
        if (!sq(s)->normal)
                return 0; /* synchronous = FULL: SQLite synced it */
        if (!state) {
                s->unsynced = true;
                s->deferred++;
                return 0;
        }
        int r = sq_sync(s);
        s->unsynced = r < 0; /* the timer tries again */
        return r;
}

/* Outside a transaction only: SQLite refuses to change it inside one. */
static int set_sync_mode(struct store *s) {
        if (sq(s)->normal == s->defer_log)
                return 0;
        int r = exec_cached(s, s->defer_log ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL");
        if (r == 0)
                sq(s)->normal = s->defer_log;
        return r;
}

static int open_batch(struct store *s) {
        if (s->batch_failed)
                return -EIO;
        if (s->batch_open)
                return 0;
        int r = set_sync_mode(s);
        if (r == 0)
                r = exec_cached(s, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        s->batch_open = true;
        s->batch_state = false;
        if (s->on_batch_open)
                s->on_batch_open(s->batch_userdata);
        return 0;
}

static int sq_begin(struct store *s) {
        int r;
        if (!s->batching) {
                r = set_sync_mode(s);
                if (r == 0)
                        r = exec_cached(s, "BEGIN IMMEDIATE");
        }
        else {
                r = open_batch(s);
                if (r == 0)
                        r = exec_cached(s, "SAVEPOINT request");
                if (r < 0)
                        check_batch(s);
        }
        return r;
}

static void sq_rollback(struct store *s);

static int sq_commit(struct store *s) {
        int r = s->batch_open ? exec_cached(s, "RELEASE request") : exec_cached(s, "COMMIT");
        if (r < 0) {
                sq_rollback(s);
                return r;
        }
        if (s->batch_open) {
                s->batch_state |= s->txn_state;
                return 0;
        }
        s->commits++;
        return after_commit(s, s->txn_state);
}

static void sq_rollback(struct store *s) {
        if (s->batch_open) {
                /* Only this caller's part: the batch holds other requests. */
                if (s->in_txn && exec_cached(s, "ROLLBACK TO request") == 0)
                        (void) exec_cached(s, "RELEASE request");
                check_batch(s);
        } else if (!sqlite3_get_autocommit(sq(s)->db))
                (void) exec_cached(s, "ROLLBACK");
}

static int sq_batch_commit(struct store *s) {
        if (!s->batch_open)
                return 0;
        check_batch(s);
        int r = s->batch_failed ? -EIO : exec_cached(s, "COMMIT");
        if (r < 0 && !sqlite3_get_autocommit(sq(s)->db))
                (void) exec_cached(s, "ROLLBACK");
        s->batch_open = s->batch_failed = false;
        if (r == 0) {
                s->commits++;
                r = after_commit(s, s->batch_state);
        }
        s->batch_state = false;
        return r;
}

/* The state directory must be a real directory, ours, and not writable by
 * anyone else: we never write where another user could plant a link. */
static int check_state_dir(const char *dir, const char **why) {
        struct stat st;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return *why = "cannot create the state directory", negative_errno();
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return *why = "cannot open the state directory (a symlink?)", negative_errno();
        if (fstat(fd, &st) < 0)
                return *why = "cannot stat the state directory", negative_errno();
        if (st.st_uid != geteuid())
                return *why = "the state directory is not owned by the daemon's user", -EPERM;
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return *why = "the state directory is writable by group or others", -EPERM;
        return 0;
}

static int check_db_file(const char *path, const char **why) {
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : (*why = "cannot stat the database", negative_errno());
        if (!S_ISREG(st.st_mode))
                return *why = "the database is not a regular file", -EPERM;
        if (st.st_uid != geteuid())
                return *why = "the database is not owned by the daemon's user", -EPERM;
        return 0;
}

/* SQLite opens the -wal and -shm files beside the database itself; a
 * leftover one that is not ours (a link, another user's file) is refused
 * like the database would be. */
static int check_side_files(const char *db, const char **why) {
        static const char *const suffixes[] = { "-wal", "-shm" };
        char path[4096 + 8];
        struct stat st;
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
                snprintf(path, sizeof(path), "%s%s", db, suffixes[i]);
                if (lstat(path, &st) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return *why = "cannot stat the database's -wal or -shm file", negative_errno();
                }
                if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
                        return *why = "the database's -wal or -shm file is not a regular file owned by the "
                                      "daemon's user", -EPERM;
        }
        return 0;
}

static int migrate(struct store *s, const char **why) {
        sqlite3_stmt *st = cached(s, "PRAGMA user_version");
        int r = sq_begin(s);
        if (r < 0)
                return *why = "cannot start the migration transaction", r;
        if (!st || sqlite3_step(st) != SQLITE_ROW) {
                sq_rollback(s);
                return *why = "cannot read user_version", -EIO;
        }
        int v = sqlite3_column_int(st, 0);
        sqlite3_reset(st);
        if (v > schema_version()) {
                sq_rollback(s);
                return *why = "the database was written by a newer acctsecd", -EPROTONOSUPPORT;
        }
        for (; v < schema_version(); v++) {
                char pragma[64];
                snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
                if (exec(s, migrations[v]) < 0 || exec(s, pragma) < 0) {
                        sq_rollback(s);
                        return *why = "a schema migration failed", -EIO;
                }
        }
        r = sq_commit(s);
        return r < 0 ? (*why = "cannot commit the migration", r) : 0;
}

/* The clean-stop mark: after a clean close, STORE_MARK_NAME records the boot
 * and the database file's identity and times.  A start in the same boot that
 * finds the file exactly so (same inode, size, mtime and ctime, no WAL) skips
 * PRAGMA quick_check, which reads the whole file (about 0.2 s per 100 MB) and
 * would otherwise delay the first login after every socket activation.  The
 * mark is removed as the daemon starts, so a crash, a kill -9, a reboot or
 * any write to the file by anyone brings the check back. */
static bool read_boot_id(char buf[static 64]) {
        _cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, 63);
        if (n < 32)
                return false;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return true;
}

static bool format_mark(const char *db_path, char *buf, size_t n) {
        char boot[64];
        struct stat st;
        if (!read_boot_id(boot) || lstat(db_path, &st) < 0 || !S_ISREG(st.st_mode))
                return false;
        int w = snprintf(buf, n, "acctsec-clean-stop 1 %s %llu %llu %lld %lld.%09ld %lld.%09ld\n", boot,
                         (unsigned long long) st.st_dev, (unsigned long long) st.st_ino, (long long) st.st_size,
                         (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long) st.st_ctim.tv_sec,
                         st.st_ctim.tv_nsec);
        return w > 0 && (size_t) w < n;
}

static bool has_wal(const char *db_path) {
        char wal[4096 + 8];
        struct stat st;
        snprintf(wal, sizeof(wal), "%s-wal", db_path);
        return lstat(wal, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_size > 0);
}

/* Consumes the mark: true when it says the file is as a clean stop left it. */
static bool take_clean_mark(const char *state_dir, const char *db_path) {
        char path[4096 + 32], want[256], got[256] = "";
        snprintf(path, sizeof(path), "%s/%s", state_dir, STORE_MARK_NAME);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return false;
        struct stat st;
        ssize_t n = -1;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
                n = read(fd, got, sizeof(got) - 1);
        (void) unlink(path);
        if (n <= 0)
                return false;
        got[n] = 0;
        return !has_wal(db_path) && format_mark(db_path, want, sizeof(want)) && strcmp(want, got) == 0;
}

static void put_clean_mark(const char *state_dir, const char *db_path) {
        char path[4096 + 32], mark[256];
        snprintf(path, sizeof(path), "%s/%s", state_dir, STORE_MARK_NAME);
        if (has_wal(db_path) || !format_mark(db_path, mark, sizeof(mark)))
                return;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        size_t len = strlen(mark);
        if (write(fd, mark, len) != (ssize_t) len)
                (void) unlink(path);
}

static int quick_check(struct store *s, const char **why) {
        sqlite3_stmt *st = NULL;
        int ok = 0;
        if (sqlite3_prepare_v2(sq(s)->db, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                ok = strcmp((const char *) sqlite3_column_text(st, 0), "ok") == 0;
        sqlite3_finalize(st);
        return ok ? 0 : (*why = "the database failed PRAGMA quick_check (corrupt?)", -EUCLEAN);
}

static int sq_open(struct store *s, const char *state_dir, const char **why) {
        static const char pragmas[] = "PRAGMA journal_mode = WAL;"
                                      "PRAGMA synchronous = FULL;"
                                      "PRAGMA foreign_keys = ON;"
                                      "PRAGMA secure_delete = ON;";
        char path[4096];
        int r;

        static bool logging;
        if (!logging) /* before the first connection: sqlite3_config() must come first */
                logging = sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, NULL) == SQLITE_OK;
        s->impl = calloc(1, sizeof(struct sq));
        if (!s->impl)
                return *why = "out of memory", -ENOMEM;
        r = check_state_dir(state_dir, why);
        if (r < 0)
                return r;
        if (snprintf(path, sizeof(path), "%s/%s", state_dir, STORE_DB_NAME) >= (int) sizeof(path))
                return *why = "state directory path too long", -ENAMETOOLONG;
        r = check_db_file(path, why);
        if (r == 0)
                r = check_side_files(path, why);
        if (r < 0)
                return r;
        bool clean = take_clean_mark(state_dir, path);
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX |
                    SQLITE_OPEN_EXRESCODE;
        if (sqlite3_open_v2(path, &sq(s)->db, flags, NULL) != SQLITE_OK) {
                *why = sq(s)->db ? sqlite3_errmsg(sq(s)->db) : "cannot open the database";
                return -EIO;
        }
        sqlite3_busy_timeout(sq(s)->db, 5000);
        r = exec(s, pragmas);
        if (r < 0)
                return *why = "cannot set the database pragmas (not a database, or corrupt?)", r;
        s->quick_check_skipped = clean;
        if (!clean) {
                r = quick_check(s, why);
                if (r < 0)
                        return r;
        }
        r = migrate(s, why);
        if (r < 0)
                return r;
        snprintf(s->state_dir, sizeof(s->state_dir), "%s", state_dir);
        return 0;
}

static void sq_close(struct store *s) {
        struct sq *q = sq(s);
        if (!q)
                return;
        for (size_t i = 0; i < ARRAY_SIZE(q->stmt); i++)
                sqlite3_finalize(q->stmt[i]);
        for (size_t i = 0; i < ARRAY_SIZE(q->cache) && q->cache[i].sql; i++)
                sqlite3_finalize(q->cache[i].stmt);
        if (s->unsynced)
                (void) sq_sync(s);
        /* The last connection's close checkpoints and removes the WAL. */
        bool closed = sq(s)->db && sqlite3_close(sq(s)->db) == SQLITE_OK;
        if (closed && s->state_dir[0]) {
                char path[sizeof(s->state_dir) + sizeof(STORE_DB_NAME) + 1];
                snprintf(path, sizeof(path), "%s/%s", s->state_dir, STORE_DB_NAME);
                put_clean_mark(s->state_dir, path);
        }
        free(q);
        s->impl = NULL;
}

const struct store_engine store_sqlite = {
        .name = "sqlite",
        .open = sq_open,
        .close = sq_close,
        .begin = sq_begin,
        .commit = sq_commit,
        .rollback = sq_rollback,
        .batch_commit = sq_batch_commit,
        .sync = sq_sync,
        .select = sq_select,
        .next = sq_next,
        .is_null = sq_is_null,
        .col_int = sq_int,
        .col_text = sq_text,
        .col_blob = sq_blob,
        .end = sq_end,
        .exec = sq_exec,
        .now = sq_now,
        .schema_version = schema_version,
};

/* The hooks for tests (store_sqlite.h). */
sqlite3 *store_sqlite_db(struct store *s) {
        return sq(s)->db;
}

/* For tests of query plans: the prepared statement whose SQL ends with
 * suffix, or NULL. */
sqlite3_stmt *store_sqlite_find(struct store *s, const char *suffix) {
        size_t n = strlen(suffix);
        for (size_t i = 0; i < _Q_MAX; i++) {
                const char *t = sq(s)->stmt[i] ? sql[i] : NULL;
                if (t && strlen(t) >= n && strcmp(t + strlen(t) - n, suffix) == 0)
                        return sq(s)->stmt[i];
        }
        return NULL;
}

/* For tests: prepare every operation's statement against the schema.  0, or
 * -ENOENT (no statement) / -EINVAL (it does not compile) with its query. */
int store_sqlite_check(struct store *s, enum store_query *ret_bad) {
        for (int q = 0; q < _Q_MAX; q++) {
                *ret_bad = (enum store_query) q;
                if (!sql[q])
                        return -ENOENT;
                if (!prepare(s, (enum store_query) q, NULL, 0))
                        return -EINVAL;
        }
        return 0;
}
