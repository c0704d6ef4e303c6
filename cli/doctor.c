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
#include <time.h>
#include <unistd.h>

#include "cidr.h"
#include "cli.h"
#include "geoip.h"
#include "macro.h"
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

/* sshd_config's settings, as sshd reads them (the first value wins). */
struct sshd_settings {
        char use_pam[32], kbd[32], password[32], methods[512];
        unsigned files;
        bool match_seen;
};

/* How a login reaches the sshd PAM auth stack, from those settings. */
struct sshd_ways {
        bool known;     /* sshd_config read and UsePAM yes: the rest is meaningful */
        bool kbd_first; /* keyboard-interactive with no other method before it (SSH_AUTH_INFO_0 empty) */
        bool kbd_after; /* keyboard-interactive after another method, e.g. publickey (SSH_AUTH_INFO_0 set) */
        bool kbd_alone, password_alone; /* that method alone (or only with PAM methods) logs in */
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
        /* read before the PAM stacks, which are judged with them */
        const char *sshd_path;
        struct sshd_settings sshd; /* files == 0: not read */
        bool sshd_exists;
        struct sshd_ways ways;
        const char *conf_path;
        int conf_r; /* acctsec_conf_load's result */
        bool conf_exists;
        struct acctsec_conf_error conf_err;
        struct acctsec_conf conf;
        char private_socket[ACCTSEC_SOCKET_PATH_MAX]; /* root's; "": none (path too long) */
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

/* The password modules whose place around authfail doctor judges. */
static const char *const password_modules[] = { "pam_unix.so",  "pam_sss.so",    "pam_ldap.so", "pam_winbind.so",
                                                "pam_krb5.so",  "pam_matrix.so", "pam_userdb.so",
                                                "pam_pwdfile.so" };
/* Auth modules that ask the user for nothing, so never stand for a first
 * factor nor make the stack's first prompt; every other module but
 * pam_acctsec.so is taken for one (a password module doctor does not know
 * by name).  pam_rootok too: it passes a caller who is root already (su),
 * whatever the user knows. */
static const char *const no_factor_modules[] = {
        "pam_permit.so",  "pam_deny.so",    "pam_env.so",       "pam_faildelay.so", "pam_nologin.so",
        "pam_succeed_if.so", "pam_warn.so", "pam_echo.so",      "pam_motd.so",      "pam_shells.so",
        "pam_securetty.so", "pam_access.so", "pam_time.so",     "pam_limits.so",    "pam_group.so",
        "pam_cap.so",     "pam_keyinit.so", "pam_loginuid.so",  "pam_selinux.so",   "pam_systemd.so",
        "pam_umask.so",   "pam_mail.so",    "pam_lastlog.so",   "pam_exec.so",      "pam_rootok.so",
};
static const char *const modes[] = { "preauth", "authfail", "authsucc", "mfa", "commit", "token", "recover" };

static bool is_acctsec(const struct pamconf_entry *e) {
        return strcmp(e->base, "pam_acctsec.so") == 0;
}

static bool base_in(const struct pamconf_entry *e, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(e->base, list[i]) == 0)
                        return true;
        return false;
}

static bool is_password_module(const struct pamconf_entry *e) {
        return base_in(e, password_modules, ARRAY_SIZE(password_modules));
}

/* A line that asks the user for something other than acctsec's code. */
static bool is_first_factor(const struct pamconf_entry *e) {
        return !is_acctsec(e) && !base_in(e, no_factor_modules, ARRAY_SIZE(no_factor_modules));
}

