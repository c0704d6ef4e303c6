/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "harness.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "harness: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
        exit(99);
}

void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0)
                die("cannot write %s: %s", path, strerror(errno));
}

/* pam_matrix.so, or NULL (harness_main skips then). */
static const char *matrix_path(void) {
        static const char *const candidates[] = {
                "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so",
                "/usr/lib/aarch64-linux-gnu/pam_wrapper/pam_matrix.so",
                "/usr/lib64/pam_wrapper/pam_matrix.so",
                "/usr/lib/pam_wrapper/pam_matrix.so",
        };
        const char *env = getenv("PAM_MATRIX_SO");
        if (env)
                return env;
        for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
                if (access(candidates[i], R_OK) == 0)
                        return candidates[i];
        return NULL;
}

/* Whether the dynamic linker finds lib, as LD_PRELOAD will (a library it
 * cannot preload is only warned about, and the tests would run against the
 * system's own PAM services).  Tried in a child: nothing stays loaded here. */
static bool loadable(const char *lib) {
        int status;
        pid_t pid = fork();
        if (pid == 0) {
                unsetenv("PAM_WRAPPER"); /* pam_wrapper's constructor does nothing then */
                _exit(dlopen(lib, RTLD_NOW | RTLD_LOCAL) ? 0 : 1);
        }
        return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void skip_all(const char *why) __attribute__((noreturn));
static void skip_all(const char *why) {
        fprintf(stderr, "# skipped: %s\n", why);
        exit(77);
}

/* What every test needs beyond the build: exit 77 without it. */
static void check_can_run(void) {
        /* The module asks about alice, bob and root; acctsecd answers such
         * questions only from root (SO_PEERCRED), as sshd, login and su are. */
        if (geteuid() != 0)
                skip_all("needs root (acctsecd answers about other users only to root)");
        if (!loadable("libpam_wrapper.so"))
                skip_all("libpam_wrapper.so not found (Debian: libpam-wrapper)");
        if (!matrix_path())
                skip_all("pam_matrix.so not found (Debian: libpam-wrapper; or set PAM_MATRIX_SO)");
        if (!loadable("libnss_wrapper.so"))
                skip_all("libnss_wrapper.so not found (Debian: libnss-wrapper)");
}

/* One PAM test program at a time on this machine: pam_wrapper picks its
 * /tmp/pam.X directory with lstat() then mkdir(), so two programs starting
 * together can share one and remove it under each other (and the
 * concurrency and fault tests want the machine to themselves).  `make -j
 * check` starts them together.  The lock is taken before the re-exec, kept
 * across it (ACCTSEC_TEST_LOCK_FD) and dropped when the program exits. */
#define LOCK_PATH "/tmp/acctsec-pam-tests.lock"

static void lock_machine(void) {
        char num[16];
        int fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
        if (fd < 0)
                die("open %s: %s", LOCK_PATH, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                fprintf(stderr, "# waiting for another PAM test program to finish (%s)\n", LOCK_PATH);
                while (flock(fd, LOCK_EX) < 0)
                        if (errno != EINTR)
                                die("flock %s: %s", LOCK_PATH, strerror(errno));
        }
        snprintf(num, sizeof(num), "%d", fd);
        setenv("ACCTSEC_TEST_LOCK_FD", num, 1);
}

/* In the re-executed program: keep the lock, but out of every program it
 * runs (test_pam_hygiene checks what an exec'd program inherits). */
static void keep_lock(void) {
        const char *fd = getenv("ACCTSEC_TEST_LOCK_FD");
        if (!fd)
                return;
        if (fcntl(atoi(fd), F_SETFD, FD_CLOEXEC) < 0)
                die("lock fd %s: %s", fd, strerror(errno));
        unsetenv("ACCTSEC_TEST_LOCK_FD");
}

bool harness_daemon_pam;
bool harness_daemon_log;

/* A service file from a template: $MOD and $MATRIX replaced. */
static void write_stack(const char *path, const char *stack, const char *mod, const char *matrix) {
        static char text[65536];
        size_t n = 0;
        for (const char *p = stack; *p; ) {
                const char *put = NULL;
                if (strncmp(p, "$MOD", 4) == 0)
                        put = mod, p += 4;
                else if (strncmp(p, "$MATRIX", 7) == 0)
                        put = matrix, p += 7;
                size_t k = put ? strlen(put) : 1;
                if (n + k + 1 > sizeof(text))
                        die("service %s: template too long", path);
                memcpy(text + n, put ? put : p++, k);
                n += k;
        }
        text[n] = '\0';
        write_file(path, text);
}

static void write_service(const char *base, const char *build, const struct service_def *d) {
        char path[PATH_MAX + 64], text[8192], mod[PATH_MAX * 2 + 512], matrix[PATH_MAX * 2];
        snprintf(mod, sizeof(mod), "%s/.libs/pam_acctsec.so socket=%s/%s conf=%s/acctsec.conf %s", build, base,
                 d->socket ? d->socket : "sock", base, d->extra ? d->extra : "");
        snprintf(matrix, sizeof(matrix), "%s passdb=%s/passdb", matrix_path(), base);
        snprintf(path, sizeof(path), "%s/services/%s", base, d->name);
        if (d->stack) {
                write_stack(path, d->stack, mod, matrix);
                return;
        }
        if (d->plain) {
                write_stack(path, "auth     required $MATRIX\naccount  required $MATRIX\n", mod, matrix);
                return;
        }
        snprintf(text, sizeof(text),
                 "auth     requisite                  %s preauth\n"
                 "auth     [success=1 default=ignore] %s passdb=%s/passdb\n"
                 "auth     [default=die]              %s authfail\n"
                 "auth     %-26s %s %s\n"
                 "account  required                   %s\n",
                 mod, matrix_path(), base, mod, d->mfa ? "requisite" : "required", mod,
                 d->mfa ? "mfa" : "authsucc", mod);
        write_file(path, text);
}

static void write_users(const char *base) {
        char path[PATH_MAX + 32], text[4096];
        snprintf(text, sizeof(text),
                 "root:x:0:0:root:/root:/bin/sh\n"
                 "alice:x:1001:1001:Alice:/home/alice:/bin/sh\n"
                 "bob:x:1002:1002:Bob:/home/bob:/bin/sh\n"
                 "carol:x:1003:1003:Carol (admin):/home/carol:/bin/sh\n"
                 "dave:x:1004:1004:Dave (auditor):/home/dave:/bin/sh\n"
                 "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        /* The runner itself, so that the daemon can name a non-root caller. */
        if (getuid() != 0 && getuid() != 65534 && (getuid() < 1001 || getuid() > 1004)) {
                size_t n = strlen(text);
                snprintf(text + n, sizeof(text) - n, "tester:x:%u:%u:the test runner:/tmp:/bin/sh\n",
                         (unsigned) getuid(), (unsigned) getgid());
        }
        snprintf(path, sizeof(path), "%s/passwd", base);
        write_file(path, text);
        snprintf(path, sizeof(path), "%s/group", base);
        write_file(path, "root:x:0:\nalice:x:1001:\nbob:x:1002:\ncarol:x:1003:\ndave:x:1004:\n"
                         "acctsec-admin:x:2000:carol\nacctsec-audit:x:2001:dave\nnogroup:x:65534:\n");
        /* pam_matrix: user:password:service (the service only matters for its account phase). */
        snprintf(text, sizeof(text), "alice:%s:any\nbob:%s:any\nroot:%s:any\n", ALICE_PW, BOB_PW, ROOT_PW);
        snprintf(path, sizeof(path), "%s/passdb", base);
        write_file(path, text);
}

static void remove_base(void) {
        char cmd[PATH_MAX + 16];
        const char *base = getenv("ACCTSEC_TEST_BASE");
        if (!base || getenv("ACCTSEC_KEEP_TEST_DIR"))
                return;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
        if (system(cmd) != 0)
                fprintf(stderr, "harness: could not remove %s\n", base);
}

/* The test base under TMPDIR: users, a copy of the CLI, the services and "other"; its path in base. */
static void make_base(char *base, size_t base_size, const char *build, const struct service_def *services) {
        char path[PATH_MAX + 32];

        snprintf(base, base_size, "%s/acctsec-test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(base))
                die("mkdtemp: %s", strerror(errno));
        chmod(base, 0755); /* the CLI runs as other uids in some tests */
        snprintf(path, sizeof(path), "%s/services", base);
        if (mkdir(path, 0755) < 0)
                die("mkdir %s: %s", path, strerror(errno));
        write_users(base);
        /* Some tests run the CLI as other uids: the build dir may be under a
         * private home (/root in CI), so they run a copy from here. */
        char cmd[3 * PATH_MAX];
        snprintf(cmd, sizeof(cmd), "install -m 0755 '%s/acctsec' '%s/acctsec'", build, base);
        if (system(cmd) != 0)
                die("cannot copy the CLI into %s", base);
        for (const struct service_def *d = services; d->name; d++)
                write_service(base, build, d);
        /* libpam falls back to "other" for a missing service: deny, as distributions do. */
        snprintf(path, sizeof(path), "%s/services/other", base);
        write_file(path, "auth required pam_deny.so\naccount required pam_deny.so\n"
                         "password required pam_deny.so\nsession required pam_deny.so\n");
}

/* The environment the re-executed program finds base and pam_wrapper by. */
static void set_wrapper_env(const char *base) {
        char path[PATH_MAX + 32];

        snprintf(path, sizeof(path), "%s/services", base);
        setenv("ACCTSEC_TEST_BASE", base, 1);
        setenv("PAM_WRAPPER", "1", 1);
        setenv("PAM_WRAPPER_SERVICE_DIR", path, 1);
        /* Sanitizer runtimes must come first: keep what is preloaded already. */
        const char *pre = getenv("LD_PRELOAD");
        char preload[PATH_MAX];
        snprintf(preload, sizeof(preload), "%s%slibpam_wrapper.so", pre ? pre : "", pre && *pre ? " " : "");
        setenv("LD_PRELOAD", preload, 1);
}

/* Run this program again with its arguments, under ACCTSEC_TEST_WRAPPER if set; never returns. */
static void reexec(int argc, char **argv) __attribute__((noreturn));
static void reexec(int argc, char **argv) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0)
                die("readlink /proc/self/exe: %s", strerror(errno));
        self[n] = '\0';
        /* ACCTSEC_TEST_WRAPPER="valgrind -q ..." runs the real test under a tool. */
        char *wrap = getenv("ACCTSEC_TEST_WRAPPER") ? strdup(getenv("ACCTSEC_TEST_WRAPPER")) : NULL;
        char *args[64];
        int k = 0;
        for (char *save = NULL, *w = wrap ? strtok_r(wrap, " ", &save) : NULL; w && k < 40;
             w = strtok_r(NULL, " ", &save))
                args[k++] = w;
        args[k++] = self;
        for (int i = 1; i < argc && k < 63; i++)
                args[k++] = argv[i];
        args[k] = NULL;
        execvp(args[0], args);
        die("re-exec %s: %s", args[0], strerror(errno));
}

void harness_main(int argc, char **argv, const struct service_def *services) {
        char base[PATH_MAX];
        const char *build = getenv("ACCTSEC_BUILD_DIR");

        if (getenv("ACCTSEC_TEST_BASE") && getenv("PAM_WRAPPER")) {
                keep_lock();
                atexit(remove_base);
                /* ACCTSEC_TEST_FILTER=test_flood*: only the tests whose names match. */
                if (getenv("ACCTSEC_TEST_FILTER"))
                        cmocka_set_test_filter(getenv("ACCTSEC_TEST_FILTER"));
                return;
        }
        if (!build)
                die("set ACCTSEC_BUILD_DIR to the build directory (scripts/test.sh and make check do)");
        check_can_run();
        lock_machine();
        make_base(base, sizeof(base), build, services);
        set_wrapper_env(base);
        reexec(argc, argv);
}

void env_setup(struct env *e) {
        char cmd[PATH_MAX + 32];
        const char *base = getenv("ACCTSEC_TEST_BASE");

        memset(e, 0, sizeof(*e));
        if (!base)
                die("harness_main() was not called");
        snprintf(e->build, sizeof(e->build), "%s", getenv("ACCTSEC_BUILD_DIR"));
        snprintf(e->dir, sizeof(e->dir), "%s", base);
        snprintf(e->services, sizeof(e->services), "%s/services", base);
        snprintf(e->sock, sizeof(e->sock), "%s/sock", e->dir);
        snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
        snprintf(e->conf, sizeof(e->conf), "%s/acctsec.conf", e->dir);
        snprintf(e->passdb, sizeof(e->passdb), "%s/passdb", e->dir);
        snprintf(e->log, sizeof(e->log), "%s/daemon.log", e->dir);
        snprintf(e->maildir, sizeof(e->maildir), "%s/maildir", e->dir);
        unlink(e->log);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->state);
        if (system(cmd) != 0)
                die("cannot clear %s", e->state);
        env_write_conf(e, "");
}

