/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The module's connection to acctsecd: one per PAM handle, kept with
 * pam_set_data between the calls of one login (preauth, authsucc and, when
 * its answer was not carried, account: one connect) and closed by pam_end,
 * or by the first session or password call: those use one connection each,
 * so that the process a login program forks for the user's session right
 * after pam_open_session inherits none.
 *
 * The fd is the application's process's, and an application may close fds
 * that are not its own (closefrom before an exec in a child) and get the
 * number back for a file of its own: the fd is used, and closed, only while
 * it is still the socket we connected (its device and inode), else it is
 * forgotten, never touched.
 *
 * It is used again only by the process and the effective uid that opened it
 * (sshd forks with the handle: a child's copy is closed, never shut down, and
 * the child connects anew), only for the same socket settings, and only when
 * it is quiet: anything to read, or a hang-up, on an idle connection means the
 * daemon closed it (request_timeout, its slot given to a newcomer, a
 * restart), so a new one is made.  A request refused on a kept connection
 * with EPIPE or ECONNRESET was never read (client.h) and is sent once more on
 * a new connection.  After any other failure the connection is closed: a late
 * reply must never be read as the answer to the next request.  The reply to
 * a request on a kept connection whose last reply came quickly is polled
 * for before the process sleeps (common/client.c); a slow one (a busy
 * daemon, a disk sync, PostgreSQL) turns that off for the next.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "link.h"
#include "macro.h"

#define LINK_DATA "pam_acctsec_link"

struct link {
        int fd;
        dev_t dev; /* the socket's, to know it is still ours */
        ino_t ino;
        pid_t pid;
        uid_t euid;
        bool quick; /* its last reply came within the client's poll: the daemon is idle, poll for the next */
        char path[ACCTSEC_SOCKET_PATH_MAX]; /* the socket it reached */
        char socket[ACCTSEC_SOCKET_PATH_MAX], private_socket[ACCTSEC_SOCKET_PATH_MAX]; /* the settings */
};

/* 1: the fd is still our socket; -1: it is not (closed, or another
 * object): forget it; 0: fstat failed otherwise: ours, as far as anyone
 * knows, but not to be used. */
static int identity(const struct link *l) {
        struct stat st;
        if (l->fd < 0)
                return -1;
        if (fstat(l->fd, &st) < 0)
                return errno == EBADF ? -1 : 0;
        return S_ISSOCK(st.st_mode) && st.st_dev == l->dev && st.st_ino == l->ino ? 1 : -1;
}

static void link_cleanup(pam_handle_t *pamh, void *data, int error_status) {
        struct link *l = data;
        if (identity(l) >= 0)
                close(l->fd); /* this process's copy only: a parent or child keeps its own */
        free(l);
}

static bool same_settings(const struct link *l, const struct acctsec_conf *c) {
        return l->pid == getpid() && l->euid == geteuid() && strcmp(l->socket, c->socket) == 0 &&
               strcmp(l->private_socket, c->private_socket) == 0;
}

/* An idle connection has nothing to say: a readable byte or a hang-up means
 * the daemon let it go. */
static bool quiet(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
        int r;
        do
                r = poll(&p, 1, 0);
        while (r < 0 && errno == EINTR);
        return r == 0;
}

static void drop(pam_handle_t *pamh) {
        (void) pam_set_data(pamh, LINK_DATA, NULL, NULL); /* the cleanup closes it */
}

/* The kept connection for these settings, or NULL. */
static struct link *kept(pam_handle_t *pamh, const struct acctsec_conf *c) {
        const void *data = NULL;
        if (pam_get_data(pamh, LINK_DATA, &data) != PAM_SUCCESS || !data)
                return NULL;
        struct link *l = (struct link *) data;
        int id = identity(l);
        if (id < 0)
                l->fd = -1; /* the number is someone else's now: forgotten, not closed */
        else if (id > 0 && same_settings(l, c) && quiet(l->fd))
                return l;
        drop(pamh);
        return NULL;
}

/* A new connection, kept in the handle (which closes it at pam_end);
 * *ret_once when it could not be told apart later (fstat failed): then the
 * caller uses it once and closes it. */
static int connect_new(pam_handle_t *pamh, const struct acctsec_conf *c, long long deadline, struct link **ret,
                       bool *ret_once, char path[static ACCTSEC_SOCKET_PATH_MAX]) {
        struct link *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        struct stat st;
        int r = acctsec_connect_as_caller(c->socket, c->private_socket, deadline, &l->fd, path);
        if (r < 0) {
                free(l);
                return r;
        }
        *ret = l;
        *ret_once = fstat(l->fd, &st) < 0;
        if (*ret_once)
                return 0;
        l->dev = st.st_dev;
        l->ino = st.st_ino;
        l->pid = getpid();
        l->euid = geteuid();
        strcpy(l->path, path);
        strcpy(l->socket, c->socket);
        strcpy(l->private_socket, c->private_socket);
        if (pam_set_data(pamh, LINK_DATA, l, link_cleanup) != PAM_SUCCESS) {
                link_cleanup(pamh, l, 0);
                return -ENOMEM;
        }
        return 0;
}

int link_call(pam_handle_t *pamh, const struct acctsec_conf *c, bool keep, unsigned timeout_ms,
              struct acctsec_frame *req, struct acctsec_msg *reply, char path[static ACCTSEC_SOCKET_PATH_MAX]) {
        if (!keep) {
                drop(pamh);
                return acctsec_call_as_caller(c->socket, c->private_socket, timeout_ms, req, reply, path);
        }
        long long deadline = acctsec_deadline(timeout_ms);
        snprintf(path, ACCTSEC_SOCKET_PATH_MAX, "%s", c->socket);
        int r = acctsec_frame_finish(req);
        if (r < 0)
                return r;

        struct link *l = kept(pamh, c);
        if (l) {
                strcpy(path, l->path);
                r = acctsec_exchange(l->fd, deadline, l->quick, &l->quick, req, reply);
                if (r == 0)
                        return 0;
                drop(pamh);
                if (r != -EPIPE && r != -ECONNRESET)
                        return r;
                /* Not read by the daemon: once more, on a new connection. */
        }

        bool once = false;
        r = connect_new(pamh, c, deadline, &l, &once, path);
        if (r < 0)
                return r;
        r = acctsec_exchange(l->fd, deadline, false, &l->quick, req, reply);
        if (once) {
                close(l->fd);
                free(l);
        } else if (r < 0)
                drop(pamh);
        return r;
}
