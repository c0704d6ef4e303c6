/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * acctsec user list: the regular accounts of the passwd database (the uid
 * range of login.defs), each with its state (one STATUS) and its last
 * login (the newest session_opened or auth_success event), all over one
 * connection.  The daemon decides who may read them: STATUS about another
 * user is for admins and auditors, so anyone else is refused at the first
 * account, and nothing is printed but the refusal.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

#define LOGIN_DEFS "/etc/login.defs"
#define NOBODY_UID 65534

struct user_row {
        char *name;
        uint64_t uid, failures, locked_until, disabled, must_change, totp, email_codes, sms_codes;
        char policy[16];
        uint64_t last_login; /* 0: none logged */
        char *from;          /* its remote host; NULL: none (a local login) */
};

struct user_list {
        struct user_row *v;
        size_t n;
};

/* UID_MIN and UID_MAX as useradd reads them; their defaults without. */
static void uid_range(unsigned long *ret_min, unsigned long *ret_max) {
        char line[256], key[32];
        unsigned long v;
        *ret_min = 1000;
        *ret_max = 60000;
        FILE *f = fopen(LOGIN_DEFS, "re");
        while (f && fgets(line, sizeof(line), f)) {
                if (sscanf(line, " %31s %lu", key, &v) != 2)
                        continue;
                if (strcmp(key, "UID_MIN") == 0)
                        *ret_min = v;
                else if (strcmp(key, "UID_MAX") == 0)
                        *ret_max = v;
        }
        if (f)
                fclose(f);
}

static int by_name(const void *a, const void *b) {
        return strcmp(((const struct user_row *) a)->name, ((const struct user_row *) b)->name);
}

static void users_free(struct user_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].name);
                free(l->v[i].from);
        }
        free(l->v);
        *l = (struct user_list){ 0 };
}

/* The accounts in the range, by name, each once (NSS may list a name from
 * two sources). */
static int read_accounts(struct user_list *l) {
        unsigned long lo, hi;
        size_t cap = 0;
        struct passwd *pw;
        uid_range(&lo, &hi);
        setpwent();
        while ((pw = getpwent())) {
                if (pw->pw_uid < lo || pw->pw_uid > hi || pw->pw_uid == NOBODY_UID)
                        continue;
                if (l->n == cap) {
                        struct user_row *v = realloc(l->v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
                        if (!v)
                                return endpwent(), -ENOMEM;
                        l->v = v;
                }
                l->v[l->n] = (struct user_row){ .name = strdup(pw->pw_name), .uid = pw->pw_uid };
                if (!l->v[l->n++].name)
                        return endpwent(), -ENOMEM;
        }
        endpwent();
        if (l->n)
                qsort(l->v, l->n, sizeof(*l->v), by_name);
        size_t kept = 0;
        for (size_t i = 0; i < l->n; i++) {
                if (kept && strcmp(l->v[kept - 1].name, l->v[i].name) == 0)
                        free(l->v[i].name);
                else
                        l->v[kept++] = l->v[i];
        }
        l->n = kept;
        return 0;
}

static uint64_t u64_of(const struct acctsec_msg *m, uint8_t tag) {
        uint64_t v = 0;
        (void) acctsec_msg_u64(m, tag, &v);
        return v;
}

/* 0, -ENOENT the user is gone (NSS no longer knows it), or the exit status. */
static int read_status(struct cli *c, struct user_row *u) {
        const struct acctsec_msg *m = &c->reply;
        acctsec_frame_init(&c->req, ACCTSEC_OP_STATUS);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_USER, u->name);
        int r = cli_call_allowing(c, ENOENT);
        if (r)
                return r;
        const char *policy = acctsec_msg_str(m, ACCTSEC_TAG_POLICY);
        u->uid = u64_of(m, ACCTSEC_TAG_UID);
        u->failures = u64_of(m, ACCTSEC_TAG_FAILURES);
        u->locked_until = u64_of(m, ACCTSEC_TAG_LOCKED_UNTIL);
        u->disabled = u64_of(m, ACCTSEC_TAG_DISABLED);
        u->must_change = u64_of(m, ACCTSEC_TAG_MUST_CHANGE);
        u->totp = u64_of(m, ACCTSEC_TAG_MFA);
        u->email_codes = u64_of(m, ACCTSEC_TAG_FLAG);
        u->sms_codes = u64_of(m, ACCTSEC_TAG_PHONE_CODES);
        snprintf(u->policy, sizeof(u->policy), "%s", policy ? policy : "");
        return 0;
}

/* The newest event of this type for the user (LOG_SHOW reads newest
 * first; a page may look at part of the log and hold nothing: go on from
 * its cursor).  0 or the exit status; u's last login becomes this event
 * when it is newer. */
