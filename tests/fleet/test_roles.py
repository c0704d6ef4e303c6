#!/usr/bin/env python3
"""Tier 6: a fleet with least privilege.  contrib/postgresql/acctsec-roles.sql
makes the roles and the database's grants on a private PostgreSQL cluster;
acctsecd makes the schema once as acctsec_owner (through acctsec_setup, the
one-shot run that doc/fleet.md gives), and then two real acctsecd hosts,
each logged in as its own role (acctsec_web1, acctsec_web2, no superuser),
serve logins, second factors, tokens, allowlists, sessions and the log.  A
host role cannot change the schema, truncate or rewrite the log, or erase
the fleet's records.  Prints TAP.  Needs ACCTSEC_BUILD_DIR; exits 77 without
PostgreSQL's binaries."""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "system"))

import test_daemon as td  # noqa: E402
import test_fleet as tf  # noqa: E402
import test_import as ti  # noqa: E402
from sshd_env import totp  # noqa: E402

ROLES_SQL = os.path.join(HERE, "..", "..", "contrib", "postgresql", "acctsec-roles.sql")
def schema_version():
    """pgsql_migrations_count: the steps of daemon/storage/pgsql_sql.c, each
    opened by its number in a comment ("/* 12 (PostgreSQL only): ...")."""
    text = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "daemon", "storage",
                             "pgsql_sql.c")).read()
    block = text[text.index("pgsql_migrations[] = {"):text.index("pgsql_migrations_count =")]
    return str(max(int(n) for n in re.findall(r"^\s*/\* (\d+)[ :(]", block, re.M)))


SCHEMA_VERSION = schema_version()
# What a host's role may touch, and how (daemon/storage/pgsql_sql.c, pgsql.c).
HOST_GRANTS = {
    "acctsec_meta": "INSERT,SELECT",
    "events": "DELETE,INSERT,SELECT",
    "allowlist": "DELETE,INSERT,SELECT", "password_history": "DELETE,INSERT,SELECT",
    "mail_sent": "DELETE,INSERT,SELECT",
    "email": "INSERT,SELECT,UPDATE", "account": "INSERT,SELECT,UPDATE", "notify": "INSERT,SELECT,UPDATE",
    "hosts": "INSERT,SELECT,UPDATE",
    "known_countries": "INSERT,SELECT,UPDATE",
    "phone": "DELETE,INSERT,SELECT,UPDATE",
}
FULL = "DELETE,INSERT,SELECT,UPDATE"
for t in ("lockout", "mfa_totp", "backup_codes", "email_codes", "mfa_required", "tokens", "sessions",
          "known_sources", "devices"):
    HOST_GRANTS[t] = FULL


def apply_roles(fleet, *hosts):
    """acctsec-roles.sql as the cluster's superuser, as the admin runs it
    (once without a host, then once per host)."""
    c = fleet.cluster
    for host in (None,) + hosts:
        args = c.psql_args("postgres") + ["-v", "db=" + fleet.db, "-f", ROLES_SQL]
        if host:
            args[-2:-2] = ["-v", "host=" + host]
        p = subprocess.run(args, capture_output=True, text=True, env=c._env(), timeout=120)
        assert p.returncode == 0, (host, p.stdout, p.stderr)


def conninfo(fleet, user, extra=""):
    c = fleet.cluster
    return ("host=%s port=%d dbname=%s user=%s %s" % (c.sockdir, c.port, fleet.db, user, extra)).strip()


