#!/usr/bin/python3
"""Tier 4: the password stack end to end.  pamtester (root, changing a test
user's password: pam_unix asks no old one) through a real /etc/pam.d service
file with pam_acctsec.so before real pam_unix (use_authtok yescrypt) and
pam_acctsec.so commit after it, a real acctsecd on a temporary socket,
state directory and config (a dictionary file, a Maildir).  Checks: the
policy shown, a weak password refused with the rule's message and a strong
one taken in the same run (retry), /etc/shadow rewritten with yescrypt, the
change logged and hashed into the history (argon2id), the notice mailed to
the user's verified address without the password, reuse refused (history),
a dictionary word refused, three weak tries ending the change with shadow
untouched.  Root only (exit 77 otherwise).  Creates a user and
/etc/pam.d/acctsec-t-pw-PID; removes both.  TAP output."""
import json
import os
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
USER = "acctsec-pw-%d" % os.getpid()
SERVICE = "acctsec-t-pw-%d" % os.getpid()
ADDRESS = "pw-test@example.com"
OLD = "Initial-Horse-41"  # set with chpasswd, so not in the history
P1 = "Correct-Horse-Battery-1"
P2 = "Second-Staple-Window-2"
P3 = "Third-Lantern-River-3"
P4 = "Fourth-Meadow-Stone-4"
DICT_WORD = "Summer-Holiday-2024!"  # meets every other rule
DICT_LINE = "summer-holiday-2024!"  # listed in another case: compared ignoring ASCII case
SHORT = "Sh0rt-x"  # fails only min_length
WEAK = (SHORT, "alllowercase-123!", "No-Digits-Here-At-All")
POLICY = "Password policy: at least 12 characters"
TOO_SHORT = "The password must have at least 12 characters."
REUSED = "The password must not be one of your last 5 passwords."
LISTED = "The password is in the list of forbidden passwords."
work = tempfile.mkdtemp(prefix="acctsec-password.")
os.chmod(work, 0o755)
sock = os.path.join(work, "sock")
conf = os.path.join(work, "acctsec.conf")
dictionary = os.path.join(work, "dictionary")
maildir = os.path.join(work, "maildir")
daemon = None
user_made = False
pam_acctsec_made = False  # /etc/pam.d/acctsec, for reset-password, if the system had none
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
n = failed = 0


def tap(ok, name, info=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, name), flush=True)
    if not ok:
        failed += 1
        for line in str(info).splitlines():
            print("# " + line)


def cli(*args):
    return subprocess.run([os.path.join(B, "acctsec"), "--socket", sock, *args],
                          capture_output=True, text=True, timeout=30)


def pamtester(answers, *ops):
    return pamtester_pty.run(SERVICE, USER, answers, *ops)


def change(*passwords):
    """chauthtok as root; each password typed twice (new, retype)."""
    return pamtester([a for p in passwords for a in (p, p)], "chauthtok")


def login(password):
    return pamtester([password], "authenticate").returncode == 0


