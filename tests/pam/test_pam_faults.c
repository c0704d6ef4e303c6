/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tier 5, faults, through the real module and libpam: a daemon killed
 * mid-request or before the module writes, a hung one, a missing or
 * untrusted socket (wrong owner, an impostor peer, not a socket), a full
 * or read-only state file system, state files the daemon refuses to start
 * on, and kill -9 at random moments during login loops.  Every case asserts
 * the PAM result (a denial: never PAM_SUCCESS or PAM_IGNORE), that the host
 * process survived, and what was left behind.  Synchronisation is by pipes
 * and replies, never by sleeping.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpamtest.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "harness.h"
#include "totp_enrol.h"

#define WRONG "wrong-password"
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to become readable; a bound against a hang, not a sync. */
static void wait_readable(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r;
        while ((r = poll(&p, 1, 30000)) < 0 && errno == EINTR)
                ;
        if (r != 1)
                fail_msg("nothing to read after 30 s");
}

/* ---- a fake daemon on a socket of our own ---- */

enum fake_mode {
        FAKE_RECORD, /* read each connection to EOF, report its byte count */
        FAKE_HOLD,   /* read one whole request, report it, then never answer */
        FAKE_CLOSE,  /* accept and close at once, reading nothing */
};

struct fake {
        pid_t pid;
        int report; /* one long long per connection (-1: listening) */
        char path[PATH_MAX + 16];
};

static ssize_t read_frame(int fd) {
        uint8_t buf[8 + 65536];
        size_t got = 0, want = 8;
        while (got < want) {
                ssize_t k = read(fd, buf + got, want - got);
                if (k <= 0)
                        return (ssize_t) got;
                got += (size_t) k;
                if (got == 8)
                        want = 8 + ((size_t) buf[4] << 24 | (size_t) buf[5] << 16 | (size_t) buf[6] << 8 | buf[7]);
                if (want > sizeof(buf))
                        return -1;
        }
        return (ssize_t) got;
}

static void fake_serve(int lfd, int report, enum fake_mode mode) {
        for (;;) {
                int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        _exit(1);
                long long n = 0;
                if (mode == FAKE_RECORD) {
                        char buf[4096];
                        ssize_t k;
                        while ((k = read(c, buf, sizeof(buf))) > 0)
                                n += k;
                } else if (mode == FAKE_HOLD) {
                        n = read_frame(c);
                }
                if (write(report, &n, sizeof(n)) != sizeof(n))
                        _exit(1);
                if (mode == FAKE_HOLD)
                        for (;;)
                                pause();
                close(c);
        }
}

/* The socket file is owned by owner; the process that listens (and so the
 * SO_PEERCRED the module sees) runs as run_as. */
static void fake_start(struct env *e, uid_t owner, uid_t run_as, enum fake_mode mode, struct fake *ret) {
        int p[2];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(ret->path, sizeof(ret->path), "%s/fake.sock", e->dir);
        unlink(ret->path);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ret->path);
                int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0666) < 0 ||
                    chown(sa.sun_path, owner, owner) < 0)
                        _exit(1);
                /* The peer credentials of a listening socket are taken at listen(). */
                if (run_as != 0 && (setgroups(0, NULL) < 0 || setgid(run_as) < 0 || setuid(run_as) < 0))
                        _exit(1);
                long long ready = -1;
                if (listen(lfd, 16) < 0 || write(p[1], &ready, sizeof(ready)) != sizeof(ready))
                        _exit(1);
                fake_serve(lfd, p[1], mode);
        }
        close(p[1]);
        ret->pid = pid;
        ret->report = p[0];
        long long ready = 0;
        wait_readable(ret->report);
        assert_int_equal(read(ret->report, &ready, sizeof(ready)), sizeof(ready));
        assert_int_equal(ready, -1);
}

static long long fake_next(struct fake *f) {
        long long n = -2;
        wait_readable(f->report);
        assert_int_equal(read(f->report, &n, sizeof(n)), sizeof(n));
        return n;
}

/* Connect ourselves and send a marker: the fake serves connections in
 * order, so once it reports the marker it has reported every earlier one. */
static void fake_marker(struct fake *f) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(write(fd, "END", 3), 3);
        close(fd);
}

static void fake_stop(struct fake *f) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
        close(f->report);
        unlink(f->path);
}

/* ---- logins in a child process: a crash of the host shows as a signal ---- */

enum phase { AUTH_AND_ACCOUNT, ACCOUNT_ONLY };

