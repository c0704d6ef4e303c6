#!/usr/bin/python3
"""Tier 4: the account controls through a real sshd on 127.0.0.1, real users
(pam_unix, shadow password), a real acctsecd and a real SSH client
(paramiko).  A user with a public key (the auth stack skipped, only the
account phase runs) is refused while disabled and let in again once
enabled; a user whose password an admin expired changes it inside the
keyboard-interactive conversation (sshd's pam_chauthtok with
PAM_CHANGE_EXPIRED_AUTHTOK, pam_unix, then pam_acctsec.so commit).  Root
only (exit 77 otherwise).  Creates two users (homes in a temporary
directory) and /etc/pam.d/acctsec-sshd-account (sshd names its PAM service
after its own program name); removes them.  TAP output."""
import json
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import types

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)

import paramiko  # noqa: E402 - after the root check (Debian: python3-paramiko)

B = os.environ["ACCTSEC_BUILD_DIR"]
KUSER = "acctsec-t6k-%d" % os.getpid()  # logs in with a public key
PUSER = "acctsec-t6p-%d" % os.getpid()  # must change the password
PASSWORD = "Correct-Horse-5"
NEW_PASSWORD = "Another-Horse-77x"
SERVICE = "acctsec-sshd-account"
FORCED = "You are required to change your password now (administrator request)."
work = tempfile.mkdtemp(prefix="acctsec-sshd-account.")
os.chmod(work, 0o755)
sock = os.path.join(work, "sock")
conf = os.path.join(work, "acctsec.conf")
procs = []
users = []
n = failed = 0


def tap(ok, name, info=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, name))
    if not ok:
        failed += 1
        for line in str(info).splitlines():
            print("# " + line)


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


def transport(port):
    t = paramiko.Transport(("127.0.0.1", port))
    t.start_client(timeout=30)
    return t


def key_login(port, key, user=KUSER):
    """Public key only.  Returns .ok and .error (the exception, if refused)."""
    r = types.SimpleNamespace(ok=False, error=None)
    t = transport(port)
    try:
        try:
            t.auth_publickey(user, key)
        except paramiko.SSHException as e:  # AuthenticationException is one
            r.error = e
            return r
        r.ok = t.is_authenticated()
        return r
    finally:
        t.close()


def kbd_login(port, answer, user=PUSER):
    """keyboard-interactive: answer(prompt) gives each answer.  Returns .ok,
    .prompts and .texts (every title, instruction and prompt: sshd passes
    PAM's info and error messages in them)."""
    r = types.SimpleNamespace(ok=False, prompts=[], texts=[])

    def handler(title, instructions, prompts):
        r.texts.extend(t for t in (title, instructions) if t)
        out = []
        for text, _echo in prompts:
            r.prompts.append(text)
            r.texts.append(text)
            out.append(answer(text))
        return out

    t = transport(port)
    try:
        try:
            t.auth_interactive(user, handler)
        except paramiko.AuthenticationException:
            return r
        r.ok = t.is_authenticated()
        return r
    finally:
        t.close()


def start_daemon(settings):
    with open(conf, "w") as f:
        f.write(settings)
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


def events(user, type_, detail=None):
    if detail is None:
        return db("SELECT count(*) FROM events WHERE user=? AND type=?", user, type_)[0][0]
    return db("SELECT count(*) FROM events WHERE user=? AND type=? AND detail=?", user, type_, detail)[0][0]


def all_events(user):
    return db("SELECT type, detail FROM events WHERE user=? ORDER BY rowid", user)


def add_user(name):
    home = os.path.join(work, "home-" + name)
    subprocess.run(["useradd", "-M", "-d", home, "-s", "/bin/sh", name], check=True)
    users.append(name)
    subprocess.run(["chpasswd"], input="%s:%s\n" % (name, PASSWORD), text=True, check=True)
    os.mkdir(home, 0o700)
    pw = pwd.getpwnam(name)
    os.chown(home, pw.pw_uid, pw.pw_gid)
    return home, pw


def shadow_hash(name):
    for line in open("/etc/shadow"):
        f = line.split(":")
        if f[0] == name:
            return f[1]
    return None


def main():
    start_daemon("")
    khome, kpw = add_user(KUSER)
    add_user(PUSER)

    # KUSER's key in ~/.ssh/authorized_keys: the user's, 0700 and 0600 (StrictModes).
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", KUSER,
                    "-f", os.path.join(work, "userkey")], check=True)
    key = paramiko.Ed25519Key.from_private_key_file(os.path.join(work, "userkey"))
    ssh_dir = os.path.join(khome, ".ssh")
    os.mkdir(ssh_dir, 0o700)
    ak = os.path.join(ssh_dir, "authorized_keys")
    with open(ak, "w") as f:
        f.write(open(os.path.join(work, "userkey.pub")).read())
    os.chmod(ak, 0o600)
    for p in (ssh_dir, ak):
        os.chown(p, kpw.pw_uid, kpw.pw_gid)

    mod = "%s/.libs/pam_acctsec.so socket=%s conf=%s" % (B, sock, conf)
    with open("/etc/pam.d/" + SERVICE, "w") as f:
        f.write("auth     requisite                  %s preauth\n"
                "auth     [success=1 default=ignore] pam_unix.so nodelay\n"
                "auth     [default=die]              %s authfail\n"
                "auth     required                   %s authsucc\n"
                "account  required                   pam_unix.so\n"
                "account  required                   %s\n"
                "session  required                   pam_permit.so\n"
                "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n"
                "password requisite                  pam_deny.so\n"
                "password optional                   %s commit\n" % (mod, mod, mod, mod, mod))

    port = free_port()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(work, "hostkey")], check=True)
    with open(os.path.join(work, "sshd_config"), "w") as f:
        f.write("ListenAddress 127.0.0.1\nPort %d\nHostKey %s/hostkey\nPidFile %s/sshd.pid\n"
                "UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n"
                "PubkeyAuthentication yes\nAuthorizedKeysFile .ssh/authorized_keys\nStrictModes yes\n"
                "AuthenticationMethods keyboard-interactive\n"
                "PermitRootLogin no\nAllowUsers %s %s\nLogLevel VERBOSE\n"
                "Match User %s\n    AuthenticationMethods publickey\n"
                % (port, work, work, KUSER, PUSER, KUSER))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    # sshd's PAM service is its program name: run it under our service's name.
    exe = os.path.join(work, SERVICE)
    os.symlink("/usr/sbin/sshd", exe)
    sshd = subprocess.Popen([exe, "-D", "-e", "-f", os.path.join(work, "sshd_config")],
                            stderr=open(os.path.join(work, "sshd.log"), "w"))
    procs.append(sshd)
    wait_port(port, sshd)

    disabled_key_user(port, key)
    forced_change(port)


