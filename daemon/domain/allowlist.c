/* SPDX-License-Identifier: BSD-3-Clause */
/* IP allowlists: the config's, a global one and one per user, in the
 * database as canonical CIDR text. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "allowlist.h"
#include "seclog.h"

static int log_change(struct store *s, enum event_type type, const char *user, const char *text, const char *actor,
                      int64_t now) {
        char detail[CIDR_TEXT_MAX + 32];
        snprintf(detail, sizeof(detail), "%s%s", text, user[0] ? "" : " (global list)");
        struct event ev = { .type = type, .user = user[0] ? user : "*", .actor = actor, .detail = detail };
        return seclog_add(s, now, &ev);
}

static const char *text_of(const struct cidr *c, char buf[static CIDR_TEXT_MAX]) {
        cidr_format(c, buf);
        return buf;
}

static int count_entries(const char *cidr, const char *actor, int64_t created, void *ud) {
        (*(int *) ud)++;
        return 0;
}

static int list_size(struct store *s, const char *user, int *ret) {
        *ret = 0;
        return allowlist_list(s, user, count_entries, ret);
}

/* The insert itself checks that the list has room, so a full list stays
 * at ALLOWLIST_MAX however many add at once (and a list reply stays inside
 * one frame); when it added nothing, the list says why. */
int allowlist_add(struct store *s, const char *user, const struct cidr *c, const char *actor, int64_t now) {
        char buf[CIDR_TEXT_MAX];
        const char *text = text_of(c, buf);
        int n;
        int r = list_size(s, user, &n);
        if (r < 0)
                return r;
        if (n >= ALLOWLIST_MAX)
                return -EMLINK;
        r = store_exec(s, Q_ALLOWLIST_ADD,
                       STORE_ARGS(A_TEXT(user), A_TEXT(text), A_TEXT(actor), A_INT(now), A_INT(ALLOWLIST_MAX)));
        if (r == 0) {
                r = list_size(s, user, &n);
                if (r == 0)
                        r = n >= ALLOWLIST_MAX ? -EMLINK : -EEXIST;
        }
        return r < 0 ? r : log_change(s, EV_ALLOWLIST_ADDED, user, text, actor, now);
}

int allowlist_remove(struct store *s, const char *user, const struct cidr *c, const char *actor, int64_t now) {
        char buf[CIDR_TEXT_MAX];
        const char *text = text_of(c, buf);
        int r = store_exec(s, Q_ALLOWLIST_REMOVE, STORE_ARGS(A_TEXT(user), A_TEXT(text)));
        if (r == 0)
                r = -ENOENT;
        return r < 0 ? r : log_change(s, EV_ALLOWLIST_REMOVED, user, text, actor, now);
}

int allowlist_list(struct store *s, const char *user, int (*cb)(const char *cidr, const char *actor, int64_t created,
                                                                 void *ud), void *ud) {
        struct store_rows rows;
        int r = store_select(s, Q_ALLOWLIST_LIST, STORE_ARGS(A_TEXT(user)), &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0)
                r = cb(store_text(&rows, 0), store_text(&rows, 1), store_int(&rows, 2), ud);
        store_rows_end(&rows);
        return r < 0 ? r : 0;
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

/* One list from the database: empty, or it contains the source;
 * *ret_listed when it has entries. */
static int db_list_allows(struct store *s, const char *user, const struct cidr_source *src, bool *ret,
                          bool *ret_listed) {
        struct probe p = { .src = src };
        int r = allowlist_list(s, user, probe_entry, &p);
        *ret = p.entries == 0 || p.hit;
        *ret_listed = p.entries > 0;
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

/* Allowed: every non-empty list contains the source; listed: at least one
 * list is not empty (so the source is in an entry, not merely unlimited). */
static int check(struct store *s, const struct acctsec_conf *conf, const char *user, const char *rhost,
                 bool *ret_allowed, bool *ret_listed) {
        struct cidr_source src;
        bool global = false, mine = true, in_global = false, in_mine = false;
        cidr_source_parse(rhost, &src);
        *ret_allowed = *ret_listed = false;
        int r = db_list_allows(s, "", &src, &global, &in_global);
        if (r == 0 && user && user[0])
                r = db_list_allows(s, user, &src, &mine, &in_mine);
        if (r < 0)
                return r;
        *ret_allowed = conf_list_allows(conf->allowlist, &src) && global && mine;
        *ret_listed = conf->allowlist[0] || in_global || in_mine;
        return 0;
}

int allowlist_check(struct store *s, const struct acctsec_conf *conf, const char *user, const char *rhost,
                    bool *ret_allowed) {
        bool listed;
        return check(s, conf, user, rhost, ret_allowed, &listed);
}

int allowlist_covers(struct store *s, const struct acctsec_conf *conf, const char *user, const char *rhost,
                     bool *ret_covered) {
        bool allowed, listed;
        int r = check(s, conf, user, rhost, &allowed, &listed);
        *ret_covered = r == 0 && allowed && listed;
        return r;
}
