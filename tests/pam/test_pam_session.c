/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tier 3, sessions and login notifications through the real module's
 * session phase (pam_open_session / pam_close_session) and a real acctsecd:
 * records opened and closed, closed by reconciliation when the process that
 * opened one is killed, listed with the caller's own marked, ended by
 * acctsec session terminate (one, or all but the caller's), the user's
 * service manager (PAM service systemd-user) never recorded, and a mail
 * (maildir) on a login from a source not seen before, once per source.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Two real ed25519 keys and what ssh-keygen -lf says of them. */
#define KEY1 "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHXcO/zKGoQ2g74PcSYw4VkvghbM/zFwOnBQrJ3MlLA0"
#define FP1 "SHA256:Mrz+RQLsaHI247bPDp5uhIByksMX3EfjRzFIySuS8yI"
#define KEY2 "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAQTeoTOvW2rBHggUpEr941RzQE8jSoJaXybQsg7WXwn"
#define FP2 "SHA256:2mSEGyoAJU1JEhB5fYYpIQERAC6ss+fqQKD/VUfML/A"

static int no_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        return PAM_CONV_ERR;
}

/* pam_open_session as sshd does it: PAM_RHOST, PAM_TTY and (from sshd)
 * SSH_AUTH_INFO_0 in the PAM environment.  The handle stays open. */
static pam_handle_t *open_session(const char *service, const char *user, const char *rhost, const char *tty,
                                  const char *auth_info, int *ret) {
        static const struct pam_conv conv = { no_conv, NULL };
        pam_handle_t *h = NULL;
        char env[512];
        assert_int_equal(pam_start(service, user, &conv, &h), PAM_SUCCESS);
        if (rhost)
                assert_int_equal(pam_set_item(h, PAM_RHOST, rhost), PAM_SUCCESS);
        if (tty)
                assert_int_equal(pam_set_item(h, PAM_TTY, tty), PAM_SUCCESS);
        if (auth_info) {
                snprintf(env, sizeof(env), "SSH_AUTH_INFO_0=%s\n", auth_info);
                assert_int_equal(pam_putenv(h, env), PAM_SUCCESS);
        }
        *ret = pam_open_session(h, 0);
        return h;
}

static void close_session(pam_handle_t *h, int expect) {
        assert_int_equal(pam_close_session(h, 0), expect);
        pam_end(h, PAM_SUCCESS);
}

/* A login through service in a child process that then waits (a shell
 * would), with a grandchild of its own (a command the shell runs). */
struct holder {
        pid_t pid, grandchild;
};

/* The holder's handle, kept reachable: a holder ends by a signal, and
 * valgrind would call a handle it can no longer find a leak. */
static pam_handle_t *volatile holder_pamh; /* volatile: a store the compiler keeps */

static struct holder hold_session(const char *service, const char *user, const char *rhost) {
        int p[2];
        struct holder h = { 0 };
        assert_int_equal(pipe(p), 0);
        h.pid = fork();
        assert_true(h.pid >= 0);
        if (h.pid == 0) {
                int r;
                alarm(120); /* never outlive a failed test for long */
                close(p[0]);
                holder_pamh = open_session(service, user, rhost, "pts/7", NULL, &r);
                pid_t g = fork();
                if (g == 0) {
                        alarm(120);
                        close(p[1]);
                        for (;;)
                                pause();
                }
                if (write(p[1], &g, sizeof(g)) != sizeof(g) || r != PAM_SUCCESS)
                        _exit(1);
                close(p[1]);
                for (;;)
                        pause(); /* until signalled */
        }
        close(p[1]);
        assert_int_equal(read(p[0], &h.grandchild, sizeof(h.grandchild)), sizeof(h.grandchild));
        close(p[0]);
        return h;
}

/* Gone: no such process, or a zombie nobody reaped yet. */
static bool gone(pid_t pid) {
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return true;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *s = strrchr(buf, ')');
        return !s || s[2] == 'Z' || s[2] == 'X';
}

