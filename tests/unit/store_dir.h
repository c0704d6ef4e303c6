/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

/* Remove a test's state directory: the database, its WAL files and the
 * clean-stop mark go;
 * anything else left makes rmdir fail.  0 or -1 (errno) like rmdir. */
static inline int store_dir_remove(const char *dir) {
        static const char *const files[] = { STORE_DB_NAME, STORE_DB_NAME "-wal", STORE_DB_NAME "-shm", STORE_MARK_NAME };
        char path[128];
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                (void) unlink(path);
        }
        return rmdir(dir);
}

/* A fresh database in a temp dir of its own (cmocka setup/teardown use it). */
struct store_fixture {
        char dir[64];
        struct store s;
};

/* NULL when the directory or the database cannot be made. */
static inline struct store_fixture *store_fixture_new(void) {
        struct store_fixture *f = calloc(1, sizeof(*f));
        const char *why = NULL;
        if (!f)
                return NULL;
        strcpy(f->dir, "/tmp/acctsec-store.XXXXXX");
        if (!mkdtemp(f->dir) || store_open(&f->s, f->dir, &why) < 0) {
                free(f);
                return NULL;
        }
        return f;
}

/* 0, or -1 when the directory had more in it than the store's files. */
static inline int store_fixture_free(struct store_fixture *f) {
        store_close(&f->s);
        int r = store_dir_remove(f->dir);
        free(f);
        return r;
}
