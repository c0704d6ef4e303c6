/* SPDX-License-Identifier: BSD-3-Clause */
/* Second-factor relief: trusted networks and remembered devices. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "allowlist.h"
#include "cidr.h"
#include "notify.h"
#include "relief.h"
#include "seclog.h"

const char *device_kind_name(enum device_kind k) {
        return k == DEVICE_KEY ? "key" : "address";
}

/* PAM_RHOST as the canonical address ("LOCAL" for none), or -EINVAL for
 * what is not a literal address: it names no device and matches nothing. */
static int source_text(const char *rhost, char out[DEVICE_NAME_MAX]) {
        struct cidr_source src;
        cidr_source_parse(rhost, &src);
        if (src.kind == CIDR_SOURCE_LOCAL)
                return snprintf(out, DEVICE_NAME_MAX, "LOCAL"), 0;
        if (src.kind != CIDR_SOURCE_ADDRESS)
                return -EINVAL;
        return inet_ntop(src.family == 4 ? AF_INET : AF_INET6, src.addr, out, DEVICE_NAME_MAX) ? 0 : -EINVAL;
}

/* The stored source back as PAM_RHOST would give it. */
static const char *as_rhost(const char *source) {
        return strcmp(source, "LOCAL") == 0 ? "" : source;
}

int device_of(const char *auth_info, const char *rhost, struct device *ret) {
        if (auth_info && ssh_key_fingerprint(auth_info, ret->name, sizeof(ret->name)) == 0) {
                ret->kind = DEVICE_KEY;
                return 0;
        }
        ret->kind = DEVICE_ADDRESS;
        return source_text(rhost, ret->name);
}

/* The entry of mfa_skip_networks that holds the source, canonical, or "". */
static void trusted_network(const char *list, const char *rhost, char out[CIDR_TEXT_MAX]) {
        char item[CIDR_TEXT_MAX];
        struct cidr_source src;
        struct cidr c;
        out[0] = '\0';
        cidr_source_parse(rhost, &src);
        for (const char *p = list; *p && !out[0];) {
                size_t n = strcspn(p, ",");
                if (n < sizeof(item)) {
                        memcpy(item, p, n);
                        item[n] = '\0';
                        if (cidr_parse(item, &c) == 0 && cidr_match(&c, &src))
                                cidr_format(&c, out);
                }
                p += n + (p[n] == ',');
        }
}

static void fmt_utc(int64_t t, char *out, size_t n) {
        struct tm tm;
        time_t tt = (time_t) t;
        if (!gmtime_r(&tt, &tm) || strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm) == 0)
                snprintf(out, n, "%lld", (long long) t);
}

struct found {
        int64_t id, created, expires;
        char source[DEVICE_NAME_MAX];
};

static int find_device(struct store *s, const char *user, const struct device *dev, struct found *ret) {
        struct store_rows rows;
        const char *name = dev->name;
        int r = store_select(s, Q_DEVICE_FIND, STORE_ARGS(A_TEXT(user), A_TEXT(device_kind_name(dev->kind)),
                                                          A_TEXT(name)), &rows);
        if (r >= 0 && (r = store_next(&rows)) > 0) {
                ret->id = store_int(&rows, 0);
                snprintf(ret->source, sizeof(ret->source), "%s", store_text(&rows, 1) ? store_text(&rows, 1) : "");
                ret->created = store_int(&rows, 2);
                ret->expires = store_int(&rows, 3);
        }
        store_rows_end(&rows);
        return r;
}

/* A remembered device that still holds: not expired (under the setting in
 * force now too, so shortening remember_device takes effect at once), and
 * remembered from a source that an allowlist entry still holds, as the
 * login's own source must be. */
static int remembered(struct store *s, const struct acctsec_conf *conf, const struct attempt *a, const char *auth_info,
                      int64_t now, struct relief *ret) {
        struct device dev;
        struct found f = { 0 };
        bool covered = false;
        char until[40];
        if (conf->remember_device == 0 || !a->known || device_of(auth_info, a->rhost, &dev) < 0)
                return 0;
        int r = find_device(s, a->user, &dev, &f);
        if (r <= 0)
                return r;
        int64_t end = f.expires < f.created + (int64_t) conf->remember_device ? f.expires
                                                                               : f.created + conf->remember_device;
        if (end <= now)
                return 0;
        r = allowlist_covers(s, conf, a->user, a->rhost, &covered);
        if (r == 0 && covered)
                r = allowlist_covers(s, conf, a->user, as_rhost(f.source), &covered);
        if (r < 0 || !covered)
                return r;
        fmt_utc(end, until, sizeof(until));
        ret->skip = true;
        ret->device = f.id;
        snprintf(ret->reason, sizeof(ret->reason), "remembered device %s until %s", dev.name, until);
        return 0;
}

