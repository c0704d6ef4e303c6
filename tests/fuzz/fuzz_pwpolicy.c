/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the password policy (common/pwpolicy.c).  Built and
 * run by tests/fuzz/run.sh.  Input: one flags byte, then
 *   - flags & 0x80 clear: three bytes of settings, a user name up to the
 *     first NUL, and the password (any bytes);
 *   - flags & 0x80 set: a dictionary file up to the first NUL, and the
 *     password after it.
 * Beyond the sanitizers, the results are checked against simple reference
 * implementations, and abort() when they differ.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pwpolicy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dict_path[256];
static int dict_fd = -1;

static void cleanup(void) {
        if (dict_path[0])
                unlink(dict_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dict_path, sizeof(dict_path), "%s/fuzz_pwpolicy.XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
        dict_fd = mkstemp(dict_path);
        if (dict_fd < 0)
                abort();
        atexit(cleanup);
        return 0;
}

static char lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static bool same_nocase(const char *a, const char *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (lower(a[i]) != lower(b[i]))
                        return false;
        return true;
}

/* The dictionary rules, written the obvious way. */
static bool ref_contains(const char *text, size_t n, const char *pw) {
        size_t len = strlen(pw);
        for (size_t start = 0; start <= n;) {
                const char *nl = memchr(text + start, '\n', n - start);
                size_t end = nl ? (size_t) (nl - text) : n, l = end - start;
                if (l > 0 && text[end - 1] == '\r')
                        l--;
                if (l > 0 && l <= 4096 && text[start] != '#' && l == len && same_nocase(text + start, pw, len))
                        return true;
                if (!nl)
                        break;
                start = end + 1;
        }
        return false;
}

static void fuzz_dictionary(const char *data, size_t size) {
        const char *nul = memchr(data, '\0', size);
        size_t n = nul ? (size_t) (nul - data) : size;
        char pw[512];
        size_t pwlen = nul ? size - n - 1 : 0;
        bool hit = false;

        if (pwlen >= sizeof(pw))
                pwlen = sizeof(pw) - 1;
        memcpy(pw, nul ? nul + 1 : "", pwlen);
        pw[pwlen] = '\0';
        if (ftruncate(dict_fd, 0) < 0 || pwrite(dict_fd, data, n, 0) != (ssize_t) n)
                abort();
        if (pwpolicy_dictionary_contains(dict_path, pw, &hit) != 0)
                abort();
        if (hit != ref_contains(data, n, pw))
                abort();
}

static bool has(const char *pw, size_t len, bool (*pred)(unsigned char)) {
        for (size_t i = 0; i < len; i++)
                if (pred((unsigned char) pw[i]))
                        return true;
        return false;
}
static bool is_upper(unsigned char c) {
        return c >= 'A' && c <= 'Z';
}
static bool is_lower(unsigned char c) {
        return c >= 'a' && c <= 'z';
}
static bool is_digit(unsigned char c) {
        return c >= '0' && c <= '9';
}
static bool is_special(unsigned char c) {
        return !is_upper(c) && !is_lower(c) && !is_digit(c);
}
static bool is_control(unsigned char c) {
        return c < 0x20 || c == 0x7f;
}

/* What an accepted password must satisfy, checked byte-wise. */
static void check_accepted(const struct acctsec_conf *c, const char *user, const char *pw, size_t len) {
        size_t chars = 0, ulen = user ? strlen(user) : 0;
        for (size_t i = 0; i < len; i++)
                chars += ((unsigned char) pw[i] & 0xC0) != 0x80;
        if (len > c->max_length || chars < (c->min_length < c->max_length ? c->min_length : c->max_length))
                abort();
        if (has(pw, len, is_control) || (c->require_upper && !has(pw, len, is_upper)) ||
            (c->require_lower && !has(pw, len, is_lower)) || (c->require_digit && !has(pw, len, is_digit)) ||
            (c->require_special && !has(pw, len, is_special)))
                abort();
        if (ulen >= 3)
                for (size_t i = 0; i + ulen <= len; i++)
                        if (same_nocase(pw + i, user, ulen))
                                abort();
}

static void fuzz_check(const uint8_t *data, size_t size, uint8_t flags) {
        struct acctsec_conf c;
        struct pwpolicy_result res, res2;
        char user[64], text[512];

        if (size < 3)
                return;
        acctsec_conf_defaults(&c);
        c.require_upper = flags & 1;
        c.require_lower = flags & 2;
        c.require_digit = flags & 4;
        c.require_special = flags & 8;
        c.history = (flags >> 4) & 3;
        c.max_password_age = flags & 0x40 ? 86400u * data[0] : 0;
        c.min_length = 1 + data[1] % 40;
        c.max_length = 8 + data[2] % 120;
        data += 3;
        size -= 3;

        const uint8_t *nul = memchr(data, '\0', size < sizeof(user) ? size : sizeof(user));
        size_t ulen = nul ? (size_t) (nul - data) : 0;
        memcpy(user, data, ulen);
        user[ulen] = '\0';
        const char *pw = (const char *) data + (nul ? ulen + 1 : 0);
        size_t len = size - (size_t) (pw - (const char *) data);
        const char *u = nul ? user : NULL;

        int r = pwpolicy_check(&c, u, pw, len, &res);
        size_t m = strnlen(res.message, sizeof(res.message));
        if (m == 0 || m == sizeof(res.message) || res.message[m - 1] != '.')
                abort();
        if (r == 0) {
                if (res.rule != PWPOLICY_OK)
                        abort();
                check_accepted(&c, u, pw, len);
        } else if (r != -EINVAL || res.rule == PWPOLICY_OK || res.rule == PWPOLICY_UNCHECKED)
                abort();
        if ((len > c.max_length) != (res.rule == PWPOLICY_TOO_LONG))
                abort();
        if (pwpolicy_check(&c, u, pw, len, &res2) != r || res2.rule != res.rule ||
            strcmp(res.message, res2.message) != 0)
                abort();
        if (pwpolicy_text(&c, text, sizeof(text)) != 0 || strncmp(text, "Password policy: ", 17) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        if (data[0] & 0x80)
                fuzz_dictionary((const char *) data + 1, size - 1);
        else
                fuzz_check(data + 1, size - 1, data[0]);
        return 0;
}
