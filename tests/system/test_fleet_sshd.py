#!/usr/bin/python3
"""Tiers 4 and 6 together: a fleet of two "hosts" on this machine, web1 and
web2, each a real acctsecd with store = postgresql on one private
PostgreSQL database (tests/fleet/pgcluster.py; distinct host_id, one fleet
key) and each with its own real sshd on 127.0.0.1 (its own port, its own
PAM service file whose pam_acctsec.so line names that host's socket).
Through real SSH logins (paramiko, keyboard-interactive: pam_unix password,
then the TOTP code): one TOTP enrolment on web1 serves web2, a code used on
web2 is refused on web1, wrong passwords spread over both hosts lock the
user on both, and an unlock on web2 holds on web1; the database is checked
afterwards (lockout, mfa_totp.last_step, events and their host).  Root only;
exit 77 without PostgreSQL's binaries, sshd or paramiko.  Creates a user and
/etc/pam.d/acctsec-fleet-web1 and -web2; removes them.  TAP output."""
import os
import shutil
import sys
import time

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)
if not os.access("/usr/sbin/sshd", os.X_OK):
    print("# skipped: no /usr/sbin/sshd (Debian: openssh-server)", file=sys.stderr)
    sys.exit(77)
try:
    import paramiko  # noqa: F401 - sshd_env's client (Debian: python3-paramiko)
except ImportError:
    print("# skipped: no paramiko (Debian: python3-paramiko)", file=sys.stderr)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fleet"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import pgcluster  # noqa: E402
from sshd_env import Env, totp  # noqa: E402
from test_fleet import Fleet  # noqa: E402 - the database and the fleet key

try:
    cluster = pgcluster.PgCluster(fsync=False)
except pgcluster.PgMissing as e:
    print("# skipped: %s" % e, file=sys.stderr)
    sys.exit(77)

USER = "acctsec-fl-%d" % os.getpid()
PASSWORD = "Correct-Horse-5"
WRONG = "wrong-password"
fleet = Fleet(cluster, "acctsec")
web1 = Env("acctsec-fleet-web1.", "acctsec-fleet-web1")
web2 = Env("acctsec-fleet-web2.", "acctsec-fleet-web2")
tap = web1.tap  # one TAP stream for both hosts

SETTINGS = ("store = postgresql\npostgresql = %s\nhost_id = %%s\nfleet_key = %s\n"
            "deny = 3\ntotp_window = 3\nmfa = required\n" % (fleet.conninfo, fleet.key))
SSHD = ("KbdInteractiveAuthentication yes\nPasswordAuthentication no\nPubkeyAuthentication no\n"
        "AuthenticationMethods keyboard-interactive\nAllowUsers %s\n" % USER)


def sql(text):
    return fleet.sql(text.replace("$USER", "'%s'" % USER))


def lockout():
    return sql('SELECT failures, locked_until <> 0 FROM lockout WHERE "user" = $USER')


def main():
    web1.add_user(USER, password=PASSWORD)  # one account: both "hosts" are this machine
    for env, host in ((web1, "web1"), (web2, "web2")):
        env.start_daemon(SETTINGS % host)
        env.start_sshd(env.mfa_stack(), SSHD)
    tap(web1.port != web2.port and web1.sock != web2.sock, "two hosts: own sshd port, own acctsecd socket")
    step = totp_once_across_hosts()
    lockout_across_hosts(step)


