/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mailer.h"
#include "notify.h"

#define KEY_BLOB_MAX 4096 /* an RSA-16384 key is about 2 KiB */

int ssh_key_fingerprint(const char *auth_info, char *out, size_t n) {
        static const char prefix[] = "publickey ";
        unsigned char blob[KEY_BLOB_MAX], hash[crypto_hash_sha256_BYTES];
        size_t blob_len = 0;

        if (strncmp(auth_info, prefix, sizeof(prefix) - 1) != 0)
                return -EINVAL;
        const char *type = auth_info + sizeof(prefix) - 1;
        const char *b64 = strchr(type, ' ');
        if (!b64 || b64 == type)
                return -EINVAL;
        b64++;
        size_t len = strcspn(b64, " ");
        if (len == 0 || sodium_base642bin(blob, sizeof(blob), b64, len, NULL, &blob_len, NULL,
                                          sodium_base64_VARIANT_ORIGINAL) != 0 || blob_len < 8)
                return -EINVAL;
        crypto_hash_sha256(hash, blob, blob_len);
        char enc[sodium_base64_ENCODED_LEN(sizeof(hash), sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
        sodium_bin2base64(enc, sizeof(enc), hash, sizeof(hash), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
        return snprintf(out, n, "SHA256:%s", enc) < (int) n ? 0 : -ENOBUFS;
}

int notify_learn_source_in(struct store *s, const char *user, const char *rhost, const char *key, int64_t now,
                           bool *ret_new) {
        /* The insert decides: of two racing logins from a new source, one inserts. */
        int r = store_exec(s, Q_NOTIFY_SOURCE_ADD, STORE_ARGS(A_TEXT(user), A_TEXT(rhost), A_TEXT(key ? key : ""),
                                                             A_INT(now)));
        if (r < 0)
                return r;
        *ret_new = r == 1;
        if (*ret_new)
                r = store_exec(s, Q_NOTIFY_SOURCE_TRIM, STORE_ARGS(A_TEXT(user), A_INT(NOTIFY_SOURCES_MAX)));
        else
                r = store_exec(s, Q_NOTIFY_SOURCE_SEEN, STORE_ARGS(A_TEXT(user), A_TEXT(rhost),
                                                                  A_TEXT(key ? key : ""), A_INT(now)));
        return r < 0 ? r : 0;
}

int notify_learn_country_in(struct store *s, const char *user, const char *country, int64_t now, bool *ret_notice) {
        int64_t known = 0;
        *ret_notice = false;
        /* The insert decides, as for sources: one of two racing logins sees it new. */
        int r = store_exec(s, Q_NOTIFY_COUNTRY_ADD, STORE_ARGS(A_TEXT(user), A_TEXT(country), A_INT(now)));
        if (r <= 0)
                return r;
        r = store_get_int(s, Q_NOTIFY_COUNTRY_COUNT, STORE_ARGS(A_TEXT(user)), &known);
        if (r < 0)
                return r;
        *ret_notice = known > 1;
        return 0;
}

static void read_pref(const struct store_rows *row, void *ud) {
        *(bool *) ud = store_int(row, 0) != 0;
}

int notify_pref(struct store *s, const char *user, bool *ret_on) {
        *ret_on = true; /* no row: on */
        int r = store_get(s, Q_NOTIFY_PREF_GET, STORE_ARGS(A_TEXT(user)), read_pref, ret_on);
        return r < 0 ? r : 0;
}

int notify_set_in(struct store *s, const char *user, bool on) {
        int r = store_exec(s, Q_NOTIFY_PREF_SET, STORE_ARGS(A_TEXT(user), A_INT(on)));
        return r < 0 ? r : 0;
}

static void sent(int r, const char *out, void *userdata) {
        if (r < 0)
                log_warning("new-login notice to %s not delivered: %s", (const char *) userdata, out);
        free(userdata);
}

/* "Paris, France (FR)", "France (FR)"; "" without a location. */
static void place(const struct geoip_location *w, char *out, size_t n) {
        out[0] = '\0';
        if (!w || !w->country[0])
                return;
        const char *name = w->country_name[0] ? w->country_name : w->country;
        snprintf(out, n, "%s%s%s (%s)", w->city, w->city[0] ? ", " : "", name, w->country);
}

/* Facts only: no link to click, nothing secret.  The location's names
 * come from the database, sanitised (geoip.h): printable text only. */
void notify_send(struct daemon *d, const struct new_login *l) {
        char host[256] = "localhost", when[64] = "", body[2048], where[3 * GEOIP_NAME_MAX];
        time_t t = (time_t) l->when;
        struct tm tm;

        (void) gethostname(host, sizeof(host) - 1);
        if (gmtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        place(l->where, where, sizeof(where));
        snprintf(body, sizeof(body),
                 "There was a login to the account %s on %s from %s.\n\n"
                 "  at:      %s\n  service: %s\n  from:    %s\n%s%s%s%s%s%s\n"
                 "If this was you, there is nothing to do.  If not, change your password,\n"
                 "end the session (acctsec session list, acctsec session terminate ID)\n"
                 "and tell your administrator now.\n\n"
                 "(acctsec notify off turns these mails off.)\n",
                 l->user, host, l->new_location ? "a location not seen before" : "a source not seen before", when,
                 l->service && *l->service ? l->service : "-", l->rhost, where[0] ? "  where:   " : "", where,
                 where[0] ? "\n" : "", l->key ? "  key:     " : "", l->key ? l->key : "", l->key ? "\n" : "");
        struct mail_message m = { .to = l->address,
                                  .subject = l->new_location ? "Login to your account from a new location"
                                                             : "New login to your account",
                                  .body = body };
        char *who = strdup(l->user);
        if (!who || mailer_send(d->event, &d->policy.global, &m, sent, who) < 0) {
                log_warning("new-login notice to %s: cannot start the delivery", l->user);
                free(who);
        }
}