/* Gone, waited for: the terminator's signal to a grandchild may still be
 * on its way when the request that ended its session has been answered, so
 * one look can come too early.  This program is a child subreaper (main):
 * once the grandchild's parent has exited, the grandchild is our child and
 * waitpid() returns when it has exited (at once if it had).  (Not a pidfd:
 * valgrind 3.19 does not know pidfd_open.)  Its alarm(120) ends the wait if
 * nothing else kills it; that death does not count. */
static bool wait_gone(pid_t pid) {
        int status = 0;
        pid_t r;
        while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
                ;
        if (r < 0)
                fail_msg("waitpid(%d): %s (its parent is still running?)", (int) pid, strerror(errno));
        return !(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);
}

/* The login dies without pam_close_session; both processes are reaped. */
static void kill_holder(const struct holder *h) {
        kill(h->grandchild, SIGKILL);
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
        waitpid(h->grandchild, NULL, 0); /* ours once its parent is gone (subreaper) */
}

static long long session_of(struct env *e, pid_t pid) {
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT max(id) FROM sessions WHERE pid = %d", (int) pid);
        return db_int(e, sql, NULL);
}

static int start(void **state) {
        char text[2048], cmd[PATH_MAX + 32], out[1024];
        int r = env_start(state);
        struct env *e = *state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->maildir);
        assert_int_equal(system(cmd), 0);
        snprintf(text, sizeof(text), "mail_transport = maildir\nmaildir = %s\nmail_from = acctsec@test.example\n",
                 e->maildir);
        env_reconfigure(e, text);
        const char *set[] = { "email", "set", "alice@example.com", "--user", "alice", NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), set), 0);
        return r;
}

static void test_open_and_close_are_recorded(void **state) {
        struct env *e = *state;
        char out[4096];
        int r;
        const char *list[] = { "--json", "session", "list", "--user", "alice", NULL };

        pam_handle_t *h = open_session("login", "alice", "192.0.2.10", "pts/9", NULL, &r);
        assert_int_equal(r, PAM_SUCCESS);
        long long id = session_of(e, getpid());
        assert_true(id > 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM sessions WHERE ended = 0 AND user = 'alice' AND service = 'login'"
                                   " AND tty = 'pts/9' AND rhost = '192.0.2.10'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'session_opened' AND user = 'alice'"
                                   " AND rhost = '192.0.2.10' AND tty = 'pts/9'", NULL), 1);
        /* The CLI runs below this process: this session is its own. */
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), list), 0);
        assert_non_null(strstr(out, "\"current\":true"));
        assert_non_null(strstr(out, "\"rhost\":\"192.0.2.10\""));
        assert_non_null(strstr(out, "\"total\":1"));
        close_session(h, PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM sessions WHERE ended > 0 AND end_reason = 'closed'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'session_closed' AND user = 'alice'", NULL), 1);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), list), 0);
        assert_non_null(strstr(out, "\"total\":0"));
}

static void test_killed_session_is_reconciled(void **state) {
        struct env *e = *state;
        char out[4096];
        const char *list[] = { "--json", "session", "list", "--all", NULL };
        struct holder h = hold_session("login", "bob", NULL);
        long long id = session_of(e, h.pid);
        assert_true(id > 0);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), list), 0);
        assert_non_null(strstr(out, "\"user\":\"bob\""));
        assert_non_null(strstr(out, "\"current\":false"));
        kill_holder(&h);
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), list), 0);
        assert_non_null(strstr(out, "\"total\":0"));
        assert_int_equal(db_int(e, "SELECT count(*) FROM sessions WHERE ended > 0 AND end_reason = 'process gone'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'session_closed' AND user = 'bob'"
                                   " AND detail LIKE '%process gone'", NULL), 1);
}

