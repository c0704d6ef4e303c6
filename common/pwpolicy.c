/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "pwpolicy.h"
#include "utf8.h"
#include "secret.h"

#define DICT_LINE_MAX 4096 /* the largest max_length: longer lines match nothing */
#define DICT_CHUNK 16384
#define USER_NAME_MIN 3 /* shorter names would forbid too much ("al", "ed") */

enum { C_UPPER = 1, C_LOWER = 2, C_DIGIT = 4, C_SPECIAL = 8 };

static const struct {
        size_t require; /* offset of the bool in struct acctsec_conf */
        unsigned class;
        enum pwpolicy_rule rule;
        const char *noun, *hint;
} classes[] = {
        { offsetof(struct acctsec_conf, require_upper), C_UPPER, PWPOLICY_NO_UPPER, "an uppercase letter", "" },
        { offsetof(struct acctsec_conf, require_lower), C_LOWER, PWPOLICY_NO_LOWER, "a lowercase letter", "" },
        { offsetof(struct acctsec_conf, require_digit), C_DIGIT, PWPOLICY_NO_DIGIT, "a digit", "" },
        { offsetof(struct acctsec_conf, require_special), C_SPECIAL, PWPOLICY_NO_SPECIAL, "a special character",
          " (not a letter or digit)" },
};

static bool required(const struct acctsec_conf *c, size_t i) {
        return *(const bool *) ((const char *) c + classes[i].require);
}

/* ASCII only: the policy must not depend on the daemon's locale. */
static char lower(char ch) {
        return ch >= 'A' && ch <= 'Z' ? (char) (ch - 'A' + 'a') : ch;
}

static bool equal_nocase(const char *a, const char *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (lower(a[i]) != lower(b[i]))
                        return false;
        return true;
}

static bool contains_nocase(const char *s, size_t n, const char *needle, size_t m) {
        for (size_t i = 0; m <= n && i <= n - m; i++)
                if (equal_nocase(s + i, needle, m))
                        return true;
        return false;
}

/* Validate, count characters and note the classes seen. */
static enum pwpolicy_rule scan(const char *pw, size_t len, size_t *ret_chars, unsigned *ret_classes) {
        size_t chars = 0;
        unsigned seen = 0;
        for (size_t i = 0; i < len; chars++) {
                uint32_t cp;
                size_t k = acctsec_utf8_decode((const unsigned char *) pw + i, len - i, &cp);
                if (k == 0)
                        return PWPOLICY_BAD_UTF8;
                if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
                        return PWPOLICY_CONTROL;
                seen |= cp >= 'A' && cp <= 'Z'   ? C_UPPER
                        : cp >= 'a' && cp <= 'z' ? C_LOWER
                        : cp >= '0' && cp <= '9' ? C_DIGIT
                                                 : C_SPECIAL;
                i += k;
        }
        *ret_chars = chars;
        *ret_classes = seen;
        return PWPOLICY_OK;
}

static unsigned min_chars(const struct acctsec_conf *c) {
        return c->min_length < c->max_length ? c->min_length : c->max_length;
}

static int verdict(struct pwpolicy_result *ret, enum pwpolicy_rule rule, int r, const char *fmt, ...)
        _printf_(4, 5);
static int verdict(struct pwpolicy_result *ret, enum pwpolicy_rule rule, int r, const char *fmt, ...) {
        if (ret) {
                va_list ap;
                va_start(ap, fmt);
                ret->rule = rule;
                vsnprintf(ret->message, sizeof(ret->message), fmt, ap);
                va_end(ap);
        }
        return r;
}

/* Whether one line (without its LF) lists the password. */
static bool line_matches(const char *line, size_t n, const char *pw, size_t len) {
        if (n > 0 && line[n - 1] == '\r')
                n--;
        return n > 0 && line[0] != '#' && n == len && equal_nocase(line, pw, len);
}

/* Feed one chunk of the file; *n and *overlong carry a line across chunks.
 * A line longer than cap cannot be the password and is not kept. */
static bool feed(const char *p, const char *end, char *line, size_t cap, size_t *n, bool *overlong, const char *pw,
                 size_t len) {
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t seg = (size_t) ((nl ? nl : end) - p);
                if (!*overlong && seg <= cap - *n) {
                        memcpy(line + *n, p, seg);
                        *n += seg;
                } else
                        *overlong = true;
                if (!nl)
                        break;
                if (!*overlong && line_matches(line, *n, pw, len))
                        return true;
                *n = 0;
                *overlong = false;
                p = nl + 1;
        }
        return false;
}

static int open_dictionary(const char *path) {
        struct stat st;
        /* O_NONBLOCK: a FIFO at the path must not hang a password change. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        /* Whoever can write the list can make every password change fail. */
        if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & S_IWOTH))
                return -EPERM;
        if (st.st_size > PWPOLICY_DICTIONARY_MAX)
                return -EFBIG;
        return TAKE_FD(fd);
}

