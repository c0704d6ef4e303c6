/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pamconf.h"

static const char *const type_names[PAMCONF_NTYPES] = { "auth", "account", "password", "session" };

const char *pamconf_type_name(enum pamconf_type t) {
        return (unsigned) t < PAMCONF_NTYPES ? type_names[t] : "?";
}

static void vissue(struct pamconf_stack *st, bool fatal, const char *fmt, va_list ap) {
        if (st->nissues >= sizeof(st->issues) / sizeof(st->issues[0]))
                return;
        char msg[sizeof(st->issues[0])];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        /* an include loop reads the same file again: say each thing once */
        for (unsigned i = 0; i < st->nissues; i++)
                if (strcmp(st->issues[i], msg) == 0)
                        return;
        st->fatal[st->nissues] = fatal;
        memcpy(st->issues[st->nissues++], msg, sizeof(msg));
}

/* Something doctor could not check. */
__attribute__((format(printf, 2, 3))) static void issue(struct pamconf_stack *st, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vissue(st, false, fmt, ap);
        va_end(ap);
}

/* Something that makes Linux-PAM fail the stack. */
__attribute__((format(printf, 2, 3))) static void fatal(struct pamconf_stack *st, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vissue(st, true, fmt, ap);
        va_end(ap);
}

int pamconf_read_file(const char *path, char **ret_text) {
        /* Symlinks are followed, as Linux-PAM does (authselect makes
         * /etc/pam.d/system-auth one); O_NONBLOCK and the S_ISREG check keep a
         * FIFO from hanging us. */
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat s;
        if (fstat(fd, &s) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        if (!S_ISREG(s.st_mode) || s.st_size > PAMCONF_FILE_MAX) {
                close(fd);
                return S_ISREG(s.st_mode) ? -EFBIG : -EINVAL;
        }
        char *buf = malloc((size_t) s.st_size + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        size_t len = 0;
        while (len < (size_t) s.st_size) {
                ssize_t k = read(fd, buf + len, (size_t) s.st_size - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                len += (size_t) k;
        }
        close(fd);
        buf[len] = '\0';
        *ret_text = buf;
        return 0;
}

/* One token: a [bracketed] group or a run of non-blanks, NUL-terminated in
 * place; *p moves past it.  A control keeps its brackets; an argument loses
 * them and "\\]" inside becomes "]", as Linux-PAM does. */
static char *token(char **p, bool arg) {
        char *s = *p;
        while (*s == ' ')
                s++;
        if (!*s) {
                *p = s;
                return NULL;
        }
        char *start = s;
        if (*s == '[' && arg) {
                char *w = ++start;
                for (s++; *s && *s != ']'; s++) {
                        if (*s == '\\' && s[1] == ']')
                                s++;
                        *w++ = *s;
                }
                if (*s)
                        s++;
                *w = '\0';
                if (*s == ' ')
                        s++;
                *p = s;
                return start;
        }
        if (*s == '[') {
                while (*s && *s != ']')
                        s++;
                if (*s)
                        s++;
        } else {
                while (*s && *s != ' ')
                        s++;
        }
        if (*s)
                *s++ = '\0';
        *p = s;
        return start;
}

static int parse_action(const char *v) {
        static const struct {
                const char *name;
                int action;
        } names[] = {
                { "ignore", PAMCONF_IGNORE }, { "ok", PAMCONF_OK },   { "done", PAMCONF_DONE },
                { "die", PAMCONF_DIE },       { "bad", PAMCONF_BAD }, { "reset", PAMCONF_RESET },
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcasecmp(v, names[i].name) == 0)
                        return names[i].action;
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n <= 0 || n > PAMCONF_ENTRIES_MAX)
                return PAMCONF_INVALID;
        return (int) n;
}

/* The return values a bracketed control may name (Linux-PAM's _pam_token_returns). */
static bool known_return(const char *k) {
        static const char *const names[] = {
                "success", "open_err", "symbol_err", "service_err", "system_err", "buf_err", "perm_denied",
                "auth_err", "cred_insufficient", "authinfo_unavail", "user_unknown", "maxtries",
                "new_authtok_reqd", "acct_expired", "session_err", "cred_unavail", "cred_expired", "cred_err",
                "no_module_data", "conv_err", "authtok_err", "authtok_recover_err", "authtok_lock_busy",
                "authtok_disable_aging", "try_again", "ignore", "abort", "authtok_expired", "module_unknown",
                "bad_item", "conv_again", "incomplete", "default",
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcasecmp(k, names[i]) == 0)
                        return true;
        return false;
}

/* "[success=1 default=ignore]": the actions for success and for the rest. */
static bool parse_bracket(struct pamconf_entry *e) {
        char buf[PAMCONF_NAME_MAX];
        snprintf(buf, sizeof(buf), "%s", e->control + 1);
        char *close = strrchr(buf, ']');
        if (close)
                *close = '\0';
        int success = PAMCONF_INVALID - 1, dflt = PAMCONF_INVALID - 1;
        for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                char *eq = strchr(t, '=');
                if (!eq)
                        return false;
                *eq = '\0';
                int a = parse_action(eq + 1);
                if (a == PAMCONF_INVALID || !known_return(t))
                        return false;
                if (strcasecmp(t, "success") == 0)
                        success = a;
                else if (strcasecmp(t, "default") == 0)
                        dflt = a;
        }
        if (dflt == PAMCONF_INVALID - 1)
                dflt = PAMCONF_BAD; /* Linux-PAM: an undefined action counts as a failure */
        e->on_default = dflt;
        e->on_success = success == PAMCONF_INVALID - 1 ? dflt : success;
        return true;
}

static bool parse_control(struct pamconf_entry *e) {
        static const struct {
                const char *name;
                int success, dflt;
        } kw[] = {
                { "required", PAMCONF_OK, PAMCONF_BAD },
                { "requisite", PAMCONF_OK, PAMCONF_DIE },
                { "sufficient", PAMCONF_DONE, PAMCONF_IGNORE },
                { "optional", PAMCONF_OK, PAMCONF_IGNORE },
        };
        if (e->control[0] == '[') {
                e->bracket = true;
                return parse_bracket(e);
        }
        for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
                if (strcasecmp(e->control, kw[i].name) == 0) {
                        e->on_success = kw[i].success;
                        e->on_default = kw[i].dflt;
                        return true;
                }
        return false;
}

static int parse_type(const char *t, bool *ret_dash) {
        *ret_dash = t[0] == '-';
        if (*ret_dash)
                t++;
        for (int i = 0; i < PAMCONF_NTYPES; i++)
                if (strcasecmp(t, type_names[i]) == 0)
                        return i;
        return -1;
}

/* argv and base point into the entry itself: re-aim them after it moved. */
static void fixup(struct pamconf_entry *d, const struct pamconf_entry *from) {
        for (int i = 0; i < d->argc; i++)
                d->argv[i] = d->argbuf + (from->argv[i] - from->argbuf);
        d->base = d->module + (from->base - from->module);
}

static bool append(struct pamconf_stack *st, const struct pamconf_entry *e) {
        size_t *n = &st->n[e->type];
        if (*n >= PAMCONF_ENTRIES_MAX)
                return false;
        /* a new array rather than realloc: the old entries' pointers are
         * still needed to re-aim the copies */
        struct pamconf_entry *old = st->e[e->type], *grown = malloc((*n + 1) * sizeof(*grown));
        if (!grown)
                return false;
        for (size_t i = 0; i < *n; i++) {
                grown[i] = old[i];
                fixup(&grown[i], &old[i]);
        }
        grown[*n] = *e;
        fixup(&grown[*n], e);
        free(old);
        st->e[e->type] = grown;
        (*n)++;
        return true;
}

static void include(struct pamconf_stack *st, const char *dir, const char *from, unsigned line, const char *name,
                    int only_type, unsigned depth, bool substack) {
        if (st->nincluded < sizeof(st->included) / sizeof(st->included[0]))
                snprintf(st->included[st->nincluded++], sizeof(st->included[0]), "%s", name);
        if (!dir) {
                issue(st, "%s:%u: include of %s not followed", from, line, name);
                return;
        }
        if (depth >= PAMCONF_DEPTH_MAX) {
                issue(st, "%s:%u: includes nested deeper than %d (a loop?): %s not read", from, line,
                      PAMCONF_DEPTH_MAX, name);
                return;
        }
        char path[4096];
        if ((size_t) snprintf(path, sizeof(path), "%s/%s", name[0] == '/' ? "" : dir, name) >= sizeof(path)) {
                issue(st, "%s:%u: include path too long", from, line);
                return;
        }
        char *text = NULL;
        int r = pamconf_read_file(name[0] == '/' ? name : path, &text);
        if (r < 0) {
                fatal(st, "%s:%u: cannot read included file %s: %s", from, line, name, strerror(-r));
                return;
        }
        /* A substack's done, die and jumps stay inside it, and a parent's
         * jump counts it as one line: remember which lines belong to it. */
        unsigned sub = st->cur_sub, outer = st->cur_outer, subdepth = st->cur_subdepth;
        if (substack) {
                st->cur_sub = ++st->next_sub;
                if (st->cur_subdepth++ == 0)
                        st->cur_outer = st->cur_sub;
        }
        pamconf_parse(st, dir, name, text, only_type, depth + 1);
        st->cur_sub = sub;
        st->cur_outer = outer;
        st->cur_subdepth = subdepth;
        free(text);
}

/* One logical line (comments and continuations already removed). */
static void parse_line(struct pamconf_stack *st, const char *dir, const char *name, unsigned lineno, char *buf,
                       int only_type, unsigned depth) {
        static struct pamconf_entry e; /* large; the parser does not recurse while it is in use */
        char *p = buf;
        char *type = token(&p, false);
        if (!type)
                return;
        if (strcmp(type, "@include") == 0) {
                char *f = token(&p, false);
                if (f)
                        include(st, dir, name, lineno, f, only_type, depth, false);
                else
                        issue(st, "%s:%u: @include without a file name", name, lineno);
                return;
        }
        memset(&e, 0, sizeof(e));
        int t = parse_type(type, &e.dash);
        char *control = token(&p, false), *module = token(&p, false);
        if (t < 0 || !control || !module) {
                issue(st, "%s:%u: not a PAM rule (type control module [arguments])", name, lineno);
                return;
        }
        if (only_type >= 0 && t != only_type)
                return;
        if (strcasecmp(control, "include") == 0 || strcasecmp(control, "substack") == 0) {
                include(st, dir, name, lineno, module, t, depth, strcasecmp(control, "substack") == 0);
                return;
        }
        e.type = (enum pamconf_type) t;
        e.line = lineno;
        e.sub = st->cur_sub;
        e.sub_outer = st->cur_outer;
        e.subdepth = st->cur_subdepth;
        snprintf(e.file, sizeof(e.file), "%s", name);
        snprintf(e.control, sizeof(e.control), "%s", control);
        snprintf(e.module, sizeof(e.module), "%s", module);
        const char *slash = strrchr(e.module, '/');
        e.base = slash ? slash + 1 : e.module;
        if (!parse_control(&e)) {
                fatal(st, "%s:%u: unknown control \"%s\" (Linux-PAM treats the line as failing)", name, lineno,
                      control);
                e.on_success = e.on_default = PAMCONF_BAD;
        }
        /* arguments: the rest of the line, copied so the entry owns them */
        size_t used = 0;
        for (char *a; (a = token(&p, true));) {
                size_t n = strlen(a) + 1;
                if (e.argc >= PAMCONF_ARGS_MAX || used + n > sizeof(e.argbuf)) {
                        issue(st, "%s:%u: too many arguments; the rest are not checked", name, lineno);
                        break;
                }
                memcpy(e.argbuf + used, a, n);
                e.argv[e.argc++] = e.argbuf + used;
                used += n;
        }
        if (!append(st, &e))
                issue(st, "%s:%u: more than %d %s lines; the rest are not checked", name, lineno, PAMCONF_ENTRIES_MAX,
                      type_names[t]);
}

void pamconf_parse(struct pamconf_stack *st, const char *dir, const char *name, const char *text, int only_type,
                   unsigned depth) {
        char buf[PAMCONF_LINE_MAX];
        size_t len = 0;
        unsigned lineno = 1, start = 1;
        bool comment = false, toolong = false;

        for (const char *s = text;; s++) {
                if (*s == '\\' && s[1] == '\n' && !comment) {
                        s++;
                        lineno++;
                        if (len < sizeof(buf) - 1)
                                buf[len++] = ' ';
                        continue;
                }
                if (*s == '\n' || *s == '\0') {
                        buf[len] = '\0';
                        if (toolong)
                                issue(st, "%s:%u: line longer than %d bytes: not checked", name, start,
                                      PAMCONF_LINE_MAX - 1);
                        else
                                parse_line(st, dir, name, start, buf, only_type, depth);
                        if (!*s)
                                break;
                        len = 0;
                        comment = toolong = false;
                        start = ++lineno;
                        continue;
                }
                if (*s == '#')
                        comment = true;
                if (comment)
                        continue;
                if (len >= sizeof(buf) - 1) {
                        toolong = true;
                        continue;
                }
                buf[len++] = (*s == '\t' || *s == '\r') ? ' ' : *s;
        }
}

int pamconf_load(struct pamconf_stack *st, const char *dir, const char *name) {
        char path[4096];
        if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
                return -ENAMETOOLONG;
        char *text = NULL;
        int r = pamconf_read_file(name[0] == '/' ? name : path, &text);
        if (r < 0)
                return r;
        pamconf_parse(st, dir, name, text, -1, 0);
        free(text);
        return 0;
}

void pamconf_stack_free(struct pamconf_stack *st) {
        for (int i = 0; i < PAMCONF_NTYPES; i++) {
                free(st->e[i]);
                st->e[i] = NULL;
                st->n[i] = 0;
        }
}
