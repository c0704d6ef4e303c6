/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_login: sequential full PAM transactions through the real libpam.
 *
 * For every service named with --service, run --warmup then --logins
 * transactions, each pam_start_confdir + pam_authenticate + pam_acct_mgmt +
 * pam_end, cycling over --users users named PREFIX0 .. PREFIX(N-1), and print
 * one table row per service: p50 / p99 / max latency and logins/s.  With
 * --rounds R the services take turns: R rounds, each running every service's
 * next LOGINS/R logins (the warm-up in the first), so that a machine whose
 * speed drifts during the run (another process, the disk's cache, the CPU's
 * clock) weighs on every row alike.
 *
 * The conversation answers the password prompt with --password and, when
 * --totp-secrets is given, a code prompt ("Verification code", "One-time
 * password") with a valid current TOTP (RFC 6238, HMAC-SHA1, 30 s, 6 digits).
 * A --totp-secrets file serves the services named after it, up to the next
 * one (and those named before the first one): stacks whose modules keep
 * their own enrolments (a SQLite and a PostgreSQL acctsecd) run in one table.
 * Every TOTP stack refuses a code that is not newer than the last one a user
 * used (google-authenticator DISALLOW_REUSE, pam_oath's last-OTP check,
 * acctsecd's last_step), so each user is given strictly increasing time steps
 * inside +-TOTP_WINDOW steps of now; run.sh configures all three with the same
 * window, and confirms acctsec enrolments with step now-TOTP_WINDOW so that
 * the first step given here (now-TOTP_WINDOW+1 or later) is already newer.
 *
 * Any result other than PAM_SUCCESS is a failed login: it is printed, the
 * row is marked, and the exit status is 1.  Exit 2 is a usage or setup error.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <security/pam_appl.h>

#define SERVICES_MAX 16
#define FAIL_SHOW 5       /* failed logins printed per service */
#define TOTP_STEP 30      /* seconds */
#define TOTP_DIGITS 1000000u

/* ---- SHA-1 and HMAC-SHA1 (FIPS 180-4, RFC 2104), just for TOTP ---------- */

struct sha1 {
        uint32_t h[5];
        uint64_t len;
        uint8_t buf[64];
        size_t n;
};

static uint32_t rol(uint32_t x, unsigned k) {
        return (x << k) | (x >> (32 - k));
}

static void sha1_block(struct sha1 *s, const uint8_t *p) {
        uint32_t w[80], a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];

        for (int i = 0; i < 16; i++)
                w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 | (uint32_t) p[4 * i + 2] << 8 |
                       p[4 * i + 3];
        for (int i = 16; i < 80; i++)
                w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        for (int i = 0; i < 80; i++) {
                uint32_t f, k;
                if (i < 20)
                        f = (b & c) | (~b & d), k = 0x5a827999;
                else if (i < 40)
                        f = b ^ c ^ d, k = 0x6ed9eba1;
                else if (i < 60)
                        f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
                else
                        f = b ^ c ^ d, k = 0xca62c1d6;
                uint32_t t = rol(a, 5) + f + e + k + w[i];
                e = d, d = c, c = rol(b, 30), b = a, a = t;
        }
        s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
}

static void sha1_init(struct sha1 *s) {
        *s = (struct sha1){ .h = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 } };
}

static void sha1_update(struct sha1 *s, const uint8_t *p, size_t n) {
        s->len += n;
        while (n > 0) {
                size_t k = 64 - s->n < n ? 64 - s->n : n;
                memcpy(s->buf + s->n, p, k);
                s->n += k, p += k, n -= k;
                if (s->n == 64) {
                        sha1_block(s, s->buf);
                        s->n = 0;
                }
        }
}

