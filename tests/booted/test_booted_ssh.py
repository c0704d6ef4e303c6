#!/usr/bin/python3
"""Booted tier (issue 15): sshd, mail and sessions on a Debian 12 that runs
systemd as PID 1, with the package installed by dpkg, the real units
(acctsecd.socket, acctsecd-private.socket, acctsecd.service and its
sandbox), the real pam-auth-update profiles and the real /etc/pam.d/sshd.

In one booted container:
  sshd    a password login; keyboard-interactive with a TOTP code (enrolled
          and confirmed by the user with acctsec) and with an emailed code
          (the address set by the admin, emailed codes turned on by the
          user); public-key logins refused while the user is locked (three
          wrong passwords through sshd) and while the account is disabled,
          accepted after the unlock and the enable.
  mail    a real code mail through each transport, the daemon reloaded
          (systemctl reload) between them: maildir (the default, under the
          state directory), sendmail (msmtp relaying to a receiver here),
          smtp (libcurl to another receiver here).
  session alice's ssh sessions as `acctsec session list` shows them, with
          their logind sessions; ended by id and with --all-others (from
          inside one of them) through logind; her systemd --user left
          alone; sessions whose processes were killed closed by the daemon
          ("process gone") when it starts and when a list runs.

The test process moves into the container's network namespace: paramiko
reaches sshd on 127.0.0.1:22 there, and the container's sendmail and
acctsecd reach the SMTP receivers this process runs on 127.0.0.1.  Root
only; exit 77 when the tools are missing.  TAP output.

Environment: ACCTSEC_BOOTED_KEEP=1 keeps the root file system and the
work directory (see machine.py for the others)."""
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import machine  # noqa: E402
from tap import Tap  # noqa: E402

machine.need_root_and_tools()
try:
    import paramiko
    import aiosmtpd  # noqa: F401 - the receivers (Debian: python3-aiosmtpd)
except ImportError as e:
    print("# %s missing (python3-paramiko, python3-aiosmtpd): skipped" % e.name)
    sys.exit(77)
import sshlogin as ssh  # noqa: E402

DEADLINE = 600  # seconds for the whole test, build included; then it is killed
PASSWORD = "Correct-Horse-5x"
ALICE, BOB, CAROL, DAVE = "alice", "bob", "carol", "dave"  # sessions, TOTP, emailed codes, keys
CAROL_ADDRESS = "carol@example.com"
MAIL_FROM = "acctsec@example.org"
CODE_SUBJECT = "Your login verification code"
NOTICE_SUBJECT = "New login to your account"
DB = "/var/lib/acctsec/acctsec.db"
CONF = "/etc/security/acctsec.conf"
MAILDIR = "/var/lib/acctsec/maildir"  # maildir's default: acctsec.conf(5)
LOCKOUT_MESSAGE_ID = "f24dacdff45943a2be72adc6c0ce36d9"  # doc/security-log.md

t = Tap()
m = None
SHIPPED_CONF = ""  # /etc/security/acctsec.conf as the package installed it


# --- inside the container ---------------------------------------------------------
def sh(script, **kw):
    return m.run(script, **kw)


def sql(query):
    """The rows of one SELECT on the daemon's database, as dicts."""
    r = sh("sqlite3 -json %s" % DB, input=".timeout 5000\n%s;\n" % query)
    if r.returncode != 0:
        raise RuntimeError("sqlite3: %s%s" % (r.stdout, r.stderr))
    return json.loads(r.stdout) if r.stdout.strip() else []


def count(table, where):
    return sql("SELECT count(*) AS n FROM %s WHERE %s" % (table, where))[0]["n"]


