/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests on real files: a fresh temporary directory (under $TMPDIR when that
 * is an absolute path short enough, else /tmp), removed with all in it
 * afterwards, and files written into it with the mode asked for. */
#pragma once

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

/* Make a directory "prefix.XXXXXX" in dir[size]: 0 or -1 (errno). */
static inline int tmp_dir_make(char *dir, size_t size, const char *prefix) {
        const char *tmpdir = getenv("TMPDIR");
        if (!tmpdir || tmpdir[0] != '/' || strlen(tmpdir) > 40)
                tmpdir = "/tmp";
        snprintf(dir, size, "%s/%s.XXXXXX", tmpdir, prefix);
        return mkdtemp(dir) ? 0 : -1;
}

static inline int tmp_dir_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

/* Remove dir and everything below it (symlinks, not what they point at):
 * 0 or -1. */
static inline int tmp_dir_remove(const char *dir) {
        return nftw(dir, tmp_dir_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A temporary directory and the path of one file in it, which the test
 * makes (as a file, a directory, a link ...) or not. */
struct tmp_file {
        char dir[64];
        char path[128];
};

/* cmocka setup (from a test's own, which names the two) and teardown:
 * *state is a struct tmp_file. */
static inline int tmp_file_setup(void **state, const char *prefix, const char *name) {
        struct tmp_file *t = calloc(1, sizeof(*t));
        if (!t)
                return -1;
        if (tmp_dir_make(t->dir, sizeof(t->dir), prefix) < 0) {
                free(t);
                return -1;
        }
        snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
        *state = t;
        return 0;
}

static inline int tmp_file_teardown(void **state) {
        struct tmp_file *t = *state;
        int r = tmp_dir_remove(t->dir);
        free(t);
        return r;
}

/* Write n bytes of text to path (made or truncated) and give it mode, which
 * the umask does not touch. */
static inline void write_file_n(const char *path, const char *text, size_t n, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, n), (ssize_t) n);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(close(fd), 0);
}

static inline void write_file(const char *path, const char *text, mode_t mode) {
        write_file_n(path, text, strlen(text), mode);
}
