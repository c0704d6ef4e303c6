/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * acctsec doctor: checks the PAM stacks, sshd's settings, the daemon and the
 * lock-out risks, and prints each finding with its fix.  Wrong stack order is
 * the most common way modules like this one fail open, so every rule here is
 * one the PAM stacks in the brief and in pam_acctsec(8) rely on.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "pamconf.h"

#define DOCTOR_FINDINGS_MAX 512
#define DOCTOR_SERVICES_MAX 256

enum severity { SEV_OK, SEV_INFO, SEV_WARNING, SEV_PROBLEM };
static const char *const sev_names[] = { "ok", "info", "warning", "problem" };

struct finding {
        enum severity sev;
        char check[24];
        char where[320];
        char msg[640];
        char fix[400];
};

struct doctor {
        struct cli *c;
        const char *pam_dir;
        struct finding *f;
        size_t n;
        unsigned dropped;
        bool sshd_has_mfa; /* the sshd PAM stack asks for a second factor */
        bool sshd_checked;
        bool console_protected; /* the login service (the console) uses pam_acctsec.so in auth */
        struct acctsec_conf conf;
};

__attribute__((format(printf, 6, 7))) static void add(struct doctor *d, enum severity sev, const char *check,
                                                      const char *where, const char *fix, const char *fmt, ...) {
        if (d->n >= DOCTOR_FINDINGS_MAX) {
                d->dropped++;
                return;
        }
        struct finding *f = &d->f[d->n++];
        f->sev = sev;
        snprintf(f->check, sizeof(f->check), "%s", check);
        snprintf(f->where, sizeof(f->where), "%s", where ? where : "");
        snprintf(f->fix, sizeof(f->fix), "%s", fix ? fix : "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
        va_end(ap);
        /* a line reached through several includes (or a loop) is reported once */
        for (size_t i = 0; i + 1 < d->n; i++)
                if (d->f[i].sev == f->sev && strcmp(d->f[i].msg, f->msg) == 0 && strcmp(d->f[i].where, f->where) == 0) {
                        d->n--;
                        return;
                }
}

/* ------------------------------------------------------------------ PAM */

static const char *const password_modules[] = { "pam_unix.so",  "pam_sss.so",    "pam_ldap.so", "pam_winbind.so",
                                                "pam_krb5.so",  "pam_matrix.so", "pam_userdb.so",
                                                "pam_pwdfile.so" };
static const char *const modes[] = { "preauth", "authfail", "authsucc", "mfa", "commit", "token" };

static bool is_acctsec(const struct pamconf_entry *e) {
        return strcmp(e->base, "pam_acctsec.so") == 0;
}

static bool is_password_module(const struct pamconf_entry *e) {
        for (size_t i = 0; i < sizeof(password_modules) / sizeof(password_modules[0]); i++)
                if (strcmp(e->base, password_modules[i]) == 0)
                        return true;
        return false;
}

/* The mode word of a pam_acctsec.so line, or "" for none. */
static const char *mode_of(const struct pamconf_entry *e) {
        for (int i = 0; i < e->argc; i++)
                for (size_t k = 0; k < sizeof(modes) / sizeof(modes[0]); k++)
                        if (strcmp(e->argv[i], modes[k]) == 0)
                                return modes[k];
        return "";
}

/* Index of the first acctsec line with that mode (or of the first password
 * module when mode is NULL), -1 if none. */
static int find(const struct pamconf_stack *st, enum pamconf_type t, const char *mode) {
        for (size_t i = 0; i < st->n[t]; i++) {
                const struct pamconf_entry *e = &st->e[t][i];
                if (mode ? is_acctsec(e) && strcmp(mode_of(e), mode) == 0 : is_password_module(e))
                        return (int) i;
        }
        return -1;
}

static bool uses_acctsec(const struct pamconf_stack *st, enum pamconf_type t) {
        for (size_t i = 0; i < st->n[t]; i++)
                if (is_acctsec(&st->e[t][i]))
                        return true;
        return false;
}

static const char *where(char *buf, size_t n, const char *dir, const struct pamconf_entry *e) {
        snprintf(buf, n, "%s%s%s:%u", e->file[0] == '/' ? "" : dir, e->file[0] == '/' ? "" : "/", e->file, e->line);
        return buf;
}

/* "auth [success=1 default=ignore] pam_unix.so nullok" as written. */
static const char *line_text(char *buf, size_t n, const struct pamconf_entry *e) {
        int k = snprintf(buf, n, "%s%s %s %s", e->dash ? "-" : "", pamconf_type_name(e->type), e->control,
                         e->module);
        for (int i = 0; i < e->argc && k >= 0 && (size_t) k < n; i++)
                k += snprintf(buf + k, n - (size_t) k, " %s", e->argv[i]);
        return buf;
}

struct svc {
        struct doctor *d;
        const char *name;
        struct pamconf_stack *st;
        char where[320]; /* the service file */
};

/* Where line i's jump on success lands.  As in Linux-PAM, a substack counts
 * as one line for a jump from outside it, and no jump leaves the substack
 * it starts in (it stops at the substack's end). */
static int jump_target(const struct pamconf_stack *st, int i) {
        const struct pamconf_entry *e = &st->e[PAMCONF_AUTH][i];
        int n = (int) st->n[PAMCONF_AUTH], k = i + 1;
        for (int left = e->on_success; left > 0 && k < n; left--) {
                const struct pamconf_entry *x = &st->e[PAMCONF_AUTH][k];
                if (e->subdepth == 0 && x->subdepth > 0) {
                        unsigned unit = x->sub_outer;
                        while (k < n && st->e[PAMCONF_AUTH][k].subdepth > 0 && st->e[PAMCONF_AUTH][k].sub_outer == unit)
                                k++;
                } else if (x->sub != e->sub && x->subdepth <= e->subdepth)
                        break;
                else
                        k++;
        }
        return k;
}

/* A line before mfa that can end the stack on success, or jump past mfa,
 * lets a login in without the second factor. */
static bool skips_past(const struct pamconf_stack *st, int i, int mfa) {
        const struct pamconf_entry *e = &st->e[PAMCONF_AUTH][i];
        /* pam_rootok only passes for a caller who is root already (su, runuser): intended */
        if (strcmp(e->base, "pam_rootok.so") == 0)
                return false;
        /* done and jumps inside a substack end at most the substack */
        if (e->sub != 0 && e->sub != st->e[PAMCONF_AUTH][mfa].sub)
                return false;
        if (e->on_success == PAMCONF_DONE)
                return true;
        return e->on_success > 0 && jump_target(st, i) > mfa;
}

static void check_auth_mfa(struct svc *s, int pw, int mfa) {
        const struct pamconf_stack *st = s->st;
        char w[400], l[600], fix[400];
        bool bad = false;
        if (mfa < 0)
                return;
        const struct pamconf_entry *m = &st->e[PAMCONF_AUTH][mfa];
        if (pw >= 0 && mfa < pw) {
                snprintf(fix, sizeof(fix), "move \"%s\" below the %s line (and its authfail line)",
                         line_text(l, sizeof(l), m), st->e[PAMCONF_AUTH][pw].base);
                add(s->d, SEV_PROBLEM, "auth-order", where(w, sizeof(w), s->d->pam_dir, m), fix,
                    "%s: auth: mfa comes before the password step (%s): the code is asked before the password is "
                    "checked",
                    s->name, st->e[PAMCONF_AUTH][pw].base);
                bad = true;
        }
        int as = find(st, PAMCONF_AUTH, "authsucc");
        if (as >= 0 && as < mfa) {
                const struct pamconf_entry *a = &st->e[PAMCONF_AUTH][as];
                snprintf(fix, sizeof(fix), "remove \"%s\": the mfa line takes its place", line_text(l, sizeof(l), a));
                add(s->d, SEV_PROBLEM, "auth-authsucc", where(w, sizeof(w), s->d->pam_dir, a), fix,
                    "%s: auth: authsucc comes before mfa: it clears the failure count before every guess of the "
                    "code, so codes can be guessed without a lockout",
                    s->name);
                bad = true;
        }
        if (m->on_default != PAMCONF_DIE && m->on_default != PAMCONF_BAD) {
                add(s->d, SEV_PROBLEM, "auth-mfa-control", where(w, sizeof(w), s->d->pam_dir, m),
                    "auth requisite pam_acctsec.so mfa",
                    "%s: auth: the mfa line is \"%s\": a wrong or missing code would not fail the login", s->name,
                    m->control);
                bad = true;
        }
        for (int i = 0; i < mfa; i++) {
                const struct pamconf_entry *e = &st->e[PAMCONF_AUTH][i];
                if (is_acctsec(e) && strcmp(mode_of(e), "token") == 0)
                        continue; /* checked on its own: an accepted token stands in for both factors */
                if (!skips_past(st, i, mfa))
                        continue;
                if (e->on_success == PAMCONF_DONE)
                        snprintf(fix, sizeof(fix),
                                 "write the line as \"auth [success=1 default=ignore] %s ...\" followed by "
                                 "\"auth [default=die] pam_acctsec.so authfail\"",
                                 e->module);
                else
                        snprintf(fix, sizeof(fix), "change success=%d so the jump lands before the mfa line (line %u)",
                                 e->on_success, m->line);
                add(s->d, SEV_PROBLEM, "auth-skip-mfa", where(w, sizeof(w), s->d->pam_dir, e), fix,
                    "%s: auth: \"%s\" %s before \"pam_acctsec.so mfa\": the second factor is never asked", s->name,
                    line_text(l, sizeof(l), e),
                    e->on_success == PAMCONF_DONE ? "ends the stack on success" : "jumps on success past the mfa line");
                bad = true;
        }
        if (!bad)
                add(s->d, SEV_OK, "auth-mfa", s->where, NULL, "%s: auth: mfa after the password step, nothing skips it",
                    s->name);
}

static bool is_deny(const struct pamconf_entry *e) {
        return strcmp(e->base, "pam_deny.so") == 0;
}

/* authfail must run exactly when the password failed: directly after the
 * password module, which on success jumps over it and over nothing but
 * pam_deny lines (Debian's common-auth puts one there), and not onto one. */
static bool skip_count_wrong(const struct pamconf_stack *st, int pw, int af, char *why, size_t n) {
        const struct pamconf_entry *p = &st->e[PAMCONF_AUTH][pw];
        char l[600];
        int nlines = (int) st->n[PAMCONF_AUTH];
        if (af != pw + 1) {
                snprintf(why, n, "\"%s\" comes between %s and authfail: a wrong password runs it first",
                         line_text(l, sizeof(l), &st->e[PAMCONF_AUTH][pw + 1]), p->base);
                return true;
        }
        if (p->on_success == PAMCONF_DONE)
                return false; /* sufficient also passes authfail (what else it skips, auth-skip-mfa says) */
        if (p->on_success <= 0) {
                snprintf(why, n, "\"%s\" does not jump over authfail on success: %s", line_text(l, sizeof(l), p),
                         p->on_default == PAMCONF_DIE ? "a wrong password ends the stack before authfail counts it"
                                                      : "authfail also runs after a right password and every login "
                                                        "fails");
                return true;
        }
        int target = jump_target(st, pw);
        if (pw + 1 + p->on_success > nlines) {
                snprintf(why, n, "the skip count success=%d on %s jumps past the end of the auth stack",
                         p->on_success, p->base);
                return true;
        }
        if (target < nlines && is_deny(&st->e[PAMCONF_AUTH][target])) {
                snprintf(why, n, "the skip count success=%d on %s lands on \"%s\": every right password is refused",
                         p->on_success, p->base, line_text(l, sizeof(l), &st->e[PAMCONF_AUTH][target]));
                return true;
        }
        for (int k = af + 1; k < target; k++)
                if (!is_deny(&st->e[PAMCONF_AUTH][k])) {
                        snprintf(why, n, "the skip count success=%d on %s jumps over \"%s\" as well as authfail",
                                 p->on_success, p->base, line_text(l, sizeof(l), &st->e[PAMCONF_AUTH][k]));
                        return true;
                }
        return false;
}

/* The brief's pattern: the password module jumps over authfail on success. */
static void check_auth_authfail(struct svc *s, int pw, int af) {
        const struct pamconf_stack *st = s->st;
        char w[400], l[600], fix[400];
        if (pw < 0)
                return;
        const struct pamconf_entry *p = &st->e[PAMCONF_AUTH][pw];
        if (af < 0) {
                snprintf(fix, sizeof(fix),
                         "write the password line as \"auth [success=1 default=ignore] %s ...\" and add "
                         "\"auth [default=die] pam_acctsec.so authfail\" right after it",
                         p->module);
                add(s->d, SEV_PROBLEM, "auth-authfail", where(w, sizeof(w), s->d->pam_dir, p), fix,
                    "%s: auth: no \"pam_acctsec.so authfail\" line after %s: wrong passwords are not counted, so "
                    "nobody is ever locked out",
                    s->name, p->base);
                return;
        }
        const struct pamconf_entry *a = &st->e[PAMCONF_AUTH][af];
        if (af < pw) {
                snprintf(fix, sizeof(fix), "move \"%s\" right below \"%s\"", line_text(l, sizeof(l), a), p->module);
                add(s->d, SEV_PROBLEM, "auth-order", where(w, sizeof(w), s->d->pam_dir, a), fix,
                    "%s: auth: authfail comes before the password step (%s)", s->name, p->base);
                return;
        }
        char why[640];
        if (skip_count_wrong(st, pw, af, why, sizeof(why))) {
                snprintf(fix, sizeof(fix),
                         "auth [success=1 default=ignore] %.150s ... followed directly by auth [default=die] "
                         "pam_acctsec.so authfail (count only the lines to jump over: authfail and any pam_deny)",
                         p->module);
                add(s->d, SEV_PROBLEM, "auth-skip-count", where(w, sizeof(w), s->d->pam_dir, p), fix, "%s: auth: %s",
                    s->name, why);
                return;
        }
        if (p->on_default != PAMCONF_IGNORE && p->on_default != PAMCONF_BAD) {
                add(s->d, SEV_PROBLEM, "auth-skip-count", where(w, sizeof(w), s->d->pam_dir, p),
                    "use default=ignore on the password line",
                    "%s: auth: \"%s\": a wrong password ends the stack before authfail counts it", s->name,
                    line_text(l, sizeof(l), p));
                return;
        }
        if (a->on_default != PAMCONF_DIE) {
                add(s->d, SEV_WARNING, "auth-authfail", where(w, sizeof(w), s->d->pam_dir, a),
                    "auth [default=die] pam_acctsec.so authfail",
                    "%s: auth: the authfail line is \"%s\": the stack goes on after a wrong password", s->name,
                    a->control);
                return;
        }
        add(s->d, SEV_OK, "auth-authfail", s->where, NULL, "%s: auth: authfail runs exactly when %s fails", s->name,
            p->base);
}

static void check_auth_token(struct svc *s, int pre) {
        const struct pamconf_stack *st = s->st;
        char w[400], l[600];
        int tk = find(st, PAMCONF_AUTH, "token");
        if (tk < 0)
                return;
        const struct pamconf_entry *t = &st->e[PAMCONF_AUTH][tk];
        if (pre >= 0 && tk > pre) {
                add(s->d, SEV_PROBLEM, "auth-token", where(w, sizeof(w), s->d->pam_dir, t),
                    "move the token line first: auth [success=done ignore=ignore default=die] pam_acctsec.so token",
                    "%s: auth: \"%s\" comes after preauth: a token is read as a password first", s->name,
                    line_text(l, sizeof(l), t));
                return;
        }
        if (!t->bracket || t->on_default != PAMCONF_DIE) {
                add(s->d, SEV_WARNING, "auth-token", where(w, sizeof(w), s->d->pam_dir, t),
                    "auth [success=done ignore=ignore default=die] pam_acctsec.so token",
                    "%s: auth: \"%s\": a refused token goes on to the password module and is counted twice; an "
                    "accepted token ends the stack (mfa included), as intended only for services that need tokens",
                    s->name, line_text(l, sizeof(l), t));
                return;
        }
        add(s->d, SEV_OK, "auth-token", s->where, NULL,
            "%s: auth: token line first; an accepted token stands in for both factors", s->name);
}

static void check_auth(struct svc *s) {
        const struct pamconf_stack *st = s->st;
        char w[400], l[600], fix[400];
        if (!uses_acctsec(st, PAMCONF_AUTH))
                return;
        int pw = find(st, PAMCONF_AUTH, NULL), pre = find(st, PAMCONF_AUTH, "preauth");
        int af = find(st, PAMCONF_AUTH, "authfail"), mfa = find(st, PAMCONF_AUTH, "mfa");
        if (pre < 0)
                add(s->d, SEV_WARNING, "auth-preauth", s->where, "auth requisite pam_acctsec.so preauth (first line of auth)",
                    "%s: auth: no preauth line: a locked user is still asked for the password", s->name);
        else if (pw >= 0 && pre > pw) {
                const struct pamconf_entry *p = &st->e[PAMCONF_AUTH][pre];
                snprintf(fix, sizeof(fix), "move \"%s\" above \"%s\"", line_text(l, sizeof(l), p),
                         st->e[PAMCONF_AUTH][pw].module);
                add(s->d, SEV_PROBLEM, "auth-order", where(w, sizeof(w), s->d->pam_dir, p), fix,
                    "%s: auth: preauth comes after the password module %s: a locked user's password is still tried",
                    s->name, st->e[PAMCONF_AUTH][pw].base);
        } else
                add(s->d, SEV_OK, "auth-preauth", s->where, NULL, "%s: auth: preauth before the password step",
                    s->name);
        check_auth_token(s, pre);
        check_auth_authfail(s, pw, af);
        check_auth_mfa(s, pw, mfa);
}

static void check_account(struct svc *s) {
        const struct pamconf_stack *st = s->st;
        char w[400];
        if (!uses_acctsec(st, PAMCONF_AUTH))
                return;
        for (size_t i = 0; i < st->n[PAMCONF_ACCOUNT]; i++) {
                const struct pamconf_entry *e = &st->e[PAMCONF_ACCOUNT][i];
                if (!is_acctsec(e))
                        continue;
                if (e->on_default == PAMCONF_IGNORE)
                        add(s->d, SEV_PROBLEM, "account", where(w, sizeof(w), s->d->pam_dir, e),
                            "account required pam_acctsec.so",
                            "%s: account: pam_acctsec.so is \"%s\": a locked or disabled account would still log in",
                            s->name, e->control);
                else
                        add(s->d, SEV_OK, "account", s->where, NULL, "%s: account: pam_acctsec.so present", s->name);
                return;
        }
        add(s->d, SEV_PROBLEM, "account", s->where, "account required pam_acctsec.so",
            "%s: no \"account ... pam_acctsec.so\" line: public-key logins skip auth, so lock, disable, the "
            "allowlist and forced password change would not apply to them",
            s->name);
}

static void check_password(struct svc *s) {
        const struct pamconf_stack *st = s->st;
        char w[400];
        if (!uses_acctsec(st, PAMCONF_PASSWORD))
                return;
        int pw = find(st, PAMCONF_PASSWORD, NULL), policy = find(st, PAMCONF_PASSWORD, "");
        int commit = find(st, PAMCONF_PASSWORD, "commit");
        bool bad = false;
        if (pw >= 0 && policy > pw) {
                add(s->d, SEV_PROBLEM, "password-order", where(w, sizeof(w), s->d->pam_dir, &st->e[PAMCONF_PASSWORD][policy]),
                    "move \"password requisite pam_acctsec.so\" above the pam_unix line",
                    "%s: password: the policy line comes after %s: the new password is stored before it is checked",
                    s->name, st->e[PAMCONF_PASSWORD][pw].base);
                bad = true;
        }
        if (pw >= 0 && commit >= 0 && commit < pw) {
                add(s->d, SEV_PROBLEM, "password-order", where(w, sizeof(w), s->d->pam_dir, &st->e[PAMCONF_PASSWORD][commit]),
                    "move \"password optional pam_acctsec.so commit\" below the pam_unix line (after pam_deny)",
                    "%s: password: commit comes before %s: history is recorded for a change that may not happen",
                    s->name, st->e[PAMCONF_PASSWORD][pw].base);
                bad = true;
        }
        if (pw >= 0 && commit < 0) {
                add(s->d, SEV_WARNING, "password-commit", s->where,
                    "password optional pam_acctsec.so commit (after pam_unix and pam_deny)",
                    "%s: password: no commit line: password history and change notifications are not recorded",
                    s->name);
                bad = true;
        }
        if (!bad)
                add(s->d, SEV_OK, "password-order", s->where, NULL, "%s: password: policy before, commit after",
                    s->name);
}

/* The module's own parser, so doctor rejects exactly what the module does. */
static void check_options(struct svc *s) {
        const struct pamconf_stack *st = s->st;
        char w[400], fix[400];
        bool bad = false;
        for (int t = 0; t < PAMCONF_NTYPES; t++)
                for (size_t i = 0; i < st->n[t]; i++) {
                        const struct pamconf_entry *e = &st->e[t][i];
                        if (!is_acctsec(e))
                                continue;
                        struct acctsec_conf conf;
                        acctsec_conf_defaults(&conf);
                        for (int k = 0; k < e->argc; k++) {
                                const char *why = NULL, *arg = e->argv[k];
                                bool mode = false;
                                for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
                                        mode |= strcmp(arg, modes[m]) == 0;
                                if (mode || strncmp(arg, "conf=", 5) == 0)
                                        continue;
                                if (acctsec_conf_set_arg(&conf, arg, ACCTSEC_CONF_ARGV, &why) == 0)
                                        continue;
                                snprintf(fix, sizeof(fix), "remove or correct \"%.100s\" (see pam_acctsec(8))", arg);
                                add(s->d, SEV_PROBLEM, "options", where(w, sizeof(w), s->d->pam_dir, e), fix,
                                    "%s: %s: pam_acctsec.so argument \"%.100s\": %s: the module refuses every "
                                    "login through this line",
                                    s->name, pamconf_type_name(e->type), arg, why ? why : "invalid");
                                bad = true;
                        }
                        if (conf.failmode == ACCTSEC_FAILMODE_OPEN)
                                add(s->d, SEV_WARNING, "failmode", where(w, sizeof(w), s->d->pam_dir, e),
                                    "remove failmode=open (the default fails closed)",
                                    "%s: %s: failmode=open: while the daemon is down or hung this line lets "
                                    "logins through",
                                    s->name, pamconf_type_name(e->type));
                }
        if (!bad && (uses_acctsec(st, PAMCONF_AUTH) || uses_acctsec(st, PAMCONF_ACCOUNT)))
                add(s->d, SEV_OK, "options", s->where, NULL, "%s: pam_acctsec.so arguments valid", s->name);
}

/* A module Linux-PAM cannot load fails its line; with "-" before the type
 * the line is skipped instead, and the lockout or second factor fails open. */
static void check_module(struct svc *s) {
        const struct pamconf_stack *st = s->st;
        const char *dir = s->d->c->module_dir ? s->d->c->module_dir : ACCTSEC_PAMDIR;
        char w[400], l[600], fix[700], path[4200];
        for (int t = 0; t < PAMCONF_NTYPES; t++)
                for (size_t i = 0; i < st->n[t]; i++) {
                        const struct pamconf_entry *e = &st->e[t][i];
                        if (!is_acctsec(e))
                                continue;
                        if (e->dash) {
                                snprintf(fix, sizeof(fix), "remove the \"-\" before the type: %s",
                                         line_text(l, sizeof(l), e) + 1);
                                add(s->d, SEV_PROBLEM, "module", where(w, sizeof(w), s->d->pam_dir, e), fix,
                                    "%s: \"-%s ... pam_acctsec.so\": were the module missing, Linux-PAM would skip "
                                    "the line silently and acctsec would fail open",
                                    s->name, pamconf_type_name(e->type));
                        }
                        snprintf(path, sizeof(path), "%s%s%s", e->module[0] == '/' ? "" : dir,
                                 e->module[0] == '/' ? "" : "/", e->module);
                        if (access(path, R_OK) != 0) {
                                snprintf(fix, sizeof(fix), "install pam_acctsec.so as %.300s (or correct the path)",
                                         path);
                                add(s->d, SEV_PROBLEM, "module", where(w, sizeof(w), s->d->pam_dir, e), fix,
                                    "%s: %s: no module at %s: Linux-PAM fails the line", s->name,
                                    pamconf_type_name(e->type), path);
                        }
                }
}

static void check_issues(struct svc *s) {
        for (unsigned i = 0; i < s->st->nissues; i++)
                add(s->d, s->st->fatal[i] ? SEV_PROBLEM : SEV_WARNING, "pam-parse", s->where,
                    s->st->fatal[i] ? "correct the line: Linux-PAM fails every login through this stack over it"
                                    : "correct the line so that Linux-PAM and doctor read it as intended",
                    "%s", s->st->issues[i]);
}

static void (*const service_checks[])(struct svc *s) = {
        check_issues, check_module, check_options, check_auth, check_account, check_password,
};

static void check_service(struct doctor *d, const char *dir, const char *name, struct pamconf_stack *st) {
        struct svc s = { .d = d, .name = name, .st = st };
        snprintf(s.where, sizeof(s.where), "%s%s%s", name[0] == '/' ? "" : dir, name[0] == '/' ? "" : "/", name);
        if (!uses_acctsec(st, PAMCONF_AUTH) && !uses_acctsec(st, PAMCONF_ACCOUNT) &&
            !uses_acctsec(st, PAMCONF_PASSWORD) && !uses_acctsec(st, PAMCONF_SESSION))
                return;
        for (size_t i = 0; i < sizeof(service_checks) / sizeof(service_checks[0]); i++)
                service_checks[i](&s);
        if (strcmp(name, "login") == 0)
                d->console_protected = uses_acctsec(st, PAMCONF_AUTH);
        if (strcmp(name, "sshd") == 0) {
                d->sshd_checked = true;
                d->sshd_has_mfa = find(st, PAMCONF_AUTH, "mfa") >= 0;
        }
}

static bool name_in(const char *name, char (*list)[PAMCONF_NAME_MAX], unsigned n) {
        for (unsigned i = 0; i < n; i++)
                if (strcmp(list[i], name) == 0)
                        return true;
        return false;
}

static int cmp_name(const void *a, const void *b) {
        return strcmp(a, b);
}

/* Every file in the directory that no other file includes is a service. */
static void check_pam_dir(struct doctor *d, const char *dir) {
        static char names[DOCTOR_SERVICES_MAX][PAMCONF_NAME_MAX], included[DOCTOR_SERVICES_MAX][PAMCONF_NAME_MAX];
        unsigned nnames = 0, nincl = 0;
        DIR *dh = opendir(dir);
        if (!dh) {
                add(d, SEV_PROBLEM, "pam", dir, "check --pam-dir", "cannot read %s: %s", dir, strerror(errno));
                return;
        }
        for (struct dirent *de; (de = readdir(dh)) && nnames < DOCTOR_SERVICES_MAX;) {
                if (de->d_name[0] == '.' || strlen(de->d_name) >= PAMCONF_NAME_MAX)
                        continue;
                snprintf(names[nnames++], PAMCONF_NAME_MAX, "%s", de->d_name);
        }
        closedir(dh);
        qsort(names, nnames, PAMCONF_NAME_MAX, cmp_name);
        for (unsigned i = 0; i < nnames; i++) {
                struct pamconf_stack st = { 0 };
                if (pamconf_load(&st, dir, names[i]) == 0)
                        for (unsigned k = 0; k < st.nincluded && nincl < DOCTOR_SERVICES_MAX; k++)
                                if (strcmp(st.included[k], names[i]) != 0) /* a file including itself */
                                        snprintf(included[nincl++], PAMCONF_NAME_MAX, "%s", st.included[k]);
                pamconf_stack_free(&st);
        }
        unsigned checked = 0;
        for (unsigned i = 0; i < nnames; i++) {
                if (name_in(names[i], included, nincl))
                        continue;
                struct pamconf_stack st = { 0 };
                if (pamconf_load(&st, dir, names[i]) == 0) {
                        size_t before = d->n;
                        check_service(d, dir, names[i], &st);
                        checked += d->n > before;
                }
                pamconf_stack_free(&st);
        }
        if (!checked)
                add(d, SEV_WARNING, "pam", dir, "add the lines from pam_acctsec(8) EXAMPLES to the services to protect",
                    "no service in %s uses pam_acctsec.so", dir);
}

static void check_pam_file(struct doctor *d, const char *path) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        const char *name = path;
        if (slash) {
                *slash = '\0';
                name = slash + 1;
                if (!dir[0])
                        strcpy(dir, "/");
        } else
                strcpy(dir, ".");
        d->pam_dir = dir;
        struct pamconf_stack st = { 0 };
        int r = pamconf_load(&st, dir, name);
        if (r < 0)
                add(d, SEV_PROBLEM, "pam", path, "check --pam-file", "cannot read %s: %s", path, strerror(-r));
        else {
                size_t before = d->n;
                check_service(d, dir, name, &st);
                if (d->n == before)
                        add(d, SEV_WARNING, "pam", path, "add the lines from pam_acctsec(8) EXAMPLES",
                            "%s does not use pam_acctsec.so", path);
        }
        pamconf_stack_free(&st);
        d->pam_dir = NULL;
}

