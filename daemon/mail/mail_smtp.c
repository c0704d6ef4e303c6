/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The smtp transport (libcurl): STARTTLS required on smtp:// unless turned
 * off, implicit TLS on smtps://, certificates always verified, AUTH with a
 * password read from a file only the daemon may read, the whole exchange
 * bounded by timeout_s.  libcurl dot-stuffs the upload (a line "." in the
 * body is sent as ".."), so the body needs no escaping here.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "mail_internal.h"
#include "secret.h"

struct upload {
        const char *p;
        size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *data) {
        struct upload *u = data;
        size_t n = size * nitems < u->left ? size * nitems : u->left;
        memcpy(buf, u->p, n);
        u->p += n;
        u->left -= n;
        return n;
}

static CURLcode set_options(CURL *c, const struct mail_settings *s, struct curl_slist *rcpt, const char *from,
                            struct upload *u, char *errbuf) {
        bool implicit_tls = strncmp(s->smtp_url, "smtps://", 8) == 0;
        CURLcode e = mail_curl_base(c, "smtp,smtps", (long) (CURLPROTO_SMTP | CURLPROTO_SMTPS), s->smtp_url,
                                    s->timeout_s, s->smtp_ca_file, errbuf);

        if (!e) /* STARTTLS or fail: a server that drops it from EHLO gets nothing */
                e = curl_easy_setopt(c, CURLOPT_USE_SSL,
                                     (long) (implicit_tls || s->smtp_starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
        if (!e && s->smtp_user && *s->smtp_user)
                e = curl_easy_setopt(c, CURLOPT_USERNAME, s->smtp_user);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_READDATA, u);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t) u->left);
        return e;
}

/* One transfer with the easy handle; err names libcurl's reason and the
 * last SMTP reply code, and never the password. */
static int transfer(CURL *c, const struct mail_settings *s, const char *to, struct upload *u, const char *password,
                    char *err, size_t errlen) {
        char errbuf[CURL_ERROR_SIZE] = "", from[MAIL_ADDRESS_MAX + 3], rcpt_addr[MAIL_ADDRESS_MAX + 3];
        struct curl_slist *rcpt;
        long code = 0;
        CURLcode e;

        snprintf(from, sizeof(from), "<%s>", s->from);
        snprintf(rcpt_addr, sizeof(rcpt_addr), "<%s>", to);
        rcpt = curl_slist_append(NULL, rcpt_addr);
        if (!rcpt)
                return mail_error(err, errlen, -ENOMEM, "smtp: out of memory");
        e = set_options(c, s, rcpt, from, u, errbuf);
        /* libcurl copies the password and frees (does not wipe) its copy at
         * cleanup; the mailer is a short-lived child, and ours is wiped. */
        if (!e && *password)
                e = curl_easy_setopt(c, CURLOPT_PASSWORD, password);
        if (!e)
                e = curl_easy_perform(c);
        curl_slist_free_all(rcpt);
        if (!e)
                return 0;
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        char reply[48] = "";
        if (code > 0)
                snprintf(reply, sizeof(reply), " (last SMTP reply %ld)", code);
        int r = mail_error(err, errlen, mail_curl_errno(e), "smtp: %s%s", errbuf[0] ? errbuf : curl_easy_strerror(e),
                           reply);
        /* libcurl's messages hold no password; a server could echo one back. */
        if (*password && errlen > 0 && strstr(err, password))
                mail_error(err, errlen, r, "smtp: delivery failed (the reason is withheld: it held the password)");
        return r;
}

int mail_deliver_smtp(const struct mail_settings *s, const char *to, const char *msg, size_t len, char *err,
                      size_t errlen) {
        char password[SECRET_LINE_MAX + 2] = "";
        struct upload u = { msg, len };
        const char *why;
        int r;

        if (s->smtp_user && *s->smtp_user) {
                r = secret_file_read(s->smtp_password_file, password, &why);
                if (r < 0)
                        return mail_error(err, errlen, r, "smtp_password_file: %s: %s", why, strerror(-r));
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                acctsec_wipe(password, sizeof(password));
                return mail_error(err, errlen, -ENOMEM, "smtp: libcurl initialisation failed");
        }
        CURL *c = curl_easy_init();
        if (c)
                r = transfer(c, s, to, &u, password, err, errlen);
        else
                r = mail_error(err, errlen, -ENOMEM, "smtp: libcurl initialisation failed");
        acctsec_wipe(password, sizeof(password));
        curl_easy_cleanup(c);
        curl_global_cleanup();
        return r;
}
