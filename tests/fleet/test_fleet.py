#!/usr/bin/env python3
"""Tier 6: a fleet.  Several real acctsecd "hosts" on this machine share one
real PostgreSQL (a private cluster started here, a database per test), spoken
to in raw frames and through the CLI.  Prints TAP.  Needs ACCTSEC_BUILD_DIR;
exits 77 without PostgreSQL's binaries."""
import json
import re
import os
import secrets
import signal
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
EHOSTDOWN = 112  # "database unavailable": the one errno for it (the module's failmode decides)


class Host(td.Daemon):
    """acctsecd with store = postgresql: one host of the fleet."""

    def __init__(self, fleet, host_id, conf=""):
        self.fleet = fleet
        self.host_id = host_id
        super().__init__(conf=conf)

    def write_conf(self, text):
        key, previous = getattr(self, "fleet_key_override", (self.fleet.key, ""))
        if text or not hasattr(self, "extra_conf"):
            self.extra_conf = text
        with open(self.conf, "w") as f:
            f.write("store = postgresql\npostgresql = %s\nhost_id = %s\nfleet_key = %s\nfleet_key_previous = %s\n%s"
                    % (self.fleet.conninfo, self.host_id, key, previous, self.extra_conf))

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
    assert fleet.sql("SELECT key_id = (SELECT value FROM acctsec_meta WHERE key = 'fleet_key_id') FROM mfa_totp")\
        == [("t",)], "the sealed secret names the key it was sealed with"


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


OP_TOKEN_AUTH, T_TOKEN, OP_MFA_BEGIN, T_MFA = 34, 49, 9, 29


def cli_ok(h, *args):
    r = td.cli(h, *args)
    assert r.returncode == 0, (h.host_id, args, r.stdout, r.stderr)
    return r.stdout


def token_decision(h, token, user="alice"):
    rtype, f = h.call(td.frame(OP_TOKEN_AUTH, (td.T_USER, user), (td.T_SERVICE, "imap"), (T_TOKEN, token)))
    return (rtype, td.get(f, td.T_DECISION, True))


@test
def every_admin_change_on_one_host_holds_on_the_others(fleet):
    a, b = fleet.host("web1", "deny = 10\n"), fleet.host("web2", "deny = 10\n")
    # disable / enable
    cli_ok(a, "account", "disable", "--user", "alice")
    assert decision(b, td.OP_ACCOUNT) != 0, "disabled on web1, refused on web2"
    cli_ok(b, "account", "enable", "--user", "alice")
    assert decision(a, td.OP_ACCOUNT) == 0
    # the global allowlist
    cli_ok(a, "allowlist", "add", "192.0.2.0/24")
    assert decision(b, td.OP_PREAUTH, rhost="198.51.100.7") != 0, "outside the list made on web1"
    assert decision(b, td.OP_PREAUTH, rhost="192.0.2.9") == 0
    cli_ok(b, "allowlist", "remove", "192.0.2.0/24")
    assert decision(a, td.OP_PREAUTH, rhost="198.51.100.7") == 0
    # a token made on one host works on the other until revoked on either
    token = json.loads(cli_ok(a, "--json", "token", "create", "--user", "alice", "--name", "ci", "--expires", "1",
                              "--services", "imap"))["token"]
    assert token_decision(b, token) == (td.REPLY_OK, 0)
    assert fleet.sql("SELECT last_used > 0 FROM tokens WHERE name = 'ci'") == [("t",)], "last use recorded"
    cli_ok(b, "token", "revoke", "ci", "--user", "alice")
    assert token_decision(a, token) != (td.REPLY_OK, 0), "revoked on web2, refused on web1"
    # an MFA reset
    out = json.loads(cli_ok(a, "--json", "mfa", "enroll", "totp", "--user", "alice"))
    step = int(fleet.sql("SELECT floor(extract(epoch FROM clock_timestamp()))::bigint")[0][0]) // 30
    cli_ok(a, "mfa", "confirm", totp(out["secret"], step - 1), "--user", "alice")
    rtype, f = b.call(td.login_frame(OP_MFA_BEGIN))
    assert rtype == td.REPLY_OK and td.get(f, T_MFA, True) != 0, f
    cli_ok(b, "mfa", "reset", "--user", "alice")
    rtype, f = a.call(td.login_frame(OP_MFA_BEGIN))
    assert rtype == td.REPLY_OK and td.get(f, T_MFA, True) == 0, "reset on web2, no factor on web1: %r" % f
    hosts = dict(fleet.sql("SELECT type, string_agg(DISTINCT host, ',') FROM events"
                           " WHERE type IN ('account_disabled', 'account_enabled', 'mfa_reset') GROUP BY type"))
    assert hosts == {"account_disabled": "web1", "account_enabled": "web2", "mfa_reset": "web2"}, hosts


