#!/usr/bin/python3
"""Tier 4: sessions through a real sshd on 127.0.0.1 (public-key logins,
the session phase of a real /etc/pam.d service), a real acctsecd with a
maildir and a real SSH client (paramiko).  A login is recorded with the
key's fingerprint (sshd's SSH_AUTH_INFO_0) and mailed about once; the
user's own `acctsec session list`, run inside the login, marks that
session; `acctsec session terminate --all-others` from one login really
ends the other; root ends one by id; a normal logout closes the record; a
killed sshd is reconciled.  Root only (exit 77 otherwise).  TAP output."""
import json
import os
import select
import signal
import subprocess
import sys

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paramiko  # noqa: E402 - after the root check (Debian: python3-paramiko)
from sshd_env import Env  # noqa: E402

USER = "acctsec-t7s-%d" % os.getpid()
env = Env("acctsec-sshd-session.", "acctsec-sshd-session")
tap = env.tap


def login(key):
    t = env.transport()
    t.auth_publickey(USER, key)
    return t


def shell(t):
    """An interactive shell on a pty, as a person would have."""
    ch = t.open_session()
    ch.get_pty()
    ch.invoke_shell()
    return ch


def run(t, command):
    ch = t.open_session()
    ch.exec_command(command)
    out = ch.makefile().read().decode()
    err = ch.makefile_stderr().read().decode()
    return ch.recv_exit_status(), out, err


def active():
    return env.db("SELECT id, pid FROM sessions WHERE user = ? AND ended = 0 ORDER BY id", USER)


def ended(sid):
    return env.db("SELECT end_reason FROM sessions WHERE id = ? AND ended > 0", sid)


