#!/usr/bin/env python3
"""Tier 6: a fleet.  Several real acctsecd "hosts" on this machine share one
real PostgreSQL (a private cluster started here, a database per test), spoken
to in raw frames and through the CLI.  Prints TAP.  Needs ACCTSEC_BUILD_DIR;
exits 77 without PostgreSQL's binaries."""
import json
import os
import secrets
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "system"))

import pgcluster  # noqa: E402
import test_daemon as td  # noqa: E402
from sshd_env import totp  # noqa: E402

OP_MFA_VERIFY = 10
T_CODE = 6
ENOTCONN_LIKE = {112, 110, 104}  # EHOSTDOWN, ETIMEDOUT, ECONNRESET: "database unavailable"


class Host(td.Daemon):
    """acctsecd with store = postgresql: one host of the fleet."""

    def __init__(self, fleet, host_id, conf=""):
        self.fleet = fleet
        self.host_id = host_id
        super().__init__(conf=conf)

    def write_conf(self, text):
        with open(self.conf, "w") as f:
            f.write("store = postgresql\npostgresql = %s\nhost_id = %s\nfleet_key = %s\n%s"
                    % (self.fleet.conninfo, self.host_id, self.fleet.key, text))

    def db(self, sql, *args):
        raise AssertionError("a fleet host has no SQLite database: use fleet.sql()")


class Fleet:
    """One database of the cluster, the fleet key, and the hosts on it."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.db = name
        cluster.createdb(name)
        self.conninfo = cluster.conninfo(name)
        self.keydir = os.path.join(cluster.base, "keys-" + name)
        os.makedirs(self.keydir, mode=0o755)
        self.key = os.path.join(self.keydir, "fleet.key")
        fd = os.open(self.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, secrets.token_bytes(32))
        os.close(fd)
        self.hosts = []

    def host(self, host_id, conf=""):
        h = Host(self, host_id, conf)
        self.hosts.append(h)
        return h

    def sql(self, text):
        return self.cluster.psql(self.db, text)

    def cleanup(self):
        for h in self.hosts:
            h.cleanup()


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def decision(h, op, user="alice", **kw):
    rtype, f = h.call(td.login_frame(op, user=user, **kw))
    assert rtype == td.REPLY_OK, (h.host_id, op, f, open(h.log).read()[-2000:])
    return td.get(f, td.T_DECISION, True)


@test
def two_hosts_share_one_lockout(fleet):
    a, b = fleet.host("web1"), fleet.host("web2")
    assert decision(a, td.OP_AUTHFAIL) == 0
    assert decision(b, td.OP_AUTHFAIL) == 0
    assert decision(a, td.OP_AUTHFAIL) == 1, "the third failure, on either host, locks"
    assert decision(b, td.OP_PREAUTH) == 1, "the lock is enforced on the other host"
    assert fleet.sql("SELECT failures FROM lockout WHERE \"user\" = 'alice'") == [("3",)]
    # An unlock on one host is enforced on the other at its next request.
    r = td.cli(b, "lockout", "reset", "--user", "alice")
    assert r.returncode == 0, r.stderr
    assert decision(a, td.OP_PREAUTH) == 0
    hosts = fleet.sql("SELECT type, host FROM events ORDER BY id")
    assert hosts[:4] == [("auth_failure", "web1"), ("auth_failure", "web2"), ("auth_failure", "web1"),
                         ("lockout", "web1")], hosts


@test
def failures_spread_over_hosts_are_counted_exactly(fleet):
    hosts = [fleet.host("h%d" % i, "deny = 0\n") for i in range(3)]  # never lock: count only
    per_thread, threads = 40, []
    errors = []

    def hammer(h):
        try:
            s = h.connect()
            for _ in range(per_thread):
                rtype, f = h.call(td.login_frame(td.OP_AUTHFAIL, user="bob"), s)
                assert rtype == td.REPLY_OK, f
            s.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    for h in hosts:
        for _ in range(2):
            threads.append(threading.Thread(target=hammer, args=(h,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    want = per_thread * len(threads)
    assert fleet.sql("SELECT failures FROM lockout WHERE \"user\" = 'bob'") == [(str(want),)]
    assert fleet.sql("SELECT count(*) FROM events WHERE type = 'auth_failure'") == [(str(want),)]


@test
def one_totp_enrolment_serves_every_host_and_each_code_is_used_once(fleet):
    a, b = fleet.host("web1"), fleet.host("web2")
    out = json.loads(td.cli(a, "--json", "mfa", "enroll", "totp", "--user", "alice").stdout)
    step = int(fleet.sql("SELECT floor(extract(epoch FROM clock_timestamp()))::bigint")[0][0]) // 30
    r = td.cli(b, "mfa", "confirm", totp(out["secret"], step - 1), "--user", "alice")
    assert r.returncode == 0, "confirmed on the other host: %s" % r.stderr
    code = totp(out["secret"], step)
    rtype, f = a.call(td.frame(OP_MFA_VERIFY, (td.T_USER, "alice"), (td.T_SERVICE, "sshd"), (T_CODE, code)))
    assert rtype == td.REPLY_OK and td.get(f, td.T_DECISION, True) == 0, f
    rtype, f = b.call(td.frame(OP_MFA_VERIFY, (td.T_USER, "alice"), (td.T_SERVICE, "sshd"), (T_CODE, code)))
    assert rtype == td.REPLY_OK and td.get(f, td.T_DECISION, True) != 0, "replayed on another host: %r" % f
    assert fleet.sql("SELECT active, last_step FROM mfa_totp WHERE \"user\" = 'alice'") == [("1", str(step))]


@test
def racing_one_code_on_several_hosts_has_one_winner(fleet):
    hosts = [fleet.host("h%d" % i, "deny = 10\n") for i in range(4)]  # three replays would lock
    out = json.loads(td.cli(hosts[0], "--json", "mfa", "enroll", "totp", "--user", "alice").stdout)
    step = int(fleet.sql("SELECT floor(extract(epoch FROM clock_timestamp()))::bigint")[0][0]) // 30
    assert td.cli(hosts[1], "mfa", "confirm", totp(out["secret"], step - 1), "--user", "alice").returncode == 0
    code = totp(out["secret"], step)
    results, barrier = [], threading.Barrier(len(hosts))

    def verify(h):
        s = h.connect()
        barrier.wait()
        rtype, f = h.call(td.frame(OP_MFA_VERIFY, (td.T_USER, "alice"), (td.T_SERVICE, "sshd"), (T_CODE, code)), s)
        results.append((rtype, td.get(f, td.T_DECISION, True)))
        s.close()

    threads = [threading.Thread(target=verify, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [(td.REPLY_OK, 0)] + [(td.REPLY_OK, 2)] * (len(hosts) - 1), results


OP_SESSION_OPEN, T_SESSION = 38, 52


def session_from_gone_process(h):
    """A session of root opened on host h by a process that exits: its id."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        rtype, f = h.call(td.frame(OP_SESSION_OPEN, (td.T_USER, "root"), (td.T_SERVICE, "sshd")))
        os.write(w, str(td.get(f, T_SESSION, True) if rtype == td.REPLY_OK else -1).encode())
        os._exit(0)
    os.close(w)
    sid = int(os.read(r, 64) or b"-1")
    os.close(r)
    os.waitpid(pid, 0)
    assert sid > 0, "session not opened"
    return sid


