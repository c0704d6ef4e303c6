#!/usr/bin/python3
"""Booted tier: the terminal programs of a real Debian 12 with systemd as
PID 1, the package installed with dpkg and its pam-auth-update profiles
enabled (common-auth, common-account, common-password, common-session as
Debian writes them), each program driven through a pty of the container's
own (ttydrive.py): prompts awaited, answers typed.

In one booted container, with alice and bob (bob in group sudo):
  1. su: bob runs su alice; three wrong passwords lock alice; the right one
     is then refused; lockout reset lets her in again.
  2. sudo: bob's own password at sudo's prompt; three wrong ones in one run
     lock him; refused while locked; works after a reset.
  3. login alice on a terminal: a shell, id -un.
  4. passwd as alice: a weak password refused with the policy's message, a
     strong one taken (/etc/shadow rewritten, root:shadow 0640); the
     previous password refused by the history.
  5. acctsec account reset-password: a temporary password in /etc/shadow
     (through acctsecd's sandbox), a change forced at the next su, the new
     password held to the policy, the forced change cleared and logged as
     the user's own.
  6. acctsec mfa disable on a terminal: a wrong password refused (TOTP kept),
     the right one and a current code turn TOTP off; Ctrl-C at its password
     prompt leaves the terminal echoing.
And, on the terminals: echo is off before a password prompt is written (su
and acctsec, with the terminal's output stopped), and no answer typed at a
prompt ever shows.  Every check looks at the outcome and at what is left
behind: the daemon's database (events, tallies, history, account),
/etc/shadow, the CLI's JSON.

Root only, with debootstrap, systemd-nspawn, nsenter, zstd and
dpkg-buildpackage (exit 77 otherwise).  TAP output."""
import atexit
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # nothing written into the tree
sys.path.insert(0, HERE)
import machine  # noqa: E402
import tap  # noqa: E402
import ttydrive  # noqa: E402

TOP = os.path.dirname(os.path.dirname(HERE))
DB = "/var/lib/acctsec/acctsec.db"

# Passwords: every class, 12 characters or more, neither user name inside.
ALICE_0 = "Orchard-Lantern-41"   # set by root with chpasswd: the first in her history
ALICE_1 = "Meadow-Stone-Pw-73"   # through passwd
ALICE_2 = "River-Candle-Pw-58"   # at the change forced after reset-password
BOB_0 = "Harbour-Window-22"
WRONG = ("Wrong-Guess-Nr-1", "Wrong-Guess-Nr-2", "Wrong-Guess-Nr-3")
WEAK = "Sh0rt-pw"                 # fails min_length only
TOO_SHORT = "The password must have at least 12 characters."
POLICY = ("Password policy: at least 12 characters, with an uppercase letter, a lowercase letter, a digit "
          "and a special character; not containing your user name; not one of your last 5 passwords.")
REUSED = "The password must not be one of your last 5 passwords."  # history = 5, the default
FORCED = "You are required to change your password now (administrator request)."

PW_PROMPT = r"Password: "
SUDO_PROMPT = r"\[sudo\] password for bob: "
OK_ALICE = "OK-alice"
SU_ALICE = ["runuser", "-u", "bob", "--", "su", "alice", "-c", "echo OK-$(id -un)"]
SUDO_ID = ["runuser", "-u", "bob", "--", "sudo", "-k", "id", "-un"]

t = tap.Tap()
m = None
terminals = []  # every Tty, for the check that no typed answer was echoed
# alice's password as the checks left it: a check that ends early leaves
# the next ones the password that /etc/shadow really holds.
current = {"alice": ALICE_0}


# --- inside -----------------------------------------------------------------
def sh(script, user=None, input=None):
    return m.run(script, user=user, input=input)