def q(s):
    """An SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def events(user, type_, detail=None, actor=None, service=None):
    where = "user = %s AND type = %s" % (q(user), q(type_))
    for column, value in (("detail", detail), ("actor", actor), ("service", service)):
        if value is not None:
            where += " AND %s = %s" % (column, q(value))
    return count("events", where)


def event_log(user):
    return "\n".join("%(type)s %(actor)s %(detail)s" % e for e in
                     sql("SELECT type, actor, detail FROM events WHERE user = %s ORDER BY id" % q(user)))


def cli(args, user=None):
    """acctsec --json ARGS (as USER): the CompletedProcess, with .json."""
    r = sh("acctsec --json " + args, user=user)
    try:
        r.json = json.loads(r.stdout)
    except ValueError:
        r.json = None
    return r


def session_row(sid):
    rows = sql("SELECT * FROM sessions WHERE id = %d" % sid)
    return rows[0] if rows else {}


def active_sessions(user, service="sshd"):
    return sql("SELECT * FROM sessions WHERE user = %s AND service = %s AND ended = 0 ORDER BY id"
               % (q(user), q(service)))


def new_session(user, before):
    """The one sshd session of USER recorded after id BEFORE (waits for it)."""
    rows = ssh.wait_for(lambda: [r for r in active_sessions(user) if r["id"] > before],
                        "a new sshd session row of %s" % user)
    return rows[-1]


def last_session_id():
    return sql("SELECT coalesce(max(id), 0) AS n FROM sessions")[0]["n"]


def logind_sessions():
    """{logind session id: user} from loginctl."""
    out = sh("loginctl --no-legend list-sessions").stdout
    return {f[0]: f[2] for f in (line.split() for line in out.splitlines()) if len(f) >= 3}


def write_file(path, text, mode="0644"):
    """Written beside, then renamed over: readers never see half a file."""
    r = sh("umask 077 && cat > %s.new && chmod %s %s.new && mv %s.new %s" % (path, mode, path, path, path),
           input=text)
    if r.returncode != 0:
        raise RuntimeError("writing %s: %s" % (path, r.stderr))


def reloads():
    return sh("journalctl --no-pager -o cat -u acctsecd.service").stdout.count("reloaded %s" % CONF)


def reload_daemon(settings):
    """acctsec.conf = the shipped file + SETTINGS, then systemctl reload; waits
    for the daemon's word that it read the file (systemctl reload returns
    once the signal is sent).  Returns the check's outcome and what it saw."""
    before, pid = reloads(), main_pid()
    write_file(CONF, SHIPPED_CONF + settings)
    r = sh("systemctl reload acctsecd.service")
    if r.returncode != 0:
        return False, r.stderr
    try:
        ssh.wait_for(lambda: reloads() > before, "acctsecd's 'reloaded %s'" % CONF)
    except TimeoutError as e:
        return False, str(e)
    return main_pid() == pid, "MainPID %s -> %s" % (pid, main_pid())


def main_pid():
    return sh("systemctl show -p MainPID --value acctsecd.service").stdout.strip()


def failed_units():
    return sh("systemctl --failed --no-legend --plain").stdout.strip()


def answers(password, code=None):
    """keyboard-interactive: the password, then CODE() at the code prompt."""
    def answer(prompt):
        if prompt.endswith("Password: "):
            return password
        if code and ("Verification code: " in prompt or "Emailed code (or type resend): " in prompt):
            return code()
        return ""
    return answer