static void sha1_final(struct sha1 *s, uint8_t out[20]) {
        uint64_t bits = s->len * 8;
        uint8_t pad = 0x80, zero = 0, lenbuf[8];

        sha1_update(s, &pad, 1);
        while (s->n != 56)
                sha1_update(s, &zero, 1);
        for (int i = 0; i < 8; i++)
                lenbuf[i] = (uint8_t) (bits >> (56 - 8 * i));
        sha1_update(s, lenbuf, 8);
        for (int i = 0; i < 5; i++)
                for (int j = 0; j < 4; j++)
                        out[4 * i + j] = (uint8_t) (s->h[i] >> (24 - 8 * j));
}

static void hmac_sha1(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n, uint8_t out[20]) {
        uint8_t k[64] = { 0 }, ipad[64], opad[64], inner[20];
        struct sha1 s;

        if (keylen > 64) {
                sha1_init(&s);
                sha1_update(&s, key, keylen);
                sha1_final(&s, k);
        } else
                memcpy(k, key, keylen);
        for (int i = 0; i < 64; i++) {
                ipad[i] = k[i] ^ 0x36;
                opad[i] = k[i] ^ 0x5c;
        }
        sha1_init(&s);
        sha1_update(&s, ipad, 64);
        sha1_update(&s, msg, n);
        sha1_final(&s, inner);
        sha1_init(&s);
        sha1_update(&s, opad, 64);
        sha1_update(&s, inner, 20);
        sha1_final(&s, out);
}

/* RFC 4226 dynamic truncation of HMAC-SHA1(key, step), 6 digits. */
static unsigned totp_code(const uint8_t *key, size_t keylen, int64_t step) {
        uint8_t msg[8], mac[20];
        for (int i = 0; i < 8; i++)
                msg[i] = (uint8_t) ((uint64_t) step >> (56 - 8 * i));
        hmac_sha1(key, keylen, msg, sizeof(msg), mac);
        unsigned off = mac[19] & 0xf;
        uint32_t v = (uint32_t) (mac[off] & 0x7f) << 24 | (uint32_t) mac[off + 1] << 16 |
                     (uint32_t) mac[off + 2] << 8 | mac[off + 3];
        return v % TOTP_DIGITS;
}

/* ---- options ------------------------------------------------------------- */

struct options {
        const char *confdir;
        const char *services[SERVICES_MAX];
        const char *secrets[SERVICES_MAX]; /* each service's --totp-secrets, or NULL */
        size_t nservices;
        const char *prefix;
        unsigned long users, logins, warmup, rounds;
        const char *password;
        const char *totp_secrets;
        long totp_window;
};

struct totp_user {
        uint8_t key[64];
        size_t keylen;
        int64_t last_step; /* last step this user logged in with, per service */
        unsigned last_code;
};

/* What the conversation answers for the login under way. */
struct conv_state {
        const char *password;
        const char *user;
        char otp[8];     /* "" when this login has no code to give */
        bool otp_used;
        unsigned prompts, infos;
};

struct stats {
        double *ms;
        size_t n;
        unsigned long failures; /* among the measured logins */
        unsigned long warmup_failures;
        unsigned long shown; /* failures printed */
};

static void usage(FILE *f) {
        fprintf(f,
                "Usage: bench_login --confdir DIR --service NAME [--service NAME ...] [OPTIONS]\n"
                "Sequential full PAM transactions (pam_start_confdir, pam_authenticate,\n"
                "pam_acct_mgmt, pam_end) through libpam, one table row per service.\n\n"
                "  --confdir DIR          directory holding the PAM service files\n"
                "  --service NAME         a service file in DIR; repeat for more rows\n"
                "  --users-prefix PREFIX  user names are PREFIX0 .. PREFIX<N-1> (default bench)\n"
                "  --users N              users to cycle over (default 2000)\n"
                "  --logins N             measured logins per service (default 20000)\n"
                "  --warmup N             unmeasured logins per service first (default 200)\n"
                "  --rounds R             the services take turns, LOGINS/R logins each (default 1)\n"
                "  --password WORD        answer to the password prompt (default bench-password)\n"
                "  --totp-secrets FILE    lines \"USER HEXKEY\": answer code prompts with a TOTP\n"
                "                         (for the services after it; repeat for other keys)\n"
                "  --totp-window N        steps either side of now the modules accept (default 8)\n"
                "  --help\n");
}

