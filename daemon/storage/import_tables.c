/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The import's rule for each table (doc/fleet.md, "Moving in").  Each
 * table of the host's is copied (COPY) into a staging table of the same
 * columns, imp_<table>, with three more: outcome (what happened to the
 * row: imported, merged, same, kept (the fleet's), not_importable), note
 * (the report's line, '' for none) and item (what the line lists: a token
 * name, a source, a range).  The steps then merge it into the fleet's
 * table by set-based statements.  What another host writes meanwhile is
 * decided by the statements themselves (INSERT ... ON CONFLICT, whose
 * RETURNING says which rows went in, xmax = 0 telling an insert from an
 * update), never by an earlier read, so the report is what happened.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"
#include "import_internal.h"
#include "secret.h"
#include "totp.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define SEALED_SIZE (TOTP_SECRET_SIZE + VAULT_OVERHEAD)
#define COPY_CHUNK (256 * 1024)

/* Rows appended in the host's order, with new ids (the fleet's rows keep
 * theirs); host columns default to this host (acctsec.host_id). */
#define APPEND(t, cols)                                                                                          \
        { .name = #t, .columns = cols, .ordered = true, .reseal_column = -1, .default_outcome = "imported",       \
          .steps = { "INSERT INTO " #t " (" cols ") SELECT " cols " FROM imp_" #t " ORDER BY id" } }

/* One row per user: the host's goes in where the fleet has none; where it
 * has one, the fleet's stays, and a different one (by same, over i the
 * host's and f the fleet's row) is reported with both in words (desc). */
#define KEEP_FLEETS(t, cols, same, desc_i, desc_f)                                                                \
        { .name = #t, .columns = cols, .reseal_column = -1, .default_outcome = "",                              \
          .steps = { "WITH up AS (INSERT INTO " #t " (" cols ") SELECT " cols " FROM imp_" #t                     \
                     " ON CONFLICT (\"user\") DO NOTHING RETURNING \"user\")"                                    \
                     " UPDATE imp_" #t " i SET outcome = 'imported' FROM up WHERE i.\"user\" = up.\"user\"",       \
                     "UPDATE imp_" #t " i SET outcome = CASE WHEN " same " THEN 'same' ELSE 'kept' END,"           \
                     " note = CASE WHEN " same " THEN '' ELSE 'the fleet''s kept (' || " desc_f                    \
                     " || '); this host''s not applied (' || " desc_i " || ')' END"                                \
                     " FROM " #t " f WHERE f.\"user\" = i.\"user\" AND i.outcome = ''" } }

#define LOCK_TEXT(x)                                                                                             \
        "CASE WHEN " x " = -1 THEN 'locked until an admin unlocks' WHEN " x " > extract(epoch FROM now())"          \
        " THEN 'locked until ' || to_char(to_timestamp(" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'"  \
        " ELSE 'not locked' END"
#define EMAIL_TEXT(a)                                                                                            \
        "concat_ws(', ', CASE WHEN " a ".address <> '' THEN 'address ' || " a ".address ELSE 'no address' END,"    \
        " CASE WHEN " a ".pending <> '' THEN 'waiting for ' || " a ".pending END,"                                 \
        " CASE WHEN " a ".codes <> 0 THEN 'login codes on' END)"
#define PHONE_TEXT(a)                                                                                            \
        "concat_ws(', ', CASE WHEN " a ".number <> '' THEN 'number ' || " a ".number ELSE 'no number' END,"        \
        " CASE WHEN " a ".pending <> '' THEN 'waiting for ' || " a ".pending END,"                                 \
        " CASE WHEN " a ".codes <> 0 THEN 'texted codes on' END)"
#define ACCOUNT_TEXT(a)                                                                                          \
        "concat_ws(', ', CASE WHEN " a ".disabled <> 0 THEN 'disabled' || CASE WHEN " a ".disabled_by <> ''"       \
        " THEN ' by ' || " a ".disabled_by ELSE '' END ELSE 'enabled' END,"                                       \
        " CASE WHEN " a ".must_change <> 0 THEN 'password change required' END)"
#define NOTIFY_TEXT(a) "CASE WHEN " a ".new_source <> 0 THEN 'new-source mail on' ELSE 'new-source mail off' END"
#define TOTP_TEXT(a) "CASE WHEN " a ".active <> 0 THEN 'active TOTP' ELSE 'unconfirmed enrolment' END"

/* Backup codes belong to the TOTP enrolment they were made for. */
#define BACKUP_WITHOUT_TOTP                                                                                      \
        "UPDATE imp_backup_codes i SET outcome = 'kept', note = 'not applied: they go with this host''s TOTP,"      \
        " which was not applied' WHERE NOT EXISTS (SELECT 1 FROM imp_mfa_totp t WHERE t.\"user\" = i.\"user\""      \
        " AND t.outcome IN ('imported', 'merged'))"
#define KEY_DIFFERS "the host key is not the fleet key"

const struct import_table import_tables[] = {
        /* the stricter of two tallies: the larger count (with its window)
         * and the later lock, "until unlocked" above all */
        { .name = "lockout", .columns = "\"user\", source, failures, first_failure, last_failure, locked_until",
          .reseal_column = -1, .default_outcome = "",
          .steps = {
                  "WITH up AS (INSERT INTO lockout AS f (\"user\", source, failures, first_failure, last_failure,"
                  " locked_until) SELECT \"user\", source, failures, first_failure, last_failure, locked_until"
                  " FROM imp_lockout ON CONFLICT (\"user\", source) DO UPDATE SET"
                  " failures = greatest(f.failures, excluded.failures),"
                  " first_failure = CASE WHEN excluded.failures > f.failures THEN excluded.first_failure"
                  " ELSE f.first_failure END,"
                  " last_failure = greatest(f.last_failure, excluded.last_failure),"
                  " locked_until = CASE WHEN -1 IN (f.locked_until, excluded.locked_until) THEN -1"
                  " ELSE greatest(f.locked_until, excluded.locked_until) END"
                  " RETURNING \"user\", source, failures, locked_until, xmax = 0 AS inserted)"
                  " UPDATE imp_lockout i SET outcome = CASE WHEN up.inserted THEN 'imported' ELSE 'merged' END,"
                  " item = nullif(i.source, ''), note = CASE WHEN up.inserted THEN '' ELSE"
                  " format('kept the stricter state: failures %s, %s (this host: failures %s, %s)', up.failures, "
                  LOCK_TEXT("up.locked_until") ", i.failures, " LOCK_TEXT("i.locked_until") ") END"
                  " FROM up WHERE up.\"user\" = i.\"user\" AND up.source = i.source" } },
        APPEND(events, "time, type, \"user\", service, rhost, tty, actor, detail, country, city"),
        /* re-sealed with the fleet key while copied; an active secret of the
         * fleet's is never replaced (its user's app holds it), an
         * unconfirmed one gives way to an active one */
        { .name = "mfa_totp", .columns = "\"user\", sealed, active, last_step, created, activated",
          .reseal_column = 1, .default_outcome = "",
          .steps = {
                  "WITH up AS (INSERT INTO mfa_totp AS f (\"user\", sealed, active, last_step, created, activated)"
                  " SELECT \"user\", sealed, active, last_step, created, activated FROM imp_mfa_totp"
                  " ON CONFLICT (\"user\") DO UPDATE SET sealed = excluded.sealed, active = excluded.active,"
                  " last_step = excluded.last_step, created = excluded.created, activated = excluded.activated,"
                  " key_id = current_setting('acctsec.key_id') WHERE f.active = 0 AND excluded.active <> 0"
                  " RETURNING \"user\", xmax = 0 AS inserted)"
                  " UPDATE imp_mfa_totp i SET outcome = CASE WHEN up.inserted THEN 'imported' ELSE 'merged' END,"
                  " note = CASE WHEN up.inserted THEN '' ELSE 'this host''s active TOTP replaced the fleet''s"
                  " unconfirmed enrolment' END FROM up WHERE up.\"user\" = i.\"user\"",
                  "UPDATE imp_mfa_totp i SET outcome = 'kept', note = 'the fleet''s ' || " TOTP_TEXT("f")
                  " || ' kept; this host''s ' || " TOTP_TEXT("i") " || ' not applied (the user keeps the fleet''s"
                  " authenticator entry)' FROM mfa_totp f WHERE f.\"user\" = i.\"user\" AND i.outcome = ''" } },
        /* keyed hashes: with the fleet key only if it is the host key */
        { .name = "backup_codes", .columns = "\"user\", hash, used, created", .reseal_column = -1, .hashed = true,
          .default_outcome = "",
          .steps = { BACKUP_WITHOUT_TOTP,
                     "WITH up AS (INSERT INTO backup_codes (\"user\", hash, used, created)"
                     " SELECT \"user\", hash, used, created FROM imp_backup_codes WHERE outcome = ''"
                     " ON CONFLICT DO NOTHING RETURNING \"user\", hash) UPDATE imp_backup_codes i"
                     " SET outcome = 'imported' FROM up WHERE up.\"user\" = i.\"user\" AND up.hash = i.hash",
                     "UPDATE imp_backup_codes SET outcome = 'same' WHERE outcome = ''" },
          .steps_other_key = { BACKUP_WITHOUT_TOTP,
                               "UPDATE imp_backup_codes SET outcome = 'not_importable', note = 'must be"
                               " regenerated (acctsec backup-codes generate): " KEY_DIFFERS "'"
                               " WHERE outcome = ''" } },
        { .name = "tokens", .columns = "\"user\", name, hash, services, created, expires, last_used",
          .reseal_column = -1, .hashed = true, .default_outcome = "",
          .steps = { "WITH up AS (INSERT INTO tokens (\"user\", name, hash, services, created, expires, last_used)"
                     " SELECT \"user\", name, hash, services, created, expires, last_used FROM imp_tokens"
                     " ON CONFLICT DO NOTHING RETURNING \"user\", name) UPDATE imp_tokens i"
                     " SET outcome = 'imported' FROM up WHERE up.\"user\" = i.\"user\" AND up.name = i.name",
                     "UPDATE imp_tokens i SET outcome = CASE WHEN f.hash = i.hash THEN 'same' ELSE 'kept' END,"
                     " note = CASE WHEN f.hash = i.hash THEN '' ELSE 'the fleet''s tokens of these names kept;"
                     " this host''s not imported (make new ones)' END, item = i.name"
                     " FROM tokens f WHERE f.\"user\" = i.\"user\" AND f.name = i.name AND i.outcome = ''",
                     "UPDATE imp_tokens SET outcome = 'same' WHERE outcome = ''" },
          .steps_other_key = { "UPDATE imp_tokens SET outcome = 'not_importable', note = 'must be made again"
                               " (acctsec token create): " KEY_DIFFERS "', item = name" } },
        /* codes of logins in flight: void here; the next login sends one */
        { .name = "email_codes", .columns = "attempt, \"user\", purpose, address, hash, sent, expires, tries, created",
          .reseal_column = -1, .default_outcome = "not_importable" },
        KEEP_FLEETS(email, "\"user\", address, pending, codes, updated",
                    "(i.address, i.pending, i.codes) IS NOT DISTINCT FROM (f.address, f.pending, f.codes)",
                    EMAIL_TEXT("i"), EMAIL_TEXT("f")),
        KEEP_FLEETS(account, "\"user\", disabled, disabled_by, must_change, changed, updated",
                    "(i.disabled <> 0, i.must_change) IS NOT DISTINCT FROM (f.disabled <> 0, f.must_change)",
                    ACCOUNT_TEXT("i"), ACCOUNT_TEXT("f")),
        KEEP_FLEETS(mfa_required, "\"user\", actor, since", "true", "'required'", "'required'"),
        KEEP_FLEETS(notify, "\"user\", new_source", "(i.new_source <> 0) = (f.new_source <> 0)", NOTIFY_TEXT("i"),
                    NOTIFY_TEXT("f")),
        APPEND(password_history, "\"user\", hash, created"),
        /* the union, within ALLOWLIST_MAX; a list the fleet did not have
         * now limits that user (or, the global one, everyone) on every host */
        { .name = "allowlist", .columns = "\"user\", cidr, actor, created", .reseal_column = -1,
          .default_outcome = "",
          .steps = {
                  "UPDATE imp_allowlist i SET note = 'a list the fleet did not have: it now limits these logins"
                  " on every host', item = i.cidr"
                  " WHERE NOT EXISTS (SELECT 1 FROM allowlist f WHERE f.\"user\" = i.\"user\")",
                  "WITH new AS (SELECT i.\"user\", i.cidr, i.actor, i.created, row_number() OVER (PARTITION BY"
                  " i.\"user\" ORDER BY i.created, i.cidr) AS n FROM imp_allowlist i WHERE NOT EXISTS"
                  " (SELECT 1 FROM allowlist f WHERE f.\"user\" = i.\"user\" AND f.cidr = i.cidr)),"
                  " up AS (INSERT INTO allowlist (\"user\", cidr, actor, created)"
                  " SELECT \"user\", cidr, actor, created FROM new WHERE n + (SELECT count(*) FROM allowlist f"
                  " WHERE f.\"user\" = new.\"user\") <= " STR(ALLOWLIST_MAX)
                  " ON CONFLICT DO NOTHING RETURNING \"user\", cidr)"
                  " UPDATE imp_allowlist i SET outcome = 'imported' FROM up"
                  " WHERE up.\"user\" = i.\"user\" AND up.cidr = i.cidr",
                  "UPDATE imp_allowlist i SET outcome = 'same' FROM allowlist f"
                  " WHERE f.\"user\" = i.\"user\" AND f.cidr = i.cidr AND i.outcome = ''",
                  "UPDATE imp_allowlist SET outcome = 'not_importable', note = 'not imported: the list would hold"
                  " more than " STR(ALLOWLIST_MAX) " entries', item = cidr WHERE outcome = ''" } },
        APPEND(sessions, "\"user\", service, tty, rhost, logind, pid, pid_start, started, last_active, ended,"
                         " end_reason, country, city"),
        /* the union: the earliest first and the latest last sighting */
        { .name = "known_sources", .columns = "\"user\", rhost, key, first_seen, last_seen", .reseal_column = -1,
          .default_outcome = "",
          .steps = { "WITH up AS (INSERT INTO known_sources AS f (\"user\", rhost, key, first_seen, last_seen)"
                     " SELECT \"user\", rhost, key, first_seen, last_seen FROM imp_known_sources"
                     " ON CONFLICT (\"user\", rhost, key) DO UPDATE SET"
                     " first_seen = least(f.first_seen, excluded.first_seen),"
                     " last_seen = greatest(f.last_seen, excluded.last_seen)"
                     " RETURNING \"user\", rhost, key, xmax = 0 AS inserted)"
                     " UPDATE imp_known_sources i SET outcome = CASE WHEN up.inserted THEN 'imported'"
                     " ELSE 'merged' END FROM up"
                     " WHERE up.\"user\" = i.\"user\" AND up.rhost = i.rhost AND up.key = i.key" } },
        APPEND(mail_sent, "\"user\", time"),
        KEEP_FLEETS(phone, "\"user\", number, pending, codes, updated",
                    "(i.number, i.pending, i.codes) IS NOT DISTINCT FROM (f.number, f.pending, f.codes)",
                    PHONE_TEXT("i"), PHONE_TEXT("f")),
        /* the union: the earliest sighting of each country */
        { .name = "known_countries", .columns = "\"user\", country, first_seen", .reseal_column = -1,
          .default_outcome = "",
          .steps = { "WITH up AS (INSERT INTO known_countries AS f (\"user\", country, first_seen)"
                     " SELECT \"user\", country, first_seen FROM imp_known_countries"
                     " ON CONFLICT (\"user\", country) DO UPDATE SET"
                     " first_seen = least(f.first_seen, excluded.first_seen)"
                     " RETURNING \"user\", country, xmax = 0 AS inserted)"
                     " UPDATE imp_known_countries i SET outcome = CASE WHEN up.inserted THEN 'imported'"
                     " ELSE 'merged' END FROM up"
                     " WHERE up.\"user\" = i.\"user\" AND up.country = i.country" } },
        /* Remembered devices are not moved: relief is this host's trust in
         * its sources, and on the fleet a user types one code again. */
        { .name = "devices", .columns = "id, \"user\", kind, device, source, created, expires, last_used",
          .reseal_column = -1, .default_outcome = "not_importable" },
};
const size_t import_tables_count = ARRAY_SIZE(import_tables);

struct copybuf {
        char *p;
        size_t n, cap;
};

static int put(struct copybuf *b, const void *s, size_t n) {
        if (b->n + n > b->cap) {
                size_t cap = b->cap ? b->cap : 2 * COPY_CHUNK;
                while (cap < b->n + n)
                        cap *= 2;
                char *p = realloc(b->p, cap);
                if (!p)
                        return -ENOMEM;
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        return 0;
}

/* COPY's text format: backslash, tab, newline and carriage return escaped. */
static int put_text(struct copybuf *b, const unsigned char *s, size_t n) {
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                char esc[2] = { '\\', 0 };
                esc[1] = s[i] == '\\' ? '\\' : s[i] == '\t' ? 't' : s[i] == '\n' ? 'n' : s[i] == '\r' ? 'r' : 0;
                r = esc[1] ? put(b, esc, 2) : put(b, &s[i], 1);
        }
        return r;
}

static int put_bytea(struct copybuf *b, const uint8_t *p, size_t n) {
        static const char hex[] = "0123456789abcdef";
        int r = put(b, "\\\\x", 3);
        for (size_t i = 0; i < n && r == 0; i++) {
                char h[2] = { hex[p[i] >> 4], hex[p[i] & 15] };
                r = put(b, h, 2);
        }
        return r;
}

/* A TOTP secret of the host's, sealed again with the fleet key. */
static int put_resealed(struct import *im, struct copybuf *b, sqlite3_stmt *st, int col) {
        uint8_t plain[TOTP_SECRET_SIZE], sealed[SEALED_SIZE];
        const char *user = (const char *) sqlite3_column_text(st, 0);
        if (!im->have_host_key)
                return import_fail(im, -ENOKEY, "%s/secret.key is missing, but the database holds TOTP secrets"
                                   " sealed with it (restore it from the backup taken with the database)",
                                   im->o->state_dir);
        const void *old = sqlite3_column_blob(st, col);
        int r = sqlite3_column_bytes(st, col) == SEALED_SIZE ? vault_open(im->host_key, old, SEALED_SIZE, plain)
                                                             : -EBADMSG;
        if (r < 0)
                return import_fail(im, r, "the TOTP secret of %s does not open with %s/secret.key (is it the key"
                                   " of this database?)", user ? user : "?", im->o->state_dir);
        vault_seal(im->fleet_key, plain, sizeof(plain), sealed);
        acctsec_wipe(plain, sizeof(plain));
        return put_bytea(b, sealed, sizeof(sealed));
}

static int put_column(struct import *im, struct copybuf *b, sqlite3_stmt *st, int col, bool reseal) {
        char num[32];
        int type = sqlite3_column_type(st, col);
        if (type == SQLITE_NULL)
                return put(b, "\\N", 2);
        if (type == SQLITE_INTEGER) {
                snprintf(num, sizeof(num), "%lld", (long long) sqlite3_column_int64(st, col));
                return put(b, num, strlen(num));
        }
        if (type == SQLITE_BLOB && reseal)
                return put_resealed(im, b, st, col);
        /* the pointer first, then its size (sqlite3_column_bytes) */
        const void *p = type == SQLITE_BLOB ? sqlite3_column_blob(st, col) : (const void *) sqlite3_column_text(st, col);
        size_t n = (size_t) sqlite3_column_bytes(st, col);
        /* text (a float is no column of ours: as text, the server refuses it) */
        return type == SQLITE_BLOB ? put_bytea(b, p, n) : put_text(b, p, n);
}

static int put_row(struct import *im, const struct import_table *t, struct copybuf *b, sqlite3_stmt *st) {
        int r = 0, n = sqlite3_column_count(st);
        for (int c = 0; c < n && r == 0; c++) {
                if (c > 0)
                        r = put(b, "\t", 1);
                if (r == 0)
                        r = put_column(im, b, st, c, t->reseal_column >= 0 && c - t->ordered == t->reseal_column);
        }
        if (r == 0)
                r = put(b, "\n", 1);
        return r == -ENOMEM ? import_fail(im, r, "out of memory") : r;
}

static int flush(struct import *im, struct copybuf *b) {
        if (b->n > 0 && PQputCopyData(im->pg, b->p, (int) b->n) != 1)
                return import_fail(im, -EIO, "the fleet's database: %s", PQerrorMessage(im->pg));
        b->n = 0;
        return 0;
}

/* Every row of the host's table, streamed into the COPY in progress. */
static int copy_rows(struct import *im, const struct import_table *t, sqlite3_stmt *st) {
        struct copybuf b = { 0 };
        int rc, r = 0;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = put_row(im, t, &b, st);
                if (r == 0 && b.n >= COPY_CHUNK)
                        r = flush(im, &b);
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = import_fail(im, -EIO, "reading %s of the host's database: %s", t->name, sqlite3_errmsg(im->lite));
        if (r == 0)
                r = flush(im, &b);
        if (b.p)
                acctsec_wipe(b.p, b.cap); /* it held re-sealed secrets and hashes */
        free(b.p);
        return r;
}

/* The end of a COPY: aborted (nothing of it stays) when r < 0. */
static int end_copy(struct import *im, const struct import_table *t, int r) {
        PGresult *res;
        if (PQputCopyEnd(im->pg, r < 0 ? "the import failed" : NULL) != 1 && r == 0)
                r = import_fail(im, -EIO, "the fleet's database: %s", PQerrorMessage(im->pg));
        while ((res = PQgetResult(im->pg))) {
                if (PQresultStatus(res) != PGRES_COMMAND_OK && r == 0)
                        r = import_fail(im, -EIO, "copying %s: %s", t->name, PQresultErrorMessage(res));
                PQclear(res);
        }
        return r;
}

static int copy_table(struct import *im, const struct import_table *t) {
        char sql[1024];
        sqlite3_stmt *st = NULL;
        snprintf(sql, sizeof(sql), "SELECT %s%s FROM %s%s", t->ordered ? "id, " : "", t->columns, t->name,
                 t->ordered ? " ORDER BY id" : "");
        if (sqlite3_prepare_v2(im->lite, sql, -1, &st, NULL) != SQLITE_OK)
                return import_fail(im, -EIO, "reading %s of the host's database: %s", t->name,
                                   sqlite3_errmsg(im->lite));
        snprintf(sql, sizeof(sql), "COPY imp_%s (%s%s) FROM STDIN", t->name, t->ordered ? "id, " : "", t->columns);
        PGresult *res = PQexec(im->pg, sql);
        bool copying = PQresultStatus(res) == PGRES_COPY_IN;
        int r = copying ? 0 : import_fail(im, -EIO, "the fleet's database: %s", PQresultErrorMessage(res));
        PQclear(res);
        if (r == 0)
                r = copy_rows(im, t, st);
        sqlite3_finalize(st);
        return copying ? end_copy(im, t, r) : r;
}

static int stage(struct import *im, const struct import_table *t) {
        char sql[1024];
        snprintf(sql, sizeof(sql), "CREATE TEMP TABLE imp_%s ON COMMIT DROP AS SELECT %s%s FROM %s WITH NO DATA",
                 t->name, t->ordered ? "id, " : "", t->columns, t->name);
        int r = import_pg(im, sql, NULL, NULL);
        snprintf(sql, sizeof(sql), "ALTER TABLE imp_%s ADD outcome text NOT NULL DEFAULT '%s',"
                 " ADD note text NOT NULL DEFAULT '', ADD item text", t->name, t->default_outcome);
        if (r == 0)
                r = import_pg(im, sql, NULL, NULL);
        return r == 0 ? copy_table(im, t) : r;
}

/* What the report says of the table: its counts, and its lines. */
static int results(struct import *im, const struct import_table *t, struct import_result *res) {
        char sql[1024];
        snprintf(sql, sizeof(sql), "SELECT outcome, count(*) FROM imp_%s GROUP BY outcome", t->name);
        int r = import_pg(im, sql, NULL, &res->counts);
        snprintf(sql, sizeof(sql),
                 "SELECT \"user\", note, count(*), coalesce(string_agg(item, ', ' ORDER BY item), ''),"
                 " coalesce(json_agg(item ORDER BY item) FILTER (WHERE item IS NOT NULL), '[]')"
                 " FROM imp_%s WHERE note <> '' GROUP BY \"user\", note ORDER BY \"user\", note", t->name);
        if (r == 0)
                r = import_pg(im, sql, NULL, &res->lines);
        return r;
}

int import_table_run(struct import *im, size_t i) {
        const struct import_table *t = &import_tables[i];
        bool other_key = t->hashed && !im->keys_equal;
        const char *const *steps = other_key ? t->steps_other_key : t->steps;
        size_t n = other_key ? ARRAY_SIZE(t->steps_other_key) : ARRAY_SIZE(t->steps);
        int r = stage(im, t);
        for (size_t s = 0; r == 0 && s < n && steps[s]; s++)
                r = import_pg(im, steps[s], NULL, NULL);
        if (r < 0)
                return r;
        return results(im, t, &im->results[i]);
}