def disabled_key_user(port, key):
    r = key_login(port, key)
    tap(r.ok, "ssh: public-key login works", repr(r.error))
    q = cli("account", "disable", "--user", KUSER)
    tap(q.returncode == 0 and events(KUSER, "account_disabled") == 1,
        "account disable (root): account_disabled logged", q.stdout + q.stderr + repr(all_events(KUSER)))
    before = events(KUSER, "login_denied", "account disabled")
    r = key_login(port, key)
    tap(not r.ok and isinstance(r.error, paramiko.AuthenticationException),
        "ssh: disabled: the public-key login is refused", repr(r.error))
    tap(events(KUSER, "login_denied", "account disabled") == before + 1,
        "events: login_denied 'account disabled' (the account phase, no auth stack)", repr(all_events(KUSER)))
    st = cli("--json", "status", "--user", KUSER)
    tap(st.returncode == 0 and json.loads(st.stdout).get("disabled") is True,
        "status: disabled", st.stdout + st.stderr)
    q = cli("account", "enable", "--user", KUSER)
    r = key_login(port, key)
    tap(q.returncode == 0 and r.ok and events(KUSER, "account_enabled") == 1,
        "account enable: the public-key login works again; account_enabled logged",
        q.stdout + q.stderr + repr(r.error) + repr(all_events(KUSER)))


def forced_change(port):
    old_hash = shadow_hash(PUSER)
    q = cli("account", "expire-password", "--user", PUSER)
    st = cli("--json", "status", "--user", PUSER)
    tap(q.returncode == 0 and st.returncode == 0
        and json.loads(st.stdout).get("password_change_required") is True
        and events(PUSER, "password_expired") == 1,
        "expire-password: status says a change is required; password_expired logged",
        q.stdout + q.stderr + st.stdout + st.stderr)

    def change(text):
        if text.startswith("New password") or text.startswith("Retype new password"):
            return NEW_PASSWORD
        return PASSWORD  # "Password: " (auth), then "Current password: " (pam_unix)
    r = kbd_login(port, change)
    text = "\n".join(r.texts)
    second = None
    if not r.ok:  # some sshd versions close after the change: then a new login must do
        second = kbd_login(port, lambda t: NEW_PASSWORD)
    tap(r.ok or (second.ok and second.prompts == ["Password: "]),
        "ssh: the forced change inside keyboard-interactive lets the user in", repr(r.prompts) + "\n" + text)
    tap(FORCED in text, "ssh: told why (the account phase's message)", text)
    # sshd puts the messages PAM sent before a prompt into that prompt's text.
    tap([p.splitlines()[-1] for p in r.prompts] == ["Password: ", "Current password: ", "New password: ",
                                                    "Retype new password: "]
        and len(r.prompts) == 4 and r.prompts[1].startswith(FORCED + "\n"),
        "ssh: prompts: password, then (after the message) pam_unix's current, new, retype", repr(r.prompts))
    tap(shadow_hash(PUSER) not in (None, old_hash) and shadow_hash(PUSER).startswith("$y$"),
        "shadow: the new password is stored (yescrypt)")
    # sshd changes it as root, for the user (PAM_CHANGE_EXPIRED_AUTHTOK): the log says so.
    tap(events(PUSER, "password_changed", "by the user, at login (the password had expired)") == 1,
        "events: password_changed by the user at login (pam_acctsec.so commit)", repr(all_events(PUSER)))
    st = cli("--json", "status", "--user", PUSER)
    s = json.loads(st.stdout) if st.returncode == 0 else {}
    tap(s.get("password_change_required") is False and s.get("password_changed") is not None,
        "status: password_change_required false, password_changed set", st.stdout + st.stderr)

    r = kbd_login(port, lambda t: NEW_PASSWORD)
    tap(r.ok and r.prompts == ["Password: "] and FORCED not in "\n".join(r.texts),
        "ssh: the new password logs in, no change asked", repr(r.prompts) + repr(r.texts))
    r = kbd_login(port, lambda t: PASSWORD)
    tap(not r.ok, "ssh: the old password no longer works", repr(r.prompts))
    tap(events(PUSER, "password_changed") == 1, "events: no further password_changed", repr(all_events(PUSER)))


def cleanup():
    for p in procs:
        stop(p)
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
                for line in open(path).read().splitlines()[-30:]:
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