# --- set-up -----------------------------------------------------------------------
def setup(work):
    global m, SHIPPED_CONF
    start = time.monotonic()
    deb = machine.the_deb(TOP, work)
    machine.log("built %s (%.0f s)" % (os.path.basename(deb), time.monotonic() - start))
    m = machine.Machine("acctsec-ssh", work, [deb])
    state = m.boot()
    m.enter_network()  # before any thread (paramiko's, aiosmtpd's)
    t.ok(state == "running", "boot: systemd reports the system running", failed_units())

    r = m.install(enable_profiles=False)  # dpkg -i, its output kept
    out = r.stdout + r.stderr
    t.ok(r.returncode == 0 and "warning" not in out.lower() and "error" not in out.lower(),
         "install: dpkg -i without a warning or error", out)
    t.cmd(sh("pam-auth-update --enable acctsec acctsec-authfail acctsec-mfa"),
          "install: pam-auth-update enables the acctsec, acctsec-authfail and acctsec-mfa profiles")
    session = sh("grep -h pam_acctsec.so /etc/pam.d/common-auth /etc/pam.d/common-account "
                 "/etc/pam.d/common-session /etc/pam.d/common-password").stdout
    t.ok(all(x in session for x in ("preauth", "authfail", "mfa", "commit")),
         "install: the common-* files carry the module's lines", session)
    r = sh("systemctl is-active acctsecd.socket acctsecd-private.socket")
    t.ok(r.stdout.split() == ["active", "active"] and not failed_units(),
         "install: both sockets listening, no failed unit", r.stdout + failed_units())
    SHIPPED_CONF = sh("cat %s" % CONF).stdout

    for user in (ALICE, BOB, CAROL, DAVE):
        m.add_user(user, PASSWORD)  # chpasswd: through the password policy, argon2id history

    # sshd: keyboard-interactive on (Debian ships it off), passwords too.
    write_file("/etc/ssh/sshd_config.d/acctsec-test.conf",
               "KbdInteractiveAuthentication yes\nPasswordAuthentication yes\n")
    r = sh("sshd -t && systemctl restart ssh.service && sshd -T | grep -E '^(kbdinteractive|password)authentication '")
    t.ok(r.returncode == 0 and "kbdinteractiveauthentication yes" in r.stdout
         and "passwordauthentication yes" in r.stdout,
         "sshd: restarted with keyboard-interactive and password authentication", r.stdout + r.stderr)
    ssh.wait_port(port=22)
    r = cli("doctor")
    problems = [f for f in (r.json or {}).get("findings", []) if f.get("severity") == "problem"]
    t.ok(r.json is not None and r.json.get("problems") == 0 and not problems,
         "acctsec doctor: no problem in the real /etc/pam.d, sshd_config (with the drop-in) and units",
         r.stdout + r.stderr)


# --- 1. sshd ----------------------------------------------------------------------
def password_login():
    before = last_session_id()
    r = ssh.login(ALICE, password=PASSWORD, keep=True)
    t.ok(r.ok, "sshd password: alice logs in", repr(r.error))
    if not r.ok:
        return
    row = new_session(ALICE, before)
    t.ok(row["rhost"] == "127.0.0.1" and row["tty"] == "ssh" and events(ALICE, "auth_success") == 1
         and events(ALICE, "session_opened", "session %d" % row["id"]) == 1,
         "sshd password: auth_success and session_opened recorded (service sshd, from 127.0.0.1)",
         repr(row) + "\n" + event_log(ALICE))
    r.transport.close()
    ended = ssh.wait_for(lambda: session_row(row["id"]).get("ended"), "alice's session to be closed")
    t.ok(ended and session_row(row["id"])["end_reason"] == "closed"
         and events(ALICE, "session_closed", "session %d" % row["id"]) == 1,
         "sshd password: the logout closes the record (pam_close_session)", repr(session_row(row["id"])))


def totp_login():
    r = cli("mfa enroll totp", user=BOB)
    secret = (r.json or {}).get("secret", "")
    t.ok(r.returncode == 0 and secret and r.json.get("state") == "pending",
         "TOTP: bob enrols (acctsec mfa enroll totp, as bob): pending", r.stdout + r.stderr)
    step = ssh.time_step()
    r = cli("mfa confirm %s" % ssh.totp(secret, step), user=BOB)
    t.ok(r.returncode == 0 and (r.json or {}).get("totp") == "active" and len(r.json.get("backup_codes", [])) == 10,
         "TOTP: bob confirms with the current code: active, 10 backup codes", r.stdout + r.stderr)

    # A wrong code: none of the codes any window around now accepts.
    near = {ssh.totp(secret, s) for s in range(step - 3, step + 5)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in near)
    r = ssh.login(BOB, answer=answers(PASSWORD, lambda: wrong))
    tally = cli("lockout show --user %s" % BOB).json or {}
    t.ok(not r.ok and [p.splitlines()[-1] for p in r.prompts] == ["Password: ", "Verification code: "]
         and events(BOB, "code_refused", "totp: wrong code") == 1
         and [x["failures"] for x in tally.get("tallies", [])] == [1],
         "sshd TOTP: the right password and a wrong code are refused, counted (code_refused, 1 failure)",
         repr(r.prompts) + repr(tally) + "\n" + event_log(BOB))

    # The next step's code: in the window whether or not the clock moved on.
    r = ssh.login(BOB, answer=answers(PASSWORD, lambda: ssh.totp(secret, step + 1)))
    tally = cli("lockout show --user %s" % BOB).json or {}
    t.ok(r.ok and len(r.prompts) == 2 and events(BOB, "code_used") == 1
         and events(BOB, "auth_success") == 1 and all(x["failures"] == 0 for x in tally.get("tallies", [])),
         "sshd TOTP: password + code accepted; code_used, auth_success, the failure cleared",
         repr(r.prompts) + repr(r.error) + repr(tally) + "\n" + event_log(BOB))


