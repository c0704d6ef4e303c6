#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The fleet tier: the PostgreSQL dialect (daemon/storage/pgsql_sql.c) on a
private cluster (pgcluster.py).  Prints TAP; exits 77 (skip) without
PostgreSQL's server binaries or without the check program (configure found
no libpq).  ACCTSEC_BUILD_DIR: the build (default ./build-dev).

- every operation prepares, with the parameters and types the engine binds;
- caps counted inside an INSERT stay exact when two transactions insert at
  once (and the SQLite form of the same statement, run as a control, does
  over-admit: the test can fail);
- backup codes made while another host disables TOTP do not outlive it;
- the harness itself: a kill -9 keeps what was committed, a standby
  follows and is promoted.
"""
import os
import re
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "booted")]
import pgcluster  # noqa: E402
from tap import Tap  # noqa: E402

BUILD = os.environ.get("ACCTSEC_BUILD_DIR") or "build-dev"
CHECK = os.path.join(BUILD, "tests", "fleet", "pg_catalogue_check")
DB = "acctsec"


def statement(name):
    """The PostgreSQL text of a catalogue operation."""
    p = subprocess.run([CHECK, "--print", name], capture_output=True, text=True, check=True)
    return p.stdout.strip()


def run_check(pg, db):
    return subprocess.run([CHECK, pg.conninfo(db)], capture_output=True, text=True, timeout=120)


def catalogue_prepares(pg):
    """On a database of its own: the migrations, then every statement."""
    pg.createdb("catalogue")
    p = run_check(pg, "catalogue")
    for line in p.stdout.splitlines():
        if not line.startswith("ok "):
            print("# " + line)
    assert p.returncode == 0, "pg_catalogue_check exited %d: %s" % (p.returncode, p.stderr)
    assert re.fullmatch(r"0 of [1-9][0-9]* operations failed", p.stdout.splitlines()[-1]), p.stdout


def host_column_is_filled_per_connection(pg):
    pg.psql(DB, "SET acctsec.host_id = 'host-a';"
            "PREPARE ev AS %s;"
            "EXECUTE ev(1, 'auth_failure', 'alice', 'sshd', '', '', '', '', '', '');" % statement("EVENT_ADD"))
    assert pg.psql(DB, "SELECT host FROM events WHERE \"user\" = 'alice'") == [("host-a",)]
    # No host id set: the row is refused, never written without one.
    try:
        pg.psql(DB, "INSERT INTO events (time, type, \"user\") VALUES (1, 'x', 'bob')")
    except pgcluster.PgError as e:
        assert "acctsec.host_id" in str(e), e
    else:
        raise AssertionError("an event was written without acctsec.host_id")


def wait_blocked_or_done(pg, session, deadline_s=30):
    """Until session's statement waits for a lock or has finished (the
    server tells; polled)."""
    end = time.monotonic() + deadline_s
    while True:
        row = pg.psql(DB, "SELECT coalesce(wait_event_type, ''), state FROM pg_stat_activity WHERE pid = %d"
                      % session.pid)
        if row and (row[0][0] == "Lock" or row[0][1] == "idle in transaction"):
            return row[0][0] == "Lock"
        assert time.monotonic() < end, "session %d neither blocked nor done: %s" % (session.pid, row)
        time.sleep(0.01)


def race(pg, sql, first, second, between=(), reset=""):
    """Two transactions on two connections: first runs its steps and stays
    open; second starts its first step (which may block on first); first
    runs `between` and commits; second finishes and commits.  Returns
    whether second's step blocked."""
    pg.psql(DB, "SET acctsec.key_id = 'key-of-the-test';" + reset)
    a, b = pg.session(DB), pg.session(DB)
    try:
        for s, host in ((a, "host-a"), (b, "host-b")):
            s.run("SET acctsec.host_id = '%s'" % host)
            s.run("SET acctsec.key_id = 'key-of-the-test'")
            for name, text in sql.items():
                s.run("PREPARE %s AS %s" % (name, text))
        a.run("BEGIN")
        for step in first:
            a.run(step)
        b.run("BEGIN")
        b.send(second[0])
        blocked = wait_blocked_or_done(pg, b)
        for step in between:
            a.run(step)
        a.run("COMMIT")
        b.result()
        for step in second[1:]:
            b.run(step)
        b.run("COMMIT")
        errors = a.error_text() + b.error_text()
        assert "ERROR" not in errors, errors
        return blocked
    finally:
        a.close()
        b.close()


# The caps: (operation, the SQLite-style subquery its count replaces, the
# function the PostgreSQL text calls, two inserts under a cap of 1, the count).
CAPS = [
    ("TOKEN_INSERT", "acctsec_token_count($1)", '(SELECT count(*) FROM tokens WHERE "user" = $1)',
     "EXECUTE op('u', 't1', '\\x01', 'sshd', 100, 200, 1)", "EXECUTE op('u', 't2', '\\x02', 'sshd', 100, 200, 1)",
     "SELECT count(*) FROM tokens WHERE \"user\" = 'u'", "DELETE FROM tokens"),
    ("ALLOWLIST_ADD", "acctsec_allowlist_count($1)", '(SELECT count(*) FROM allowlist WHERE "user" = $1)',
     "EXECUTE op('u', '10.0.0.1/32', 'root', 100, 1)", "EXECUTE op('u', '10.0.0.2/32', 'root', 100, 1)",
     "SELECT count(*) FROM allowlist WHERE \"user\" = 'u'", "DELETE FROM allowlist"),
    ("MAILCAP_ADD", "acctsec_mail_count($1, $3, $2, $4)",
     '(SELECT count(*) FROM (SELECT 1 FROM mail_sent WHERE "user" = $1 AND time > $3 AND time <= $2 LIMIT $4) c)',
     "EXECUTE op('u', 1000, 0, 1)", "EXECUTE op('u', 1001, 0, 1)",
     "SELECT count(*) FROM mail_sent WHERE \"user\" = 'u'", "DELETE FROM mail_sent"),
]


