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
        struct store_rows rows;
        int r = store_select(s, Q_PWHISTORY_LOAD,
                             STORE_ARGS(A_TEXT(user), A_INT(limit < PWHISTORY_MAX ? limit : PWHISTORY_MAX)), &rows);
        job->n = 0;
        while (r >= 0 && job->n < PWHISTORY_MAX && (r = store_next(&rows)) > 0) {
                const char *h = store_text(&rows, 0);
                if (!store_is_null(&rows, 0) && strlen(h) < crypto_pwhash_STRBYTES)
                        strcpy(job->hashes[job->n++], h);
        }
        store_rows_end(&rows);
        return r < 0 ? r : 0;
}

int pwhistory_add_in(struct store *s, const char *user, const char *hash, unsigned keep, int64_t now) {
        int r = store_exec(s, Q_PWHISTORY_ADD, STORE_ARGS(A_TEXT(user), A_TEXT(hash), A_INT(now)));
        if (r >= 0)
                r = store_exec(s, Q_PWHISTORY_TRIM, STORE_ARGS(A_TEXT(user), A_INT(keep)));
        return r < 0 ? r : 0;
}
