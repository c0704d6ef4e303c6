/* SPDX-License-Identifier: BSD-3-Clause */
/* What every libcurl transfer of acctsec sets (smtp, the SMS gateway), and
 * what its errors mean. */
#include "config.h"

#include <errno.h>

#include "mail_internal.h"

CURLcode mail_curl_base(CURL *c, const char *protocols, long protomask, const char *url, unsigned timeout_s,
                        const char *ca_file, char *errbuf) {
        long timeout = (long) timeout_s;
        CURLcode e = CURLE_OK;

        /* Each step only while every one before it succeeded. */
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        if (!e) /* no SIGALRM for resolver timeouts: we must not touch signals */
                e = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
        (void) protomask;
#else
        (void) protocols;
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_PROTOCOLS, protomask);
#endif
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_URL, url);
        if (!e) /* where the settings say, not where an inherited *_proxy variable points */
                e = curl_easy_setopt(c, CURLOPT_PROXY, "");
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        if (!e)
                e = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (!e && ca_file && *ca_file)
                e = curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
        return e;
}

int mail_curl_errno(CURLcode e) {
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
