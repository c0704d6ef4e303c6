/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mail: addresses, masking, building a message no user-controlled field can
 * add a header to, and delivering it through one transport (maildir,
 * sendmail, smtp).  mail_deliver() blocks: acctsecd calls it only in a
 * forked child (daemon/mail/mailer.c), never in its event loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum mail_transport { MAIL_MAILDIR, MAIL_SENDMAIL, MAIL_SMTP };

#define MAIL_ADDRESS_MAX 254      /* RFC 5321 path limit */
#define MAIL_SUBJECT_MAX 256      /* bytes of UTF-8 */
#define MAIL_BODY_MAX (64 * 1024) /* bytes, before CRLF conversion */
#define MAIL_TIMEOUT_MAX 3600     /* seconds */

struct mail_settings {
        enum mail_transport transport;
        const char *from;               /* envelope sender and From: */
        const char *maildir;            /* MAIL_MAILDIR: the Maildir (tmp/ new/ cur/ made if missing) */
        const char *sendmail_path;      /* MAIL_SENDMAIL: run with a fixed argv, no shell */
        const char *smtp_url;           /* MAIL_SMTP: smtp://host[:port] (STARTTLS) or smtps://host[:port] */
        bool smtp_starttls;             /* smtp://: require STARTTLS (default yes) */
        const char *smtp_user;          /* "" or NULL: no AUTH */
        const char *smtp_password_file; /* first line is the password; root-owned, not group/world readable */
        const char *smtp_ca_file;       /* "" or NULL: the system's CAs */
        unsigned timeout_s;             /* whole delivery */
};

/* A deliverable address: local@domain in a conservative subset of RFC 5321:
 * the local part dot-atoms of letters, digits and "_+-=" (at most 64 bytes,
 * no leading '-'), the domain host-name labels; so no quotes, spaces, control
 * characters, commas, angle brackets, '|', '/', '%' or address literals; at
 * most MAIL_ADDRESS_MAX bytes. */
bool mail_address_valid(const char *addr);

/* "john@example.com" -> "j\u2022\u2022\u2022@example.com" (UTF-8).  -EINVAL
 * for an invalid address, -ENOBUFS when buf is too small. */
int mail_mask(const char *addr, char *buf, size_t n);

struct mail_message {
        const char *to;
        const char *subject; /* one line of printable UTF-8 */
        const char *body;    /* text; LF line ends become CRLF */
};

/* The whole message (From, To, Subject, Date, Message-ID, MIME-Version,
 * Content-Type text/plain UTF-8, Content-Transfer-Encoding 8bit, Auto-Submitted
 * auto-generated; then the body), CRLF line ends.  -EINVAL when an address is
 * invalid or a header value holds CR, LF or another control character (or
 * the subject or body is not UTF-8, or the body holds a control character
 * other than tab and line ends); -EMSGSIZE when the subject or body is longer
 * than its limit or a body line passes 998 bytes.  A non-ASCII subject is
 * RFC 2047-encoded.  hostname (for Message-ID) is reduced to [A-Za-z0-9.-]. */
int mail_build(const struct mail_settings *s, const struct mail_message *m, const char *hostname, time_t now,
               char **ret, size_t *ret_len);

/* Deliver a built message to one recipient.  0, or a negative errno with a
 * one-line reason (no secrets, no control characters) in err: -EINVAL bad
 * settings or recipient, -ETIMEDOUT past timeout_s, -EACCES SMTP login
 * refused, -EIO and others as they come.  The sendmail transport reaps its
 * child with waitpid(): SIGCHLD must not be ignored in the calling process. */
int mail_deliver(const struct mail_settings *s, const char *to, const char *msg, size_t len, char *err,
                 size_t errlen);

/* Check settings once at start/reload: -EINVAL with a reason. */
int mail_settings_check(const struct mail_settings *s, const char **ret_why);