static void test_terminate_one(void **state) {
        struct env *e = *state;
        char out[4096], id_text[32];
        struct holder h = hold_session("login", "alice", "198.51.100.7");
        long long id = session_of(e, h.pid);
        snprintf(id_text, sizeof(id_text), "%lld", id);
        const char *term[] = { "session", "terminate", id_text, NULL };
        const char *bad[] = { "session", "terminate", "12x", NULL };

        /* bob may not end alice's session, and learns nothing about it. */
        assert_int_equal(run_cli(e, 1002, out, sizeof(out), term), 1);
        assert_false(gone(h.pid));
        assert_int_equal(db_int(e, "SELECT count(*) FROM sessions WHERE ended = 0", NULL), 1);
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), bad), 2);
        /* alice may: the session's processes end, the record says so. */
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), term), 0);
        assert_non_null(strstr(out, "ended"));
        int status;
        assert_int_equal(waitpid(h.pid, &status, 0), h.pid);
        assert_true(WIFSIGNALED(status));
        assert_true(wait_gone(h.grandchild));
        assert_int_equal(db_int(e, "SELECT count(*) FROM sessions WHERE ended > 0 AND end_reason = 'terminated'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'session_terminated' AND user = 'alice'"
                                   " AND actor = ''", NULL), 1);
        /* Ended already: the same answer as for a session that never was. */
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), term), 1);
}

static void test_terminate_all_others(void **state) {
        struct env *e = *state;
        char out[4096];
        int r;
        const char *others[] = { "--json", "session", "terminate", "--all-others", NULL };
        const char *list[] = { "--json", "session", "list", NULL };
        const char *admin_list[] = { "--json", "session", "list", "--user", "alice", NULL };

        /* This process is alice's current session: the CLI runs below it. */
        pam_handle_t *mine = open_session("login", "alice", "192.0.2.20", "pts/1", NULL, &r);
        assert_int_equal(r, PAM_SUCCESS);
        struct holder a = hold_session("login", "alice", "192.0.2.21");
        struct holder b = hold_session("login", "alice", "192.0.2.22");
        struct holder other_user = hold_session("login", "bob", NULL);
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), list), 0);
        assert_non_null(strstr(out, "\"total\":3"));
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), others), 0);
        assert_non_null(strstr(out, "\"terminated\":2"));
        waitpid(a.pid, NULL, 0);
        waitpid(b.pid, NULL, 0);
        assert_true(wait_gone(a.grandchild)); /* the commands they ran end too */
        assert_true(wait_gone(b.grandchild));
        assert_false(gone(getpid()));
        assert_false(gone(other_user.pid)); /* not alice's */
        assert_int_equal(db_int(e, "SELECT count(*) FROM sessions WHERE ended = 0 AND user = 'alice'", NULL), 1);
        assert_int_equal(session_of(e, getpid()), db_int(e, "SELECT id FROM sessions WHERE ended = 0 AND user = 'alice'", NULL));
        /* An auditor (dave) may list alice's, not end them. */
        assert_int_equal(run_cli(e, 1004, out, sizeof(out), admin_list), 0);
        assert_non_null(strstr(out, "\"total\":1"));
        const char *dave_ends[] = { "session", "terminate", "--all-others", "--user", "alice", NULL };
        assert_int_equal(run_cli(e, 1004, out, sizeof(out), dave_ends), 4);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'request_refused' AND user = 'dave'", NULL), 1);
        close_session(mine, PAM_SUCCESS);
        kill_holder(&other_user);
}

/* user@.service opens a PAM session for the user's service manager
 * ("systemd-user", as root): not a login.  Recorded, it would be listed
 * and ended by --all-others from the user's real login. */
