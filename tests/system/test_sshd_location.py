#!/usr/bin/python3
"""Tier 4: the location of a login through a real sshd on 127.0.0.1
(public-key logins, the session phase of a real /etc/pam.d service), a
real acctsecd with geoip_database pointing at a small .mmdb written by
tests/tools/make_mmdb.pl (127.0.0.1 = Berlin, DE; 127.0.0.2 = Paris, FR)
and a real SSH client (paramiko) whose socket is bound to 127.0.0.1 or
127.0.0.2, so that sshd's PAM_RHOST is that address.  The first login
(Berlin) is a new source, mailed with its location; the second (Paris) is
a new location: mailed once as such, logged as new_location_login; the
user's own `acctsec --json session list` shows both locations; `acctsec
log show` and `log export` carry them.  Root only (exit 77 otherwise);
without Perl's MaxMind::DB::Writer, skipped (exit 77).  TAP output."""
import json
import os
import socket
import subprocess
import sys

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)
if subprocess.run(["perl", "-MMaxMind::DB::Writer::Tree", "-e", "1"], capture_output=True).returncode != 0:
    print("# SKIP needs Perl's MaxMind::DB::Writer (Debian: libmaxmind-db-writer-perl)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paramiko  # noqa: E402 - after the root check (Debian: python3-paramiko)
from sshd_env import Env  # noqa: E402

MAKE_MMDB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "make_mmdb.pl")
USER = "acctsec-t7l-%d" % os.getpid()
env = Env("acctsec-sshd-location.", "acctsec-sshd-location")
tap = env.tap


def login_from(source, key):
    """A public-key login whose TCP connection comes from SOURCE (an address
    of the loopback network): sshd sees it as the remote host."""
    sock = socket.create_connection(("127.0.0.1", env.port), timeout=30, source_address=(source, 0))
    t = paramiko.Transport(sock)
    t.start_client(timeout=30)
    t.auth_publickey(USER, key)
    ch = t.open_session()  # a shell, so that the session stays open
    ch.get_pty()
    ch.invoke_shell()
    return t


def run(t, command):
    ch = t.open_session()
    ch.exec_command(command)
    out = ch.makefile().read().decode()
    err = ch.makefile_stderr().read().decode()
    return ch.recv_exit_status(), out, err


def sessions():
    return env.db("SELECT rhost, country, city FROM sessions WHERE user = ? AND ended = 0 ORDER BY id", USER)


def setup():
    db = os.path.join(env.work, "city.mmdb")
    subprocess.run(["perl", MAKE_MMDB, db], check=True, timeout=120)
    env.start_daemon("mail_transport = maildir\nmaildir = %s\nmail_from = acctsec@test.example\n"
                     "geoip_database = %s\n" % (env.maildir, db))
    keyfile = env.keygen("userkey")
    env.add_user(USER, key=open(keyfile + ".pub").read())
    key = paramiko.Ed25519Key.from_private_key_file(keyfile)
    mod = env.pam_module()
    env.start_sshd("auth     required pam_deny.so\n"
                   "account  required pam_unix.so\n"
                   "account  required %s\n"
                   "session  required pam_unix.so\n"
                   "session  optional %s\n" % (mod, mod),
                   "PubkeyAuthentication yes\nKbdInteractiveAuthentication no\nPasswordAuthentication no\n"
                   "AuthenticationMethods publickey\nAllowUsers %s\nUseDNS no\n" % USER)
    q = env.cli("email", "set", "%s@example.com" % USER, "--user", USER)
    tap(q.returncode == 0, "an admin sets the user's address (verified)", q.stderr)
    return key


def main():
    key = setup()
    berlin = login_from("127.0.0.1", key)
    rows = env.wait_for(sessions)
    tap(rows == [("127.0.0.1", "DE", "Berlin")], "login from 127.0.0.1: the session is in Berlin, DE", repr(rows))
    mails = env.wait_for(env.mails)
    tap(len(mails) == 1 and "Subject: New login to your account" in mails[0]
        and "where:   Berlin, Germany (DE)" in mails[0],
        "the first login: a new-source mail that names the location", repr(mails))
    paris = login_from("127.0.0.2", key)
    rows = env.wait_for(lambda: len(sessions()) == 2 and sessions())
    tap(rows and rows[-1] == ("127.0.0.2", "FR", "Paris"), "login from 127.0.0.2: the session is in Paris, FR",
        repr(rows))
    mails = env.wait_for(lambda: len(env.mails()) >= 2 and env.mails())
    new_location = [m for m in mails if "Subject: Login to your account from a new location" in m]
    tap(len(mails) == 2 and len(new_location) == 1 and "where:   Paris, France (FR)" in new_location[0],
        "a new country: one new-location mail naming Paris, France", repr(mails))
    ev = env.db("SELECT rhost, country, city, detail FROM events WHERE user = ? AND type = 'new_location_login'",
                USER)
    tap(len(ev) == 1 and ev[0][:3] == ("127.0.0.2", "FR", "Paris") and "notified" in ev[0][3],
        "new_location_login logged once, with the location", repr(ev))
    # the user's own list, from inside the Paris login
    rc, out, err = run(paris, "%s --socket %s --json session list" % (env.user_cli, env.sock))
    try:
        listed = {(s["rhost"], s["country"], s["city"], s["current"]) for s in json.loads(out)["sessions"]}
    except (ValueError, KeyError):
        listed = set()
    tap(rc == 0 and listed == {("127.0.0.1", "DE", "Berlin", False), ("127.0.0.2", "FR", "Paris", True)},
        "acctsec --json session list (the user's own) shows both locations", out + err)
    rc, out, err = run(paris, "%s --socket %s session list" % (env.user_cli, env.sock))
    tap(rc == 0 and "Paris, FR" in out and "Berlin, DE" in out and "LOCATION" in out,
        "acctsec session list shows a Location column", out + err)
    q = env.cli("--json", "log", "show", "--user", USER, "--type", "session_opened")
    opened = [(e["rhost"], e["country"], e["city"]) for e in json.loads(q.stdout)["events"]] if q.returncode == 0 \
        else []
    tap(opened == [("127.0.0.2", "FR", "Paris"), ("127.0.0.1", "DE", "Berlin")],
        "acctsec log show: session_opened events carry the location", q.stdout + q.stderr)
    q = env.cli("log", "export", "--user", USER, "--format", "csv")
    tap(q.returncode == 0 and any(",new_location_login," in r and r.endswith(",FR,Paris")
                                  for r in q.stdout.splitlines()),
        "acctsec log export (CSV) has the country and city", q.stdout + q.stderr)
    # again from Paris: nothing new
    again = login_from("127.0.0.2", key)
    env.wait_for(lambda: len(sessions()) == 3)
    tap(len(env.mails()) == 2 and env.events(USER, "new_location_login") == 1,
        "a second login from Paris: no mail, no new event", repr(env.mails()))
    for t in (berlin, paris, again):
        t.close()


env.run(main)
