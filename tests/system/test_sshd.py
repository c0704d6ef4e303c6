#!/usr/bin/python3
"""Tier 4: a real sshd on 127.0.0.1 with keyboard-interactive, real users
(pam_unix, shadow password), a real acctsecd, and a real SSH client
(paramiko): password + TOTP for one user; password + an emailed code for
another, the code read from the mail inside the keyboard-interactive
handler: first through the maildir transport, then, with acctsecd restarted,
through smtp to an aiosmtpd relay in this process (127.0.0.1, an ephemeral
port, no STARTTLS).  Root only (exit 77 otherwise).  Creates two users and
/etc/pam.d/acctsec-sshd-test (sshd names its PAM service after its own
program name, so the system's sshd service is not touched); removes them.
TAP output."""
import base64
import hashlib
import hmac
import json
import logging
import os
import re
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import types

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)

import paramiko  # noqa: E402 - after the root check (Debian: python3-paramiko)

try:  # the smtp case only (Debian: python3-aiosmtpd)
    from aiosmtpd.controller import Controller
except ImportError:
    Controller = None

B = os.environ["ACCTSEC_BUILD_DIR"]
USER = "acctsec-t5-%d" % os.getpid()
EUSER = "acctsec-t5e-%d" % os.getpid()  # second factor: emailed codes
ADDRESS = "mfa.user+%d@example.com" % os.getpid()
MASKED = "m\u2022\u2022\u2022@example.com"
FROM = "acctsec@example.org"
PASSWORD = "Correct-Horse-5"
SERVICE = "acctsec-sshd-test"
work = tempfile.mkdtemp(prefix="acctsec-sshd.")
os.chmod(work, 0o755)
sock = os.path.join(work, "sock")
conf = os.path.join(work, "acctsec.conf")
procs = []
users = []
servers = []
n = failed = 0
logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # aiosmtpd's own chatter


def tap(ok, name, info=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, name))
    if not ok:
        failed += 1
        for line in str(info).splitlines():
            print("# " + line)


def totp(secret_b32, step):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def cli(*args):
    return subprocess.run([os.path.join(B, "acctsec"), "--socket", sock, *args],
                          capture_output=True, text=True, timeout=30)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # bounded wait for the listener
        if proc.poll() is not None:
            raise RuntimeError("sshd exited: " + open(os.path.join(work, "sshd.log")).read())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("sshd did not listen")


def ssh_login(port, answers, user=USER):
    """keyboard-interactive: answer each prompt in turn (an answer may be a
    function of the prompt, called when it comes: it reads the mailed code).
    Returns .ok (authenticated), .prompts, .texts (every title, instruction
    and prompt: sshd passes PAM's info and error messages in them) and
    .errors (exceptions from answer functions)."""
    r = types.SimpleNamespace(ok=False, prompts=[], texts=[], errors=[])

    def handler(title, instructions, prompts):
        r.texts.extend(t for t in (title, instructions) if t)
        out = []
        for text, _echo in prompts:
            r.prompts.append(text)
            r.texts.append(text)
            a = answers.pop(0) if answers else ""
            if callable(a):
                try:
                    a = a(text)
                except Exception as e:  # noqa: BLE001 - reported by the caller
                    r.errors.append(repr(e))
                    a = ""
            out.append(a)
        return out

    t = paramiko.Transport(("127.0.0.1", port))
    try:
        t.start_client(timeout=30)
        try:
            t.auth_interactive(user, handler)
        except paramiko.AuthenticationException:
            return r
        r.ok = t.is_authenticated()
        return r
    finally:
        t.close()


def wait_for(cond, what, timeout=15):
    """Bounded polling for a condition (a mail arriving); raises on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.01)


def code_of(data):
    m = re.search(r"\r\nYour verification code is: (\d{6})\r\n", data)
    if not m:
        raise RuntimeError("no code in the mail: %r" % data)
    return m.group(1)


class Maildir:
    """The maildir transport's mailbox: take() removes the one new mail."""

    def __init__(self, path):
        self.new = os.path.join(path, "new")
        self.taken = []

    def take(self):
        files = wait_for(lambda: os.path.isdir(self.new) and os.listdir(self.new), "a mail in " + self.new)
        if len(files) != 1:
            raise RuntimeError("expected one new mail, found %d" % len(files))
        path = os.path.join(self.new, files[0])
        with open(path, "rb") as f:
            mail = {"data": f.read().decode("utf-8")}
        os.unlink(path)
        self.taken.append(mail)
        return mail


