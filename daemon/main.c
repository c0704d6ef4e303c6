/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsecd: owns the acctsec database and answers pam_acctsec.so and acctsec. */
#include "config.h"

#include <errno.h>
#include <liboath/oath.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "client.h"
#include "conf.h"
#include "import.h"
#include "location.h"
#include "log.h"
#include "maintenance.h"
#include "secret.h"
#include "server.h"
#include "txn.h"

#define RELOAD_TIMEOUT_MS 10000

struct options {
        const char *socket;
        const char *private_socket; /* NULL: beside socket */
        const char *state_dir;
        const char *config;
        bool config_explicit;
        unsigned long long idle_exit;
        bool foreground;
        bool reload;
        struct import_options import; /* --import-from: state_dir set */
};


static void usage(FILE *f) {
        fprintf(f,
                "Usage: acctsecd [OPTIONS]\n"
                "The acctsec daemon: lockout state, security log and policy for pam_acctsec.so.\n\n"
                "  --socket PATH       listen on PATH instead of a socket from systemd\n"
                "  --private-socket PATH\n"
                "                      root's socket with --socket (default: private/ beside PATH)\n"
                "  --state-dir DIR     database directory (default %s)\n"
                "  --config FILE       settings (default %s)\n"
                "  --idle-exit SECONDS exit after this long without connections (0: never)\n"
                "  --foreground        log to stderr even under systemd\n"
                "  --reload            ask the running daemon to re-read its settings, and say\n"
                "                      whether they were taken (systemctl reload runs this)\n"
                "  --import-from DIR [--dry-run] [--json]\n"
                "                      merge the SQLite state in DIR into the fleet's PostgreSQL\n"
                "                      database named by --config (store = postgresql), and report\n"
                "  --help, --version\n",
                ACCTSEC_DEFAULT_STATE_DIR, ACCTSEC_DEFAULT_CONF);
}

enum {
        ARG_SOCKET = 256, ARG_PRIVATE_SOCKET, ARG_STATE_DIR, ARG_CONFIG, ARG_IDLE_EXIT, ARG_FOREGROUND, ARG_RELOAD,
        ARG_VERSION, ARG_IMPORT_FROM, ARG_DRY_RUN, ARG_JSON
};

/* One option from getopt_long: -1 to go on, else the exit status. */
static int take_option(int c, struct options *o) {
        switch (c) {
        case ARG_SOCKET:
                o->socket = optarg;
                break;
        case ARG_PRIVATE_SOCKET:
                if (optarg[0] != '/') {
                        fprintf(stderr, "acctsecd: --private-socket: expected an absolute path\n");
                        return 2;
                }
                o->private_socket = optarg;
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
        case ARG_RELOAD:
                o->reload = true;
                break;
        case ARG_IMPORT_FROM:
                o->import.state_dir = optarg;
                break;
        case ARG_DRY_RUN:
                o->import.dry_run = true;
                break;
        case ARG_JSON:
                o->import.json = true;
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
        return -1;
}

static int parse_args(int argc, char **argv, struct options *o) {
        static const struct option longopts[] = {
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "private-socket", required_argument, NULL, ARG_PRIVATE_SOCKET },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "idle-exit", required_argument, NULL, ARG_IDLE_EXIT },
                { "foreground", no_argument, NULL, ARG_FOREGROUND },
                { "reload", no_argument, NULL, ARG_RELOAD },
                { "import-from", required_argument, NULL, ARG_IMPORT_FROM },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, r;

        *o = (struct options){ .state_dir = ACCTSEC_DEFAULT_STATE_DIR, .config = ACCTSEC_DEFAULT_CONF };
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0)
                if ((r = take_option(c, o)) >= 0)
                        return r;
        if (optind < argc) {
                fprintf(stderr, "acctsecd: unexpected argument \"%s\"\n", argv[optind]);
                return 2;
        }
        if (o->private_socket && !o->socket) {
                fprintf(stderr, "acctsecd: --private-socket needs --socket\n");
                return 2;
        }
        if ((o->import.dry_run || o->import.json) && !o->import.state_dir) {
                fprintf(stderr, "acctsecd: --dry-run and --json go with --import-from\n");
                return 2;
        }
        o->import.config = o->config;
        o->import.config_explicit = o->config_explicit;
        return -1;
}

