/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the module's entry points: pam_sm_authenticate
 * (preauth, authfail, authsucc, mfa, token), pam_sm_acct_mgmt,
 * pam_sm_chauthtok (policy and commit) and the session calls, through real
 * libpam (pam_start_confdir and a service file in a temp dir), against
 *
 *   - a real acctsecd (FUZZ_PAM_BUILD=<build dir>, root only), started once
 *     per process on a temp socket and state dir, or
 *   - a fake daemon: a thread of this process on another socket that reads
 *     each request and answers with replies taken from the input (well-formed
 *     frames with chosen fields, raw bytes, a cut frame, nothing, or a hang),
 *
 * with the Nth call to malloc/calloc/realloc/strdup, socket/connect/send/
 * recv/poll/getsockopt/lstat, open/fstat/read or pam_get_user/
 * pam_get_authtok/pam_prompt failing with a chosen errno (fuzz_pam_inject.h
 * renames those calls in the module's and common/'s sources only).
 *
 * The oracle (abort() = a crash for libFuzzer):
 *   - no internal error yields PAM_SUCCESS or PAM_IGNORE: once a hard
 *     injected failure fired in a pam_sm_* call, that call must deny
 *     (failmode=open may pass on a transport error only: it is documented);
 *   - with the fake daemon, PAM_SUCCESS/PAM_IGNORE needs a complete,
 *     well-formed OK reply to the right request that says so;
 *   - with the real daemon, users set up to be refused are refused (carol
 *     locked, bob disabled, dave without the second factor mfa=required asks);
 *   - authfail never passes;
 *   - no message to the user carries a control character, nor does the
 *     host, tty or SSH key line the module sends to the daemon;
 *   - no fd leaked, no signal disposition or mask changed, the fake daemon
 *     is left idle (no connection left open), and ASan/LSan/UBSan.
 * See doc/fuzzing.md.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "conf.h"
#include "proto.h"
#include "token.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_pam_dispatch(int which, pam_handle_t *pamh, int flags, int argc, const char **argv);

/* The module's entry points, renamed by fuzz_pam_inject.h. */
int acctsec_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv);
int acctsec_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv);
int acctsec_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv);
int acctsec_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv);
int acctsec_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv);

/* ------------------------------------------------------------------------ */
/* The input */

enum entry {
        E_PREAUTH,
        E_AUTHFAIL,
        E_AUTHSUCC,
        E_MFA,
        E_TOKEN,
        E_ACCOUNT,
        E_PASSWORD,
        E_COMMIT,
        E_SESSION_OPEN,
        E_SESSION_BOTH, /* open, then close in the same handle */
        E_COUNT,
};

enum { W_AUTH, W_ACCOUNT, W_PASSWORD, W_OPEN, W_CLOSE }; /* fuzz_pam_dispatch's which */

#define ARGS_MAX 6
#define ANSWERS_MAX 8
#define INJECT_MAX 3
#define REPLIES_MAX 4
#define RAW_MAX 64
#define REPLY_BUF (ACCTSEC_FRAME_MAX + 64)
#define FAULT_SHORT (-1) /* a short read or write, not an error */

enum reply_kind { R_FRAME, R_RAW, R_CLOSE, R_CUT };

struct reply {
        enum reply_kind kind;
        size_t len;  /* bytes in buf */
        size_t send; /* bytes the fake daemon sends before it closes */
        bool hang;   /* R_CLOSE: wait for the module to give up first (see hang_allowed) */
        uint8_t buf[REPLY_BUF];
};

struct inject {
        unsigned at; /* the Nth wrapped call in the input fails; 0: none */
        int err;     /* errno, 0 (a failure with errno 0), or FAULT_SHORT */
};

struct input {
        bool fake;
        enum entry entry;
        const char *user; /* NULL: libpam asks for it */
        const char *rhost;
        int flags;
        bool conv_fails; /* when the answers run out: PAM_CONV_ERR, else "" */
        int argc;
        const char *argv[ARGS_MAX + 3];
        char raw_args[ARGS_MAX][RAW_MAX + 1];
        char raw_user[RAW_MAX + 1], raw_rhost[RAW_MAX + 1];
        char auth_info[RAW_MAX + 64]; /* sshd's SSH_AUTH_INFO_0 in the PAM environment, or "" */
        int nanswers;
        const char *answers[ANSWERS_MAX];
        char raw_answers[ANSWERS_MAX][RAW_MAX + 1];
        int ninject;
        struct inject inject[INJECT_MAX];
        int nreplies;
        struct reply replies[REPLIES_MAX];
};

struct cursor {
        const uint8_t *p;
        size_t n;
};

static uint8_t take(struct cursor *c) {
        if (c->n == 0)
                return 0;
        c->n--;
        return *c->p++;
}

static uint16_t take16(struct cursor *c) {
        uint16_t hi = take(c);
        return (uint16_t) (hi << 8 | take(c));
}

/* A string of at most RAW_MAX bytes, NUL-free (a C string cannot hold one). */
static const char *take_raw(struct cursor *c, char buf[RAW_MAX + 1]) {
        size_t n = take(c) % (RAW_MAX + 1), i;
        for (i = 0; i < n && c->n > 0; i++) {
                uint8_t b = take(c);
                buf[i] = b ? (char) b : '?';
        }
        buf[i] = '\0';
        return buf;
}

static const char *const user_menu[] = { "alice", "bob", "carol", "dave", "root", "mallory", "", NULL };
static const char *const rhost_menu[] = { NULL, "127.0.0.1", "10.1.2.3", "2001:db8::1", "UNKNOWN" };
static const char *const arg_menu[] = {
        "debug", "silent", "failmode=open", "failmode=secure", "deny=0", "mfa=off", "mfa=required",
        "lock_message=yes", "retry=1", "retry=3", "preauth", "mfa", "token", "commit", "authfail",
        "no_such_key=1", "timeout=50", "timeout=bad", "allowlist=10.0.0.0/8", "lock_scope=user+source",
        "debug=maybe", "socket=relative", "min_length=8", "history=0", "mfa=optional", "recover",
};
static const char *const answer_menu[] = {
        "", "resend", "123456", "alice-Secret-1", "acst_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG012345",
        "RESEND", "New-Password-42!", "forgot",
};
static const int errno_menu[] = {
        ENOMEM, EINTR, EAGAIN, EPIPE, ECONNRESET, EIO, ECONNREFUSED, ENOENT, EACCES, ETIMEDOUT, EPERM, 0,
        FAULT_SHORT, EBADF, EMSGSIZE,
};
static const uint8_t tag_menu[] = {
        ACCTSEC_TAG_DECISION, ACCTSEC_TAG_MFA, ACCTSEC_TAG_MESSAGE, ACCTSEC_TAG_ERRNO, ACCTSEC_TAG_LOCKED_UNTIL,
        ACCTSEC_TAG_ATTEMPT, ACCTSEC_TAG_SENT, ACCTSEC_TAG_MUST_CHANGE, ACCTSEC_TAG_SESSION, ACCTSEC_TAG_WAIT,
};
static const uint64_t u64_menu[] = {
        0, 1, 2, 3, 4, 5, 6, UINT64_MAX, UINT64_MAX - 1, 1700000000, 253402300800ULL, 1ULL << 62, 0x7fffffff,
};