def emailed_code_login(box):
    r = cli("email set %s --user %s" % (CAROL_ADDRESS, CAROL))
    t.ok(r.returncode == 0 and r.json == {"address": CAROL_ADDRESS, "verified": True}
         and events(CAROL, "email_set", actor="root") == 1,
         "emailed codes: root sets carol's address (verified, email_set by root)", r.stdout + r.stderr)
    r = cli("mfa enroll email", user=CAROL)
    st = cli("mfa status", user=CAROL).json or {}
    t.ok(r.returncode == 0 and (r.json or {}).get("email_codes") == "active" and st.get("email_codes") is True
         and events(CAROL, "mfa_enrolled", "emailed codes") == 1,
         "emailed codes: carol turns them on (acctsec mfa enroll email, as carol)",
         r.stdout + r.stderr + repr(st))

    r = ssh.login(CAROL, answer=answers(PASSWORD, box.code_answer(CODE_SUBJECT)))
    t.ok(r.ok and [p.splitlines()[-1] for p in r.prompts] == ["Password: ", "Emailed code (or type resend): "]
         and "A code was sent to c\u2022\u2022\u2022@example.com." in r.prompts[-1],
         "sshd emailed code (maildir): password + the code read from the mail accepted",
         repr(r.prompts) + repr(r.error))
    mail = box.taken[0] if box.taken else {}
    t.ok(mail.get("to") == CAROL_ADDRESS and mail.get("from") == "root@localhost"
         and events(CAROL, "code_sent", "login code to c\u2022\u2022\u2022@example.com") == 1
         and events(CAROL, "code_used", "emailed code") == 1,
         "maildir: the code mail under %s/new (To carol, From the default root@localhost); "
         "code_sent, code_used" % MAILDIR, repr(mail) + "\n" + event_log(CAROL))
    notice = box.take(NOTICE_SUBJECT)  # a verified address, a first login from 127.0.0.1
    t.ok("from:    127.0.0.1" in notice["raw"] and events(CAROL, "new_source_login") == 1,
         "maildir: the new-source notice is delivered too", notice["raw"])


def key_login(key):
    """dave's public-key login; when accepted, its session is opened and
    closed before this returns (sshd opens the PAM session after the
    client heard it was in, and logind starts user@UID.service with it:
    the next step must not race that)."""
    before = last_session_id()
    r = ssh.login(DAVE, key=key, keep=True)
    if r.ok:
        sid = new_session(DAVE, before)["id"]
        r.transport.close()
        ssh.wait_for(lambda: session_row(sid).get("ended"), "dave's session %d to be closed" % sid)
    return r


