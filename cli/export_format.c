/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "export_format.h"
#include "macro.h"

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0.  p is NUL-terminated,
 * and a NUL is never a continuation byte, so this never reads past it. */
static size_t utf8_len(const unsigned char *p, uint32_t *ret_cp) {
        uint32_t c, min;
        size_t n;
        if (p[0] < 0x80) {
                *ret_cp = p[0];
                return 1;
        }
        if ((p[0] & 0xe0) == 0xc0)
                n = 2, c = p[0] & 0x1f, min = 0x80;
        else if ((p[0] & 0xf0) == 0xe0)
                n = 3, c = p[0] & 0x0f, min = 0x800;
        else if ((p[0] & 0xf8) == 0xf0)
                n = 4, c = p[0] & 0x07, min = 0x10000;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        *ret_cp = c;
        return n;
}

/* Write s as UTF-8: bytes and well-formed sequences that need nothing are
 * copied (runs of ASCII at once); the code points special() picks, and
 * every byte that is not part of a well-formed sequence (-1), go to
 * escape(). */
static void put_text(FILE *f, const char *s, bool (*special)(uint32_t cp), void (*escape)(FILE *f, int32_t cp)) {
        const unsigned char *p = (const unsigned char *) s;
        uint32_t cp;
        while (*p) {
                size_t plain = 0;
                while (p[plain] && p[plain] < 0x80 && !special(p[plain]))
                        plain++;
                if (plain) {
                        fwrite(p, 1, plain, f);
                        p += plain;
                        continue;
                }
                size_t n = utf8_len(p, &cp);
                if (n == 0) {
                        escape(f, -1);
                        n = 1;
                } else if (special(cp))
                        escape(f, (int32_t) cp);
                else
                        fwrite(p, 1, n, f);
                p += n;
        }
}

static bool json_special(uint32_t c) {
        return c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == 0x2028 || c == 0x2029;
}

static void json_escape(FILE *f, int32_t c) {
        static const char short_escapes[] = { ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
                                              ['"'] = '"',  ['\\'] = '\\' };
        if (c < 0)
                fputs("\\ufffd", f);
        else if ((size_t) c < sizeof(short_escapes) && short_escapes[c])
                fprintf(f, "\\%c", short_escapes[c]);
        else
                fprintf(f, "\\u%04x", (unsigned) c);
}

void json_put_string(FILE *f, const char *s) {
        fputc('"', f);
        put_text(f, s, json_special, json_escape);
        fputc('"', f);
}

static bool csv_special(uint32_t c) {
        return c == '"';
}

static void csv_escape(FILE *f, int32_t c) {
        fputs(c < 0 ? "\xef\xbf\xbd" : "\"\"", f); /* U+FFFD keeps the file UTF-8; a quote is doubled */
}

void csv_put_field(FILE *f, const char *s, bool guard) {
        bool formula = guard && s[0] && strchr("=+-@\t\r", s[0]);
        bool quote = strpbrk(s, ",\";\t\r\n") != NULL;
        if (quote)
                fputc('"', f);
        if (formula)
                fputc('\'', f);
        put_text(f, s, csv_special, csv_escape);
        if (quote)
                fputc('"', f);
}

