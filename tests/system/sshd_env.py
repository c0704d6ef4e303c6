"""Shared by the tier-4 sshd tests: TAP output, a real acctsecd on a
socket in a temp dir, real users, a real sshd on 127.0.0.1 under a PAM
service named after it (sshd names its service after its program name),
and cleanup that leaves the host as it was.  Root only."""
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time


class Env:
    def __init__(self, prefix, service):
        self.B = os.environ["ACCTSEC_BUILD_DIR"]
        self.service = service
        self.work = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.work, 0o755)  # users run the CLI copy and reach the socket here
        self.sock = os.path.join(self.work, "sock")
        self.conf = os.path.join(self.work, "acctsec.conf")
        self.maildir = os.path.join(self.work, "maildir")
        # The build dir may be under a private home (/root in CI): users run a copy.
        self.user_cli = os.path.join(self.work, "acctsec")
        shutil.copy(os.path.join(self.B, "acctsec"), self.user_cli)
        os.chmod(self.user_cli, 0o755)
        self.procs, self.users = [], []
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
        with open(self.conf, "w") as f:
            f.write(settings)
        d = subprocess.Popen([os.path.join(self.B, "acctsecd"), "--socket", self.sock, "--state-dir",
                              os.path.join(self.work, "state"), "--config", self.conf, "--foreground"],
                             stderr=open(os.path.join(self.work, "daemon.log"), "a"))
        self.procs.append(d)
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

    def wait_for(self, what, timeout=30):
        """Poll a condition (bounded): things sshd does after the client returned."""
        deadline = time.monotonic() + timeout
        while True:
            v = what()
            if v or time.monotonic() > deadline:
                return v
            time.sleep(0.02)

    def mails(self):
        new = os.path.join(self.maildir, "new")
        if not os.path.isdir(new):
            return []
        return [open(os.path.join(new, f)).read() for f in sorted(os.listdir(new)) if not f.startswith(".")]

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

    # --- sshd ----------------------------------------------------------------
    def start_sshd(self, pam_stack, extra_config):
        """sshd on a free port of 127.0.0.1 with /etc/pam.d/SERVICE = pam_stack."""
        with open("/etc/pam.d/" + self.service, "w") as f:
            f.write(pam_stack)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        hostkey = self.keygen("hostkey")
        with open(os.path.join(self.work, "sshd_config"), "w") as f:
            f.write("ListenAddress 127.0.0.1\nPort %d\nHostKey %s\nPidFile %s/sshd.pid\n"
                    "UsePAM yes\nAuthorizedKeysFile .ssh/authorized_keys\nStrictModes yes\n"
                    "PermitRootLogin no\nLogLevel VERBOSE\n%s" % (self.port, hostkey, self.work, extra_config))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        exe = os.path.join(self.work, self.service)
        os.symlink("/usr/sbin/sshd", exe)
        sshd = subprocess.Popen([exe, "-D", "-e", "-f", os.path.join(self.work, "sshd_config")],
                                stderr=open(os.path.join(self.work, "sshd.log"), "w"))
        self.procs.append(sshd)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # bounded wait for the listener
            if sshd.poll() is not None:
                raise RuntimeError("sshd exited: " + open(os.path.join(self.work, "sshd.log")).read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return sshd
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("sshd did not listen")

    def transport(self):
        import paramiko
        t = paramiko.Transport(("127.0.0.1", self.port))
        t.start_client(timeout=30)
        return t

    # --- the end -----------------------------------------------------------
    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=30)
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

    def run(self, main):
        try:
            main()
        except Exception as e:  # noqa: BLE001 - reported as TAP
            import traceback
            self.tap(False, "setup", traceback.format_exc())
        finally:
            self.cleanup()
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)