static int newest_event(struct cli *c, struct user_row *u, const char *type) {
        const struct acctsec_msg *m = &c->reply;
        uint64_t cursor = 0, more;
        do {
                acctsec_frame_init(&c->req, ACCTSEC_OP_LOG_SHOW);
                acctsec_frame_add_str(&c->req, ACCTSEC_TAG_USER, u->name);
                acctsec_frame_add_str(&c->req, ACCTSEC_TAG_TYPE, type);
                acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_COUNT, 1);
                acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_ID, cursor);
                int r = cli_call(c);
                if (r)
                        return r;
                uint64_t time = u64_of(m, ACCTSEC_TAG_TIME), next = u64_of(m, ACCTSEC_TAG_ID);
                if (u64_of(m, ACCTSEC_TAG_COUNT) > 0) {
                        const char *rhost = acctsec_msg_str(m, ACCTSEC_TAG_RHOST);
                        if (time <= u->last_login)
                                return 0;
                        u->last_login = time;
                        free(u->from);
                        u->from = rhost && *rhost ? strdup(rhost) : NULL;
                        return 0;
                }
                more = u64_of(m, ACCTSEC_TAG_MORE);
                if (more && (next == 0 || (cursor && next >= cursor)))
                        return cli_fail(c, EXIT_FAILURE, "acctsecd sent a page that does not move back");
                cursor = next;
        } while (more);
        return 0;
}

/* Everything about every account, before anything is printed. */
static int read_rows(struct cli *c, struct user_list *l) {
        static const char *const logins[] = { "session_opened", "auth_success" };
        size_t kept = 0;
        for (size_t i = 0; i < l->n; i++) {
                struct user_row *u = &l->v[i];
                int r = read_status(c, u);
                for (size_t k = 0; r == 0 && k < sizeof(logins) / sizeof(logins[0]); k++)
                        r = newest_event(c, u, logins[k]);
                if (r == -ENOENT) { /* removed since getpwent */
                        free(u->name);
                        continue;
                }
                if (r)
                        return r;
                l->v[kept++] = *u;
        }
        l->n = kept;
        return 0;
}

static void row_json(struct json *j, const struct user_row *u) {
        json_open(j, NULL, '{');
        json_str(j, "user", u->name);
        json_int(j, "uid", (long long) u->uid);
        json_bool(j, "locked", u->locked_until != 0);
        json_time(j, "locked_until", u->locked_until);
        json_int(j, "failures", (long long) u->failures);
        json_bool(j, "disabled", u->disabled != 0);
        json_bool(j, "password_change_required", u->must_change != 0);
        json_str(j, "totp", mfa_state_name(u->totp));
        json_bool(j, "email_codes", u->email_codes != 0);
        json_bool(j, "sms_codes", u->sms_codes != 0);
        json_str(j, "mfa_policy", u->policy);
        json_time(j, "last_login", u->last_login);
        json_str(j, "last_login_from", u->from);
        json_close(j, '}');
}

/* "totp+email (required)", "none (optional)". */
static const char *factors_text(const struct user_row *u, char *buf, size_t n) {
        char f[64];
        snprintf(f, sizeof(f), "%s%s%s",
                 u->totp == ACCTSEC_MFA_STATE_ACTIVE    ? "+totp"
                 : u->totp == ACCTSEC_MFA_STATE_PENDING ? "+totp pending"
                                                        : "",
                 u->email_codes ? "+email" : "", u->sms_codes ? "+sms" : "");
        snprintf(buf, n, "%s (%s)", f[0] ? f + 1 : "none", u->policy);
        return buf;
}

static void row_text(const struct user_row *u, bool *footnote) {
        char t[64], lock[96], mfa[96];
        if (u->locked_until == ACCTSEC_LOCKED_FOREVER)
                snprintf(lock, sizeof(lock), "until unlocked");
        else if (u->locked_until)
                snprintf(lock, sizeof(lock), "until %s", fmt_time(u->locked_until, t, sizeof(t)));
        else
                snprintf(lock, sizeof(lock), "no");
        print_padded(stdout, u->name, 16);
        printf("%-25s %-9s %-26s ", lock, u->disabled ? "disabled" : u->must_change ? "enabled*" : "enabled",
               factors_text(u, mfa, sizeof(mfa)));
        *footnote |= !u->disabled && u->must_change;
        if (!u->last_login) {
                printf("never\n");
                return;
        }
        printf("%s", fmt_time(u->last_login, t, sizeof(t)));
        if (u->from) {
                printf(" from ");
                print_safe(stdout, u->from);
        }
        fputc('\n', stdout);
}

static void print_rows(const struct cli *c, const struct user_list *l) {
        bool footnote = false;
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_open(&j, "users", '[');
                for (size_t i = 0; i < l->n; i++)
                        row_json(&j, &l->v[i]);
                json_close(&j, ']');
                json_close(&j, '}');
                json_end(&j);
                return;
        }
        printf("%-16s %-25s %-9s %-26s %s\n", "USER", "LOCKED", "ACCOUNT", "SECOND FACTOR", "LAST LOGIN");
        for (size_t i = 0; i < l->n; i++)
                row_text(&l->v[i], &footnote);
        if (l->n == 0)
                printf("(no accounts in the uid range of " LOGIN_DEFS ")\n");
        if (footnote)
                printf("* the password must be changed at the next login\n");
}

int cmd_user_list(struct cli *c) {
        struct user_list l = { 0 };
        if (c->user)
                return cli_fail(c, EXIT_USAGE, "user list takes no --user: it lists every account");
        int r = read_accounts(&l);
        if (r < 0) {
                users_free(&l);
                return cli_fail(c, EXIT_FAILURE, "reading the passwd database: %s", strerror(-r));
        }
        cli_keep_connection(c);
        r = read_rows(c, &l);
        cli_disconnect(c);
        if (r == 0)
                print_rows(c, &l);
        users_free(&l);
        return r;
}