static pid_t login_start(const char *service, const char *user, const char *pw, enum phase phase) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid > 0)
                return pid;
        /* What sshd and login have: SIGPIPE kills unless the module avoids it. */
        signal(SIGPIPE, SIG_DFL);
        if (phase == AUTH_AND_ACCOUNT)
                _exit(login(service, user, pw, NULL));
        const char *answers[] = { NULL };
        struct pamtest_conv_data conv = { .in_echo_off = answers };
        struct pam_testcase t[] = { pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS) };
        (void) run_pamtest(service, user, &conv, t, NULL);
        _exit(t[0].op_rv);
}

/* The PAM code the child returned; fails if the host process died. */
static int login_finish(pid_t pid) {
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status))
                fail_msg("the host process died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int login_child(const char *service, const char *user, const char *pw, enum phase phase) {
        return login_finish(login_start(service, user, pw, phase));
}

static void assert_denied(int rc) {
        if (rc == PAM_SUCCESS || rc == PAM_IGNORE)
                fail_msg("a fault gave %s", pam_strerror(NULL, rc));
}

/* ---- 1. the daemon dies mid-request, or before the module writes ---- */

static void test_killed_mid_request(void **state) {
        struct env *e = *state;
        struct fake f;
        for (enum phase ph = AUTH_AND_ACCOUNT; ph <= ACCOUNT_ONLY; ph++) {
                fake_start(e, 0, 0, FAKE_HOLD, &f);
                pid_t pid = login_start("fake", "alice", ALICE_PW, ph);
                /* The fake read the whole request and the module waits for the reply. */
                assert_true(fake_next(&f) > 8);
                fake_stop(&f);
                assert_int_equal(login_finish(pid), PAM_AUTHINFO_UNAVAIL);
        }
        /* The real daemon, killed with SIGKILL: its socket file stays behind. */
        daemon_kill(e);
        assert_int_equal(login_child("faults", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_AUTHINFO_UNAVAIL);
        assert_int_equal(login_child("faults", "alice", ALICE_PW, ACCOUNT_ONLY), PAM_AUTHINFO_UNAVAIL);
        assert_int_equal(daemon_start(e), 0);
        assert_int_equal(db_events(e, "auth_success"), 0);
        assert_int_equal(login_child("faults", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_SUCCESS);
}

/* The real daemon, killed while the module waits for its answer: the code
 * mail is stuck in a sendmail that tells us it started, so the request is
 * known to be in the daemon's hands. */
static void test_real_daemon_killed_mid_request(void **state) {
        struct env *e = *state;
        char started[PATH_MAX + 16], never[PATH_MAX + 16], script[PATH_MAX + 16], text[4 * PATH_MAX], line[16];
        const char *email[] = { "email", "set", "alice@example.com", "--user", "alice", NULL };
        snprintf(started, sizeof(started), "%s/mail-started", e->dir);
        snprintf(never, sizeof(never), "%s/mail-never", e->dir);
        snprintf(script, sizeof(script), "%s/stuck-sendmail", e->dir);
        assert_int_equal(mkfifo(started, 0600), 0);
        assert_int_equal(mkfifo(never, 0600), 0);
        snprintf(text, sizeof(text), "#!/bin/sh\ncat >/dev/null\necho started > '%s'\nread line < '%s'\n", started,
                 never);
        write_file(script, text);
        assert_int_equal(chmod(script, 0755), 0);
        snprintf(text, sizeof(text), "mfa = required\nmail_transport = sendmail\nsendmail_path = %s\n"
                 "mail_from = acctsec@example.com\n", script);
        env_reconfigure(e, text);
        assert_int_equal(run_cli(e, (uid_t) -1, text, sizeof(text), email), 0);
        /* No writer yet: poll waits for the first one to write. */
        int sfd = open(started, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(sfd >= 0);
        pid_t pid = login_start("mfa", "alice", ALICE_PW, AUTH_AND_ACCOUNT);
        wait_readable(sfd);
        assert_true(read(sfd, line, sizeof(line)) > 0);
        close(sfd);
        daemon_kill(e);
        assert_int_equal(login_finish(pid), PAM_AUTHINFO_UNAVAIL);
        /* Let the orphaned sendmail go. */
        int nfd = open(never, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(nfd >= 0);
        assert_int_equal(write(nfd, "go\n", 3), 3);
        close(nfd);
        assert_int_equal(daemon_start(e), 0);
        assert_int_equal(db_events(e, "auth_success"), 0);
        assert_int_equal(db_events(e, "code_used"), 0);
}

static void test_killed_before_write(void **state) {
        struct env *e = *state;
        struct fake f;
        /* The module either writes into a closed connection (EPIPE, no
         * SIGPIPE) or reads EOF: both are a denial and the host lives. */
        fake_start(e, 0, 0, FAKE_CLOSE, &f);
        for (int i = 0; i < 20; i++) {
                assert_int_equal(login_child("fake", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_AUTHINFO_UNAVAIL);
                assert_int_equal(login_child("fake", "alice", ALICE_PW, ACCOUNT_ONLY), PAM_AUTHINFO_UNAVAIL);
        }
        fake_stop(&f);
}

/* ---- 2. a hung daemon: a denial after (not before) `timeout` ---- */

static void test_hung_daemon_times_out(void **state) {
        struct env *e = *state;
        struct fake f;
        fake_start(e, 0, 0, FAKE_HOLD, &f);
        long long t0 = now_ms();
        pid_t pid = login_start("hung", "alice", ALICE_PW, AUTH_AND_ACCOUNT);
        assert_true(fake_next(&f) > 8);
        assert_int_equal(login_finish(pid), PAM_AUTHINFO_UNAVAIL);
        /* The module waited the whole timeout (500 ms) for the reply: the
         * bound is a lower one only, so a slow machine cannot fail it. */
        assert_true(now_ms() - t0 >= 500);
        fake_stop(&f);
}

/* ---- 3. missing and untrusted sockets: a denial, and nothing sent ---- */

static void expect_nothing_sent(struct fake *f) {
        fake_marker(f);
        long long n;
        while ((n = fake_next(f)) != 3)
                if (n != 0)
                        fail_msg("the untrusted peer was sent %lld bytes", n);
}

static void test_untrusted_sockets(void **state) {
        struct env *e = *state;
        struct fake f;
        char path[PATH_MAX + 16];
        /* No socket at all. */
        assert_int_equal(login_child("missing", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_AUTHINFO_UNAVAIL);
        /* A socket file owned by another user (alice), served by root. */
        fake_start(e, 1001, 0, FAKE_RECORD, &f);
        assert_int_equal(login_child("fake", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_PERM_DENIED);
        assert_int_equal(login_child("fake", "alice", ALICE_PW, ACCOUNT_ONLY), PAM_PERM_DENIED);
        expect_nothing_sent(&f);
        fake_stop(&f);
        /* An impostor: root's socket file, but the listening process runs as
         * nobody, so SO_PEERCRED is not the owner.  It sees a connection
         * and not one byte. */
        fake_start(e, 0, 65534, FAKE_RECORD, &f);
        assert_int_equal(login_child("fake", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_PERM_DENIED);
        assert_int_equal(login_child("fake", "alice", ALICE_PW, ACCOUNT_ONLY), PAM_PERM_DENIED);
        expect_nothing_sent(&f);
        fake_stop(&f);
        /* Not a socket: a FIFO (opening it would hang) and a symlink to the
         * real daemon's socket. */
        snprintf(path, sizeof(path), "%s/fake.sock", e->dir);
        assert_int_equal(mkfifo(path, 0666), 0);
        assert_int_equal(login_child("fake", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_PERM_DENIED);
        unlink(path);
        assert_int_equal(symlink(e->sock, path), 0);
        assert_int_equal(login_child("fake", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_PERM_DENIED);
        unlink(path);
        /* The real daemon saw none of it. */
        assert_int_equal(db_int(e, "SELECT count(*) FROM events", NULL), 0);
}

/* ---- 4. local users flood the shared socket: root's logins still get
 * their answer (issue 14: a full backlog once read as an impostor) ---- */

#define FLOOD_UIDS 7
#define FLOOD_CONNS 1000

struct flood {
        pid_t pid[FLOOD_UIDS];
        int report; /* per flooder: connections made, a full backlog, the private socket refused */
};

/* The flood of the running test (static: the teardown after a failed
 * check kills it, when the test's stack is gone). */
static struct flood flood;
static bool flooding;

/* A local user: as many connections to the shared socket as it can make
 * (until the backlog is full or FLOOD_CONNS), held open; and a try at the
 * private socket, which must refuse it. */
static void flooder(const char *shared, const char *private, uid_t uid, int report) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int made = 0, full = 0, priv_refused = 0;
        /* Room for its connections whatever the runner's soft limit (as root,
         * before giving root up). */
        struct rlimit nofile = { .rlim_cur = FLOOD_CONNS + 64, .rlim_max = FLOOD_CONNS + 64 };
        struct rlimit have;
        if (getrlimit(RLIMIT_NOFILE, &have) == 0 && have.rlim_max > nofile.rlim_max)
                nofile.rlim_max = have.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &nofile);
        if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
                _exit(1);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", private);
        int pfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        priv_refused = pfd >= 0 && connect(pfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 && errno == EACCES;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", shared);
        for (; made < FLOOD_CONNS; made++) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        break;
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                        full = errno == EAGAIN;
                        close(fd);
                        break;
                }
        }
        int out[3] = { made, full, priv_refused };
        if (write(report, out, sizeof(out)) != sizeof(out))
                _exit(1);
        for (;;)
                pause();
}

/* Start the flooders and wait until each holds its connections. */
static int flood_start(struct env *e, struct flood *f) {
        char private[PATH_MAX + 16];
        int p[2], any_full = 0;
        snprintf(private, sizeof(private), "%s/private/sock", e->dir);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        for (int i = 0; i < FLOOD_UIDS; i++) {
                f->pid[i] = fork();
                assert_true(f->pid[i] >= 0);
                if (f->pid[i] == 0) {
                        close(p[0]);
                        flooder(e->sock, private, (uid_t) (62001 + i), p[1]);
                }
        }
        close(p[1]);
        f->report = p[0];
        flooding = true;
        int made = 0;
        for (int i = 0; i < FLOOD_UIDS; i++) {
                int out[3];
                wait_readable(f->report);
                assert_int_equal(read(f->report, out, sizeof(out)), sizeof(out));
                made += out[0];
                assert_true(out[2]); /* the private socket refused a local user */
                any_full |= out[1];
        }
        print_message("# %d connections held by %d local users\n", made, FLOOD_UIDS);
        return any_full;
}

static void flood_stop(struct flood *f) {
        for (int i = 0; i < FLOOD_UIDS; i++) {
                kill(f->pid[i], SIGKILL);
                waitpid(f->pid[i], NULL, 0);
        }
        close(f->report);
        flooding = false;
}

/* After a failed check the daemon may still be stopped. */
static int flood_teardown(void **state) {
        struct env *e = *state;
        if (flooding)
                flood_stop(&flood);
        if (e->daemon > 0)
                kill(e->daemon, SIGCONT);
        return env_stop(state);
}

#define FLOOD_LOGINS 30

static void test_flood_cannot_starve_root(void **state) {
        struct env *e = *state;
        struct flood *f = &flood;
        pid_t pids[FLOOD_LOGINS];
        /* bob locked: the right answer for him is a refusal. */
        for (int i = 0; i < 3; i++)
                assert_int_equal(login_child("flood", "bob", WRONG, AUTH_AND_ACCOUNT), PAM_AUTH_ERR);
        /* A busy daemon: stopped while local users fill the shared socket's
         * backlog (7 uids, up to 1,000 connections each). */
        assert_int_equal(kill(e->daemon, SIGSTOP), 0);
        assert_true(flood_start(e, f)); /* the shared backlog really is full */
        /* root's logins begin meanwhile; the daemon then wakes to thousands
         * of waiting connections, and answers root's first. */
        for (int i = 0; i < FLOOD_LOGINS; i++)
                assert_true((pids[i] = pam_login_start("flood", i == 0 ? "bob" : "alice", i == 0 ? BOB_PW : ALICE_PW,
                                                       NULL, NULL)) > 0);
        assert_int_equal(kill(e->daemon, SIGCONT), 0);
        assert_int_equal(login_finish(pids[0]), PAM_AUTH_ERR);
        for (int i = 1; i < FLOOD_LOGINS; i++)
                assert_int_equal(login_finish(pids[i]), PAM_SUCCESS);
        /* The flood still holds its connections: a stopped daemon is a
         * denial after the timeout (failmode=secure), never an instant
         * "untrusted socket". */
        assert_int_equal(kill(e->daemon, SIGSTOP), 0);
        long long t0 = now_ms();
        assert_int_equal(login_child("hungreal", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_AUTHINFO_UNAVAIL);
        assert_true(now_ms() - t0 >= 500);
        assert_int_equal(kill(e->daemon, SIGCONT), 0);
        flood_stop(f);
        /* What the daemon recorded: bob's three failures (the refusal while
         * locked is not counted), alice's authentications. */
        assert_int_equal(db_tally(e, "bob"), 3);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_success' AND user = ?", "alice"),
                         FLOOD_LOGINS - 1);
}

/* Without a private socket (a daemon passed only the shared one), a full
 * backlog makes root wait for room, up to timeout, then counts as an
 * unreachable daemon (failmode applies), not as an untrusted one. */
static void test_full_backlog_is_unreachable(void **state) {
        struct env *e = *state;
        struct fake f;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int held[64], n = 0;
        fake_start(e, 0, 0, FAKE_HOLD, &f);
        assert_int_equal(kill(f.pid, SIGSTOP), 0); /* accepts nothing */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f.path);
        for (; n < (int) ARRAY_LEN(held); n++) {
                held[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                assert_true(held[n] >= 0);
                if (connect(held[n], (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                        assert_int_equal(errno, EAGAIN);
                        close(held[n]);
                        break;
                }
        }
        assert_true(n < (int) ARRAY_LEN(held)); /* the backlog (16) is full */
        long long t0 = now_ms();
        assert_int_equal(login_child("hung", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_AUTHINFO_UNAVAIL);
        assert_true(now_ms() - t0 >= 500);
        assert_int_equal(login_child("hungopen", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_SUCCESS);
        for (int i = 0; i < n; i++)
                close(held[i]);
        kill(f.pid, SIGCONT);
        fake_stop(&f);
}

/* ---- 5. a full and a read-only state file system ---- */

static int stop_and_unmount(void **state) {
        struct env *e = *state;
        env_teardown(e);
        umount2(e->state, MNT_DETACH);
        return env_stop(state);
}

/* Put the state dir on a fresh file system (mount_cmd mounts it there). */
static bool remount_state(struct env *e, const char *mount_cmd) {
        char cmd[4 * PATH_MAX];
        assert_int_equal(daemon_stop(e), 0);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -m 0700 '%s'", e->state, e->state);
        assert_int_equal(system(cmd), 0);
        if (system(mount_cmd) != 0)
                return false;
        assert_int_equal(chmod(e->state, 0700), 0);
        assert_int_equal(daemon_start(e), 0);
        return true;
}

static void fill(const char *path) {
        static char buf[65536];
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        for (size_t chunk = sizeof(buf); chunk > 0; chunk /= 2)
                while (write(fd, buf, chunk) == (ssize_t) chunk)
                        ;
        assert_int_equal(errno, ENOSPC);
        close(fd);
}

static void test_disk_full(void **state) {
        struct env *e = *state;
        char filler[PATH_MAX + 16], cmd[2 * PATH_MAX];
        snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=2m,mode=0700 tmpfs '%s'", e->state);
        if (!remount_state(e, cmd))
                skip();
        pid_t daemon = e->daemon;
        assert_int_equal(login_child("faults", "bob", WRONG, AUTH_AND_ACCOUNT), PAM_AUTH_ERR);
        assert_int_equal(db_tally(e, "bob"), 1);
        snprintf(filler, sizeof(filler), "%s/filler", e->state);
        fill(filler);
        /* A failure that cannot be counted, and a right password whose
         * success cannot be logged: both refused. */
        assert_denied(login_child("faults", "bob", WRONG, AUTH_AND_ACCOUNT));
        assert_int_equal(login_child("faults", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_SERVICE_ERR);
        /* Group commit: the write fails at the batch's COMMIT. */
        assert_true(daemon_log_contains(e, "database write failed: No space left on device"));
        assert_int_equal(db_tally(e, "bob"), 1);
        assert_int_equal(db_events(e, "auth_success"), 0);
        /* Space comes back: the same daemon works again. */
        assert_int_equal(unlink(filler), 0);
        assert_int_equal(login_child("faults", "bob", WRONG, AUTH_AND_ACCOUNT), PAM_AUTH_ERR);
        assert_int_equal(db_tally(e, "bob"), 2);
        assert_int_equal(login_child("faults", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_SUCCESS);
        assert_int_equal(e->daemon, daemon);
        assert_int_equal(kill(daemon, 0), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'", NULL),
                         1);
}

/* An ext4 file system that hits an error goes read-only at once
 * (errors=remount-ro), under a running daemon: the only way to make a
 * mounted file system read-only while files are open for writing. */
static void test_read_only_state(void **state) {
        struct env *e = *state;
        char cmd[4 * PATH_MAX];
        snprintf(cmd, sizeof(cmd), "truncate -s 16M %s/ext4.img && mkfs.ext4 -q -F %s/ext4.img && "
                 "mount -o loop,errors=remount-ro %s/ext4.img '%s' 2>/dev/null", e->dir, e->dir, e->dir, e->state);
        if (!remount_state(e, cmd))
                skip();
        assert_int_equal(login_child("faults", "bob", WRONG, AUTH_AND_ACCOUNT), PAM_AUTH_ERR);
        snprintf(cmd, sizeof(cmd),
                 "echo fault > /sys/fs/ext4/$(basename $(findmnt -no SOURCE '%s'))/trigger_fs_error", e->state);
        if (system(cmd) != 0)
                skip(); /* no writable /sys/fs/ext4 here */
        assert_denied(login_child("faults", "bob", WRONG, AUTH_AND_ACCOUNT));
        assert_int_equal(login_child("faults", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_SERVICE_ERR);
        assert_true(daemon_log_contains(e, "database write failed: Read-only file system"));
        /* Recovery needs the file system back (fsck, mount): the committed
         * failure is there, the refused ones are not. */
        daemon_stop(e);
        snprintf(cmd, sizeof(cmd), "umount '%s' && e2fsck -fy %s/ext4.img >/dev/null 2>&1; mount -o loop %s/ext4.img '%s'",
                 e->state, e->dir, e->dir, e->state);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(daemon_start(e), 0);
        assert_int_equal(db_tally(e, "bob"), 1);
        assert_int_equal(db_events(e, "auth_success"), 0);
        assert_int_equal(login_child("faults", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_SUCCESS);
}

/* ---- 6. state files the daemon refuses to start on ---- */

static void state_path(struct env *e, const char *name, char *buf, size_t len) {
        snprintf(buf, len, "%s/%s", e->state, name);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
        char cmd[4 * PATH_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        int status = system(cmd);
        if (status != 0)
                fail_msg("failed (status %#x): %s", (unsigned) status, cmd);
}

/* Zeros over the header and the first pages. */
#define CORRUPT(file) "dd if=/dev/zero of=" file " bs=4096 count=2 conv=notrunc status=none"

struct bad_state {
        const char *what;
        const char *file;  /* in the state dir */
        const char *breakit; /* shell, $F the file, $V a victim file outside */
        const char *why;   /* in the daemon's log */
};

#define WAL_REFUSED "the database's -wal or -shm file is not a regular file owned by the daemon's user"

static const struct bad_state bad_states[] = {
        { "corrupt database", "acctsec.db", CORRUPT("$F"),
          "not a database, or corrupt?" },
        { "database owned by a user", "acctsec.db", "chown 1001 $F", "the database is not owned by the daemon's user" },
        { "symlinked database", "acctsec.db", "mv $F $F.real && ln -s $F.real $F", "the database is not a regular file" },
        { "symlinked WAL", "acctsec.db-wal", "ln -s $V $F", WAL_REFUSED },
        { "symlinked shared memory", "acctsec.db-shm", "ln -s $V $F", WAL_REFUSED },
        { "WAL owned by a user", "acctsec.db-wal", "touch $F && chown 1001 $F", WAL_REFUSED },
        { "symlinked key file", "secret.key", "mv $F $F.real && ln -s $F.real $F", "cannot open the key file" },
        { "key file owned by a user", "secret.key", "chown 1001 $F",
          "the key file is not a regular file owned by the daemon's user" },
        { "state dir writable by others", ".", "chmod 0777 $F", "writable by group or others" },
        { "state dir owned by a user", ".", "chown 1001 $F", "the state directory is not owned by the daemon's user" },
};

/* Each bad state: no daemon (refused, with the reason in the log), logins
 * fail closed meanwhile, nothing written through a link; then a good state
 * starts again. */
static void test_refuses_bad_state(void **state) {
        struct env *e = *state;
        char file[PATH_MAX + 32], victim[PATH_MAX + 16], saved[PATH_MAX + 16];
        snprintf(victim, sizeof(victim), "%s/victim", e->dir);
        snprintf(saved, sizeof(saved), "%s/saved-state", e->dir);
        assert_int_equal(login_child("faults", "bob", WRONG, AUTH_AND_ACCOUNT), PAM_AUTH_ERR);
        assert_int_equal(daemon_stop(e), 0);
        sh("cp -a '%s' '%s'", e->state, saved);
        for (size_t i = 0; i < sizeof(bad_states) / sizeof(bad_states[0]); i++) {
                const struct bad_state *b = &bad_states[i];
                print_message("# %s\n", b->what);
                write_file(victim, "victim\n");
                state_path(e, b->file, file, sizeof(file));
                sh("F='%s' V='%s'; %s", file, victim, b->breakit);
                unlink(e->log);
                assert_int_equal(daemon_start(e), -1);
                if (!daemon_log_contains(e, b->why))
                        fail_msg("%s: the log does not say \"%s\"", b->what, b->why);
                assert_int_equal(login_child("faults", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_AUTHINFO_UNAVAIL);
                assert_int_equal(login_child("faults", "alice", ALICE_PW, ACCOUNT_ONLY), PAM_AUTHINFO_UNAVAIL);
                sh("grep -qx victim '%s' && [ $(stat -c %%s '%s') = 7 ]", victim, victim);
                sh("rm -rf '%s' && cp -a '%s' '%s'", e->state, saved, e->state);
        }
        assert_int_equal(daemon_start(e), 0);
        assert_int_equal(db_tally(e, "bob"), 1);
}

/* Socket-activated, the socket outlives a daemon that refuses to start: the
 * module's request is never answered and it denies after `timeout`. */
static void test_refused_start_socket_activated(void **state) {
        struct env *e = *state;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char daemon_path[PATH_MAX + 16], db[PATH_MAX + 32];
        int status;
        assert_int_equal(daemon_stop(e), 0);
        state_path(e, "acctsec.db", db, sizeof(db));
        sh(CORRUPT("'%s'"), db);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e->sock);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(lfd >= 0);
        assert_int_equal(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(lfd, 16), 0);
        snprintf(daemon_path, sizeof(daemon_path), "%s/acctsecd", e->build);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char n[32];
                int fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd < 0 || dup2(fd, STDERR_FILENO) < 0 || dup2(lfd, 3) < 0)
                        _exit(126);
                snprintf(n, sizeof(n), "%d", (int) getpid());
                setenv("LISTEN_PID", n, 1);
                setenv("LISTEN_FDS", "1", 1);
                unsetenv("LD_PRELOAD");
                execl(daemon_path, daemon_path, "--state-dir", e->state, "--config", e->conf, "--foreground",
                      (char *) NULL);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
        assert_true(daemon_log_contains(e, "refusing to start"));
        assert_int_equal(login_child("hungreal", "alice", ALICE_PW, AUTH_AND_ACCOUNT), PAM_AUTHINFO_UNAVAIL);
        assert_int_equal(login_child("hungreal", "alice", ALICE_PW, ACCOUNT_ONLY), PAM_AUTHINFO_UNAVAIL);
        close(lfd);
        unlink(e->sock);
}

/* ---- 7. kill -9 at random moments during login loops ---- */

#define LOOPS 100

struct answers {
        const char *a[2];
        int next;
};

static int answer_in_turn(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        struct answers *s = data;
        struct pam_response *r = calloc((size_t) n, sizeof(*r));
        for (int i = 0; r && i < n; i++)
                if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
                        r[i].resp = strdup(s->a[s->next < 1 ? s->next++ : 1]);
        *resp = r;
        return r ? PAM_SUCCESS : PAM_BUF_ERR;
}

/* pam_authenticate with the password then the code, without the 2 s fail
 * delay (libpam calls our no-op instead). */
static int authenticate(const char *service, const char *user, const char *pw, const char *code) {
        struct answers s = { { pw, code }, 0 };
        struct pam_conv conv = { answer_in_turn, &s };
        pam_handle_t *pamh = NULL;
        int r = pam_start(service, user, &conv, &pamh);
        if (r != PAM_SUCCESS)
                return r;
        no_fail_delay(pamh);
        r = pam_authenticate(pamh, 0);
        pam_end(pamh, r);
        return r;
}

static void new_codes(struct env *e, struct totp_user *alice) {
        char out[8192];
        const char *generate[] = { "--json", "backup-codes", "generate", "--user", "alice", NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), generate), 0);
        totp_parse_backup_codes(out, alice);
}

/* A process that SIGKILLs the daemon after delay_us. */
static pid_t killer_start(pid_t daemon, unsigned delay_us) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct timespec ts = { delay_us / 1000000, (long) (delay_us % 1000000) * 1000 };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
                kill(daemon, SIGKILL);
                _exit(0);
        }
        return pid;
}

/* The killer has sent its SIGKILL (during the loop or after it): reap the
 * daemon and start it again, as socket activation would. */
static void revive(struct env *e) {
        int status;
        assert_int_equal(waitpid(e->daemon, &status, 0), e->daemon);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        e->daemon = 0;
        assert_int_equal(daemon_start(e), 0);
}

struct kill_loop {
        struct totp_user alice; /* her current backup codes */
        char accepted[LOOPS][16];
        int naccepted, set_accepted, uncertain, acked, unacked;
};

/* One loop: alice uses a backup code, bob types a wrong code; the daemon
 * dies at some moment during (or after) it.  (A wrong code, not a wrong
 * password: authfail returns PAM_AUTH_ERR whether or not the daemon
 * answered, the mfa line's PAM_AUTH_ERR is the daemon's answer.) */
static void kill_loop_once(struct env *e, struct kill_loop *k, const char *code, unsigned delay_us) {
        pid_t killer = killer_start(e->daemon, delay_us);
        int ra = authenticate("mfa", "alice", ALICE_PW, code);
        int rb = authenticate("mfa", "bob", BOB_PW, "not-a-code");
        assert_int_equal(waitpid(killer, NULL, 0), killer);
        revive(e);
        if (ra == PAM_SUCCESS)
                memcpy(k->accepted[k->naccepted++], code, sizeof(k->accepted[0])), k->set_accepted++;
        else if (ra == PAM_AUTHINFO_UNAVAIL)
                k->uncertain++; /* used or not: the reply never came */
        else
                fail_msg("a fresh backup code gave %s", pam_strerror(NULL, ra));
        if (rb == PAM_AUTH_ERR)
                k->acked++;
        else if (rb == PAM_AUTHINFO_UNAVAIL)
                k->unacked++;
        else
                fail_msg("a wrong code gave %s", pam_strerror(NULL, rb));
}

static void test_kill9_during_logins(void **state) {
        struct env *e = *state;
        struct kill_loop k = { 0 };
        const char *env_seed = getenv("ACCTSEC_FAULT_SEED");
        unsigned seed = env_seed ? (unsigned) strtoul(env_seed, NULL, 10) : (unsigned) time(NULL);
        print_message("# kill -9 seed %u (set ACCTSEC_FAULT_SEED to repeat)\n", seed);
        /* totp_window: totp_enrol confirms with a step before the current one. */
        env_reconfigure(e, "deny = 1000\ntotp_window = 3\n");
        struct totp_user bob;
        totp_enrol(e, "bob", &bob);
        totp_enrol(e, "alice", &k.alice);
        for (int i = 0; i < LOOPS; i++) {
                if (i > 0 && i % 10 == 0) {
                        /* Every code this set accepted is refused now, after the kills. */
                        for (int j = k.naccepted - k.set_accepted; j < k.naccepted; j++)
                                assert_int_equal(authenticate("mfa", "alice", ALICE_PW, k.accepted[j]), PAM_AUTH_ERR);
                        assert_true(db_int(e, "SELECT count(*) FROM backup_codes WHERE user = ? AND used != 0",
                                           "alice") >= k.set_accepted);
                        k.set_accepted = 0;
                        new_codes(e, &k.alice);
                }
                kill_loop_once(e, &k, k.alice.backup[i % 10], (unsigned) (rand_r(&seed) % 20000));
        }
        for (int j = k.naccepted - k.set_accepted; j < k.naccepted; j++)
                assert_int_equal(authenticate("mfa", "alice", ALICE_PW, k.accepted[j]), PAM_AUTH_ERR);
        print_message("# %d codes accepted, %d unanswered; %d failures acknowledged, %d unanswered\n", k.naccepted,
                      k.uncertain, k.acked, k.unacked);
        /* Every failure the daemon answered is in the database, with its
         * event; one whose answer never came may or may not be. */
        long long failures = db_tally(e, "bob");
        assert_in_range(failures, k.acked, k.acked + k.unacked);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_failure' AND user = ?", "bob"),
                         failures);
        assert_int_equal(db_int(e, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'", NULL),
                         1);
}

/* A handle keeps its connection to the daemon between calls
 * (pam_module/link.c); a daemon restarted between them (socket activation
 * after a crash, an upgrade) leaves it closed, and the next call connects
 * again and is answered by the new daemon: its account check sees the
 * disable (the first account call is authsucc's carried answer). */
static void test_kept_connection_survives_a_restart(void **state) {
        struct env *e = *state;
        struct pam_conv conv = { harness_answer, (void *) ALICE_PW };
        pam_handle_t *pamh = NULL;
        assert_int_equal(pam_start("faults", "alice", &conv, &pamh), PAM_SUCCESS);
        assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
        assert_int_equal(daemon_stop(e), 0);
        assert_int_equal(daemon_start(e), 0);
        db_exec(e, "INSERT INTO account (user, disabled, changed, updated) VALUES ('alice', 1, 0, 0)");
        assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);     /* authsucc's answer, carried */
        assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_PERM_DENIED); /* the new daemon's */
        pam_end(pamh, PAM_PERM_DENIED);
        assert_true(daemon_log_contains(e, "account disabled"));
}

static const struct service_def services[] = {
        { "faults", NULL, NULL, false, false, NULL },
        { "fake", "fake.sock", NULL, false, false, NULL },
        { "hung", "fake.sock", "timeout=500", false, false, NULL },
        { "missing", "no-such.sock", NULL, false, false, NULL },
        { "hungreal", NULL, "timeout=500", false, false, NULL },
        { "hungopen", "fake.sock", "timeout=500 failmode=open", false, false, NULL },
        { "flood", NULL, "timeout=60000", false, false, NULL },
        { "mfa", NULL, NULL, true, false, NULL },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        harness_daemon_log = true;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_killed_mid_request, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_real_daemon_killed_mid_request, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_killed_before_write, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_hung_daemon_times_out, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_untrusted_sockets, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_flood_cannot_starve_root, env_start, flood_teardown),
                cmocka_unit_test_setup_teardown(test_full_backlog_is_unreachable, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_disk_full, env_start, stop_and_unmount),
                cmocka_unit_test_setup_teardown(test_read_only_state, env_start, stop_and_unmount),
                cmocka_unit_test_setup_teardown(test_refuses_bad_state, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_refused_start_socket_activated, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_kill9_during_logins, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_kept_connection_survives_a_restart, env_start, env_stop),
        };
        return cmocka_run_group_tests_name("pam_faults", tests, NULL, NULL);
}
