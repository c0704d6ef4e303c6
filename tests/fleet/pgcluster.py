#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A private PostgreSQL cluster for the fleet tests (Python stdlib only).

    with PgCluster() as pg:          # initdb + start; stop + rm -rf at the end
        pg.createdb("acctsec")
        rows = pg.psql("acctsec", "SELECT 1, 'a'")     # [('1', 'a')]
        conn = pg.conninfo("acctsec")                  # for libpq (the daemon)

The binaries are the newest /usr/lib/postgresql/*/bin (PgMissing when there
are none: tests then exit 77).  initdb refuses root, so under root the
server runs as nobody, in a temp dir under /tmp that nobody owns and that
root and nobody can both traverse; otherwise as the caller.  The server
listens on a Unix socket in that dir only, plus 127.0.0.1 on a free port
when asked (tcp=True).  Starting and stopping wait on the server itself
(pg_ctl -w, pg_isready), never on a timer; a failure raises PgError with the
server's log.
"""
import glob
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ADMIN = "acctsec_admin"
FIELD_SEP = "\x1f"
RECORD_SEP = "\x1e"


class PgMissing(Exception):
    """No PostgreSQL server binaries on this machine."""


class PgError(Exception):
    """A cluster operation failed; the message ends with the server's log."""


def find_bindir():
    """The newest /usr/lib/postgresql/N/bin with initdb, or PgMissing."""
    def version(path):
        return [int(x) for x in re.findall(r"\d+", path.split("/")[-2])] or [0]
    dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin") if os.access(os.path.join(d, "initdb"), os.X_OK)]
    if not dirs:
        raise PgMissing("no PostgreSQL server in /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)")
    return max(dirs, key=version)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_pids_gone(pids, deadline_s=60):
    """Until every pid has exited (pidfd: woken by the exit, no polling)."""
    fds = []
    try:
        for pid in pids:
            try:
                fds.append(os.pidfd_open(pid))
            except ProcessLookupError:
                pass
        end = time.monotonic() + deadline_s
        while fds:
            left = end - time.monotonic()
            if left <= 0:
                raise PgError("processes did not exit: %s" % pids)
            ready, _, _ = select.select(fds, [], [], left)
            for fd in ready:
                fds.remove(fd)
                os.close(fd)
    finally:
        for fd in fds:
            os.close(fd)


def children_of(pid):
    """The pids whose parent is pid (a postmaster's backends and workers)."""
    kids = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.split("/")[2]))
    return kids


class PgCluster:
    """One PostgreSQL cluster in its own temp dir.  Pass init=False to get an
    empty shell (make_standby fills it with pg_basebackup)."""

    def __init__(self, tcp=False, fsync=True, start=True, init=True, name="primary"):
        self.bindir = find_bindir()
        self.name = name
        self.tcp = tcp
        self.fsync = fsync
        self.port = free_port()
        self.base = tempfile.mkdtemp(prefix="acctsec-pg-%s." % name, dir="/tmp")
        os.chmod(self.base, 0o755)  # the daemon (root) and nobody traverse it
        self.data = os.path.join(self.base, "data")
        self.sockdir = os.path.join(self.base, "sock")
        self.log = os.path.join(self.base, "server.log")
        self.running = False
        self.owner = None  # (uid, gid) to run the server as, None: ourselves
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            self.owner = (pw.pw_uid, pw.pw_gid)
        os.mkdir(self.sockdir, 0o755)
        if self.owner:
            for d in (self.base, self.sockdir):
                os.chown(d, *self.owner)
        try:
            if init:
                self._initdb()
                if start:
                    self.start()
        except BaseException:
            self.cleanup()
            raise

    # --- running the server's tools -------------------------------------
    def _preexec(self):
        if self.owner:
            os.setgroups([])
            os.setgid(self.owner[1])
            os.setuid(self.owner[0])

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", TZ="UTC")
        if self.owner:
            env["HOME"] = self.base
        return env

    def log_text(self, lines=60):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no server log)"

    def run(self, tool, *args, as_owner=True, input=None, check=True):
        """Run a PostgreSQL tool; PgError with its output and the server log
        when it fails."""
        cmd = [os.path.join(self.bindir, tool)] + [str(a) for a in args]
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, env=self._env(), cwd=self.base,
                           preexec_fn=self._preexec if as_owner else None, timeout=300)
        if check and p.returncode != 0:
            raise PgError("%s exited with %d\n%s%s\n--- %s server log (%s):\n%s" % (
                " ".join(cmd), p.returncode, p.stdout, p.stderr, self.name, self.log, self.log_text()))
        return p

    def _conf(self):
        """This cluster's own settings, after anything copied from a primary
        (postgresql.conf: a later line wins)."""
        listen = "127.0.0.1" if self.tcp else ""
        return "\n".join([
            "# acctsec tests (pgcluster.py)",
            "listen_addresses = '%s'" % listen,
            "port = %d" % self.port,
            "unix_socket_directories = '%s'" % self.sockdir,
            "fsync = %s" % ("on" if self.fsync else "off"),
            "wal_level = replica",
            "max_wal_senders = 4",
            "hot_standby = on",
            "logging_collector = off",
            "log_line_prefix = '%m [%p] '",
            "cluster_name = 'acctsec_%s'" % self.name,
            "",
        ])

    def _append_conf(self):
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n" + self._conf())

    def _initdb(self):
        self.run("initdb", "-D", self.data, "-A", "trust", "-U", ADMIN, "--no-sync", "-E", "UTF8", "--locale=C")
        self._append_conf()

    # --- life cycle -----------------------------------------------------
    def start(self):
        self.run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "120", "start")
        self.running = True
        self.run("pg_isready", "-h", self.sockdir, "-p", self.port, "-U", ADMIN, "-d", "postgres", "-t", "60",
                 as_owner=False)

    def stop(self, mode="fast"):
        if self.running:
            self.run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "120", "stop")
            self.running = False

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def kill(self):
        """SIGKILL the postmaster and every process it started, as a crash
        of the machine would, and wait until they are all gone.  The lock
        files stay behind like after a crash; start() removes them only
        once no process of ours holds them."""
        pid = self.postmaster_pid()
        if pid is None:
            raise PgError("%s: no postmaster.pid" % self.name)
        pids = [pid] + children_of(pid)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_pids_gone(pids)
        # The postmaster may stay a zombie (its parent, pg_ctl, is gone and
        # pid 1 may not reap): a new postmaster would take its pid for a
        # live one.  Nothing holds the lock files now.
        for lock in [os.path.join(self.data, "postmaster.pid")] + glob.glob(
                os.path.join(self.sockdir, ".s.PGSQL.*.lock")):
            try:
                os.unlink(lock)
            except FileNotFoundError:
                pass
        self.running = False

    def restart(self):
        self.stop()
        self.start()

    def cleanup(self):
        try:
            if self.running:
                try:
                    self.stop("immediate")
                except PgError:
                    self.kill()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # --- clients ----------------------------------------------------------
    def conninfo(self, dbname, tcp=False):
        """A libpq connection string for dbname."""
        if tcp:
            if not self.tcp:
                raise PgError("%s listens on its Unix socket only (tcp=False)" % self.name)
            return "host=127.0.0.1 port=%d dbname=%s user=%s" % (self.port, dbname, ADMIN)
        return "host=%s port=%d dbname=%s user=%s" % (self.sockdir, self.port, dbname, ADMIN)

    def psql_args(self, dbname):
        return [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-F", FIELD_SEP, "-R", RECORD_SEP,
                "-v", "ON_ERROR_STOP=1", "-h", self.sockdir, "-p", str(self.port), "-U", ADMIN, "-d", dbname]

    def psql(self, dbname, sql):
        """Run sql (one or more statements); the rows every statement
        returned, as tuples of strings (NULL as '')."""
        p = subprocess.run(self.psql_args(dbname), input=sql, capture_output=True, text=True, env=self._env(),
                           timeout=300)
        if p.returncode != 0:
            raise PgError("psql %s failed (%d): %s\n--- sql:\n%s" % (dbname, p.returncode, p.stderr, sql))
        return parse_rows(p.stdout)

    def session(self, dbname):
        """A psql that stays connected (one server session), for tests of
        concurrent transactions."""
        return PsqlSession(self, dbname)

    def createdb(self, name):
        self.psql("postgres", 'CREATE DATABASE "%s"' % name.replace('"', '""'))

    # --- replication --------------------------------------------------------
    def make_standby(self, synchronous=False, tcp=False):
        """A started hot standby that streams from this cluster (pg_basebackup
        -R over the socket).  synchronous: commits here wait until the
        standby has applied them (synchronous_commit = remote_apply)."""
        standby = PgCluster(tcp=tcp, fsync=self.fsync, init=False, name="standby")
        try:
            standby.run("pg_basebackup", "-D", standby.data, "-R", "-X", "stream", "--no-sync", "-c", "fast",
                        "-h", self.sockdir, "-p", self.port, "-U", ADMIN)
            standby._append_conf()
            standby.start()
        except BaseException:
            standby.cleanup()
            raise
        if synchronous:
            self.psql("postgres", "ALTER SYSTEM SET synchronous_standby_names = '*';"
                      "ALTER SYSTEM SET synchronous_commit = 'remote_apply';"
                      "SELECT pg_reload_conf();")
        return standby

    def promote(self):
        """Make this standby a primary; returns once it accepts writes."""
        self.run("pg_ctl", "-D", self.data, "-w", "-t", "120", "promote")

    def wait_replayed(self, standby, deadline_s=60):
        """Until standby has replayed everything written here so far.  (No
        server-side wait exists for an LSN in PostgreSQL 15: this polls.)"""
        lsn = self.psql("postgres", "SELECT pg_current_wal_lsn()")[0][0]
        end = time.monotonic() + deadline_s
        while True:
            done = standby.psql("postgres", "SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn" % lsn)[0][0]
            if done == "t":
                return
            if time.monotonic() > end:
                raise PgError("standby did not replay %s\n%s" % (lsn, standby.log_text()))
            time.sleep(0.02)


def parse_rows(out):
    """psql -A -t output: records end in RECORD_SEP, the last of each
    statement's in a newline instead (so values must not hold either)."""
    return [tuple(rec.split(FIELD_SEP)) for rec in re.split("[\n" + RECORD_SEP + "]", out) if rec != ""]


class PsqlSession:
    """One psql process, one server session: send() a statement, then
    result() waits for its rows.  A marker echoed after each batch tells
    where its output ends."""

    def __init__(self, cluster, dbname):
        args = cluster.psql_args(dbname)
        args[args.index("ON_ERROR_STOP=1")] = "ON_ERROR_STOP=0"
        self.errors = tempfile.TemporaryFile(mode="w+", dir=cluster.base)
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                     env=cluster._env())
        self.seq = 0
        self.pending = None
        self.pid = int(self.run("SELECT pg_backend_pid()")[0][0])

    def send(self, sql):
        assert self.pending is None, "the previous statement's result was not read"
        self.seq += 1
        self.pending = "__acctsec_done_%d__" % self.seq
        # \echo prints the marker on a line of its own once sql has run.
        text = sql.rstrip().rstrip(";") + ";\n\\echo " + RECORD_SEP + self.pending + "\n"
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def result(self, deadline_s=60):
        """The rows of what send() sent (unbuffered reads: select() then
        sees every byte psql wrote)."""
        marker, self.pending = (RECORD_SEP + self.pending + "\n").encode(), None
        out = b""
        end = time.monotonic() + deadline_s
        while not out.endswith(marker):
            left = end - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            if not ready:
                raise PgError("psql session %d: no result in %d s" % (self.pid, deadline_s))
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise PgError("psql session %d ended: %s" % (self.pid, self.error_text()))
            out += chunk
        return parse_rows(out[:-len(marker)].decode())

    def error_text(self):
        self.errors.seek(0)
        return self.errors.read()

    def run(self, sql):
        self.send(sql)
        return self.result()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        self.proc.stdout.close()
        self.errors.close()
