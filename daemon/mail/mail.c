/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Addresses, masking, message building, settings, and mail_deliver(), which
 * hands a message to the transports in mail_maildir.c, mail_sendmail.c and
 * mail_smtp.c.  The message is built from validated parts only: addresses
 * from a narrow alphabet, a subject that is one line of printable UTF-8
 * (RFC 2047-encoded when not ASCII), a body whose every line end becomes
 * CRLF.  No input can end a header line, so none can add a header.
 */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "mail.h"
#include "mail_internal.h"

#define LOCAL_MAX 64        /* RFC 5321 4.5.3.1.1 */
#define LABEL_MAX 63        /* RFC 1035 */
#define LINE_MAX_OCTETS 998 /* RFC 5322 2.1.1, CRLF not counted */
#define WORD_CHUNK 42 /* bytes per encoded word: 56 base64 chars, a folded line under 78 */

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Dot-atoms over letters, digits and "_+-=" only.  RFC 5321 allows far more
 * ('|', '/', '!', '%', quoted strings), and each of those is a way into some
 * mailer's pipe, file or routing syntax; a notice needs none of them.  No
 * leading '-', so an address can never be read as an option. */
static bool local_valid(const char *s, size_t n) {
        if (n == 0 || n > LOCAL_MAX || s[0] == '-' || s[0] == '.' || s[n - 1] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '.' ? s[i + 1] == '.' : !(is_alnum(s[i]) || strchr("_+-=", s[i])))
                        return false;
        }
        return true;
}

/* Host-name labels (letters, digits, inner '-'); no address literals. */
static bool domain_valid(const char *s) {
        size_t label = 0;
        for (const char *p = s;; p++) {
                if (*p == '.' || *p == '\0') {
                        if (label == 0 || label > LABEL_MAX || p[-1] == '-' || p[-(ptrdiff_t) label] == '-')
                                return false;
                        if (*p == '\0')
                                return true;
                        label = 0;
                } else if (is_alnum(*p) || *p == '-')
                        label++;
                else
                        return false;
        }
}

bool mail_address_valid(const char *addr) {
        if (!addr || strnlen(addr, MAIL_ADDRESS_MAX + 1) > MAIL_ADDRESS_MAX)
                return false;
        const char *at = strchr(addr, '@');
        return at && local_valid(addr, (size_t) (at - addr)) && domain_valid(at + 1);
}

int mail_mask(const char *addr, char *buf, size_t n) {
        if (!mail_address_valid(addr))
                return -EINVAL;
        int k = snprintf(buf, n, "%c\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2%s", addr[0], strchr(addr, '@'));
        return k < 0 || (size_t) k >= n ? -ENOBUFS : 0;
}

/* The UTF-8 sequence at s: its length and code point, or 0 when malformed
 * (overlong, a surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *s, uint32_t *ret) {
        static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        uint32_t c = s[0];
        size_t n;

        if (c < 0x80)
                return *ret = c, 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, c &= 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, c &= 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, c &= 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        return *ret = c, n;
}

/* C0 and C1 controls, DEL, and the Unicode line and paragraph separators
 * (some readers break lines there). */
static bool is_control(uint32_t c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029;
}

/* Well-formed UTF-8 of at most max bytes, without controls except, in a body,
 * tab and line ends.  -EINVAL, or -EMSGSIZE when too long. */
static int text_check(const char *s, size_t max, bool body, bool *ret_ascii) {
        bool ascii = true;
        size_t i = 0;

        while (s[i]) {
                uint32_t c;
                size_t k = utf8_next((const unsigned char *) s + i, &c);
                if (k == 0 || (is_control(c) && !(body && (c == '\t' || c == '\r' || c == '\n'))))
                        return -EINVAL;
                ascii = ascii && c < 0x80;
                i += k;
                if (i > max)
                        return -EMSGSIZE;
        }
        if (ret_ascii)
                *ret_ascii = ascii;
        return 0;
}

bool mail_line_valid(const char *s, size_t max) {
        return text_check(s, max, false, NULL) == 0;
}