class Relay:
    """An aiosmtpd handler that keeps every envelope; take() returns the next one."""

    def __init__(self):
        self.got = []
        self.taken = []

    async def handle_DATA(self, server, session, envelope):
        self.got.append({"from": envelope.mail_from, "rcpt": list(envelope.rcpt_tos),
                         "data": envelope.original_content.decode("utf-8")})
        return "250 OK"

    def take(self):
        wait_for(lambda: len(self.got) > len(self.taken), "a message at the relay")
        if len(self.got) != len(self.taken) + 1:
            raise RuntimeError("expected one new message, got %d" % (len(self.got) - len(self.taken)))
        self.taken.append(self.got[len(self.taken)])
        return self.taken[-1]


if Controller:
    class Server(Controller):
        """A Controller on an ephemeral port (aiosmtpd 1.4 only knows the port it was given)."""

        def _trigger_server(self):
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()


def read_code(box):
    """An answer for the 'Emailed code' prompt: the code from the mail just sent."""
    return lambda text: code_of(box.take()["data"])


def start_daemon(settings):
    with open(conf + ".new", "w") as f:
        f.write(settings)
    os.rename(conf + ".new", conf)
    daemon = subprocess.Popen([os.path.join(B, "acctsecd"), "--socket", sock, "--state-dir",
                               os.path.join(work, "state"), "--config", conf,
                               "--foreground"], stderr=open(os.path.join(work, "daemon.log"), "a"))
    procs.append(daemon)
    deadline = time.monotonic() + 30
    while cli("status").returncode != 0:  # until it answers (bounded)
        assert time.monotonic() < deadline and daemon.poll() is None, "acctsecd did not start"
        time.sleep(0.02)
    return daemon


def stop(p):
    if p.poll() is None:
        p.terminate()
        p.wait(timeout=30)


def db(sql, *args):
    con = sqlite3.connect(os.path.join(work, "state", "acctsec.db"), timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


# A factor is required: the user with a verified address and no app gets emailed codes.
SETTINGS = ("totp_window = 3\nmfa = required\nmail_from = %s\nmail_timeout = 10\n" % FROM)


def main():
    for u in (USER, EUSER):
        subprocess.run(["useradd", "-M", "-s", "/bin/sh", u], check=True)
        users.append(u)
        subprocess.run(["chpasswd"], input="%s:%s\n" % (u, PASSWORD), text=True, check=True)
    maildir = os.path.join(work, "Maildir")
    daemon = start_daemon(SETTINGS + "mail_transport = maildir\nmaildir = %s\n" % maildir)

    mod = "%s/.libs/pam_acctsec.so socket=%s conf=%s" % (B, sock, conf)
    with open("/etc/pam.d/" + SERVICE, "w") as f:
        f.write("auth     requisite                  %s preauth\n"
                "auth     [success=1 default=ignore] pam_unix.so nodelay\n"
                "auth     [default=die]              %s authfail\n"
                "auth     requisite                  %s mfa\n"
                "account  required                   %s\n"
                "account  required                   pam_unix.so\n"
                "session  required                   pam_permit.so\n"
                "password required                   pam_deny.so\n" % (mod, mod, mod, mod))
    out = json.loads(cli("--json", "mfa", "enroll", "totp", "--user", USER).stdout)
    secret = out["secret"]
    step = int(time.time()) // 30
    r = cli("mfa", "confirm", totp(secret, step - 2), "--user", USER)
    tap(r.returncode == 0, "TOTP enrolled for a real user", r.stderr)

    port = free_port()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(work, "hostkey")], check=True)
    with open(os.path.join(work, "sshd_config"), "w") as f:
        f.write("ListenAddress 127.0.0.1\nPort %d\nHostKey %s/hostkey\nPidFile %s/sshd.pid\n"
                "UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n"
                "PubkeyAuthentication no\nAuthenticationMethods keyboard-interactive\n"
                "PermitRootLogin no\nAllowUsers %s %s\nLogLevel VERBOSE\n" % (port, work, work, USER, EUSER))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    # sshd's PAM service is its program name: run it under our service's name.
    exe = os.path.join(work, SERVICE)
    os.symlink("/usr/sbin/sshd", exe)
    sshd = subprocess.Popen([exe, "-D", "-e", "-f", os.path.join(work, "sshd_config")],
                            stderr=open(os.path.join(work, "sshd.log"), "w"))
    procs.append(sshd)
    wait_port(port, sshd)

    code = totp(secret, step - 1)
    r = ssh_login(port, [PASSWORD, code])
    tap(r.ok, "ssh: password + TOTP accepted", r.prompts)
    tap(len(r.prompts) == 2 and "assword" in r.prompts[0] and "Verification code" in r.prompts[1],
        "ssh: prompts were the password, then the verification code", r.prompts)
    tap(db("SELECT count(*) FROM events WHERE type='code_used' AND user=?", USER) == [(1,)], "code_used logged")
    r = ssh_login(port, [PASSWORD, code])
    tap(not r.ok, "ssh: the same code again is refused (replay)")
    r = ssh_login(port, [PASSWORD, "000000" if code != "000000" else "111111"])
    tap(not r.ok, "ssh: a wrong code is refused")
    tap(db("SELECT failures FROM lockout WHERE user=?", USER) == [(2,)], "both refusals counted toward the lockout",
        db("SELECT * FROM lockout"))
    r = ssh_login(port, ["wrong-password", totp(secret, step)])
    tap(not r.ok and db("SELECT count(*) FROM events WHERE type='lockout' AND user=?", USER) == [(1,)],
        "ssh: third failure (wrong password) locks the account", r.prompts)
    r = ssh_login(port, [PASSWORD, totp(secret, step + 1)])
    tap(not r.ok, "ssh: locked: right password and right code refused")
    q = cli("lockout", "reset", "--user", USER)
    r = ssh_login(port, [PASSWORD, totp(secret, step + 1)])
    tap(q.returncode == 0 and r.ok, "ssh: after an admin unlock, password + a new code accepted")

    emailed_codes(port, Maildir(maildir))
    daemon = smtp_relay(port, daemon)