int relief_decide(struct store *s, const struct acctsec_conf *conf, const struct attempt *a, const char *auth_info,
                  bool first_checked, int64_t now, struct relief *ret) {
        char net[CIDR_TEXT_MAX];
        bool allowed = false;
        struct account_info info = { 0 };
        *ret = (struct relief){ 0 };
        if (!first_checked || !a->privileged || (!conf->mfa_skip_networks[0] && conf->remember_device == 0))
                return 0;
        trusted_network(conf->mfa_skip_networks, a->rhost, net);
        if (net[0]) {
                ret->skip = true;
                snprintf(ret->reason, sizeof(ret->reason), "trusted network %s", net);
        }
        int r = ret->skip ? 0 : remembered(s, conf, a, auth_info, now, ret);
        /* Never past the allowlist or a disabled account, whatever the stack. */
        if (r == 0 && ret->skip)
                r = allowlist_check(s, conf, a->user, a->rhost, &allowed);
        if (r == 0 && ret->skip && a->known)
                r = account_get(s, a->user, &info);
        if (r < 0 || !allowed || (a->known && info.disabled))
                *ret = (struct relief){ 0 };
        return r;
}

int relief_skipped(struct store *s, const struct attempt *a, const struct relief *rl, int64_t now) {
        struct event ev = event_of(a, EV_MFA_SKIPPED, rl->reason);
        int r = rl->device ? store_exec(s, Q_DEVICE_TOUCH, STORE_ARGS(A_INT(now), A_INT(rl->device))) : 0;
        return r < 0 ? r : seclog_add(s, now, &ev);
}

int relief_remember(struct store *s, const struct acctsec_conf *conf, const struct attempt *a, const char *auth_info,
                    int64_t now, const char **ret_why) {
        struct device dev;
        char source[DEVICE_NAME_MAX], until[40], detail[RELIEF_REASON_MAX];
        bool covered = false;
        *ret_why = NULL;
        if (conf->remember_device == 0 || !a->known)
                return 0;
        if (!a->privileged)
                return *ret_why = "not asked by root", 0;
        if (device_of(auth_info, a->rhost, &dev) < 0 || source_text(a->rhost, source) < 0)
                return *ret_why = "the source is not an address", 0;
        /* Only a source an admin listed: remembering any address would let a
         * stolen password plus one good code from anywhere skip codes later. */
        int r = allowlist_covers(s, conf, a->user, a->rhost, &covered);
        if (r < 0)
                return r;
        if (!covered)
                return *ret_why = "the source is in no allowlist entry", 0;
        int64_t expires = now + (int64_t) conf->remember_device;
        const char *name = dev.name, *from = source;
        r = store_exec(s, Q_DEVICE_REMEMBER, STORE_ARGS(A_TEXT(a->user), A_TEXT(device_kind_name(dev.kind)),
                                                        A_TEXT(name), A_TEXT(from), A_INT(now), A_INT(expires)));
        if (r >= 0)
                r = store_exec(s, Q_DEVICE_TRIM, STORE_ARGS(A_TEXT(a->user), A_INT(DEVICES_MAX)));
        if (r < 0)
                return r;
        fmt_utc(expires, until, sizeof(until));
        snprintf(detail, sizeof(detail), "%s %s from %s until %s", device_kind_name(dev.kind), dev.name, source, until);
        struct event ev = event_of(a, EV_DEVICE_REMEMBERED, detail);
        return seclog_add(s, now, &ev);
}

int relief_list(struct store *s, const char *user, int (*cb)(const struct device_row *d, void *ud), void *ud) {
        struct store_rows rows;
        int r = store_select(s, Q_DEVICE_LIST, STORE_ARGS(A_TEXT(user)), &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0) {
                struct device_row d = { .id = store_int(&rows, 0), .kind = store_text(&rows, 1),
                                        .name = store_text(&rows, 2), .source = store_text(&rows, 3),
                                        .created = store_int(&rows, 4), .expires = store_int(&rows, 5),
                                        .last_used = store_int(&rows, 6) };
                r = cb(&d, ud);
        }
        store_rows_end(&rows);
        return r < 0 ? r : 0;
}

int relief_revoke(struct store *s, const char *user, int64_t id, const char *actor, const char *why, int64_t now,
                  int64_t *ret_n) {
        struct store_rows rows;
        char detail[RELIEF_REASON_MAX], one[DEVICE_NAME_MAX + 16] = "";
        int64_t n = 0;
        int r = store_select(s, Q_DEVICE_REVOKE, STORE_ARGS(A_TEXT(user), A_INT(id)), &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0)
                if (n++ == 0)
                        snprintf(one, sizeof(one), "%s %s", store_text(&rows, 1) ? store_text(&rows, 1) : "?",
                                 store_text(&rows, 2) ? store_text(&rows, 2) : "?");
        store_rows_end(&rows);
        if (r < 0)
                return r;
        *ret_n = n;
        if (n == 0)
                return id ? -ENOENT : 0;
        if (id)
                snprintf(detail, sizeof(detail), "device %lld (%s) %s", (long long) id, one, why);
        else
                snprintf(detail, sizeof(detail), "%lld remembered device%s %s", (long long) n, n == 1 ? "" : "s", why);
        struct event ev = { .type = EV_DEVICE_REVOKED, .user = user, .actor = actor, .detail = detail };
        return seclog_add(s, now, &ev);
}

int relief_purge(struct store *s, int64_t now) {
        int r = store_exec(s, Q_DEVICE_PURGE, STORE_ARGS(A_INT(now)));
        return r < 0 ? r : 0;
}