void env_write_conf(struct env *e, const char *extra) {
        char text[4096];
        snprintf(text, sizeof(text), "# written by the test harness\nadmin_group = acctsec-admin\n"
                                     "audit_group = acctsec-audit\n%s", extra);
        write_file(e->conf, text);
}

void env_reconfigure(struct env *e, const char *text) {
        env_write_conf(e, text);
        assert_int_equal(daemon_stop(e), 0);
        assert_int_equal(daemon_start(e), 0);
}

int env_start(void **state) {
        static struct env e;
        env_setup(&e);
        assert_int_equal(daemon_start(&e), 0);
        *state = &e;
        return 0;
}

int env_stop(void **state) {
        struct env *e = *state;
        int status = e->daemon > 0 ? daemon_stop(e) : 0;
        env_teardown(e);
        assert_int_equal(status, 0); /* a clean SIGTERM exit */
        return 0;
}

void env_teardown(struct env *e) {
        if (e->daemon > 0)
                daemon_stop(e);
}

static void set_nss_env(const struct env *e) {
        char p[PATH_MAX + 16];
        setenv("LD_PRELOAD", "libnss_wrapper.so", 1); /* not pam_wrapper: the daemon is no PAM app */
        snprintf(p, sizeof(p), "%s/passwd", e->dir);
        setenv("NSS_WRAPPER_PASSWD", p, 1);
        snprintf(p, sizeof(p), "%s/group", e->dir);
        setenv("NSS_WRAPPER_GROUP", p, 1);
        unsetenv("PAM_WRAPPER");
}

