#!/usr/bin/env python3
"""Tier 6: moving a host in.  A real SQLite acctsecd builds a host's state
through the real CLI and protocol (failures and a lock, a TOTP enrolment,
backup codes, a token, an address, a disabled account, an allowlist, the
events of all that); it is stopped, `acctsecd --import-from` (and `acctsec
fleet import`) merges it into a fleet database of a private PostgreSQL
cluster, and a PostgreSQL acctsecd host then serves what moved.  Prints TAP.
Needs ACCTSEC_BUILD_DIR; exits 77 without PostgreSQL's binaries."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "system"))

import pgcluster  # noqa: E402
import test_daemon as td  # noqa: E402
import test_fleet as tf  # noqa: E402
from sshd_env import totp  # noqa: E402

OP_MFA_VERIFY, T_CODE = 10, 6
TABLES = ["lockout", "events", "mfa_totp", "backup_codes", "tokens", "email_codes", "email", "account",
          "mfa_required", "notify", "password_history", "allowlist", "sessions", "known_sources", "mail_sent",
          "phone", "known_countries", "devices"]


def decision(d, op, user="alice", **kw):
    rtype, f = d.call(td.login_frame(op, user=user, **kw))
    assert rtype == td.REPLY_OK, (op, f, open(d.log).read()[-2000:])
    return td.get(f, td.T_DECISION, True)


def cli_ok(d, *args):
    r = td.cli(d, *args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def mfa_verify(d, code, user="alice"):
    rtype, f = d.call(td.frame(OP_MFA_VERIFY, (td.T_USER, user), (td.T_SERVICE, "sshd"), (T_CODE, code)))
    assert rtype == td.REPLY_OK, f
    return td.get(f, td.T_DECISION, True)


class OldHost:
    """A host's SQLite state, made by a real acctsecd and the real CLI, then
    stopped: what `acctsec fleet import` moves into the fleet."""

    def __init__(self, address="alice@example.org", alice_failures=1):
        self.d = d = td.Daemon()
        self.state = d.state
        for _ in range(3):
            decision(d, td.OP_AUTHFAIL, user="bob")  # bob: locked
        for _ in range(alice_failures):
            decision(d, td.OP_AUTHFAIL)
        out = json.loads(cli_ok(d, "--json", "mfa", "enroll", "totp", "--user", "alice"))
        self.secret = out["secret"]
        cli_ok(d, "mfa", "confirm", totp(self.secret, int(time.time()) // 30 - 1), "--user", "alice")
        self.codes = json.loads(cli_ok(d, "--json", "backup-codes", "generate", "--user", "alice"))["backup_codes"]
        self.token = json.loads(cli_ok(d, "--json", "token", "create", "--user", "alice", "--name", "ci",
                                       "--expires", "1", "--services", "imap"))["token"]
        cli_ok(d, "email", "set", address, "--user", "alice")
        cli_ok(d, "phone", "set", "+4915112345678", "--user", "alice")
        cli_ok(d, "account", "disable", "--user", "bob")
        cli_ok(d, "allowlist", "add", "LOCAL", "--user", "alice")
        cli_ok(d, "allowlist", "add", "192.0.2.0/24", "--user", "alice")
        cli_ok(d, "notify", "off", "--user", "alice")
        cli_ok(d, "mfa", "require", "--user", "bob")
        tf.session_from_gone_process(d, "192.0.2.5")  # a session, and a source seen
        self.events = d.db("SELECT type, user FROM events ORDER BY id")
        assert d.stop() == 0
        assert len(self.events) > 10, self.events

    def key(self):
        with open(os.path.join(self.state, "secret.key"), "rb") as f:
            return f.read()

    def cleanup(self):
        self.d.cleanup()


def import_conf(fleet, host_id, key=None):
    """An acctsec.conf for the import: the fleet, this host's name."""
    path = os.path.join(fleet.keydir, "import-%s.conf" % host_id)
    with open(path, "w") as f:
        f.write("store = postgresql\npostgresql = %s\nhost_id = %s\nfleet_key = %s\n"
                % (fleet.conninfo, host_id, key or fleet.key))
    return path