def sql(query):
    """Rows of the daemon's database, as dicts (sqlite3 -json)."""
    r = sh("sqlite3 -json %s \"%s\"" % (DB, query))
    if r.returncode != 0:
        raise RuntimeError("sqlite3: %s" % r.stderr)
    return json.loads(r.stdout) if r.stdout.strip() else []


def last_event():
    return sql("SELECT coalesce(max(id), 0) AS n FROM events")[0]["n"]


def events_since(mark, user):
    return sql("SELECT type, service, tty, actor, detail FROM events WHERE id > %d AND user = '%s' ORDER BY id"
               % (mark, user))


def types(evs):
    return [e["type"] for e in evs]


def cli_json(args, user=None):
    r = sh("acctsec --json " + args, user=user)
    if r.returncode != 0:
        raise RuntimeError("acctsec --json %s: exit %d %s%s" % (args, r.returncode, r.stdout, r.stderr))
    return json.loads(r.stdout)


def tally(user):
    tallies = cli_json("lockout show --user " + user)["tallies"]
    return tallies[0] if tallies else None


def shadow(user):
    """(hash, 'owner:group mode') of USER's line in /etc/shadow."""
    r = sh("stat -c '%%U:%%G %%a' /etc/shadow; getent shadow %s | cut -d: -f2" % user)
    lines = r.stdout.split("\n")
    return lines[1], lines[0]


def history(user):
    return sql("SELECT hash FROM password_history WHERE user = '%s' ORDER BY id" % user)


def tty(argv, dialogue):
    """ARGV on a pty with DIALOGUE: (exit status, transcript)."""
    term = ttydrive.run(m, argv, dialogue)
    terminals.append(term)
    return term.proc.returncode, term.text()


def open_tty(argv, **kw):
    term = ttydrive.Tty(m, argv, **kw)
    terminals.append(term)
    return term


def echo_off_before_prompt(term, prompt):
    """TERM started with its output stopped, and writing nothing before its
    first prompt: it blocks at the write of that prompt, and echo must be
    off by then (else an answer typed as soon as the prompt shows is echoed,
    then thrown away when echo goes off late)."""
    off = term.wait_echo_off()
    term.resume()
    term.expect(prompt)
    return off


def locked_by_three(mark, user, service):
    """Since MARK: USER's three failures through SERVICE, each counted, then
    the lock; the tally says locked."""
    evs = events_since(mark, user)
    t.ok([(e["type"], e["service"], e["detail"]) for e in evs] ==
         [("auth_failure", service, "failures=%d" % i) for i in (1, 2, 3)] + [("lockout", service, "failures=3")],
         "%s: each wrong password counted (three auth_failure events), then lockout" % service, evs)
    tl = tally(user)
    t.ok(tl is not None and tl["locked"] and tl["failures"] == 3 and tl["locked_until"] > time.time(),
         "lockout show --json: %s locked, 3 failures" % user, tl)


def su_alice(password):
    return tty(SU_ALICE, [(PW_PROMPT, password)])


def totp(secret_b32, step):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