/* The daemon may run under a wrapper (valgrind) named in ACCTSEC_DAEMON_WRAPPER. */
int daemon_start(struct env *e) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char daemon_path[PATH_MAX + 16], buf[256];

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", e->dir);
        unlink(sa.sun_path);
        int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (nfd < 0 || bind(nfd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                die("notify socket: %s", strerror(errno));
        snprintf(daemon_path, sizeof(daemon_path), "%s/acctsecd", e->build);
        pid_t pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                set_nss_env(e);
                if (harness_daemon_pam) {
                        setenv("LD_PRELOAD", "libpam_wrapper.so libnss_wrapper.so", 1);
                        setenv("PAM_WRAPPER", "1", 1);
                        setenv("PAM_WRAPPER_SERVICE_DIR", e->services, 1);
                }
                setenv("NOTIFY_SOCKET", sa.sun_path, 1);
                if (harness_daemon_log) {
                        int lfd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                        if (lfd < 0 || dup2(lfd, STDERR_FILENO) < 0)
                                _exit(126);
                }
                const char *wrapper = getenv("ACCTSEC_DAEMON_WRAPPER");
                if (wrapper && *wrapper)
                        execlp(wrapper, wrapper, daemon_path, "--socket", e->sock, "--state-dir", e->state,
                               "--config", e->conf, "--foreground", (char *) NULL);
                else
                        execl(daemon_path, daemon_path, "--socket", e->sock, "--state-dir", e->state, "--config",
                              e->conf, "--foreground", (char *) NULL);
                _exit(127);
        }
        e->daemon = pid;
        /* Wait for READY=1, or for the daemon to die; 60 s bounds a broken start. */
        for (int waited = 0; waited < 600; waited++) {
                struct pollfd p = { .fd = nfd, .events = POLLIN };
                if (poll(&p, 1, 100) > 0) {
                        ssize_t n = recv(nfd, buf, sizeof(buf) - 1, 0);
                        if (n > 0) {
                                buf[n] = '\0';
                                if (strstr(buf, "READY=1")) {
                                        close(nfd);
                                        return 0;
                                }
                        }
                }
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        e->daemon = 0;
                        close(nfd);
                        return -1;
                }
        }
        close(nfd);
        return -1;
}