def db(sql, *args):
    con = sqlite3.connect(os.path.join(work, "state", "acctsec.db"), timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def count(sql, *args):
    return db(sql, *args)[0][0]


def changed_events():
    return count("SELECT count(*) FROM events WHERE user=? AND type='password_changed'", USER)


def history():
    return count("SELECT count(*) FROM password_history WHERE user=?", USER)


def all_events():
    return db("SELECT type, detail FROM events WHERE user=? ORDER BY rowid", USER)


def shadow_hash():
    with open("/etc/shadow") as f:
        for line in f:
            fields = line.split(":")
            if fields[0] == USER:
                return fields[1]
    return None


def mails(want, seconds=10):
    """The messages in the Maildir's new/ once there are at least want
    (bounded poll: each is written by a child of the daemon after commit)."""
    new = os.path.join(maildir, "new")
    deadline = time.monotonic() + seconds
    while True:
        names = sorted(os.listdir(new)) if os.path.isdir(new) else []
        if len(names) >= want or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    out = []
    for name in names:
        with open(os.path.join(new, name), encoding="utf-8", errors="replace") as f:
            out.append(f.read())
    return out


def setup():
    global daemon, user_made
    subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", USER], check=True)
    user_made = True
    subprocess.run(["chpasswd"], input="%s:%s\n" % (USER, OLD), text=True, check=True)
    with open(dictionary, "w") as f:
        f.write("# common passwords\nPassword123!\n%s\n" % DICT_LINE)
    os.chown(dictionary, 0, 0)
    os.chmod(dictionary, 0o644)
    with open(conf, "w") as f:
        # deny = 0: the few wrong-password checks below must not lock the user.
        f.write("deny = 0\nmaildir = %s\nmail_from = acctsec@test.example\ndictionary = %s\n"
                % (maildir, dictionary))
    mod = "%s/.libs/pam_acctsec.so socket=%s conf=%s" % (B, sock, conf)
    with open("/etc/pam.d/" + SERVICE, "w") as f:
        f.write("auth     requisite                  %s preauth\n"
                "auth     [success=1 default=ignore] pam_unix.so nodelay\n"
                "auth     [default=die]              %s authfail\n"
                "auth     required                   %s authsucc\n"
                "account  required                   %s\n"
                "account  required                   pam_unix.so\n"
                "password requisite                  %s\n"
                "password [success=1 default=ignore] pam_unix.so use_authtok yescrypt\n"
                "password requisite                  pam_deny.so\n"
                "password optional                   %s commit\n" % (mod, mod, mod, mod, mod, mod))
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
    tap(login(OLD), "setup: the chpasswd password logs in through pam_unix")
    q = cli("email", "set", ADDRESS, "--user", USER)
    tap(q.returncode == 0, "email set by root: a verified address", q.stdout + q.stderr)

    # 1. weak refused, strong taken in the same run
    before = shadow_hash()
    r = change(SHORT, P1)
    tap(r.returncode == 0, "chauthtok: a weak then a strong password: success", r.out)
    tap(POLICY in r.out and r.out.index(POLICY) < r.out.index("New password: "),
        "the policy is shown before the first prompt", r.out)
    tap(TOO_SHORT in r.out, "the weak one is refused with the rule's message", r.out)
    tap(r.out.count("New password: ") == 2 and r.out.count("Retype new password: ") == 2,
        "asked again after the refusal (new, retype twice)", r.out)
    after = shadow_hash()
    tap(after not in (None, before) and after.startswith("$y$"), "shadow: a new yescrypt hash", after)
    tap(login(P1) and not login(OLD), "the new password logs in, the old one no longer")
    tap(count("SELECT count(*) FROM events WHERE user=? AND type='password_changed' AND detail='by root'",
              USER) == 1, "events: password_changed 'by root'", repr(all_events()))
    rows = db("SELECT hash FROM password_history WHERE user=?", USER)
    tap(len(rows) == 1 and rows[0][0].startswith("$argon2id$"), "password_history: one argon2id hash",
        repr([h[:16] for (h,) in rows]))

    # 4. the notice mail
    got = mails(1)
    text = got[0] if got else ""
    tap(len(got) == 1, "mail: one notice in the Maildir", repr(got))
    tap("\nSubject: Your password was changed\n" in text and "\nTo: %s\n" % ADDRESS in text
        and USER in text and "by root" in text,
        "mail: to the verified address, 'Your password was changed', names the account", text)
    tap(not any(p in text for p in (P1, OLD)), "mail: the password is not in it", text)

    # 2. history: back to the previous password
    r = change(P2)
    tap(r.returncode == 0 and history() == 2, "changed again (P1 -> P2): two history rows",
        r.out + repr(history()))
    before, events_before = shadow_hash(), changed_events()
    r = change(P1, P1, P1)
    tap(r.returncode != 0 and r.out.count(REUSED) == 3, "the previous password is refused: 'last 5 passwords'",
        r.out)
    tap(shadow_hash() == before and history() == 2 and changed_events() == events_before,
        "refused reuse: shadow, history and events unchanged", repr(all_events()))
    tap(login(P2) and not login(P1), "P2 still logs in, P1 does not")

    # 3. the dictionary
    before = shadow_hash()
    r = change(DICT_WORD, P3)
    tap(r.returncode == 0 and LISTED in r.out, "a dictionary word (other case) is refused, then P3 taken", r.out)
    tap(shadow_hash() != before and login(P3) and not login(DICT_WORD),
        "shadow: P3 logs in, the dictionary word does not")

    # 5. three weak tries
    before, events_before, history_before = shadow_hash(), changed_events(), history()
    r = change(*WEAK)
    tap(r.returncode != 0 and "retries" in r.out, "three weak passwords: the change fails (maximum tries)", r.out)
    tap(TOO_SHORT in r.out and "uppercase" in r.out and "digit" in r.out,
        "each weak one is refused with its rule's message", r.out)
    tap(r.out.count("New password: ") == 3, "asked exactly three times (retry = 3)", r.out)
    tap(shadow_hash() == before and changed_events() == events_before and history() == history_before,
        "shadow, events and history unchanged", repr(all_events()))
    tap(login(P3), "P3 still logs in")

    got = mails(3)
    tap(len(got) == 3 and not any(p in m for m in got for p in (P1, P2, P3, DICT_WORD)),
        "mail: one notice per change (3), none with a password", "%d mails" % len(got))
    with open(os.path.join(work, "daemon.log"), errors="replace") as f:
        log = f.read()
    tap(not any(p in log for p in (OLD, P1, P2, P3, DICT_WORD) + WEAK),
        "daemon log: no password in it", log[-2000:])
    reset_password()


def reset_password():
    """acctsec account reset-password through acctsecd's own service
    /etc/pam.d/acctsec (real pam_unix): made here when the system has none."""
    global pam_acctsec_made
    path = "/etc/pam.d/acctsec"
    if not os.path.exists(path):
        shutil.copy(os.path.join(TOP, "doc", "pam.d", "acctsec"), path)
        pam_acctsec_made = True
    before = shadow_hash()
    r = cli("--json", "account", "reset-password", "--user", USER)
    tap(r.returncode == 0, "reset-password (root): done", r.stdout + r.stderr)
    temp = json.loads(r.stdout).get("password", "") if r.returncode == 0 else ""
    tap(len(temp) == 20 and shadow_hash() not in (None, before),
        "reset-password: a 20-character password, set in /etc/shadow by pam_unix", repr(temp))
    tap(login(temp) and not login(P3), "the temporary password logs in, the old one no longer")
    acct = pamtester([], "acct_mgmt")
    tap(acct.returncode != 0 and "required to change your password" in acct.out,
        "account: a change is required at the next login", acct.out)
    tap(count("SELECT count(*) FROM events WHERE user=? AND type='password_reset' AND actor='root'", USER) == 1,
        "events: password_reset by root")
    r = change(P4)
    tap(r.returncode == 0 and pamtester([], "acct_mgmt").returncode == 0 and login(P4),
        "the user's change ends the forced change", r.out)


def cleanup():
    if daemon is not None and daemon.poll() is None:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
    for name in [SERVICE] + (["acctsec"] if pam_acctsec_made else []):
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
