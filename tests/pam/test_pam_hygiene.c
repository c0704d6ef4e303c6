/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host hygiene: the module runs inside sshd, login, su and sudo, so it must
 * leave their process as it found it.  For every phase it implements (auth
 * in each mode, account, password, session open and close, setcred) the host
 * has the same open fds (number and target), signal dispositions, signal
 * mask and thread count before pam_start and after pam_end, and after each
 * call while the handle is open, but for one fd: the handle's connection to
 * acctsecd (pam_module/link.c), a close-on-exec socket connected to the
 * daemon, the same one for every call of the handle (one connect per login),
 * closed by pam_end, and already after a session or password call (login
 * programs fork the user's processes right after pam_open_session).  And a program the host execs while the
 * handle is open (the user's shell after open_session) inherits nothing of
 * ours: only 0, 1, 2 and what the test opened without O_CLOEXEC on purpose,
 * no ignored signal, an empty signal mask.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "harness.h"

#define FDS_MAX 256
#define TOKEN_SHAPED "acst_0000000000000000000000000000000000000000000000000"
#define NEW_PW "Fresh-Password-42!"

/* What the host process looks like from inside. */
struct snapshot {
        int nfds;
        int fd[FDS_MAX];
        char target[FDS_MAX][128];
        bool valid[NSIG];
        struct sigaction act[NSIG];
        sigset_t mask;
        int threads;
};

static int threads(void) {
        char line[256];
        int n = -1;
        FILE *f = fopen("/proc/self/status", "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Threads: %d", &n) == 1)
                        break;
        fclose(f);
        return n;
}

static void take(struct snapshot *s) {
        memset(s, 0, sizeof(*s));
        DIR *d = opendir("/proc/self/fd");
        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));) {
                char path[64];
                int fd = atoi(de->d_name);
                if (de->d_name[0] == '.' || fd == dirfd(d))
                        continue;
                assert_true(s->nfds < FDS_MAX);
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                ssize_t k = readlink(path, s->target[s->nfds], sizeof(s->target[0]) - 1);
                s->target[s->nfds][k > 0 ? k : 0] = '\0';
                s->fd[s->nfds++] = fd;
        }
        closedir(d);
        /* Signals glibc reserves (32, 33) cannot be queried: skipped. */
        for (int sig = 1; sig < NSIG; sig++)
                s->valid[sig] = sigaction(sig, NULL, &s->act[sig]) == 0;
        assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &s->mask), 0);
        s->threads = threads();
}

static void clean_start(void);

static const char *daemon_socket; /* the env's: where the kept connection must lead */
static char kept_target[128];     /* the handle's connection to acctsecd, once made */

/* fd, new while a handle is open: the module's connection to acctsecd. */
static bool is_the_link(int fd, const char *target, const char *when) {
        struct sockaddr_un peer = { 0 };
        socklen_t len = sizeof(peer);
        int flags = fcntl(fd, F_GETFD);
        if (strncmp(target, "socket:[", 8) != 0 || flags < 0 || !(flags & FD_CLOEXEC) ||
            getpeername(fd, (struct sockaddr *) &peer, &len) < 0 || peer.sun_family != AF_UNIX)
                return false;
        /* root's private socket is private/ beside the shared one */
        const char *slash = strrchr(daemon_socket, '/');
        if (strcmp(peer.sun_path, daemon_socket) != 0 &&
            (!slash || strncmp(peer.sun_path, daemon_socket, (size_t) (slash - daemon_socket)) != 0 ||
             strncmp(peer.sun_path + (slash - daemon_socket), "/private/", 9) != 0))
                fail_msg("%s: fd %d is a socket to %s, not to acctsecd", when, fd, peer.sun_path);
        if (kept_target[0] && strcmp(kept_target, target) != 0)
                fail_msg("%s: a second connection (%s, then %s): the handle's one is not reused", when,
                         kept_target, target);
        snprintf(kept_target, sizeof(kept_target), "%s", target);
        return true;
}