OP_SESSION_OPEN, T_SESSION = 38, 52


@test
def a_texted_code_sent_by_one_host_is_used_once_on_another(fleet):
    """Texted codes on PostgreSQL: the number set on one host, the code
    texted by a second (its gateway program), used on a third, once."""
    import test_sms as ts
    gw = os.path.join(fleet.keydir, "send-sms")
    out = os.path.join(fleet.keydir, "texts")
    with open(gw, "w") as f:
        f.write('#!/bin/sh\ncat >> %s\necho >> %s\n' % (out, out))
    os.chmod(gw, 0o755)
    conf = "mfa = required\nsms_transport = command\nsms_command = %s\n" % gw
    a, b, c = fleet.host("web1", conf), fleet.host("web2", conf), fleet.host("web3", conf)
    cli_ok(a, "phone", "set", ts.NUMBER, "--user", "alice")
    attempt = ts.begin_texted(b)
    rtype, f = ts.send(b, attempt)
    assert rtype == td.REPLY_OK and td.get(f, ts.T_SENT, True) == 1, f
    with open(out) as fh:
        code = ts.code_in(fh.read())
    assert td.get(ts.verify(c, attempt, code)[1], td.T_DECISION, True) == 0
    assert td.get(ts.verify(a, attempt, code)[1], td.T_DECISION, True) == 2, "a texted code used twice"
    assert fleet.sql("SELECT type, detail, host FROM events WHERE type IN ('code_sent', 'code_used') ORDER BY id") == [
        ("code_sent", "login code to " + ts.MASKED, "web2"), ("code_used", "texted code", "web3")]
    assert fleet.sql("SELECT number, codes FROM phone WHERE \"user\" = 'alice'") == [(ts.NUMBER, "0")]


@test
def a_recovery_code_asked_on_one_host_counts_on_another(fleet):
    """Password recovery on PostgreSQL: the code made by one host (mailed
    to its maildir), a wrong one counted by another, the right one refused
    there once alice is locked (the password itself is replaced only by a
    real login: tests/system/test_sshd_recovery.py)."""
    import test_recovery as tr
    conf = "password_recovery = yes\ndeny = 2\nmaildir = %s/maildir\n" % fleet.keydir
    a, b = fleet.host("web1", conf), fleet.host("web2", conf)
    cli_ok(a, "email", "set", "alice@example.com", "--user", "alice")
    decision, attempt, msg = tr.begin(a)
    assert decision == 0 and msg == tr.SENT
    wait_until(lambda: fleet.sql("SELECT count(*) FROM events WHERE type = 'code_sent'") == [("1",)])
    assert fleet.sql("SELECT purpose, address FROM email_codes WHERE attempt = '%s'" % attempt) == [
        ("4", "alice@example.com")]
    rtype, f = tr.verify(b, attempt, "wrong")
    assert td.get(f, td.T_DECISION, True) == 2, f
    rtype, f = tr.verify(a, attempt, "wrong")
    assert td.get(f, td.T_DECISION, True) == 1, "the second failure, on another host, locks"
    assert fleet.sql("SELECT failures FROM lockout WHERE \"user\" = 'alice'") == [("2",)]
    assert fleet.sql("SELECT type, detail, host FROM events WHERE type = 'code_refused' ORDER BY id") == [
        ("code_refused", "recovery code: wrong code", "web2"), ("code_refused", "recovery code: wrong code", "web1")]


