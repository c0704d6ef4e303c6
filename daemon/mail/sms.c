/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SMS: numbers, masks, templates, the settings' checks, and the command
 * transport (program.c runs it).  The HTTP transport is sms_http.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_internal.h"
#include "sms.h"

#define BULLET "\u2022"

bool sms_number_valid(const char *n) {
        size_t len = n ? strlen(n) : 0;
        if (len < 8 || len > SMS_NUMBER_MAX - 1 || n[0] != '+' || n[1] < '1' || n[1] > '9')
                return false;
        for (size_t i = 2; i < len; i++)
                if (n[i] < '0' || n[i] > '9')
                        return false;
        return true;
}

int sms_mask(const char *number, char *buf, size_t n) {
        if (!sms_number_valid(number))
                return -EINVAL;
        size_t len = strlen(number), hidden = len - 5, need = 5 + hidden * (sizeof(BULLET) - 1) + 1;
        if (n < need)
                return -ENOBUFS;
        char *p = buf;
        memcpy(p, number, 3); /* '+' and two digits */
        p += 3;
        for (size_t i = 0; i < hidden; i++, p += sizeof(BULLET) - 1)
                memcpy(p, BULLET, sizeof(BULLET) - 1);
        memcpy(p, number + len - 2, 3); /* the last two, and the NUL */
        return 0;
}

/* Append v escaped for the format; false when it does not fit. */
static bool put_escaped(char **p, char *end, const char *v, enum sms_format f) {
        static const char hex[] = "0123456789ABCDEF";
        for (const unsigned char *c = (const unsigned char *) v; *c; c++) {
                char tmp[7];
                size_t k = 0;
                if (f == SMS_RAW) {
                        tmp[k++] = (char) *c;
                } else if (f == SMS_FORM) {
                        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                            strchr("-._~", *c))
                                tmp[k++] = (char) *c;
                        else {
                                tmp[k++] = '%';
                                tmp[k++] = hex[*c >> 4];
                                tmp[k++] = hex[*c & 15];
                        }
                } else if (*c == '"' || *c == '\\') {
                        tmp[k++] = '\\';
                        tmp[k++] = (char) *c;
                } else if (*c < 0x20 || *c == 0x7f) {
                        k = (size_t) snprintf(tmp, sizeof(tmp), "\\u%04x", *c);
                } else {
                        tmp[k++] = (char) *c;
                }
                if ((size_t) (end - *p) <= k)
                        return false;
                memcpy(*p, tmp, k);
                *p += k;
        }
        return true;
}

int sms_render(const char *tmpl, enum sms_format f, const char *to, const char *from, const char *text,
               const char *secret, char *out, size_t n) {
        static const char *const names[] = { "to", "from", "text", "secret" };
        const char *values[] = { to, from, text, secret };
        char *p = out, *end = out + n;

        if (n == 0)
                return -ENOBUFS;
        for (const char *t = tmpl; *t;) {
                if (t[0] == '{' && t[1] == '{') {
                        if (end - p <= 1)
                                return -ENOBUFS;
                        *p++ = '{';
                        t += 2;
                        continue;
                }
                if (*t != '{') {
                        if (end - p <= 1)
                                return -ENOBUFS;
                        *p++ = *t++;
                        continue;
                }
                const char *close = strchr(t, '}');
                size_t i, len = close ? (size_t) (close - t - 1) : 0;
                for (i = 0; close && i < sizeof(names) / sizeof(names[0]); i++)
                        if (strlen(names[i]) == len && memcmp(t + 1, names[i], len) == 0)
                                break;
                if (!close || i == sizeof(names) / sizeof(names[0]))
                        return -EINVAL;
                if (!put_escaped(&p, end, values[i] ? values[i] : "", f))
                        return -ENOBUFS;
                t = close + 1;
        }
        *p = '\0';
        return 0;
}

const char *sms_body_template(const struct sms_settings *s) {
        if (s->body && *s->body)
                return s->body;
        return s->format == SMS_JSON ? "{{\"to\":\"{to}\",\"from\":\"{from}\",\"text\":\"{text}\"}"
                                     : "To={to}&From={from}&Body={text}";
}

static bool is_set(const char *p) {
        return p && *p;
}

static bool is_absolute(const char *p) {
        return is_set(p) && p[0] == '/';
}

static bool uses_secret(const char *tmpl) {
        return tmpl && strstr(tmpl, "{secret}");
}

/* The URL's host is this machine: http:// to it crosses no network. */
static bool url_is_loopback(const char *url) {
        const char *h = strstr(url, "://");
        if (!h)
                return false;
        h += 3;
        static const char *const local[] = { "127.0.0.1", "localhost", "[::1]" };
        for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
                size_t k = strlen(local[i]);
                if (strncmp(h, local[i], k) == 0 && (h[k] == ':' || h[k] == '/' || h[k] == '\0'))
                        return true;
        }
        return false;
}