static const char *target_of(const struct snapshot *s, int fd) {
        for (int i = 0; i < s->nfds; i++)
                if (s->fd[i] == fd)
                        return s->target[i];
        return NULL;
}

static bool same_action(const struct sigaction *a, const struct sigaction *b) {
        if (a->sa_handler != b->sa_handler || a->sa_flags != b->sa_flags)
                return false;
        for (int sig = 1; sig < NSIG; sig++)
                if (sigismember(&a->sa_mask, sig) != sigismember(&b->sa_mask, sig))
                        return false;
        return true;
}

/* Compare now with `before`; `when` names the phase in the failure;
 * handle_open: the module's connection may be there (one new fd). */
static void assert_unchanged(const struct snapshot *before, const char *when, bool handle_open) {
        struct snapshot now;
        int links = 0;
        take(&now);
        for (int i = 0; i < now.nfds; i++) {
                const char *was = target_of(before, now.fd[i]);
                if (!was && handle_open && links == 0 && is_the_link(now.fd[i], now.target[i], when)) {
                        links++;
                        continue;
                }
                if (!was || strcmp(was, now.target[i]) != 0)
                        fail_msg("%s: fd %d (%s) is new or changed (was %s)", when, now.fd[i], now.target[i],
                                 was ? was : "closed");
        }
        for (int i = 0; i < before->nfds; i++)
                if (!target_of(&now, before->fd[i]))
                        fail_msg("%s: fd %d (%s) was closed", when, before->fd[i], before->target[i]);
        for (int sig = 1; sig < NSIG; sig++)
                if (before->valid[sig] && !same_action(&before->act[sig], &now.act[sig]))
                        fail_msg("%s: signal %d (%s) changed disposition", when, sig, strsignal(sig));
        for (int sig = 1; sig < NSIG; sig++)
                if (sigismember(&before->mask, sig) != sigismember(&now.mask, sig))
                        fail_msg("%s: signal %d (%s) changed in the signal mask", when, sig, strsignal(sig));
        if (now.threads != before->threads)
                fail_msg("%s: %d threads, %d before", when, now.threads, before->threads);
}

enum phase { AUTH, ACCOUNT, CHAUTHTOK, OPEN_SESSION, CLOSE_SESSION, SETCRED };

static int call(pam_handle_t *pamh, enum phase p) {
        switch (p) {
        case AUTH:
                return pam_authenticate(pamh, 0);
        case ACCOUNT:
                return pam_acct_mgmt(pamh, 0);
        case CHAUTHTOK:
                return pam_chauthtok(pamh, 0);
        case OPEN_SESSION:
                return pam_open_session(pamh, 0);
        case CLOSE_SESSION:
                return pam_close_session(pamh, 0);
        case SETCRED:
                return pam_setcred(pamh, PAM_ESTABLISH_CRED);
        }
        return -1;
}

/* One PAM call (after the ones in `before_it`) in its own handle; the host is
 * compared after every call and after pam_end.  Returns the call's result. */
static int run_phase(const char *service, const char *user, const char *answer_text, const enum phase *calls,
                     size_t n) {
        struct pam_conv conv = { harness_answer, (void *) answer_text };
        pam_handle_t *pamh = NULL;
        struct snapshot before, started;
        char when[128];
        int r = PAM_SUCCESS;

        take(&before);
        assert_int_equal(pam_start(service, user, &conv, &pamh), PAM_SUCCESS);
        pam_set_item(pamh, PAM_RHOST, "198.51.100.7");
        pam_set_item(pamh, PAM_TTY, "pts/7");
        take(&started);
        kept_target[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                r = call(pamh, calls[i]);
                snprintf(when, sizeof(when), "%s: call %zu (%d), result %d", service, i, (int) calls[i], r);
                assert_unchanged(&started, when,
                                 calls[i] != OPEN_SESSION && calls[i] != CLOSE_SESSION && calls[i] != CHAUTHTOK);
        }
        pam_end(pamh, r);
        snprintf(when, sizeof(when), "%s: after pam_end", service);
        assert_unchanged(&before, when, false);
        return r;
}

