/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The maildir transport: write into tmp/, fsync, rename into new/, fsync
 * new/ (the Maildir protocol: a reader never sees half a message, and a
 * delivered one survives a crash).  Every step after opening the Maildir
 * works relative to directory fds opened without following symlinks.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "mail_internal.h"

/* tmp/, new/ and cur/ are made when missing; opened without following a
 * symlink, so every later step works inside the directory we checked. */
static int open_subdir(int dfd, const char *name) {
        if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* time.M<usec>P<pid>R<random>.host, the Maildir convention: unique without locks. */
static void maildir_name(char *buf, size_t n) {
        char host[MAIL_HOST_MAX + 1], name[MAIL_HOST_MAX + 1] = "", hex[17];
        uint8_t rnd[8];
        struct timespec ts;

        (void) gethostname(name, sizeof(name) - 1);
        mail_host_clean(name, host);
        randombytes_buf(rnd, sizeof(rnd));
        sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(buf, n, "%lld.M%ldP%ldR%s.%s", (long long) ts.tv_sec, ts.tv_nsec / 1000, (long) getpid(), hex, host);
}

int mail_deliver_maildir(const char *dir, const char *msg, size_t len, char *err, size_t errlen) {
        char name[MAIL_HOST_MAX + 96];

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return mail_error(err, errlen, negative_errno(), "cannot create the Maildir %s: %m", dir);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return mail_error(err, errlen, negative_errno(), "cannot open the Maildir %s (a symlink?): %m", dir);
        _cleanup_close_ int tmp = open_subdir(dfd, "tmp");
        _cleanup_close_ int new = open_subdir(dfd, "new");
        _cleanup_close_ int cur = open_subdir(dfd, "cur");
        int r = tmp < 0 ? tmp : new < 0 ? new : cur;
        if (r < 0)
                return mail_error(err, errlen, r, "cannot set up tmp/, new/ and cur/ in %s: %s", dir, strerror(-r));

        maildir_name(name, sizeof(name));
        _cleanup_close_ int fd = openat(tmp, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return mail_error(err, errlen, negative_errno(), "cannot create a file in %s/tmp: %m", dir);
        /* On disk before it appears in new/: a reader never sees half a message. */
        r = write_all(fd, msg, len);
        if (r == 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r == 0 && renameat(tmp, name, new, name) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(tmp, name, 0);
                return mail_error(err, errlen, r, "cannot write the message into %s: %s", dir, strerror(-r));
        }
        if (fsync(new) < 0)
                return mail_error(err, errlen, negative_errno(), "cannot sync %s/new: %m", dir);
        return 0;
}