@test
def a_host_reconciles_only_its_own_sessions(fleet):
    """A pid means something on its own host only: web1 never ends web2's
    sessions as "process gone" (both run here, but each looks at its own)."""
    a, b = fleet.host("web1"), fleet.host("web2")
    sid = session_from_gone_process(b)
    assert td.cli(a, "session", "list", "--all").returncode == 0  # web1 reconciles before it lists
    assert fleet.sql("SELECT ended, host FROM sessions WHERE id = %d" % sid) == [("0", "web2")]
    p = td.cli(a, "--json", "session", "list", "--all")
    assert [x["id"] for x in json.loads(p.stdout)["sessions"]] == [sid], "listed on every host"
    assert td.cli(b, "session", "list", "--all").returncode == 0  # web2 finds its process gone
    assert fleet.sql("SELECT end_reason FROM sessions WHERE id = %d" % sid) == [("process gone",)]


def wait_until(what, timeout=60):
    """A bounded wait for an outcome (the daemon reconnects with backoff)."""
    deadline = time.monotonic() + timeout
    while True:
        v = what()
        if v:
            return v
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@test
def database_down_denies_answers_ping_and_recovers(fleet):
    a = fleet.host("web1", "postgresql_timeout = 1s\n")
    assert decision(a, td.OP_PREAUTH) == 0
    fleet.cluster.stop()
    try:
        rtype, f = a.call(td.login_frame(td.OP_PREAUTH))
        assert rtype == td.REPLY_ERROR and td.get(f, td.T_ERRNO, True) in ENOTCONN_LIKE, f
        assert td.get(f, td.T_MESSAGE) == "database unavailable", f
        rtype, f = a.call(td.frame(td.OP_PING))
        assert rtype == td.REPLY_OK, "PING is answered while the database is away"
        r = td.cli(a, "status", "--user", "alice")
        assert r.returncode != 0 and "database unavailable" in r.stderr, (r.stdout, r.stderr)
    finally:
        fleet.cluster.start()

    def back():
        rtype, f = a.call(td.login_frame(td.OP_PREAUTH))
        return rtype == td.REPLY_OK

    wait_until(back)
    assert "connected again" in open(a.log).read()


