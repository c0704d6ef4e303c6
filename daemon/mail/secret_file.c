/* SPDX-License-Identifier: BSD-3-Clause */
/* Secrets a transport reads when it runs (smtp_password_file,
 * sms_http_password_file): as secret as the key file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "mail_internal.h"
#include "secret.h"

int secret_file_read(const char *path, char buf[static SECRET_LINE_MAX + 2], const char **ret_why) {
        struct stat st;

        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return *ret_why = "cannot open it (missing, or a symlink?)", negative_errno();
        if (fstat(fd, &st) < 0)
                return *ret_why = "cannot stat it", negative_errno();
        if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()))
                return *ret_why = "not a regular file owned by root or the daemon's user", -EPERM;
        if (st.st_mode & 077)
                return *ret_why = "open to group or others (want mode 0600 or 0400)", -EPERM;
        if (read(fd, buf, SECRET_LINE_MAX + 1) < 0)
                return *ret_why = "cannot read it", negative_errno();
        size_t n = strcspn(buf, "\r\n");
        acctsec_wipe(buf + n, SECRET_LINE_MAX + 2 - n); /* the rest of the file, and the terminator */
        if (n > SECRET_LINE_MAX) {
                acctsec_wipe(buf, n);
                return *ret_why = "its first line is too long", -EINVAL;
        }
        if (n == 0)
                return *ret_why = "its first line is empty", -EINVAL;
        return 0;
}
