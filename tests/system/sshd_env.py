"""Shared by the tier-4 sshd tests: TAP output, a real acctsecd on a
socket in a temp dir, real users, a real sshd on 127.0.0.1 under a PAM
service named after it (sshd names its service after its program name),
SSH logins through paramiko (public key, keyboard-interactive or both),
TOTP codes, the mails acctsecd sends (its maildir, or an SMTP relay in
this process), and cleanup that leaves the host as it was.  Root only.

Nothing here sleeps to let something happen: wait_for() polls a condition
up to a deadline."""
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

try:  # the smtp relay only (Debian: python3-aiosmtpd)
    from aiosmtpd.controller import Controller
except ImportError:
    Controller = None


def wait_for(cond, timeout=30, what=None):
    """Poll cond() until it is true or the bound passes; returns its last
    value, or with WHAT raises RuntimeError naming it on the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            if what:
                raise RuntimeError("timed out waiting for " + what)
            return v
        time.sleep(0.02)


def stop(p):
    if p.poll() is None:
        p.terminate()
        p.wait(timeout=30)


# --- codes -------------------------------------------------------------------
def totp(secret_b32, step):
    """RFC 6238 (SHA-1, 6 digits) for the 30-second STEP."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def code_of(data):
    """The code in an emailed-code mail."""
    m = re.search(r"\r\nYour verification code is: (\d{6})\r\n", data)
    if not m:
        raise RuntimeError("no code in the mail: %r" % data)
    return m.group(1)


def read_code(box):
    """An answer for the 'Emailed code' prompt: the code from the mail just
    sent (box: a Maildir or a Relay)."""
    return lambda text: code_of(box.take()["data"])


# --- mail ----------------------------------------------------------------------
class Maildir:
    """The maildir transport's mailbox: read() lists the new mails, take()
    removes the one new mail (waiting for it, bounded)."""

    def __init__(self, path):
        self.new = os.path.join(path, "new")
        self.taken = []

    def files(self):
        if not os.path.isdir(self.new):
            return []
        return sorted(f for f in os.listdir(self.new) if not f.startswith("."))

    def read(self):
        out = []
        for f in self.files():
            with open(os.path.join(self.new, f)) as fh:
                out.append(fh.read())
        return out

    def take(self):
        files = wait_for(self.files, 15, "a mail in " + self.new)
        if len(files) != 1:
            raise RuntimeError("expected one new mail, found %d" % len(files))
        path = os.path.join(self.new, files[0])
        with open(path, "rb") as f:
            mail = {"data": f.read().decode("utf-8")}
        os.unlink(path)
        self.taken.append(mail)
        return mail


class Relay:
    """An aiosmtpd handler that keeps every envelope; take() returns the
    next one (waiting for it, bounded).  Env.start_relay() serves it."""

    def __init__(self):
        self.got = []
        self.taken = []
        self.port = None

    async def handle_DATA(self, server, session, envelope):
        self.got.append({"from": envelope.mail_from, "rcpt": list(envelope.rcpt_tos),
                         "data": envelope.original_content.decode("utf-8")})
        return "250 OK"

    def take(self):
        wait_for(lambda: len(self.got) > len(self.taken), 15, "a message at the relay")
        if len(self.got) != len(self.taken) + 1:
            raise RuntimeError("expected one new message, got %d" % (len(self.got) - len(self.taken)))
        self.taken.append(self.got[len(self.taken)])
        return self.taken[-1]


if Controller:
    class _Server(Controller):
        """A Controller on an ephemeral port (aiosmtpd 1.4 only knows the port it was given)."""

        def _trigger_server(self):
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()


# --- keyboard-interactive --------------------------------------------------------
def kbd_handler(r, answers):
    """A paramiko keyboard-interactive handler that answers each prompt in
    turn from the list ANSWERS ("" once it runs out), or with ANSWERS(prompt)
    when it is a function.  An answer in the list may be a function of the
    prompt, called when the prompt comes (it reads a mailed code): what it
    raises goes to r.errors and the answer is "".  Every prompt goes to
    r.prompts; every title, instruction and prompt to r.texts (sshd passes
    PAM's info and error messages in them)."""
    def handler(title, instructions, prompts):
        r.texts.extend(t for t in (title, instructions) if t)
        out = []
        for text, _echo in prompts:
            r.prompts.append(text)
            r.texts.append(text)
            a = answers if callable(answers) else (answers.pop(0) if answers else "")
            if callable(a):
                try:
                    a = a(text)
                except Exception as e:  # noqa: BLE001 - reported by the caller
                    r.errors.append(repr(e))
                    a = ""
            out.append(a)
        return out
    return handler


