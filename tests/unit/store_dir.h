/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdio.h>
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
