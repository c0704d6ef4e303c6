/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>

#include "client.h"
#include "macro.h"

static long long now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long now_ms(void) {
        return now_ns() / 1000000;
}

/* Wait for events until the deadline; 0, -ETIMEDOUT or -errno. */
static int wait_for(int fd, short events, long long deadline) {
        for (;;) {
                long long left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd p = { .fd = fd, .events = events };
                int r = poll(&p, 1, (int) (left > 60000 ? 60000 : left));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return negative_errno();
                if (r > 0)
                        return 0;
        }
}

static int trusted_uid(uid_t uid) {
        return uid == 0 || uid == geteuid();
}

/* A full listen backlog: a non-blocking connect() fails with EAGAIN (and
 * no poll() tells when room appears), so wait in a blocking one bounded by
 * SO_SNDTIMEO: on a Unix stream socket it sleeps until the daemon accepts.
 * A backlog still full at the deadline is -ETIMEDOUT, a busy daemon. */
static int connect_when_room(int fd, const struct sockaddr_un *sa, long long deadline) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
                return negative_errno();
        for (;;) {
                long long left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct timeval tv = { .tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000 };
                if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                        return negative_errno();
                if (connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) == 0)
                        break;
                if (errno == EINTR) /* a Unix connect() left nothing half-done: try again */
                        continue;
                return errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : negative_errno();
        }
        return fcntl(fd, F_SETFL, flags) < 0 ? negative_errno() : 0;
}

/* A Unix connect() completes at once or not at all: it never leaves a
 * connection in progress (which a non-blocking one would poll for). */
static int connect_within(int fd, const struct sockaddr_un *sa, long long deadline) {
        for (;;) {
                if (connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) == 0)
                        return 0;
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN)
                        return connect_when_room(fd, sa, deadline);
                return negative_errno();
        }
}

/* path, whose lstat() is st: a socket of root's or ours, served by its owner. */
static int connect_to(const char *path, const struct stat *st, long long deadline, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        if (!S_ISSOCK(st->st_mode) || !trusted_uid(st->st_uid))
                return -EPERM;

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        int r = connect_within(fd, &sa, deadline);
        if (r < 0)
                return r;

        /* Only a connected socket has a peer; an unconnected one would read
         * as pid 0, uid -1, which must never pass for anything. */
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
                return negative_errno();
        if (cred.pid <= 0)
                return -ENOTCONN;
        if (cred.uid != st->st_uid)
                return -EPERM;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int send_all(int fd, const uint8_t *p, size_t n, long long deadline) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        int r = wait_for(fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k < 0)
                        return negative_errno();
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Waking a process that sleeps on its socket costs more than most replies
 * take: on an idle virtual machine the sleeping CPU halts, and waking it is
 * an interrupt to another CPU and an exit to the hypervisor (about 25 us
 * on the KVM guest of bench/RESULTS.md, a daemon's answer from memory about
 * 10 us).  So, when the caller asks (acctsec_exchange's spin: the module,
 * on a kept connection whose last reply came quickly, i.e. an idle
 * daemon), the first wait for a reply polls the socket, without sleeping,
 * for up to REPLY_SPIN_NS; a reply that takes longer (a durable commit,
 * PostgreSQL, a mail, a busy daemon) is slept for as before.  Never where
 * this process may run on one CPU only: there the spin would keep the
 * daemon from answering. */
#define REPLY_SPIN_NS 50000


static bool may_spin(void) {
        cpu_set_t cpus;
        return sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) > 1;
}

/* 0 once fd has something to read (data or its end) or after the spin, or
 * the socket's error: reading it clears it, so it is returned, never lost
 * (a reset must stay a reset: client.h). */