static const char *http_problem(const struct sms_settings *s) {
        const char *u = s->url;
        bool tls = is_set(u) && strncmp(u, "https://", 8) == 0;
        char tmp[SMS_REQUEST_MAX];

        if (!is_set(u) || (!tls && strncmp(u, "http://", 7) != 0))
                return "sms_transport = http needs sms_url starting with https:// (or http://)";
        for (const char *p = u; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return "sms_url holds a space or a control character";
        const char *host = u + (tls ? 8 : 7);
        size_t n = strcspn(host, "/?#");
        if (n == 0)
                return "sms_url has no host";
        if (memchr(host, '@', n))
                return "sms_url must not hold a user or password: use sms_http_user and sms_http_password_file";
        if (sms_render(sms_body_template(s), s->format, "+1", "", "", "", tmp, sizeof(tmp)) == -EINVAL)
                return "sms_http_body has an unknown {placeholder} (known: {to} {from} {text} {secret}; {{ for a brace)";
        if (is_set(s->header)) {
                if (sms_render(s->header, SMS_RAW, "+1", "", "", "", tmp, sizeof(tmp)) == -EINVAL)
                        return "sms_http_header has an unknown {placeholder} (known: {to} {from} {text} {secret})";
                const char *colon = strchr(s->header, ':');
                if (!colon || colon == s->header || strcspn(s->header, " \t") < (size_t) (colon - s->header))
                        return "sms_http_header must be one header, Name: value";
        }
        if (is_set(s->ca_file) && !is_absolute(s->ca_file))
                return "sms_ca_file must be an absolute path";
        bool secret = uses_secret(s->body) || uses_secret(s->header);
        if ((is_set(s->user) || secret) && !is_absolute(s->password_file))
                return "sms_http_user and {secret} need sms_http_password_file (an absolute path)";
        if ((is_set(s->user) || secret) && !tls && !url_is_loopback(u))
                return "credentials over http:// would cross the network in clear: use https://";
        return NULL;
}

static const char *settings_problem(const struct sms_settings *s) {
        switch (s->transport) {
        case SMS_NONE:
                return NULL;
        case SMS_COMMAND:
                return is_absolute(s->command) ? NULL : "sms_transport = command needs sms_command (an absolute path)";
        case SMS_HTTP:
                return http_problem(s);
        }
        return "unknown sms_transport";
}

int sms_settings_check(const struct sms_settings *s, const char **ret_why) {
        const char *why = settings_problem(s);
        if (!why)
                return 0;
        *ret_why = why;
        return -EINVAL;
}

const char *sms_settings_warning(const struct sms_settings *s) {
        if (s->transport == SMS_HTTP && is_set(s->url) && strncmp(s->url, "http://", 7) == 0)
                return "sms_url is http://: the codes travel unencrypted (use https://)";
        return NULL;
}

/* sms_command split at spaces, then the number: a fixed argv, no shell. */
static int deliver_command(const struct sms_settings *s, const char *to, const char *text, char *err,
                           size_t errlen) {
        char words[256], *argv[SMS_ARGS_MAX + 2], *save = NULL;
        size_t n = 0;

        if (strlen(s->command) >= sizeof(words))
                return mail_error(err, errlen, -EINVAL, "sms_command is too long");
        strcpy(words, s->command);
        for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (n == SMS_ARGS_MAX)
                        return mail_error(err, errlen, -EINVAL, "sms_command has more than %d words", SMS_ARGS_MAX);
                argv[n++] = w;
        }
        argv[n++] = (char *) to; /* '+' and digits: never an option */
        argv[n] = NULL;
        return program_run(argv, text, strlen(text), s->timeout_s, err, errlen);
}

int sms_deliver(const struct sms_settings *s, const char *to, const char *text, char *err, size_t errlen) {
        const char *why;

        if (errlen > 0)
                err[0] = '\0';
        if (sms_settings_check(s, &why) < 0)
                return mail_error(err, errlen, -EINVAL, "%s", why);
        if (s->transport == SMS_NONE)
                return mail_error(err, errlen, -ENOTSUP, "no SMS gateway is configured (sms_transport)");
        if (!sms_number_valid(to))
                return mail_error(err, errlen, -EINVAL, "invalid phone number");
        if (!mail_line_valid(text, SMS_TEXT_MAX))
                return mail_error(err, errlen, -EINVAL, "the text is not one line of UTF-8 of at most %d bytes",
                                  SMS_TEXT_MAX);
        return s->transport == SMS_COMMAND ? deliver_command(s, to, text, err, errlen)
                                           : sms_deliver_http(s, to, text, err, errlen);
}