def key_lock_disable():
    # dave's own key, made inside as dave; the host reads the private half.
    r = sh("install -d -m 0700 -o dave -g dave /home/dave/.ssh && runuser -u dave -- sh -c "
           "'ssh-keygen -q -t ed25519 -N \"\" -f ~/.ssh/id_ed25519 && cp ~/.ssh/id_ed25519.pub ~/.ssh/authorized_keys'")
    if not t.cmd(r, "keys: dave has a key pair and authorizes its public half (~/.ssh/authorized_keys)"):
        return
    key = paramiko.Ed25519Key.from_private_key_file(m.path("/home/dave/.ssh/id_ed25519"))
    t.ok(key_login(key).ok, "sshd key: dave's public-key login works")

    refused = [ssh.login(DAVE, password="Wrong-Horse-%d!" % i) for i in range(3)]
    lo = cli("lockout show --user %s" % DAVE).json or {}
    tallies = lo.get("tallies", [])
    t.ok(not any(x.ok for x in refused) and len(tallies) == 1 and tallies[0]["locked"] is True
         and tallies[0]["failures"] == 3 and events(DAVE, "lockout") == 1,
         "sshd key: three wrong passwords lock dave (lockout show: locked, 3 failures; lockout event)",
         repr(lo) + "\n" + event_log(DAVE))
    r = key_login(key)
    t.ok(not r.ok and isinstance(r.error, paramiko.AuthenticationException)
         and events(DAVE, "login_denied", "locked", service="sshd") == 1,
         "sshd key: locked: the public-key login is refused by the account phase (login_denied 'locked')",
         repr(r.error) + "\n" + event_log(DAVE))
    r = cli("lockout reset --user %s" % DAVE)
    lo = cli("lockout show --user %s" % DAVE).json or {}
    ok = key_login(key).ok
    t.ok(r.returncode == 0 and (r.json or {}).get("was_locked") is True and lo.get("total") == 0 and ok,
         "sshd key: after lockout reset (no tally left) the public-key login works", r.stdout + repr(lo))

    r = cli("account disable --user %s" % DAVE)
    st = cli("status --user %s" % DAVE).json or {}
    k = key_login(key)
    t.ok(r.returncode == 0 and st.get("disabled") is True and not k.ok
         and events(DAVE, "login_denied", "account disabled", service="sshd") == 1,
         "sshd key: disabled: the public-key login is refused (login_denied 'account disabled')",
         r.stdout + r.stderr + repr(st) + repr(k.error) + "\n" + event_log(DAVE))
    r = cli("account enable --user %s" % DAVE)
    st = cli("status --user %s" % DAVE).json or {}
    t.ok(r.returncode == 0 and st.get("disabled") is False and key_login(key).ok
         and events(DAVE, "account_enabled", actor="root") == 1,
         "sshd key: enabled again: the public-key login works", r.stdout + r.stderr + repr(st))


# --- 2. mail transports --------------------------------------------------------------
def transports(box):
    relay = ssh.Receiver("the relay msmtp sends to").start()
    smtp = ssh.Receiver("the smtp transport's server").start()
    try:
        write_file("/etc/msmtprc", "defaults\nauth off\ntls off\nsyslog off\n"
                   "account default\nhost 127.0.0.1\nport %d\n" % relay.port)
        ok, info = reload_daemon("\nmail_from = %s\nmail_transport = sendmail\n" % MAIL_FROM)
        t.ok(ok, "reload: mail_transport = sendmail; systemctl reload, the daemon re-read the file "
             "(same MainPID)", info)
        in_maildir = len(box.arrived())
        one_mail_login(relay, smtp, box, in_maildir, "sendmail (msmtp under the sandbox)", 2)

        ok, info = reload_daemon("\nmail_from = %s\nmail_transport = smtp\nsmtp_url = smtp://127.0.0.1:%d\n"
                                 "smtp_starttls = no\n" % (MAIL_FROM, smtp.port))
        t.ok(ok, "reload: mail_transport = smtp, smtp_url, smtp_starttls = no", info)
        one_mail_login(smtp, relay, box, in_maildir, "smtp (libcurl)", 3)
    finally:
        relay.stop()
        smtp.stop()


