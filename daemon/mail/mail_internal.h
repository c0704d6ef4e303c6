/* SPDX-License-Identifier: BSD-3-Clause */
/* What mail.c shares with the transports (mail_maildir.c, mail_sendmail.c, mail_smtp.c). */
#pragma once

#include <stddef.h>

#include "macro.h"
#include "mail.h"

/* Format a one-line reason into err, control characters (from a server reply
 * or a program's output) replaced by '?'; return r. */
_printf_(4, 5) int mail_error(char *err, size_t errlen, int r, const char *fmt, ...);

#define MAIL_HOST_MAX 253

/* A host name for Message-ID and Maildir file names: a dot-atom over
 * [A-Za-z0-9.-] whatever gethostname() or the caller handed us ("localhost"
 * when nothing is left). */
void mail_host_clean(const char *in, char out[static MAIL_HOST_MAX + 1]);

/* The transports: s and to already checked by mail_deliver(). */
int mail_deliver_maildir(const char *dir, const char *msg, size_t len, char *err, size_t errlen);
int mail_deliver_sendmail(const struct mail_settings *s, const char *to, const char *msg, size_t len, char *err,
                          size_t errlen);
int mail_deliver_smtp(const struct mail_settings *s, const char *to, const char *msg, size_t len, char *err,
                      size_t errlen);
