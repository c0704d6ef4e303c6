/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test harness for the PAM-stack tier: a temp dir with nss_wrapper users, a
 * pam_matrix password file, service files for pam_wrapper, and a real
 * acctsecd started on a temp socket (ready when it sends READY=1 on our
 * NOTIFY_SOCKET — no sleeps).
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <libpamtest.h>

#define ALICE_PW "alice-Secret-1"
#define BOB_PW "bob-Secret-2"
#define ROOT_PW "root-Secret-0"

struct env {
        char dir[PATH_MAX];
        char sock[PATH_MAX];
        char state[PATH_MAX];
        char conf[PATH_MAX];
        char passdb[PATH_MAX];
        char services[PATH_MAX]; /* PAM_WRAPPER_SERVICE_DIR */
        char build[PATH_MAX];
        char log[PATH_MAX]; /* the daemon's stderr, when harness_daemon_log */
        char maildir[PATH_MAX]; /* for tests that configure maildir delivery */
        pid_t daemon;
};

/* A PAM service the test program uses.  pam_wrapper copies the service
 * directory when it loads, so every service is written before that:
 * harness_main() writes them, then re-executes the program under
 * LD_PRELOAD=libpam_wrapper.so. */
struct service_def {
        const char *name;
        const char *socket; /* file name in the base dir instead of "sock", or NULL */
        const char *extra;  /* more pam_acctsec.so arguments, or NULL */
        bool mfa;           /* the MFA stack: the last auth line is "mfa", not "authsucc" */
        bool plain;         /* pam_matrix only (acctsecd's own "acctsec" service) */
        const char *stack;  /* or this text, with $MOD (pam_acctsec.so and its arguments) and
                             * $MATRIX (pam_matrix.so passdb=...) replaced */
};

/* Set before env_start(): acctsecd itself runs under pam_wrapper with the
 * test's service directory (for its password checks: mfa disable). */
extern bool harness_daemon_pam;
/* Set before env_start(): the daemon's stderr goes to e->log (appended to,
 * emptied by env_setup) instead of the test's stderr. */
extern bool harness_daemon_log;

/* Call first in main(); returns only in the re-executed program.  Exits 77
 * (automake's skip) when the tests cannot run here: not root, or no
 * pam_wrapper, pam_matrix or nss_wrapper. */
void harness_main(int argc, char **argv, const struct service_def *services);

/* Fresh state for one test (empty database, default config); aborts on failure. */
void env_setup(struct env *e);
void env_teardown(struct env *e);
/* cmocka setup/teardown: a fresh env with a running daemon; teardown asserts
 * the daemon (if still running) exits cleanly on SIGTERM. */
int env_start(void **state);
int env_stop(void **state);
/* Write the daemon's config file (replacing it). */
void env_write_conf(struct env *e, const char *text);
/* The same, and restart the daemon (it reads its config at start); asserts
 * a clean stop and a start. */
void env_reconfigure(struct env *e, const char *text);
/* Start acctsecd and wait for READY=1; returns 0 or -1. */
int daemon_start(struct env *e);
/* SIGTERM and wait; returns the exit status (0 clean) or -1. */
int daemon_stop(struct env *e);
/* SIGKILL and reap: the socket file is left behind, as after a crash. */
void daemon_kill(struct env *e);
/* Whether the daemon's log (harness_daemon_log) contains text. */
bool daemon_log_contains(struct env *e, const char *text);

void write_file(const char *path, const char *text);

/* SQL helpers on the daemon's database, opened read-only. */
long long db_int(struct env *e, const char *sql, const char *arg);
/* Events of a type; a user's failure count (all sources). */
long long db_events(struct env *e, const char *type);
long long db_tally(struct env *e, const char *user);
/* Run SQL that changes the database (tests that fake the passing of time). */
void db_exec(struct env *e, const char *sql);

/* Mail delivered to e->maildir/new: how many, and all their text
 * concatenated into text (n bytes at most). */
int maildir_read(struct env *e, char *text, size_t n);
/* The same once at least want mails are there: the daemon mails from a
 * child after answering, so wait for them (bounded, 10 s). */
int maildir_wait(struct env *e, int want, char *text, size_t n);

/* Run the CLI as uid (or as ourselves when uid is (uid_t)-1); returns its
 * exit status, stdout into out. */
int run_cli(struct env *e, uid_t uid, char *out, size_t outlen, const char *const *args);

/* The same in steps: the CLI started with a pipe on its stdin (c->in, for
 * the test to write to and close) and one on its stdout. */
struct cli_run {
        pid_t pid;
        int in, out;
};
void cli_start(struct env *e, uid_t uid, const char *const *args, struct cli_run *ret);
int cli_finish(struct cli_run *c, char *out, size_t outlen);

/* A conversation function that answers every prompt with the text in data. */
int harness_answer(int n, const struct pam_message **msg, struct pam_response **resp, void *data);

/* What the module showed through libpamtest's conversation, in order.
 * libpamtest copies each message into the next buffer without checking
 * how many there are: MSGS_MAX is more than any one call shows. */
#define MSGS_MAX 8
struct msgs {
        char err[MSGS_MAX][PAM_MAX_MSG_SIZE];  /* PAM_ERROR_MSG */
        char info[MSGS_MAX][PAM_MAX_MSG_SIZE]; /* PAM_TEXT_INFO */
        char *eptr[MSGS_MAX + 1];
        char *iptr[MSGS_MAX + 1];
};
/* Conversation data for libpamtest: answers to the echo-off prompts, in
 * order, and m (emptied here; NULL: nobody reads them) for the messages. */
struct pamtest_conv_data msgs_conv(struct msgs *m, const char **answers);
/* Whether one of the first n lines contains needle. */
bool any_line(char lines[][PAM_MAX_MSG_SIZE], int n, const char *needle);

/* PAM_FAIL_DELAY: libpam calls a no-op instead of sleeping the failure
 * delay (tests that check the delay record it instead, test_pam_prompts). */
void no_fail_delay(pam_handle_t *pamh);

/* One login by tests/tools/pam_login (real libpam on the harness's service
 * directory, input on its stdin) in a child process: pam_wrapper cannot
 * run many processes at once (its per-process directory names collide).
 * With barrier (a pipe), it starts once the parent closes the write end.
 * Its exit status is the PAM code; returns its pid, or -1. */
pid_t pam_login_start(const char *service, const char *user, const char *input, const char *rhost,
                      const int barrier[2]);

/* One login through libpam with PAM_RHOST set: authenticate, then account
 * if that passed.  Returns the first failing PAM code, or PAM_SUCCESS. */
int login(const char *service, const char *user, const char *password, const char *rhost);