def cap_case(op, call, naive, first, second, count, reset):
    def check(pg):
        text = statement(op)
        assert call in text, text
        # The control: counted in a subquery (as SQLite does), the second
        # transaction does not wait and both rows go in.
        blocked = race(pg, {"op": text.replace(call, naive)}, [first], [second], reset=reset)
        got = pg.psql(DB, count)[0][0]
        assert not blocked and got == "2", "the control did not over-admit (blocked %s, %s rows)" % (blocked, got)
        blocked = race(pg, {"op": text}, [first], [second], reset=reset)
        got = pg.psql(DB, count)[0][0]
        assert blocked, "the second insert did not wait for the first"
        assert got == "1", "%s rows under a cap of 1" % got
    check.__name__ = "cap_is_exact_under_concurrency:" + op
    return check


def backup_codes_do_not_outlive_totp(pg):
    """Host B makes backup codes while host A disables TOTP (A's delete
    comes second): A waits, then deletes B's codes too."""
    sql = {"totp_delete": statement("TOTP_DELETE"), "backup_del_user": statement("BACKUP_DELETE_USER"),
           "backup_del": statement("BACKUP_DELETE_IF_ACTIVE"), "backup_ins": statement("BACKUP_INSERT_IF_ACTIVE")}
    reset = ("DELETE FROM backup_codes; DELETE FROM mfa_totp;"
             "INSERT INTO mfa_totp (\"user\", sealed, active, created) VALUES ('u', '\\x00', 1, 1)")
    maker = ["EXECUTE backup_del('u')", "EXECUTE backup_ins('u', '\\x01', 5)"]
    # one send: both run before the other transaction commits (or wait for it)
    disable = ["EXECUTE totp_delete('u'); EXECUTE backup_del_user('u')"]
    control = {k: v.replace(" FOR SHARE", "") for k, v in sql.items()}
    assert control != sql
    blocked = race(pg, control, maker, disable, reset=reset)
    orphans = pg.psql(DB, "SELECT count(*) FROM backup_codes")[0][0]
    assert not blocked and orphans == "1", "the control left no orphan (blocked %s, %s)" % (blocked, orphans)
    blocked = race(pg, sql, maker, disable, reset=reset)
    assert blocked, "the disable did not wait for the codes being made"
    assert pg.psql(DB, "SELECT count(*) FROM backup_codes")[0][0] == "0"
    # The other order: the codes wait for the disable and are not made.
    race(pg, sql, disable, maker, reset=reset)
    assert pg.psql(DB, "SELECT (SELECT count(*) FROM backup_codes) + (SELECT count(*) FROM mfa_totp)") == [("0",)]


def kill_keeps_committed_rows(pg):
    pg.psql(DB, "CREATE TABLE durable (x bigint); INSERT INTO durable VALUES (42)")
    pg.kill()
    pg.start()
    assert pg.psql(DB, "SELECT x FROM durable") == [("42",)]
    pg.psql(DB, "DROP TABLE durable")


def standby_follows_and_is_promoted(pg):
    with pg.make_standby() as sb:
        pg.psql(DB, "CREATE TABLE replicated (x bigint); INSERT INTO replicated VALUES (7)")
        pg.wait_replayed(sb)
        assert sb.psql(DB, "SELECT x FROM replicated") == [("7",)]
        assert sb.psql(DB, "SELECT pg_is_in_recovery()") == [("t",)]
        sb.promote()
        sb.psql(DB, "INSERT INTO replicated VALUES (8)")
        assert sb.psql(DB, "SELECT count(*) FROM replicated") == [("2",)]
    pg.psql(DB, "DROP TABLE replicated")


TESTS = [catalogue_prepares, host_column_is_filled_per_connection] + [cap_case(*c) for c in CAPS] + [
    backup_codes_do_not_outlive_totp, kill_keeps_committed_rows, standby_follows_and_is_promoted]


def main():
    if not os.access(CHECK, os.X_OK):
        print("1..0 # SKIP %s not built (configure found no libpq: apt-get install libpq-dev)" % CHECK)
        return 77
    try:
        pg = pgcluster.PgCluster(fsync=True)
    except pgcluster.PgMissing as e:
        print("1..0 # SKIP %s" % e)
        return 77
    tap = Tap()
    try:
        pg.createdb(DB)
        schema = run_check(pg, DB)  # the schema the other tests use
        for fn in [fn for fn in TESTS if not sys.argv[1:] or any(a in fn.__name__ for a in sys.argv[1:])]:
            try:
                assert fn is catalogue_prepares or schema.returncode == 0, "no schema:\n" + schema.stdout
                fn(pg)
                tap.ok(True, fn.__name__)
            except Exception:  # noqa: BLE001 - reported as TAP
                tap.ok(False, fn.__name__, traceback.format_exc() + "--- server log:\n" + pg.log_text(10))
    finally:
        pg.cleanup()
    tap.finish()

if __name__ == "__main__":
    sys.exit(main())