#define MENU(m) (sizeof(m) / sizeof((m)[0]))

static void put(struct reply *r, const void *v, size_t n) {
        if (r->len + n > sizeof(r->buf))
                n = sizeof(r->buf) - r->len;
        memcpy(r->buf + r->len, v, n);
        r->len += n;
}

static void put_field(struct reply *r, uint8_t tag, const void *v, size_t n) {
        uint8_t h[3] = { tag, (uint8_t) (n >> 8), (uint8_t) n };
        put(r, h, 3);
        put(r, v, n);
}

/* A frame with a valid header and chosen fields (some of them malformed). */
static void take_frame(struct cursor *c, struct reply *r) {
        static const uint8_t types[] = { ACCTSEC_REPLY_OK, ACCTSEC_REPLY_OK, ACCTSEC_REPLY_ERROR };
        uint8_t t = take(c) % 4;
        uint8_t hdr[ACCTSEC_HEADER_SIZE] = { 'A', 'S', ACCTSEC_PROTO_VERSION, t < 3 ? types[t] : take(c) };
        put(r, hdr, sizeof(hdr));
        int nfields = take(c) % 12;
        for (int i = 0; i < nfields && c->n > 0; i++) {
                uint8_t k = take(c);
                uint8_t tag = k < 240 ? tag_menu[k % MENU(tag_menu)] : take(c);
                uint8_t v[RAW_MAX + 8];
                char s[RAW_MAX + 1];
                uint64_t u = 0;
                uint8_t kind = take(c) % 4;
                if (kind == 0 || kind == 3) { /* an integer: from the menu, or any */
                        u = kind == 0 ? u64_menu[take(c) % MENU(u64_menu)] : 0;
                        for (int j = 0; kind == 3 && j < 8; j++)
                                u = u << 8 | take(c);
                        for (int j = 7; j >= 0; j--, u >>= 8)
                                v[j] = (uint8_t) u;
                        put_field(r, tag, v, 8);
                        continue;
                }
                switch (kind) {
                case 1: /* a string */
                        take_raw(c, s);
                        put_field(r, tag, s, strlen(s));
                        break;
                default: { /* bytes of any length: an integer of the wrong size, NULs, escapes */
                        size_t n = take(c) % sizeof(v);
                        for (size_t j = 0; j < n; j++)
                                v[j] = take(c);
                        put_field(r, tag, v, n);
                }
                }
        }
        uint32_t len = (uint32_t) (r->len - ACCTSEC_HEADER_SIZE);
        r->buf[4] = (uint8_t) (len >> 24);
        r->buf[5] = (uint8_t) (len >> 16);
        r->buf[6] = (uint8_t) (len >> 8);
        r->buf[7] = (uint8_t) len;
}

static void take_reply(struct cursor *c, struct reply *r) {
        r->len = 0;
        r->kind = (enum reply_kind) (take(c) % 4);
        switch (r->kind) {
        case R_FRAME:
                take_frame(c, r);
                break;
        case R_CUT:
                take_frame(c, r);
                r->send = r->len ? take16(c) % r->len : 0;
                return;
        case R_RAW: {
                size_t n = take16(c);
                if (n > c->n)
                        n = c->n;
                put(r, c->p, n);
                c->p += n;
                c->n -= n;
                break;
        }
        case R_CLOSE:
                r->hang = take(c) & 1;
                break;
        }
        r->send = r->len;
}

static const char *pick(struct cursor *c, const char *const *menu, size_t n, char raw[RAW_MAX + 1]) {
        uint8_t k = take(c);
        return k < n ? menu[k] : take_raw(c, raw);
}

static void parse_input(const uint8_t *data, size_t size, struct input *in) {
        struct cursor c = { data, size };
        uint8_t b = take(&c);
        in->fake = b & 1;
        in->entry = (enum entry) ((b >> 1) % E_COUNT);
        uint8_t u = take(&c);
        in->user = u % 9 < MENU(user_menu) ? user_menu[u % 9] : take_raw(&c, in->raw_user);
        uint8_t h = take(&c);
        in->rhost = h % 6 < MENU(rhost_menu) ? rhost_menu[h % 6] : take_raw(&c, in->raw_rhost);
        uint8_t f = take(&c);
        in->flags = (f & 1 ? PAM_SILENT : 0) | (f & 2 ? PAM_DISALLOW_NULL_AUTHTOK : 0) |
                    (f & 4 ? PAM_CHANGE_EXPIRED_AUTHTOK : 0);
        in->conv_fails = f & 8;
        if (f & 16) {
                char raw[RAW_MAX + 1];
                snprintf(in->auth_info, sizeof(in->auth_info), "SSH_AUTH_INFO_0=publickey %s", take_raw(&c, raw));
        }
        int nargs = take(&c) % (ARGS_MAX + 1);
        for (int i = 0; i < nargs; i++)
                in->argv[in->argc++] = pick(&c, arg_menu, MENU(arg_menu), in->raw_args[i]);
        in->nanswers = take(&c) % (ANSWERS_MAX + 1);
        for (int i = 0; i < in->nanswers; i++)
                in->answers[i] = pick(&c, answer_menu, MENU(answer_menu), in->raw_answers[i]);
        in->ninject = take(&c) % (INJECT_MAX + 1);
        for (int i = 0; i < in->ninject; i++) {
                in->inject[i].at = take(&c); /* a transaction makes 10 to 100 wrapped calls */
                in->inject[i].err = errno_menu[take(&c) % MENU(errno_menu)];
        }
        in->nreplies = in->fake ? take(&c) % (REPLIES_MAX + 1) : 0;
        for (int i = 0; i < in->nreplies; i++)
                take_reply(&c, &in->replies[i]);
}

/* ------------------------------------------------------------------------ */
/* Fault injection: the wrappers fuzz_pam_inject.h points the module at. */

static struct {
        bool active; /* inside a pam_sm_* call */
        unsigned calls;
        const struct input *in;
        bool hard;      /* a failure the module cannot recover from fired */
        bool transport; /* one of them was a transport error (failmode=open may pass) */
        bool other;     /* one of them was not */
        const char *what;
} inj;

enum call_class { C_ALLOC, C_SETUP, C_IO, C_POLL, C_PAM, C_PROMPT };

static bool is_transport(int e) {
        return e == ENOENT || e == ECONNREFUSED || e == ECONNRESET || e == ECONNABORTED || e == EPIPE ||
               e == ETIMEDOUT || e == EAGAIN;
}

/* -2: no fault, run the real call; otherwise the failure to fake: an
 * errno, 0 ("failed" with errno 0), or FAULT_SHORT. */
