/* SPDX-License-Identifier: BSD-3-Clause */
/* IP allowlists: the config's, a global one and one per user, in the
 * database as canonical CIDR text. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "allowlist.h"
#include "seclog.h"

static int change(struct store *s, const char *sql, enum event_type type, const char *user, const struct cidr *c,
                  const char *actor, int64_t now) {
        char text[CIDR_TEXT_MAX], detail[CIDR_TEXT_MAX + 32];
        cidr_format(c, text);
        int r = store_begin(s);
        if (r < 0)
                return r;
        sqlite3_stmt *st = store_stmt(s, sql);
        if (!st) {
                store_rollback(s);
                return -EIO;
        }
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(st) >= 4) { /* the INSERT */
                sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 4, now);
        }
        r = store_exec_stmt(st);
        if (r == 0 && sqlite3_changes(store_sqlite_db(s)) == 0)
                r = type == EV_ALLOWLIST_ADDED ? -EEXIST : -ENOENT;
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        snprintf(detail, sizeof(detail), "%s%s", text, user[0] ? "" : " (global list)");
        struct event ev = { .type = type, .user = user[0] ? user : "*", .actor = actor, .detail = detail };
        return seclog_commit(s, now, &ev, 1);
}

static int count_entries(const char *cidr, const char *actor, int64_t created, void *ud) {
        (*(int *) ud)++;
        return 0;
}

int allowlist_add(struct store *s, const char *user, const struct cidr *c, const char *actor, int64_t now) {
        int n = 0;
        int r = allowlist_list(s, user, count_entries, &n);
        if (r < 0)
                return r;
        if (n >= ALLOWLIST_MAX) /* and a list reply stays inside one frame */
                return -EMLINK;
        return change(s, "INSERT OR IGNORE INTO allowlist (user, cidr, actor, created) VALUES (?1, ?2, ?3, ?4)",
                      EV_ALLOWLIST_ADDED, user, c, actor, now);
}

int allowlist_remove(struct store *s, const char *user, const struct cidr *c, const char *actor, int64_t now) {
        return change(s, "DELETE FROM allowlist WHERE user = ?1 AND cidr = ?2",
                      EV_ALLOWLIST_REMOVED, user, c, actor, now);
}

int allowlist_list(struct store *s, const char *user, int (*cb)(const char *cidr, const char *actor, int64_t created,
                                                                 void *ud), void *ud) {
        sqlite3_stmt *st = store_stmt(s, "SELECT cidr, actor, created FROM allowlist WHERE user = ? ORDER BY created, cidr");
        int rc, r = 0;
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
                r = cb((const char *) sqlite3_column_text(st, 0), (const char *) sqlite3_column_text(st, 1),
                       sqlite3_column_int64(st, 2), ud);
        sqlite3_reset(st);
        return r < 0 ? r : rc == SQLITE_DONE ? 0 : store_errno(rc);
}

struct probe {
        const struct cidr_source *src;
        int entries;
        bool hit;
};

static int probe_entry(const char *text, const char *actor, int64_t created, void *ud) {
        struct probe *p = ud;
        struct cidr c;
        p->entries++;
        if (text && cidr_parse(text, &c) == 0 && cidr_match(&c, p->src))
                p->hit = true;
        return 0;
}

/* One list from the database: empty, or it contains the source. */
static int db_list_allows(struct store *s, const char *user, const struct cidr_source *src, bool *ret) {
        struct probe p = { .src = src };
        int r = allowlist_list(s, user, probe_entry, &p);
        *ret = p.entries == 0 || p.hit;
        return r;
}

static bool conf_list_allows(const char *list, const struct cidr_source *src) {
        char item[CIDR_TEXT_MAX];
        struct cidr c;
        if (!list[0])
                return true;
        for (const char *p = list; *p;) {
                size_t n = strcspn(p, ",");
                if (n < sizeof(item)) {
                        memcpy(item, p, n);
                        item[n] = '\0';
                        if (cidr_parse(item, &c) == 0 && cidr_match(&c, src))
                                return true;
                }
                p += n + (p[n] == ',');
        }
        return false;
}

int allowlist_check(struct store *s, const struct acctsec_conf *conf, const char *user, const char *rhost,
                    bool *ret_allowed) {
        struct cidr_source src;
        bool global = false, mine = true;
        cidr_source_parse(rhost, &src);
        *ret_allowed = false;
        int r = db_list_allows(s, "", &src, &global);
        if (r == 0 && user && user[0])
                r = db_list_allows(s, user, &src, &mine);
        if (r < 0)
                return r;
        *ret_allowed = conf_list_allows(conf->allowlist, &src) && global && mine;
        return 0;
}