def one_mail_login(via, other, box, in_maildir, name, sent):
    """A login of carol whose code comes by VIA, and nothing by the others."""
    before = len(other.got)
    r = ssh.login(CAROL, answer=answers(PASSWORD, via.code_answer(CODE_SUBJECT)))
    mail = via.taken[-1] if via.taken else {}
    t.ok(r.ok, "sshd emailed code (%s): the code from the mail accepted" % name, repr(r.prompts) + repr(r.error))
    t.ok(mail.get("mail_from") == MAIL_FROM and mail.get("rcpt") == [CAROL_ADDRESS]
         and mail.get("to") == CAROL_ADDRESS and mail.get("from") == MAIL_FROM
         and len(other.got) == before and len(box.arrived()) == in_maildir
         and events(CAROL, "code_sent") == sent and events(CAROL, "code_used", "emailed code") == sent,
         "%s: envelope and headers; nothing by another transport; code_sent, code_used" % name,
         repr(mail) + "\n" + event_log(CAROL))


# --- 3. sessions -------------------------------------------------------------------
def hold_login(user):
    """USER logged in through sshd with a command running: (Login, its row)."""
    before = last_session_id()
    r = ssh.login(user, password=PASSWORD, keep=True)
    if not r.ok:
        raise RuntimeError("%s cannot log in: %r" % (user, r.error))
    r.transport.hold("cat")
    return r.transport, new_session(user, before)


def listed(user):
    r = cli("session list --user %s" % user)
    return r, (r.json or {}).get("sessions", [])


def logind_of(pid):
    """The logind session a process is in (its session-N.scope), or ""."""
    cg = sh("cat /proc/%d/cgroup" % pid).stdout
    m_ = [x.split("/session-")[1].split(".scope")[0] for x in cg.splitlines() if "/session-" in x]
    return m_[0] if m_ else ""


def detach(login, tag):
    """A process started in LOGIN that leaves sshd's process tree (setsid -f:
    its parent is gone, PID 1 adopts it) but stays in the logind session,
    as a user's background job does.  Returns its pgrep -f pattern."""
    pattern = "sleep %d" % tag
    rc, out, err = login.run("setsid -f %s </dev/null >/dev/null 2>&1" % pattern)
    if rc != 0 or not _waited(lambda: running(pattern), "'%s' to run" % pattern):
        raise RuntimeError("cannot start %s: %s" % (pattern, err))
    return pattern


def running(pattern):
    return sh("pgrep -f -x %s" % shlex.quote(pattern)).returncode == 0


