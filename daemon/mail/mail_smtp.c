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
        long timeout = (long) s->timeout_s;
        CURLcode e = CURLE_OK;

        /* Each step only while every one before it succeeded. */
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        if (!e) /* no SIGALRM for resolver timeouts: we must not touch signals */
                e = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long) (CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_URL, s->smtp_url);
        if (!e) /* the mail goes where smtp_url says, not where an inherited *_proxy variable points */
                e = curl_easy_setopt(c, CURLOPT_PROXY, "");
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
        if (!e) /* STARTTLS or fail: a server that drops it from EHLO gets nothing */
                e = curl_easy_setopt(c, CURLOPT_USE_SSL,
                                     (long) (implicit_tls || s->smtp_starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (!e && s->smtp_ca_file && *s->smtp_ca_file)
                e = curl_easy_setopt(c, CURLOPT_CAINFO, s->smtp_ca_file);
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

static int curl_errno(CURLcode e) {
        switch (e) {
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_LOGIN_DENIED:
                return -EACCES;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_USE_SSL_FAILED:
                return -EPROTO;
        default:
                return -EIO;
        }
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
        int r = mail_error(err, errlen, curl_errno(e), "smtp: %s%s", errbuf[0] ? errbuf : curl_easy_strerror(e),
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
