#!/usr/bin/python3
"""Tier 4: a real sshd on 127.0.0.1 with keyboard-interactive, a real user
(pam_unix, shadow password), a real acctsecd, and a real SSH client
(paramiko): password + TOTP.  Root only (exit 77 otherwise).  Creates a user
and /etc/pam.d/acctsec-sshd-test (sshd names its PAM service after its own
program name, so the system's sshd service is not touched); removes both.
TAP output."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)

import paramiko  # noqa: E402 - after the root check (Debian: python3-paramiko)

B = os.environ["ACCTSEC_BUILD_DIR"]
USER = "acctsec-t5-%d" % os.getpid()
PASSWORD = "Correct-Horse-5"
SERVICE = "acctsec-sshd-test"
work = tempfile.mkdtemp(prefix="acctsec-sshd.")
os.chmod(work, 0o755)
sock = os.path.join(work, "sock")
procs = []
n = failed = 0


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


def ssh_login(port, answers):
    """keyboard-interactive: answer each prompt in turn; True if authenticated."""
    seen = []

    def handler(title, instructions, prompts):
        out = []
        for text, _echo in prompts:
            seen.append(text)
            out.append(answers.pop(0) if answers else "")
        return out

    t = paramiko.Transport(("127.0.0.1", port))
    try:
        t.start_client(timeout=30)
        try:
            t.auth_interactive(USER, handler)
        except paramiko.AuthenticationException:
            return False, seen
        return t.is_authenticated(), seen
    finally:
        t.close()


def db(sql, *args):
    con = sqlite3.connect(os.path.join(work, "state", "acctsec.db"), timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def main():
    subprocess.run(["useradd", "-M", "-s", "/bin/sh", USER], check=True)
    subprocess.run(["chpasswd"], input="%s:%s\n" % (USER, PASSWORD), text=True, check=True)
    with open(os.path.join(work, "acctsec.conf"), "w") as f:
        f.write("totp_window = 3\n")
    daemon = subprocess.Popen([os.path.join(B, "acctsecd"), "--socket", sock, "--state-dir",
                               os.path.join(work, "state"), "--config", os.path.join(work, "acctsec.conf"),
                               "--foreground"], stderr=open(os.path.join(work, "daemon.log"), "w"))
    procs.append(daemon)
    deadline = time.monotonic() + 30
    while cli("status").returncode != 0:  # until it answers (bounded)
        assert time.monotonic() < deadline and daemon.poll() is None, "acctsecd did not start"
        time.sleep(0.02)

    mod = "%s/.libs/pam_acctsec.so socket=%s conf=%s/acctsec.conf" % (B, sock, work)
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
                "PermitRootLogin no\nAllowUsers %s\nLogLevel VERBOSE\n" % (port, work, work, USER))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    # sshd's PAM service is its program name: run it under our service's name.
    exe = os.path.join(work, SERVICE)
    os.symlink("/usr/sbin/sshd", exe)
    sshd = subprocess.Popen([exe, "-D", "-e", "-f", os.path.join(work, "sshd_config")],
                            stderr=open(os.path.join(work, "sshd.log"), "w"))
    procs.append(sshd)
    wait_port(port, sshd)

    code = totp(secret, step - 1)
    ok, prompts = ssh_login(port, [PASSWORD, code])
    tap(ok, "ssh: password + TOTP accepted", prompts)
    tap(len(prompts) == 2 and "assword" in prompts[0] and "Verification code" in prompts[1],
        "ssh: prompts were the password, then the verification code", prompts)
    tap(db("SELECT count(*) FROM events WHERE type='code_used' AND user=?", USER) == [(1,)], "code_used logged")
    ok, _ = ssh_login(port, [PASSWORD, code])
    tap(not ok, "ssh: the same code again is refused (replay)")
    ok, _ = ssh_login(port, [PASSWORD, "000000" if code != "000000" else "111111"])
    tap(not ok, "ssh: a wrong code is refused")
    tap(db("SELECT failures FROM lockout WHERE user=?", USER) == [(2,)], "both refusals counted toward the lockout",
        db("SELECT * FROM lockout"))
    ok, prompts = ssh_login(port, ["wrong-password", totp(secret, step)])
    tap(not ok and db("SELECT count(*) FROM events WHERE type='lockout' AND user=?", USER) == [(1,)],
        "ssh: third failure (wrong password) locks the account", prompts)
    ok, _ = ssh_login(port, [PASSWORD, totp(secret, step + 1)])
    tap(not ok, "ssh: locked: right password and right code refused")
    r = cli("lockout", "reset", "--user", USER)
    ok, _ = ssh_login(port, [PASSWORD, totp(secret, step + 1)])
    tap(r.returncode == 0 and ok, "ssh: after an admin unlock, password + a new code accepted")


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=30)
    try:
        os.unlink("/etc/pam.d/" + SERVICE)
    except FileNotFoundError:
        pass
    # sshd's per-connection children may still be exiting as the user, and
    # userdel refuses a user with processes: end them, then retry (bounded).
    subprocess.run(["pkill", "-KILL", "-u", USER], capture_output=True)
    deadline = time.monotonic() + 30
    while True:
        r = subprocess.run(["userdel", USER], capture_output=True, text=True)
        if r.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    tap(r.returncode == 0, "cleanup: the test user is removed", r.stderr)
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