def run_import(fleet, state, host_id, *extra, key=None):
    p = subprocess.run([td.DAEMON, "--import-from", state, "--config", import_conf(fleet, host_id, key), *extra],
                       capture_output=True, text=True, timeout=300)
    return p


def report(fleet, state, host_id, *extra):
    p = run_import(fleet, state, host_id, "--json", *extra)
    assert p.returncode == 0, (p.stdout, p.stderr)
    return json.loads(p.stdout)


def use_host_key_as_fleet_key(fleet, old):
    """The documented way: the first host's secret.key becomes the fleet key."""
    with open(fleet.key, "wb") as f:
        f.write(old.key())


def conflicts(doc, table):
    return [(c["user"], c["what"], c["items"]) for c in doc["conflicts"] if c["table"] == table]


def fleet_step(fleet):
    return int(fleet.sql("SELECT floor(extract(epoch FROM clock_timestamp()))::bigint")[0][0]) // 30


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def a_host_moves_in_whole_when_its_key_is_the_fleet_key(fleet, old):
    use_host_key_as_fleet_key(fleet, old)
    doc = report(fleet, old.state, "web1")
    assert doc["committed"] and doc["host_key_is_fleet_key"] and not doc["dry_run"], doc
    assert list(doc["tables"]) == TABLES
    t = doc["tables"]
    assert t["lockout"]["imported"] == 2 and t["mfa_totp"]["imported"] == 1, t
    assert t["backup_codes"]["imported"] == 10 and t["tokens"]["imported"] == 1, t
    assert t["events"]["imported"] == len(old.events) and t["allowlist"]["imported"] == 2, t
    assert t["email"]["imported"] == 1 and t["account"]["imported"] == 1, t
    for table in ("notify", "mfa_required", "sessions", "known_sources", "phone"):
        assert t[table]["imported"] == 1, (table, t)
    assert conflicts(doc, "allowlist") == [("alice", "a list the fleet did not have: it now limits these logins"
                                            " on every host", ["192.0.2.0/24", "LOCAL"])], doc["conflicts"]
    assert [c for c in doc["conflicts"] if c["table"] != "allowlist"] == [], doc["conflicts"]
    # the events, in order, with this host's name
    assert fleet.sql("SELECT type, \"user\", host FROM events ORDER BY id") == [
        (t_, u, "web1") for t_, u in old.events]
    assert fleet.sql("SELECT host, ended FROM sessions") == [("web1", "0")], "active, this host's"
    # the host comes back on PostgreSQL: everything works as it did
    h = fleet.host("web1")
    assert decision(h, td.OP_PREAUTH, user="bob") == 1, "bob's lock moved"
    assert decision(h, td.OP_ACCOUNT, user="bob") != 0, "bob's account is still disabled"
    assert fleet.sql("SELECT failures FROM lockout WHERE \"user\" = 'alice'") == [("1",)]
    assert mfa_verify(h, totp(old.secret, fleet_step(fleet))) == 0, "the TOTP, re-sealed, opens"
    assert mfa_verify(h, old.codes[0]) == 0, "a backup code works"
    assert tf.token_decision(h, old.token) == (td.REPLY_OK, 0), "the token works"
    st = json.loads(cli_ok(h, "--json", "mfa", "status", "--user", "alice"))
    assert st["email"] == "alice@example.org" and st["backup_codes_left"] == 9, st
    assert st["phone"] == "+4915112345678", st
    assert decision(h, td.OP_PREAUTH, rhost="198.51.100.7") != 0, "alice's allowlist moved"
    # the session is this host's: web1 finds its process gone, as it would have
    cli_ok(h, "session", "list", "--all")
    assert fleet.sql("SELECT host, end_reason FROM sessions") == [("web1", "process gone")]
    assert fleet.sql("SELECT rhost FROM known_sources WHERE \"user\" = 'root'") == [("192.0.2.5",)]
    assert fleet.sql("SELECT DISTINCT key_id FROM mfa_totp UNION ALL SELECT DISTINCT key_id FROM tokens") == \
        fleet.sql("SELECT value FROM acctsec_meta WHERE key = 'fleet_key_id'") * 2