static void test_systemd_user_is_not_a_session(void **state) {
        struct env *e = *state;
        char out[4096];
        int r;
        const char *list[] = { "--json", "session", "list", NULL };
        const char *others[] = { "--json", "session", "terminate", "--all-others", NULL };

        pam_handle_t *mine = open_session("login", "alice", "192.0.2.70", "pts/2", NULL, &r);
        assert_int_equal(r, PAM_SUCCESS);
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), list), 0);
        assert_non_null(strstr(out, "\"total\":1"));
        struct holder manager = hold_session("systemd-user", "alice", NULL);
        assert_int_equal(db_int(e, "SELECT count(*) FROM sessions WHERE service = 'systemd-user'", NULL), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM sessions", NULL), 1);
        assert_int_equal(db_events(e, "session_opened"), 1);
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), list), 0);
        assert_non_null(strstr(out, "\"total\":1"));
        /* Signing out the other logins leaves the service manager alone. */
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), others), 0);
        assert_non_null(strstr(out, "\"terminated\":0"));
        assert_false(gone(manager.pid));
        assert_false(gone(manager.grandchild));
        close_session(mine, PAM_SUCCESS);
        kill_holder(&manager);
        /* The daemon is not even asked: without it, open and close still
         * succeed through the "required" line. */
        assert_int_equal(daemon_stop(e), 0);
        pam_handle_t *h = open_session("systemd-user", "alice", NULL, NULL, NULL, &r);
        assert_int_equal(r, PAM_SUCCESS);
        close_session(h, PAM_SUCCESS);
        assert_int_equal(db_events(e, "session_closed"), 1);
}

static void test_new_source_mail_once_per_source(void **state) {
        struct env *e = *state;
        char text[65536];
        int r;
        pam_handle_t *h;

        /* First login from 192.0.2.30 with KEY1: one mail, saying so. */
        h = open_session("sshd", "alice", "192.0.2.30", "ssh", KEY1, &r);
        assert_int_equal(r, PAM_SUCCESS);
        close_session(h, PAM_SUCCESS);
        assert_int_equal(maildir_wait(e, 1, text, sizeof(text)), 1);
        assert_non_null(strstr(text, "Subject: New login to your account"));
        assert_non_null(strstr(text, "To: alice@example.com"));
        assert_non_null(strstr(text, "from:    192.0.2.30"));
        assert_non_null(strstr(text, "key:     " FP1));
        assert_non_null(strstr(text, "service: sshd"));
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'new_source_login' AND rhost = '192.0.2.30'"
                                   " AND detail LIKE '" FP1 ": notified a%'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'session_opened' AND detail LIKE '%" FP1 "'",
                                NULL), 1);
        /* The same source again, twice: nothing. */
        for (int i = 0; i < 2; i++) {
                h = open_session("sshd", "alice", "192.0.2.30", "ssh", KEY1, &r);
                close_session(h, PAM_SUCCESS);
        }
        assert_int_equal(maildir_wait(e, 1, text, sizeof(text)), 1);
        /* Another key from the known address, another address: one mail each. */
        h = open_session("sshd", "alice", "192.0.2.30", "ssh", KEY2, &r);
        close_session(h, PAM_SUCCESS);
        h = open_session("login", "alice", "192.0.2.31", NULL, NULL, &r);
        close_session(h, PAM_SUCCESS);
        assert_int_equal(maildir_wait(e, 3, text, sizeof(text)), 3);
        assert_non_null(strstr(text, "key:     " FP2));
        assert_non_null(strstr(text, "from:    192.0.2.31"));
        /* A local login has no source to learn. */
        h = open_session("login", "alice", NULL, "tty1", NULL, &r);
        close_session(h, PAM_SUCCESS);
        assert_int_equal(maildir_wait(e, 3, text, sizeof(text)), 3);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'new_source_login'", NULL), 3);
        assert_int_equal(db_int(e, "SELECT count(*) FROM known_sources WHERE user = 'alice'", NULL), 3);
        /* bob has no verified address: logged, not mailed. */
        h = open_session("login", "bob", "192.0.2.40", NULL, NULL, &r);
        close_session(h, PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'new_source_login' AND user = 'bob'"
                                   " AND detail = 'not notified: no verified address'", NULL), 1);
        assert_int_equal(maildir_wait(e, 3, text, sizeof(text)), 3);
}