static bool private_path; /* the call is on root's private socket: no socket there means "use the shared one" */
/* The module keeps its connection to the daemon in the handle
 * (pam_module/link.c): a poll() with no timeout that fails only makes it
 * connect again, and a request on a connection kept from an earlier call
 * that fails with EPIPE or ECONNRESET is sent again on a new one; an fstat
 * of its socket (is the fd still that socket?) that fails only makes it
 * connect again, or use a new connection once. */
#define FD_TRACKED 1024
static unsigned call_gen;                /* pam_sm_* calls so far */
static unsigned connected_in[FD_TRACKED]; /* the call that connected fd, 0: none */
static bool kept_io, quiet_poll;          /* the wrapped call at hand is such a one */
static bool link_check;                   /* fstat of a kept connection: a failure only makes a new one */

static int fault(enum call_class cls, const char *name) {
        if (!inj.active)
                return -2;
        inj.calls++;
        for (int i = 0; i < inj.in->ninject; i++) {
                if (inj.in->inject[i].at != inj.calls)
                        continue;
                int e = inj.in->inject[i].err;
                if (cls == C_ALLOC)
                        e = ENOMEM;
                if (e == FAULT_SHORT && cls != C_IO)
                        e = EIO;
                /* What the module is expected to retry or tolerate. */
                /* (A Unix connect() interrupted left nothing half-done: retried.  One
                 * that meets a full backlog, EAGAIN, is waited for in a blocking
                 * connect(): the next call, which fails on its own if injected.) */
                bool is_connect = strcmp(name, "connect") == 0;
                bool soft = e == FAULT_SHORT || cls == C_PROMPT || (e == ENOENT && private_path) ||
                            (e == EINTR && (cls == C_IO || cls == C_POLL || is_connect)) ||
                            (e == EAGAIN && (cls == C_IO || is_connect)) || (cls == C_POLL && quiet_poll) || link_check ||
                            (cls == C_IO && kept_io && (e == EPIPE || e == ECONNRESET));
                if (getenv("FUZZ_PAM_LOG"))
                        fprintf(stderr, "fuzz_pam: call %u (%s) fails: %s%s\n", inj.calls, name,
                                e == FAULT_SHORT ? "short" : strerror(e), soft ? " (soft)" : "");
                if (!soft) {
                        inj.hard = true;
                        inj.what = name;
                        if (cls != C_ALLOC && cls != C_PAM && is_transport(e))
                                inj.transport = true;
                        else
                                inj.other = true;
                }
                return e;
        }
        return -2;
}

/* errno 0 too: a stale errno would be a failure no kernel produces. */
#define FAIL_WITH(e, ret)                     \
        do {                                  \
                errno = (e) > 0 ? (e) : 0;    \
                return (ret);                 \
        } while (0)

void *fuzz_malloc(size_t n);
void *fuzz_calloc(size_t n, size_t k);
void *fuzz_realloc(void *p, size_t n);
char *fuzz_strdup(const char *s);
int fuzz_socket(int domain, int type, int protocol);
int fuzz_connect(int fd, const struct sockaddr *sa, socklen_t len);
ssize_t fuzz_send(int fd, const void *p, size_t n, int flags);
ssize_t fuzz_recv(int fd, void *p, size_t n, int flags);
int fuzz_poll(struct pollfd *p, nfds_t n, int timeout);
int fuzz_getsockopt(int fd, int level, int name, void *v, socklen_t *len);
int fuzz_setsockopt(int fd, int level, int name, const void *v, socklen_t len);
int fuzz_lstat(const char *path, struct stat *st);
int fuzz_open(const char *path, int flags, ...);
int fuzz_fstat(int fd, struct stat *st);
ssize_t fuzz_read(int fd, void *p, size_t n);
int fuzz_pam_get_user(pam_handle_t *pamh, const char **user, const char *prompt);
int fuzz_pam_get_authtok(pam_handle_t *pamh, int item, const char **tok, const char *prompt);
int fuzz_pam_prompt(pam_handle_t *pamh, int style, char **ret, const char *fmt, ...);
void fuzz_pam_syslog(const pam_handle_t *pamh, int prio, const char *fmt, ...);

void *fuzz_malloc(size_t n) {
        if (fault(C_ALLOC, "malloc") != -2)
                FAIL_WITH(ENOMEM, NULL);
        return malloc(n);
}

void *fuzz_calloc(size_t n, size_t k) {
        if (fault(C_ALLOC, "calloc") != -2)
                FAIL_WITH(ENOMEM, NULL);
        return calloc(n, k);
}

void *fuzz_realloc(void *p, size_t n) {
        if (fault(C_ALLOC, "realloc") != -2)
                FAIL_WITH(ENOMEM, NULL);
        return realloc(p, n);
}

char *fuzz_strdup(const char *s) {
        if (fault(C_ALLOC, "strdup") != -2)
                FAIL_WITH(ENOMEM, NULL);
        return strdup(s);
}

int fuzz_socket(int domain, int type, int protocol) {
        int e = fault(C_SETUP, "socket");
        if (e != -2)
                FAIL_WITH(e, -1);
        return socket(domain, type, protocol);
}

static char fake_path[108], real_path[108];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned fake_connects, fake_served; /* under lock */

int fuzz_connect(int fd, const struct sockaddr *sa, socklen_t len) {
        int e = fault(C_SETUP, "connect");
        if (e != -2)
                FAIL_WITH(e, -1);
        int r = connect(fd, sa, len);
        const struct sockaddr_un *un = (const struct sockaddr_un *) sa;
        if (r == 0 && fd >= 0 && fd < FD_TRACKED)
                connected_in[fd] = call_gen;
        if (r == 0 && strcmp(un->sun_path, fake_path) == 0) {
                pthread_mutex_lock(&lock);
                fake_connects++;
                pthread_mutex_unlock(&lock);
        }
        return r;
}

static bool is_kept(int fd) {
        int type;
        socklen_t tlen = sizeof(type);
        return fd >= 0 && fd < FD_TRACKED && connected_in[fd] != 0 && connected_in[fd] < call_gen &&
               getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0;
}

ssize_t fuzz_send(int fd, const void *p, size_t n, int flags) {
        kept_io = is_kept(fd);
        int e = fault(C_IO, "send");
        kept_io = false;
        if (e == FAULT_SHORT)
                return send(fd, p, n > 1 ? 1 : n, flags);
        if (e != -2)
                FAIL_WITH(e, -1);
        return send(fd, p, n, flags);
}

ssize_t fuzz_recv(int fd, void *p, size_t n, int flags) {
        kept_io = is_kept(fd);
        int e = fault(C_IO, "recv");
        kept_io = false;
        if (e == FAULT_SHORT)
                return recv(fd, p, n > 1 ? 1 : n, flags);
        if (e != -2)
                FAIL_WITH(e, -1);
        return recv(fd, p, n, flags);
}

int fuzz_poll(struct pollfd *p, nfds_t n, int timeout) {
        quiet_poll = timeout == 0;
        int e = fault(C_POLL, "poll");
        quiet_poll = false;
        if (e != -2)
                FAIL_WITH(e, -1);
        return poll(p, n, timeout);
}