/* ---------------------------------------------------------------- sshd */

struct sshd_settings {
        char use_pam[32], kbd[32], methods[512];
        unsigned files;
        bool match_seen;
};

static void sshd_set(char *dst, size_t n, const char *v) {
        if (!dst[0]) /* sshd: the first value obtained wins */
                snprintf(dst, n, "%s", v);
}

static void sshd_read(struct doctor *d, const char *path, const char *base, struct sshd_settings *s, unsigned depth);

static void sshd_line(struct doctor *d, const char *path, const char *base, struct sshd_settings *s, char *line,
                      unsigned depth) {
        char *save = NULL, *key = strtok_r(line, " \t=", &save);
        if (!key || key[0] == '#')
                return;
        char *val = save ? save + strspn(save, " \t=") : NULL;
        if (!val)
                return;
        val[strcspn(val, "\r")] = '\0';
        if (strcasecmp(key, "Match") == 0)
                s->match_seen = true;
        if (s->match_seen)
                return; /* conditional settings: not judged here */
        if (strcasecmp(key, "UsePAM") == 0)
                sshd_set(s->use_pam, sizeof(s->use_pam), val);
        else if (strcasecmp(key, "KbdInteractiveAuthentication") == 0 ||
                 strcasecmp(key, "ChallengeResponseAuthentication") == 0)
                sshd_set(s->kbd, sizeof(s->kbd), val);
        else if (strcasecmp(key, "AuthenticationMethods") == 0)
                sshd_set(s->methods, sizeof(s->methods), val);
        else if (strcasecmp(key, "Include") == 0 && depth < 4) {
                char pattern[4096];
                for (char *save2 = NULL, *g = strtok_r(val, " \t", &save2); g; g = strtok_r(NULL, " \t", &save2)) {
                        snprintf(pattern, sizeof(pattern), "%s%s%s", g[0] == '/' ? "" : base, g[0] == '/' ? "" : "/", g);
                        glob_t gl;
                        if (glob(pattern, 0, NULL, &gl) == 0)
                                for (size_t i = 0; i < gl.gl_pathc && i < 64; i++)
                                        sshd_read(d, gl.gl_pathv[i], base, s, depth + 1);
                        globfree(&gl);
                }
        }
        (void) path;
}

