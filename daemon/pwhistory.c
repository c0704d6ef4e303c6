/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pwhistory.h"

int pwhistory_hash_run(void *arg, char *out, size_t n) {
        struct pwhistory_job *job = arg;
        char hash[crypto_pwhash_STRBYTES];
        if (crypto_pwhash_str(hash, job->password, strlen(job->password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
                snprintf(out, n, "argon2id: out of memory");
                return -ENOMEM;
        }
        if ((size_t) snprintf(out, n, "%s", hash) >= n)
                return -ENOBUFS;
        return 0;
}

int pwhistory_match_run(void *arg, char *out, size_t n) {
        struct pwhistory_job *job = arg;
        int r = 0;
        /* Every hash is tried: the time does not say which one matched. */
        for (unsigned i = 0; i < job->n; i++)
                if (crypto_pwhash_str_verify(job->hashes[i], job->password, strlen(job->password)) == 0)
                        r = -EACCES;
        return r;
}

int pwhistory_load(struct store *s, const char *user, unsigned limit, struct pwhistory_job *job) {
        sqlite3_stmt *st = store_stmt(s, "SELECT hash FROM password_history WHERE user = ? ORDER BY id DESC LIMIT ?");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, (int) (limit < PWHISTORY_MAX ? limit : PWHISTORY_MAX));
        job->n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && job->n < PWHISTORY_MAX) {
                const unsigned char *h = sqlite3_column_text(st, 0);
                if (h && strlen((const char *) h) < crypto_pwhash_STRBYTES)
                        strcpy(job->hashes[job->n++], (const char *) h);
        }
        sqlite3_reset(st);
        return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_errno(rc);
}

int pwhistory_add_in(struct store *s, const char *user, const char *hash, unsigned keep, int64_t now) {
        sqlite3_stmt *st = store_stmt(s, "INSERT INTO password_history (user, hash, created) VALUES (?, ?, ?)");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        int r = store_exec_stmt(st);
        if (r < 0)
                return r;
        st = store_stmt(s, "DELETE FROM password_history WHERE user = ?1 AND id NOT IN"
                           " (SELECT id FROM password_history WHERE user = ?1 ORDER BY id DESC LIMIT ?2)");
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, (int) keep);
        return store_exec_stmt(st);
}