void mail_host_clean(const char *in, char out[static MAIL_HOST_MAX + 1]) {
        size_t k = 0;
        for (const char *p = in ? in : ""; *p && k < MAIL_HOST_MAX; p++) {
                char c = is_alnum(*p) || *p == '.' ? *p : '-';
                if (c == '.' && (k == 0 || out[k - 1] == '.'))
                        continue;
                out[k++] = c;
        }
        while (k > 0 && out[k - 1] == '.')
                k--;
        out[k] = '\0';
        if (k == 0)
                strcpy(out, "localhost");
}

static void put_subject(FILE *f, const char *subject, bool ascii) {
        if (ascii) {
                fprintf(f, "Subject: %s\r\n", subject);
                return;
        }
        /* RFC 2047 B encoding, each word whole UTF-8 sequences (a reader may
         * decode words one by one), folded so no line passes 78 characters. */
        fputs("Subject:", f);
        for (const char *p = subject; *p;) {
                char b64[sodium_base64_ENCODED_LEN(WORD_CHUNK, sodium_base64_VARIANT_ORIGINAL)];
                size_t n = 0, k;
                uint32_t c;
                while (p[n] && (k = utf8_next((const unsigned char *) p + n, &c)) && n + k <= WORD_CHUNK)
                        n += k;
                sodium_bin2base64(b64, sizeof(b64), (const unsigned char *) p, n, sodium_base64_VARIANT_ORIGINAL);
                fprintf(f, "%s=?UTF-8?B?%s?=", p == subject ? " " : "\r\n ", b64);
                p += n;
        }
        fputs("\r\n", f);
}