@test
def relief_holds_for_the_whole_fleet(fleet):
    """Second-factor relief on PostgreSQL: a trusted network spares the code
    on any host; a device remembered after a good code on one host spares it
    on another; a revoke on a third ends it everywhere."""
    T_REASON = 93
    conf = ("mfa = required\nmfa_skip_networks = 10.9.0.0/16\nremember_device = 1d\n"
            "allowlist = 192.0.2.0/24,10.9.0.0/16\n")
    a, b, c = fleet.host("web1", conf), fleet.host("web2", conf), fleet.host("web3", conf)

    def begin(h, rhost):
        rtype, f = h.call(td.login_frame(OP_MFA_BEGIN, rhost=rhost))
        assert rtype == td.REPLY_OK, f
        return td.get(f, T_MFA, True), td.get(f, T_REASON)

    assert begin(a, "10.9.1.2") == (0, "trusted network 10.9.0.0/16")
    out = json.loads(cli_ok(a, "--json", "mfa", "enroll", "totp", "--user", "alice"))
    step = int(fleet.sql("SELECT floor(extract(epoch FROM clock_timestamp()))::bigint")[0][0]) // 30
    cli_ok(b, "mfa", "confirm", totp(out["secret"], step - 1), "--user", "alice")
    assert begin(b, "192.0.2.7")[0] == 1, "no device yet: the code is asked"
    rtype, f = a.call(td.frame(OP_MFA_VERIFY, (td.T_USER, "alice"), (td.T_SERVICE, "sshd"), (td.T_RHOST, "192.0.2.7"),
                               (T_CODE, totp(out["secret"], step))))
    assert rtype == td.REPLY_OK and td.get(f, td.T_DECISION, True) == 0, f
    ask, reason = begin(b, "192.0.2.7")
    assert ask == 0 and reason.startswith("remembered device 192.0.2.7 until "), reason
    assert fleet.sql("SELECT kind, device FROM devices") == [("address", "192.0.2.7")]
    cli_ok(c, "device", "revoke", "--all", "--user", "alice")
    assert begin(b, "192.0.2.7")[0] == 1, "revoked on web3, still spared on web2"
    assert fleet.sql("SELECT type, host FROM events WHERE type IN ('mfa_skipped', 'device_remembered',"
                     " 'device_revoked') ORDER BY id") == [
        ("mfa_skipped", "web1"), ("device_remembered", "web1"), ("mfa_skipped", "web2"), ("device_revoked", "web3")]