# --- the checks ---------------------------------------------------------------
def check_su():
    mark = last_event()
    term = open_tty(SU_ALICE, stop_output=True)
    try:
        off = echo_off_before_prompt(term, PW_PROMPT)
        term.answer(ALICE_0)
        rc = term.finish()
    finally:
        term.kill()
    out = term.text()
    t.ok(off, "su: echo is off before the Password: prompt is written (PAM's misc_conv)", out)
    t.ok(rc == 0 and OK_ALICE in out.split("\n"), "su: bob becomes alice with her password (Password:, OK-alice)",
         out)
    evs = events_since(mark, "alice")
    t.ok(types(evs)[:1] == ["auth_success"] and evs[0]["service"] == "su" and evs[0]["tty"].startswith("/dev/pts/"),
         "su: auth_success for alice, service su, on the pty", evs)

    mark = last_event()
    outs = []
    for pw in WRONG:
        rc, out = su_alice(pw)
        outs.append((rc, out))
    t.ok(all(rc == 1 and "su: Authentication failure" in out and OK_ALICE not in out for rc, out in outs),
         "su: three wrong passwords refused (su: Authentication failure)", outs)
    locked_by_three(mark, "alice", "su")

    mark = last_event()
    rc, out = su_alice(ALICE_0)
    t.ok(rc == 1 and OK_ALICE not in out and "su: Authentication failure" in out,
         "su: the right password is refused while alice is locked, like a wrong one", out)
    evs = events_since(mark, "alice")
    tl = tally("alice")
    t.ok(types(evs) == ["login_denied"] and evs[0]["detail"] == "locked" and tl["failures"] == 3 and tl["locked"],
         "su: login_denied (locked) logged, no failure counted", (evs, tl))

    mark = last_event()
    r = sh("acctsec lockout reset --user alice")
    t.ok(r.returncode == 0 and "alice: unlocked" in r.stdout and tally("alice") is None,
         "lockout reset --user alice: unlocked, no tally left", r.stdout + r.stderr)
    evs = events_since(mark, "alice")
    t.ok(types(evs) == ["unlock"] and evs[0]["actor"] == "root", "unlock event, actor root", evs)
    rc, out = su_alice(ALICE_0)
    t.ok(rc == 0 and OK_ALICE in out.split("\n"), "su: alice's password works again after the reset", out)


def check_sudo():
    mark = last_event()
    rc, out = tty(SUDO_ID, [(SUDO_PROMPT, BOB_0)])
    t.ok(rc == 0 and "root" in out.split("\n"), "sudo: [sudo] password for bob: -> id -un is root", out)
    evs = events_since(mark, "bob")
    t.ok(types(evs)[:1] == ["auth_success"] and evs[0]["service"] == "sudo", "sudo: auth_success for bob", evs)

    mark = last_event()
    rc, out = tty(SUDO_ID, [(SUDO_PROMPT, pw) for pw in WRONG])
    t.ok(rc == 1 and out.count("Sorry, try again.") == 2 and "sudo: 3 incorrect password attempts" in out
         and "root" not in out.split("\n"), "sudo: three wrong passwords in one run, three prompts, refused", out)
    locked_by_three(mark, "bob", "sudo")

    mark = last_event()
    rc, out = tty(SUDO_ID, [(SUDO_PROMPT, BOB_0)] * 3)
    t.ok(rc == 1 and "root" not in out.split("\n") and "sudo: 3 incorrect password attempts" in out,
         "sudo: bob's right password refused three times while locked", out)
    evs = events_since(mark, "bob")
    tl = tally("bob")
    t.ok(types(evs) == ["login_denied"] * 3 and tl["failures"] == 3,
         "sudo: three login_denied (locked), no failure counted", (evs, tl))

    r = sh("acctsec lockout reset --user bob")
    t.ok(r.returncode == 0 and tally("bob") is None, "lockout reset --user bob", r.stdout + r.stderr)
    rc, out = tty(SUDO_ID, [(SUDO_PROMPT, BOB_0)])
    t.ok(rc == 0 and "root" in out.split("\n"), "sudo: works again after the reset", out)


def check_login():
    mark = last_event()
    term = open_tty(["login", "alice"])
    try:
        term.prompt(PW_PROMPT, ALICE_0)
        term.expect(r"alice@[^:\s]+:~\$ ")       # bash's prompt: the shell is ready
        term.send("echo ID-$(id -un)-$(tty); exit\n")
        term.expect(r"ID-alice-/dev/pts/\d+")
        rc = term.finish()
    finally:
        term.kill()
    out = term.text()
    t.ok(rc == 0 and "logout" in out, "login alice on a pty: Password:, a shell as alice on /dev/pts/N, exit", out)
    evs = events_since(mark, "alice")
    login = [(e["type"], e["service"]) for e in evs if e["service"] == "login"]
    t.ok(login == [("auth_success", "login"), ("session_opened", "login"), ("session_closed", "login")],
         "login: auth_success, session_opened, session_closed (service login)", evs)
    rows = sql("SELECT tty, ended, end_reason FROM sessions WHERE user = 'alice' AND service = 'login'")
    t.ok(len(rows) == 1 and rows[0]["tty"].startswith("/dev/pts/") and rows[0]["end_reason"] == "closed",
         "login: the session row, on the pty, closed", rows)


