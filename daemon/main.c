/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsecd: owns the acctsec database and answers pam_acctsec.so and acctsec. */
#include "config.h"

#include <errno.h>
#include <liboath/oath.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "conf.h"
#include "log.h"
#include "maintenance.h"
#include "secret.h"
#include "server.h"

struct options {
        const char *socket;
        const char *state_dir;
        const char *config;
        bool config_explicit;
        unsigned long long idle_exit;
        bool foreground;
};

static const char *os_error(const char *msg) {
        const char *p = strstr(msg, ": (");
        int err = 0;
        if (!p || sscanf(p, ": (%d)", &err) != 1 || err <= 0)
                return "";
        return strerror(err);
}

/* SQLite's own account of a failed write or open (the file and the OS
 * error), logged once beside the handler's line; the SQL it may quote is
 * our constant text with ? parameters, never a secret. */
static void sqlite_log(void *unused, int code, const char *msg) {
        (void) unused;
        switch (code & 0xff) {
        case SQLITE_FULL:
        case SQLITE_IOERR:
        case SQLITE_READONLY:
        case SQLITE_CANTOPEN:
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
        case SQLITE_PERM:
                /* os_unix.c's messages carry the errno as "(N)" but not its text. */
                log_error("sqlite: %s%s (%s)", msg, os_error(msg), sqlite3_errstr(code));
                break;
        default:
                break;
        }
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: acctsecd [OPTIONS]\n"
                "The acctsec daemon: lockout state, security log and policy for pam_acctsec.so.\n\n"
                "  --socket PATH       listen on PATH instead of a socket from systemd\n"
                "  --state-dir DIR     database directory (default %s)\n"
                "  --config FILE       settings (default %s)\n"
                "  --idle-exit SECONDS exit after this long without connections (0: never)\n"
                "  --foreground        log to stderr even under systemd\n"
                "  --help, --version\n",
                ACCTSEC_DEFAULT_STATE_DIR, ACCTSEC_DEFAULT_CONF);
}

static int parse_args(int argc, char **argv, struct options *o) {
        enum { ARG_SOCKET = 256, ARG_STATE_DIR, ARG_CONFIG, ARG_IDLE_EXIT, ARG_FOREGROUND, ARG_VERSION };
        static const struct option longopts[] = {
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "idle-exit", required_argument, NULL, ARG_IDLE_EXIT },
                { "foreground", no_argument, NULL, ARG_FOREGROUND },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c;

        *o = (struct options){ .state_dir = ACCTSEC_DEFAULT_STATE_DIR, .config = ACCTSEC_DEFAULT_CONF };
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0)
                switch (c) {
                case ARG_SOCKET:
                        o->socket = optarg;
                        break;
                case ARG_STATE_DIR:
                        o->state_dir = optarg;
                        break;
                case ARG_CONFIG:
                        o->config = optarg;
                        o->config_explicit = true;
                        break;
                case ARG_IDLE_EXIT:
                        if (acctsec_parse_duration(optarg, &o->idle_exit) < 0 || o->idle_exit > 86400ULL * 365) {
                                fprintf(stderr, "acctsecd: --idle-exit: expected seconds, got \"%s\"\n", optarg);
                                return 2;
                        }
                        break;
                case ARG_FOREGROUND:
                        o->foreground = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case ARG_VERSION:
                        puts(PACKAGE_STRING);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "acctsecd: unexpected argument \"%s\"\n", argv[optind]);
                return 2;
        }
        return -1;
}

/* A standalone socket.  A stale one is replaced; a live one means another
 * daemon is running, and anything that is not a socket is left alone. */
static int listen_standalone(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                log_error("socket path too long: %s", path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode)) {
                        log_error("%s exists and is not a socket; not touching it", path);
                        return -EEXIST;
                }
                int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                int live = probe >= 0 && connect(probe, (struct sockaddr *) &sa, sizeof(sa)) == 0;
                if (probe >= 0)
                        close(probe);
                if (live) {
                        log_error("another acctsecd is already listening on %s", path);
                        return -EADDRINUSE;
                }
                unlink(path);
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        /* Anyone may connect; every request is authorised by SO_PEERCRED. */
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 || listen(fd, SOMAXCONN) < 0) {
                int r = negative_errno();
                log_error("cannot listen on %s: %s", path, strerror(-r));
                close(fd);
                return r;
        }
        return fd;
}

static int get_listener(const struct options *o) {
        int n = sd_listen_fds(1);
        if (n < 0) {
                log_error("sd_listen_fds: %s", strerror(-n));
                return n;
        }
        if (n > 0 && o->socket) {
                log_error("--socket given but systemd passed %d socket(s); use one or the other", n);
                return -EINVAL;
        }
        if (n > 1 || (n == 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0)) {
                log_error("expected exactly one listening unix stream socket from systemd, got %d fd(s)", n);
                return -EINVAL;
        }
        if (n == 1)
                return SD_LISTEN_FDS_START;
        if (!o->socket) {
                log_error("no socket: start acctsecd through acctsecd.socket, or pass --socket PATH");
                return -EINVAL;
        }
        return listen_standalone(o->socket);
}

int main(int argc, char **argv) {
        struct options o;
        struct daemon d = { 0 };
        struct server srv;
        struct acctsec_conf_error e = { 0 };
        const char *why = "";
        int r, ret = 1;

        r = parse_args(argc, argv, &o);
        if (r >= 0)
                return r;
        log_setup(o.foreground);
        sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, NULL);
        umask(0077);
        r = policy_load(&d.policy, o.config, o.config_explicit, &e);
        if (r < 0) {
                log_error("%s:%u: %s; refusing to start", o.config, e.line, e.msg);
                return 1;
        }
        r = store_open(&d.store, o.state_dir, &why);
        if (r < 0) {
                log_error("database in %s: %s (%s); refusing to start", o.state_dir, why, strerror(-r));
                goto out;
        }
        int64_t sealed = 0;
        r = mfa_sealed_count(&d.store, &sealed);
        if (r == 0)
                r = keyfile_load(o.state_dir, sealed == 0, d.key, &why);
        else
                why = "cannot count the sealed secrets";
        if (r < 0) {
                log_error("key file in %s: %s (%s); refusing to start", o.state_dir, why, strerror(-r));
                goto out;
        }
        d.mfa = (struct mfa){ .store = &d.store, .key = d.key };
        if (oath_init() != OATH_OK) {
                log_error("liboath initialisation failed; refusing to start");
                goto out;
        }
        int fd = get_listener(&o);
        if (fd < 0)
                goto out;
        r = server_init(&srv, &d, fd, o.idle_exit * 1000000ULL);
        if (r < 0) {
                log_error("event loop setup failed: %s", strerror(-r));
                goto out;
        }
        r = maintenance_start(&d);
        if (r < 0) {
                log_error("maintenance timer setup failed: %s", strerror(-r));
                server_done(&srv);
                goto out;
        }
        log_info("%s ready (database %s/%s, schema %d, %s)", PACKAGE_STRING, o.state_dir, STORE_DB_NAME,
                 store_schema_version(),
                 d.store.quick_check_skipped ? "unchanged since a clean stop: quick_check skipped"
                                             : "quick_check passed");
        sd_notify(0, "READY=1\nSTATUS=Answering on the acctsec socket");
        r = server_run(&srv);
        ret = r < 0 ? 1 : 0;
        maintenance_stop(&d);
        server_done(&srv);
        close(fd);
        if (o.socket)
                unlink(o.socket);
out:
        acctsec_wipe(d.key, sizeof(d.key));
        store_close(&d.store);
        policy_free(&d.policy);
        return ret;
}