static void sshd_read(struct doctor *d, const char *path, const char *base, struct sshd_settings *s, unsigned depth) {
        char *text = NULL;
        if (pamconf_read_file(path, &text) < 0)
                return;
        s->files++;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                sshd_line(d, path, base, s, l, depth);
        free(text);
}

static bool is_yes(const char *v) {
        return strcasecmp(v, "yes") == 0;
}

static void check_sshd(struct doctor *d) {
        const char *path = d->c->sshd_config ? d->c->sshd_config : "/etc/ssh/sshd_config";
        struct sshd_settings s = { 0 };
        char base[4096];
        snprintf(base, sizeof(base), "%s", path);
        char *slash = strrchr(base, '/');
        if (slash)
                *slash = '\0';
        else
                strcpy(base, ".");
        if (access(path, F_OK) != 0) {
                add(d, SEV_INFO, "sshd", path, NULL, "%s not found: sshd checks skipped", path);
                return;
        }
        sshd_read(d, path, base, &s, 0);
        if (!s.files) {
                add(d, SEV_WARNING, "sshd", path, "run doctor as root", "cannot read %s: sshd checks skipped", path);
                return;
        }
        if (!d->sshd_checked)
                add(d, SEV_WARNING, "sshd-pam", path, "add the acctsec lines to the sshd PAM service (see pam_acctsec(8))",
                    "no sshd PAM service using pam_acctsec.so was checked: SSH logins are not protected by acctsec");
        if (!is_yes(s.use_pam))
                add(d, d->sshd_checked ? SEV_PROBLEM : SEV_WARNING, "sshd-usepam", path, "UsePAM yes",
                    "UsePAM is %s: sshd does not run the PAM stacks, so pam_acctsec.so never sees an SSH login",
                    s.use_pam[0] ? s.use_pam : "not set (default no)");
        else
                add(d, SEV_OK, "sshd-usepam", path, NULL, "UsePAM yes");
        if (!d->sshd_has_mfa) {
                add(d, SEV_INFO, "sshd-mfa", path, NULL, "the sshd PAM stack asks no second factor: "
                    "KbdInteractiveAuthentication and AuthenticationMethods not judged");
                return;
        }
        if (s.kbd[0] && !is_yes(s.kbd))
                add(d, SEV_PROBLEM, "sshd-kbdint", path, "KbdInteractiveAuthentication yes",
                    "KbdInteractiveAuthentication is %s: the sshd stack asks for a code, which needs "
                    "keyboard-interactive",
                    s.kbd);
        else
                add(d, SEV_OK, "sshd-kbdint", path, NULL, "KbdInteractiveAuthentication yes");
        if (!strstr(s.methods, "keyboard-interactive"))
                add(d, SEV_WARNING, "sshd-methods", path, "AuthenticationMethods publickey,keyboard-interactive",
                    "AuthenticationMethods is %s: a public-key login skips the PAM auth stack and so the second factor",
                    s.methods[0] ? s.methods : "not set");
        else
                add(d, SEV_OK, "sshd-methods", path, NULL, "AuthenticationMethods %s", s.methods);
}

