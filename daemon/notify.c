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
        static const char add[] = "INSERT INTO known_sources (user, rhost, key, first_seen, last_seen)"
                                  " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT DO NOTHING";
        static const char seen[] = "UPDATE known_sources SET last_seen = ?4 WHERE user = ?1 AND rhost = ?2 AND key = ?3";
        static const char trim[] = "DELETE FROM known_sources WHERE user = ?1 AND (rhost, key) IN ("
                                   "SELECT rhost, key FROM known_sources WHERE user = ?1"
                                   " ORDER BY last_seen DESC LIMIT -1 OFFSET ?2)";
        sqlite3_stmt *st = store_stmt(s, add);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rhost, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, key ? key : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        int r = store_exec_stmt(st);
        if (r < 0)
                return r;
        *ret_new = sqlite3_changes(store_sqlite_db(s)) == 1;
        if (!*ret_new) {
                st = store_stmt(s, seen);
                if (!st)
                        return -EIO;
                sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, rhost, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, key ? key : "", -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 4, now);
                return store_exec_stmt(st);
        }
        st = store_stmt(s, trim);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, NOTIFY_SOURCES_MAX);
        return store_exec_stmt(st);
}

int notify_pref(struct store *s, const char *user, bool *ret_on) {
        sqlite3_stmt *st = store_stmt(s, "SELECT new_source FROM notify WHERE user = ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        *ret_on = rc != SQLITE_ROW || sqlite3_column_int(st, 0) != 0;
        int r = rc == SQLITE_ROW ? 0 : store_errno(rc);
        sqlite3_reset(st);
        return r;
}

int notify_set_in(struct store *s, const char *user, bool on) {
        sqlite3_stmt *st = store_stmt(s, "INSERT OR REPLACE INTO notify (user, new_source) VALUES (?, ?)");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, on);
        return store_exec_stmt(st);
}

static void sent(int r, const char *out, void *userdata) {
        if (r < 0)
                log_warning("new-login notice to %s not delivered: %s", (const char *) userdata, out);
        free(userdata);
}

/* Facts only: no link to click, nothing secret. */
void notify_send(struct daemon *d, const struct new_login *l) {
        char host[256] = "localhost", when[64] = "", body[2048];
        time_t t = (time_t) l->when;
        struct tm tm;

        (void) gethostname(host, sizeof(host) - 1);
        if (gmtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        snprintf(body, sizeof(body),
                 "There was a login to the account %s on %s from a source not seen before.\n\n"
                 "  at:      %s\n  service: %s\n  from:    %s\n%s%s%s\n"
                 "If this was you, there is nothing to do.  If not, change your password,\n"
                 "end the session (acctsec session list, acctsec session terminate ID)\n"
                 "and tell your administrator now.\n\n"
                 "(acctsec notify off turns these mails off.)\n",
                 l->user, host, when, l->service && *l->service ? l->service : "-", l->rhost,
                 l->key ? "  key:     " : "", l->key ? l->key : "", l->key ? "\n" : "");
        struct mail_message m = { .to = l->address, .subject = "New login to your account", .body = body };
        char *who = strdup(l->user);
        if (!who || mailer_send(d->event, &d->policy.global, &m, sent, who) < 0) {
                log_warning("new-login notice to %s: cannot start the delivery", l->user);
                free(who);
        }
}