int fuzz_getsockopt(int fd, int level, int name, void *v, socklen_t *len) {
        int e = fault(C_SETUP, "getsockopt");
        if (e != -2)
                FAIL_WITH(e, -1);
        return getsockopt(fd, level, name, v, len);
}

int fuzz_setsockopt(int fd, int level, int name, const void *v, socklen_t len) {
        int e = fault(C_SETUP, "setsockopt");
        if (e != -2)
                FAIL_WITH(e, -1);
        return setsockopt(fd, level, name, v, len);
}

int fuzz_lstat(const char *path, struct stat *st) {
        private_path = strstr(path, "/private/") != NULL;
        int e = fault(C_SETUP, "lstat");
        private_path = false;
        if (e != -2)
                FAIL_WITH(e, -1);
        return lstat(path, st);
}

int fuzz_open(const char *path, int flags, ...) {
        mode_t mode = 0;
        if (flags & (O_CREAT | O_TMPFILE)) {
                va_list ap;
                va_start(ap, flags);
                mode = (mode_t) va_arg(ap, int);
                va_end(ap);
        }
        int e = fault(C_SETUP, "open");
        if (e != -2)
                FAIL_WITH(e, -1);
        return open(path, flags, mode);
}

int fuzz_fstat(int fd, struct stat *st) {
        /* (still a socket: the number of one closed since may be the config file's now) */
        int type;
        socklen_t tlen = sizeof(type);
        bool module_socket = fd >= 0 && fd < FD_TRACKED && connected_in[fd] != 0 &&
                             getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0;
        link_check = module_socket; /* never an error: a kept connection's identity, or one used once */
        int e = fault(C_SETUP, "fstat");
        link_check = false;
        /* EBADF says the fd is closed: the module then forgets it (pam_module/link.c), so it is made so */
        if (e == EBADF && module_socket)
                close(fd);
        if (e != -2)
                FAIL_WITH(e, -1);
        return fstat(fd, st);
}

ssize_t fuzz_read(int fd, void *p, size_t n) {
        int e = fault(C_IO, "read");
        if (e == FAULT_SHORT)
                return read(fd, p, n > 1 ? 1 : n);
        if (e != -2)
                FAIL_WITH(e, -1);
        return read(fd, p, n);
}

int fuzz_pam_get_user(pam_handle_t *pamh, const char **user, const char *prompt) {
        if (fault(C_PAM, "pam_get_user") != -2)
                return PAM_BUF_ERR;
        return pam_get_user(pamh, user, prompt);
}

int fuzz_pam_get_authtok(pam_handle_t *pamh, int item, const char **tok, const char *prompt) {
        if (fault(C_PAM, "pam_get_authtok") != -2)
                return PAM_BUF_ERR;
        return pam_get_authtok(pamh, item, tok, prompt);
}

/* A failed conversation: the module counts it as a wrong code (by design,
 * the daemon decides), hence a "soft" failure.  Also pam_info/pam_error. */
int fuzz_pam_prompt(pam_handle_t *pamh, int style, char **ret, const char *fmt, ...) {
        va_list ap;
        if (fault(C_PROMPT, "pam_prompt") != -2) {
                if (ret) /* NULL from pam_info and pam_error (macros around pam_prompt) */
                        *ret = NULL;
                return PAM_CONV_ERR;
        }
        va_start(ap, fmt);
        int r = pam_vprompt(pamh, style, ret, fmt, ap);
        va_end(ap);
        return r;
}

void fuzz_pam_syslog(const pam_handle_t *pamh, int prio, const char *fmt, ...) {
        char line[2048];
        va_list ap;
        (void) pamh;
        (void) prio;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap); /* the arguments are used, then dropped */
        va_end(ap);
        if (getenv("FUZZ_PAM_LOG"))
                fprintf(stderr, "pam_acctsec: %s\n", line);
}

/* ------------------------------------------------------------------------ */
/* Setup, teardown and the death of this process */

static char dir[PATH_MAX], confdir[PATH_MAX + 16], modconf[PATH_MAX + 16], build[PATH_MAX];
static pid_t daemon_pid;
static int listen_fd = -1;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        remove(path);
        return 0;
}

static void cleanup(void) {
        if (daemon_pid > 0) {
                kill(daemon_pid, SIGTERM);
                waitpid(daemon_pid, NULL, 0);
                daemon_pid = 0;
        }
        if (dir[0] && !getenv("FUZZ_PAM_KEEP"))
                nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "fuzz_pam: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
        cleanup();
        abort();
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0)
                die("cannot write %s: %s", path, strerror(errno));
}

/* ------------------------------------------------------------------------ */
/* The fake daemon: one thread, one connection at a time. */

#define RECORDS_MAX 64
struct record {
        int op;    /* the request's type, -1 when none arrived whole */
        int reply; /* index into replies, -1 for none */
        bool sent; /* all of the reply's bytes went out */
};
static struct record records[RECORDS_MAX];
static const struct input *current; /* under lock */

static bool read_full(int fd, uint8_t *p, size_t n) {
        while (n > 0) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                if (poll(&pfd, 1, 10000) <= 0)
                        return false;
                ssize_t k = recv(fd, p, n, 0);
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

static bool write_full(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

/* A request the module sent whole must be a well-formed frame naming the user. */
static int read_request(int fd) {
        static uint8_t body[ACCTSEC_BODY_MAX];
        static struct acctsec_msg m;
        uint8_t hdr[ACCTSEC_HEADER_SIZE], type;
        uint32_t len;
        if (!read_full(fd, hdr, sizeof(hdr)))
                return -1;
        if (acctsec_header_parse(hdr, &type, &len) < 0)
                die("the module sent a bad header");
        if (!read_full(fd, body, len))
                return -1;
        if (acctsec_msg_parse(&m, type, body, len) < 0 || m.nfields == 0 || m.f[0].tag != ACCTSEC_TAG_USER)
                die("the module sent a malformed %s request", acctsec_op_name(type));
        /* What the client side controls is made printable before it is sent. */
        for (size_t i = 0; i < m.nfields; i++) {
                uint8_t t = m.f[i].tag;
                if ((t == ACCTSEC_TAG_RHOST || t == ACCTSEC_TAG_TTY || t == ACCTSEC_TAG_AUTH_INFO) &&
                    !acctsec_field_is_string(&m.f[i]))
                        die("the module sent a control character in field %u of %s", t, acctsec_op_name(type));
        }
        acctsec_msg_wipe(&m);
        return type;
}

/* A hung daemon, only where the module's deadline is short: the last
 * timeout= argument is 50 ms and the request is not one with a longer wait
 * (mail, password hashing). */
static bool hang_allowed(const struct input *in, int op) {
        const char *t = NULL;
        for (int i = 0; i < in->argc; i++)
                if (strncmp(in->argv[i], "timeout=", 8) == 0)
                        t = in->argv[i];
        return t && strcmp(t, "timeout=50") == 0 && op != ACCTSEC_OP_CODE_SEND &&
               op != ACCTSEC_OP_PASSWORD_CHECK && op != ACCTSEC_OP_PASSWORD_COMMIT;
}

static void hang(int fd) {
        uint8_t b[256];
        struct pollfd p = { .fd = fd, .events = POLLIN };
        while (poll(&p, 1, 5000) > 0 && recv(fd, b, sizeof(b), 0) > 0)
                ;
}

static void serve(int fd, unsigned index) {
        struct record rec = { .op = read_request(fd), .reply = -1 };
        pthread_mutex_lock(&lock);
        const struct input *in = current;
        pthread_mutex_unlock(&lock);
        if (rec.op >= 0 && in && in->nreplies > 0) {
                rec.reply = (int) (index % (unsigned) in->nreplies);
                const struct reply *r = &in->replies[rec.reply];
                rec.sent = write_full(fd, r->buf, r->send) && r->send == r->len;
                if (r->kind == R_CLOSE && r->hang && hang_allowed(in, rec.op))
                        hang(fd);
        }
        if (index < RECORDS_MAX)
                records[index] = rec;
}

static void *responder(void *arg) {
        (void) arg;
        for (;;) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        die("accept: %s", strerror(errno));
                }
                pthread_mutex_lock(&lock);
                unsigned index = fake_served;
                pthread_mutex_unlock(&lock);
                serve(fd, index);
                close(fd);
                pthread_mutex_lock(&lock);
                fake_served++;
                pthread_cond_broadcast(&cond);
                pthread_mutex_unlock(&lock);
        }
        return NULL;
}