/* root's and the admins' own state as the daemon sees it (it answers root
 * and admins only; otherwise nothing is said). */
static void check_admin_account(struct doctor *d, const char *user) {
        struct cli *c = d->c;
        char fix[200];
        acctsec_frame_init(&c->req, ACCTSEC_OP_STATUS);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_USER, user);
        if (acctsec_call(c->socket, 3000, &c->req, &c->reply) < 0 || acctsec_reply_errno(&c->reply) != 0)
                return;
        const char *policy = acctsec_msg_str(&c->reply, ACCTSEC_TAG_POLICY);
        uint64_t totp = 0, email = 0, locked = 0, disabled = 0;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_MFA, &totp);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_FLAG, &email);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_LOCKED_UNTIL, &locked);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_DISABLED, &disabled);
        if (locked) {
                snprintf(fix, sizeof(fix), "acctsec lockout reset --user %.64s", user);
                add(d, SEV_PROBLEM, "lockout-now", c->socket, fix, "%.64s (an admin) is locked out now", user);
        }
        if (disabled) {
                snprintf(fix, sizeof(fix), "acctsec account enable --user %.64s", user);
                add(d, SEV_WARNING, "lockout-now", c->socket, fix, "%.64s (an admin) is disabled", user);
        }
        if (policy && strcmp(policy, "required") == 0 && strcmp(mfa_state_name(totp), "active") != 0 && !email) {
                snprintf(fix, sizeof(fix), "acctsec mfa enroll totp --user %.64s", user);
                add(d, SEV_PROBLEM, "lockout-mfa-enrol", c->socket, fix,
                    "a second factor is required for %.64s (an admin), who has none enrolled: no login through an "
                    "mfa line",
                    user);
        }
}