static int spin_for_reply(int fd) {
        if (!may_spin())
                return 0;
        long long until = now_ns() + REPLY_SPIN_NS;
        uint8_t b;
        do {
                if (recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0)
                        return 0;
                if (errno != EAGAIN && errno != EINTR)
                        return negative_errno();
        } while (now_ns() < until);
        return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n, long long deadline, bool spin) {
        while (n > 0) {
                ssize_t k = recv(fd, p, n, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN && spin) {
                        spin = false;
                        int r = spin_for_reply(fd);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k < 0 && errno == EAGAIN) {
                        int r = wait_for(fd, POLLIN, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k < 0)
                        return negative_errno();
                if (k == 0) /* the daemon closed it having read the request: not the reset of client.h */
                        return -ECONNABORTED;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

long long acctsec_deadline(unsigned timeout_ms) {
        return now_ms() + timeout_ms;
}

int acctsec_exchange(int fd, long long deadline, bool spin, bool *ret_quick, struct acctsec_frame *req,
                     struct acctsec_msg *reply) {
        uint8_t hdr[ACCTSEC_HEADER_SIZE], type;
        uint32_t len;

        int r = acctsec_frame_finish(req);
        if (r < 0)
                return r;
        r = send_all(fd, req->buf, req->len, deadline);
        if (r < 0)
                return r;
        long long sent = now_ns();
        r = recv_all(fd, hdr, sizeof(hdr), deadline, spin);
        if (r < 0)
                return r;
        if (ret_quick)
                *ret_quick = now_ns() - sent <= REPLY_SPIN_NS;
        r = acctsec_header_parse(hdr, &type, &len);
        if (r < 0)
                return r;
        r = recv_all(fd, (uint8_t *) reply->arena, len, deadline, false);
        if (r < 0)
                return r;
        return acctsec_msg_parse(reply, type, (const uint8_t *) reply->arena, len);
}

static int call(const char *socket_path, const struct stat *st, long long deadline, struct acctsec_frame *req,
                struct acctsec_msg *reply) {
        _cleanup_close_ int fd = -1;
        int r = acctsec_frame_finish(req);
        if (r < 0)
                return r;
        r = connect_to(socket_path, st, deadline, &fd);
        return r < 0 ? r : acctsec_exchange(fd, deadline, false, NULL, req, reply);
}

static int lstat_errno(const char *path, struct stat *ret) {
        return lstat(path, ret) < 0 ? negative_errno() : 0;
}

int acctsec_call(const char *socket_path, unsigned timeout_ms, struct acctsec_frame *req,
                 struct acctsec_msg *reply) {
        struct stat st;
        int r = lstat_errno(socket_path, &st);
        return r < 0 ? r : call(socket_path, &st, now_ms() + timeout_ms, req, reply);
}

int acctsec_connect_as_caller(const char *socket_path, const char *private_socket, long long deadline,
                              int *ret_fd, char ret_path[static ACCTSEC_SOCKET_PATH_MAX]) {
        char private_path[ACCTSEC_SOCKET_PATH_MAX];
        struct stat st;

        /* root's own socket: local users cannot fill its backlog or its
         * connection slots, so they cannot starve logins.  Only where there
         * is none (a daemon started without one) does root share. */
        if (geteuid() == 0 && acctsec_private_socket_path(socket_path, private_socket, private_path) == 0) {
                int r = lstat_errno(private_path, &st);
                if (r != -ENOENT) {
                        strcpy(ret_path, private_path);
                        return r < 0 ? r : connect_to(private_path, &st, deadline, ret_fd);
                }
        }
        snprintf(ret_path, ACCTSEC_SOCKET_PATH_MAX, "%s", socket_path);
        int r = lstat_errno(socket_path, &st);
        return r < 0 ? r : connect_to(socket_path, &st, deadline, ret_fd);
}

int acctsec_call_as_caller(const char *socket_path, const char *private_socket, unsigned timeout_ms,
                           struct acctsec_frame *req, struct acctsec_msg *reply,
                           char ret_path[static ACCTSEC_SOCKET_PATH_MAX]) {
        long long deadline = now_ms() + timeout_ms;
        _cleanup_close_ int fd = -1;
        int r = acctsec_frame_finish(req);
        if (r < 0)
                return r;
        r = acctsec_connect_as_caller(socket_path, private_socket, deadline, &fd, ret_path);
        return r < 0 ? r : acctsec_exchange(fd, deadline, false, NULL, req, reply);
}

int acctsec_reply_errno(const struct acctsec_msg *reply) {
        uint64_t e = 0;
        if (reply->type == ACCTSEC_REPLY_OK)
                return 0;
        if (acctsec_msg_u64(reply, ACCTSEC_TAG_ERRNO, &e) < 0 || e == 0 || e > 4095)
                return EPROTO;
        return (int) e;
}
