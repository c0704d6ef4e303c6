/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A minimal streaming JSON writer: objects and arrays, escaped strings. */
struct json {
        FILE *f;
        int depth;
        bool need_comma[16];
};

void json_begin(struct json *j, FILE *f);
void json_open(struct json *j, const char *key, char bracket);  /* key NULL inside arrays */
void json_close(struct json *j, char bracket);
void json_str(struct json *j, const char *key, const char *value); /* NULL -> null */
void json_int(struct json *j, const char *key, long long value);
void json_bool(struct json *j, const char *key, bool value);
void json_null(struct json *j, const char *key);
/* Unix time: null when unset (0), -1 for "until an admin unlocks". */
void json_time(struct json *j, const char *key, uint64_t t);
void json_end(struct json *j);

/* "2026-11-22 19:40:01" in local time; "-" for 0. */
const char *fmt_time(uint64_t t, char *buf, size_t n);
/* Print a string for a terminal: control characters become \xNN. */
void print_safe(FILE *f, const char *s);
/* print_safe, padded to width, then one space: like printf("%-*s "). */
void print_padded(FILE *f, const char *s, int width);
/* A login's location as a column: "Berlin, DE", "DE", or "-". */
void print_location(FILE *f, const char *country, const char *city, int width);