static void check_admins(struct doctor *d) {
        check_admin_account(d, "root");
        struct group *g = d->conf.admin_group[0] ? getgrnam(d->conf.admin_group) : NULL;
        for (size_t i = 0; g && g->gr_mem && g->gr_mem[i] && i < 64; i++)
                check_admin_account(d, g->gr_mem[i]);
}

/* -------------------------------------------------------------- daemon */

static void check_daemon(struct doctor *d) {
        struct cli *c = d->c;
        const char *fix = "systemctl enable --now acctsecd.socket";
        struct stat st;
        if (lstat(c->socket, &st) < 0) {
                add(d, SEV_PROBLEM, "daemon", c->socket, fix, "no socket at %s: every login through pam_acctsec.so is "
                    "refused (fail closed)", c->socket);
                return;
        }
        if (!S_ISSOCK(st.st_mode)) {
                add(d, SEV_PROBLEM, "daemon", c->socket, fix, "%s is not a socket", c->socket);
                return;
        }
        if (st.st_uid != 0)
                add(d, st.st_uid == geteuid() ? SEV_WARNING : SEV_PROBLEM, "daemon-owner", c->socket,
                    "run acctsecd as root (acctsecd.socket)",
                    "%s belongs to uid %u, not root: the module refuses it", c->socket, (unsigned) st.st_uid);
        acctsec_frame_init(&c->req, ACCTSEC_OP_PING);
        int r = acctsec_call(c->socket, 3000, &c->req, &c->reply);
        if (r < 0) {
                add(d, SEV_PROBLEM, "daemon", c->socket, fix, "acctsecd does not answer at %s: %s", c->socket,
                    strerror(-r));
                return;
        }
        const char *v = acctsec_msg_str(&c->reply, ACCTSEC_TAG_MESSAGE);
        add(d, SEV_OK, "daemon", c->socket, NULL, "acctsecd answers (%s); it checked its database at start",
            v ? v : "?");
        check_admins(d);
}