def sessions(uid):
    user_unit = "user@%s.service" % uid

    # A: root ends it by id, no list having run since it opened.
    a, a_row = hold_login(ALICE)
    a_logind = logind_of(a_row["pid"])
    job = detach(a, 4241)
    r = cli("session terminate %d" % a_row["id"])
    t.ok(r.returncode == 0 and r.json == {"terminated": 1, "warning": None},
         "session terminate ID (root): one session ended", r.stdout + r.stderr)
    closed = _waited(a.closed_by_server, "alice's channel to be closed")
    t.ok(closed, "session terminate ID: the ssh channel is closed by the server")
    gone = _waited(lambda: a_logind not in logind_sessions(), "logind session %s to go" % a_logind)
    row = session_row(a_row["id"])
    t.ok(a_logind and gone and not running(job),
         "session terminate ID: ended through logind: its logind session is gone, with the process that "
         "had left sshd's tree", "logind session %r; %s running: %s; %r" % (a_logind, job, running(job),
                                                                             logind_sessions()))
    t.ok(row.get("ended", 0) > 0 and row.get("end_reason") == "terminated"
         and events(ALICE, "session_terminated", "session %d ended by root" % a_row["id"], "root") == 1,
         "session terminate ID: row ended 'terminated'; session_terminated by root",
         repr(row) + "\n" + event_log(ALICE))
    a.close()

    # B and C: listed with their logind sessions; from inside C, sign out
    # everywhere else: B ends, C stays.
    b, b_row = hold_login(ALICE)
    c, c_row = hold_login(ALICE)
    job = detach(b, 4242)
    r, rows = listed(ALICE)
    mine = {s["id"]: s for s in rows if s["service"] == "sshd"}
    found = logind_sessions()
    leaders = {s["logind_session"]: sh("loginctl show-session -p Leader --value %s"
                                      % shlex.quote(str(s["logind_session"]))).stdout.strip()
               for s in mine.values()}
    t.ok(r.returncode == 0 and sorted(mine) == [b_row["id"], c_row["id"]]
         and all(s["rhost"] == "127.0.0.1" and found.get(s["logind_session"]) == ALICE
                 and leaders[s["logind_session"]] == str(s["pid"]) for s in mine.values()),
         "session list (root): alice's two ssh sessions, service sshd, each with its logind session "
         "(loginctl: hers, led by the recorded sshd)", r.stdout + r.stderr + repr(found) + repr(leaders))
    t.ok(sh("systemctl is-active %s" % user_unit).stdout.strip() == "active",
         "%s (alice's systemd --user) is active while she is logged in" % user_unit)
    t.ok(r.returncode == 0 and not [s for s in rows if s["service"] == "systemd-user"]
         and count("sessions", "service = 'systemd-user'") == 0,
         "systemd-user: no session of the systemd-user service is listed or recorded", r.stdout)
    rc, out, err = c.run("acctsec --json session list")
    try:
        own = json.loads(out)["sessions"]
    except (ValueError, KeyError):
        own = []
    t.ok(rc == 0 and [s["id"] for s in own if s["current"]] == [c_row["id"]]
         and {b_row["id"], c_row["id"]} <= {s["id"] for s in own},
         "session list inside a login: alice's own list marks that session as current", out + err)

    rc, out, err = c.run("acctsec --json session terminate --all-others")
    try:
        result = json.loads(out)
    except ValueError:
        result = {}
    closed = _waited(b.closed_by_server, "alice's other channel to be closed")
    rb, rcrow = session_row(b_row["id"]), session_row(c_row["id"])
    t.ok(rc == 0 and closed and rb.get("end_reason") == "terminated" and rcrow.get("ended") == 0
         and c.alive() and c.run("true")[0] == 0
         and events(ALICE, "session_terminated", "session %d ended by alice" % b_row["id"], "") == 1,
         "session terminate --all-others (inside C): B's channel closed, B's row 'terminated'; "
         "C still open and working", out + err + repr(rb) + repr(rcrow) + "\n" + event_log(ALICE))
    b_logind = rb.get("logind")
    t.ok(b_logind and _waited(lambda: b_logind not in logind_sessions(), "B's logind session to go")
         and not running(job) and rcrow.get("logind") in logind_sessions(),
         "session terminate --all-others: B's logind session (recorded by the list) is gone, with its "
         "process outside sshd's tree; C's is there", repr(rb) + repr(logind_sessions()))
    unit = sh("systemctl is-active %s" % user_unit).stdout.strip()
    t.ok(result.get("terminated") == 1 and unit == "active",
         "systemd-user: --all-others ended only the ssh session, %s (alice's systemd --user) still "
         "runs while she is logged in" % user_unit, "terminated %r, %s is %s" % (result, user_unit, unit))
    b.close()
    return c, c_row


def _waited(cond, what, timeout=None):
    try:
        return ssh.wait_for(cond, what, timeout)
    except TimeoutError as e:
        print("# " + str(e))
        return False


def kill_login(user):
    """A login whose sshd (the monitor that opened the PAM session first,
    then its unprivileged child) is SIGKILLed: no pam_close_session."""
    login, row = hold_login(user)
    pid = row["pid"]
    r = sh("kill -KILL %d $(pgrep -P %d)" % (pid, pid))
    closed = _waited(login.closed_by_server, "the killed login's channel to close")
    login.close()
    return r.returncode == 0 and closed, row