/* --reload: a client of the running daemon (root's socket, as root): 0 when
 * it took the file, 1 with its reason when not. */
static int reload(const struct options *o) {
        const char *socket = o->socket ? o->socket : ACCTSEC_DEFAULT_SOCKET;
        char path[ACCTSEC_SOCKET_PATH_MAX];
        struct acctsec_frame req;
        struct acctsec_msg reply;

        acctsec_frame_init(&req, ACCTSEC_OP_RELOAD);
        int r = acctsec_call_as_caller(socket, o->private_socket ? o->private_socket : "", RELOAD_TIMEOUT_MS, &req,
                                       &reply, path);
        if (r < 0) {
                fprintf(stderr, "acctsecd --reload: cannot reach acctsecd at %s: %s\n", path, strerror(-r));
                return 1;
        }
        int e = acctsec_reply_errno(&reply);
        const char *m = acctsec_msg_str(&reply, ACCTSEC_TAG_MESSAGE);
        if (e != 0)
                fprintf(stderr, "acctsecd --reload: %s; the running settings are kept\n", m ? m : strerror(e));
        else
                printf("acctsecd reloaded %s\n", m ? m : "its settings");
        return e != 0;
}

/* A standalone socket.  A stale one is replaced; a live one means another
 * daemon is running, and anything that is not a socket is left alone. */
static int listen_standalone(const char *path, mode_t mode) {
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
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0) {
                int r = negative_errno();
                log_error("cannot listen on %s: %s", path, strerror(-r));
                close(fd);
                return r;
        }
        return fd;
}

/* The private socket's directory: ours, mode 0700, never through a symlink. */
static int private_dir(const char *path) {
        char dir[ACCTSEC_SOCKET_PATH_MAX];
        struct stat st;
        const char *slash = strrchr(path, '/');

        if (!slash || slash == path || (size_t) (slash - path) >= sizeof(dir))
                return -EINVAL;
        memcpy(dir, path, (size_t) (slash - path));
        dir[slash - path] = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        if (lstat(dir, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
                log_error("%s is not a directory of ours; not putting the private socket there", dir);
                return -EPERM;
        }
        return chmod(dir, 0700) < 0 ? negative_errno() : 0;
}

struct listeners {
        int shared;
        int private; /* -1: none */
        char private_path[ACCTSEC_SOCKET_PATH_MAX]; /* standalone: to unlink at exit */
};

/* Anyone may connect to the shared socket (every request is authorised by
 * SO_PEERCRED); only root to the private one, where root's logins have
 * a backlog and connection slots that no local user can fill. */
static int listen_both(const struct options *o, struct listeners *l) {
        int r = acctsec_private_socket_path(o->socket, o->private_socket, l->private_path);
        if (r < 0) {
                log_error("private socket path for %s too long", o->socket);
                return r;
        }
        if ((r = private_dir(l->private_path)) < 0) {
                log_error("cannot make the directory of %s: %s", l->private_path, strerror(-r));
                return r;
        }
        l->shared = listen_standalone(o->socket, 0666);
        if (l->shared < 0)
                return l->shared;
        l->private = listen_standalone(l->private_path, 0600);
        if (l->private < 0) {
                close(l->shared);
                unlink(o->socket);
                return l->private;
        }
        return 0;
}

/* From systemd: acctsecd.socket's fd, and acctsecd-private.socket's, named
 * "private" (FileDescriptorName=).  An older unit set passes only one. */
static int listen_systemd(int n, char **names, struct listeners *l) {
        l->shared = l->private = -1;
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                bool priv = names && names[i] && strcmp(names[i], "private") == 0;
                int *slot = priv ? &l->private : &l->shared;
                if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0 || *slot >= 0) {
                        log_error("expected one listening unix stream socket, and one named \"private\", from "
                                  "systemd; got %d fd(s)", n);
                        return -EINVAL;
                }
                *slot = fd;
        }
        if (l->shared < 0) {
                log_error("systemd passed only the private socket; acctsecd.socket is missing");
                return -EINVAL;
        }
        if (l->private < 0)
                log_warning("no private socket from systemd (acctsecd-private.socket): root's logins share "
                            "the socket with local users, who can delay them");
        return 0;
}