def session_from_gone_process(h, rhost=None):
    """A session of root (from rhost, if given) opened on host h by a process
    that exits: its id."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        fields = [(td.T_USER, "root"), (td.T_SERVICE, "sshd")] + ([(td.T_RHOST, rhost)] if rhost else [])
        rtype, f = h.call(td.frame(OP_SESSION_OPEN, *fields))
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


class Leader:
    """A process that opens a session of root on host h and stays until it
    is ended (SIGHUP/SIGTERM from the host that terminates it)."""

    def __init__(self, h):
        r, w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(r)
                rtype, f = h.call(td.frame(OP_SESSION_OPEN, (td.T_USER, "root"), (td.T_SERVICE, "sshd")))
                os.write(w, str(td.get(f, T_SESSION, True) if rtype == td.REPLY_OK else -1).encode())
                os.close(w)
                while True:
                    signal.pause()
            finally:
                os._exit(1)  # never the test's own code in the child
        os.close(w)
        self.sid = int(os.read(r, 64) or b"-1")
        os.close(r)
        assert self.sid > 0, "session not opened"

    def wait_ended(self, timeout=60):
        """Until the process is gone (killed by the host that ends it): its
        status (bounded: a host that never ends it fails the test)."""
        deadline = time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = None
                return status
            assert time.monotonic() < deadline, "the session's leader was not ended"
            time.sleep(0.05)

    def kill(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


@test
def a_new_country_is_new_once_for_the_whole_fleet(fleet):
    """geoip_database on each host: sessions and events carry the location
    in PostgreSQL as in SQLite, and the countries a user logged in from are
    the fleet's: the first (on web1) is learned quietly, a second (on web2)
    is one new_location_login, and web1 does not see it new again."""
    a = fleet.host("web1")
    db = td.make_mmdb(a)
    if not db:
        return td.NO_WRITER
    conf = "geoip_database = %s\n" % db
    a.write_conf(conf)
    a.stop()
    a.start()
    b = fleet.host("web2", conf)
    session_from_gone_process(a, "127.0.0.1")
    sid = session_from_gone_process(b, "127.0.0.2")
    session_from_gone_process(a, "127.0.0.2")
    assert fleet.sql("SELECT host, country, city FROM sessions WHERE id = %d" % sid) == [("web2", "FR", "Paris")]
    ev = fleet.sql("SELECT host, rhost, country, city FROM events WHERE type = 'new_location_login'")
    assert ev == [("web2", "127.0.0.2", "FR", "Paris")], ev
    assert fleet.sql("SELECT country FROM known_countries ORDER BY country") == [("DE",), ("FR",)]
    doc = json.loads(cli_ok(a, "--json", "log", "show", "--all", "--type", "session_opened"))
    assert [(e["host"], e["country"], e["city"]) for e in doc["events"]] == [
        ("web1", "FR", "Paris"), ("web2", "FR", "Paris"), ("web1", "DE", "Berlin")], doc


@test
def terminate_on_one_host_ends_a_session_on_another(fleet):
    a, b = fleet.host("web1"), fleet.host("web2")
    leader = Leader(b)
    try:
        doc = json.loads(cli_ok(a, "--json", "session", "list", "--all"))
        assert [(x["id"], x["host"]) for x in doc["sessions"]] == [(leader.sid, "web2")], doc
        out = cli_ok(a, "session", "terminate", str(leader.sid))
        assert "is on host web2: that host ends it" in out, out
        assert os.WIFSIGNALED(leader.wait_ended()), "web2 ended its leader"
        wait_until(lambda: fleet.sql("SELECT end_reason, end_requested_by FROM sessions WHERE id = %d"
                                     % leader.sid) == [("terminated", "root")])
        ev = fleet.sql("SELECT host, detail FROM events WHERE type = 'session_terminated'")
        assert ev == [("web2", "session %d ended by root" % leader.sid)], ev
    finally:
        leader.kill()


@test
def a_terminate_asked_while_the_host_was_down_is_done_when_it_is_back(fleet):
    a, b = fleet.host("web1"), fleet.host("web2")
    leader = Leader(b)
    try:
        b.stop()
        doc = json.loads(cli_ok(a, "--json", "session", "terminate", "--all-others", "--user", "root"))
        assert doc["requested_on_other_hosts"] == 1 and doc["terminated"] == 0, doc
        assert fleet.sql("SELECT ended FROM sessions WHERE id = %d" % leader.sid) == [("0",)]
        b.start()  # connects, and looks for what was asked of it meanwhile
        assert os.WIFSIGNALED(leader.wait_ended())
        wait_until(lambda: fleet.sql("SELECT end_reason FROM sessions WHERE id = %d" % leader.sid)
                   == [("terminated",)])
    finally:
        leader.kill()


@test
def an_export_misses_no_event_a_slow_host_commits_late(fleet):
    """A slow host takes an event id, then web1 logs more (larger ids,
    committed first).  An export started meanwhile waits for the slow one
    and has every event; without the wait it would end at the larger ids
    and the next export, after them, would never see the smaller one."""
    a = fleet.host("web1", "postgresql_timeout = 20s\n")
    assert decision(a, td.OP_PREAUTH) == 0  # the schema is there
    slow = fleet.cluster.session(fleet.db)
    try:
        slow.run("SET acctsec.host_id = 'slow'; SET acctsec.key_id = ''; BEGIN")
        slow.run("INSERT INTO events (time, type, \"user\", service, rhost, tty, actor, detail)"
                 " SELECT 1, 'auth_failure', 'carol', 'sshd', '', '', '', 'late'"
                 " FROM pg_advisory_xact_lock_shared(1633907829)")
        for _ in range(2):
            assert decision(a, td.OP_AUTHFAIL, user="bob") == 0
        result = {}
        t = threading.Thread(target=lambda: result.update(p=td.cli(a, "log", "export", "--all", "--format",
                                                                     "json")))
        t.start()
        wait_until(lambda: fleet.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                     " AND NOT granted") == [("1",)])
        slow.run("COMMIT")
        t.join()
        assert result["p"].returncode == 0, result["p"].stderr
        events = json.loads(result["p"].stdout)
        assert [(e["user"], e["host"]) for e in events] == [("carol", "slow"), ("bob", "web1"), ("bob", "web1")],\
            events
    finally:
        slow.close()


# Sessions holding the maintenance lock (MAINTENANCE_LEAD in pgsql_sql.c).
LEADERS = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 1633907830 AND granted"


@test
def one_host_at_a_time_purges_for_the_fleet(fleet):
    """Each host reconciles its own sessions; purges (old events, ended
    sessions, mail counts) are the fleet's, led by the one host whose
    session holds the maintenance lock."""
    hosts = [fleet.host("h%d" % i) for i in range(3)]
    for h in hosts:  # each has connected and had its first tick (at start)
        assert decision(h, td.OP_PREAUTH) == 0
    wait_until(lambda: fleet.sql(LEADERS) == [("1",)])  # three ticks, one leader


def new_key(fleet, name):
    path = os.path.join(fleet.keydir, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, secrets.token_bytes(32))
    os.close(fd)
    return path


def restart_with_keys(h, key, previous=""):
    h.stop()
    h.fleet_key_override = (key, previous)
    h.write_conf("")
    h.start()


@test
def the_fleet_key_rotates_without_a_login_lost(fleet):
    """Every host gets the new key (fleet_key) and keeps the old one
    (fleet_key_previous); one host re-seals; what was hashed under the old
    key (backup codes, tokens) keeps working until replaced."""
    a, b = fleet.host("web1"), fleet.host("web2")
    out = json.loads(cli_ok(a, "--json", "mfa", "enroll", "totp", "--user", "alice"))
    step = int(fleet.sql("SELECT floor(extract(epoch FROM clock_timestamp()))::bigint")[0][0]) // 30
    cli_ok(a, "mfa", "confirm", totp(out["secret"], step - 1), "--user", "alice")
    backup = json.loads(cli_ok(a, "--json", "backup-codes", "generate", "--user", "alice"))["backup_codes"]
    token = json.loads(cli_ok(a, "--json", "token", "create", "--user", "alice", "--name", "ci", "--expires", "1",
                              "--services", "imap"))["token"]
    old_id = fleet.sql("SELECT value FROM acctsec_meta WHERE key = 'fleet_key_id'")[0][0]
    old, new = fleet.key, new_key(fleet, "new.key")
    for h in (a, b):
        restart_with_keys(h, new, old)
    state = json.loads(td.cli(b, "--json", "fleet", "key", "check").stdout)
    assert state["state"] == "rotation pending" and state["fleet_key_id"] == old_id, state
    code = totp(out["secret"], step)
    rtype, f = b.call(td.frame(OP_MFA_VERIFY, (td.T_USER, "alice"), (td.T_SERVICE, "sshd"), (T_CODE, code)))
    assert rtype == td.REPLY_OK and td.get(f, td.T_DECISION, True) == 0, "old-key secret before the rotation"
    doc = json.loads(cli_ok(a, "--json", "fleet", "key", "rotate"))
    assert doc["state"] == "ok" and doc["resealed"] == 1 and doc["totp_secrets_under_other_keys"] == 0, doc
    assert doc["hashes_under_other_keys"] == 10 + 1, doc  # 10 backup codes and the token, still usable
    new_id = doc["key_id"]
    assert fleet.sql("SELECT value FROM acctsec_meta WHERE key = 'fleet_key_id'") == [(new_id,)]
    assert fleet.sql("SELECT key_id FROM mfa_totp") == [(new_id,)]
    code = totp(out["secret"], step + 1)  # within totp_window, after the one used
    rtype, f = b.call(td.frame(OP_MFA_VERIFY, (td.T_USER, "alice"), (td.T_SERVICE, "sshd"), (T_CODE, code)))
    assert rtype == td.REPLY_OK and td.get(f, td.T_DECISION, True) == 0, "the re-sealed secret on the other host"
    rtype, f = a.call(td.frame(OP_MFA_VERIFY, (td.T_USER, "alice"), (td.T_SERVICE, "sshd"), (T_CODE, backup[0])))
    assert rtype == td.REPLY_OK and td.get(f, td.T_DECISION, True) == 0, "an old-key backup code"
    assert token_decision(b, token) == (td.REPLY_OK, 0), "an old-key token"
    assert fleet.sql("SELECT count(*) FROM events WHERE type = 'fleet_key_rotated' AND detail = '%s'" % new_id)\
        == [("1",)]
    # Without the previous key, what it hashed no longer works; a host with
    # only the old key refuses to start.
    restart_with_keys(b, new)
    assert token_decision(b, token) != (td.REPLY_OK, 0)
    a.stop()
    a.fleet_key_override = (old, "")
    a.write_conf("")
    a.start(expect_ready=False)
    assert a.wait() != 0 and "is not the fleet's (id %s)" % new_id in open(a.log).read()


@test
def the_sessions_of_a_host_gone_for_good_are_ended_by_the_fleet(fleet):
    """A host that is not seen for a day (no maintenance tick) cannot end its
    sessions any more: the host that leads maintenance ends them, "host
    gone", and logs it.  A host that is only down for a while keeps them."""
    a, b = fleet.host("web1"), fleet.host("web2")
    sid = session_from_gone_process(b)  # its process is gone, but only web2 may say so
    b.stop()
    assert decision(a, td.OP_PREAUTH) == 0
    a.stop()
    wait_until(lambda: fleet.sql(LEADERS) == [("0",)])  # its old backend let the lock go
    a.start()  # a maintenance tick at start: web2 was seen moments ago
    assert decision(a, td.OP_PREAUTH) == 0
    assert fleet.sql("SELECT ended FROM sessions WHERE id = %d" % sid) == [("0",)]
    fleet.sql("UPDATE hosts SET last_seen = last_seen - 86401 WHERE host = 'web2'")
    a.stop()
    wait_until(lambda: fleet.sql(LEADERS) == [("0",)])  # its old backend let the lock go
    a.start()
    wait_until(lambda: fleet.sql("SELECT end_reason FROM sessions WHERE id = %d" % sid) == [("host gone",)])
    ev = fleet.sql("SELECT host, detail FROM events WHERE type = 'session_closed'")
    assert ev == [("web1", "session %d: host gone (web2, not seen for a day)" % sid)], ev