#define RUN(service, user, text, want, ...)                                                                  \
        do {                                                                                                 \
                const enum phase calls_[] = { __VA_ARGS__ };                                                 \
                assert_int_equal(run_phase(service, user, text, calls_, sizeof(calls_) / sizeof(calls_[0])), \
                                 want);                                                                      \
        } while (0)

static void test_every_phase_leaves_the_host_alone(void **state) {
        daemon_socket = ((struct env *) *state)->sock;
        /* The host has handlers and ignored signals of its own (sshd does):
         * they must survive as they are. */
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe, old_hup;
        assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);
        assert_int_equal(sigaction(SIGHUP, &ign, &old_hup), 0);

        RUN("preauth", "alice", ALICE_PW, PAM_SUCCESS, AUTH);
        RUN("authfail", "alice", "wrong", PAM_AUTH_ERR, AUTH);
        RUN("full", "alice", ALICE_PW, PAM_SUCCESS, AUTH, ACCOUNT, SETCRED, OPEN_SESSION, CLOSE_SESSION);
        RUN("full", "alice", "wrong", PAM_AUTH_ERR, AUTH);
        RUN("full", "nosuchuser", "wrong", PAM_AUTH_ERR, AUTH);
        RUN("mfa", "alice", ALICE_PW, PAM_SUCCESS, AUTH);            /* not enrolled, optional: PAM_IGNORE */
        RUN("mfareq", "nosuchuser", "123456", PAM_AUTH_ERR, AUTH);   /* prompted, refused */
        RUN("token", "alice", TOKEN_SHAPED, PAM_AUTH_ERR, AUTH);     /* the daemon refuses it */
        RUN("token", "alice", ALICE_PW, PAM_SUCCESS, AUTH);          /* not token-shaped: the next line */
        RUN("account", "alice", "", PAM_SUCCESS, ACCOUNT);
        RUN("setcred", "alice", "", PAM_SUCCESS, SETCRED);
        RUN("session", "alice", "", PAM_SUCCESS, OPEN_SESSION, CLOSE_SESSION);
        RUN("password", "alice", NEW_PW, PAM_SUCCESS, CHAUTHTOK);
        RUN("password", "alice", "short", PAM_MAXTRIES, CHAUTHTOK); /* refused retry= times */

        sigaction(SIGPIPE, &old_pipe, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
}

/* mfa by emailed code: the daemon mails it (maildir), the module waits for
 * the delivery and prompts; a wrong code is refused. */
static void test_emailed_code_phase_leaves_the_host_alone(void **state) {
        struct env *e = *state;
        char text[PATH_MAX + 128], out[1024];
        daemon_socket = e->sock;
        snprintf(text, sizeof(text), "mail_transport = maildir\nmaildir = %s\n", e->maildir);
        env_reconfigure(e, text);
        const char *set[] = { "email", "set", "bob@example.org", "--user", "bob", NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), set), 0);
        RUN("mfareq", "bob", "000000", PAM_AUTH_ERR, AUTH);
        RUN("mfareq", "bob", "resend", PAM_AUTH_ERR, AUTH); /* resends (refused: too soon), then counted */
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_sent' AND user = ?", "bob"), 2);
}

/* An application that closes the module's connection behind its back and
 * gets the number back for a file of its own (closefrom, then open): the
 * module neither writes to that file nor closes it, and connects anew. */
static void test_a_reused_fd_number_is_left_alone(void **state) {
        struct env *e = *state;
        struct pam_conv conv = { harness_answer, (void *) ALICE_PW };
        pam_handle_t *pamh = NULL;
        struct snapshot before, after;
        char path[PATH_MAX + 16];
        struct stat st, st2;
        int link_fd = -1;

        daemon_socket = e->sock;
        take(&before);
        assert_int_equal(pam_start("full", "alice", &conv, &pamh), PAM_SUCCESS);
        assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
        take(&after);
        for (int i = 0; i < after.nfds; i++)
                if (!target_of(&before, after.fd[i]) && strncmp(after.target[i], "socket:[", 8) == 0)
                        link_fd = after.fd[i];
        assert_true(link_fd >= 0);
        snprintf(path, sizeof(path), "%s/not-a-socket", e->dir);
        int f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(f >= 0);
        assert_int_equal(dup2(f, link_fd), link_fd); /* closes the module's socket, the number is the file's */
        close(f);
        assert_int_equal(fstat(link_fd, &st), 0);
        assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_SUCCESS); /* authsucc's answer */
        assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_SUCCESS); /* asked: on a new connection */
        pam_end(pamh, PAM_SUCCESS);
        assert_int_equal(fstat(link_fd, &st2), 0); /* still open, still the file */
        assert_true(st.st_ino == st2.st_ino && st2.st_size == 0);
        close(link_fd);
}