static int parse_count(const char *opt, const char *s, unsigned long min, unsigned long *ret) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v < min || v > 100000000UL) {
                fprintf(stderr, "bench_login: %s: expected a whole number >= %lu, got \"%s\"\n", opt, min, s);
                return -1;
        }
        *ret = v;
        return 0;
}

enum {
        ARG_CONFDIR = 256, ARG_SERVICE, ARG_PREFIX, ARG_USERS, ARG_LOGINS, ARG_WARMUP, ARG_PASSWORD,
        ARG_TOTP_SECRETS, ARG_TOTP_WINDOW, ARG_ROUNDS
};

/* One option from getopt_long: -1 to go on, else the exit status. */
static int take_option(int c, struct options *o) {
        unsigned long w;

        switch (c) {
        case ARG_CONFDIR:
                o->confdir = optarg;
                break;
        case ARG_SERVICE:
                if (o->nservices == SERVICES_MAX) {
                        fprintf(stderr, "bench_login: at most %d services\n", SERVICES_MAX);
                        return 2;
                }
                o->secrets[o->nservices] = o->totp_secrets;
                o->services[o->nservices++] = optarg;
                break;
        case ARG_PREFIX:
                o->prefix = optarg;
                break;
        case ARG_USERS:
                if (parse_count("--users", optarg, 1, &o->users) < 0)
                        return 2;
                break;
        case ARG_LOGINS:
                if (parse_count("--logins", optarg, 1, &o->logins) < 0)
                        return 2;
                break;
        case ARG_WARMUP:
                if (parse_count("--warmup", optarg, 0, &o->warmup) < 0)
                        return 2;
                break;
        case ARG_ROUNDS:
                if (parse_count("--rounds", optarg, 1, &o->rounds) < 0)
                        return 2;
                break;
        case ARG_PASSWORD:
                o->password = optarg;
                break;
        case ARG_TOTP_SECRETS:
                for (size_t i = 0; !o->totp_secrets && i < o->nservices; i++)
                        o->secrets[i] = optarg; /* the services named before the first one */
                o->totp_secrets = optarg;
                break;
        case ARG_TOTP_WINDOW:
                if (parse_count("--totp-window", optarg, 1, &w) < 0 || w > 50)
                        return 2;
                o->totp_window = (long) w;
                break;
        case 'h':
                usage(stdout);
                return 0;
        default:
                usage(stderr);
                return 2;
        }
        return -1;
}

static int parse_args(int argc, char **argv, struct options *o) {
        static const struct option longopts[] = {
                { "confdir", required_argument, NULL, ARG_CONFDIR },
                { "service", required_argument, NULL, ARG_SERVICE },
                { "users-prefix", required_argument, NULL, ARG_PREFIX },
                { "users", required_argument, NULL, ARG_USERS },
                { "logins", required_argument, NULL, ARG_LOGINS },
                { "warmup", required_argument, NULL, ARG_WARMUP },
                { "rounds", required_argument, NULL, ARG_ROUNDS },
                { "password", required_argument, NULL, ARG_PASSWORD },
                { "totp-secrets", required_argument, NULL, ARG_TOTP_SECRETS },
                { "totp-window", required_argument, NULL, ARG_TOTP_WINDOW },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c, r;

        *o = (struct options){ .prefix = "bench", .users = 2000, .logins = 20000, .warmup = 200, .rounds = 1,
                               .password = "bench-password", .totp_window = 8 };
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0)
                if ((r = take_option(c, o)) >= 0)
                        return r;
        if (optind < argc || !o->confdir || o->nservices == 0) {
                usage(stderr);
                return 2;
        }
        return -1;
}

/* ---- TOTP secrets -------------------------------------------------------- */