@test
def fleet_hosts_lists_every_host_with_its_sessions(fleet):
    """acctsec fleet hosts: each host that has run (its maintenance tick at
    start records it), by name, with its active sessions; the host that
    answers is seen now.  Users may not read it."""
    a, b = fleet.host("web2"), fleet.host("web1")
    for h in (a, b):
        assert decision(h, td.OP_PREAUTH) == 0
    wait_until(lambda: fleet.sql("SELECT count(*) FROM hosts") == [("2",)])  # both ticked
    for _ in range(2):
        assert b.call(td.frame(OP_SESSION_OPEN, (td.T_USER, "root"), (td.T_SERVICE, "sshd")))[0] == td.REPLY_OK
    assert a.call(td.frame(OP_SESSION_OPEN, (td.T_USER, "alice"), (td.T_SERVICE, "sshd")))[0] == td.REPLY_OK
    fleet.sql("UPDATE hosts SET last_seen = 1700000000")
    doc = json.loads(cli_ok(a, "--json", "fleet", "hosts"))
    assert doc["fleet"] is True, doc
    assert [(h["host"], h["sessions"]) for h in doc["hosts"]] == [("web1", 2), ("web2", 1)], doc
    web1, web2 = doc["hosts"]
    assert web1["last_seen"] == 1700000000 and web2["last_seen"] > 1700000000, "web2 answers: seen now"
    text = cli_ok(b, "fleet", "hosts").splitlines()  # web1 answers: now web2 is the one seen long ago
    assert [line.split()[0] for line in text] == ["HOST", "web1", "web2"], text
    long_ago = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1700000000))
    assert text[2].split()[1:] == long_ago.split() + ["1"] and long_ago not in text[1], text
    if td.ROOT:
        r = td.cli(a, "--json", "fleet", "hosts", uid=1001)
        assert r.returncode == 4 and json.loads(r.stdout)["exit_status"] == 4, r


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
        assert rtype == td.REPLY_ERROR and td.get(f, td.T_ERRNO, True) == EHOSTDOWN, f
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