static int get_listeners(const struct options *o, struct listeners *l) {
        char **names = NULL;
        *l = (struct listeners){ .shared = -1, .private = -1 };
        int n = sd_listen_fds_with_names(1, &names);
        if (n < 0) {
                log_error("sd_listen_fds: %s", strerror(-n));
                return n;
        }
        int r;
        if (n > 0 && o->socket) {
                log_error("--socket given but systemd passed %d socket(s); use one or the other", n);
                r = -EINVAL;
        } else if (n > 2) {
                log_error("expected at most two sockets from systemd, got %d fd(s)", n);
                r = -EINVAL;
        } else if (n > 0)
                r = listen_systemd(n, names, l);
        else if (!o->socket) {
                log_error("no socket: start acctsecd through acctsecd.socket, or pass --socket PATH");
                r = -EINVAL;
        } else
                r = listen_both(o, l);
        for (int i = 0; names && i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

/* The engine the configuration names, with its settings. */
static const struct store_options *store_options(struct daemon *d) {
        const struct acctsec_conf *c = &d->policy.global;
        static char host[64];
        if (c->store != ACCTSEC_STORE_POSTGRESQL)
                return NULL;
        if (c->host_id[0])
                snprintf(host, sizeof(host), "%s", c->host_id);
        else if (gethostname(host, sizeof(host)) < 0 || !host[0])
                snprintf(host, sizeof(host), "unknown");
        keyfile_id(d->key, d->key_id);
        d->store_options = (struct store_options){ .postgresql = true, .conninfo = c->postgresql, .host_id = host,
                                                   .timeout_usec = c->postgresql_timeout_ms * 1000ULL,
                                                   .key_id = d->key_id, .prev_key_id = d->prev_key_id,
                                                   .key_path = c->fleet_key,
                                                   .wake = maintenance_wake, .wake_ud = d };
        return &d->store_options;
}

/* store = postgresql: the fleet's key file, before the store (its id is
 * checked against the fleet's on every connection). */
static int load_fleet_key(struct daemon *d) {
        const char *why = "", *prev = d->policy.global.fleet_key_previous;
        int r = keyfile_load_file(d->policy.global.fleet_key, d->key, &why);
        if (r < 0) {
                log_error("fleet key %s: %s (%s); refusing to start", d->policy.global.fleet_key, why, strerror(-r));
                return r;
        }
        if (!prev[0]) /* no rotation under way */
                return 0;
        r = keyfile_load_file(prev, d->prev_key, &why);
        if (r < 0)
                log_error("fleet_key_previous %s: %s (%s); refusing to start", prev, why, strerror(-r));
        else
                keyfile_id(d->prev_key, d->prev_key_id);
        return r;
}

/* The master key: secret.key in the state directory (created on the first
 * start, while nothing is sealed). */
static int load_key(struct daemon *d, const char *state_dir) {
        const char *why = "";
        int64_t sealed = 0;
        int r;
        r = mfa_sealed_count(&d->store, &sealed);
        if (r == 0)
                r = keyfile_load(state_dir, sealed == 0, d->key, &why);
        else
                why = "cannot count the sealed secrets";
        if (r < 0)
                log_error("key file in %s: %s (%s); refusing to start", state_dir, why, strerror(-r));
        return r;
}

/* The database, the master key (secret.key) and liboath: 0, or < 0 once
 * the reason is logged. */
static int open_state(struct daemon *d, const char *state_dir) {
        const char *why = "";
        int r;

        bool fleet = d->policy.global.store == ACCTSEC_STORE_POSTGRESQL;
        if (fleet && load_fleet_key(d) < 0)
                return -ENOKEY;
        r = store_open_with(&d->store, state_dir, store_options(d), &why);
        if (r < 0) {
                log_error("database in %s: %s (%s); refusing to start", state_dir, why, strerror(-r));
                return r;
        }
        if (!fleet && (r = load_key(d, state_dir)) < 0)
                return r;
        d->mfa = (struct mfa){ .store = &d->store, .key = d->key, .prev_key = d->prev_key_id[0] ? d->prev_key : NULL };
        if (oath_init() != OATH_OK) {
                log_error("liboath initialisation failed; refusing to start");
                return -EIO;
        }
        return 0;
}

struct probe {
        struct daemon *d;
        bool done;
};

static void probe(void *arg) {
        struct store *s = &((struct probe *) arg)->d->store;
        txn_begin(s);
        (void) store_now(s); /* connects: migrations, the fleet key's check */
        (void) txn_end(s, false);
}

static void probe_done(void *arg) {
        ((struct probe *) arg)->done = true;
}

/* store = postgresql: connect once before READY=1, so that a host whose
 * fleet key is not the fleet's (or that is older than the schema) refuses
 * to start.  A database that cannot be reached now only delays the check:
 * requests fail (logins are denied) until it answers. */
static int probe_store(struct daemon *d) {
        struct probe p = { .d = d };
        if (!store_waits(&d->store) || worker_run(&d->worker, probe, probe_done, &p) < 0)
                return 0;
        while (!p.done && sd_event_run(d->event, UINT64_MAX) >= 0)
                ;
        if (d->store.fatal) {
                log_error("%s; refusing to start", d->store.fatal);
                return -EKEYREJECTED;
        }
        return 0;
}

/* Listen, answer until told to stop, then close the sockets: the exit status. */
static int serve(struct daemon *d, const struct options *o) {
        struct server srv;
        struct listeners l;
        int r;

        if (get_listeners(o, &l) < 0)
                return 1;
        r = server_init(&srv, d, l.shared, l.private, o->idle_exit * 1000000ULL);
        if (r < 0) {
                log_error("event loop setup failed: %s", strerror(-r));
                return 1;
        }
        if (probe_store(d) < 0) {
                server_done(&srv);
                return 1;
        }
        r = maintenance_start(d);
        if (r < 0) {
                log_error("maintenance timer setup failed: %s", strerror(-r));
                server_done(&srv);
                return 1;
        }
        if (d->store_options.postgresql)
                log_info("%s ready (postgresql, host %s, schema %d)", PACKAGE_STRING, d->store_options.host_id,
                         d->store.engine->schema_version());
        else
                log_info("%s ready (database %s/%s, schema %d, %s)", PACKAGE_STRING, o->state_dir, STORE_DB_NAME,
                         store_schema_version(),
                         d->store.quick_check_skipped ? "unchanged since a clean stop: quick_check skipped"
                                                      : "quick_check passed");
        sd_notify(0, "READY=1\nSTATUS=Answering on the acctsec socket");
        r = server_run(&srv);
        maintenance_stop(d);
        server_done(&srv);
        close(l.shared);
        if (l.private >= 0)
                close(l.private);
        if (o->socket) {
                unlink(o->socket);
                unlink(l.private_path);
        }
        return r < 0 ? 1 : 0;
}

int main(int argc, char **argv) {
        struct options o;
        struct daemon d = { 0 };
        struct acctsec_conf_error e = { 0 };
        int r, ret = 1;

        r = parse_args(argc, argv, &o);
        if (r >= 0)
                return r;
        if (o.reload)
                return reload(&o);
        if (o.import.state_dir) { /* a one-shot program, not the daemon */
                log_setup(true);
                umask(0077);
                return import_main(&o.import);
        }
        log_setup(o.foreground);
        umask(0077);
        r = policy_load(&d.policy, o.config, o.config_explicit, &e);
        if (r < 0) {
                log_error("%s:%u: %s; refusing to start", o.config, e.line, e.msg);
                return 1;
        }
        location_follow(d.policy.global.geoip_database);
        if (open_state(&d, o.state_dir) == 0)
                ret = serve(&d, &o);
        acctsec_wipe(d.key, sizeof(d.key));
        acctsec_wipe(d.prev_key, sizeof(d.prev_key));
        store_close(&d.store);
        location_stop();
        policy_free(&d.policy);
        return ret;
}
