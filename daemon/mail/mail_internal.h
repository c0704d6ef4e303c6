/* SPDX-License-Identifier: BSD-3-Clause */
/* What mail.c shares with the transports (mail_maildir.c, mail_sendmail.c, mail_smtp.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "mail.h"

/* Format a one-line reason into err, control characters (from a server reply
 * or a program's output) replaced by '?'; return r. */
_printf_(4, 5) int mail_error(char *err, size_t errlen, int r, const char *fmt, ...);

/* One line of UTF-8 without control characters, at most max bytes. */
bool mail_line_valid(const char *s, size_t max);

#define MAIL_HOST_MAX 253

/* A host name for Message-ID and Maildir file names: a dot-atom over
 * [A-Za-z0-9.-] whatever gethostname() or the caller handed us ("localhost"
 * when nothing is left). */
void mail_host_clean(const char *in, char out[static MAIL_HOST_MAX + 1]);

/* Run argv[0] (an absolute path) with that argv, no shell, input on its
 * stdin, within timeout_s; 0 when it read all of it and exited 0, or a
 * negative errno and err naming the program, its status and the start of
 * its output.  Reaps with waitpid(): SIGCHLD must not be ignored. */
int program_run(char *const argv[], const char *input, size_t len, unsigned timeout_s, char *err, size_t errlen);

/* The first line of a secret file (a password, an API key) into buf, which
 * the caller wipes: a regular file, not a symlink, owned by root or us,
 * closed to group and others, the line 1..SECRET_LINE_MAX bytes.  On
 * failure *ret_why says what is wrong with it (no secret in it). */
#define SECRET_LINE_MAX 1024
int secret_file_read(const char *path, char buf[static SECRET_LINE_MAX + 2], const char **ret_why);

/* libcurl (curl_base.c): the options every transfer sets — an error
 * buffer, no signals, only these protocols, the URL and no proxy from the
 * environment, no redirects, the transfer and its connect within
 * timeout_s, TLS 1.2 or later with peer and host verified (against ca_file
 * when set) — and a negative errno for a libcurl error. */
#include <curl/curl.h>
CURLcode mail_curl_base(CURL *c, const char *protocols, long protomask, const char *url, unsigned timeout_s,
                        const char *ca_file, char *errbuf);
int mail_curl_errno(CURLcode e);

/* The transports: s and to already checked by mail_deliver(). */
int mail_deliver_maildir(const char *dir, const char *msg, size_t len, char *err, size_t errlen);
int mail_deliver_sendmail(const struct mail_settings *s, const char *to, const char *msg, size_t len, char *err,
                          size_t errlen);
int mail_deliver_smtp(const struct mail_settings *s, const char *to, const char *msg, size_t len, char *err,
                      size_t errlen);