/* ------------------------------------------------------------ lock-out */

static void check_lockout(struct doctor *d) {
        const char *path = d->c->conf_file ? d->c->conf_file : ACCTSEC_DEFAULT_CONF;
        struct acctsec_conf_error e = { 0 };
        acctsec_conf_defaults(&d->conf);
        /* -ENOENT also means an unknown key: tell them apart by the file */
        bool exists = access(path, F_OK) == 0;
        int r = acctsec_conf_load(&d->conf, path, NULL, &e);
        if (r == -ENOENT && !exists)
                add(d, SEV_INFO, "config", path, NULL, "%s not found: the built-in defaults apply", path);
        else if (r < 0) {
                char w[4200];
                snprintf(w, sizeof(w), "%s:%u", path, e.line);
                add(d, SEV_PROBLEM, "config", w, "correct the line (see acctsec.conf(5))",
                    "%s: the module refuses every login while the file is invalid", e.msg);
                return;
        } else
                add(d, SEV_OK, "config", path, NULL, "%s is valid", path);
        if (d->conf.failmode == ACCTSEC_FAILMODE_OPEN)
                add(d, SEV_WARNING, "failmode", path, "failmode = secure (the default)",
                    "failmode = open: while the daemon is down or hung, every pam_acctsec.so line lets logins "
                    "through");
        if (d->conf.even_deny_root) {
                /* forever, per name, on every way in: anyone can shut root out for good */
                bool forever = d->conf.unlock_time == 0 && d->conf.lock_scope == ACCTSEC_LOCK_SCOPE_USER;
                add(d, forever && d->console_protected ? SEV_PROBLEM : SEV_WARNING, "lockout-root", path,
                    "even_deny_root = no (root then stays usable on the console), or lock_scope = user+source",
                    "even_deny_root = yes: anyone who knows the name root can lock it out%s%s",
                    d->conf.unlock_time == 0 ? " until an admin unlocks it, and root is the admin" : "",
                    d->console_protected ? "" : " (the console's login service does not use pam_acctsec.so)");
        } else
                add(d, SEV_OK, "lockout-root", path, NULL, "root is never locked (even_deny_root = no)");
        if (!d->conf.admin_group[0]) {
                add(d, SEV_WARNING, "admin-group", path, "admin_group = GROUP (a group of the admins)",
                    "no admin_group: only root can unlock users and reset second factors");
                return;
        }
        struct group *g = getgrnam(d->conf.admin_group);
        if (!g)
                add(d, SEV_PROBLEM, "admin-group", path, "create the group or correct admin_group",
                    "admin_group = %s: no such group, so nobody but root is an admin", d->conf.admin_group);
        else if (!g->gr_mem || !g->gr_mem[0])
                add(d, SEV_WARNING, "admin-group", path, "add the admins to the group",
                    "admin_group = %s has no members (by /etc/group): only root can unlock users", d->conf.admin_group);
        else
                add(d, SEV_OK, "admin-group", path, NULL, "admin_group = %s exists", d->conf.admin_group);
        if (d->conf.mfa == ACCTSEC_MFA_REQUIRED)
                add(d, SEV_WARNING, "lockout-mfa", path, "enrol the admins first: acctsec mfa enroll totp --user NAME",
                    "mfa = required: an admin without an enrolled factor cannot log in through an mfa line");
}