def events(user, type_, detail=None):
    if detail is None:
        return db("SELECT count(*) FROM events WHERE user=? AND type=?", user, type_)[0][0]
    return db("SELECT count(*) FROM events WHERE user=? AND type=? AND detail=?", user, type_, detail)[0][0]


def emailed_codes(port, box):
    """The maildir transport: a code read from the mail, 'resend' too soon,
    the used code in a new login, a wrong code."""
    q = cli("email", "set", ADDRESS, "--user", EUSER)
    st = cli("--json", "mfa", "status", "--user", EUSER)
    tap(q.returncode == 0 and ADDRESS in st.stdout, "email: root sets a verified address", q.stderr + st.stdout)

    # 'resend' right after the first mail: refused with the wait; then the code.
    r = ssh_login(port, [PASSWORD, "resend", read_code(box)], user=EUSER)
    text = "\n".join(r.texts)
    tap(r.ok and not r.errors, "ssh: password + the emailed code (maildir) accepted", r.prompts + r.errors)
    tap(len(r.prompts) == 3 and "assword" in r.prompts[0]
        and all("Emailed code (or type resend): " in p for p in r.prompts[1:]),
        "ssh: prompts were the password, then the emailed code twice (after 'resend')", r.prompts)
    tap("A code was sent to %s." % MASKED in text, "ssh: told where the code went (masked address)", text)
    tap(re.search(r"A code was sent recently; you can ask for a new one in [23]:[0-5]\d\.", text) is not None
        and len(box.taken) == 1, "ssh: 'resend' within the interval is refused with the wait, no second mail",
        text)
    mail = box.taken[0]["data"] if box.taken else ""
    tap(re.search(r"(^|\r\n)To: %s\r\n" % re.escape(ADDRESS), mail) is not None
        and re.search(r"(^|\r\n)From: .*%s" % re.escape(FROM), mail) is not None
        and "\r\nSubject: Your login verification code\r\n" in mail,
        "maildir: the mail's To:, From: and Subject:", mail)
    tap(events(EUSER, "code_sent") == 1 and events(EUSER, "code_used", "emailed code") == 1
        and events(EUSER, "auth_success") >= 1,
        "events: code_sent, code_used 'emailed code', auth_success",
        db("SELECT type, detail FROM events WHERE user=?", EUSER))
    tap(db("SELECT count(*), count(hash) FROM email_codes WHERE user=?", EUSER) == [(1, 0)],
        "email_codes: the used code's hash is gone", db("SELECT attempt, hash, sent FROM email_codes"))

    # A new login mails a new code; typing the used one is refused.
    old = code_of(mail) if mail else "000000"
    new = []
    r = ssh_login(port, [PASSWORD, lambda text: (new.append(code_of(box.take()["data"])), old)[1]], user=EUSER)
    tap(not r.ok and not r.errors and len(new) == 1 and new[0] != old,
        "ssh: the used emailed code in a new login is refused (a new one was mailed)", r.prompts + r.errors + new)

    # A wrong code (not the one mailed).
    def wrong(text):
        c = code_of(box.take()["data"])
        return "000000" if c != "000000" else "111111"
    r = ssh_login(port, [PASSWORD, wrong], user=EUSER)
    tap(not r.ok and not r.errors, "ssh: a wrong emailed code is refused", r.prompts + r.errors)
    tap(db("SELECT failures FROM lockout WHERE user=?", EUSER) == [(2,)]
        and events(EUSER, "code_refused", "emailed code: wrong code") == 2 and events(EUSER, "code_sent") == 3,
        "both refusals counted toward the lockout; events code_refused 'emailed code: wrong code'",
        db("SELECT type, detail FROM events WHERE user=?", EUSER) + db("SELECT * FROM lockout"))