def signal_cluster(cluster, sig):
    pid = cluster.postmaster_pid()
    for p in [pid] + pgcluster.children_of(pid):
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


@test
def a_hung_database_denies_within_postgresql_timeout(fleet):
    """Every PostgreSQL process stopped (SIGSTOP): the statement never
    answers, connection attempts hang.  Each request fails at its
    postgresql_timeout (the log says so), PING is answered meanwhile, and all
    is well again once the server resumes."""
    a = fleet.host("web1", "postgresql_timeout = 1s\n")
    assert decision(a, td.OP_PREAUTH) == 0
    signal_cluster(fleet.cluster, signal.SIGSTOP)
    try:
        for _ in range(2):  # the hung statement; then one during the backoff or a hung connection attempt
            rtype, f = a.call(td.login_frame(td.OP_PREAUTH))
            assert rtype == td.REPLY_ERROR and td.get(f, td.T_MESSAGE) == "database unavailable", f
            assert a.call(td.frame(td.OP_PING))[0] == td.REPLY_OK
        assert "no answer within postgresql_timeout" in open(a.log).read()
    finally:
        signal_cluster(fleet.cluster, signal.SIGCONT)
    wait_until(lambda: a.call(td.login_frame(td.OP_PREAUTH))[0] == td.REPLY_OK)


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
def a_promoted_standby_takes_over_through_a_multi_host_string(fleet):
    """Primary and streaming standby (synchronous: what was answered is on
    both), one connection string naming both with target_session_attrs =
    read-write: after the primary dies and the standby is promoted, the host
    carries on against it with every counted failure."""
    primary = pgcluster.PgCluster(fsync=False)
    standby = None
    try:
        ha = Fleet(primary, "ha")
        standby = primary.make_standby(synchronous=True)
        ha.conninfo = ("host=%s,%s port=%d,%d dbname=ha user=%s target_session_attrs=read-write"
                       % (primary.sockdir, standby.sockdir, primary.port, standby.port, pgcluster.ADMIN))
        a = ha.host("web1", "postgresql_timeout = 1s\ndeny = 0\n")
        for _ in range(3):
            assert decision(a, td.OP_AUTHFAIL) == 0
        primary.kill()
        rtype, f = a.call(td.login_frame(td.OP_AUTHFAIL))
        assert rtype == td.REPLY_ERROR and td.get(f, td.T_MESSAGE) == "database unavailable", f
        standby.promote()
        wait_until(lambda: a.call(td.login_frame(td.OP_AUTHFAIL))[0] == td.REPLY_OK)
        assert standby.psql("ha", "SELECT failures, pg_is_in_recovery() FROM lockout") == [("4", "f")]
        ha.cleanup()
    finally:
        if standby:
            standby.cleanup()
        primary.cleanup()


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