def totp_once_across_hosts():
    """Enrolled on web1; a code used on web2 is refused on web1; the next
    step's code passes on web1.  Returns the last step used."""
    secret, r = web1.enrol_totp(USER)
    tap(r.returncode == 0, "web1's CLI: TOTP enrolled and confirmed", r.stderr)
    step = int(time.time()) // 30
    code = totp(secret, step)
    r = web2.login(USER, answers=[PASSWORD, code])
    tap(r.ok and len(r.prompts) == 2 and "Verification code" in r.prompts[1],
        "ssh web2: password + the TOTP enrolled on web1 accepted", r.prompts)
    r = web1.login(USER, answers=[PASSWORD, code])
    tap(not r.ok, "ssh web1: the code used on web2 is refused (replay across hosts)", r.prompts)
    r = web1.login(USER, answers=[PASSWORD, totp(secret, step + 1)])
    tap(r.ok, "ssh web1: password + the next step's code accepted", r.prompts)
    got = sql('SELECT active, last_step FROM mfa_totp WHERE "user" = $USER')
    tap(got == [("1", str(step + 1))], "database: one mfa_totp row, last_step = the step used on web1", got)
    got = sql("SELECT type, host FROM events WHERE \"user\" = $USER AND type IN ('code_used', 'code_refused') "
              "ORDER BY id")
    tap([(t, h) for t, h in got if t == "code_used"] == [("code_used", "web2"), ("code_used", "web1")]
        and ("code_refused", "web1") in got,
        "database: code_used on web2 then web1, the replay's code_refused on web1", got)
    tap(lockout() in ([], [("0", "f")]), "database: the success on web1 cleared the replay's failure", lockout())
    return secret, step + 1


def lockout_across_hosts(last):
    """Wrong passwords on web1, web2, web1: locked on both; unlocked on web2, web1 lets the user in."""
    secret, step = last
    for i, env in enumerate((web1, web2, web1), 1):
        r = env.login(USER, answers=[WRONG, totp(secret, step + 1)])
        tap(not r.ok, "ssh %s: wrong password %d of 3 refused" % (env.service[-4:], i), r.prompts)
    tap(lockout() == [("3", "t")], "database: one lockout row for the fleet, 3 failures, locked", lockout())
    for env in (web1, web2):
        r = env.login(USER, answers=[PASSWORD, totp(secret, step + 1)])
        tap(not r.ok, "ssh %s: locked: the right password and a new code refused" % env.service[-4:], r.prompts)
    tap(lockout() == [("3", "t")], "database: still 3 failures, still locked", lockout())
    got = sql("SELECT type, host, detail FROM events WHERE \"user\" = $USER AND type IN ('auth_failure', 'lockout') "
              "AND detail LIKE 'failures=%' ORDER BY id")
    tap(got == [("auth_failure", "web1", "failures=1"), ("auth_failure", "web2", "failures=2"),
                ("auth_failure", "web1", "failures=3"), ("lockout", "web1", "failures=3")],
        "database: the wrong passwords' events name web1, web2, web1; the lockout web1", got)
    got = sql("SELECT host, detail FROM events WHERE \"user\" = $USER AND type = 'login_denied' ORDER BY id")
    tap(got == [("web1", "locked"), ("web2", "locked")], "database: login_denied 'locked' on web1 and web2", got)
    r = web2.cli("lockout", "reset", "--user", USER)
    tap(r.returncode == 0, "web2's CLI: acctsec lockout reset", r.stderr)
    r = web1.login(USER, answers=[PASSWORD, totp(secret, step + 1)])
    tap(r.ok, "ssh web1: after the unlock on web2, password + a new code accepted", r.prompts)
    tap(lockout() in ([], [("0", "f")]), "database: the tally is clear", lockout())
    got = sql('SELECT last_step FROM mfa_totp WHERE "user" = $USER')
    tap(got == [(str(step + 1),)], "database: last_step moved forward to the code used last", got)
    got = sql("SELECT type, host FROM events WHERE \"user\" = $USER AND type IN ('unlock', 'auth_success') "
              "ORDER BY id")
    tap(("unlock", "web2") in got and got[-1] == ("auth_success", "web1"),
        "database: the unlock on web2, then the login on web1", got)


def end_web2():
    web2.failed = web1.failed  # its logs too, when the run failed
    web2.cleanup()


web1.run(main, after=(end_web2, cluster.cleanup))
