/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SMS: phone numbers, masking, and delivering a short text through one
 * gateway: a configured program (fixed argv, no shell: the number is its
 * last argument, the text its stdin) or an HTTP(S) API called with
 * libcurl from a request template.  sms_deliver() blocks: acctsecd calls
 * it only in a forked child (daemon/mail/mailer.c), as it does for mail.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum sms_transport { SMS_NONE, SMS_COMMAND, SMS_HTTP };
enum sms_format { SMS_FORM, SMS_JSON, SMS_RAW /* a header: values as they are */ };

#define SMS_NUMBER_MAX 17   /* E.164: '+' and at most 15 digits, and a NUL */
#define SMS_TEXT_MAX 480    /* bytes: three concatenated GSM-7 parts */
#define SMS_REQUEST_MAX 4096 /* a rendered body or header */
#define SMS_ARGS_MAX 16     /* words of sms_command */

struct sms_settings {
        enum sms_transport transport;
        const char *command;       /* SMS_COMMAND: an absolute path and fixed arguments, split at spaces */
        const char *url;           /* SMS_HTTP: https://... (http:// for a gateway on this host) */
        const char *from;          /* {from} */
        const char *body;          /* the template; "" the default of the format */
        enum sms_format format;    /* how values are escaped, and the Content-Type */
        const char *header;        /* "" or one "Name: value" template */
        const char *user;          /* "" or HTTP basic authentication with the password file */
        const char *password_file; /* {secret} and the basic password; "" none */
        const char *ca_file;       /* "" the system's CAs */
        unsigned timeout_s;        /* the whole delivery */
};

/* E.164 as gateways take it: '+', a digit 1-9, then 6 to 14 digits; nothing
 * else (no spaces, dashes or brackets: the CLI says so). */
bool sms_number_valid(const char *number);

/* "+4915112345678" -> "+49\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u202278": the country code's
 * first digits and the last two.  -EINVAL not a number, -ENOBUFS too small. */
int sms_mask(const char *number, char *buf, size_t n);

/* Fill in a template: {to} {from} {text} {secret}, each value escaped for
 * the format (form: percent-encoded; json: the inside of a JSON string);
 * "{{" is a literal "{".  -EINVAL an unknown placeholder or an unclosed
 * brace, -ENOBUFS longer than n - 1 bytes. */
int sms_render(const char *tmpl, enum sms_format f, const char *to, const char *from, const char *text,
               const char *secret, char *out, size_t n);

/* The body template in force (the format's default when "" is set). */
const char *sms_body_template(const struct sms_settings *s);

/* Checked at start and reload, and again before each delivery: -EINVAL
 * with a reason.  Credentials (user, or {secret} anywhere) are refused on
 * http:// to another host: they would cross the network in clear. */
int sms_settings_check(const struct sms_settings *s, const char **ret_why);

/* Settings that work and are unwise, or NULL: for the log and doctor. */
const char *sms_settings_warning(const struct sms_settings *s);

/* Send text (printable UTF-8, at most SMS_TEXT_MAX bytes) to a number.  0,
 * or a negative errno with a one-line reason in err (never the secret). */
int sms_deliver(const struct sms_settings *s, const char *to, const char *text, char *err, size_t errlen);

/* The transports: s, to and text already checked by sms_deliver(). */
int sms_deliver_http(const struct sms_settings *s, const char *to, const char *text, char *err, size_t errlen);
