/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the security log's formats and --since parser
 * (cli/export_format.c).  Built and run by tests/fuzz/run.sh.  Input: one
 * string (up to the first NUL).  Beyond the sanitizers: a JSON string
 * decodes back to the input (to U+FFFD per byte that is not UTF-8) and is
 * itself valid UTF-8 without raw control characters; a CSV field reads back
 * per RFC 4180 to the input (with the formula guard's "'" when it applies);
 * a time --since accepts formats back to the same time.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An independent UTF-8 reader (RFC 3629): the length of the sequence at
 * s[i..n), or 0 if it is not one. */
static size_t seq(const unsigned char *s, size_t i, size_t n, uint32_t *cp) {
        static const struct {
                unsigned char mask, lead;
                size_t len;
                uint32_t min;
        } forms[] = { { 0x80, 0x00, 1, 0 }, { 0xe0, 0xc0, 2, 0x80 }, { 0xf0, 0xe0, 3, 0x800 }, { 0xf8, 0xf0, 4, 0x10000 } };
        for (size_t f = 0; f < 4; f++) {
                if ((s[i] & forms[f].mask) != forms[f].lead)
                        continue;
                if (i + forms[f].len > n)
                        return 0;
                uint32_t c = s[i] & (unsigned char) ~forms[f].mask;
                for (size_t k = 1; k < forms[f].len; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return 0;
                        c = c << 6 | (s[i + k] & 0x3f);
                }
                if (c < forms[f].min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                        return 0;
                *cp = c;
                return forms[f].len;
        }
        return 0;
}

/* What the writers must reproduce: the input with U+FFFD for each byte that
 * is not part of a well-formed sequence. */
static size_t expected(const unsigned char *in, size_t n, char *out) {
        size_t o = 0;
        uint32_t cp;
        for (size_t i = 0; i < n;) {
                size_t k = seq(in, i, n, &cp);
                if (k == 0) {
                        memcpy(out + o, "\xef\xbf\xbd", 3);
                        o += 3;
                        i++;
                } else {
                        memcpy(out + o, in + i, k);
                        o += k;
                        i += k;
                }
        }
        out[o] = '\0';
        return o;
}

static size_t put_utf8(uint32_t c, char *out) {
        if (c < 0x80)
                return out[0] = (char) c, 1;
        if (c < 0x800)
                return out[0] = (char) (0xc0 | c >> 6), out[1] = (char) (0x80 | (c & 0x3f)), 2;
        out[0] = (char) (0xe0 | c >> 12);
        out[1] = (char) (0x80 | ((c >> 6) & 0x3f));
        out[2] = (char) (0x80 | (c & 0x3f));
        return 3;
}

static int hex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode a JSON string literal (what json_put_string writes); abort on
 * anything JSON does not allow. */
static size_t json_decode(const char *j, size_t n, char *out) {
        size_t o = 0;
        uint32_t cp;
        if (n < 2 || j[0] != '"' || j[n - 1] != '"')
                abort();
        for (size_t i = 1; i < n - 1;) {
                unsigned char c = (unsigned char) j[i];
                if (c < 0x20 || c == 0x7f || c == '"')
                        abort();
                if (c != '\\') {
                        size_t k = seq((const unsigned char *) j, i, n - 1, &cp);
                        if (k == 0 || cp == 0x2028 || cp == 0x2029)
                                abort();
                        memcpy(out + o, j + i, k);
                        o += k;
                        i += k;
                        continue;
                }
                if (i + 1 >= n - 1)
                        abort();
                const char *simple = strchr("\"\\/bfnrt", j[i + 1]);
                if (simple && j[i + 1]) {
                        out[o++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
                        i += 2;
                        continue;
                }
                if (j[i + 1] != 'u' || i + 6 > n - 1)
                        abort();
                uint32_t u = 0;
                for (int k = 2; k < 6; k++) {
                        int h = hex(j[i + k]);
                        if (h < 0)
                                abort();
                        u = u << 4 | (uint32_t) h;
                }
                if (u >= 0xd800 && u <= 0xdfff)
                        abort(); /* never written: no surrogate pairs needed */
                o += put_utf8(u, out + o);
                i += 6;
        }
        out[o] = '\0';
        return o;
}

/* Read one CSV field back (RFC 4180). */
static size_t csv_decode(const char *c, size_t n, char *out) {
        size_t o = 0;
        if (n == 0 || c[0] != '"') {
                if (strpbrk(c, ",\";\t\r\n"))
                        abort(); /* these must have been quoted */
                memcpy(out, c, n + 1);
                return n;
        }
        if (n < 2 || c[n - 1] != '"')
                abort();
        for (size_t i = 1; i < n - 1; i++) {
                if (c[i] == '"') {
                        if (i + 1 >= n - 1 || c[i + 1] != '"')
                                abort();
                        i++;
                }
                out[o++] = c[i];
        }
        out[o] = '\0';
        return o;
}

static char *written(void (*fn)(FILE *, const char *, bool), const char *s, bool guard, size_t *len) {
        char *buf = NULL;
        FILE *f = open_memstream(&buf, len);
        if (!f)
                abort();
        fn(f, s, guard);
        if (fclose(f) != 0)
                abort();
        return buf;
}

static void json_put(FILE *f, const char *s, bool guard) {
        (void) guard;
        json_put_string(f, s);
}

static void check_formats(const char *s, size_t n) {
        char *want = malloc(3 * n + 2), *got = malloc(4 * n + 8);
        size_t len, wn;
        if (!want || !got)
                abort();
        wn = expected((const unsigned char *) s, n, want);

        char *j = written(json_put, s, false, &len);
        if (json_decode(j, len, got) != wn || memcmp(got, want, wn) != 0)
                abort();
        free(j);

        for (int guard = 0; guard <= 1; guard++) {
                char *c = written(csv_put_field, s, guard, &len);
                size_t gn = csv_decode(c, len, got);
                bool formula = guard && n > 0 && strchr("=+-@\t\r", s[0]);
                if (gn != wn + formula || (formula && got[0] != '\'') || memcmp(got + formula, want, wn) != 0)
                        abort();
                free(c);
        }
        free(want);
        free(got);
}

static void check_since(const char *s) {
        const time_t now = 1763856073;
        int64_t v = -12345;
        int r = parse_since(s, now, &v);
        if (r != 0) {
                if ((r != -EINVAL && r != -ERANGE) || v != -12345)
                        abort();
                return;
        }
        if (v < 0)
                abort();
        if (s[0] != '@' && !(strlen(s) >= 5 && s[4] == '-') && v > now)
                abort(); /* a time ago is not in the future */
        if (strlen(s) >= 5 && s[4] == '-') {
                /* a date read back: the same time, once formatted (TZ=UTC) */
                char text[64];
                struct tm tm;
                time_t t = (time_t) v;
                int64_t again = -1;
                if (!gmtime_r(&t, &tm) || strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm) == 0 ||
                    parse_since(text, now, &again) != 0 || again != v)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool tz;
        char *s = malloc(size + 1); /* exactly sized, so that ASan sees any over-read */
        if (!s)
                return 0;
        if (!tz) {
                setenv("TZ", "UTC", 1);
                tzset();
                tz = true;
        }
        memcpy(s, data, size);
        s[size] = '\0';
        size_t n = strlen(s);
        check_formats(s, n);
        check_since(s);
        free(s);
        return 0;
}