def check_passwd():
    before, mode = shadow("alice")
    hist = history("alice")
    t.ok(len(hist) == 1 and mode == "root:shadow 640",
         "setup: alice's chpasswd password is the first in her history; /etc/shadow root:shadow 0640", (hist, mode))

    mark = last_event()
    rc, out = tty(["runuser", "-u", "alice", "--", "passwd"],
                  [("Current password: ", ALICE_0), ("New password: ", WEAK), ("Retype new password: ", WEAK),
                   ("New password: ", ALICE_1), ("Retype new password: ", ALICE_1)])
    t.ok(rc == 0 and "passwd: password updated successfully" in out, "passwd as alice: changed", out)
    t.ok(POLICY in out and out.index(POLICY) < out.index("New password: "),
         "passwd: the policy is shown before the new password is asked for", out)
    t.ok(out.count(TOO_SHORT) == 1 and out.index(TOO_SHORT) < out.rindex("New password: "),
         "passwd: the weak password refused with the rule's message, then asked again", out)
    after, mode = shadow("alice")
    if after != before:
        current["alice"] = ALICE_1
    t.ok(after != before and after.startswith("$y$") and mode == "root:shadow 640",
         "/etc/shadow: a new yescrypt hash for alice, still root:shadow 0640", (before, after, mode))
    evs = events_since(mark, "alice")
    t.ok([(e["type"], e["service"], e["detail"]) for e in evs] == [("password_changed", "passwd", "by the user")],
         "passwd: password_changed by the user", evs)
    hist = history("alice")
    t.ok(len(hist) == 2 and all(h["hash"].startswith("$argon2id$") for h in hist),
         "password_history: a second argon2id row", [h["hash"][:12] for h in hist])
    rc, out = su_alice(ALICE_1)
    t.ok(rc == 0 and OK_ALICE in out.split("\n"), "su: the new password works", out)

    mark = last_event()
    back = [("Current password: ", ALICE_1)] + [(p, ALICE_0) for _ in range(3)
                                                  for p in ("New password: ", "Retype new password: ")]
    rc, out = tty(["runuser", "-u", "alice", "--", "passwd"], back)
    t.ok(rc != 0 and out.count(REUSED) == 3 and "passwd: password unchanged" in out,
         "passwd: the previous password refused three times by the history (history = 5)", out)
    unchanged, mode = shadow("alice")
    t.ok(unchanged == after and mode == "root:shadow 640" and events_since(mark, "alice") == []
         and len(history("alice")) == 2, "refused: /etc/shadow, events and history untouched",
         (unchanged, after, mode, events_since(mark, "alice")))


