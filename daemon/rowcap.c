/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Caps on what a flood of login attempts can make the database keep.  A
 * remote attacker chooses the user name (sshd passes any name on) and, with
 * an IPv6 prefix, the source address: neither may grow a table without
 * bound.  Attempts are still answered exactly as before and still reach the
 * journal; only old rows go.
 */
#include "config.h"

#include <errno.h>

#include "rowcap.h"

/* Failures for unknown users since the last prune (this process). */
static unsigned unknown_since_prune;

int limit_unknown_user_events(struct store *s) {
        /* The unknown-user failure (detail "unknown user", see lockout.c)
         * and the code_refused / token_refused event logged just before it
         * in the same transaction (id - 1, same user). */
        static const char sql[] =
                "WITH old AS (SELECT id, user FROM events WHERE type = 'auth_failure' AND detail = 'unknown user'"
                "             ORDER BY id DESC LIMIT -1 OFFSET ?1)"
                " DELETE FROM events WHERE id IN (SELECT id FROM old UNION ALL"
                "  SELECT e.id FROM old JOIN events e ON e.id = old.id - 1 AND e.user = old.user"
                "   AND e.type IN ('code_refused', 'token_refused'))";
        if (++unknown_since_prune < UNKNOWN_PRUNE_EVERY)
                return 0;
        sqlite3_stmt *st = store_stmt(s, sql);
        if (!st)
                return -EIO;
        sqlite3_bind_int(st, 1, UNKNOWN_EVENTS_MAX);
        int r = store_exec_stmt(st);
        if (r == 0)
                unknown_since_prune = 0;
        return r;
}

int limit_tally_sources(struct store *s, const char *user, int64_t now) {
        static const char sql[] =
                "DELETE FROM lockout WHERE user = ?1 AND source IN ("
                " SELECT source FROM lockout WHERE user = ?1"
                " ORDER BY (locked_until = -1 OR locked_until > ?2) DESC, last_failure DESC"
                " LIMIT -1 OFFSET ?3)";
        sqlite3_stmt *st = store_stmt(s, sql);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int(st, 3, TALLY_SOURCES_MAX);
        return store_exec_stmt(st);
}