/* Every connection the module made has been served and closed. */
static unsigned wait_idle(void) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 20;
        pthread_mutex_lock(&lock);
        while (fake_served < fake_connects)
                if (pthread_cond_timedwait(&cond, &lock, &until) == ETIMEDOUT)
                        die("the fake daemon still serves a connection the module left open");
        unsigned n = fake_served;
        pthread_mutex_unlock(&lock);
        return n;
}

static void fake_start(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(fake_path, sizeof(fake_path), "%s/fake.sock", dir);
        strcpy(sa.sun_path, fake_path);
        listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(listen_fd, 64) < 0)
                die("fake daemon socket: %s", strerror(errno));
        pthread_t t;
        if (pthread_create(&t, NULL, responder, NULL) != 0)
                die("pthread_create");
        pthread_detach(t);
}

/* ------------------------------------------------------------------------ */
/* The real daemon (FUZZ_PAM_BUILD, root). */

static bool have_real;
static bool carol_locked, bob_disabled; /* set up and checked once */

static void set_nss_env(void) {
        char p[PATH_MAX + 16];
        setenv("LD_PRELOAD", "libnss_wrapper.so", 1);
        snprintf(p, sizeof(p), "%s/passwd", dir);
        setenv("NSS_WRAPPER_PASSWD", p, 1);
        snprintf(p, sizeof(p), "%s/group", dir);
        setenv("NSS_WRAPPER_GROUP", p, 1);
}

/* passwd, group and acctsecd.conf (its path in conf) in dir, for the real daemon. */
static void real_files(char *conf, size_t conf_size) {
        char path[PATH_MAX + 32];

        snprintf(path, sizeof(path), "%s/passwd", dir);
        write_file(path, "root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n"
                         "bob:x:1002:1002::/home/bob:/bin/sh\ncarol:x:1003:1003::/home/carol:/bin/sh\n"
                         "dave:x:1004:1004::/home/dave:/bin/sh\n");
        snprintf(path, sizeof(path), "%s/group", dir);
        write_file(path, "root:x:0:\nalice:x:1001:\nbob:x:1002:\ncarol:x:1003:\ndave:x:1004:\n");
        /* carol: locked by one failure, until an admin unlocks her; dave: must use a second factor. */
        snprintf(conf, conf_size, "%s/acctsecd.conf", dir);
        write_file(conf, "[user carol]\ndeny = 1\nunlock_time = 0\n[user dave]\nmfa = required\n");
}

/* In the child: run acctsecd in the foreground on real_path, READY=1 to notify. */
static void real_exec(const char *daemon, const char *state, const char *conf, const char *notify)
        __attribute__((noreturn));
static void real_exec(const char *daemon, const char *state, const char *conf, const char *notify) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a crash here must not leave it running */
        set_nss_env();
        setenv("NOTIFY_SOCKET", notify, 1);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0 && !getenv("FUZZ_PAM_LOG")) {
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
        }
        execl(daemon, daemon, "--socket", real_path, "--state-dir", state, "--config", conf, "--foreground",
              (char *) NULL);
        _exit(127);
}

/* Wait (30 s at most) for READY=1 on nfd, which it closes; dies if acctsecd (pid) exits or never says so. */
static bool real_wait_ready(int nfd, pid_t pid) {
        char buf[256];

        for (int waited = 0; waited < 300; waited++) {
                struct pollfd p = { .fd = nfd, .events = POLLIN };
                if (poll(&p, 1, 100) > 0) {
                        ssize_t n = recv(nfd, buf, sizeof(buf) - 1, 0);
                        if (n > 0) {
                                buf[n] = '\0';
                                if (strstr(buf, "READY=1")) {
                                        close(nfd);
                                        return true;
                                }
                        }
                }
                if (waitpid(pid, NULL, WNOHANG) == pid) {
                        daemon_pid = 0;
                        break;
                }
        }
        close(nfd);
        die("acctsecd did not start (FUZZ_PAM_LOG=1 shows its output)");
}