def check_reset_password():
    before, _ = shadow("alice")
    mark = last_event()
    reply = cli_json("account reset-password --user alice")
    temp = reply.get("password") or ""
    t.ok(reply.get("user") == "alice" and len(temp) == 20 and reply.get("change_required") is True,
         "reset-password --user alice (root): a temporary password, a change required", reply)
    after, mode = shadow("alice")
    if after != before:
        current["alice"] = temp
    leftovers = sh("ls -d /etc/nshadow /etc/npasswd 2>/dev/null").stdout
    t.ok(after not in (before, "") and after.startswith("$y$") and mode == "root:shadow 640" and not leftovers,
         "/etc/shadow: a new hash for alice set by acctsecd, still root:shadow 0640, no nshadow left",
         (before, after, mode, leftovers))
    evs = events_since(mark, "alice")
    t.ok(types(evs) == ["password_reset"] and evs[0]["actor"] == "root", "password_reset event, actor root", evs)
    st = cli_json("status --user alice")
    t.ok(st["password_change_required"] is True, "status --json: password_change_required", st)

    mark = last_event()
    term = open_tty(SU_ALICE)
    try:
        term.prompt(PW_PROMPT, temp)
        term.expect(re.escape(FORCED))
        # pam_unix asks for the current password when the caller is not root
        # (su runs as bob); then acctsec's policy line asks for the new one.
        i, _ = term.expect("Current password: ", "New password: ")
        if i == 0:
            term.answer(temp)
            term.expect("New password: ")
        term.answer(WEAK)
        term.prompt("Retype new password: ", WEAK)
        term.expect(re.escape(TOO_SHORT))
        term.prompt("New password: ", ALICE_2)
        term.prompt("Retype new password: ", ALICE_2)
        rc = term.finish()
    finally:
        term.kill()
    out = term.text()
    t.ok(rc == 0 and OK_ALICE in out.split("\n"),
         "su with the temporary password: a change forced at once, the weak one refused, then in", out)
    t.ok(POLICY in out, "the forced change shows the policy", out)
    changed, mode = shadow("alice")
    if changed != after:
        current["alice"] = ALICE_2
    t.ok(changed not in (after, "") and mode == "root:shadow 640", "/etc/shadow: alice's new hash, root:shadow 0640",
         (after, changed, mode))
    evs = events_since(mark, "alice")
    pc = [e for e in evs if e["type"] == "password_changed"]
    t.ok(types(evs)[:2] == ["auth_success", "password_changed"] and len(pc) == 1 and pc[0]["service"] == "su",
         "events: auth_success, password_changed (service su)", evs)
    t.ok(pc and pc[0]["detail"] == "by the user, at login (the password had expired)",
         "password_changed says the user changed it at login (not the user who ran su)", pc)
    st = cli_json("status --user alice")
    t.ok(st["password_change_required"] is False and len(history("alice")) == 3,
         "status --json: the forced change is cleared; the new password in the history", (st, len(history("alice"))))
    rc, out = su_alice(ALICE_2)
    t.ok(rc == 0 and OK_ALICE in out.split("\n") and FORCED not in out, "su: the new password works, no change asked",
         out)