class Env:
    def __init__(self, prefix, service):
        self.B = os.environ["ACCTSEC_BUILD_DIR"]
        self.service = service
        self.work = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.work, 0o755)  # users run the CLI copy and reach the socket here
        self.sock = os.path.join(self.work, "sock")
        self.conf = os.path.join(self.work, "acctsec.conf")
        self.maildir = os.path.join(self.work, "maildir")
        self.mailbox = Maildir(self.maildir)
        # The build dir may be under a private home (/root in CI): users run a copy.
        self.user_cli = os.path.join(self.work, "acctsec")
        shutil.copy(os.path.join(self.B, "acctsec"), self.user_cli)
        os.chmod(self.user_cli, 0o755)
        self.procs, self.users, self.servers = [], [], []
        self.daemon = self.sshd = None
        self.n = self.failed = 0

    # --- TAP -------------------------------------------------------------
    def tap(self, ok, name, info=""):
        self.n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, name), flush=True)
        if not ok:
            self.failed += 1
            for line in str(info).splitlines():
                print("# " + line)

    # --- acctsecd and its database ---------------------------------------
    def cli(self, *args):
        return subprocess.run([os.path.join(self.B, "acctsec"), "--socket", self.sock, *args],
                              capture_output=True, text=True, timeout=60)

    def start_daemon(self, settings):
        """acctsecd with SETTINGS as its configuration; a running one is
        stopped first (a restart keeps the state dir)."""
        if self.daemon:
            stop(self.daemon)
        with open(self.conf + ".new", "w") as f:  # the PAM module reads it too (conf=)
            f.write(settings)
        os.rename(self.conf + ".new", self.conf)
        d = subprocess.Popen([os.path.join(self.B, "acctsecd"), "--socket", self.sock, "--state-dir",
                              os.path.join(self.work, "state"), "--config", self.conf, "--foreground"],
                             stderr=open(os.path.join(self.work, "daemon.log"), "a"))
        self.procs.append(d)
        self.daemon = d
        deadline = time.monotonic() + 30
        while self.cli("status").returncode != 0:  # until it answers (bounded)
            assert time.monotonic() < deadline and d.poll() is None, "acctsecd did not start"
            time.sleep(0.02)
        return d

    def db(self, sql, *args):
        con = sqlite3.connect(os.path.join(self.work, "state", "acctsec.db"), timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def events(self, user, type_, detail=None):
        """How many events of TYPE_ (with DETAIL, when given) USER has."""
        if detail is None:
            return self.db("SELECT count(*) FROM events WHERE user=? AND type=?", user, type_)[0][0]
        return self.db("SELECT count(*) FROM events WHERE user=? AND type=? AND detail=?",
                       user, type_, detail)[0][0]

    def all_events(self, user):
        return self.db("SELECT type, detail FROM events WHERE user=? ORDER BY rowid", user)

    def enrol_totp(self, user):
        """Enrol and confirm TOTP for USER (confirmed with the code of two
        steps ago, so that the next steps' codes are still new): the secret
        and the confirm's result."""
        out = json.loads(self.cli("--json", "mfa", "enroll", "totp", "--user", user).stdout)
        r = self.cli("mfa", "confirm", totp(out["secret"], int(time.time()) // 30 - 2), "--user", user)
        return out["secret"], r

    def wait_for(self, what, timeout=30):
        """Poll a condition (bounded): things sshd does after the client returned."""
        return wait_for(what, timeout)

    def mails(self):
        return self.mailbox.read()

    def start_relay(self):
        """A Relay served by aiosmtpd on an ephemeral port of 127.0.0.1 in
        this process (no STARTTLS), stopped at cleanup; None without aiosmtpd."""
        if not Controller:
            return None
        logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # aiosmtpd's own chatter
        relay = Relay()
        srv = _Server(relay, hostname="127.0.0.1", port=0)
        srv.start()
        self.servers.append(srv)
        relay.port = srv.port
        return relay

    # --- users -------------------------------------------------------------
    def add_user(self, name, password=None, key=None):
        """A user with a home in the work dir; with key (a public key line), an authorized_keys."""
        import pwd
        home = os.path.join(self.work, "home-" + name)
        subprocess.run(["useradd", "-M", "-d", home, "-s", "/bin/sh", name], check=True)
        self.users.append(name)
        if password:
            subprocess.run(["chpasswd"], input="%s:%s\n" % (name, password), text=True, check=True)
        os.mkdir(home, 0o700)
        pw = pwd.getpwnam(name)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        if key:
            ssh_dir = os.path.join(home, ".ssh")
            os.mkdir(ssh_dir, 0o700)
            ak = os.path.join(ssh_dir, "authorized_keys")
            with open(ak, "w") as f:
                f.write(key)
            os.chmod(ak, 0o600)
            for p in (ssh_dir, ak):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        return home, pw

    def keygen(self, name):
        path = os.path.join(self.work, name)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path], check=True)
        return path

    def pam_module(self):
        """pam_acctsec.so from the build, with this env's socket and conf."""
        return "%s/.libs/pam_acctsec.so socket=%s conf=%s" % (self.B, self.sock, self.conf)

    def mfa_stack(self):
        """sshd's PAM stack for password + second factor over keyboard-interactive:
        lockout around pam_unix, then the factor (the brief's wiring)."""
        return ("auth     requisite                  %s preauth\n"
                "auth     [success=1 default=ignore] pam_unix.so nodelay\n"
                "auth     [default=die]              %s authfail\n"
                "auth     requisite                  %s mfa\n"
                "account  required                   %s\n"
                "account  required                   pam_unix.so\n"
                "session  required                   pam_permit.so\n"
                "password required                   pam_deny.so\n") % ((self.pam_module(),) * 4)

    # --- sshd ----------------------------------------------------------------
    def start_sshd(self, pam_stack, extra_config):
        """sshd on a free port of 127.0.0.1 with /etc/pam.d/SERVICE = pam_stack;
        a running one is stopped first (a restart keeps the host key)."""
        if self.sshd:
            stop(self.sshd)
        with open("/etc/pam.d/" + self.service, "w") as f:
            f.write(pam_stack)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        hostkey = os.path.join(self.work, "hostkey")
        if not os.path.exists(hostkey):
            self.keygen("hostkey")
        with open(os.path.join(self.work, "sshd_config"), "w") as f:
            f.write("ListenAddress 127.0.0.1\nPort %d\nHostKey %s\nPidFile %s/sshd.pid\n"
                    "UsePAM yes\nAuthorizedKeysFile .ssh/authorized_keys\nStrictModes yes\n"
                    "PermitRootLogin no\nLogLevel VERBOSE\n%s" % (self.port, hostkey, self.work, extra_config))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        exe = os.path.join(self.work, self.service)
        if not os.path.lexists(exe):
            os.symlink("/usr/sbin/sshd", exe)
        self.sshd = subprocess.Popen([exe, "-D", "-e", "-f", os.path.join(self.work, "sshd_config")],
                                     stderr=open(os.path.join(self.work, "sshd.log"), "a"))
        self.procs.append(self.sshd)
        self._wait_listening(self.sshd)
        return self.sshd

    def _wait_listening(self, sshd):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # bounded wait for the listener
            if sshd.poll() is not None:
                raise RuntimeError("sshd exited: " + open(os.path.join(self.work, "sshd.log")).read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("sshd did not listen")

    def transport(self):
        import paramiko
        t = paramiko.Transport(("127.0.0.1", self.port))
        t.start_client(timeout=30)
        return t

    def login(self, user, key=None, answers=None):
        """One SSH login as USER, closed again: the public KEY when given,
        then, when ANSWERS is given (see kbd_handler), keyboard-interactive
        (after the key, the server must ask for it: a partial success).
        Returns .ok (authenticated), .error (the exception that refused it:
        for the key any SSHException, for keyboard-interactive only an
        AuthenticationException, anything else propagates), .prompts, .texts
        and .errors (see kbd_handler)."""
        import paramiko
        r = types.SimpleNamespace(ok=False, error=None, prompts=[], texts=[], errors=[])
        t = self.transport()
        try:
            if key:
                try:
                    left = t.auth_publickey(user, key)
                except paramiko.SSHException as e:  # AuthenticationException is one
                    r.error = e
                    return r
                if answers is not None:
                    assert left == ["keyboard-interactive"], left  # partial success
            if answers is not None:
                try:
                    t.auth_interactive(user, kbd_handler(r, answers))
                except paramiko.AuthenticationException as e:
                    r.error = e
                    return r
            r.ok = t.is_authenticated()
            return r
        finally:
            t.close()

    # --- the end -----------------------------------------------------------
    def cleanup(self):
        for p in self.procs:
            stop(p)
        for srv in self.servers:
            srv.stop()
        try:
            os.unlink("/etc/pam.d/" + self.service)
        except FileNotFoundError:
            pass
        # sshd's per-connection children may still be exiting as the user, and
        # userdel refuses a user with processes: end them, then retry (bounded).
        for u in self.users:
            subprocess.run(["pkill", "-KILL", "-u", u], capture_output=True)
            deadline = time.monotonic() + 30
            while True:
                r = subprocess.run(["userdel", u], capture_output=True, text=True)
                if r.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            self.tap(r.returncode == 0, "cleanup: the test user %s is removed" % u, r.stderr)
        if self.failed:
            for name in ("sshd.log", "daemon.log"):
                path = os.path.join(self.work, name)
                if os.path.exists(path):
                    for line in open(path).read().splitlines()[-40:]:
                        print("#   %s: %s" % (name, line))
        shutil.rmtree(self.work, ignore_errors=True)

    def run(self, main, after=()):
        """main(), then cleanup, then each of AFTER (callables: what else the
        test started, e.g. another host's Env), then the plan and the exit."""
        try:
            main()
        except Exception:  # noqa: BLE001 - reported as TAP
            import traceback
            self.tap(False, "setup", traceback.format_exc())
        finally:
            self.cleanup()
            for end in after:
                end()
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)