static int hexval(int ch) {
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        ch = tolower(ch);
        return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* The index of NAME among PREFIX0 .. PREFIX<users-1>, or -1. */
static long user_index(const struct options *o, const char *name) {
        size_t n = strlen(o->prefix);
        char *end;

        if (strncmp(name, o->prefix, n) != 0 || !isdigit((unsigned char) name[n]))
                return -1;
        errno = 0;
        unsigned long i = strtoul(name + n, &end, 10);
        if (errno || *end || i >= o->users)
                return -1;
        return (long) i;
}

static int load_secrets(const struct options *o, const char *path, struct totp_user *tu) {
        FILE *f = fopen(path, "re");
        char name[256], hex[256];
        unsigned long found = 0;

        if (!f) {
                fprintf(stderr, "bench_login: %s: %s\n", path, strerror(errno));
                return -1;
        }
        while (fscanf(f, "%255s %255s", name, hex) == 2) {
                long i = user_index(o, name);
                size_t len = strlen(hex);
                if (i < 0)
                        continue;
                if (len % 2 || len / 2 > sizeof(tu[i].key) || len == 0) {
                        fprintf(stderr, "bench_login: %s: bad key for %s\n", path, name);
                        fclose(f);
                        return -1;
                }
                for (size_t j = 0; j < len / 2; j++) {
                        int hi = hexval(hex[2 * j]), lo = hexval(hex[2 * j + 1]);
                        if (hi < 0 || lo < 0) {
                                fprintf(stderr, "bench_login: %s: bad key for %s\n", path, name);
                                fclose(f);
                                return -1;
                        }
                        tu[i].key[j] = (uint8_t) (hi << 4 | lo);
                }
                if (tu[i].keylen == 0)
                        found++;
                tu[i].keylen = len / 2;
        }
        fclose(f);
        if (found != o->users) {
                fprintf(stderr, "bench_login: %s: keys for %lu of %lu users\n", path, found, o->users);
                return -1;
        }
        return 0;
}

/* A code the modules can only read one way: no other step within reach of
 * the window (one step of slack for the clock moving on) has the same code. */
static bool code_is_unambiguous(const struct totp_user *u, int64_t step, unsigned code, int64_t now, long w) {
        for (int64_t s = now - w - 1; s <= now + w + 1; s++)
                if (s != step && totp_code(u->key, u->keylen, s) == code)
                        return false;
        return true;
}

/* Pick the next code for user u: a step newer than the last one it used,
 * as old as the window allows so that later logins have room.  pam_oath
 * locates the last code by searching the window for it, so the new step
 * must also be newer than any step that shares the last code. */
static int next_code(struct totp_user *u, long w, int64_t *ret_step, unsigned *ret_code) {
        int64_t now = (int64_t) time(NULL) / TOTP_STEP;
        int64_t step = now - w + 1; /* +1: the clock may reach the next step before the module looks */

        if (u->last_step != INT64_MIN) {
                int64_t floor = u->last_step;
                for (int64_t s = now - w - 1; s <= now + w + 1; s++)
                        if (s > floor && totp_code(u->key, u->keylen, s) == u->last_code)
                                floor = s;
                if (floor + 1 > step)
                        step = floor + 1;
        }
        for (; step <= now + w - 1; step++) {
                unsigned code = totp_code(u->key, u->keylen, step);
                if ((u->last_step == INT64_MIN || code != u->last_code) &&
                    code_is_unambiguous(u, step, code, now, w)) {
                        *ret_step = step;
                        *ret_code = code;
                        return 0;
                }
        }
        return -1;
}

/* ---- PAM ----------------------------------------------------------------- */

static bool is_code_prompt(const char *msg) {
        return msg && (strcasestr(msg, "verification code") || strcasestr(msg, "one-time password"));
}

static int conversation(int n, const struct pam_message **msg, struct pam_response **ret, void *data) {
        struct conv_state *cs = data;
        struct pam_response *r;

        if (n <= 0 || n > PAM_MAX_NUM_MSG)
                return PAM_CONV_ERR;
        r = calloc((size_t) n, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                const char *answer = NULL;
                switch (msg[i]->msg_style) {
                case PAM_PROMPT_ECHO_OFF:
                case PAM_PROMPT_ECHO_ON:
                        cs->prompts++;
                        if (is_code_prompt(msg[i]->msg)) {
                                if (!cs->otp[0])
                                        goto fail;
                                answer = cs->otp;
                                cs->otp_used = true;
                        } else if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
                                answer = cs->password;
                        else
                                answer = cs->user;
                        r[i].resp = strdup(answer);
                        if (!r[i].resp)
                                goto fail;
                        break;
                case PAM_ERROR_MSG:
                case PAM_TEXT_INFO:
                        cs->infos++;
                        break;
                default:
                        goto fail;
                }
        }
        *ret = r;
        return PAM_SUCCESS;
fail:
        for (int i = 0; i < n; i++)
                free(r[i].resp);
        free(r);
        return PAM_CONV_ERR;
}

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* One login: PAM_SUCCESS or the first failing step's code, in *ret_step. */
static int one_login(const struct options *o, const char *service, struct conv_state *cs, const char **ret_step) {
        struct pam_conv conv = { conversation, cs };
        pam_handle_t *pamh = NULL;

        *ret_step = "pam_start_confdir";
        int r = pam_start_confdir(service, cs->user, &conv, o->confdir, &pamh);
        if (r != PAM_SUCCESS)
                return r;
        *ret_step = "pam_authenticate";
        r = pam_authenticate(pamh, 0);
        if (r == PAM_SUCCESS) {
                *ret_step = "pam_acct_mgmt";
                r = pam_acct_mgmt(pamh, 0);
        }
        int e = pam_end(pamh, r);
        if (r == PAM_SUCCESS && e != PAM_SUCCESS) {
                *ret_step = "pam_end";
                r = e;
        }
        return r;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *v, size_t n, unsigned p) {
        size_t rank = (n * p + 99) / 100;
        return v[rank > 0 ? rank - 1 : 0];
}

/* Logins from..to-1 of the service's warmup + logins (the first o->warmup
 * unmeasured), added to st. */
static int run_service(const struct options *o, const char *service, struct totp_user *tu, struct stats *st,
                       unsigned long from, unsigned long to) {
        char user[256];
        unsigned long shown = st->shown;

        for (unsigned long i = from; i < to; i++) {
                unsigned long ui = i % o->users;
                struct conv_state cs = { .password = o->password, .user = user };
                struct totp_user *u = tu ? &tu[ui] : NULL;
                int64_t step = 0;
                unsigned code = 0;
                const char *where;

                snprintf(user, sizeof(user), "%s%lu", o->prefix, ui);
                if (u) {
                        if (next_code(u, o->totp_window, &step, &code) < 0) {
                                fprintf(stderr,
                                        "bench_login: %s: no unused TOTP step left for %s within +-%ld steps; "
                                        "use more users or fewer logins\n",
                                        service, user, o->totp_window);
                                return -1;
                        }
                        snprintf(cs.otp, sizeof(cs.otp), "%06u", code);
                }
                double t0 = now_ms();
                int r = one_login(o, service, &cs, &where);
                double t1 = now_ms();
                if (cs.otp_used) {
                        u->last_step = step;
                        u->last_code = code;
                }
                if (r != PAM_SUCCESS) {
                        if (i >= o->warmup)
                                st->failures++;
                        else
                                st->warmup_failures++;
                        if (shown++ < FAIL_SHOW)
                                fprintf(stderr, "FAIL %s: login %lu as %s: %s returned %d (%s)\n", service, i, user,
                                        where, r, pam_strerror(NULL, r));
                }
                if (i >= o->warmup)
                        st->ms[st->n++] = t1 - t0;
        }
        st->shown = shown;
        return 0;
}

static void print_row(const char *service, const struct stats *st) {
        double sum = 0;
        qsort(st->ms, st->n, sizeof(double), cmp_double);
        for (size_t i = 0; i < st->n; i++)
                sum += st->ms[i];
        printf("%-32s %8zu %8zu %9.3f %9.3f %9.3f %10.0f%s\n", service, st->n, st->n - (size_t) st->failures,
               percentile(st->ms, st->n, 50), percentile(st->ms, st->n, 99), st->ms[st->n - 1],
               sum > 0 ? (double) st->n * 1e3 / sum : 0.0, st->failures || st->warmup_failures ? "  FAILED" : "");
        fflush(stdout);
}

/* The keys of service i's --totp-secrets in *tu (read again only when it
 * names another file than the last service's), NULL for a service without
 * codes; -1 when they cannot be read. */
static int secrets_for(const struct options *o, size_t i, struct totp_user **tu, const char **loaded,
                       struct totp_user **ret) {
        *ret = NULL;
        if (!o->secrets[i])
                return 0;
        if (!*tu && !(*tu = calloc(o->users, sizeof(**tu))))
                return -1;
        if (!*loaded || strcmp(*loaded, o->secrets[i]) != 0) {
                memset(*tu, 0, o->users * sizeof(**tu));
                *loaded = NULL;
                if (load_secrets(o, o->secrets[i], *tu) < 0)
                        return -1;
                *loaded = o->secrets[i];
        }
        *ret = *tu;
        return 0;
}

/* One service's run: its keys (a copy: each stack keeps its own replay
 * state), its numbers, whether it broke. */
struct service_run {
        struct totp_user *tu;
        struct stats st;
        bool broken;
};

static int setup_runs(const struct options *o, struct service_run *runs) {
        struct totp_user *tu = NULL, *keys;
        const char *loaded = NULL;
        int ret = 0;
        for (size_t i = 0; i < o->nservices; i++) {
                runs[i].st.ms = calloc(o->logins, sizeof(double));
                if (!runs[i].st.ms || secrets_for(o, i, &tu, &loaded, &keys) < 0) {
                        runs[i].broken = true;
                        ret = 2;
                        continue;
                }
                if (keys) {
                        runs[i].tu = malloc(o->users * sizeof(*keys));
                        if (!runs[i].tu) {
                                runs[i].broken = true;
                                ret = 2;
                                continue;
                        }
                        memcpy(runs[i].tu, keys, o->users * sizeof(*keys));
                        for (unsigned long u = 0; u < o->users; u++)
                                runs[i].tu[u].last_step = INT64_MIN;
                }
        }
        free(tu);
        return ret;
}

int main(int argc, char **argv) {
        struct options o;
        struct service_run runs[SERVICES_MAX] = { 0 };
        int ret = 0;

        int r = parse_args(argc, argv, &o);
        if (r >= 0)
                return r;
        if (o.rounds > o.logins)
                o.rounds = o.logins;
        printf("# %lu logins per stack (after %lu warm-up) in %lu alternating round%s, cycling over %lu users; "
               "latency of one full transaction in ms\n",
               o.logins, o.warmup, o.rounds, o.rounds == 1 ? "" : "s", o.users);
        printf("%-32s %8s %8s %9s %9s %9s %10s\n", "stack", "logins", "ok", "p50", "p99", "max", "logins/s");
        fflush(stdout);
        ret = setup_runs(&o, runs);
        for (unsigned long round = 0; round < o.rounds; round++) {
                unsigned long from = round == 0 ? 0 : o.warmup + o.logins * round / o.rounds;
                unsigned long to = o.warmup + o.logins * (round + 1) / o.rounds;
                for (size_t i = 0; i < o.nservices; i++)
                        if (!runs[i].broken && run_service(&o, o.services[i], runs[i].tu, &runs[i].st, from, to) < 0) {
                                runs[i].broken = true;
                                ret = 2;
                        }
        }
        for (size_t i = 0; i < o.nservices; i++) {
                struct stats *st = &runs[i].st;
                if (st->shown > FAIL_SHOW)
                        fprintf(stderr, "FAIL %s: ... %lu failed logins in all\n", o.services[i], st->shown);
                if (!runs[i].broken)
                        print_row(o.services[i], st);
                if (st->failures || st->warmup_failures)
                        ret = ret ? ret : 1;
                free(st->ms);
                free(runs[i].tu);
        }
        return ret;
}