def smtp_relay(port, daemon):
    """acctsecd restarted with mail_transport = smtp to a plain relay on loopback."""
    if not Controller:
        tap(True, "smtp: # SKIP python3-aiosmtpd is missing")
        return daemon
    relay = Relay()
    srv = Server(relay, hostname="127.0.0.1", port=0)
    srv.start()
    servers.append(srv)
    stop(daemon)
    daemon = start_daemon(SETTINGS + "mail_transport = smtp\nsmtp_url = smtp://127.0.0.1:%d\n"
                          "smtp_starttls = no\n" % srv.port)
    r = ssh_login(port, [PASSWORD, read_code(relay)], user=EUSER)
    tap(r.ok and not r.errors and len(relay.got) == 1, "ssh: password + the emailed code (smtp relay) accepted",
        r.prompts + r.errors)
    m = relay.got[0] if relay.got else {"from": None, "rcpt": None, "data": ""}
    tap(m["from"] == FROM and m["rcpt"] == [ADDRESS], "smtp: envelope MAIL FROM and RCPT TO", repr(m))
    tap(re.search(r"(^|\r\n)To: %s\r\n" % re.escape(ADDRESS), m["data"]) is not None,
        "smtp: the message's To:", m["data"])
    tap(events(EUSER, "code_sent") == 4 and events(EUSER, "code_used", "emailed code") == 2
        and db("SELECT failures FROM lockout WHERE user=?", EUSER) in ([], [(0,)]),
        "events: code_sent and code_used 'emailed code' again; the success cleared the tally",
        db("SELECT type, detail FROM events WHERE user=?", EUSER) + db("SELECT * FROM lockout"))
    return daemon

def cleanup():
    for p in procs:
        stop(p)
    for srv in servers:
        srv.stop()
    try:
        os.unlink("/etc/pam.d/" + SERVICE)
    except FileNotFoundError:
        pass
    # sshd's per-connection children may still be exiting as the user, and
    # userdel refuses a user with processes: end them, then retry (bounded).
    for u in users:
        subprocess.run(["pkill", "-KILL", "-u", u], capture_output=True)
        deadline = time.monotonic() + 30
        while True:
            r = subprocess.run(["userdel", u], capture_output=True, text=True)
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        tap(r.returncode == 0, "cleanup: the test user %s is removed" % u, r.stderr)
    if failed:
        for name in ("sshd.log", "daemon.log"):
            path = os.path.join(work, name)
            if os.path.exists(path):
                for line in open(path).read().splitlines()[-25:]:
                    print("#   %s: %s" % (name, line))
    shutil.rmtree(work, ignore_errors=True)


try:
    main()
except Exception as e:  # noqa: BLE001 - reported as TAP
    tap(False, "setup", repr(e))
finally:
    cleanup()
print("1..%d" % n)
sys.exit(1 if failed else 0)
