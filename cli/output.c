/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <time.h>

#include "export_format.h"
#include "geoip.h"
#include "output.h"
#include "proto.h"

void json_begin(struct json *j, FILE *f) {
        *j = (struct json){ .f = f };
}

static void sep(struct json *j, const char *key) {
        if (j->need_comma[j->depth])
                fputc(',', j->f);
        j->need_comma[j->depth] = true;
        if (key) {
                json_str(&(struct json){ .f = j->f }, NULL, key);
                fputc(':', j->f);
        }
}

void json_open(struct json *j, const char *key, char bracket) {
        if (j->depth > 0)
                sep(j, key);
        fputc(bracket, j->f);
        if (j->depth < 15)
                j->need_comma[++j->depth] = false;
}

void json_close(struct json *j, char bracket) {
        fputc(bracket, j->f);
        if (j->depth > 0)
                j->depth--;
}

void json_str(struct json *j, const char *key, const char *v) {
        if (j->depth > 0)
                sep(j, key);
        if (v)
                json_put_string(j->f, v);
        else
                fputs("null", j->f);
}

void json_int(struct json *j, const char *key, long long v) {
        sep(j, key);
        fprintf(j->f, "%lld", v);
}

void json_bool(struct json *j, const char *key, bool v) {
        sep(j, key);
        fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key) {
        sep(j, key);
        fputs("null", j->f);
}

void json_time(struct json *j, const char *key, uint64_t t) {
        if (t == 0)
                json_null(j, key);
        else
                json_int(j, key, t == ACCTSEC_LOCKED_FOREVER ? -1 : (long long) t);
}

void json_end(struct json *j) {
        fputc('\n', j->f);
}

const char *fmt_time(uint64_t t, char *buf, size_t n) {
        struct tm tm;
        time_t tt = (time_t) t;
        if (t == 0 || !localtime_r(&tt, &tm) || strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return "-";
        return buf;
}

static int put_safe(FILE *f, const char *s) {
        int n = 0;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        n += fprintf(f, "\\x%02x", *p);
                else
                        n += fputc(*p, f) != EOF;
        }
        return n;
}

void print_safe(FILE *f, const char *s) {
        (void) put_safe(f, s);
}

void print_padded(FILE *f, const char *s, int width) {
        for (int n = put_safe(f, s); n < width; n++)
                fputc(' ', f);
        fputc(' ', f); /* as printf("%-*s ") does */
}

void print_location(FILE *f, const char *country, const char *city, int width) {
        char where[GEOIP_NAME_MAX + 8];
        geoip_format(where, sizeof(where), country, city);
        print_padded(f, where[0] ? where : "-", width);
}