@test
def a_host_with_another_key_refuses_to_start_and_says_why(fleet):
    a = fleet.host("web1")
    assert decision(a, td.OP_PREAUTH) == 0  # the first host recorded the fleet key's id
    fleet_id = fleet.sql("SELECT value FROM acctsec_meta WHERE key = 'fleet_key_id'")[0][0]
    assert len(fleet_id) == 16, fleet_id
    other = os.path.join(fleet.keydir, "other.key")
    fd = os.open(other, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, secrets.token_bytes(32))
    os.close(fd)
    b = Host.__new__(Host)
    b.fleet, b.host_id = fleet, "web2"
    td.Daemon.__init__(b, start=False)
    fleet.hosts.append(b)
    with open(b.conf, "w") as f:
        f.write("store = postgresql\npostgresql = %s\nhost_id = web2\nfleet_key = %s\n" % (fleet.conninfo, other))
    b.start(expect_ready=False)
    assert b.wait() != 0
    log = open(b.log).read()
    assert "is not the fleet's (id %s)" % fleet_id in log and "refusing to start" in log, log
    assert fleet.sql("SELECT value FROM acctsec_meta WHERE key = 'fleet_key_id'") == [(fleet_id,)]
    assert fleet.sql("SELECT DISTINCT key_id FROM mfa_totp UNION SELECT '-'") == [("-",)]


def run_tests(tests, prefix="t", extras=lambda: []):
    """TAP: each test named on the command line (a substring), or every one,
    runs with a fresh Fleet (database PREFIX<n>) of one private cluster and
    the objects extras() makes (each with a cleanup()); 77 without
    PostgreSQL's binaries."""
    try:
        cluster = pgcluster.PgCluster(fsync=False)
    except pgcluster.PgMissing as e:
        print("1..0 # SKIP %s" % e)
        return 77
    names = [fn for fn in tests if not sys.argv[1:] or any(a in fn.__name__ for a in sys.argv[1:])]
    print("1..%d" % len(names))
    failed = 0
    try:
        for i, fn in enumerate(names, 1):
            fleet, more = None, []
            try:
                fleet = Fleet(cluster, "%s%d" % (prefix, i))
                more = extras()
                fn(fleet, *more)
                crashed = [h.host_id for h in fleet.hosts if h.proc and (h.proc.poll() or 0) < 0]
                assert not crashed, "acctsecd died of a signal on %s" % crashed
                for h in fleet.hosts:  # stopped now: a sanitizer reports at exit
                    h.stop()
                reports = [h.host_id for h in fleet.hosts
                           if re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:", open(h.log).read())]
                assert not reports, "sanitizer reports in the logs of %s" % reports
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
                for x in more:
                    x.cleanup()
            sys.stdout.flush()
    finally:
        cluster.cleanup()
    return 1 if failed else 0


def main():
    return run_tests(TESTS)


if __name__ == "__main__":
    sys.exit(main())