static int dictionary_contains(const char *path, const char *pw, size_t len, bool *ret) {
        char chunk[DICT_CHUNK], line[DICT_LINE_MAX + 1]; /* + CR */
        size_t cap = len <= DICT_LINE_MAX ? len + 1 : 0, n = 0, total = 0; /* longer lines cannot match */
        bool overlong = false, found = false;
        int r = 0;

        _cleanup_close_ int fd = open_dictionary(path);
        if (fd < 0)
                return fd;
        while (!found) {
                ssize_t k = read(fd, chunk, sizeof(chunk));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = negative_errno();
                        break;
                }
                if (k == 0) {
                        found = !overlong && line_matches(line, n, pw, len); /* no final newline */
                        break;
                }
                total += (size_t) k;
                if (total > PWPOLICY_DICTIONARY_MAX) { /* it grew since fstat */
                        r = -EFBIG;
                        break;
                }
                found = feed(chunk, chunk + k, line, cap, &n, &overlong, pw, len);
        }
        /* The buffers may hold the password, as a dictionary word. */
        acctsec_wipe(line, sizeof(line));
        acctsec_wipe(chunk, sizeof(chunk));
        if (r < 0)
                return r;
        *ret = found;
        return 0;
}

int pwpolicy_dictionary_contains(const char *path, const char *password, bool *ret) {
        return dictionary_contains(path, password, strlen(password), ret);
}

static int check_words(const struct acctsec_conf *c, const char *user, const char *pw, size_t len,
                       struct pwpolicy_result *ret) {
        bool hit = false;
        if (user && strlen(user) >= USER_NAME_MIN && contains_nocase(pw, len, user, strlen(user)))
                return verdict(ret, PWPOLICY_USER_NAME, -EINVAL, "The password must not contain the user name.");
        if (c->dictionary[0] != '\0') {
                int r = dictionary_contains(c->dictionary, pw, len, &hit);
                if (r < 0) /* -EINVAL means "refused by a rule" here */
                        return verdict(ret, PWPOLICY_UNCHECKED, r == -EINVAL ? -EIO : r,
                                       "The list of forbidden passwords cannot be read; ask an administrator.");
        }
        if (hit)
                return verdict(ret, PWPOLICY_DICTIONARY, -EINVAL,
                               "The password is in the list of forbidden passwords.");
        return verdict(ret, PWPOLICY_OK, 0, "The password meets the policy.");
}

int pwpolicy_check(const struct acctsec_conf *c, const char *user, const char *password, size_t len,
                   struct pwpolicy_result *ret) {
        size_t chars = 0;
        unsigned seen = 0;

        /* First, before any byte is looked at: this bounds all later work. */
        if (len > c->max_length)
                return verdict(ret, PWPOLICY_TOO_LONG, -EINVAL, "The password is too long (at most %u bytes).",
                               c->max_length);
        switch (scan(password, len, &chars, &seen)) {
        case PWPOLICY_BAD_UTF8:
                return verdict(ret, PWPOLICY_BAD_UTF8, -EINVAL, "The password is not valid UTF-8 text.");
        case PWPOLICY_CONTROL:
                return verdict(ret, PWPOLICY_CONTROL, -EINVAL,
                               "The password must not contain control characters such as tab.");
        default:
                break;
        }
        if (chars < min_chars(c))
                return verdict(ret, PWPOLICY_TOO_SHORT, -EINVAL, "The password must have at least %u character%s.",
                               min_chars(c), min_chars(c) == 1 ? "" : "s");
        for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
                if (required(c, i) && !(seen & classes[i].class))
                        return verdict(ret, classes[i].rule, -EINVAL, "The password must contain %s%s.",
                                       classes[i].noun, classes[i].hint);
        return check_words(c, user, password, len, ret);
}

struct out {
        char *buf;
        size_t n, len;
        bool truncated;
};

static void add(struct out *o, const char *fmt, ...) _printf_(2, 3);
static void add(struct out *o, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int k = o->len < o->n ? vsnprintf(o->buf + o->len, o->n - o->len, fmt, ap) : 0;
        va_end(ap);
        if (k < 0 || (size_t) k >= o->n - o->len) {
                o->truncated = true;
                o->len = o->n;
        } else
                o->len += (size_t) k;
}

/* "90 days", "36 hours": the largest unit that divides it exactly. */
static void add_duration(struct out *o, unsigned s) {
        static const struct {
                unsigned secs;
                const char *unit;
        } units[] = { { 86400, "day" }, { 3600, "hour" }, { 60, "minute" }, { 1, "second" } };
        size_t i = 0;
        while (s % units[i].secs != 0)
                i++;
        add(o, "%u %s%s", s / units[i].secs, units[i].unit, s == units[i].secs ? "" : "s");
}

int pwpolicy_text(const struct acctsec_conf *c, char *buf, size_t n) {
        struct out o = { .buf = buf, .n = n };
        size_t want = 0, done = 0;

        if (n == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        add(&o, "Password policy: at least %u character%s", min_chars(c), min_chars(c) == 1 ? "" : "s");
        for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
                want += required(c, i);
        for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
                if (required(c, i)) {
                        done++;
                        add(&o, "%s%s", done == 1 ? ", with " : done == want ? " and " : ", ", classes[i].noun);
                }
        add(&o, "; not containing your user name");
        if (c->dictionary[0] != '\0')
                add(&o, "; not a common password");
        if (c->history == 1)
                add(&o, "; not your current password");
        else if (c->history > 1)
                add(&o, "; not one of your last %u passwords", c->history);
        if (c->max_password_age > 0) {
                add(&o, "; it expires after ");
                add_duration(&o, c->max_password_age);
        }
        add(&o, ".");
        return o.truncated ? -ENOBUFS : 0;
}