@test
def with_another_key_hashed_secrets_are_reported_and_totp_still_moves(fleet, old):
    text = run_import(fleet, old.state, "web1", "--dry-run").stdout
    assert "tokens: alice: must be made again (acctsec token create): the host key is not the fleet key [ci]" \
        in text and "backup_codes: alice: must be regenerated" in text and "[10 rows]" in text, text
    doc = report(fleet, old.state, "web1")
    assert not doc["host_key_is_fleet_key"], doc
    t = doc["tables"]
    assert t["mfa_totp"]["imported"] == 1, t
    assert t["backup_codes"]["not_importable"] == 10 and t["backup_codes"]["imported"] == 0, t
    assert t["tokens"]["not_importable"] == 1 and t["tokens"]["imported"] == 0, t
    assert conflicts(doc, "tokens") == [("alice", "must be made again (acctsec token create): the host key is not"
                                         " the fleet key", ["ci"])], doc["conflicts"]
    assert [(u, c["rows"]) for u, c in [(c["user"], c) for c in doc["conflicts"] if c["table"] == "backup_codes"]] \
        == [("alice", 10)], doc["conflicts"]
    assert fleet.sql("SELECT count(*) FROM tokens UNION ALL SELECT count(*) FROM backup_codes") == [("0",), ("0",)]
    h = fleet.host("web1")
    assert mfa_verify(h, totp(old.secret, fleet_step(fleet))) == 0, "re-sealed with the fleet key"
    assert tf.token_decision(h, old.token) != (td.REPLY_OK, 0)


def fleet_rows(fleet):
    return {t: fleet.sql("SELECT * FROM %s ORDER BY 1, 2" % t)
            for t in ("mfa_totp", "email", "account", "tokens", "backup_codes")}


@test
def a_second_host_that_conflicts_is_reported_and_changes_nothing_it_reports(fleet, old):
    use_host_key_as_fleet_key(fleet, old)
    report(fleet, old.state, "web1")
    # web2: the same users, set up otherwise (its own key: nothing hashed moves)
    web2 = OldHost(address="alice@web2.example", alice_failures=2)
    try:
        before = fleet_rows(fleet)
        locked = fleet.sql("SELECT failures, locked_until FROM lockout WHERE \"user\" = 'bob'")
        doc = report(fleet, web2.state, "web2")
        assert fleet_rows(fleet) == before, "nothing of the fleet's reported rows changed"
        assert conflicts(doc, "mfa_totp") == [
            ("alice", "the fleet's active TOTP kept; this host's active TOTP not applied (the user keeps the"
                      " fleet's authenticator entry)", [])], doc["conflicts"]
        assert conflicts(doc, "email") == [
            ("alice", "the fleet's kept (address alice@example.org); this host's not applied"
                      " (address alice@web2.example)", [])], doc["conflicts"]
        assert conflicts(doc, "backup_codes") == [
            ("alice", "not applied: they go with this host's TOTP, which was not applied", [])], doc["conflicts"]
        t = doc["tables"]
        assert t["account"]["same"] == 1 and t["allowlist"]["same"] == 2, t
        assert t["lockout"]["merged"] == 2, t
        lines = dict(((u, tuple(i)), w) for u, w, i in conflicts(doc, "lockout"))
        assert lines[("alice", ())] == "kept the stricter state: failures 2, not locked (this host: failures 2," \
            " not locked)", lines
        assert lines[("bob", ())].startswith("kept the stricter state: failures 3, locked until "), lines
        assert fleet.sql("SELECT failures FROM lockout ORDER BY 1") == [("2",), ("3",)]
        now_locked = int(fleet.sql("SELECT locked_until FROM lockout WHERE \"user\" = 'bob'")[0][0])
        assert now_locked >= int(locked[0][1]) > 0, (now_locked, locked)
        hosts = fleet.sql("SELECT host, count(*) FROM events GROUP BY host ORDER BY host")
        assert [h for h, _ in hosts] == ["web1", "web2"], hosts
        # the fleet's TOTP still serves alice on a fleet host; web2's does not
        h = fleet.host("web1", "deny = 10\n")
        step = fleet_step(fleet)
        assert mfa_verify(h, totp(web2.secret, step)) != 0
        assert mfa_verify(h, totp(old.secret, step)) == 0
    finally:
        web2.cleanup()


