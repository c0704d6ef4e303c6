/* SPDX-License-Identifier: BSD-3-Clause */
/* Account controls: disabled by an admin, forced password change, and when
 * the password last changed. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "seclog.h"

int account_get(struct store *s, const char *user, struct account_info *ret) {
        sqlite3_stmt *st = store_stmt(s, "SELECT disabled, disabled_by, must_change, changed FROM account WHERE user = ?");
        memset(ret, 0, sizeof(*ret));
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                const unsigned char *by = sqlite3_column_text(st, 1);
                ret->disabled = sqlite3_column_int64(st, 0);
                snprintf(ret->disabled_by, sizeof(ret->disabled_by), "%s", by ? (const char *) by : "");
                ret->must_change = sqlite3_column_int(st, 2) != 0;
                ret->changed = sqlite3_column_int64(st, 3);
        }
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_errno(rc);
}

/* Make sure the row exists, inside the caller's transaction. */
static int ensure_row(struct store *s, const char *user, int64_t now) {
        sqlite3_stmt *st = store_stmt(s, "INSERT OR IGNORE INTO account (user, updated) VALUES (?, ?)");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        return store_exec_stmt(st);
}

int account_set_disabled(struct store *s, const char *user, bool disabled, const char *actor, int64_t now,
                         bool *ret_changed) {
        struct event ev = { .type = disabled ? EV_ACCOUNT_DISABLED : EV_ACCOUNT_ENABLED, .user = user, .actor = actor };
        *ret_changed = false;
        int r = store_begin(s);
        if (r < 0)
                return r;
        r = ensure_row(s, user, now);
        sqlite3_stmt *st = r < 0 ? NULL
                           : disabled ? store_stmt(s, "UPDATE account SET disabled = ?1, disabled_by = ?2, updated = ?1"
                                                      " WHERE user = ?3 AND disabled = 0")
                                      : store_stmt(s, "UPDATE account SET disabled = 0, disabled_by = ?2, updated = ?1"
                                                      " WHERE user = ?3 AND disabled != 0");
        if (r == 0 && !st)
                r = -EIO;
        if (r == 0) {
                sqlite3_bind_int64(st, 1, now);
                sqlite3_bind_text(st, 2, disabled ? actor : "", -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
                r = store_exec_stmt(st);
        }
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        if (sqlite3_changes(store_sqlite_db(s)) == 0) { /* already so: nothing to log */
                store_rollback(s);
                return 0;
        }
        *ret_changed = true;
        return seclog_commit(s, now, &ev, 1);
}

int account_expire_in(struct store *s, const char *user, int64_t now) {
        int r = ensure_row(s, user, now);
        if (r < 0)
                return r;
        sqlite3_stmt *st = store_stmt(s, "UPDATE account SET must_change = 1, updated = ? WHERE user = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        return store_exec_stmt(st);
}

int account_expire_password(struct store *s, const char *user, const char *actor, int64_t now) {
        struct event ev = { .type = EV_PASSWORD_EXPIRED, .user = user, .actor = actor,
                            .detail = "the password must be changed at the next login" };
        int r = store_begin(s);
        if (r < 0)
                return r;
        r = account_expire_in(s, user, now);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        return seclog_commit(s, now, &ev, 1);
}

int account_password_changed_in(struct store *s, const char *user, int64_t now) {
        int r = ensure_row(s, user, now);
        if (r < 0)
                return r;
        sqlite3_stmt *st = store_stmt(s, "UPDATE account SET must_change = 0, changed = ?1, updated = ?1 WHERE user = ?2");
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
        return store_exec_stmt(st);
}
