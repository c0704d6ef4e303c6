/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_daemon: acctsecd on its own, spoken to through common/client.c (one
 * connection per request, like pam_acctsec.so and the CLI).  One table row
 * per run, with the target of the brief next to it:
 *
 *   bench_daemon throughput --socket S [--socket S2 ...] --op preauth|authfail
 *                --clients N --requests M --users-prefix P --users U
 *                [--label TEXT]
 *       N client processes per socket (daemon), M requests each, cycling
 *       over users P0..P(U-1).  preauth is a read (the lockout tally and the
 *       allowlist SELECTs); authfail a durable write (tally row +
 *       auth_failure event; deny=0 in the request, so nobody locks).  Prints
 *       requests/s in all over the wall time.  With --label (a fleet on
 *       PostgreSQL), the row names the daemons and ends in TEXT, and has no
 *       target: the brief's are for one daemon on SQLite.
 *   bench_daemon latency --socket S --user U --count C --requests M
 *       one user's last C events through LOG_SHOW, paged like 'acctsec log
 *       show' (a reply holds 92 records), M times: p50 / p99 / max.
 *   bench_daemon coldstart --socket S --user U --rounds M -- COMMAND...
 *       M times: run COMMAND (systemd-socket-activate -l S acctsecd ...),
 *       wait for S, then time connect + PREAUTH to the first reply; the
 *       daemon starts on that connection.  SIGTERM, wait, again.  One more
 *       round first, not counted (it may create the database).
 *
 * Any failed request is printed and makes the exit status 1: the numbers
 * count only answered requests.  2: a usage or setup error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define CALL_TIMEOUT_MS 30000
#define CLIENTS_MAX 256
#define SOCKETS_MAX 16

struct options {
        const char *cmd, *socket, *op, *prefix, *user, *label;
        const char *sockets[SOCKETS_MAX]; /* socket is the first */
        unsigned nsockets;
        unsigned clients, requests, users, count, rounds;
        char **argv; /* coldstart: the command */
};

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static void row(const char *what, double value, const char *unit, const char *target, bool met) {
        printf("%-64s %12.3f %-4s %12s  %s\n", what, value, unit, target, !*target ? "" : met ? "met" : "NOT MET");
        fflush(stdout);
}

/* One request; 0 on an OK reply, else the reason is printed. */
static int call(const char *socket, struct acctsec_frame *req, struct acctsec_msg *reply) {
        int r = acctsec_call(socket, CALL_TIMEOUT_MS, req, reply);
        if (r < 0) {
                fprintf(stderr, "bench_daemon: request failed: %s\n", strerror(-r));
                return r;
        }
        if (reply->type != ACCTSEC_REPLY_OK) {
                fprintf(stderr, "bench_daemon: error reply: %s\n", strerror(acctsec_reply_errno(reply)));
                return -EPROTO;
        }
        return 0;
}

static void login_request(struct acctsec_frame *f, uint8_t op, const char *user) {
        acctsec_frame_init(f, op);
        acctsec_frame_add_str(f, ACCTSEC_TAG_USER, user);
        acctsec_frame_add_str(f, ACCTSEC_TAG_SERVICE, "bench");
        if (op == ACCTSEC_OP_AUTHFAIL) /* count, never lock: every write lands */
                acctsec_frame_add_str(f, ACCTSEC_TAG_CONF, "deny=0");
}

/* A client process: waits on the start pipe, returns its failures. */
static int client_main(const struct options *o, unsigned id, int start_fd) {
        struct acctsec_frame *f = malloc(sizeof(*f));
        struct acctsec_msg *m = malloc(sizeof(*m));
        uint8_t op = strcmp(o->op, "authfail") == 0 ? ACCTSEC_OP_AUTHFAIL : ACCTSEC_OP_PREAUTH;
        char user[128], go;
        unsigned failed = 0;

        if (!f || !m)
                return 1;
        (void) !read(start_fd, &go, 1); /* EOF: everyone starts at once */
        for (unsigned i = 0; i < o->requests; i++) {
                snprintf(user, sizeof(user), "%s%u", o->prefix, (id + i * o->clients) % o->users);
                login_request(f, op, user);
                if (call(o->sockets[id % o->nsockets], f, m) < 0 && failed++ > 5)
                        break;
        }
        free(f);
        free(m);
        return failed ? 1 : 0;
}

/* The row of a throughput run: requests/s in all, against the target. */
static void throughput_row(const struct options *o, double rate) {
        bool write = strcmp(o->op, "authfail") == 0;
        char what[128], daemons[32] = "";

        if (o->label)
                snprintf(daemons, sizeof(daemons), "%u daemon%s x ", o->nsockets, o->nsockets == 1 ? "" : "s");
        snprintf(what, sizeof(what), "%s/s, %s%u clients x %u (%s)%s%s", write ? "durable writes" : "reads", daemons,
                 o->clients, o->requests, write ? "AUTHFAIL" : "PREAUTH", o->label ? " " : "",
                 o->label ? o->label : "");
        row(what, rate, "/s", o->label ? "" : write ? ">= 10000" : ">= 30000", rate >= (write ? 10000 : 30000));
}