def check_mfa_disable():
    enrol = cli_json("mfa enroll totp", user="alice")
    secret = enrol.get("secret", "")
    step = int(time.time()) // 30
    conf = cli_json("mfa confirm %s" % totp(secret, step), user="alice")
    st = cli_json("mfa status", user="alice")
    t.ok(enrol.get("state") == "pending" and conf.get("totp") == "active" and st["totp"] == "active",
         "alice enrols TOTP (enroll --json, confirm with a host-computed code): active", (enrol.get("state"), conf, st))

    mark = last_event()
    code_prompt = r"Code from your authenticator app \(or a backup code\): "
    argv = ["runuser", "-u", "alice", "--", "acctsec", "mfa", "disable"]
    # A good code with the wrong password: the password is what is refused.
    term = open_tty(argv, stop_output=True)
    try:
        off = echo_off_before_prompt(term, PW_PROMPT)
        term.answer(WRONG[0])
        term.prompt(code_prompt, totp(secret, step + 1))
        rc = term.finish()
    finally:
        term.kill()
    out = term.text()
    t.ok(off, "mfa disable: echo is off before the Password: prompt is written", out)
    st = cli_json("mfa status", user="alice")
    t.ok(rc == 1 and "wrong password or code; nothing was changed" in out and st["totp"] == "active"
         and st["backup_codes_left"] == 10, "mfa disable with a wrong password: refused, TOTP still active", (out, st))
    evs = events_since(mark, "alice")
    t.ok([(e["type"], e["service"]) for e in evs] == [("auth_failure", "acctsec")],
         "the wrong password counted (auth_failure, service acctsec)", evs)

    mark = last_event()
    # A code for a step after the one the confirmation used (steps only move forward).
    code = totp(secret, max(step + 1, int(time.time()) // 30))
    rc, out = tty(argv, [(PW_PROMPT, current["alice"]), (code_prompt, code)])
    t.ok(rc == 0 and "Second factor turned off" in out, "mfa disable with the password and a current code", out)
    st = cli_json("mfa status", user="alice")
    rows = sql("SELECT (SELECT count(*) FROM mfa_totp WHERE user = 'alice') AS totp, "
               "(SELECT count(*) FROM backup_codes WHERE user = 'alice') AS codes")
    t.ok(st["totp"] == "none" and st["backup_codes_left"] == 0 and rows == [{"totp": 0, "codes": 0}],
         "mfa status --json: totp none, no backup codes; nothing left in the database", (st, rows))
    evs = events_since(mark, "alice")
    t.ok(types(evs) == ["mfa_disabled"], "mfa_disabled event", evs)

    # Ctrl-C at the password prompt: the program ends, the terminal echoes.
    term = open_tty(argv)
    try:
        term.expect(PW_PROMPT)
        echo_at_prompt = term.echo()
        term.send("\x03")
        ended = term.wait_eof()  # every holder of the terminal gone
        echo_after = term.echo()
        rc = term.finish()
    finally:
        term.kill()
    t.ok(not echo_at_prompt and ended and echo_after and rc != 0,
         "mfa disable: Ctrl-C at the Password: prompt ends it and leaves the terminal echoing",
         (echo_at_prompt, ended, echo_after, rc, term.text()))


def check_nothing_echoed():
    echoed = [(term.echoed(), term.text()) for term in terminals if term.echoed()]
    t.ok(not echoed and len(terminals) > 10, "no answer typed at a prompt showed on any of the %d terminals"
         % len(terminals), echoed)


# --- the machine --------------------------------------------------------------
def setup(work):
    global m
    start = time.monotonic()
    deb = machine.the_deb(TOP, work)
    machine.log("package built in %.0f s" % (time.monotonic() - start))
    m = machine.Machine("acctsec-tty", work, [deb])
    atexit.register(teardown)
    start = time.monotonic()
    m.boot()
    m.install()
    machine.log("booted and installed in %.0f s" % (time.monotonic() - start))
    m.add_user("alice", ALICE_0)
    m.add_user("bob", BOB_0, groups=("sudo",))


def teardown():
    if m is not None:
        m.shutdown()
        m.remove()


def main():
    machine.need_root_and_tools()
    start = time.monotonic()
    work = tempfile.mkdtemp(prefix="acctsec-booted-tty-", dir="/var/tmp")
    try:
        setup(work)
        t.ok(True, "booted Debian 12, acctsec installed, profiles enabled, alice and bob made")
        for check in (check_su, check_sudo, check_login, check_passwd, check_reset_password, check_mfa_disable,
                      check_nothing_echoed):
            begun = time.monotonic()
            try:
                check()
                machine.log("%s: %.1f s" % (check.__name__, time.monotonic() - begun))
            except Exception:  # noqa: BLE001 - one failed step is a failed check, the rest still run
                t.ok(False, "%s: ended early" % check.__name__, traceback.format_exc())
                for user in ("alice", "bob"):  # what the next checks need
                    sh("acctsec lockout reset --user %s" % user)
        if t.failed:
            for line in ("acctsecd's journal:\n" + m.journal("-u acctsecd -o cat -n 80")).splitlines():
                machine.log(line)
    except Exception:  # noqa: BLE001
        t.ok(False, "setup", traceback.format_exc())
    finally:
        teardown()
        if os.environ.get("ACCTSEC_BOOTED_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        machine.log("%.0f s" % (time.monotonic() - start))
    t.finish()


if __name__ == "__main__":
    main()