@test
def a_wrong_fleet_key_is_refused_and_nothing_is_written(fleet, old):
    h = fleet.host("web1")  # records the fleet key's id
    assert decision(h, td.OP_PREAUTH) == 0
    other = os.path.join(fleet.keydir, "other.key")
    fd = os.open(other, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, os.urandom(32))
    os.close(fd)
    p = run_import(fleet, old.state, "web2", key=other)
    assert p.returncode == 1 and "is not the fleet's" in p.stderr and "nothing was imported" in p.stderr, p
    assert p.stdout == ""
    assert fleet.sql("SELECT count(*) FROM events UNION ALL SELECT count(*) FROM lockout") == [("0",), ("0",)]
    assert fleet.sql("SELECT count(*) FROM acctsec_meta WHERE key LIKE 'imported:%'") == [("0",)]


@test
def a_missing_state_dir_is_refused(fleet, old):
    p = run_import(fleet, old.state + ".none", "web1")
    assert p.returncode == 1 and "No such file or directory" in p.stderr and "nothing was imported" in p.stderr, p
    p = run_import(fleet, old.state + ".none", "web1", "--json")
    assert p.returncode == 1 and json.loads(p.stdout)["exit_status"] == 1, p
    empty = os.path.join(fleet.keydir, "empty")
    os.mkdir(empty, 0o700)
    p = run_import(fleet, empty, "web1")
    assert p.returncode == 1 and "no acctsec database to import" in p.stderr, p
    assert fleet.sql("SELECT to_regclass('acctsec_meta') IS NULL") == [("t",)], "no schema was made"


@test
def a_fleet_on_sqlite_is_refused(fleet, old):
    conf = os.path.join(fleet.keydir, "sqlite.conf")
    with open(conf, "w") as f:
        f.write("store = sqlite\n")
    p = subprocess.run([td.DAEMON, "--import-from", old.state, "--config", conf], capture_output=True, text=True)
    assert p.returncode == 1 and "does not say store = postgresql" in p.stderr, p


@test
def a_dry_run_writes_nothing(fleet, old):
    doc = report(fleet, old.state, "web1", "--dry-run")
    assert doc["dry_run"] and not doc["committed"] and doc["tables"]["events"]["imported"] == len(old.events), doc
    assert fleet.sql("SELECT to_regclass('acctsec_meta') IS NULL") == [("t",)], "not even the schema"
    h = fleet.host("web1")  # makes the schema
    assert decision(h, td.OP_PREAUTH) == 0
    h.stop()
    n = fleet.sql("SELECT count(*) FROM events")
    report(fleet, old.state, "web1", "--dry-run")
    assert fleet.sql("SELECT count(*) FROM events") == n
    assert fleet.sql("SELECT count(*) FROM acctsec_meta WHERE key LIKE 'imported:%'") == [("0",)]
    # ... and the real one after it, once
    assert report(fleet, old.state, "web1")["committed"]
    p = run_import(fleet, old.state, "web1")
    assert p.returncode == 1 and "was imported on" in p.stderr and "twice" in p.stderr, p


@test
def the_cli_runs_the_import_as_root_only(fleet, old):
    env = dict(os.environ, ACCTSEC_DAEMON=td.DAEMON)
    cli = os.path.join(td.BUILD, "acctsec")
    conf = import_conf(fleet, "web1")
    p = subprocess.run([cli, "--json", "fleet", "import", "--state-dir", old.state, "--config", conf, "--dry-run"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p
    doc = json.loads(p.stdout)
    assert doc["dry_run"] and doc["tables"]["mfa_totp"]["imported"] == 1, doc
    if td.ROOT:
        exe = td.cli_exe(old.d)  # where uid 1001 may run it
        p = subprocess.run([exe, "fleet", "import", "--state-dir", old.state, "--config", conf], env=env,
                           capture_output=True, text=True, user=1001, group=1001, extra_groups=[], cwd=old.d.dir)
        assert p.returncode == 4 and "fleet import: only root" in p.stderr, p
    p = subprocess.run([cli, "fleet", "import", "stray"], capture_output=True, text=True, env=env)
    assert p.returncode == 2, p
    assert fleet.sql("SELECT to_regclass('acctsec_meta') IS NULL") == [("t",)]


def main():
    return tf.run_tests(TESTS, "i", lambda: [OldHost()])


if __name__ == "__main__":
    sys.exit(main())