static int throughput(const struct options *o) {
        pid_t pids[CLIENTS_MAX];
        unsigned clients = o->clients * o->nsockets; /* client i talks to socket i % nsockets */
        int start[2], bad = 0;

        if (o->clients == 0 || clients > CLIENTS_MAX || !o->prefix || o->users == 0)
                return fprintf(stderr, "bench_daemon: throughput needs --clients (at most %d in all), --users-prefix, "
                               "--users\n", CLIENTS_MAX), 2;
        if (pipe2(start, O_CLOEXEC) < 0)
                return perror("pipe2"), 2;
        fflush(stdout);
        for (unsigned i = 0; i < clients; i++) {
                pids[i] = fork();
                if (pids[i] < 0)
                        return perror("fork"), 2;
                if (pids[i] == 0) {
                        close(start[1]);
                        _exit(client_main(o, i, start[0]));
                }
        }
        close(start[0]);
        double t0 = now_ms();
        close(start[1]);
        for (unsigned i = 0; i < clients; i++) {
                int st;
                if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        bad = 1;
        }
        double secs = (now_ms() - t0) / 1e3;
        throughput_row(o, clients * (double) o->requests / secs);
        return bad;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* p50 against the target; p99 and max for information, or max against it
 * too when max_counts. */
static void rows_of(const char *what, double *ms, unsigned n, double target, bool max_counts) {
        char line[160], t[32];
        qsort(ms, n, sizeof(*ms), cmp_double);
        snprintf(t, sizeof(t), "<= %g", target);
        snprintf(line, sizeof(line), "%s, p50", what);
        row(line, ms[n / 2], "ms", t, ms[n / 2] <= target);
        snprintf(line, sizeof(line), "%s, p99", what);
        row(line, ms[n * 99 / 100], "ms", "", true);
        snprintf(line, sizeof(line), "%s, max", what);
        row(line, ms[n - 1], "ms", max_counts ? t : "", !max_counts || ms[n - 1] <= target);
}

/* One user's newest count events, a page per request as 'acctsec log
 * show' reads them (a reply holds fewer than 100 records). */
static int log_show(const struct options *o, struct acctsec_frame *f, struct acctsec_msg *m) {
        uint64_t got = 0, cursor = 0, more = 1;
        while (got < o->count && more) {
                uint64_t n = 0;
                acctsec_frame_init(f, ACCTSEC_OP_LOG_SHOW);
                acctsec_frame_add_str(f, ACCTSEC_TAG_USER, o->user);
                acctsec_frame_add_u64(f, ACCTSEC_TAG_ID, cursor);
                acctsec_frame_add_u64(f, ACCTSEC_TAG_COUNT, o->count - got);
                if (call(o->socket, f, m) < 0)
                        return -EIO;
                if (acctsec_msg_u64(m, ACCTSEC_TAG_COUNT, &n) < 0 || acctsec_msg_u64(m, ACCTSEC_TAG_ID, &cursor) < 0 ||
                    acctsec_msg_u64(m, ACCTSEC_TAG_MORE, &more) < 0 || n == 0)
                        break;
                got += n;
        }
        if (got != o->count) {
                fprintf(stderr, "bench_daemon: LOG_SHOW gave %llu events, not %u\n", (unsigned long long) got, o->count);
                return -EIO;
        }
        return 0;
}

static int latency(const struct options *o) {
        struct acctsec_frame *f = malloc(sizeof(*f));
        struct acctsec_msg *m = malloc(sizeof(*m));
        double *ms = calloc(o->requests, sizeof(double));
        int bad = 0;

        if (!f || !m || !ms || !o->user || o->requests == 0)
                return fprintf(stderr, "bench_daemon: latency needs --user and --requests\n"), 2;
        for (unsigned i = 0; i < o->requests && !bad; i++) {
                double t0 = now_ms();
                bad = log_show(o, f, m) < 0;
                ms[i] = now_ms() - t0;
        }
        if (!bad) {
                char what[96];
                snprintf(what, sizeof(what), "one user's last %u events (LOG_SHOW pages)", o->count);
                rows_of(what, ms, o->requests, 5, false);
        }
        free(f);
        free(m);
        free(ms);
        return bad;
}

/* One cold start: the command listens, the first request starts the daemon. */
static int cold_once(const struct options *o, struct acctsec_frame *f, struct acctsec_msg *m, double *ret_ms) {
        struct stat st;
        int r = -ETIMEDOUT;

        (void) unlink(o->socket);
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                execvp(o->argv[0], o->argv);
                _exit(127);
        }
        /* The socket file appears at bind(), a moment before listen(). */
        for (int i = 0; i < 10000 && stat(o->socket, &st) < 0; i++)
                usleep(1000);
        usleep(20000);
        for (int tries = 0; tries < 500; tries++) { /* 5 s for listen() on a busy machine */
                login_request(f, ACCTSEC_OP_PREAUTH, o->user);
                double t0 = now_ms();
                r = acctsec_call(o->socket, CALL_TIMEOUT_MS, f, m);
                *ret_ms = now_ms() - t0;
                if (r != -ECONNREFUSED)
                        break;
                usleep(10000);
        }
        if (r == 0 && m->type != ACCTSEC_REPLY_OK)
                r = -acctsec_reply_errno(m);
        (void) kill(pid, SIGTERM);
        (void) waitpid(pid, NULL, 0);
        return r;
}

