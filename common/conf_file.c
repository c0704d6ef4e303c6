/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading /etc/security/acctsec.conf: key = value lines, whole-line #
 * comments, and [user NAME] / [group NAME] / [service NAME] sections. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "macro.h"

static int fail(struct acctsec_conf_error *e, unsigned line, int r, const char *fmt, ...) _printf_(4, 5);
static int fail(struct acctsec_conf_error *e, unsigned line, int r, const char *fmt, ...) {
        if (e) {
                va_list ap;
                va_start(ap, fmt);
                e->line = line;
                vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
                va_end(ap);
        }
        return r;
}

static char *trim(char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                s[--n] = '\0';
        return s;
}

/* "[kind name]": returns whether the section applies, or a negative error. */
static int section_applies(char *hdr, const struct acctsec_conf_match *m) {
        size_t n = strlen(hdr);
        if (n < 3 || hdr[n - 1] != ']')
                return -EINVAL;
        hdr[n - 1] = '\0';
        char *kind = trim(hdr + 1);
        char *sp = strpbrk(kind, " \t");
        if (!sp)
                return -EINVAL;
        *sp = '\0';
        const char *name = trim(sp + 1);
        if (name[0] == '\0' || strpbrk(name, " \t[]"))
                return -EINVAL;
        if (strcmp(kind, "user") == 0)
                return m && m->user && strcmp(m->user, name) == 0;
        if (strcmp(kind, "service") == 0)
                return m && m->service && strcmp(m->service, name) == 0;
        if (strcmp(kind, "group") == 0)
                return m && m->in_group && m->in_group(name, m->userdata);
        return -EINVAL;
}

static int parse_line(struct acctsec_conf *c, struct acctsec_conf *scratch, char *line, unsigned lineno,
                      int *in_section, const struct acctsec_conf_match *m, struct acctsec_conf_error *e) {
        char *s = trim(line);
        if (s[0] == '\0' || s[0] == '#' || s[0] == ';')
                return 0;
        if (s[0] == '[') {
                int r = section_applies(s, m);
                if (r < 0)
                        return fail(e, lineno, -EINVAL,
                                    "malformed section header (expected [user NAME], [group NAME] or [service NAME])");
                *in_section = r ? 1 : 2; /* 1: applies, 2: checked but ignored */
                return 0;
        }
        char *eq = strchr(s, '=');
        if (!eq)
                return fail(e, lineno, -EINVAL, "expected key = value");
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        enum acctsec_conf_origin origin = *in_section ? ACCTSEC_CONF_SECTION : ACCTSEC_CONF_GLOBAL;
        /* A section that does not apply is parsed into scratch: typos are loud for everyone. */
        struct acctsec_conf *target = *in_section == 2 ? scratch : c;
        const char *why = NULL;
        int r = acctsec_conf_set(target, key, value, origin, &why);
        if (r < 0)
                return fail(e, lineno, r, "%.40s: %s", key, why);
        return 0;
}

int acctsec_conf_parse(struct acctsec_conf *c, const char *text, size_t len,
                       const struct acctsec_conf_match *m, struct acctsec_conf_error *e) {
        struct acctsec_conf scratch;
        char line[ACCTSEC_CONF_LINE_MAX];
        unsigned lineno = 0;
        int in_section = 0;

        acctsec_conf_defaults(&scratch);
        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t n = nl ? (size_t) (nl - (text + pos)) : len - pos;
                lineno++;
                if (n >= sizeof(line))
                        return fail(e, lineno, -EINVAL, "line too long");
                if (memchr(text + pos, '\0', n))
                        return fail(e, lineno, -EINVAL, "NUL byte in line");
                memcpy(line, text + pos, n);
                line[n] = '\0';
                int r = parse_line(c, &scratch, line, lineno, &in_section, m, e);
                if (r < 0)
                        return r;
                pos += n + 1;
        }
        return 0;
}

int acctsec_conf_read_file(const char *path, char **ret_text, size_t *ret_len, struct acctsec_conf_error *e) {
        struct stat st;
        /* O_NONBLOCK: a FIFO planted at the path must not hang a login. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return fail(e, 0, negative_errno(), "cannot open %s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return fail(e, 0, negative_errno(), "cannot stat %s", path);
        if (!S_ISREG(st.st_mode))
                return fail(e, 0, -EINVAL, "%s is not a regular file", path);
        if (st.st_size > ACCTSEC_CONF_FILE_MAX)
                return fail(e, 0, -EFBIG, "%s is larger than 1 MiB", path);
        /* The policy must not be writable by anyone but root. */
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return fail(e, 0, -EPERM, "%s is not owned by root", path);
        if (st.st_mode & S_IWOTH)
                return fail(e, 0, -EPERM, "%s is world-writable", path);

        _cleanup_free_ char *buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return fail(e, 0, -ENOMEM, "out of memory");
        size_t got = 0;
        while (got < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + got, (size_t) st.st_size - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return fail(e, 0, negative_errno(), "cannot read %s", path);
                if (k == 0)
                        break;
                got += (size_t) k;
        }
        buf[got] = '\0';
        *ret_text = TAKE_PTR(buf);
        *ret_len = got;
        return 0;
}

int acctsec_conf_load(struct acctsec_conf *c, const char *path, const struct acctsec_conf_match *m,
                      struct acctsec_conf_error *e) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = acctsec_conf_read_file(path, &text, &len, e);
        if (r < 0)
                return r;
        return acctsec_conf_parse(c, text, len, m, e);
}