static void test_opt_out(void **state) {
        struct env *e = *state;
        char text[65536], out[2048];
        int r;
        const char *off[] = { "notify", "off", NULL };
        const char *on[] = { "notify", "on", NULL };
        const char *status[] = { "notify", "status", NULL };
        const char *bob_off[] = { "notify", "off", "--user", "alice", NULL };

        assert_int_equal(run_cli(e, 1002, out, sizeof(out), bob_off), 4); /* not his to change */
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), off), 0);
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), status), 0);
        assert_non_null(strstr(out, "off (turned off by the user)"));
        pam_handle_t *h = open_session("login", "alice", "192.0.2.50", NULL, NULL, &r);
        close_session(h, PAM_SUCCESS);
        assert_int_equal(maildir_read(e, text, sizeof(text)), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'new_source_login'"
                                   " AND detail = 'not notified: notifications are off'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'notifications_changed'", NULL), 1);
        /* Back on: only sources not seen before mail (192.0.2.50 was seen). */
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), on), 0);
        h = open_session("login", "alice", "192.0.2.50", NULL, NULL, &r);
        close_session(h, PAM_SUCCESS);
        assert_int_equal(maildir_read(e, text, sizeof(text)), 0);
        h = open_session("login", "alice", "192.0.2.51", NULL, NULL, &r);
        close_session(h, PAM_SUCCESS);
        assert_int_equal(maildir_wait(e, 1, text, sizeof(text)), 1);
}

static void test_policy_off_and_daemon_down(void **state) {
        struct env *e = *state;
        char text[65536], conf[PATH_MAX + 128];
        int r;
        snprintf(conf, sizeof(conf), "mail_transport = maildir\nmaildir = %s\nnotify_new_source = no\n", e->maildir);
        env_reconfigure(e, conf);
        pam_handle_t *h = open_session("login", "alice", "192.0.2.60", NULL, NULL, &r);
        assert_int_equal(r, PAM_SUCCESS);
        close_session(h, PAM_SUCCESS);
        assert_int_equal(maildir_read(e, text, sizeof(text)), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'new_source_login'"
                                   " AND detail = 'not notified: notifications are off'", NULL), 1);
        /* No daemon: the session phase says so (session optional lets the login on). */
        assert_int_equal(daemon_stop(e), 0);
        h = open_session("login", "alice", "192.0.2.61", NULL, NULL, &r);
        assert_int_equal(r, PAM_SESSION_ERR);
        close_session(h, PAM_SESSION_ERR);
        h = open_session("optional", "alice", "192.0.2.61", NULL, NULL, &r);
        assert_int_equal(r, PAM_SUCCESS);
        pam_end(h, PAM_SUCCESS);
}

static const struct service_def services[] = {
        { "login", NULL, NULL, false, false, "session  required $MOD\n" },
        { "sshd", NULL, NULL, false, false, "session  required $MOD\n" },
        { "optional", NULL, NULL, false, false, "session  optional $MOD\nsession  required pam_permit.so\n" },
        /* Debian's includes common-session-noninteractive; "required" here, so
         * that a module asking a stopped daemon would fail the stack. */
        { "systemd-user", NULL, NULL, false, false, "session  required $MOD\nsession  required pam_permit.so\n" },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        /* Orphaned grandchildren become ours to wait for (wait_gone). */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
                perror("prctl(PR_SET_CHILD_SUBREAPER)");
                return 1;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_and_close_are_recorded, start, env_stop),
                cmocka_unit_test_setup_teardown(test_killed_session_is_reconciled, start, env_stop),
                cmocka_unit_test_setup_teardown(test_terminate_one, start, env_stop),
                cmocka_unit_test_setup_teardown(test_terminate_all_others, start, env_stop),
                cmocka_unit_test_setup_teardown(test_systemd_user_is_not_a_session, start, env_stop),
                cmocka_unit_test_setup_teardown(test_new_source_mail_once_per_source, start, env_stop),
                cmocka_unit_test_setup_teardown(test_opt_out, start, env_stop),
                cmocka_unit_test_setup_teardown(test_policy_off_and_daemon_down, start, env_stop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