static int coldstart(const struct options *o) {
        struct acctsec_frame *f = malloc(sizeof(*f));
        struct acctsec_msg *m = malloc(sizeof(*m));
        double *ms = calloc(o->rounds, sizeof(double));

        if (!f || !m || !ms || !o->argv || !o->user || o->rounds == 0)
                return fprintf(stderr, "bench_daemon: coldstart needs --user, --rounds and -- COMMAND\n"), 2;
        /* Round 0 is not counted: it may create the database and key file. */
        for (unsigned i = 0; i <= o->rounds; i++) {
                int r = cold_once(o, f, m, &ms[i ? i - 1 : 0]);
                if (r < 0) {
                        fprintf(stderr, "bench_daemon: cold start %u failed: %s\n", i, strerror(-r));
                        return 1;
                }
        }
        rows_of("socket activation: first reply (connect + PREAUTH)", ms, o->rounds, 20, true);
        free(f);
        free(m);
        free(ms);
        return 0;
}

static int parse(int argc, char **argv, struct options *o) {
        enum { O_SOCKET = 256, O_OP, O_CLIENTS, O_REQUESTS, O_PREFIX, O_USERS, O_USER, O_COUNT, O_ROUNDS, O_LABEL };
        static const struct option opts[] = {
                { "socket", required_argument, NULL, O_SOCKET },     { "op", required_argument, NULL, O_OP },
                { "clients", required_argument, NULL, O_CLIENTS },   { "requests", required_argument, NULL, O_REQUESTS },
                { "users-prefix", required_argument, NULL, O_PREFIX }, { "users", required_argument, NULL, O_USERS },
                { "user", required_argument, NULL, O_USER },         { "count", required_argument, NULL, O_COUNT },
                { "rounds", required_argument, NULL, O_ROUNDS },     { "label", required_argument, NULL, O_LABEL },
                {}
        };
        int c;

        *o = (struct options){ .op = "preauth", .clients = 32, .requests = 1000, .count = 100, .rounds = 20 };
        if (argc < 2)
                return -EINVAL;
        o->cmd = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "+", opts, NULL)) >= 0) {
                unsigned long v = optarg ? strtoul(optarg, NULL, 10) : 0;
                switch (c) {
                case O_SOCKET:
                        if (o->nsockets == SOCKETS_MAX)
                                return -EINVAL;
                        o->sockets[o->nsockets++] = optarg;
                        break;
                case O_OP: o->op = optarg; break;
                case O_CLIENTS: o->clients = (unsigned) v; break;
                case O_REQUESTS: o->requests = (unsigned) v; break;
                case O_PREFIX: o->prefix = optarg; break;
                case O_USERS: o->users = (unsigned) v; break;
                case O_USER: o->user = optarg; break;
                case O_COUNT: o->count = (unsigned) v; break;
                case O_ROUNDS: o->rounds = (unsigned) v; break;
                case O_LABEL: o->label = optarg; break;
                default: return -EINVAL;
                }
        }
        if (optind < argc)
                o->argv = argv + optind;
        o->socket = o->sockets[0];
        if (!o->socket || (strcmp(o->op, "preauth") != 0 && strcmp(o->op, "authfail") != 0))
                return -EINVAL;
        return 0;
}

int main(int argc, char **argv) {
        struct options o;
        if (parse(argc, argv, &o) < 0) {
                fprintf(stderr, "usage: bench_daemon throughput|latency|coldstart --socket PATH ... (see bench/bench_daemon.c)\n");
                return 2;
        }
        if (strcmp(o.cmd, "throughput") == 0)
                return throughput(&o);
        if (strcmp(o.cmd, "latency") == 0)
                return latency(&o);
        if (strcmp(o.cmd, "coldstart") == 0)
                return coldstart(&o);
        fprintf(stderr, "bench_daemon: unknown command %s\n", o.cmd);
        return 2;
}