def wait_gone(pid, timeout=30):
    """Whether a process that is not ours has exited (a zombie too), waited
    for on its pidfd: readable once it exits.  The bound only guards
    against a hang."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True  # reaped already
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        return bool(p.poll(timeout * 1000))
    finally:
        os.close(fd)


def closed(t, ch):
    """Whether the server has ended a login (its shell's channel or the connection)."""
    return ch.closed or ch.exit_status_ready() or not t.is_active()


def setup():
    """acctsecd with a maildir, the user with a key, sshd (public keys only,
    acctsec in the account and session phases); the key and its fingerprint."""
    env.start_daemon("mail_transport = maildir\nmaildir = %s\nmail_from = acctsec@test.example\n" % env.maildir)
    keyfile = env.keygen("userkey")
    pub = open(keyfile + ".pub").read()
    fingerprint = subprocess.run(["ssh-keygen", "-lf", keyfile + ".pub"], capture_output=True, text=True,
                                 check=True).stdout.split()[1]
    env.add_user(USER, key=pub)
    key = paramiko.Ed25519Key.from_private_key_file(keyfile)
    mod = env.pam_module()
    env.start_sshd("auth     required pam_deny.so\n"
                   "account  required pam_unix.so\n"
                   "account  required %s\n"
                   "session  required pam_unix.so\n"
                   "session  optional %s\n" % (mod, mod),
                   "PubkeyAuthentication yes\nKbdInteractiveAuthentication no\nPasswordAuthentication no\n"
                   "AuthenticationMethods publickey\nAllowUsers %s\n" % USER)
    q = env.cli("email", "set", "%s@example.com" % USER, "--user", USER)
    tap(q.returncode == 0, "an admin sets the user's address (verified)", q.stderr)
    return key, fingerprint


def login_a(key, fingerprint):
    """Login A: recorded, with the key, and mailed about (a new source)."""
    a = login(key)
    a_shell = shell(a)
    rows = env.wait_for(active)
    tap(len(rows) == 1, "ssh login A: one active session recorded", repr(rows))
    a_id = rows[0][0] if rows else 0
    row = env.db("SELECT service, rhost FROM sessions WHERE id = ?", a_id)
    tap(row == [(env.service, "127.0.0.1")], "session A: service and source", repr(row))
    ev = env.db("SELECT detail FROM events WHERE user = ? AND type = 'session_opened'", USER)
    tap(ev == [("session %d, key %s" % (a_id, fingerprint),)], "session_opened names the key sshd used", repr(ev))
    mails = env.wait_for(env.mails)
    tap(len(mails) == 1 and "New login to your account" in mails[0] and fingerprint in mails[0]
        and "from:    127.0.0.1" in mails[0], "a new-source mail with the address and the key fingerprint",
        repr(mails))
    return a, a_shell, a_id


def login_b(key, a_id):
    """Login B, same key and address: no second mail; B lists both, B current."""
    b = login(key)
    env.wait_for(lambda: len(active()) == 2)
    rc, out, err = run(b, "%s --socket %s --json session list" % (env.user_cli, env.sock))
    try:
        listed = json.loads(out)["sessions"]
    except ValueError:
        listed = []
    current = [s["id"] for s in listed if s["current"]]
    b_id = max(s["id"] for s in listed) if listed else 0
    tap(rc == 0 and len(listed) == 2 and current == [b_id] and b_id != a_id,
        "inside login B, the user's own session list marks B as this session", out + err)
    tap(len(env.mails()) == 1 and env.db("SELECT count(*) FROM known_sources WHERE user = ?", USER) == [(1,)],
        "the same address and key again: no second mail", repr(env.mails()))
    return b, b_id


def b_ends_a(b, b_id, a, a_shell, a_id):
    """B signs A out: A's connection really ends."""
    rc, out, err = run(b, "%s --socket %s session terminate --all-others" % (env.user_cli, env.sock))
    tap(rc == 0 and "1 other session ended" in out, "from B: session terminate --all-others", out + err)
    tap(env.wait_for(lambda: closed(a, a_shell)), "login A's channel is closed by the server")
    tap(ended(a_id) == [("terminated",)] and len(active()) == 1 and active()[0][0] == b_id,
        "A's record ended (terminated); B stays", repr(env.db("SELECT * FROM sessions")))
    ev = env.db("SELECT actor FROM events WHERE user = ? AND type = 'session_terminated'", USER)
    tap(ev == [("",)], "session_terminated logged (by the user: no actor)", repr(ev))


def root_ends_c(key):
    """Root ends C by id."""
    c = login(key)
    c_shell = shell(c)
    env.wait_for(lambda: len(active()) == 2)
    c_id = active()[-1][0]
    q = env.cli("session", "terminate", str(c_id))
    tap(q.returncode == 0, "root: session terminate ID", q.stdout + q.stderr)
    tap(env.wait_for(lambda: closed(c, c_shell)), "login C's channel is closed by the server")
    ev = env.db("SELECT count(*) FROM events WHERE user = ? AND type = 'session_terminated' AND actor = 'root'", USER)
    tap(ended(c_id) == [("terminated",)] and ev == [(1,)], "C's record ended, actor root", repr(ev))
    return c


def killed_d(key):
    """D's sshd is killed: no close_session; the next list finds it gone."""
    d = login(key)
    env.wait_for(lambda: len(active()) == 1)
    d_id, d_pid = active()[0]
    os.kill(d_pid, signal.SIGKILL)
    # Reconciliation closes it once its process is gone: the connection
    # closing may be seen before the killed sshd has finished exiting.
    tap(wait_gone(d_pid), "D's sshd is gone after SIGKILL")
    env.wait_for(lambda: not d.is_active())
    q = env.cli("--json", "session", "list", "--user", USER)
    tap(q.returncode == 0 and json.loads(q.stdout)["total"] == 0 and ended(d_id) == [("process gone",)],
        "a killed login is closed by reconciliation", q.stdout + q.stderr)
    return d


def main():
    key, fingerprint = setup()
    a, a_shell, a_id = login_a(key, fingerprint)
    b, b_id = login_b(key, a_id)
    b_ends_a(b, b_id, a, a_shell, a_id)
    c = root_ends_c(key)
    # B logs out normally: sshd's pam_close_session closes the record.
    b.close()
    tap(env.wait_for(lambda: ended(b_id)) == [("closed",)], "logout: B's record is closed by pam_close_session",
        repr(env.db("SELECT * FROM sessions WHERE id = ?", b_id)))
    d = killed_d(key)
    for t in (a, c, d):
        t.close()


env.run(main)