/* -------------------------------------------------------------- output */

static void print_human(const struct doctor *d) {
        for (size_t i = 0; i < d->n; i++) {
                const struct finding *f = &d->f[i];
                printf("%-8s ", sev_names[f->sev]);
                print_safe(stdout, f->msg);
                if (f->where[0] && f->sev >= SEV_WARNING) {
                        printf("\n         at ");
                        print_safe(stdout, f->where);
                }
                if (f->fix[0] && f->sev >= SEV_WARNING) {
                        printf("\n         fix: ");
                        print_safe(stdout, f->fix);
                }
                putchar('\n');
        }
}

static void print_json(const struct doctor *d, unsigned problems, unsigned warnings) {
        struct json j;
        json_begin(&j, stdout);
        json_open(&j, NULL, '{');
        json_open(&j, "findings", '[');
        for (size_t i = 0; i < d->n; i++) {
                const struct finding *f = &d->f[i];
                json_open(&j, NULL, '{');
                json_str(&j, "severity", sev_names[f->sev]);
                json_str(&j, "check", f->check);
                json_str(&j, "where", f->where[0] ? f->where : NULL);
                json_str(&j, "message", f->msg);
                json_str(&j, "fix", f->fix[0] ? f->fix : NULL);
                json_close(&j, '}');
        }
        json_close(&j, ']');
        json_int(&j, "problems", problems);
        json_int(&j, "warnings", warnings);
        json_close(&j, '}');
        json_end(&j);
}