static pid_t rude = -1; /* killed in teardown, also when a case failed */

static int stop_rude(void **state) {
        if (rude > 0) {
                kill(rude, SIGKILL);
                waitpid(rude, NULL, 0);
                rude = -1;
        }
        return env_stop(state);
}

/* With SIGPIPE at its default (a host that never ignored it), a daemon that
 * hangs up without reading must not kill the host: MSG_NOSIGNAL. */
static void test_peer_hangup_raises_no_sigpipe(void **state) {
        struct env *e = *state;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/rude.sock", e->dir);
        unlink(sa.sun_path);
        int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(l >= 0);
        assert_int_equal(bind(l, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(l, 64), 0);
        rude = fork();
        assert_true(rude >= 0);
        if (rude == 0) { /* accept and hang up at once, for ever */
                for (;;) {
                        int c = accept(l, NULL, NULL);
                        if (c >= 0)
                                close(c);
                }
        }
        close(l);
        assert_int_equal(sigaction(SIGPIPE, &dfl, &old), 0);
        for (int i = 0; i < 20; i++)
                RUN("rude", "alice", ALICE_PW, PAM_AUTHINFO_UNAVAIL, AUTH);
        sigaction(SIGPIPE, &old, NULL);
}

/* What an exec'd program inherited: its fds, ignored signals and blocked
 * signals, one line each, e.g. "0 1 2 \n\n\n". */
static int inherited_main(void) {
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return 1;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
                        printf("%s ", de->d_name);
        closedir(d);
        printf("\n");
        sigset_t mask;
        sigprocmask(SIG_BLOCK, NULL, &mask);
        for (int sig = 1; sig < NSIG; sig++) {
                struct sigaction a;
                if (sigaction(sig, NULL, &a) == 0 && a.sa_handler == SIG_IGN)
                        printf("%d ", sig);
        }
        printf("\n");
        for (int sig = 1; sig < NSIG; sig++)
                if (sigismember(&mask, sig) == 1)
                        printf("%d ", sig);
        printf("\n");
        return 0;
}

/* fork and exec this program as inherited_main(); its three lines into out. */
static void exec_child(char *out, size_t outlen) {
        int p[2];
        size_t got = 0;
        char self[PATH_MAX];
        /* Not exec("/proc/self/exe"): under valgrind that is valgrind's
         * launcher; readlink is answered with the program's own path. */
        ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
        assert_true(k > 0);
        self[k] = '\0';
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO); /* dup2 clears FD_CLOEXEC on the copy */
                unsetenv("LD_PRELOAD");
                execl(self, self, "--inherited", (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        while (got + 1 < outlen && (k = read(p[0], out + got, outlen - 1 - got)) > 0)
                got += (size_t) k;
        out[got] = '\0';
        close(p[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The shape sshd and login have: authenticate, account, open the session,
 * then start the user's program with the handle still open. */
static void test_exec_while_handle_open_inherits_nothing(void **state) {
        char out[1024], want[64];
        struct pam_conv conv = { harness_answer, (void *) ALICE_PW };
        pam_handle_t *pamh = NULL;
        (void) state;

        clean_start(); /* whatever an earlier case that failed left */
        /* Opened without O_CLOEXEC on purpose: proves the listing can see a leak. */
        int keep = open("/dev/null", O_RDONLY);
        assert_true(keep > 2);
        assert_int_equal(pam_start("full", "alice", &conv, &pamh), PAM_SUCCESS);
        pam_set_item(pamh, PAM_RHOST, "198.51.100.7");
        assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
        assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
        assert_int_equal(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
        assert_int_equal(pam_open_session(pamh, 0), PAM_SUCCESS);
        exec_child(out, sizeof(out));
        snprintf(want, sizeof(want), "0 1 2 %d \n\n\n", keep);
        assert_string_equal(out, want);
        assert_int_equal(pam_close_session(pamh, 0), PAM_SUCCESS);
        exec_child(out, sizeof(out));
        assert_string_equal(out, want);
        pam_end(pamh, PAM_SUCCESS);
        close(keep);
        /* And after a failed login, with its fail delay and refusal. */
        assert_int_equal(pam_start("full", "alice", &(struct pam_conv){ harness_answer, (void *) "wrong" }, &pamh),
                         PAM_SUCCESS);
        assert_int_equal(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
        exec_child(out, sizeof(out));
        assert_string_equal(out, "0 1 2 \n\n\n");
        pam_end(pamh, PAM_AUTH_ERR);
}

static const struct service_def services[] = {
        { "preauth", NULL, NULL, false, false, "auth required $MOD preauth\n" },
        { "authfail", NULL, NULL, false, false, "auth required $MOD authfail\n" },
        { "full", NULL, NULL, false, false,
          "auth     requisite                  $MOD preauth\n"
          "auth     [success=1 default=ignore] $MATRIX\n"
          "auth     [default=die]              $MOD authfail\n"
          "auth     required                   $MOD authsucc\n"
          "account  required                   $MOD\n"
          "session  required                   $MOD\n" },
        { "mfa", NULL, NULL, false, false, "auth sufficient $MOD mfa\nauth required pam_permit.so\n" },
        { "mfareq", NULL, "mfa=required", false, false, "auth required $MOD mfa\n" },
        { "token", NULL, NULL, false, false,
          "auth [success=done ignore=ignore default=die] $MOD token\nauth required $MATRIX\n" },
        { "account", NULL, NULL, false, false, "account required $MOD\n" },
        { "setcred", NULL, NULL, false, false, "auth required $MOD preauth\n" },
        { "session", NULL, NULL, false, false, "session required $MOD\n" },
        { "password", NULL, NULL, false, false,
          "password requisite $MOD\npassword required pam_permit.so\npassword optional $MOD commit\n" },
        { "rude", "rude.sock", NULL, false, false, "auth required $MOD preauth\n" },
        {},
};

/* Start from a clean host whatever ran us: fds the runner left open are
 * marked close-on-exec, ignored signals restored, the mask emptied. */
static void clean_start(void) {
        sigset_t none;
        DIR *d = opendir("/proc/self/fd");
        for (struct dirent *de; d && (de = readdir(d));) {
                int fd = atoi(de->d_name);
                if (de->d_name[0] != '.' && fd > 2 && fd != dirfd(d))
                        (void) fcntl(fd, F_SETFD, FD_CLOEXEC); /* valgrind's own fds refuse: fine */
        }
        if (d)
                closedir(d);
        for (int sig = 1; sig < NSIG; sig++) {
                struct sigaction a;
                if (sigaction(sig, NULL, &a) == 0 && a.sa_handler == SIG_IGN)
                        signal(sig, SIG_DFL);
        }
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(int argc, char **argv) {
        if (argc == 2 && strcmp(argv[1], "--inherited") == 0)
                return inherited_main();
        harness_main(argc, argv, services);
        clean_start();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_every_phase_leaves_the_host_alone, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_emailed_code_phase_leaves_the_host_alone, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_peer_hangup_raises_no_sigpipe, env_start, stop_rude),
                cmocka_unit_test_setup_teardown(test_exec_while_handle_open_inherits_nothing, env_start, env_stop),
                cmocka_unit_test_setup_teardown(test_a_reused_fd_number_is_left_alone, env_start, env_stop),
        };
        return cmocka_run_group_tests_name("pam_hygiene", tests, NULL, NULL);
}