def reconcile():
    ok, d = kill_login(ALICE)
    t.ok(ok and session_row(d["id"]).get("ended") == 0,
         "reconcile: D's sshd killed (SIGKILL): the connection is gone, the row still open (no PAM close)",
         repr(session_row(d["id"])))
    r = sh("systemctl restart acctsecd.service")
    ended = _waited(lambda: session_row(d["id"]).get("ended"), "D's row to be closed after the restart")
    row = session_row(d["id"])
    t.ok(r.returncode == 0 and ended and row.get("end_reason") == "process gone"
         and events(ALICE, "session_closed", "session %d: process gone" % d["id"]) == 1,
         "reconcile: a daemon restart closes D ('process gone', session_closed) without a list",
         r.stderr + repr(row))

    ok, e = kill_login(ALICE)
    before = session_row(e["id"]).get("ended")
    r, rows = listed(ALICE)
    row = session_row(e["id"])
    t.ok(ok and before == 0 and r.returncode == 0 and e["id"] not in [s["id"] for s in rows]
         and row.get("end_reason") == "process gone" and row.get("ended", 0) > 0
         and events(ALICE, "session_closed", "session %d: process gone" % e["id"]) == 1,
         "reconcile: session list closes E ('process gone') before listing, and does not list it",
         r.stdout + repr(row))


def journal_entries(match, priority=None):
    """The journal's entries (dicts of their fields) that match MATCH."""
    r = sh("journalctl --no-pager -o json %s %s" % ("-p %s" % priority if priority else "", match))
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def final_state():
    # The security events go to the journal with their own fields (lockout
    # is one at warning); the daemon's own warnings and errors have none.
    lock = [e for e in journal_entries("SYSLOG_IDENTIFIER=acctsecd MESSAGE_ID=" + LOCKOUT_MESSAGE_ID)
            if e.get("ACCTSEC_USER") == DAVE]
    t.ok(len(lock) == 1 and lock[0].get("ACCTSEC_EVENT") == "lockout" and lock[0].get("PRIORITY") == "4",
         "journal: dave's lockout, with its MESSAGE_ID and ACCTSEC_ fields, at warning", repr(lock))
    own = [e["MESSAGE"] for e in journal_entries("SYSLOG_IDENTIFIER=acctsecd", "warning")
           if "ACCTSEC_EVENT" not in e]
    t.ok(not own, "journal: acctsecd logged no warning or error of its own", "\n".join(own))
    module = [e["MESSAGE"] for e in journal_entries("", "warning") if "pam_acctsec" in e.get("MESSAGE", "")]
    t.ok(not module, "journal: pam_acctsec.so logged no warning or error", "\n".join(module))
    t.ok(not failed_units(), "systemd: no failed unit at the end", failed_units())


def main():
    work = tempfile.mkdtemp(prefix="acctsec-booted-ssh-", dir="/var/tmp")
    start = time.monotonic()

    def expired(signum, frame):
        raise TimeoutError("the test ran longer than %d s" % DEADLINE)
    signal.signal(signal.SIGALRM, expired)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(143))
    signal.alarm(DEADLINE)
    c = None
    try:
        setup(work)
        uid = sh("id -u %s" % ALICE).stdout.strip()
        password_login()
        totp_login()
        box = ssh.Maildir(m.path(MAILDIR))
        emailed_code_login(box)
        key_lock_disable()
        transports(box)
        c, c_row = sessions(uid)
        reconcile()
        c.close()
        c = None
        row = _waited(lambda: session_row(c_row["id"]).get("ended") and session_row(c_row["id"]),
                      "C's row to be closed")
        t.ok(row and row["end_reason"] == "closed", "logout: C's record is closed by pam_close_session",
             repr(row))
        final_state()
    except BaseException as e:  # noqa: BLE001 - reported as TAP, then the machine goes
        t.ok(False, "the test ran to its end", "".join(traceback.format_exception(e)))
    finally:
        signal.alarm(0)
        if c is not None:
            c.close()
        if m is not None:
            if os.environ.get("ACCTSEC_BOOTED_KEEP") == "1":
                with open(os.path.join(work, "journal.txt"), "w") as f:
                    f.write(m.journal("-o short-monotonic"))
                machine.log("journal in %s/journal.txt" % work)
            if t.failed:
                print("# journal, last lines:")
                for line in m.journal("-n 60 -o short-monotonic").splitlines():
                    print("#   " + line)
            try:
                m.shutdown()
            finally:
                m.remove()
        if os.environ.get("ACCTSEC_BOOTED_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        machine.log("%.0f s" % (time.monotonic() - start))
    t.finish()


if __name__ == "__main__":
    main()