const char *export_time_utc(uint64_t t, char *buf, size_t n) {
        struct tm tm;
        time_t tt = (time_t) t;
        if (!gmtime_r(&tt, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, n, "?");
        return buf;
}

/* new columns last: readers of the columns before them are unchanged */
static const char *const columns[] = { "type", "outcome", "user", "service", "rhost", "tty",
                                       "actor", "detail", "host", "country", "city" };
#define TEXT_COLUMNS ARRAY_SIZE(columns)

static void text_fields(const struct export_event *e, const char *ret[TEXT_COLUMNS]) {
        const char *v[] = { e->type,  e->outcome, e->user, e->service, e->rhost, e->tty,
                            e->actor, e->detail,  e->host, e->country, e->city };
        for (size_t i = 0; i < TEXT_COLUMNS; i++)
                ret[i] = v[i] ? v[i] : "";
}

void export_csv_header(FILE *f) {
        fputs("id,time,unix_time", f);
        for (size_t i = 0; i < TEXT_COLUMNS; i++)
                fprintf(f, ",%s", columns[i]);
        fputs("\r\n", f);
}

void export_csv_event(FILE *f, const struct export_event *e) {
        const char *v[TEXT_COLUMNS];
        char t[32];
        text_fields(e, v);
        fprintf(f, "%llu,%s,%llu", (unsigned long long) e->id, export_time_utc(e->time, t, sizeof(t)),
                (unsigned long long) e->time);
        for (size_t i = 0; i < TEXT_COLUMNS; i++) {
                fputc(',', f);
                csv_put_field(f, v[i], true);
        }
        fputs("\r\n", f);
}

void export_json_event(FILE *f, const struct export_event *e) {
        const char *v[TEXT_COLUMNS];
        char t[32];
        text_fields(e, v);
        fprintf(f, "{\"id\":%llu,\"time\":\"%s\",\"unix_time\":%llu", (unsigned long long) e->id,
                export_time_utc(e->time, t, sizeof(t)), (unsigned long long) e->time);
        for (size_t i = 0; i < TEXT_COLUMNS; i++) {
                fputs(",\"", f);
                fputs(columns[i], f);
                fputs("\":", f);
                json_put_string(f, v[i]);
        }
        fputc('}', f);
}

/* Exactly n decimal digits. */
static bool take_digits(const char **p, int n, int *ret) {
        int v = 0;
        for (int i = 0; i < n; i++, (*p)++) {
                if (**p < '0' || **p > '9')
                        return false;
                v = v * 10 + (**p - '0');
        }
        *ret = v;
        return true;
}

/* One or more digits up to the end or a suffix, without overflow. */
static bool take_number(const char **p, int64_t *ret) {
        int64_t v = 0;
        const char *start = *p;
        for (; **p >= '0' && **p <= '9'; (*p)++) {
                if (v > (INT64_MAX - (**p - '0')) / 10)
                        return false;
                v = v * 10 + (**p - '0');
        }
        *ret = v;
        return *p > start;
}

static int parse_relative(const char *s, time_t now, int64_t *ret) {
        static const struct {
                char suffix;
                int64_t seconds;
        } units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
        int64_t n;
        if (!take_number(&s, &n) || !s[0] || s[1])
                return -EINVAL;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (units[i].suffix == s[0]) {
                        if (n > (int64_t) now / units[i].seconds)
                                return -ERANGE; /* before 1970 */
                        *ret = (int64_t) now - n * units[i].seconds;
                        return 0;
                }
        return -EINVAL;
}

static int parse_local(const char *s, int64_t *ret) {
        int y, mo, d, h = 0, mi = 0, sec = 0;
        if (!take_digits(&s, 4, &y) || *s++ != '-' || !take_digits(&s, 2, &mo) || *s++ != '-' ||
            !take_digits(&s, 2, &d))
                return -EINVAL;
        if (*s == ' ' || *s == 'T') {
                s++;
                if (!take_digits(&s, 2, &h) || *s++ != ':' || !take_digits(&s, 2, &mi))
                        return -EINVAL;
                if (*s == ':') {
                        s++;
                        if (!take_digits(&s, 2, &sec))
                                return -EINVAL;
                }
        }
        if (*s)
                return -EINVAL;
        if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
                return -ERANGE;
        struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi,
                         .tm_sec = sec, .tm_isdst = -1 };
        time_t t = mktime(&tm);
        /* mktime() normalises: February 30 or a time skipped by a DST change
         * comes back as another date or time. */
        if (t == (time_t) -1 || t < 0 || tm.tm_year != y - 1900 || tm.tm_mon != mo - 1 || tm.tm_mday != d ||
            tm.tm_hour != h || tm.tm_min != mi || tm.tm_sec != sec)
                return -ERANGE;
        *ret = (int64_t) t;
        return 0;
}

int parse_since(const char *text, time_t now, int64_t *ret) {
        const char *s = text;
        int64_t v;
        if (*s == '@') {
                s++;
                if (!take_number(&s, &v) || *s)
                        return -EINVAL;
                *ret = v;
                return 0;
        }
        /* Four digits and a dash is a date; anything else may be a time ago. */
        if (strlen(s) >= 5 && s[4] == '-')
                return parse_local(s, ret);
        return parse_relative(s, now, ret);
}