static bool is_mode(const char *arg) {
        for (size_t m = 0; m < ARRAY_SIZE(modes); m++)
                if (strcmp(arg, modes[m]) == 0)
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

/* "auth [success=1 default=ignore] pam_unix.so nullok" as written, less
 * the arguments that start with drop (NULL: none), plus extra (NULL: none). */
static const char *line_text_with(char *buf, size_t n, const struct pamconf_entry *e, const char *drop,
                                  const char *extra) {
        int k = snprintf(buf, n, "%s%s %s %s", e->dash ? "-" : "", pamconf_type_name(e->type), e->control,
                         e->module);
        for (int i = 0; i < e->argc && k >= 0 && (size_t) k < n; i++)
                if (!drop || strncmp(e->argv[i], drop, strlen(drop)) != 0)
                        k += snprintf(buf + k, n - (size_t) k, " %s", e->argv[i]);
        if (extra && k >= 0 && (size_t) k < n)
                snprintf(buf + k, n - (size_t) k, " %s", extra);
        return buf;
}

static const char *line_text(char *buf, size_t n, const struct pamconf_entry *e) {
        return line_text_with(buf, n, e, NULL, NULL);
}

/* The first auth line that asks for a factor of its own (a password), -1 if none. */
static int find_first_factor(const struct pamconf_stack *st) {
        for (size_t i = 0; i < st->n[PAMCONF_AUTH]; i++)
                if (is_first_factor(&st->e[PAMCONF_AUTH][i]))
                        return (int) i;
        return -1;
}

/* What the auth stack asks first after line from (-1: from the top): the
 * password (a first factor) or the code (mfa); -1 when neither follows. */
static int first_prompt_after(const struct pamconf_stack *st, int from) {
        for (size_t i = (size_t) (from + 1); i < st->n[PAMCONF_AUTH]; i++) {
                const struct pamconf_entry *e = &st->e[PAMCONF_AUTH][i];
                if (is_first_factor(e))
                        return ACCTSEC_PROMPT_PASSWORD;
                if (is_acctsec(e) && strcmp(mode_of(e), "mfa") == 0)
                        return ACCTSEC_PROMPT_CODE;
        }
        return -1;
}

struct svc {
        struct doctor *d;
        const char *name;
        struct pamconf_stack *st;
        char where[320]; /* the service file */
};

/* sshd's PAM service: sshd asks for it by that name. */
static bool is_sshd(const struct svc *s) {
        return strcmp(s->name, "sshd") == 0;
}

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

/* Where the mfa line is said to be only what the stack shows: a stack
 * without a password step has none for mfa to follow (auth-code-alone). */
static void mfa_ok(struct svc *s, int mfa) {
        int ff = find_first_factor(s->st);
        const char *base = ff >= 0 ? s->st->e[PAMCONF_AUTH][ff].base : "";
        if (ff < 0)
                add(s->d, SEV_OK, "auth-mfa", s->where, NULL,
                    "%s: auth: nothing skips the mfa line (the stack asks for no password)", s->name);
        else if (ff < mfa)
                add(s->d, SEV_OK, "auth-mfa", s->where, NULL,
                    "%s: auth: mfa after the password step (%s), nothing skips it", s->name, base);
        else
                add(s->d, SEV_OK, "auth-mfa", s->where, NULL, "%s: auth: mfa, then %s; nothing skips mfa", s->name,
                    base);
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
                mfa_ok(s, mfa);
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

static bool has_arg(const struct pamconf_entry *e, const char *arg) {
        for (int i = 0; i < e->argc; i++)
                if (strcmp(e->argv[i], arg) == 0)
                        return true;
        return false;
}

/* The recover line ("forgot" as the password): before the password
 * module, which must take any other answer from it (try_first_pass); a
 * right code must jump to the mfa line (never end the stack: the second
 * factor is still asked), a wrong one end it (default=die: counted once);
 * and the password stack must have the policy line, which hands pam_unix
 * the temporary password at the forced change. */
static void check_auth_recover(struct svc *s, int pw, int mfa) {
        const struct pamconf_stack *st = s->st;
        char w[400], l[600];
        int rc = find(st, PAMCONF_AUTH, "recover");
        if (rc < 0)
                return;
        const struct pamconf_entry *r = &st->e[PAMCONF_AUTH][rc];
        const char *at = where(w, sizeof(w), s->d->pam_dir, r);
        const char *fix = "auth [success=2 ignore=ignore default=die] pam_acctsec.so recover, right before "
                          "\"pam_unix.so try_first_pass\", authfail and mfa after it (pam_acctsec(8))";
        if (pw < 0 || rc > pw) {
                add(s->d, SEV_PROBLEM, "auth-recover", at, fix,
                    "%s: auth: \"%s\" does not come before a password module: \"forgot\" is tried as a password",
                    s->name, line_text(l, sizeof(l), r));
                return;
        }
        const struct pamconf_entry *p = &st->e[PAMCONF_AUTH][pw];
        if (!has_arg(p, "try_first_pass") && !has_arg(p, "use_first_pass")) {
                add(s->d, SEV_PROBLEM, "auth-recover", where(w, sizeof(w), s->d->pam_dir, p), fix,
                    "%s: auth: %s has no try_first_pass after the recover line: every password is asked twice",
                    s->name, p->base);
                return;
        }
        if (mfa < 0 || !r->bracket || r->on_success <= 0 || rc + r->on_success + 1 != mfa ||
            r->on_default != PAMCONF_DIE) {
                add(s->d, SEV_PROBLEM, "auth-recover", at, fix,
                    "%s: auth: \"%s\": a right recovery code must jump to the mfa line (the second factor is still "
                    "asked) and a wrong one end the stack",
                    s->name, line_text(l, sizeof(l), r));
                return;
        }
        if (find(st, PAMCONF_PASSWORD, "") < 0) {
                add(s->d, SEV_PROBLEM, "auth-recover", at,
                    "password requisite pam_acctsec.so, before pam_unix (pam_acctsec(8))",
                    "%s: auth: a recover line, but no pam_acctsec.so policy line in password: after a recovery "
                    "pam_unix asks for a current password nobody knows, and the login cannot finish",
                    s->name);
                return;
        }
        add(s->d, SEV_OK, "auth-recover", s->where, NULL,
            "%s: auth: recover before %s, a right code goes on to mfa", s->name, p->base);
}

/* The configuration one pam_acctsec.so line runs with, as the module reads
 * it: the file (conf=, else the one doctor reads) with the service's
 * section, then the line's own arguments.  (A requirement set per user with
 * "acctsec mfa require" is the daemon's, and not seen here.) */
static void line_conf(const struct svc *s, const struct pamconf_entry *e, struct acctsec_conf *ret) {
        const char *path = s->d->conf_path;
        struct acctsec_conf_match m = { .service = s->name };
        for (int k = 0; k < e->argc; k++)
                if (strncmp(e->argv[k], "conf=", 5) == 0)
                        path = e->argv[k] + 5;
        acctsec_conf_defaults(ret);
        (void) acctsec_conf_load(ret, path, &m, NULL); /* an invalid file is the config check's problem */
        for (int k = 0; k < e->argc; k++)
                if (!is_mode(e->argv[k]) && strncmp(e->argv[k], "conf=", 5) != 0)
                        (void) acctsec_conf_set_arg(ret, e->argv[k], ACCTSEC_CONF_ARGV, NULL);
}

/* A line that gives the stack its success for a user mfa asks nothing:
 * preauth (PAM_SUCCESS when not locked) or pam_permit. */
static bool succeeds_for_anyone(const struct pamconf_stack *st) {
        for (size_t i = 0; i < st->n[PAMCONF_AUTH]; i++) {
                const struct pamconf_entry *e = &st->e[PAMCONF_AUTH][i];
                bool passes = (is_acctsec(e) && strcmp(mode_of(e), "preauth") == 0) ||
                              strcmp(e->base, "pam_permit.so") == 0;
                if (passes && (e->on_success == PAMCONF_OK || e->on_success == PAMCONF_DONE))
                        return true;
        }
        return false;
}

/* Outside sshd nothing tells the module that no first factor was checked,
 * so mfa's policy decides who gets in with what.  A code alone may be meant
 * there (sudo with a code): a warning; nothing at all is a problem. */
static void code_alone_elsewhere(struct svc *s, const char *at, const struct pamconf_entry *m) {
        struct acctsec_conf conf;
        line_conf(s, m, &conf);
        const char *fix = "a password module and authfail between preauth and mfa (see pam_acctsec(8))";
        bool anyone = succeeds_for_anyone(s->st);
        if (conf.mfa == ACCTSEC_MFA_OFF && anyone)
                add(s->d, SEV_PROBLEM, "auth-code-alone", at, fix,
                    "%s: auth: the stack asks for no password and mfa = off: everyone logs in with nothing at all",
                    s->name);
        else if (conf.mfa == ACCTSEC_MFA_OPTIONAL && anyone)
                add(s->d, SEV_PROBLEM, "auth-code-alone", at, fix,
                    "%s: auth: the stack asks for no password: users without a second factor log in with nothing "
                    "at all (mfa = optional: preauth lets them on and mfa has nothing to ask), enrolled users with a "
                    "one-time code alone",
                    s->name);
        else
                add(s->d, SEV_WARNING, "auth-code-alone", at, fix,
                    "%s: auth: the stack asks for no password: enrolled users log in with a one-time code alone "
                    "(users without a second factor are refused: %s)",
                    s->name, anyone ? "mfa = required" : "no line gives the stack a success");
}

/* The way in through the PAM stack alone, and what else says so. */
static void alone_ways(const struct doctor *d, char *buf, size_t n) {
        const struct sshd_ways *w = &d->ways;
        const char *methods = d->sshd.methods[0] ? d->sshd.methods : "not set";
        if (w->kbd_alone)
                snprintf(buf, n, "keyboard-interactive alone log in (AuthenticationMethods %.200s%s)", methods,
                         w->password_alone ? "; password authentication too, which gives the password to the code "
                                             "prompt"
                                           : "");
        else
                snprintf(buf, n, "password authentication alone log in (AuthenticationMethods %.200s; sshd gives the "
                         "password to the code prompt)", methods);
}

/* With no password step the code is all the stack asks.  For sshd that is
 * the designed key+code stack when sshd asks another method first; a way
 * in through the stack alone takes a one-time code alone (the daemon
 * refuses users with nothing to ask: sshd's SSH_AUTH_INFO_0 is empty). */
static void check_auth_code_alone(struct svc *s, int mfa) {
        struct doctor *d = s->d;
        const struct sshd_ways *w = &d->ways;
        char at[400], how[400];
        if (mfa < 0 || find_first_factor(s->st) >= 0)
                return;
        where(at, sizeof(at), d->pam_dir, &s->st->e[PAMCONF_AUTH][mfa]);
        if (!is_sshd(s)) {
                code_alone_elsewhere(s, at, &s->st->e[PAMCONF_AUTH][mfa]);
                return;
        }
        const char *fix = "AuthenticationMethods publickey,keyboard-interactive (or a password module before mfa)";
        if (!d->sshd.files)
                add(d, SEV_WARNING, "auth-code-alone", at, fix,
                    "sshd: auth: the stack asks for no password and %s was not read: unless AuthenticationMethods "
                    "puts another method (publickey) first, enrolled users log in with a one-time code alone",
                    d->sshd_path);
        else if (!w->known)
                return; /* UsePAM is not yes: sshd never runs the stack (sshd-usepam says so) */
        else if (w->kbd_alone || w->password_alone) {
                alone_ways(d, how, sizeof(how));
                add(d, SEV_PROBLEM, "auth-code-alone", at, fix,
                    "sshd: auth: sshd lets %s, and its auth stack asks for no password: enrolled users log in with a "
                    "one-time code alone (users without a second factor are refused)",
                    how);
        } else
                add(d, SEV_OK, "auth-code-alone", at, NULL,
                    "sshd: auth: no password step, and sshd asks another method before the code (AuthenticationMethods "
                    "%.200s)",
                    d->sshd.methods);
}

/* 1 (why says how) when preauth's prompt p is not first, the stack's first
 * prompt after it; 0 when it is; -1 when that cannot be told. */
static int prompt_wrong(const struct svc *s, int first, enum acctsec_prompt p, char *why, size_t n) {
        const struct sshd_ways *w = &s->d->ways;
        const char *methods = s->d->sshd.methods[0] ? s->d->sshd.methods : "not set";
        if (p != ACCTSEC_PROMPT_AUTO) {
                snprintf(why, n, "prompt=%s", p == ACCTSEC_PROMPT_CODE ? "code" : "password");
                return (int) p != first;
        }
        /* auto asks for the code only where sshd's SSH_AUTH_INFO_0 says another method succeeded */
        if (!is_sshd(s)) {
                snprintf(why, n, "prompt=auto, the default, asks for the password outside sshd");
                return first == ACCTSEC_PROMPT_CODE;
        }
        if (!w->known || (first == ACCTSEC_PROMPT_CODE && (w->kbd_alone || w->password_alone)))
                return -1; /* auth-code-alone's fix decides which prompt is first */
        if (first == ACCTSEC_PROMPT_PASSWORD && w->kbd_after) {
                snprintf(why, n, "prompt=auto, the default, asks for a code where sshd runs keyboard-interactive after "
                         "another method: AuthenticationMethods %.200s", methods);
                return 1;
        }
        if (first == ACCTSEC_PROMPT_CODE && w->kbd_first) {
                snprintf(why, n, "prompt=auto, the default, asks for the password where keyboard-interactive comes "
                         "first: AuthenticationMethods %.200s", methods);
                return 1;
        }
        return 0;
}

/* preauth refuses a locked user (or a source outside the allowlist) at the
 * stack's first prompt, so that the refusal looks like any wrong answer:
 * a prompt nobody else gets tells the user, and whoever watches, why. */
static void check_auth_prompt(struct svc *s, int pre, int pw) {
        const struct pamconf_entry *e = pre >= 0 ? &s->st->e[PAMCONF_AUTH][pre] : NULL;
        int first = pre >= 0 ? first_prompt_after(s->st, pre) : -1;
        char why[400], at[400], l[600], fix[700];
        /* mfa before the password module: auth-order's fix changes which prompt is first */
        if (first < 0 || (first == ACCTSEC_PROMPT_CODE && pw > pre))
                return;
        struct acctsec_conf conf;
        line_conf(s, e, &conf);
        int wrong = prompt_wrong(s, first, conf.prompt, why, sizeof(why));
        const char *want = first == ACCTSEC_PROMPT_CODE ? "prompt=code" : "prompt=password";
        if (wrong < 0)
                return;
        if (!wrong) {
                add(s->d, SEV_OK, "auth-prompt", s->where, NULL,
                    "%s: auth: preauth refuses at the stack's first prompt (the %s)", s->name,
                    first == ACCTSEC_PROMPT_CODE ? "code" : "password");
                return;
        }
        snprintf(fix, sizeof(fix), "add %s: %s", want, line_text_with(l, sizeof(l), e, "prompt=", want));
        if (first == ACCTSEC_PROMPT_CODE)
                add(s->d, SEV_WARNING, "auth-prompt", where(at, sizeof(at), s->d->pam_dir, e), fix,
                    "%s: auth: a locked user would be asked for a password that nobody else is asked for (%s; the "
                    "stack asks for the code first)", s->name, why);
        else
                add(s->d, SEV_WARNING, "auth-prompt", where(at, sizeof(at), s->d->pam_dir, e), fix,
                    "%s: auth: a locked user would be asked for a verification code where others are asked for the "
                    "password (%s)", s->name, why);
}

static void check_auth(struct svc *s) {
        const struct pamconf_stack *st = s->st;
        char w[400], l[600], fix[400];
        if (!uses_acctsec(st, PAMCONF_AUTH))
                return;
        int pw = find(st, PAMCONF_AUTH, NULL), pre = find(st, PAMCONF_AUTH, "preauth");
        int af = find(st, PAMCONF_AUTH, "authfail"), mfa = find(st, PAMCONF_AUTH, "mfa");
        int first = first_prompt_after(st, pre); /* after preauth, or from the top without one */
        const char *step = first == ACCTSEC_PROMPT_CODE ? "code" : "password";
        const char *before = first < 0                      ? "the rest of the stack"
                             : first == ACCTSEC_PROMPT_CODE ? "the code (the stack asks for no password)"
                                                            : "the password step";
        if (pre < 0)
                add(s->d, SEV_WARNING, "auth-preauth", s->where, "auth requisite pam_acctsec.so preauth (first line of auth)",
                    "%s: auth: no preauth line: a locked user is still asked for the %s", s->name, step);
        else if (pw >= 0 && pre > pw) {
                const struct pamconf_entry *p = &st->e[PAMCONF_AUTH][pre];
                snprintf(fix, sizeof(fix), "move \"%s\" above \"%s\"", line_text(l, sizeof(l), p),
                         st->e[PAMCONF_AUTH][pw].module);
                add(s->d, SEV_PROBLEM, "auth-order", where(w, sizeof(w), s->d->pam_dir, p), fix,
                    "%s: auth: preauth comes after the password module %s: a locked user's password is still tried",
                    s->name, st->e[PAMCONF_AUTH][pw].base);
        } else
                add(s->d, SEV_OK, "auth-preauth", s->where, NULL, "%s: auth: preauth before %s", s->name, before);
        check_auth_token(s, pre);
        check_auth_recover(s, pw, mfa);
        check_auth_authfail(s, pw, af);
        check_auth_mfa(s, pw, mfa);
        check_auth_code_alone(s, mfa);
        check_auth_prompt(s, pre, pw);
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
                                if (is_mode(arg) || strncmp(arg, "conf=", 5) == 0)
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

static void sshd_set(char *dst, size_t n, const char *v) {
        if (!dst[0]) /* sshd: the first value obtained wins */
                snprintf(dst, n, "%s", v);
}

static void sshd_read(const char *path, const char *base, struct sshd_settings *s, unsigned depth);

static void sshd_include(const char *base, struct sshd_settings *s, char *val, unsigned depth) {
        char pattern[4096];
        for (char *save = NULL, *g = strtok_r(val, " \t", &save); g; g = strtok_r(NULL, " \t", &save)) {
                snprintf(pattern, sizeof(pattern), "%s%s%s", g[0] == '/' ? "" : base, g[0] == '/' ? "" : "/", g);
                glob_t gl;
                if (glob(pattern, 0, NULL, &gl) == 0)
                        for (size_t i = 0; i < gl.gl_pathc && i < 64; i++)
                                sshd_read(gl.gl_pathv[i], base, s, depth + 1);
                globfree(&gl);
        }
}

static void sshd_line(const char *base, struct sshd_settings *s, char *line, unsigned depth) {
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
        else if (strcasecmp(key, "PasswordAuthentication") == 0)
                sshd_set(s->password, sizeof(s->password), val);
        else if (strcasecmp(key, "AuthenticationMethods") == 0)
                sshd_set(s->methods, sizeof(s->methods), val);
        else if (strcasecmp(key, "Include") == 0 && depth < 4)
                sshd_include(base, s, val, depth);
}

static void sshd_read(const char *path, const char *base, struct sshd_settings *s, unsigned depth) {
        char *text = NULL;
        if (pamconf_read_file(path, &text) < 0)
                return;
        s->files++;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                sshd_line(base, s, l, depth);
        free(text);
}

static bool is_yes(const char *v) {
        return strcasecmp(v, "yes") == 0;
}

/* Unset is yes: sshd's default for both (ChallengeResponseAuthentication,
 * the old name, included). */
static bool kbd_enabled(const struct sshd_settings *s) {
        return !s->kbd[0] || is_yes(s->kbd);
}

static bool password_enabled(const struct sshd_settings *s) {
        return !s->password[0] || is_yes(s->password);
}

enum sshd_method { METHOD_OTHER, METHOD_KBD, METHOD_PASSWORD, METHOD_DISABLED };

/* With UsePAM yes, keyboard-interactive runs the PAM auth stack, and so does
 * password (sshd answers each prompt that does not echo, the code's too,
 * with the password). */
static enum sshd_method sshd_method(const struct sshd_settings *s, const char *m, size_t len) {
        static const char kbd[] = "keyboard-interactive";
        size_t k = sizeof(kbd) - 1;
        if (len >= k && strncmp(m, kbd, k) == 0 && (len == k || m[k] == ':'))
                return kbd_enabled(s) ? METHOD_KBD : METHOD_DISABLED;
        if (len == 8 && strncmp(m, "password", 8) == 0)
                return password_enabled(s) ? METHOD_PASSWORD : METHOD_DISABLED;
        return METHOD_OTHER;
}

/* One AuthenticationMethods list ("publickey,keyboard-interactive"). */
static void sshd_list(const struct sshd_settings *s, const char *list, size_t len, struct sshd_ways *w) {
        struct sshd_ways l = { 0 };
        bool other = false, kbd = false, password = false;
        for (size_t i = 0; i < len;) {
                size_t n = strcspn(list + i, ",");
                if (n > len - i)
                        n = len - i;
                switch (sshd_method(s, list + i, n)) {
                case METHOD_DISABLED:
                        return; /* sshd skips a list that names a disabled method */
                case METHOD_OTHER:
                        other = true;
                        break;
                case METHOD_KBD:
                        kbd = true;
                        *(other ? &l.kbd_after : &l.kbd_first) = true;
                        break;
                case METHOD_PASSWORD:
                        password = true;
                        break;
                }
                i += n + 1;
        }
        w->kbd_first |= l.kbd_first;
        w->kbd_after |= l.kbd_after;
        w->kbd_alone |= !other && kbd;
        w->password_alone |= !other && password && !kbd;
}

static void sshd_ways(const struct sshd_settings *s, struct sshd_ways *w) {
        *w = (struct sshd_ways){ .known = s->files && is_yes(s->use_pam) };
        if (!w->known)
                return;
        if (!s->methods[0] || strcasecmp(s->methods, "any") == 0) {
                /* any one enabled method logs in on its own */
                w->kbd_first = w->kbd_alone = kbd_enabled(s);
                w->password_alone = password_enabled(s);
                return;
        }
        const char *m = s->methods;
        while (*m) {
                m += strspn(m, " \t");
                size_t n = strcspn(m, " \t");
                if (n)
                        sshd_list(s, m, n, w);
                m += n;
        }
}

/* Read before the PAM stacks: the sshd service is judged with them. */
static void sshd_load(struct doctor *d) {
        const char *path = d->c->sshd_config ? d->c->sshd_config : "/etc/ssh/sshd_config";
        char base[4096];
        snprintf(base, sizeof(base), "%s", path);
        char *slash = strrchr(base, '/');
        if (slash)
                *slash = '\0';
        else
                strcpy(base, ".");
        d->sshd_path = path;
        d->sshd_exists = access(path, F_OK) == 0;
        if (d->sshd_exists)
                sshd_read(path, base, &d->sshd, 0);
        sshd_ways(&d->sshd, &d->ways);
}

static void check_sshd_methods(struct doctor *d) {
        const struct sshd_settings *s = &d->sshd;
        const char *path = d->sshd_path;
        if (s->kbd[0] && !is_yes(s->kbd))
                add(d, SEV_PROBLEM, "sshd-kbdint", path, "KbdInteractiveAuthentication yes",
                    "KbdInteractiveAuthentication is %s: the sshd stack asks for a code, which needs "
                    "keyboard-interactive",
                    s->kbd);
        else
                add(d, SEV_OK, "sshd-kbdint", path, NULL, "KbdInteractiveAuthentication yes");
        if (!strstr(s->methods, "keyboard-interactive"))
                add(d, SEV_WARNING, "sshd-methods", path, "AuthenticationMethods publickey,keyboard-interactive",
                    "AuthenticationMethods is %s: a public-key login skips the PAM auth stack and so the second factor",
                    s->methods[0] ? s->methods : "not set");
        else
                add(d, SEV_OK, "sshd-methods", path, NULL, "AuthenticationMethods %s", s->methods);
}

static void check_sshd(struct doctor *d) {
        const char *path = d->sshd_path;
        const struct sshd_settings *s = &d->sshd;
        if (!d->sshd_exists) {
                add(d, SEV_INFO, "sshd", path, NULL, "%s not found: sshd checks skipped", path);
                return;
        }
        if (!s->files) {
                add(d, SEV_WARNING, "sshd", path, "run doctor as root", "cannot read %s: sshd checks skipped", path);
                return;
        }
        if (!d->sshd_checked)
                add(d, SEV_WARNING, "sshd-pam", path, "add the acctsec lines to the sshd PAM service (see pam_acctsec(8))",
                    "no sshd PAM service using pam_acctsec.so was checked: SSH logins are not protected by acctsec");
        if (!is_yes(s->use_pam))
                add(d, d->sshd_checked ? SEV_PROBLEM : SEV_WARNING, "sshd-usepam", path, "UsePAM yes",
                    "UsePAM is %s: sshd does not run the PAM stacks, so pam_acctsec.so never sees an SSH login",
                    s->use_pam[0] ? s->use_pam : "not set (default no)");
        else
                add(d, SEV_OK, "sshd-usepam", path, NULL, "UsePAM yes");
        if (!d->sshd_has_mfa) {
                add(d, SEV_INFO, "sshd-mfa", path, NULL, "the sshd PAM stack asks no second factor: "
                    "KbdInteractiveAuthentication and AuthenticationMethods not judged");
                return;
        }
        check_sshd_methods(d);
}

/* root's and the admins' own state as the daemon sees it (it answers root
 * and admins only; otherwise nothing is said). */
static void check_admin_account(struct doctor *d, const char *user) {
        struct cli *c = d->c;
        char fix[200];
        acctsec_frame_init(&c->req, ACCTSEC_OP_STATUS);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_USER, user);
        char at[ACCTSEC_SOCKET_PATH_MAX];
        if (acctsec_call_as_caller(c->socket, d->private_socket, 3000, &c->req, &c->reply, at) < 0 ||
            acctsec_reply_errno(&c->reply) != 0)
                return;
        const char *policy = acctsec_msg_str(&c->reply, ACCTSEC_TAG_POLICY);
        uint64_t totp = 0, email = 0, texted = 0, locked = 0, disabled = 0;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_MFA, &totp);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_FLAG, &email);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_PHONE_CODES, &texted);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_LOCKED_UNTIL, &locked);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_DISABLED, &disabled);
        if (locked) {
                snprintf(fix, sizeof(fix), "acctsec lockout reset --user %.64s", user);
                add(d, SEV_PROBLEM, "lockout-now", at, fix, "%.64s (an admin) is locked out now", user);
        }
        if (disabled) {
                snprintf(fix, sizeof(fix), "acctsec account enable --user %.64s", user);
                add(d, SEV_WARNING, "lockout-now", at, fix, "%.64s (an admin) is disabled", user);
        }
        if (policy && strcmp(policy, "required") == 0 && strcmp(mfa_state_name(totp), "active") != 0 && !email &&
            !texted) {
                snprintf(fix, sizeof(fix), "acctsec mfa enroll totp --user %.64s", user);
                add(d, SEV_PROBLEM, "lockout-mfa-enrol", at, fix,
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

static bool check_shared_socket(struct doctor *d) {
        struct cli *c = d->c;
        const char *fix = "systemctl enable --now acctsecd.socket";
        struct stat st;
        if (lstat(c->socket, &st) < 0) {
                add(d, SEV_PROBLEM, "daemon", c->socket, fix, "no socket at %s: every login through pam_acctsec.so is "
                    "refused (fail closed)", c->socket);
                return false;
        }
        if (!S_ISSOCK(st.st_mode)) {
                add(d, SEV_PROBLEM, "daemon", c->socket, fix, "%s is not a socket", c->socket);
                return false;
        }
        if (st.st_uid != 0)
                add(d, st.st_uid == geteuid() ? SEV_WARNING : SEV_PROBLEM, "daemon-owner", c->socket,
                    "run acctsecd as root (acctsecd.socket)",
                    "%s belongs to uid %u, not root: the module refuses it", c->socket, (unsigned) st.st_uid);
        return true;
}

/* What keeps path from being root's alone: NULL when nothing does.  The
 * socket must not be reachable by others (group and other bits), its
 * directory not writable by them (they could put their own socket there). */
static const char *not_root_only(const char *path, bool dir, enum severity *ret_sev, char *buf, size_t n) {
        struct stat st;
        *ret_sev = SEV_PROBLEM;
        if (lstat(path, &st) < 0)
                snprintf(buf, n, "cannot look at %s: %s", path, strerror(errno));
        else if (dir ? !S_ISDIR(st.st_mode) : !S_ISSOCK(st.st_mode))
                snprintf(buf, n, "%s is not a %s", path, dir ? "directory" : "socket");
        else if (st.st_uid != 0) {
                /* the caller's own test daemon, as for the shared socket */
                *ret_sev = st.st_uid == geteuid() ? SEV_WARNING : SEV_PROBLEM;
                snprintf(buf, n, "%s belongs to uid %u, not root: %s", path, (unsigned) st.st_uid,
                         dir ? "that user can replace the socket in it" : "root's logins refuse it");
        } else if (st.st_mode & (dir ? 022 : 077))
                snprintf(buf, n, "%s has mode %04o: %s", path, (unsigned) (st.st_mode & 07777),
                         dir ? "others can replace the socket in it"
                             : "local users can reach it and delay root's logins");
        else
                return NULL;
        return buf;
}

/* root's private socket: local users can neither reach it nor fill its
 * backlog, so they cannot hold up root's logins (sshd, login, su, sudo). */
static void check_private_socket(struct doctor *d) {
        const char *path = d->private_socket;
        char why[400], dir[ACCTSEC_SOCKET_PATH_MAX];
        enum severity sev;
        struct stat st;
        if (!path[0])
                return; /* beside a socket path too long for one: the module uses the shared socket */
        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        add(d, SEV_WARNING, "daemon-private", path, "systemctl enable --now acctsecd-private.socket",
                            "no private socket at %s: root's logins share the socket with local users, who can delay "
                            "them",
                            path);
                else
                        add(d, SEV_INFO, "daemon-private", path, NULL,
                            "cannot look at root's private socket %s: %s (run doctor as root)", path, strerror(errno));
                return;
        }
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
                *slash = '\0';
        if (!not_root_only(path, false, &sev, why, sizeof(why)) &&
            !not_root_only(!slash ? "." : dir[0] ? dir : "/", true, &sev, why, sizeof(why))) {
                add(d, SEV_OK, "daemon-private", path, NULL, "root's private socket %s: root's alone", path);
                return;
        }
        add(d, sev, "daemon-private", path,
            "remove it, then systemctl restart acctsecd-private.socket (root's socket, mode 0600, in a 0700 directory)",
            "%s", why);
}

/* As root the ping goes where root's logins go: the private socket where
 * there is one. */
static void check_ping(struct doctor *d) {
        struct cli *c = d->c;
        char at[ACCTSEC_SOCKET_PATH_MAX];
        acctsec_frame_init(&c->req, ACCTSEC_OP_PING);
        int r = acctsec_call_as_caller(c->socket, d->private_socket, 3000, &c->req, &c->reply, at);
        bool private = strcmp(at, c->socket) != 0;
        if (r < 0) {
                add(d, SEV_PROBLEM, "daemon", at,
                    private ? "systemctl restart acctsecd-private.socket acctsecd.service"
                            : "systemctl enable --now acctsecd.socket",
                    "acctsecd does not answer at %s%s: %s", at, private ? " (root's private socket)" : "",
                    strerror(-r));
                return;
        }
        const char *v = acctsec_msg_str(&c->reply, ACCTSEC_TAG_MESSAGE);
        add(d, SEV_OK, "daemon", at, NULL, "acctsecd answers (%s) at %s, %s; it checked its database at start",
            v ? v : "?", at, private ? "root's private socket" : "the shared socket");
        check_admins(d);
}

static void check_daemon(struct doctor *d) {
        struct cli *c = d->c;
        if (acctsec_private_socket_path(c->socket, c->private_socket, d->private_socket) < 0)
                d->private_socket[0] = '\0';
        bool shared = check_shared_socket(d);
        check_private_socket(d);
        if (shared)
                check_ping(d);
}

/* ------------------------------------------------------------ lock-out */

/* Read before the PAM stacks: preauth's prompt may come from the file. */
static void config_load(struct doctor *d) {
        d->conf_path = d->c->conf_file ? d->c->conf_file : ACCTSEC_DEFAULT_CONF;
        acctsec_conf_defaults(&d->conf);
        /* -ENOENT also means an unknown key: tell them apart by the file */
        d->conf_exists = access(d->conf_path, F_OK) == 0;
        d->conf_r = acctsec_conf_load(&d->conf, d->conf_path, NULL, &d->conf_err);
}

static void check_lockout(struct doctor *d) {
        const char *path = d->conf_path;
        if (d->conf_r == -ENOENT && !d->conf_exists)
                add(d, SEV_INFO, "config", path, NULL, "%s not found: the built-in defaults apply", path);
        else if (d->conf_r < 0) {
                char w[4200];
                snprintf(w, sizeof(w), "%s:%u", path, d->conf_err.line);
                add(d, SEV_PROBLEM, "config", w, "correct the line (see acctsec.conf(5))",
                    "%s: the module refuses every login while the file is invalid", d->conf_err.msg);
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

/* ----------------------------------------------------------------- SMS */

/* http:// to this machine crosses no network. */
static bool url_on_this_host(const char *url) {
        static const char *const local[] = { "http://127.0.0.1", "http://localhost", "http://[::1]" };
        for (size_t i = 0; i < ARRAY_SIZE(local); i++) {
                size_t k = strlen(local[i]);
                if (strncmp(url, local[i], k) == 0 && (url[k] == ':' || url[k] == '/' || url[k] == '\0'))
                        return true;
        }
        return false;
}

/* The daemon refuses settings that cannot work (it does not start); these
 * work and are unwise, or break only when the first code is sent. */
static void check_sms(struct doctor *d) {
        const char *path = d->conf_path;
        struct stat st;
        if (d->conf_r < 0 || d->conf.sms_transport == ACCTSEC_SMS_NONE)
                return;
        if (d->conf.sms_transport == ACCTSEC_SMS_COMMAND) {
                char prog[ACCTSEC_CONF_STR_MAX];
                snprintf(prog, sizeof(prog), "%.*s", (int) strcspn(d->conf.sms_command, " "), d->conf.sms_command);
                if (access(prog, X_OK) != 0)
                        add(d, SEV_PROBLEM, "sms-gateway", path, "install it, or correct sms_command",
                            "sms_command: %s is not an executable program: no texted code can be sent", prog);
                else
                        add(d, SEV_OK, "sms-gateway", path, NULL, "texted codes go through %s", prog);
                return;
        }
        const char *url = d->conf.sms_url;
        if (strncmp(url, "http://", 7) == 0)
                add(d, url_on_this_host(url) ? SEV_WARNING : SEV_PROBLEM, "sms-tls", path,
                    "sms_url = https://... (the provider's TLS endpoint)",
                    "sms_url is http://: the codes (and any credentials) travel unencrypted%s",
                    url_on_this_host(url) ? " (to this host)" : " across the network");
        else
                add(d, SEV_OK, "sms-tls", path, NULL, "texted codes go to the gateway over TLS");
        const char *pw = d->conf.sms_http_password_file;
        if (pw[0] && (stat(pw, &st) != 0 || !S_ISREG(st.st_mode)))
                add(d, SEV_PROBLEM, "sms-secret", pw, "create it (mode 0600, owned by root)",
                    "sms_http_password_file %s is missing: no texted code can be sent", pw);
        else if (pw[0] && ((st.st_mode & 077) || st.st_uid != 0))
                add(d, SEV_PROBLEM, "sms-secret", pw, "chown root: && chmod 0600 the file",
                    "sms_http_password_file %s is not root's alone: acctsecd refuses to use it", pw);
}

/* Recovery for the admins too: their mailbox becomes their password. */
static void check_recovery(struct doctor *d) {
        if (d->conf_r < 0 || !d->conf.password_recovery_admins)
                return;
        add(d, SEV_WARNING, "recovery-admins", d->conf_path, "password_recovery_admins = no (the default)",
            "password_recovery_admins = yes: whoever reads an admin's mailbox can replace the admin's password at the "
            "login prompt (where password_recovery is on)");
}

/* ------------------------------------------------- second-factor relief */

/* Every "key = value" line of the file for one of these keys, in any
 * section: relief is usually set for a service or a group. */
struct relief_lines {
        bool remember;  /* remember_device > 0 somewhere */
        bool allowlist; /* a non-empty allowlist= somewhere */
};

/* Each range of one mfa_skip_networks value: wider than /8 is a problem
 * (anyone who can reach sshd from there needs only the password). */
static void check_skip_networks(struct doctor *d, const char *at, const char *list) {
        char item[CIDR_TEXT_MAX];
        struct cidr c;
        for (const char *p = list; *p;) {
                size_t n = strcspn(p, ",");
                if (n < sizeof(item)) {
                        memcpy(item, p, n);
                        item[n] = '\0';
                        if (cidr_parse(item, &c) == 0 && !c.local && c.prefix < 8)
                                add(d, SEV_PROBLEM, "mfa-skip-networks", at,
                                    "list only networks you control end to end (at most a /8), or remove it",
                                    "mfa_skip_networks holds %s: logins from %s need only the password", item,
                                    c.prefix == 0 ? "anywhere" : "a range that wide");
                }
                p += n + (p[n] == ',');
        }
}

static void relief_line(struct doctor *d, char *line, unsigned no, struct relief_lines *rl) {
        char at[4200];
        unsigned long long secs = 0;
        line += strspn(line, " \t");
        char *eq = strchr(line, '=');
        if (!eq || *line == '#' || *line == ';' || *line == '[')
                return;
        char *key = line, *v = eq + 1;
        for (char *e = eq; e > key && (e[-1] == ' ' || e[-1] == '\t');)
                *--e = '\0';
        *eq = '\0';
        v += strspn(v, " \t");
        v[strcspn(v, " \t\r")] = '\0';
        snprintf(at, sizeof(at), "%s:%u", d->conf_path, no);
        if (strcmp(key, "mfa_skip_networks") == 0)
                check_skip_networks(d, at, v);
        else if (strcmp(key, "remember_device") == 0 && acctsec_parse_duration(v, &secs) == 0 && secs > 0)
                rl->remember = true;
        else if (strcmp(key, "allowlist") == 0 && *v)
                rl->allowlist = true;
}

/* The daemon's global allowlist has entries (as root: -1 when it cannot say). */
static int global_allowlist(struct doctor *d) {
        struct cli *c = d->c;
        char at[ACCTSEC_SOCKET_PATH_MAX];
        acctsec_frame_init(&c->req, ACCTSEC_OP_ALLOWLIST_LIST);
        if (acctsec_call_as_caller(c->socket, d->private_socket, 3000, &c->req, &c->reply, at) < 0 ||
            acctsec_reply_errno(&c->reply) != 0)
                return -1;
        return acctsec_msg_str(&c->reply, ACCTSEC_TAG_CIDR) != NULL;
}

static void check_relief(struct doctor *d) {
        struct relief_lines rl = { 0 };
        char *text = NULL;
        size_t len = 0;
        if (d->conf_r < 0 || acctsec_conf_read_file(d->conf_path, &text, &len, NULL) < 0)
                return;
        unsigned no = 1;
        for (char *line = text, *next; line && *line; line = next, no++) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                relief_line(d, line, no, &rl);
        }
        free(text);
        if (!rl.remember || rl.allowlist)
                return;
        int global = global_allowlist(d);
        if (global == 1)
                return;
        add(d, SEV_WARNING, "remember-device", d->conf_path,
            "add the networks devices may be remembered from: allowlist = CIDR,... or acctsec allowlist add CIDR",
            "remember_device is set, but no allowlist is%s: a device is remembered only for a source inside an "
            "allowlist entry, so nothing is remembered (but for users with a list of their own)",
            global == 0 ? " in the config or the global list" : " in the config (the daemon's lists could not be read)");
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

/* ------------------------------------------------------------ location */

#define GEOIP_STALE_DAYS 60 /* GeoLite2 and DB-IP publish monthly: two months behind is forgotten updates */

/* geoip_database, opened as acctsecd opens it: a file it cannot use
 * leaves every login without a location (logins still work). */
static void check_geoip(struct doctor *d) {
        const char *path = d->conf.geoip_database;
        struct geoip g;
        char why[600], built[32];
        if (d->conf_r < 0 || !path[0])
                return;
        int r = geoip_open(&g, path, why, sizeof(why));
        if (r == -EACCES && geteuid() != 0) {
                add(d, SEV_WARNING, "geoip", path, "run acctsec doctor as root", "geoip_database %s", why);
                return;
        }
        if (r < 0) {
                add(d, SEV_PROBLEM, "geoip", path,
                    "point geoip_database at a GeoLite2-City or DB-IP city .mmdb file (or remove the line), then "
                    "systemctl reload acctsecd",
                    "geoip_database %s: acctsecd runs without location (sessions, the log and login mails show "
                    "none)", why);
                return;
        }
        time_t epoch = (time_t) g.db.metadata.build_epoch, now = time(NULL);
        struct tm tm;
        if (!gmtime_r(&epoch, &tm) || strftime(built, sizeof(built), "%Y-%m-%d", &tm) == 0)
                snprintf(built, sizeof(built), "?");
        if (now - epoch > (time_t) GEOIP_STALE_DAYS * 86400)
                add(d, SEV_WARNING, "geoip", path,
                    "update it (geoipupdate, or a new DB-IP file renamed into place), then systemctl reload acctsecd",
                    "geoip_database %s was built on %s, more than %d days ago: addresses move, so locations and "
                    "new-location mails may be wrong", path, built, GEOIP_STALE_DAYS);
        else
                add(d, SEV_OK, "geoip", path, NULL, "geoip_database %s: %s, built on %s", path,
                    g.db.metadata.database_type ? g.db.metadata.database_type : "?", built);
        geoip_close(&g);
}

int cmd_doctor(struct cli *c) {
        if (c->pam_dir && c->pam_file) {
                fprintf(stderr, "acctsec: doctor takes --pam-dir or --pam-file, not both\n");
                return EXIT_USAGE;
        }
        struct doctor d = { .c = c, .f = calloc(DOCTOR_FINDINGS_MAX, sizeof(struct finding)) };
        if (!d.f)
                return cli_fail(c, EXIT_FAILURE, "out of memory");
        config_load(&d);
        sshd_load(&d);
        if (c->socket_from_conf && c->conf_file) {
                snprintf(c->socket, sizeof(c->socket), "%s", d.conf.socket);
                snprintf(c->private_socket, sizeof(c->private_socket), "%s", d.conf.private_socket);
        }
        if (c->pam_file)
                check_pam_file(&d, c->pam_file);
        else {
                d.pam_dir = c->pam_dir ? c->pam_dir : "/etc/pam.d";
                check_pam_dir(&d, d.pam_dir);
        }
        check_sshd(&d);
        check_lockout(&d);
        check_sms(&d);
        check_recovery(&d);
        check_geoip(&d);
        check_daemon(&d);
        check_relief(&d);
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