int cmd_doctor(struct cli *c) {
        if (c->pam_dir && c->pam_file) {
                fprintf(stderr, "acctsec: doctor takes --pam-dir or --pam-file, not both\n");
                return EXIT_USAGE;
        }
        struct doctor d = { .c = c, .f = calloc(DOCTOR_FINDINGS_MAX, sizeof(struct finding)) };
        if (!d.f)
                return cli_fail(c, EXIT_FAILURE, "out of memory");
        if (c->pam_file)
                check_pam_file(&d, c->pam_file);
        else {
                d.pam_dir = c->pam_dir ? c->pam_dir : "/etc/pam.d";
                check_pam_dir(&d, d.pam_dir);
        }
        check_sshd(&d);
        check_lockout(&d);
        if (c->socket_from_conf && c->conf_file)
                snprintf(c->socket, sizeof(c->socket), "%s", d.conf.socket);
        check_daemon(&d);
        unsigned problems = 0, warnings = 0;
        for (size_t i = 0; i < d.n; i++) {
                problems += d.f[i].sev == SEV_PROBLEM;
                warnings += d.f[i].sev == SEV_WARNING;
        }
        if (c->json)
                print_json(&d, problems, warnings);
        else {
                print_human(&d);
                if (d.dropped)
                        printf("(%u more findings not shown)\n", d.dropped);
                printf("%u problem(s), %u warning(s)\n", problems, warnings);
        }
        free(d.f);
        return problems ? 1 : 0;
}
