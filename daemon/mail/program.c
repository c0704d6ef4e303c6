/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Running a configured program for a delivery (the sendmail transport, the
 * SMS command transport): a fixed argv and no shell, the input on its
 * stdin, no other fd inherited, its own process group, default signals,
 * the whole run bounded by a timeout.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "mail_internal.h"

extern char **environ;

struct child {
        pid_t pid;
        int in;    /* our end of its stdin: a socket, so a dead reader is EPIPE, not SIGPIPE */
        int out;   /* its stdout and stderr */
        int pidfd; /* readable once it exits; -1 when the kernel has no pidfd_open() */
        const char *msg;
        size_t left;     /* bytes of msg not yet written */
        char first[256]; /* the start of its output, for the error line */
        size_t got;
};

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static int spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at, int in, int out) {
        sigset_t none, all;
        int r;

        sigemptyset(&none);
        sigfillset(&all);
        /* Its own process group, so a timeout kills whatever it forked too;
         * default signals and an empty mask, whatever the daemon blocks. */
        r = posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = r ?: posix_spawnattr_setsigmask(at, &none);
        r = r ?: posix_spawnattr_setsigdefault(at, &all);
        r = r ?: posix_spawn_file_actions_adddup2(fa, in, STDIN_FILENO);
        r = r ?: posix_spawn_file_actions_adddup2(fa, out, STDOUT_FILENO);
        r = r ?: posix_spawn_file_actions_adddup2(fa, out, STDERR_FILENO);
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
        /* Our fds are O_CLOEXEC already; this also covers a library's that are not. */
        r = r ?: posix_spawn_file_actions_addclosefrom_np(fa, STDERR_FILENO + 1);
#endif
        return -r;
}

static int spawn(char *const argv[], struct child *c) {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t at;
        int sv[2], pp[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return negative_errno();
        if (pipe2(pp, O_CLOEXEC) < 0) {
                r = negative_errno();
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        r = -posix_spawn_file_actions_init(&fa);
        if (r == 0) {
                r = -posix_spawnattr_init(&at);
                if (r == 0) {
                        r = spawn_setup(&fa, &at, sv[1], pp[1]);
                        if (r == 0)
                                r = -posix_spawn(&c->pid, argv[0], &fa, &at, argv, environ);
                        posix_spawnattr_destroy(&at);
                }
                posix_spawn_file_actions_destroy(&fa);
        }
        close(sv[1]);
        close(pp[1]);
        c->in = sv[0];
        c->out = pp[0];
        if (r == 0 && (fcntl(c->in, F_SETFL, O_NONBLOCK) < 0 || fcntl(c->out, F_SETFL, O_NONBLOCK) < 0))
                r = negative_errno(); /* cannot happen on a fresh socket and pipe; the caller reaps */
        return r;
}

static void feed(struct child *c) {
        ssize_t k = send(c->in, c->msg, c->left, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
                c->msg += k;
                c->left -= (size_t) k;
        }
        /* All written: EOF tells it the message ended.  Or it stopped reading
         * (EPIPE): c->left stays non-zero and the caller says so. */
        if (c->left == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                close_fd(&c->in);
}

/* Keep the start of its output; read and drop the rest, so a chatty program
 * never blocks on a full pipe. */
static void drain(struct child *c) {
        char buf[512];
        ssize_t k = read(c->out, buf, sizeof(buf));
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k <= 0) {
                close_fd(&c->out);
                return;
        }
        size_t room = sizeof(c->first) - 1 - c->got, n = (size_t) k < room ? (size_t) k : room;
        memcpy(c->first + c->got, buf, n);
        c->got += n;
        c->first[c->got] = '\0';
}

/* Feed stdin and collect output until the child exits or the deadline passes. */
static int run(struct child *c, int64_t deadline, int *ret_status) {
        for (;;) {
                pid_t w = waitpid(c->pid, ret_status, WNOHANG);
                if (w == c->pid)
                        return 0;
                if (w < 0 && errno != EINTR)
                        return negative_errno();
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                /* Without a pidfd nothing wakes us when it exits: look every 10 ms. */
                if (c->pidfd < 0 && left > 10)
                        left = 10;
                struct pollfd p[] = {
                        { .fd = c->left > 0 ? c->in : -1, .events = POLLOUT },
                        { .fd = c->out, .events = POLLIN },
                        { .fd = c->pidfd, .events = POLLIN },
                };
                if (poll(p, ARRAY_SIZE(p), left > INT_MAX ? INT_MAX : (int) left) < 0 && errno != EINTR)
                        return negative_errno();
                if (p[0].revents)
                        feed(c);
                if (p[1].revents)
                        drain(c);
        }
}

static int child_result(const char *path, const struct child *c, int status, char *err, size_t errlen) {
        char line[sizeof(c->first)];

        memcpy(line, c->first, sizeof(line));
        line[strcspn(line, "\r\n")] = '\0';
        const char *sep = line[0] ? ": " : "";
        if (WIFSIGNALED(status))
                return mail_error(err, errlen, -EIO, "%s was killed by signal %d%s%s", path, WTERMSIG(status), sep,
                                  line);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return mail_error(err, errlen, -EIO, "%s exited with status %d%s%s", path, WEXITSTATUS(status), sep,
                                  line);
        if (c->left > 0)
                return mail_error(err, errlen, -EPIPE, "%s exited before reading the whole input", path);
        return 0;
}

int program_run(char *const argv[], const char *input, size_t len, unsigned timeout_s, char *err, size_t errlen) {
        const char *path = argv[0];
        struct child c = { .pid = -1, .in = -1, .out = -1, .pidfd = -1, .msg = input, .left = len };
        int64_t deadline = now_ms() + (int64_t) timeout_s * 1000;
        int status = 0, r;

        r = spawn(argv, &c);
        if (r < 0 && c.pid <= 0) {
                close_fd(&c.in);
                close_fd(&c.out);
                return mail_error(err, errlen, r, "cannot run %s: %s", path, strerror(-r));
        }
#ifdef SYS_pidfd_open
        if (r == 0)
                c.pidfd = (int) syscall(SYS_pidfd_open, c.pid, 0); /* O_CLOEXEC always */
#endif
        if (r == 0)
                r = run(&c, deadline, &status);
        if (r < 0) {
                (void) kill(-c.pid, SIGKILL);
                while (waitpid(c.pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        if (c.out >= 0)
                drain(&c); /* what it wrote just before it exited */
        close_fd(&c.in);
        close_fd(&c.out);
        close_fd(&c.pidfd);
        if (r == -ETIMEDOUT)
                return mail_error(err, errlen, r, "%s did not finish within %u s", path, timeout_s);
        if (r < 0)
                return mail_error(err, errlen, r, "running %s: %s", path, strerror(-r));
        return child_result(path, &c, status, err, errlen);
}