static int put_date(FILE *f, time_t now) {
        /* Not strftime(): names must not follow the daemon's locale. */
        static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        struct tm tm;

        if (now < 0 || !gmtime_r(&now, &tm))
                return -EINVAL;
        fprintf(f, "Date: %s, %d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        return 0;
}

/* CRLF, LF and a lone CR each end a line as CRLF: no bare CR or LF reaches
 * the wire, and no line is longer than SMTP allows. */
static int put_body(FILE *f, const char *body) {
        size_t line = 0;
        for (const char *p = body; *p; p++) {
                if (*p == '\r' || *p == '\n') {
                        if (p[0] == '\r' && p[1] == '\n')
                                p++;
                        fputs("\r\n", f);
                        line = 0;
                } else {
                        if (++line > LINE_MAX_OCTETS)
                                return -EMSGSIZE;
                        fputc(*p, f);
                }
        }
        if (line > 0)
                fputs("\r\n", f);
        return 0;
}

static int put_message(FILE *f, const struct mail_settings *s, const struct mail_message *m, const char *host,
                       time_t now, bool ascii) {
        uint8_t id[16];
        char hex[sizeof(id) * 2 + 1];

        randombytes_buf(id, sizeof(id));
        sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
        fprintf(f, "From: %s\r\nTo: %s\r\n", s->from, m->to);
        put_subject(f, m->subject, ascii);
        int r = put_date(f, now);
        if (r < 0)
                return r;
        fprintf(f, "Message-ID: <%s@%s>\r\n", hex, host);
        fputs("MIME-Version: 1.0\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n"
              "Content-Transfer-Encoding: 8bit\r\n"
              "Auto-Submitted: auto-generated\r\n"
              "\r\n",
              f);
        return put_body(f, m->body ? m->body : "");
}

int mail_build(const struct mail_settings *s, const struct mail_message *m, const char *hostname, time_t now,
               char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        char host[MAIL_HOST_MAX + 1];
        size_t len = 0;
        bool ascii;
        int r;

        if (!mail_address_valid(s->from) || !mail_address_valid(m->to) || !m->subject)
                return -EINVAL;
        r = text_check(m->subject, MAIL_SUBJECT_MAX, false, &ascii);
        if (r < 0)
                return r;
        r = text_check(m->body ? m->body : "", MAIL_BODY_MAX, true, NULL);
        if (r < 0)
                return r;
        mail_host_clean(hostname, host);
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        r = put_message(f, s, m, host, now, ascii);
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static bool is_set(const char *p) {
        return p && *p;
}

static bool is_absolute(const char *p) {
        return p && p[0] == '/';
}

static const char *smtp_problem(const struct mail_settings *s) {
        const char *u = s->smtp_url;
        bool implicit_tls = u && strncmp(u, "smtps://", 8) == 0;

        if (!u || (!implicit_tls && strncmp(u, "smtp://", 7) != 0))
                return "smtp_url must start with smtp:// or smtps://";
        for (const char *p = u; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return "smtp_url holds a space or a control character";
        const char *host = u + (implicit_tls ? 8 : 7);
        size_t n = strcspn(host, "/?#");
        if (n == 0)
                return "smtp_url has no host";
        /* A password in the URL would sit in the config file and in argv-like
         * places; it has its own file, closed to everyone but the daemon. */
        if (memchr(host, '@', n))
                return "smtp_url must not hold a user or password: use smtp_user and smtp_password_file";
        if (is_set(s->smtp_ca_file) && !is_absolute(s->smtp_ca_file))
                return "smtp_ca_file must be an absolute path";
        if (!is_set(s->smtp_user))
                return NULL;
        if (text_check(s->smtp_user, MAIL_ADDRESS_MAX, false, NULL) < 0)
                return "smtp_user holds a control character or is too long";
        if (!is_absolute(s->smtp_password_file))
                return "smtp_user needs smtp_password_file (an absolute path)";
        if (!implicit_tls && !s->smtp_starttls)
                return "smtp_user with smtp:// and smtp_starttls off would send the password in clear: "
                       "use smtps:// or smtp_starttls = yes";
        return NULL;
}

static const char *settings_problem(const struct mail_settings *s) {
        if (!mail_address_valid(s->from))
                return "mail_from is not a valid address (local@domain)";
        /* A zero timeout means "none" to libcurl: a hung server would hold the mailer forever. */
        if (s->timeout_s == 0 || s->timeout_s > MAIL_TIMEOUT_MAX)
                return "the mail timeout must be between 1 and 3600 seconds";
        switch (s->transport) {
        case MAIL_MAILDIR:
                return is_absolute(s->maildir) ? NULL : "maildir must be an absolute path";
        case MAIL_SENDMAIL:
                return is_absolute(s->sendmail_path) ? NULL : "sendmail_path must be an absolute path";
        case MAIL_SMTP:
                return smtp_problem(s);
        }
        return "unknown mail_transport";
}

int mail_settings_check(const struct mail_settings *s, const char **ret_why) {
        const char *why = settings_problem(s);
        if (!why)
                return 0;
        *ret_why = why;
        return -EINVAL;
}

int mail_error(char *err, size_t errlen, int r, const char *fmt, ...) {
        va_list ap;

        if (errlen == 0)
                return r;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        for (char *p = err; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = '?';
        return r;
}

int mail_deliver(const struct mail_settings *s, const char *to, const char *msg, size_t len, char *err,
                 size_t errlen) {
        const char *why;

        if (errlen > 0)
                err[0] = '\0';
        /* Checked again here: a transport must never run with settings that
         * would, say, send a password in clear or a hostile recipient to argv. */
        if (mail_settings_check(s, &why) < 0)
                return mail_error(err, errlen, -EINVAL, "%s", why);
        if (!mail_address_valid(to))
                return mail_error(err, errlen, -EINVAL, "invalid recipient address");
        switch (s->transport) {
        case MAIL_MAILDIR:
                return mail_deliver_maildir(s->maildir, msg, len, err, errlen);
        case MAIL_SENDMAIL:
                return mail_deliver_sendmail(s, to, msg, len, err, errlen);
        case MAIL_SMTP:
                return mail_deliver_smtp(s, to, msg, len, err, errlen);
        }
        return mail_error(err, errlen, -EINVAL, "unknown mail transport");
}
