/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SMS gateway over HTTP(S) (libcurl): one POST of the rendered body
 * template, the format's Content-Type, at most one extra header, basic
 * authentication with a password from a file only the daemon may read;
 * certificates always verified, no proxies from the environment, no
 * redirects, the whole exchange bounded by timeout_s.  A 2xx status is a
 * delivery; anything else names the status and the start of the answer.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mail_internal.h"
#include "secret.h"
#include "sms.h"

#define ANSWER_KEEP 160 /* bytes of the gateway's answer kept for the error line */

struct answer {
        char text[ANSWER_KEEP + 1];
        size_t got;
};

static size_t write_cb(char *buf, size_t size, size_t nitems, void *data) {
        struct answer *a = data;
        size_t n = size * nitems, room = ANSWER_KEEP - a->got, k = n < room ? n : room;
        memcpy(a->text + a->got, buf, k);
        a->got += k;
        a->text[a->got] = '\0';
        return n;
}

static CURLcode set_options(CURL *c, const struct sms_settings *s, const char *body, struct curl_slist *headers,
                            struct answer *a, char *errbuf) {
        CURLcode e = mail_curl_base(c, "http,https", (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS), s->url, s->timeout_s,
                                    s->ca_file, errbuf);

        if (!e && s->user && *s->user)
                e = curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
        return e;
}

/* The request's body and headers, rendered; -EINVAL/-ENOBUFS as sms_render. */
static int build(const struct sms_settings *s, const char *to, const char *text, const char *secret,
                 char body[static SMS_REQUEST_MAX], struct curl_slist **ret_headers) {
        char header[SMS_REQUEST_MAX];
        const char *type = s->format == SMS_JSON ? "Content-Type: application/json"
                                                 : "Content-Type: application/x-www-form-urlencoded";
        int r = sms_render(sms_body_template(s), s->format, to, s->from, text, secret, body, SMS_REQUEST_MAX);
        struct curl_slist *h = r < 0 ? NULL : curl_slist_append(NULL, type);
        if (r == 0 && !h)
                r = -ENOMEM;
        if (r == 0 && s->header && *s->header) {
                r = sms_render(s->header, SMS_RAW, to, s->from, text, secret, header, sizeof(header));
                if (r == 0 && !mail_line_valid(header, sizeof(header)))
                        r = -EINVAL; /* a secret with a control character would split the header */
                struct curl_slist *more = r == 0 ? curl_slist_append(h, header) : NULL;
                if (r == 0 && !more)
                        r = -ENOMEM;
                if (more)
                        h = more;
                acctsec_wipe(header, sizeof(header));
        }
        if (r < 0) {
                curl_slist_free_all(h);
                return r;
        }
        *ret_headers = h;
        return 0;
}

static int transfer(CURL *c, const struct sms_settings *s, const char *to, const char *text, const char *secret,
                    char *err, size_t errlen) {
        char errbuf[CURL_ERROR_SIZE] = "", body[SMS_REQUEST_MAX];
        struct curl_slist *headers = NULL;
        struct answer a = { .got = 0 };
        long status = 0;

        int r = build(s, to, text, secret, body, &headers);
        if (r < 0)
                return mail_error(err, errlen, r, "sms: cannot build the request from sms_http_body/sms_http_header: %s",
                                  strerror(-r));
        CURLcode e = set_options(c, s, body, headers, &a, errbuf);
        /* libcurl copies the password; the child that runs this is short-lived. */
        if (!e && s->user && *s->user)
                e = curl_easy_setopt(c, CURLOPT_PASSWORD, secret);
        if (!e)
                e = curl_easy_perform(c);
        curl_slist_free_all(headers);
        acctsec_wipe(body, sizeof(body));
        if (e)
                r = mail_error(err, errlen, mail_curl_errno(e), "sms: %s", errbuf[0] ? errbuf : curl_easy_strerror(e));
        else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status < 200 || status > 299)
                r = mail_error(err, errlen, status == 401 || status == 403 ? -EACCES : -EIO,
                               "sms: the gateway answered HTTP %ld%s%.*s", status, a.got ? ": " : "",
                               (int) strcspn(a.text, "\r\n"), a.text);
        /* A gateway could echo the secret back: never into the log. */
        if (r < 0 && *secret && errlen > 0 && strstr(err, secret))
                mail_error(err, errlen, r, "sms: delivery failed (the reason is withheld: it held the secret)");
        acctsec_wipe(&a, sizeof(a));
        return r;
}

int sms_deliver_http(const struct sms_settings *s, const char *to, const char *text, char *err, size_t errlen) {
        char secret[SECRET_LINE_MAX + 2] = "";
        const char *why;
        int r;

        if (s->password_file && *s->password_file) {
                r = secret_file_read(s->password_file, secret, &why);
                if (r < 0)
                        return mail_error(err, errlen, r, "sms_http_password_file: %s: %s", why, strerror(-r));
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                acctsec_wipe(secret, sizeof(secret));
                return mail_error(err, errlen, -ENOMEM, "sms: libcurl initialisation failed");
        }
        CURL *c = curl_easy_init();
        if (c)
                r = transfer(c, s, to, text, secret, err, errlen);
        else
                r = mail_error(err, errlen, -ENOMEM, "sms: libcurl initialisation failed");
        acctsec_wipe(secret, sizeof(secret));
        curl_easy_cleanup(c);
        curl_global_cleanup();
        return r;
}