def as_role(fleet, user, sql, extra=""):
    """psql logged in as user (trust: no password in the test cluster)."""
    c = fleet.cluster
    return subprocess.run([os.path.join(c.bindir, "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                           "-d", conninfo(fleet, user, extra), "-c", sql],
                          capture_output=True, text=True, env=c._env(), timeout=120)


SETUP = "options=-crole=acctsec_owner"


class RoleHost(tf.Host):
    """A fleet host that logs in as its own role, acctsec_<host_id>, or as
    the role given (acctsec_setup for the owner's one-shot run)."""

    def __init__(self, fleet, host_id, conf="", role=None, extra="", start=True):
        self.role, self.extra = role or "acctsec_" + host_id, extra
        self.fleet, self.host_id = fleet, host_id
        td.Daemon.__init__(self, conf=conf, start=start)
        fleet.hosts.append(self)

    def write_conf(self, text):
        # Mail to a Maildir of its own: the default, /var/lib/acctsec/maildir,
        # exists only where the package is (or was) installed.
        with open(self.conf, "w") as f:
            f.write("store = postgresql\npostgresql = %s\nhost_id = %s\nfleet_key = %s\nmaildir = %s\n%s"
                    % (conninfo(self.fleet, self.role, self.extra), self.host_id, self.fleet.key,
                       os.path.join(self.dir, "maildir"), text))


def setup_schema(fleet):
    """The documented first start: acctsecd as acctsec_setup becoming
    acctsec_owner, with --idle-exit 1: it migrates and records the fleet
    key's id before READY, then exits on its own.  Its log."""
    s = RoleHost(fleet, "setup", role="acctsec_setup", extra=SETUP, start=False)
    s.start(extra_args=("--idle-exit", "1"))
    assert s.wait(timeout=60) == 0, open(s.log).read()
    return open(s.log).read()


def prepared(fleet):
    """Roles, the schema made by the owner, the exact grants: the fleet of
    two hosts as doc/fleet.md sets it up."""
    apply_roles(fleet, "web1", "web2")
    log = setup_schema(fleet)
    assert "migrating the schema from version 0 to %s" % SCHEMA_VERSION in log, log
    apply_roles(fleet)  # again, now that the tables exist


def cli_ok(h, *args):
    r = td.cli(h, *args)
    assert r.returncode == 0, (h.host_id, args, r.stdout, r.stderr, open(h.log).read()[-2000:])
    return r.stdout


def denied(r):
    return r.returncode != 0 and ("permission denied" in r.stderr or "must be owner" in r.stderr)


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def the_owner_makes_the_schema_and_owns_every_object(fleet):
    apply_roles(fleet, "web1")
    # A host's role cannot make the schema: the host fails closed and says why.
    early = RoleHost(fleet, "web1")
    rtype, f = early.call(td.login_frame(td.OP_PREAUTH))
    assert rtype == td.REPLY_ERROR and td.get(f, td.T_MESSAGE) == "database unavailable", f
    assert "permission denied for schema public" in open(early.log).read(), open(early.log).read()[-2000:]
    early.stop()
    assert fleet.sql("SELECT to_regclass('acctsec_meta') IS NULL") == [("t",)]
    # Without options=-crole=acctsec_owner, acctsec_setup (NOINHERIT) makes nothing either.
    r = as_role(fleet, "acctsec_setup", "CREATE TABLE stray (a int)")
    assert denied(r), (r.stdout, r.stderr)
    log = setup_schema(fleet)
    assert "migrating the schema from version 0 to %s" % SCHEMA_VERSION in log, log
    assert fleet.sql("SELECT value FROM acctsec_meta WHERE key = 'schema_version'") == [(SCHEMA_VERSION,)]
    assert len(fleet.sql("SELECT value FROM acctsec_meta WHERE key = 'fleet_key_id'")[0][0]) == 16
    owners = fleet.sql("SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c"
                       " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
                       " UNION SELECT DISTINCT pg_get_userbyid(p.proowner) FROM pg_proc p"
                       " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
                       " UNION SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
    assert owners == [("acctsec_owner",)], owners
    apply_roles(fleet)
    grants = dict(fleet.sql("SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type)"
                            " FROM information_schema.role_table_grants WHERE grantee = 'acctsec_host'"
                            " GROUP BY table_name"))
    assert grants == HOST_GRANTS, grants
    funcs = fleet.sql("SELECT p.proname, has_function_privilege('acctsec_web1', p.oid, 'EXECUTE'),"
                      " has_function_privilege('public', p.oid, 'EXECUTE') FROM pg_proc p"
                      " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1")
    assert funcs == [(n, "t", "f") for n in ("acctsec_allowlist_count", "acctsec_events_horizon",
                                             "acctsec_mail_count", "acctsec_set_fleet_key",
                                             "acctsec_token_count")], funcs
    # The host that failed is served now (a new start, as after the admin's run).
    early.start()
    assert tf.decision(early, td.OP_PREAUTH) == 0


@test
def two_hosts_as_their_own_roles_serve_everything(fleet):
    prepared(fleet)
    a, b = RoleHost(fleet, "web1"), RoleHost(fleet, "web2")
    # lockout across hosts
    assert tf.decision(a, td.OP_AUTHFAIL) == 0
    assert tf.decision(b, td.OP_AUTHFAIL) == 0
    assert tf.decision(a, td.OP_AUTHFAIL) == 1
    assert tf.decision(b, td.OP_PREAUTH) == 1, "locked on web1, refused on web2"
    cli_ok(b, "lockout", "reset", "--user", "alice")
    assert tf.decision(a, td.OP_PREAUTH) == 0
    # TOTP: enrolled on one host, confirmed and used on the other, once
    out = json.loads(cli_ok(a, "--json", "mfa", "enroll", "totp", "--user", "alice"))
    step = int(fleet.sql("SELECT floor(extract(epoch FROM clock_timestamp()))::bigint")[0][0]) // 30
    cli_ok(b, "mfa", "confirm", totp(out["secret"], step - 1), "--user", "alice")
    code = totp(out["secret"], step)
    verify = td.frame(tf.OP_MFA_VERIFY, (td.T_USER, "alice"), (td.T_SERVICE, "sshd"), (tf.T_CODE, code))
    rtype, f = a.call(verify)
    assert rtype == td.REPLY_OK and td.get(f, td.T_DECISION, True) == 0, f
    rtype, f = b.call(verify)
    assert rtype == td.REPLY_OK and td.get(f, td.T_DECISION, True) != 0, "a replay on web2: %r" % f
    codes = json.loads(cli_ok(a, "--json", "backup-codes", "generate", "--user", "alice"))["backup_codes"]
    assert len(codes) == 10
    # a token: made on web1 (its cap counted by acctsec_token_count), used on web2, revoked on web1
    token = json.loads(cli_ok(a, "--json", "token", "create", "--user", "alice", "--name", "ci", "--expires", "1",
                              "--services", "imap"))["token"]
    assert tf.token_decision(b, token) == (td.REPLY_OK, 0)
    cli_ok(a, "token", "revoke", "ci", "--user", "alice")
    assert tf.token_decision(b, token) != (td.REPLY_OK, 0)
    # an allowlist entry (acctsec_allowlist_count), enforced on the other host
    cli_ok(a, "allowlist", "add", "192.0.2.0/24", "--user", "alice")
    assert tf.decision(b, td.OP_PREAUTH, rhost="198.51.100.7") != 0
    assert tf.decision(b, td.OP_PREAUTH, rhost="192.0.2.9") == 0
    # a session on web2, listed and terminated from web1 (NOTIFY), ended by web2
    leader = tf.Leader(b)
    try:
        doc = json.loads(cli_ok(a, "--json", "session", "list", "--all"))
        assert [(x["id"], x["host"]) for x in doc["sessions"]] == [(leader.sid, "web2")], doc
        assert "is on host web2: that host ends it" in cli_ok(a, "session", "terminate", str(leader.sid))
        leader.wait_ended()
        tf.wait_until(lambda: fleet.sql("SELECT end_reason FROM sessions WHERE id = %d" % leader.sid)
                      == [("terminated",)])
    finally:
        leader.kill()
    # the security log: shown and exported from either host, each event with its host
    shown = json.loads(cli_ok(b, "--json", "log", "show", "--user", "alice", "--limit", "100"))
    assert any(e["type"] == "token_revoked" for e in shown["events"]), shown
    exported = cli_ok(a, "log", "export", "--all", "--format", "csv")
    assert "lockout" in exported and "session_terminated" in exported, exported[:2000]
    hosts = dict(fleet.sql("SELECT type, string_agg(DISTINCT host, ',') FROM events"
                           " WHERE type IN ('lockout', 'session_terminated', 'token_created') GROUP BY type"))
    assert hosts == {"lockout": "web1", "session_terminated": "web2", "token_created": "web1"}, hosts
    # each host is logged in as its own role, none of them a superuser
    users = fleet.sql("SELECT DISTINCT usename, r.rolsuper FROM pg_stat_activity s JOIN pg_roles r"
                      " ON r.rolname = s.usename WHERE application_name = 'acctsecd' ORDER BY 1")
    assert users == [("acctsec_web1", "f"), ("acctsec_web2", "f")], users


@test
def an_emailed_code_and_the_mail_cap_as_a_host_role(fleet):
    prepared(fleet)
    a = RoleHost(fleet, "web1", "mfa = required\n")
    attempt = td.email_user(a, "bob", "bob@example.com")
    rtype, f = a.call(td.frame(td.OP_CODE_SEND, (td.T_USER, "bob"), (td.T_SERVICE, "sshd"), (td.T_ATTEMPT, attempt)))
    assert rtype == td.REPLY_OK and td.get(f, td.T_SENT, True) == 1, (f, open(a.log).read()[-2000:])
    assert fleet.sql("SELECT count(*) FROM mail_sent WHERE \"user\" = 'bob'") == [("1",)]
    assert fleet.sql("SELECT hash IS NOT NULL, host FROM email_codes JOIN events ON events.type = 'code_sent'"
                     " WHERE email_codes.\"user\" = 'bob'") == [("t", "web1")]


@test
def a_host_role_cannot_change_the_schema_or_erase_the_record(fleet):
    prepared(fleet)
    a = RoleHost(fleet, "web1")
    assert tf.decision(a, td.OP_AUTHFAIL) == 0  # an event to keep
    for sql in ("DROP TABLE events", "TRUNCATE events", "DELETE FROM acctsec_meta",
                "UPDATE acctsec_meta SET value = 'x' WHERE key = 'fleet_key_id'",
                "UPDATE events SET detail = 'rewritten'", "ALTER TABLE lockout ADD COLUMN x int",
                "CREATE TABLE stray (a int)", "CREATE TEMP TABLE stray (a int)",
                "CREATE FUNCTION acctsec_token_count(who text) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint'",
                "CREATE OR REPLACE FUNCTION acctsec_token_count(who text) RETURNS bigint"
                " LANGUAGE sql AS 'SELECT 0::bigint'",
                "SELECT setval('events_id_seq', 1)"):
        r = as_role(fleet, "acctsec_web1", sql)
        assert denied(r), (sql, r.returncode, r.stdout, r.stderr)
    r = as_role(fleet, "acctsec_web1", "SET ROLE acctsec_owner")
    assert r.returncode != 0, "a host cannot become the owner"
    assert fleet.sql("SELECT count(*) FROM events WHERE type = 'auth_failure'") == [("1",)]
    assert fleet.sql("SELECT count(*) FROM acctsec_meta") == [("2",)]
    # What it may do, it may do on purpose too (doc/fleet.md says so): the
    # host column is a claim, and the log can be purged.
    r = as_role(fleet, "acctsec_web1", "SELECT current_setting('acctsec.host_id')")
    assert r.returncode == 0 and r.stdout.strip() == "web1", (r.stdout, r.stderr)  # the role's default


@test
def a_pending_migration_fails_closed_until_the_owner_runs_it(fleet):
    """An upgraded acctsecd on a host role finds the schema older than its
    own: it cannot migrate, so it denies, and recovers by itself once the
    admin's one-shot run as the owner has migrated (doc/fleet.md,
    Upgrading)."""
    prepared(fleet)
    # The fleet as an older release left it: steps 13 to 17 not applied.
    fleet.sql("ALTER TABLE sessions DROP COLUMN end_requested, DROP COLUMN end_requested_by;"
              "DROP FUNCTION acctsec_events_horizon(); DROP FUNCTION acctsec_set_fleet_key(text);"
              "DROP TABLE hosts; DROP TABLE phone; DROP TABLE devices;"
              "ALTER TABLE sessions DROP COLUMN country, DROP COLUMN city;"
              "ALTER TABLE events DROP COLUMN country, DROP COLUMN city; DROP TABLE known_countries;"
              "UPDATE acctsec_meta SET value = '12' WHERE key = 'schema_version'")
    a = RoleHost(fleet, "web1", "postgresql_timeout = 1s\n")
    rtype, f = a.call(td.login_frame(td.OP_PREAUTH))
    assert rtype == td.REPLY_ERROR and td.get(f, td.T_MESSAGE) == "database unavailable", f
    assert "must be owner of table sessions" in open(a.log).read(), open(a.log).read()[-2000:]
    log = setup_schema(fleet)
    assert "migrating the schema from version 12 to %s" % SCHEMA_VERSION in log, log
    tf.wait_until(lambda: a.call(td.login_frame(td.OP_PREAUTH))[0] == td.REPLY_OK)


def import_conf(fleet, host_id, user, extra=""):
    conf = os.path.join(fleet.keydir, "import-%s.conf" % host_id)
    with open(conf, "w") as f:
        f.write("store = postgresql\npostgresql = %s\nhost_id = %s\nfleet_key = %s\n"
                % (conninfo(fleet, user, extra), host_id, fleet.key))
    return conf


def run_import(state, conf):
    return subprocess.run([td.DAEMON, "--import-from", state, "--config", conf],
                          capture_output=True, text=True, timeout=300)


@test
def an_import_needs_temporary_for_its_duration_or_the_owner(fleet):
    prepared(fleet)
    old, other = ti.OldHost(), None
    try:
        conf = import_conf(fleet, "web1", "acctsec_web1")

        def run():
            return run_import(old.state, conf)
        p = run()
        assert p.returncode == 1 and "permission denied to create temporary tables" in p.stderr, p
        fleet.sql('GRANT TEMPORARY ON DATABASE "%s" TO acctsec_web1' % fleet.db)
        p = run()
        fleet.sql('REVOKE TEMPORARY ON DATABASE "%s" FROM acctsec_web1' % fleet.db)
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert fleet.sql("SELECT count(*) FROM events WHERE host = 'web1'") == [(str(len(old.events)),)]
        a = RoleHost(fleet, "web1")
        assert tf.decision(a, td.OP_PREAUTH, user="bob") != 0, "bob's lock moved in"
        code = totp(old.secret, int(fleet.sql("SELECT floor(extract(epoch FROM clock_timestamp()))::bigint")
                                    [0][0]) // 30)
        assert ti.mfa_verify(a, code) == 0, "alice's TOTP moved in"
        # Another host's state, imported as the owner (the setup role).
        other = ti.OldHost(address="carol@example.org")
        p = run_import(other.state, import_conf(fleet, "web2", "acctsec_setup", SETUP))
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert fleet.sql("SELECT count(*) FROM events WHERE host = 'web2'") == [(str(len(other.events)),)]
    finally:
        old.cleanup()
        if other:
            other.cleanup()


def fleet_tests_as_a_host_role():
    """`test_roles.py --fleet-tests [NAME...]`: test_fleet.py's tests (but
    the standby's, which makes its own cluster), with every host logged in
    as acctsec_fleethost, a member of acctsec_host, on a schema the owner
    made: the check that the grants cover every path those tests take."""
    made = tf.Fleet.__init__

    def init(self, cluster, name):
        made(self, cluster, name)
        prepared(self)
        apply_roles(self, "fleethost")
        self.hosts, self.conninfo = [], conninfo(self, "acctsec_fleethost")
    tf.Fleet.__init__ = init
    return tf.run_tests([t for t in tf.TESTS if "standby" not in t.__name__], prefix="f")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fleet-tests"]:
        del sys.argv[1]
        sys.exit(fleet_tests_as_a_host_role())
    sys.exit(tf.run_tests(TESTS, prefix="r"))