static bool real_start(void) {
        char daemon[PATH_MAX + 16], state[PATH_MAX + 16], conf[PATH_MAX + 16];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        snprintf(daemon, sizeof(daemon), "%s/acctsecd", build);
        if (access(daemon, X_OK) != 0) {
                fprintf(stderr, "fuzz_pam: %s not found: real-daemon inputs use the fake daemon\n", daemon);
                return false;
        }
        real_files(conf, sizeof(conf));
        snprintf(state, sizeof(state), "%s/state", dir);
        snprintf(real_path, sizeof(real_path), "%s/real.sock", dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
        int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (nfd < 0 || bind(nfd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                die("notify socket: %s", strerror(errno));
        pid_t pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0)
                real_exec(daemon, state, conf, sa.sun_path);
        daemon_pid = pid;
        return real_wait_ready(nfd, pid);
}

static int run_cli(const char *const *args) {
        char cli[PATH_MAX + 16];
        const char *argv[16];
        int n = 0, status;
        snprintf(cli, sizeof(cli), "%s/acctsec", build);
        argv[n++] = cli;
        argv[n++] = "--socket";
        argv[n++] = real_path;
        while (*args && n < 15)
                argv[n++] = *args++;
        argv[n] = NULL;
        pid_t pid = fork();
        if (pid == 0) {
                set_nss_env();
                int null = open("/dev/null", O_RDWR);
                if (null >= 0) {
                        dup2(null, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                }
                execv(cli, (char *const *) argv);
                _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) != pid)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ------------------------------------------------------------------------ */
/* One transaction through libpam */

static struct {
        const struct input *in;
        int next_answer;
} conv_state;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        (void) data;
        if (n <= 0 || n > PAM_MAX_NUM_MSG)
                return PAM_CONV_ERR;
        struct pam_response *r = calloc((size_t) n, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                const char *m = msg[i]->msg;
                if (!m)
                        die("a message without text");
                for (const unsigned char *p = (const unsigned char *) m; *p; p++)
                        if (*p < 0x20 || *p == 0x7f)
                                die("a control character (0x%02x) in a message to the user: \"%s\"", *p, m);
                if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
                        continue;
                const struct input *in = conv_state.in;
                /* libpam (1.5.2) leaks the first answer when the "Retype ..." prompt of
                 * pam_get_authtok fails: that prompt is answered, never failed. */
                if (conv_state.next_answer >= in->nanswers && in->conv_fails && strncmp(m, "Retype ", 7) != 0) {
                        for (int j = 0; j < i; j++)
                                free(r[j].resp);
                        free(r);
                        return PAM_CONV_ERR;
                }
                r[i].resp = strdup(conv_state.next_answer < in->nanswers ? in->answers[conv_state.next_answer++] : "");
        }
        *resp = r;
        return PAM_SUCCESS;
}

static void no_delay(int retval, unsigned usec, void *appdata) {
        (void) retval;
        (void) usec;
        (void) appdata;
}

/* The argv the module gets: the mode word, the input's arguments, then our
 * socket and config file (last: they win). */
static const struct input *cur_in;
static const char *mod_argv[ARGS_MAX + 4];
static int mod_argc;

static void build_argv(const struct input *in) {
        static const char *const words[E_COUNT] = {
                [E_PREAUTH] = "preauth", [E_AUTHFAIL] = "authfail", [E_AUTHSUCC] = "authsucc",
                [E_MFA] = "mfa",         [E_TOKEN] = "token",       [E_COMMIT] = "commit",
        };
        static char sock_arg[128], conf_arg[PATH_MAX + 16];
        mod_argc = 0;
        if (words[in->entry])
                mod_argv[mod_argc++] = words[in->entry];
        for (int i = 0; i < in->argc; i++)
                mod_argv[mod_argc++] = in->argv[i];
        snprintf(sock_arg, sizeof(sock_arg), "socket=%s", in->fake || !have_real ? fake_path : real_path);
        snprintf(conf_arg, sizeof(conf_arg), "conf=%s", modconf);
        mod_argv[mod_argc++] = sock_arg;
        mod_argv[mod_argc++] = conf_arg;
}

/* ------------------------------------------------------------------------ */
/* The oracle */

/* The first field with this tag in a body; an independent walker (not
 * common/proto.c): false when the body is malformed. */
struct field {
        bool found;
        size_t len;
        const uint8_t *val;
};

static bool body_find(const uint8_t *b, size_t len, uint8_t tag, struct field *ret) {
        size_t nf = 0;
        *ret = (struct field){ 0 };
        for (size_t pos = 0; pos < len; nf++) {
                if (len - pos < 3 || nf >= ACCTSEC_FIELDS_MAX || b[pos] == 0)
                        return false;
                size_t n = (size_t) b[pos + 1] << 8 | b[pos + 2];
                if (n > len - pos - 3)
                        return false;
                if (b[pos] == tag && !ret->found)
                        *ret = (struct field){ true, n, b + pos + 3 };
                pos += 3 + n;
        }
        return true;
}

static bool field_is(const struct field *f, uint64_t want) {
        uint64_t v = 0;
        if (!f->found || f->len != 8)
                return false;
        for (int i = 0; i < 8; i++)
                v = v << 8 | f->val[i];
        return v == want;
}

/* The reply a record got, as an OK frame; false when it was not one. */
static bool reply_ok(const struct record *rec, const uint8_t **ret_body, size_t *ret_len) {
        if (rec->reply < 0 || !rec->sent)
                return false;
        const struct reply *r = &cur_in->replies[rec->reply];
        if (r->len < ACCTSEC_HEADER_SIZE || r->buf[0] != 'A' || r->buf[1] != 'S' ||
            r->buf[2] != ACCTSEC_PROTO_VERSION || r->buf[3] != ACCTSEC_REPLY_OK)
                return false;
        size_t len = (size_t) r->buf[4] << 24 | (size_t) r->buf[5] << 16 | (size_t) r->buf[6] << 8 | r->buf[7];
        if (len > ACCTSEC_BODY_MAX || r->len - ACCTSEC_HEADER_SIZE < len)
                return false;
        *ret_body = r->buf + ACCTSEC_HEADER_SIZE;
        *ret_len = len;
        return true;
}

/* Whether the last reply, cut short or missing, looks to the module like
 * a daemon that went away (a transport error failmode=open may pass). */
static bool reply_went_away(const struct record *rec) {
        if (rec->reply < 0)
                return true;
        const struct reply *r = &cur_in->replies[rec->reply];
        size_t n = r->send;
        if (n < ACCTSEC_HEADER_SIZE)
                return true;
        if (r->buf[0] != 'A' || r->buf[1] != 'S' || r->buf[2] != ACCTSEC_PROTO_VERSION)
                return false;
        size_t len = (size_t) r->buf[4] << 24 | (size_t) r->buf[5] << 16 | (size_t) r->buf[6] << 8 | r->buf[7];
        return len <= ACCTSEC_BODY_MAX && n - ACCTSEC_HEADER_SIZE < len;
}

struct call {
        int which, mode, flags, rc;
        const char *user;
        bool failmode_open, overrides, token_shaped, recover_word;
        unsigned first, last; /* fake daemon connections made during the call: [first, last) */
};

enum { M_NONE, M_PREAUTH, M_AUTHFAIL, M_AUTHSUCC, M_MFA, M_COMMIT, M_TOKEN, M_RECOVER };

/* The fake daemon's last answer says this call may pass. */
static bool justified(const struct call *c) {
        const uint8_t *b;
        size_t len;
        struct field dec, f;
        if (c->last == c->first)
                /* no request: only "not a token, not ours", or not "forgot" */
                return c->which == W_AUTH && c->rc == PAM_IGNORE &&
                       ((c->mode == M_TOKEN && !c->token_shaped) || (c->mode == M_RECOVER && !c->recover_word));
        if (c->last - 1 >= RECORDS_MAX)
                return true; /* not recorded: nothing to say */
        const struct record *rec = &records[c->last - 1];
        if (!reply_ok(rec, &b, &len) || !body_find(b, len, ACCTSEC_TAG_DECISION, &dec) || !field_is(&dec, ACCTSEC_ALLOW))
                return false;
        bool ok = c->rc == PAM_SUCCESS;
        switch (c->which) {
        case W_AUTH:
                if (c->mode == M_PREAUTH || c->mode == M_AUTHSUCC)
                        return ok && rec->op == (c->mode == M_PREAUTH ? ACCTSEC_OP_PREAUTH : ACCTSEC_OP_AUTHSUCC);
                if (c->mode == M_TOKEN)
                        return ok && rec->op == ACCTSEC_OP_TOKEN_AUTH;
                if (c->mode == M_RECOVER) /* only a right recovery code lets the stack go on to mfa */
                        return ok && rec->op == ACCTSEC_OP_RECOVERY_VERIFY;
                if (c->mode == M_MFA && ok)
                        return rec->op == ACCTSEC_OP_MFA_VERIFY;
                if (c->mode == M_MFA)
                        return rec->op == ACCTSEC_OP_MFA_BEGIN && body_find(b, len, ACCTSEC_TAG_MFA, &f) &&
                               field_is(&f, ACCTSEC_MFA_NONE);
                return false;
        case W_ACCOUNT:
                /* a forced change, absent or a well-formed 0 */
                return ok && rec->op == ACCTSEC_OP_ACCOUNT && body_find(b, len, ACCTSEC_TAG_MUST_CHANGE, &f) &&
                       (!f.found || field_is(&f, 0));
        case W_PASSWORD:
                return ok && rec->op == ((c->flags & PAM_PRELIM_CHECK) ? ACCTSEC_OP_PASSWORD_POLICY
                                                                       : ACCTSEC_OP_PASSWORD_CHECK);
        }
        return false;
}

static const char *call_name(const struct call *c) {
        static const char *const modes[] = { "", " preauth", " authfail", " authsucc", " mfa", " commit", " token",
                                             " recover" };
        static const char *const whichs[] = { "authenticate", "acct_mgmt", "chauthtok", "open_session",
                                              "close_session" };
        static char buf[64];
        snprintf(buf, sizeof(buf), "pam_sm_%s%s", whichs[c->which], modes[c->mode]);
        return buf;
}

static void check_call(const struct call *c) {
        if (c->rc != PAM_SUCCESS && c->rc != PAM_IGNORE)
                return; /* a refusal is always allowed */
        const char *rc = c->rc == PAM_SUCCESS ? "PAM_SUCCESS" : "PAM_IGNORE";
        /* Sessions and the commit line succeed whatever the daemon says, by design. */
        if (c->which == W_OPEN || c->which == W_CLOSE || (c->which == W_PASSWORD && c->mode == M_COMMIT))
                return;
        if (c->which == W_AUTH && c->mode == M_AUTHFAIL)
                die("%s returned %s", call_name(c), rc);
        bool went_away = inj.transport;
        if (cur_in->fake && c->last > c->first && c->last - 1 < RECORDS_MAX)
                went_away |= reply_went_away(&records[c->last - 1]);
        bool open_ok = c->failmode_open && went_away && !inj.other;
        if (inj.hard && !open_ok)
                die("%s returned %s after an injected %s failure", call_name(c), rc, inj.what);
        if (cur_in->fake && !justified(c) && !open_ok)
                die("%s returned %s without a well-formed reply that allows it", call_name(c), rc);
        if (cur_in->fake || !have_real || c->overrides || c->failmode_open || !c->user)
                return;
        if (strcmp(c->user, "carol") == 0 && carol_locked &&
            (c->which == W_ACCOUNT || (c->which == W_AUTH && c->mode != M_TOKEN && c->mode != M_RECOVER)))
                die("%s returned %s for carol, who is locked", call_name(c), rc);
        if (strcmp(c->user, "bob") == 0 && bob_disabled && c->which == W_ACCOUNT)
                die("%s returned %s for bob, who is disabled", call_name(c), rc);
        if (strcmp(c->user, "dave") == 0 && c->which == W_AUTH && c->mode == M_MFA)
                die("%s returned %s for dave, who must use a second factor and has none", call_name(c), rc);
}

/* What the module's own parser makes of the arguments (last mode word wins). */
static void describe(struct call *c, int argc, const char **argv) {
        static const char *const words[] = { "", "preauth", "authfail", "authsucc", "mfa", "commit", "token",
                                             "recover" };
        struct acctsec_conf conf;
        acctsec_conf_defaults(&conf);
        c->mode = M_NONE;
        for (int i = 0; i < argc; i++) {
                const char *why;
                bool word = false;
                for (int m = 1; m < (int) MENU(words); m++)
                        if (strcmp(argv[i], words[m]) == 0)
                                c->mode = m, word = true;
                if (word || strncmp(argv[i], "conf=", 5) == 0)
                        continue;
                (void) acctsec_conf_set_arg(&conf, argv[i], ACCTSEC_CONF_ARGV, &why);
                if (acctsec_conf_key_is_policy(argv[i]))
                        c->overrides = true;
        }
        c->failmode_open = conf.failmode == ACCTSEC_FAILMODE_OPEN;
}

int fuzz_pam_dispatch(int which, pam_handle_t *pamh, int flags, int argc, const char **argv) {
        static int (*const fns[])(pam_handle_t *, int, int, const char **) = {
                acctsec_sm_authenticate, acctsec_sm_acct_mgmt, acctsec_sm_chauthtok, acctsec_sm_open_session,
                acctsec_sm_close_session,
        };
        struct call c = { .which = which, .flags = flags };
        (void) argc;
        (void) argv; /* the service file has none: they come from the input */
        describe(&c, mod_argc, mod_argv);
        if (getenv("FUZZ_PAM_LOG")) {
                fprintf(stderr, "fuzz_pam: %s user=%s rhost=%s flags=%#x inject=%d fake=%d argv:", call_name(&c),
                        cur_in->user ? cur_in->user : "(asked)", cur_in->rhost ? cur_in->rhost : "(none)", flags,
                        cur_in->ninject, cur_in->fake);
                for (int i = 0; i < mod_argc; i++)
                        fprintf(stderr, " [%s]", mod_argv[i]);
                fprintf(stderr, "\n");
        }
        c.first = wait_idle();
        inj.hard = inj.transport = inj.other = false;
        inj.what = NULL;
        /* PAM_RHOST only while the module runs: libpam's audit record at the
         * end of the stack would resolve a host name (a DNS timeout). */
        if (cur_in->rhost)
                (void) pam_set_item(pamh, PAM_RHOST, cur_in->rhost);
        call_gen++;
        inj.active = true;
        c.rc = fns[which](pamh, flags, mod_argc, mod_argv);
        inj.active = false;
        (void) pam_set_item(pamh, PAM_RHOST, NULL);
        c.last = wait_idle();
        if (getenv("FUZZ_PAM_LOG"))
                fprintf(stderr, "fuzz_pam: %s: %s, %u fake daemon connections\n", call_name(&c),
                        pam_strerror(pamh, c.rc), c.last - c.first);
        const void *v = NULL;
        if (pam_get_item(pamh, PAM_USER, &v) == PAM_SUCCESS)
                c.user = v;
        v = NULL;
        c.token_shaped = pam_get_item(pamh, PAM_AUTHTOK, &v) == PAM_SUCCESS && v && token_looks_like(v);
        c.recover_word = v && strcmp(v, "forgot") == 0;
        check_call(&c);
        return c.rc;
}

static int transaction(const struct input *in) {
        struct pam_conv pc = { conv, NULL };
        pam_handle_t *pamh = NULL;
        int r = pam_start_confdir("fuzz", in->user, &pc, confdir, &pamh);
        if (r != PAM_SUCCESS)
                die("pam_start_confdir: %d", r);
        (void) pam_set_item(pamh, PAM_FAIL_DELAY, (const void *) no_delay);
        (void) pam_set_item(pamh, PAM_TTY, "pts/7");
        if (in->auth_info[0])
                (void) pam_putenv(pamh, in->auth_info);
        int auth_flags = in->flags & (PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
        switch (in->entry) {
        case E_ACCOUNT:
                r = pam_acct_mgmt(pamh, auth_flags);
                break;
        case E_PASSWORD:
        case E_COMMIT:
                r = pam_chauthtok(pamh, in->flags & (PAM_SILENT | PAM_CHANGE_EXPIRED_AUTHTOK));
                break;
        case E_SESSION_OPEN:
        case E_SESSION_BOTH:
                r = pam_open_session(pamh, in->flags & PAM_SILENT);
                if (in->entry == E_SESSION_BOTH)
                        r = pam_close_session(pamh, in->flags & PAM_SILENT);
                break;
        default:
                r = pam_authenticate(pamh, auth_flags);
        }
        pam_end(pamh, r);
        return r;
}

/* ------------------------------------------------------------------------ */

static int count_fds(void) {
        int n = 0;
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                die("opendir /proc/self/fd: %s", strerror(errno));
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

struct signals {
        sigset_t mask;
        struct sigaction sa[NSIG];
};

static void save_signals(struct signals *s) {
        memset(s, 0, sizeof(*s));
        pthread_sigmask(SIG_SETMASK, NULL, &s->mask);
        for (int i = 1; i < NSIG; i++) /* glibc's own (32, 33) and SIGKILL/SIGSTOP fail: left zero */
                (void) sigaction(i, NULL, &s->sa[i]);
}

static void same_signals(const struct signals *a, const struct signals *b) {
        for (int i = 1; i < NSIG; i++) {
                if (sigismember(&a->mask, i) != sigismember(&b->mask, i))
                        die("signal %d was %sblocked", i, sigismember(&b->mask, i) ? "" : "un");
                if (a->sa[i].sa_handler != b->sa[i].sa_handler || a->sa[i].sa_flags != b->sa[i].sa_flags)
                        die("the disposition of signal %d changed", i);
        }
}

/* Real mode: carol locked by one failure, bob disabled; checked. */
static void real_state(void) {
        static struct input in;
        memset(&in, 0, sizeof(in));
        in.entry = E_AUTHFAIL;
        in.user = "carol";
        cur_in = &in;
        conv_state.in = &in;
        inj.in = &in;
        build_argv(&in);
        (void) transaction(&in);
        in.entry = E_PREAUTH;
        build_argv(&in);
        carol_locked = transaction(&in) == PAM_AUTH_ERR;
        const char *disable[] = { "account", "disable", "--user", "bob", NULL };
        bob_disabled = run_cli(disable) == 0;
        in.entry = E_ACCOUNT;
        in.user = "bob";
        build_argv(&in);
        bob_disabled = bob_disabled && transaction(&in) == PAM_PERM_DENIED;
        if (!carol_locked || !bob_disabled)
                fprintf(stderr, "fuzz_pam: warning: setup failed (carol locked: %d, bob disabled: %d); "
                                "those checks are off\n", carol_locked, bob_disabled);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        char self[PATH_MAX], shim[PATH_MAX + 32], path[PATH_MAX + 32], text[PATH_MAX * 2];
        (void) argc;
        (void) argv;
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        snprintf(dir, sizeof(dir), "%s/acctsec-fuzz-pam.XXXXXX", base);
        if (!mkdtemp(dir))
                die("mkdtemp %s: %s", dir, strerror(errno));
        chmod(dir, 0755);
        atexit(cleanup);
        /* The shim: FUZZ_PAM_SHIM, or fuzz_pam_shim.so next to this program. */
        if (getenv("FUZZ_PAM_SHIM")) {
                snprintf(shim, sizeof(shim), "%s", getenv("FUZZ_PAM_SHIM"));
        } else {
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
                if (n < 0)
                        die("readlink /proc/self/exe: %s", strerror(errno));
                self[n] = '\0';
                *strrchr(self, '/') = '\0';
                snprintf(shim, sizeof(shim), "%s/fuzz_pam_shim.so", self);
        }
        /* Kept loaded: libpam's dlopen/dlclose per transaction then costs nothing. */
        if (!dlopen(shim, RTLD_NOW | RTLD_GLOBAL))
                die("%s", dlerror());
        snprintf(confdir, sizeof(confdir), "%s/pam.d", dir);
        if (mkdir(confdir, 0755) < 0)
                die("mkdir %s: %s", confdir, strerror(errno));
        snprintf(path, sizeof(path), "%s/fuzz", confdir);
        snprintf(text, sizeof(text), "auth required %s\naccount required %s\npassword required %s\nsession required %s\n",
                 shim, shim, shim, shim);
        write_file(path, text);
        snprintf(modconf, sizeof(modconf), "%s/acctsec.conf", dir);
        write_file(modconf, "# the module's config: empty, the arguments come from the input\n");
        /* libc's syslog keeps its socket once opened: open it now, not during a run. */
        openlog("fuzz_pam", LOG_NDELAY | LOG_PID, LOG_AUTHPRIV);
        fake_start();
        if (getenv("FUZZ_PAM_BUILD") && geteuid() == 0) {
                snprintf(build, sizeof(build), "%s", getenv("FUZZ_PAM_BUILD"));
                have_real = real_start();
                if (have_real)
                        real_state();
        } else {
                fprintf(stderr, "fuzz_pam: %s: real-daemon inputs use the fake daemon\n",
                        geteuid() != 0 ? "not root" : "FUZZ_PAM_BUILD not set");
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct input in;
        struct signals before, after;

        memset(&in, 0, sizeof(in));
        parse_input(data, size, &in);
        if (!have_real)
                in.fake = true;
        cur_in = &in;
        build_argv(&in);
        conv_state.in = &in;
        conv_state.next_answer = 0;
        int fds = count_fds();
        save_signals(&before);
        pthread_mutex_lock(&lock);
        current = &in;
        fake_connects = fake_served = 0;
        pthread_mutex_unlock(&lock);
        inj.in = &in;
        inj.calls = 0;

        (void) transaction(&in);

        wait_idle();
        pthread_mutex_lock(&lock);
        current = NULL;
        pthread_mutex_unlock(&lock);
        save_signals(&after);
        same_signals(&before, &after);
        int now = count_fds();
        if (now != fds)
                die("%d fds before the transaction, %d after", fds, now);
        if (have_real && waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
                daemon_pid = 0;
                die("acctsecd died");
        }
        return 0;
}