int daemon_stop(struct env *e) {
        int status;
        if (e->daemon <= 0)
                return -1;
        kill(e->daemon, SIGTERM);
        if (waitpid(e->daemon, &status, 0) != e->daemon)
                return -1;
        e->daemon = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void daemon_kill(struct env *e) {
        if (e->daemon <= 0)
                return;
        kill(e->daemon, SIGKILL);
        waitpid(e->daemon, NULL, 0);
        e->daemon = 0;
}

bool daemon_log_contains(struct env *e, const char *text) {
        struct stat st;
        FILE *f = fopen(e->log, "re");
        if (!f || fstat(fileno(f), &st) < 0) {
                if (f)
                        fclose(f);
                return false;
        }
        char *buf = malloc((size_t) st.st_size + 1);
        size_t n = buf ? fread(buf, 1, (size_t) st.st_size, f) : 0;
        fclose(f);
        if (!buf)
                return false;
        buf[n] = '\0';
        bool found = strstr(buf, text) != NULL;
        free(buf);
        return found;
}

static sqlite3 *db_open(struct env *e, int flags) {
        char path[PATH_MAX + 32];
        sqlite3 *db = NULL;
        snprintf(path, sizeof(path), "%s/acctsec.db", e->state);
        if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
                die("open %s: %s", path, db ? sqlite3_errmsg(db) : "?");
        sqlite3_busy_timeout(db, 10000);
        return db;
}

long long db_int(struct env *e, const char *sql, const char *arg) {
        sqlite3 *db = db_open(e, SQLITE_OPEN_READONLY);
        sqlite3_stmt *st = NULL;
        long long v = -1;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
                die("prepare %s: %s", sql, sqlite3_errmsg(db));
        if (arg)
                sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        else if (rc != SQLITE_DONE)
                die("step %s: %s", sql, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

long long db_events(struct env *e, const char *type) {
        return db_int(e, "SELECT count(*) FROM events WHERE type = ?", type);
}

long long db_tally(struct env *e, const char *user) {
        return db_int(e, "SELECT coalesce(sum(failures), 0) FROM lockout WHERE user = ?", user);
}

void db_exec(struct env *e, const char *sql) {
        sqlite3 *db = db_open(e, SQLITE_OPEN_READWRITE);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
                die("exec %s: %s", sql, sqlite3_errmsg(db));
        sqlite3_close(db);
}

int maildir_read(struct env *e, char *text, size_t n) {
        char dir[PATH_MAX + 8], path[PATH_MAX + 300];
        int count = 0;
        size_t used = 0;
        snprintf(dir, sizeof(dir), "%s/new", e->maildir);
        text[0] = '\0';
        DIR *d = opendir(dir);
        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                count++;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                FILE *f = fopen(path, "re");
                assert_non_null(f);
                used += fread(text + used, 1, n - 1 - used, f);
                text[used] = '\0';
                fclose(f);
        }
        closedir(d);
        return count;
}

int maildir_wait(struct env *e, int want, char *text, size_t n) {
        const struct timespec step = { .tv_nsec = 10 * 1000000L };
        int got = 0;
        for (int i = 0; i < 1000 && (got = maildir_read(e, text, n)) < want; i++)
                nanosleep(&step, NULL);
        return got;
}

int run_cli(struct env *e, uid_t uid, char *out, size_t outlen, const char *const *args) {
        struct cli_run c;
        cli_start(e, uid, args, &c);
        close(c.in);
        return cli_finish(&c, out, outlen);
}

void cli_start(struct env *e, uid_t uid, const char *const *args, struct cli_run *ret) {
        char cli[PATH_MAX + 16];
        const char *argv[32];
        int pfd[2], ifd[2], n = 0;

        snprintf(cli, sizeof(cli), "%s/acctsec", e->dir);
        argv[n++] = cli;
        argv[n++] = "--socket";
        argv[n++] = e->sock;
        for (; args && *args && n < 30; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        if (pipe2(pfd, O_CLOEXEC) < 0 || pipe2(ifd, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
        pid_t pid = fork();
        if (pid == 0) {
                dup2(pfd[1], STDOUT_FILENO);
                dup2(ifd[0], STDIN_FILENO);
                set_nss_env(e);
                if (uid != (uid_t) -1 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
                        _exit(126);
                execv(cli, (char *const *) argv);
                _exit(127);
        }
        close(pfd[1]);
        close(ifd[0]);
        *ret = (struct cli_run){ .pid = pid, .in = ifd[1], .out = pfd[0] };
}

int cli_finish(struct cli_run *c, char *out, size_t outlen) {
        size_t got = 0;
        ssize_t k;
        int status;
        while (got + 1 < outlen && (k = read(c->out, out + got, outlen - 1 - got)) > 0)
                got += (size_t) k;
        if (outlen)
                out[got] = '\0';
        close(c->out);
        if (waitpid(c->pid, &status, 0) != c->pid)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int harness_answer(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        struct pam_response *r = calloc((size_t) n, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++)
                if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
                        r[i].resp = strdup(data);
        *resp = r;
        return PAM_SUCCESS;
}

pid_t pam_login_start(const char *service, const char *user, const char *input, const char *rhost,
                      const int barrier[2]) {
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        char c, tool[PATH_MAX + 32];
        int in[2];
        if (barrier) {
                close(barrier[1]);
                (void) read(barrier[0], &c, 1); /* returns at EOF: all start together */
        }
        if (pipe(in) < 0 || write(in[1], input, strlen(input)) < 0)
                _exit(98);
        close(in[1]);
        dup2(in[0], STDIN_FILENO);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
                dup2(null, STDOUT_FILENO); /* keep the TAP output clean */
        signal(SIGPIPE, SIG_DFL); /* what sshd and login have */
        unsetenv("LD_PRELOAD");
        snprintf(tool, sizeof(tool), "%s/tests/tools/pam_login", getenv("ACCTSEC_BUILD_DIR"));
        execl(tool, tool, getenv("PAM_WRAPPER_SERVICE_DIR"), service, user, rhost, (char *) NULL);
        _exit(97);
}

struct pamtest_conv_data msgs_conv(struct msgs *m, const char **answers) {
        static struct msgs unread;
        if (!m)
                m = &unread;
        memset(m, 0, sizeof(*m));
        for (int i = 0; i < MSGS_MAX; i++) {
                m->eptr[i] = m->err[i];
                m->iptr[i] = m->info[i];
        }
        return (struct pamtest_conv_data){ .in_echo_off = answers, .out_err = m->eptr, .out_info = m->iptr };
}

bool any_line(char lines[][PAM_MAX_MSG_SIZE], int n, const char *needle) {
        for (int i = 0; i < n; i++)
                if (strstr(lines[i], needle))
                        return true;
        return false;
}

/* The failure delay a login would wait: tests look at it instead (see
 * test_pam_prompts), so that a wrong password costs them nothing. */
static void no_delay(int status, unsigned delay, void *data) {
        (void) status, (void) delay, (void) data;
}

void no_fail_delay(pam_handle_t *pamh) {
        (void) pam_set_item(pamh, PAM_FAIL_DELAY, (const void *) no_delay);
}

int login(const char *service, const char *user, const char *password, const char *rhost) {
        struct pam_conv conv = { harness_answer, (void *) password };
        pam_handle_t *pamh = NULL;
        int r = pam_start(service, user, &conv, &pamh);
        if (r != PAM_SUCCESS)
                return r;
        no_fail_delay(pamh);
        if (rhost)
                pam_set_item(pamh, PAM_RHOST, rhost);
        r = pam_authenticate(pamh, 0);
        if (r == PAM_SUCCESS)
                r = pam_acct_mgmt(pamh, 0);
        pam_end(pamh, r);
        return r;
}