@test
def database_killed_while_requests_run(fleet):
    a = fleet.host("web1", "postgresql_timeout = 1s\ndeny = 0\n")
    s = a.connect()
    assert a.call(td.login_frame(td.OP_AUTHFAIL), s)[0] == td.REPLY_OK
    fleet.cluster.kill()
    try:
        rtype, f = a.call(td.login_frame(td.OP_AUTHFAIL), s)
        assert rtype == td.REPLY_ERROR, "a failure that could not be counted is never answered as counted"
        assert a.call(td.frame(td.OP_PING), s)[0] == td.REPLY_OK
    finally:
        fleet.cluster.start()
    wait_until(lambda: a.call(td.login_frame(td.OP_AUTHFAIL), s)[0] == td.REPLY_OK)
    s.close()
    assert fleet.sql("SELECT failures FROM lockout WHERE \"user\" = 'alice'") == [("2",)]


@test
def a_wrong_connection_string_fails_closed_with_a_clear_log(fleet):
    a = fleet.host("web1", "")
    a.stop()
    with open(a.conf, "w") as f:
        f.write("store = postgresql\npostgresql = %s\nfleet_key = %s\n"
                % (fleet.cluster.conninfo("no_such_db"), fleet.key))
    a.start()
    rtype, f = a.call(td.login_frame(td.OP_PREAUTH))
    assert rtype == td.REPLY_ERROR and td.get(f, td.T_MESSAGE) == "database unavailable", f
    log = open(a.log).read()
    assert "no_such_db" in log and "logins are denied until it is back" in log, log


@test
def each_request_has_its_own_postgresql_timeout(fleet):
    # Requests back to back for longer than postgresql_timeout: each has the
    # budget from its own first statement.  (It was keyed by the fiber's
    # address, which the next request's fiber reuses when nothing runs in
    # between: once the first request's budget had passed, every request
    # failed, the reconnections too.  Found by bench/run.sh.)
    h = fleet.host("web1", "postgresql_timeout = 1s\n")
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        assert decision(h, td.OP_PREAUTH) == 0
    assert "postgresql_timeout" not in open(h.log).read(), open(h.log).read()[-2000:]


@test
def a_missing_fleet_key_refuses_to_start(fleet):
    a = Host.__new__(Host)
    a.fleet, a.host_id = fleet, "web1"
    td.Daemon.__init__(a, start=False)
    fleet.hosts.append(a)
    with open(a.conf, "w") as f:
        f.write("store = postgresql\npostgresql = %s\nfleet_key = %s/none\n" % (fleet.conninfo, fleet.keydir))
    a.start(expect_ready=False)
    assert a.wait() != 0
    assert "fleet key" in open(a.log).read() and "refusing to start" in open(a.log).read()


def main():
    try:
        cluster = pgcluster.PgCluster(fsync=False)
    except pgcluster.PgMissing as e:
        print("1..0 # SKIP %s" % e)
        return 77
    names = [fn for fn in TESTS if not sys.argv[1:] or any(a in fn.__name__ for a in sys.argv[1:])]
    print("1..%d" % len(names))
    failed = 0
    try:
        for i, fn in enumerate(names, 1):
            fleet = None
            try:
                fleet = Fleet(cluster, "t%d" % i)
                fn(fleet)
                print("ok %d - %s" % (i, fn.__name__))
            except Exception:  # noqa: BLE001 - reported as TAP
                failed += 1
                print("not ok %d - %s" % (i, fn.__name__))
                for line in traceback.format_exc().splitlines():
                    print("# " + line)
                for h in fleet.hosts if fleet else ():
                    for line in open(h.log).read().splitlines()[-15:]:
                        print("#   %s: %s" % (h.host_id, line))
            finally:
                if fleet:
                    fleet.cleanup()
            sys.stdout.flush()
    finally:
        cluster.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
