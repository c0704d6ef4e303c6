#!/usr/bin/python3
"""Tier 4: API tokens and the IP allowlist end to end.  pamtester through
real /etc/pam.d service files (pam_acctsec.so token, preauth, real pam_unix
try_first_pass, authfail, authsucc; account: pam_unix then pam_acctsec.so),
a real test user (useradd/chpasswd) and a real acctsecd on a temporary
socket, state directory and config.  Checks: a token made by the user
(acctsec token create, run as the user) works as the password on the service
in its scope (token_used, last_used), the real password still passes through
to pam_unix, the token is in neither the daemon log nor the token list; the
same token on a second, identical service is refused and counted
(token_refused, lockout failures = 1); a revoked token fails at once; a
per-user allowlist (192.0.2.0/24) admits 192.0.2.7 and refuses 198.51.100.1
(authenticate and acct_mgmt alone), "UNKNOWN" and a host name, each logged
as login_denied naming the source; removed, logins are unrestricted again.
Root only (exit 77 otherwise, or without pamtester).  Creates a user and
/etc/pam.d/acctsec-t-tok-PID and acctsec-t-tok2-PID; removes them.  TAP
output."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtester_pty  # noqa: E402 - next to this file

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)
if not shutil.which("pamtester"):
    print("# skipped: pamtester not installed", file=sys.stderr)
    sys.exit(77)

B = os.environ["ACCTSEC_BUILD_DIR"]
USER = "acctsec-tok-%d" % os.getpid()
SERVICE = "acctsec-t-tok-%d" % os.getpid()    # the token's scope
SERVICE2 = "acctsec-t-tok2-%d" % os.getpid()  # the same stack, out of the token's scope
PASSWORD = "Initial-Horse-41"
TOKEN_NAME = "ci-deploy"
IN_NET = "192.0.2.7"
OUT_NET = "198.51.100.1"
HOST_NAME = "build.example.com"
DENIED_MSG = "Logins from this address are not allowed for this account."
TOKEN_RE = re.compile(r"^acst_[0-9A-Za-z]{49}$")
work = tempfile.mkdtemp(prefix="acctsec-tokens.")
os.chmod(work, 0o755)
sock = os.path.join(work, "sock")
conf = os.path.join(work, "acctsec.conf")
daemon = None
user_made = False
services_made = []
n = failed = 0


def tap(ok, name, info=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, name), flush=True)
    if not ok:
        failed += 1
        for line in str(info).splitlines():
            print("# " + line)


def cli(*args, as_user=False):
    """The CLI as root (an admin), or as the test user through runuser.  A
    copy in the work dir: the build dir may be under a private home (/root,
    mode 0700, in CI), which the user cannot reach."""
    exe = os.path.join(work, "acctsec")
    if not os.path.exists(exe):
        shutil.copy(os.path.join(B, "acctsec"), exe)
        os.chmod(exe, 0o755)
    argv = [exe, "--socket", sock, *args]
    if as_user:
        argv = ["runuser", "-u", USER, "--"] + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def pamtester(answers, *ops, service=SERVICE, rhost=None):
    return pamtester_pty.run(service, USER, answers, *ops, rhost=rhost)


def login(secret, service=SERVICE, rhost=None):
    """authenticate then acct_mgmt, as a real login does."""
    return pamtester([secret], "authenticate", "acct_mgmt", service=service, rhost=rhost)


def db(sql, *args):
    con = sqlite3.connect(os.path.join(work, "state", "acctsec.db"), timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def count(sql, *args):
    return db(sql, *args)[0][0]


def events(kind):
    return db("SELECT detail, service, rhost FROM events WHERE user=? AND type=? ORDER BY id", USER, kind)


def all_events():
    return db("SELECT type, service, rhost, detail FROM events WHERE user=? ORDER BY id", USER)


def failures():
    rows = db("SELECT failures FROM lockout WHERE user=?", USER)
    return rows[0][0] if rows else 0


def setup():
    global daemon, user_made
    subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", USER], check=True)
    user_made = True
    subprocess.run(["chpasswd"], input="%s:%s\n" % (USER, PASSWORD), text=True, check=True)
    with open(conf, "w") as f:
        # deny = 10: the two counted refusals below must not lock the user.
        f.write("deny = 10\n")
    mod = "%s/.libs/pam_acctsec.so socket=%s conf=%s" % (B, sock, conf)
    for name in (SERVICE, SERVICE2):
        services_made.append(name)
        with open("/etc/pam.d/" + name, "w") as f:
            f.write("auth     [success=done ignore=ignore default=die] %s token\n"
                    "auth     requisite                  %s preauth\n"
                    "auth     [success=1 default=ignore] pam_unix.so try_first_pass\n"
                    "auth     [default=die]              %s authfail\n"
                    "auth     required                   %s authsucc\n"
                    "account  required                   pam_unix.so\n"
                    "account  required                   %s\n" % (mod, mod, mod, mod, mod))
    daemon = subprocess.Popen([os.path.join(B, "acctsecd"), "--socket", sock, "--state-dir",
                               os.path.join(work, "state"), "--config", conf, "--foreground"],
                              stderr=open(os.path.join(work, "daemon.log"), "w"))
    deadline = time.monotonic() + 30
    while cli("status").returncode != 0:  # until it answers (bounded)
        if time.monotonic() > deadline or daemon.poll() is not None:
            raise RuntimeError("acctsecd did not start")
        time.sleep(0.02)


def main():
    setup()
    r = login(PASSWORD)
    tap(r.returncode == 0, "setup: the chpasswd password logs in through pam_unix", r.out)

    # 1. a token made by the user, as the password on the service in scope
    c = cli("--json", "token", "create", "--name", TOKEN_NAME, "--expires", "1", "--services", SERVICE,
            as_user=True)
    tap(c.returncode == 0, "token create, run as the user: done", c.stdout + c.stderr)
    doc = json.loads(c.stdout) if c.returncode == 0 else {}
    token = doc.get("token", "")
    tap(TOKEN_RE.match(token) is not None and doc.get("user") == USER and doc.get("name") == TOKEN_NAME,
        "the token: 'acst_' and 49 base62 characters, the user's, named", repr(doc))
    tap(count("SELECT count(*) FROM tokens WHERE user=? AND name=? AND services=? AND last_used=0",
              USER, TOKEN_NAME, SERVICE) == 1, "tokens: one row, in scope of the first service, never used",
        repr(db("SELECT name, services, last_used FROM tokens")))
    tap(count("SELECT count(*) FROM events WHERE user=? AND type='token_created'", USER) == 1,
        "events: token_created", repr(all_events()))

    r = login(token, rhost=IN_NET)
    tap(r.returncode == 0, "the token as the password on %s: success" % SERVICE, r.out)
    used = events("token_used")
    tap(len(used) == 1 and used[0][0] == TOKEN_NAME and used[0][1] == SERVICE and used[0][2] == IN_NET,
        "events: token_used, detail = the token's name, service and source recorded", repr(all_events()))
    last = db("SELECT last_used FROM tokens WHERE user=? AND name=?", USER, TOKEN_NAME)
    tap(len(last) == 1 and last[0][0] > 0, "tokens: last_used set", repr(last))
    tap(count("SELECT count(*) FROM events WHERE user=? AND type='auth_failure'", USER) == 0
        and failures() == 0, "no failure counted for the token login", repr(all_events()))

    r = login(PASSWORD, rhost=IN_NET)
    tap(r.returncode == 0, "the real password still works (ignored by token mode, pam_unix)", r.out)
    tap(len(events("token_used")) == 1, "the password login is no token use", repr(all_events()))

    lst = cli("--json", "token", "list", as_user=True)
    rows = json.loads(lst.stdout) if lst.returncode == 0 else []
    tap(lst.returncode == 0 and len(rows) == 1 and rows[0].get("name") == TOKEN_NAME
        and rows[0].get("services") == SERVICE and (rows[0].get("last_used") or 0) > 0,
        "token list --json (the user): the token, its scope, last used", lst.stdout + lst.stderr)
    lst_root = cli("--json", "token", "list", "--user", USER)
    plain = cli("token", "list", "--user", USER)
    tap(lst_root.returncode == 0 and plain.returncode == 0 and TOKEN_NAME in plain.stdout,
        "token list (root, --user): answered", lst_root.stdout + lst_root.stderr + plain.stderr)
    tap(token and not any(token in s for s in (lst.stdout, lst.stderr, lst_root.stdout, plain.stdout)),
        "token list: the token is not in its output")

    # 2. out of scope: the second, identical service
    refused_before = len(events("token_refused"))
    r = login(token, service=SERVICE2, rhost=IN_NET)
    tap(r.returncode != 0, "the token on %s (out of scope): failure" % SERVICE2, r.out)
    tap(failures() == 1, "lockout: failures = 1", repr(db("SELECT * FROM lockout")))
    refused = events("token_refused")
    tap(len(refused) == refused_before + 1 and "not for this service" in refused[-1][0]
        and refused[-1][1] == SERVICE2, "events: token_refused (not for this service)", repr(all_events()))
    tap(len(events("token_used")) == 1, "no token_used for the refusal", repr(all_events()))

    # 3. revoked: the very next attempt fails
    rv = cli("token", "revoke", TOKEN_NAME, as_user=True)
    tap(rv.returncode == 0, "token revoke (the user): done", rv.stdout + rv.stderr)
    tap(count("SELECT count(*) FROM tokens WHERE user=?", USER) == 0
        and count("SELECT count(*) FROM events WHERE user=? AND type='token_revoked' AND detail=?",
                  USER, TOKEN_NAME) == 1, "tokens: the row is gone; events: token_revoked", repr(all_events()))
    r = login(token, rhost=IN_NET)
    refused = events("token_refused")
    tap(r.returncode != 0, "the revoked token on %s: failure at once" % SERVICE, r.out)
    tap(len(refused) == refused_before + 2 and "unknown or revoked" in refused[-1][0],
        "events: token_refused (unknown or revoked)", repr(all_events()))
    tap(len(events("token_used")) == 1, "no token_used after the revocation", repr(all_events()))

    # The token anywhere in the daemon's log?
    with open(os.path.join(work, "daemon.log"), errors="replace") as f:
        log = f.read()
    tap(token and token not in log and token[5:] not in log, "daemon log: the token is not in it", log[-2000:])

    # A successful login clears the tally before the allowlist part.
    r = login(PASSWORD, rhost=IN_NET)
    tap(r.returncode == 0 and failures() == 0, "the password logs in; the tally is cleared",
        r.out + repr(db("SELECT * FROM lockout")))

    # 4. a per-user allowlist
    add = cli("allowlist", "add", "192.0.2.0/24", "--user", USER)
    tap(add.returncode == 0, "allowlist add 192.0.2.0/24 --user (root): done", add.stdout + add.stderr)
    al = cli("--json", "allowlist", "list", "--user", USER)
    entries = json.loads(al.stdout).get("entries", []) if al.returncode == 0 else []
    tap([e.get("cidr") for e in entries] == ["192.0.2.0/24"], "allowlist list: the entry", al.stdout + al.stderr)
    refusal = cli("allowlist", "add", "203.0.113.0/24", "--user", USER, as_user=True)
    tap(refusal.returncode != 0 and count("SELECT count(*) FROM allowlist") == 1,
        "allowlist add by the user (no admin): refused", refusal.stdout + refusal.stderr)

    r = login(PASSWORD, rhost=IN_NET)
    tap(r.returncode == 0, "from %s (in the list): success" % IN_NET, r.out)
    tap(len(events("login_denied")) == 0, "no login_denied for it", repr(all_events()))

    r = login(PASSWORD, rhost=OUT_NET)
    denied = events("login_denied")
    tap(r.returncode != 0, "from %s (not in the list): authenticate fails" % OUT_NET, r.out)
    tap(len(denied) == 1 and OUT_NET in denied[0][0], "events: login_denied naming %s" % OUT_NET,
        repr(all_events()))
    tap(failures() == 0, "a network refusal is not a failed password", repr(db("SELECT * FROM lockout")))

    r = pamtester([], "acct_mgmt", rhost=OUT_NET)
    denied = events("login_denied")
    tap(r.returncode != 0 and DENIED_MSG in r.out,
        "from %s: acct_mgmt alone fails too (public-key logins skip auth)" % OUT_NET, r.out)
    tap(len(denied) == 2 and OUT_NET in denied[1][0], "events: a second login_denied naming %s" % OUT_NET,
        repr(all_events()))

    for source in ("UNKNOWN", HOST_NAME):
        r = login(PASSWORD, rhost=source)
        denied = events("login_denied")
        tap(r.returncode != 0, "from rhost %r (no literal address): failure" % source, r.out)
        tap(denied and source in denied[-1][0], "events: login_denied naming %r" % source, repr(all_events()))
    tap(len(events("login_denied")) == 4, "four login_denied in all", repr(all_events()))

    rm = cli("allowlist", "remove", "192.0.2.0/24", "--user", USER)
    al = cli("--json", "allowlist", "list", "--user", USER)
    entries = json.loads(al.stdout).get("entries", None) if al.returncode == 0 else None
    tap(rm.returncode == 0 and entries == [], "allowlist remove: done, the list is empty",
        rm.stdout + rm.stderr + al.stdout + al.stderr)
    ok = [login(PASSWORD, rhost=src).returncode == 0 for src in (OUT_NET, "UNKNOWN", HOST_NAME)]
    tap(all(ok) and len(events("login_denied")) == 4,
        "unrestricted again: %s, 'UNKNOWN' and a host name log in" % OUT_NET, repr(ok) + repr(all_events()))


def cleanup():
    if daemon is not None and daemon.poll() is None:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
    for name in services_made:
        try:
            os.unlink("/etc/pam.d/" + name)
        except FileNotFoundError:
            pass
    if user_made:
        r = subprocess.run(["userdel", USER], capture_output=True, text=True)
        tap(r.returncode == 0, "cleanup: the test user is removed", r.stderr)
    if failed:
        path = os.path.join(work, "daemon.log")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                for line in f.read().splitlines()[-30:]:
                    print("#   daemon.log: " + line)
    shutil.rmtree(work, ignore_errors=True)


try:
    main()
except Exception as e:  # noqa: BLE001 - reported as TAP
    tap(False, "setup", repr(e))
finally:
    cleanup()
print("1..%d" % n)
sys.exit(1 if failed else 0)
