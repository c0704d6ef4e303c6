#!/usr/bin/python3
"""Tier 4: the Cockpit page in a real browser.  A real cockpit-ws on
127.0.0.1 logs users in through PAM (Cockpit's own service, /etc/pam.d/cockpit,
with acctsec's lines in it), its bridge runs the acctsec command as the
user (or as root through sudo, Cockpit's administrative access), and a
headless Chromium (Debian's package), driven through the DevTools protocol,
does what a user does: types, presses Enter, clicks.  After each action the
daemon's state is checked (the database, the mails, the password file), and
a screenshot of each tab is kept in $ACCTSEC_SCREENSHOTS (default: the
build dir's cockpit-screenshots/).

Root only; it changes /etc/pam.d/cockpit and /etc/pam.d/passwd, and puts the
page in /usr/local/share/cockpit/acctsec and an `acctsec` command (this
build's, on this test's socket) in /usr/local/bin, and puts every one of them
back as it was."""
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from sshd_env import Env, stop, totp, wait_for  # noqa: E402
from cdp import Browser, chromium_path  # noqa: E402
from sms_gateway import Gateway  # noqa: E402

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
WS = "/usr/lib/cockpit/cockpit-ws"
FRAME = "document.querySelector('iframe[name=\"cockpit1:localhost/acctsec\"]')"
USER_PW, ADMIN_PW = "Blue-Harbour-2031", "Red-Lantern-4417"


def skip(why):
    print("1..0 # SKIP " + why)
    sys.exit(0)


class Replaced:
    """Files and directories this test puts in place, each put back as it
    was (or removed) at the end."""

    def __init__(self, work):
        self.work, self.saved = work, []

    def put(self, path, content=None, tree=None, mode=0o644):
        keep = None
        if os.path.lexists(path):
            keep = os.path.join(self.work, "saved-%d" % len(self.saved))
            shutil.move(path, keep)
        self.saved.append((path, keep))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if tree:
            shutil.copytree(tree, path)
            for root, dirs, files in os.walk(path):
                os.chmod(root, 0o755)
                for f in files:
                    os.chmod(os.path.join(root, f), 0o644)
        else:
            with open(path, "w") as f:
                f.write(content)
            os.chmod(path, mode)

    def restore(self):
        for path, keep in reversed(self.saved):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)
            if keep:
                shutil.move(keep, path)
        self.saved = []


class Page:
    """One browser on the Cockpit shell, and the acctsec page in its frame."""

    def __init__(self, env, port, shots, name):
        self.env, self.port, self.shots, self.name = env, port, shots, name
        self.b = Browser(log=open(os.path.join(env.work, "chromium-%s.log" % name), "w"))
        self.b.open_page()
        self.downloads = os.path.join(env.work, "downloads-" + name)
        os.makedirs(self.downloads, exist_ok=True)
        self.b.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": self.downloads},
                    session=False)

    # --- the login page ---------------------------------------------------
    def login(self, user, password, code=None, admin=False):
        b = self.b
        b.navigate("http://127.0.0.1:%d/acctsec" % self.port)
        b.wait("document.readyState == 'complete' && document.querySelector('#login-user-input') &&"
               " document.querySelector('#login-user-input').offsetParent", what="the login page")
        # Cockpit asks sudo for administrative access at login when the
        # browser remembers it was on ("Reuse my password" of later versions)
        b.eval("localStorage.setItem('superuser:%s', '%s')" % (user, "any" if admin else "none"))
        b.eval("document.querySelector('#login-user-input').focus()")
        b.insert_text(user)
        b.eval("document.querySelector('#login-password-input').focus()")
        b.insert_text(password)
        b.eval("document.querySelector('#login-button').click()")
        if code is not None:
            prompt = b.wait("(() => { const g = document.querySelector('#conversation-group');"
                            " return g && !g.hidden && document.querySelector('#conversation-prompt').textContent })()",
                            what="the second-factor prompt")
            b.eval("document.querySelector('#conversation-input').focus()")
            b.insert_text(code)
            b.eval("document.querySelector('#login-button').click()")
            return prompt

    def wait_admin_access(self):
        """Cockpit's shell says administrative access is on: sudo ran, and
        the page's "superuser: try" commands run as root from now on."""
        self.b.wait("document.body.innerText.includes('Administrative access')",
                    what="administrative access", timeout=60)
        self.wait("#acctsec-page[data-superuser]", what="the page to know administrative access is on", timeout=60)

    def login_error(self):
        return self.b.wait("(() => { const g = document.querySelector('#error-group');"
                           " return g && !g.hidden && document.querySelector('#login-error-message').textContent })()",
                           what="the login error")

    # --- the page in its frame ----------------------------------------------
    @staticmethod
    def q(sel):
        return "%s.contentDocument.querySelector(%s)" % (FRAME, json.dumps(sel))

    def ready(self, timeout=60):
        self.b.wait("%s && %s && %s" % (FRAME, self.q("#acctsec-tab-list button"),
                                        self.q("#acctsec-body[data-tab]:not([aria-busy])")),
                    timeout=timeout, what="the Account security page")

    def tab(self, name, shot=True):
        self.b.eval(self.q("#acctsec-tab-" + name) + ".click()")
        self.b.wait(self.q("#acctsec-body[data-tab=%s]:not([aria-busy])" % name), what="the %s tab" % name)
        if shot:
            self.shot(name)

    def has(self, sel):
        return bool(self.b.eval("!!" + self.q(sel)))

    def wait(self, sel, what=None, timeout=30):
        return self.b.wait(self.q(sel), what=what or sel, timeout=timeout)

    def text(self, sel):
        return self.b.eval("(%s || {}).textContent" % self.q(sel)) or ""

    def wait_text(self, sel, pattern, timeout=30):
        """Until SEL's text matches PATTERN (a regular expression); the text."""
        wait_for(lambda: re.search(pattern, self.text(sel)), timeout, "%r in %s" % (pattern, sel))
        return self.text(sel)

    def click(self, sel):
        self.wait(sel)
        self.b.eval(self.q(sel) + ".click()")

    def type(self, sel, text, clear=True):
        self.wait(sel)
        if clear:
            self.b.eval(self.q(sel) + ".value = ''")
        self.b.eval(self.q(sel) + ".focus()")
        self.b.insert_text(text)

    def enter(self, sel):
        """Enter in a field: the keyboard submits its form."""
        self.b.eval(self.q(sel) + ".focus()")
        self.b.key("Enter")

    def alert(self, kind="danger", timeout=30):
        sel = "#acctsec-notices .pf-m-%s" % kind
        self.wait(sel, what="a %s message" % kind, timeout=timeout)
        return self.text(sel)

    def shot(self, name):
        self.b.screenshot(os.path.join(self.shots, "%s-%s.png" % (self.name, name)))

    def close(self):
        self.b.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main_with(env):
    if os.geteuid() != 0:
        skip("root only")
    if not os.access(WS, os.X_OK) or not chromium_path():
        skip("needs cockpit-ws, cockpit-system and chromium")
    B = env.B
    shots = os.environ.get("ACCTSEC_SCREENSHOTS") or os.path.join(B, "cockpit-screenshots")
    shutil.rmtree(shots, ignore_errors=True)
    os.makedirs(shots)
    files = Replaced(env.work)
    pages = []
    ws = gateway = None
    try:
        subprocess.run(["groupadd", "-f", "acctsecadm"], check=True)
        gateway = env.gateway = Gateway()
        env.start_daemon("mail_transport = maildir\nmaildir = %s\nadmin_group = acctsecadm\nmin_length = 12\n"
                         "totp_window = 3\nsms_transport = http\nsms_url = http://127.0.0.1:%d/send\n"
                         "allowlist = 127.0.0.0/8\nremember_device = 30\n"
                         % (env.maildir, gateway.port))
        env.add_user("cpuser", USER_PW)
        env.add_user("cpadmin", ADMIN_PW)
        subprocess.run(["usermod", "-aG", "acctsecadm,sudo", "cpadmin"], check=True)

        mod = env.pam_module()
        files.put("/usr/local/bin/acctsec", "#!/bin/sh\nexec %s --socket %s \"$@\"\n" % (env.user_cli, env.sock),
                  mode=0o755)
        files.put("/usr/local/share/cockpit/acctsec", tree=os.path.join(SRC, "cockpit", "acctsec"))
        files.put("/etc/pam.d/cockpit",
                  "auth     requisite                  %s preauth\n"
                  "auth     [success=1 default=ignore] pam_unix.so nullok\n"
                  "auth     [default=die]              %s authfail\n"
                  "auth     requisite                  %s mfa\n"
                  "account  required                   %s\n"
                  "account  include                    common-account\n"
                  "password include                    common-password\n"
                  "session  optional                   %s\n"
                  "session  required                   pam_unix.so\n" % (mod, mod, mod, mod, mod))
        files.put("/etc/pam.d/passwd",
                  "password requisite                  %s\n"
                  "password [success=1 default=ignore] pam_unix.so use_authtok yescrypt\n"
                  "password requisite                  pam_deny.so\n"
                  "password optional                   %s commit\n" % (mod, mod))

        port = free_port()
        ws = subprocess.Popen([WS, "--no-tls", "--address", "127.0.0.1", "--port", str(port)],
                              stdout=open(os.path.join(env.work, "cockpit-ws.log"), "w"), stderr=subprocess.STDOUT)
        env.procs.append(ws)
        wait_for(lambda: can_connect(port), 30, "cockpit-ws to listen")

        user_tests(env, port, shots, pages)
        admin_tests(env, port, shots, pages)
        fleet_tests(env, port, shots, pages)
    finally:
        for p in pages:
            p.close()
        if ws:
            stop(ws)
        if gateway:
            gateway.close()
        files.restore()
        subprocess.run(["groupdel", "acctsecadm"], capture_output=True)
        print("# screenshots: %s" % shots)


def check(env, name, ok, info=""):
    env.tap(bool(ok), name, info)


def can_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def shadow_hash(user):
    with open("/etc/shadow") as f:
        for line in f:
            if line.split(":")[0] == user:
                return line.split(":")[1]


def step():
    return int(time.time()) // 30


def user_tests(env, port, shots, pages):
    a = Page(env, port, shots, "user")
    pages.append(a)
    a.login("cpuser", USER_PW)
    a.ready()
    a.shot("overview")
    check(env, "a user logs in to Cockpit through PAM and sees the page",
            "Signed in as cpuser" in a.text("#acctsec-who") and "Not locked" in a.text("#acctsec-status-lock"),
            a.text("#acctsec-body"))
    check(env, "no administration tab for a plain user without administrative access", not a.has("#acctsec-tab-admin"))
    check(env, "the Cockpit login was recorded as a session by acctsec's session line",
            env.db("SELECT count(*) FROM sessions WHERE user='cpuser' AND service='cockpit' AND ended=0")[0][0] == 1)

    # --- password ---
    a.tab("password")
    rules = a.text("#acctsec-password-rules")
    check(env, "the password rules are shown before typing", "12" in rules, rules)
    before = shadow_hash("cpuser")
    a.type("#acctsec-password-current", USER_PW)
    a.type("#acctsec-password-new", "short-1")
    a.type("#acctsec-password-again", "short-1")
    a.enter("#acctsec-password-again")
    err = a.alert("danger")
    check(env, "a password the policy refuses: its reason is shown, nothing changed",
            "12" in err and shadow_hash("cpuser") == before and env.events("cpuser", "password_changed") == 0, err)
    new_pw = USER_PW + "-x9"
    a.type("#acctsec-password-current", USER_PW)
    a.type("#acctsec-password-new", new_pw)
    a.type("#acctsec-password-again", new_pw)
    a.enter("#acctsec-password-again")
    ok = a.alert("success")
    check(env, "the password is changed through passwd and the password stack",
            shadow_hash("cpuser") != before and env.events("cpuser", "password_changed") == 1, ok)

    # --- the authenticator app ---
    a.tab("two-factor")
    a.click("#acctsec-totp-enrol")
    a.wait("#acctsec-totp-secret")
    secret = a.text("#acctsec-totp-secret")
    SECRETS["cpuser"] = secret
    a.shot("two-factor-enrol")
    check(env, "enrolment shows a QR code and the key", a.has("svg.acctsec-qr") and re.match(r"^[A-Z2-7]{16,}$", secret),
            secret)
    a.type("#acctsec-totp-code", totp(secret, step() - 3))
    a.enter("#acctsec-totp-code")
    a.wait("#acctsec-backup-codes")
    codes = json.loads(a.b.eval("JSON.stringify(Array.from(%s.contentDocument.querySelectorAll("
                                "'#acctsec-backup-codes code')).map(c => c.textContent))" % FRAME))
    a.shot("two-factor-backup-codes")
    check(env, "confirmed with a code: active, ten backup codes shown once",
            env.db("SELECT active FROM mfa_totp WHERE user='cpuser'") == [(1,)] and len(codes) == 10
            and env.db("SELECT count(*) FROM backup_codes WHERE user='cpuser' AND used=0")[0][0] == 10
            and env.events("cpuser", "mfa_enrolled") == 1, codes)
    a.tab("two-factor", shot=False)
    a.click("#acctsec-backup-generate")
    a.wait("#acctsec-backup-codes")
    codes2 = json.loads(a.b.eval("JSON.stringify(Array.from(%s.contentDocument.querySelectorAll("
                                 "'#acctsec-backup-codes code')).map(c => c.textContent))" % FRAME))
    check(env, "new backup codes replace the old set",
            len(codes2) == 10 and not set(codes) & set(codes2)
            and env.events("cpuser", "backup_codes_generated") >= 2, codes2)

    # --- emailed codes: an address, its code, then login codes by mail ---
    a.tab("two-factor", shot=False)
    a.type("#acctsec-email-value", "cpuser@example.test")
    a.enter("#acctsec-email-value")
    a.wait("#acctsec-email-code")
    mail = env.mailbox.take()["data"]
    code = re.search(r"to confirm this address .* is: (\d{6})", mail).group(1)
    a.type("#acctsec-email-code", code)
    a.enter("#acctsec-email-code")
    a.click("#acctsec-email-enrol")
    wait_for(lambda: env.db("SELECT address, codes FROM email WHERE user='cpuser'") == [("cpuser@example.test", 1)],
             30)
    check(env, "an address set, confirmed with the mailed code, and used for login codes",
            env.db("SELECT address, codes FROM email WHERE user='cpuser'") == [("cpuser@example.test", 1)]
            and env.events("cpuser", "email_verified") == 1)
    a.tab("two-factor", shot=False)

    # --- texted codes: a number, its texted code, then login codes by text ---
    a.type("#acctsec-phone-value", "+4915112345678")
    a.enter("#acctsec-phone-value")
    a.wait("#acctsec-phone-code")
    wait_for(lambda: env.gateway.got, 30, "the text to the gateway")
    a.type("#acctsec-phone-code", env.gateway.code())
    a.enter("#acctsec-phone-code")
    a.click("#acctsec-phone-enrol")
    wait_for(lambda: env.db("SELECT number, codes FROM phone WHERE user='cpuser'") == [("+4915112345678", 1)], 30)
    check(env, "a phone number set, confirmed with the texted code, and used for login codes",
          env.db("SELECT number, codes FROM phone WHERE user='cpuser'") == [("+4915112345678", 1)]
          and env.events("cpuser", "phone_verified") == 1)
    a.tab("two-factor")

    # --- API tokens ---
    a.tab("tokens")
    a.type("#acctsec-token-name", "bad name")
    a.enter("#acctsec-token-name")
    err = a.alert("danger")
    cli_err = json.loads(subprocess.run(["su", "cpuser", "-s", "/bin/sh", "-c",
                                         "acctsec --json token create --name 'bad name' --expires 3 --services sshd"],
                                        capture_output=True, text=True).stdout)["error"]
    check(env, "the command's own error is shown", cli_err in err, "%r vs %r" % (err, cli_err))
    a.type("#acctsec-token-name", "deploy")
    a.type("#acctsec-token-services", "sshd,sudo")
    a.enter("#acctsec-token-name")
    a.wait("#acctsec-token-value")
    token = a.b.eval(a.q("#acctsec-token-value") + ".value")
    a.wait('tr[data-token="deploy"]')
    a.shot("tokens-created")
    rows = env.db("SELECT services, hash FROM tokens WHERE user='cpuser' AND name='deploy'")
    check(env, "a token is created, shown once, stored only as a hash",
            token.startswith("acst_") and len(rows) == 1 and rows[0][0] == "sshd,sudo"
            and token.encode() not in rows[0][1], token)
    a.click('tr[data-token="deploy"] button')
    wait_for(lambda: not env.db("SELECT 1 FROM tokens WHERE user='cpuser' AND name='deploy'"), 30)
    a.wait_text("#acctsec-notices", "revoked")
    check(env, "a token is revoked", not env.db("SELECT 1 FROM tokens WHERE user='cpuser'")
            and env.events("cpuser", "token_revoked") == 1)

    # --- notifications ---
    a.tab("notifications")
    a.click("#acctsec-notify-switch")
    wait_for(lambda: env.db("SELECT new_source FROM notify WHERE user='cpuser'") == [(0,)], 30)
    a.wait_text("#acctsec-notify-state", "off")
    check(env, "login notifications turned off from the switch",
            env.db("SELECT new_source FROM notify WHERE user='cpuser'") == [(0,)])
    a.click("#acctsec-notify-switch")
    wait_for(lambda: env.db("SELECT new_source FROM notify WHERE user='cpuser'") == [(1,)], 30)
    check(env, "and on again", env.db("SELECT new_source FROM notify WHERE user='cpuser'") == [(1,)])

    # --- a second session, with the second factor at Cockpit's login ---
    other = Page(env, port, shots, "other")
    pages.append(other)
    prompt = other.login("cpuser", new_pw, code=totp_for(env, "cpuser", step() - 2))
    other.ready()
    check(env, "Cockpit's login asks for the second factor through acctsec's mfa line",
            "code" in prompt.lower(), prompt)
    a.tab("sessions")
    a.wait('#acctsec-sessions tr.acctsec-current')
    n_rows = a.b.eval("%s.contentDocument.querySelectorAll('#acctsec-sessions tbody tr').length" % FRAME)
    check(env, "both sessions listed, this one marked", n_rows == 2, n_rows)
    # remember_device: the good code at the other login remembered its address
    a.wait('#acctsec-devices tr[data-device]')
    device = a.text('#acctsec-devices tr[data-device]')
    check(env, "the device remembered at that login is listed",
          "127.0.0.1" in device and env.db("SELECT kind, device FROM devices WHERE user='cpuser'")
          == [("address", "127.0.0.1")], device)
    a.click('#acctsec-devices tr[data-device] button')
    wait_for(lambda: not env.db("SELECT 1 FROM devices WHERE user='cpuser'"), 30)
    check(env, "a remembered device is forgotten", not env.db("SELECT 1 FROM devices WHERE user='cpuser'")
          and env.events("cpuser", "device_revoked") == 1)
    a.tab("sessions", shot=False)
    a.click("#acctsec-sessions-end-others")
    a.wait_text("#acctsec-notices", "ended")
    wait_for(lambda: env.db("SELECT count(*) FROM sessions WHERE user='cpuser' AND ended=0")[0][0] == 1, 30)
    check(env, "sign out all other sessions: the other one ended, this one kept",
            env.db("SELECT count(*) FROM sessions WHERE user='cpuser' AND ended=0")[0][0] == 1
            and env.events("cpuser", "session_terminated") >= 1)
    # the other browser is logged out (its bridge is gone)
    gone = other.b.wait("document.body.innerText.includes('Server has closed the connection')",
                        what="Cockpit's shell in the other browser to say it was disconnected", timeout=30)
    other.shot("after-sign-out")
    check(env, "the other browser is disconnected: its Cockpit session is gone", gone)
    # a third login, with a backup code at Cockpit's login, then signed out alone
    third = Page(env, port, shots, "third")
    pages.append(third)
    third.login("cpuser", new_pw, code=codes2[0])
    third.ready()
    check(env, "a backup code logs in at Cockpit's login, and is used up",
          env.db("SELECT count(*) FROM backup_codes WHERE user='cpuser' AND used<>0")[0][0] == 1)
    a.tab("sessions", shot=False)
    a.wait("#acctsec-sessions tbody tr:not(.acctsec-current) button")
    a.click("#acctsec-sessions tbody tr:not(.acctsec-current) button")
    wait_for(lambda: env.db("SELECT count(*) FROM sessions WHERE user='cpuser' AND ended=0")[0][0] == 1, 30)
    gone = third.b.wait("document.body.innerText.includes('Server has closed the connection')",
                        what="the third browser to be disconnected", timeout=30)
    check(env, "sign out one session: that one ended, this one kept",
          gone and env.db("SELECT count(*) FROM sessions WHERE user='cpuser' AND ended=0")[0][0] == 1)
    third.close()
    pages.remove(third)
    a.shot("sessions-after")

    # --- the security log: filter, export ---
    a.tab("log")
    a.b.eval(a.q("#acctsec-log-type") + ".value = 'token_created'")
    a.click("#acctsec-log-filter button[type=submit]")
    shown = "JSON.stringify(Array.from(%s.contentDocument.querySelectorAll('#acctsec-log-table tbody tr'))" \
            ".map(r => r.dataset.event))" % FRAME
    types = wait_for(lambda: (lambda t: t if t and set(t) == {"token_created"} else None)(json.loads(a.b.eval(shown))),
                     30) or json.loads(a.b.eval(shown))
    a.shot("log-filtered")
    check(env, "the log filtered by type shows only that type", types and set(types) == {"token_created"}, types)
    a.click("#acctsec-log-export-csv")
    path = os.path.join(a.downloads, "acctsec-security-log.csv")
    wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0, 30, "the CSV download")
    rows = list(csv.DictReader(io.StringIO(open(path).read())))
    check(env, "CSV export downloads the matching events", rows and {r["type"] for r in rows} == {"token_created"}
            and all(r["user"] == "cpuser" for r in rows), rows)
    a.b.eval(a.q("#acctsec-log-type") + ".value = ''")
    a.click("#acctsec-log-export-json")
    path = os.path.join(a.downloads, "acctsec-security-log.json")
    wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0, 30, "the JSON download")
    text = open(path).read()
    exported = [e["id"] for e in json_events(text)]
    in_db = [r[0] for r in env.db("SELECT id FROM events WHERE user='cpuser' AND id <= ? ORDER BY id",
                                  max(exported or [0]))]
    check(env, "JSON export downloads every event of the user, oldest first", exported and exported == in_db,
          "%s vs %s" % (exported, in_db))

    # --- second factor off: password and a current code ---
    a.tab("two-factor", shot=False)
    a.type("#acctsec-disable-password", new_pw)
    a.type("#acctsec-disable-code", totp_for(env, "cpuser", step() - 1))
    a.enter("#acctsec-disable-code")
    wait_for(lambda: not env.db("SELECT 1 FROM mfa_totp WHERE user='cpuser'"), 30)
    check(env, "the second factor is turned off with the password and a code",
            not env.db("SELECT 1 FROM mfa_totp WHERE user='cpuser'") and env.events("cpuser", "mfa_disabled") == 1)

    # --- without an app: the code is mailed first, then typed ---
    a.tab("two-factor", shot=False)
    a.click("#acctsec-email-enrol")
    wait_for(lambda: env.db("SELECT codes FROM email WHERE user='cpuser'") == [(1,)], 30)
    a.tab("two-factor", shot=False)
    a.type("#acctsec-disable-password", new_pw)
    a.enter("#acctsec-disable-password")
    a.wait("#acctsec-disable-code-form")
    mail = env.mailbox.take()["data"]
    code = re.search(r"is: (\d{6})", mail).group(1)
    a.type("#acctsec-disable-code", code)
    a.enter("#acctsec-disable-code")
    wait_for(lambda: env.db("SELECT codes FROM email WHERE user='cpuser'") == [(0,)], 30)
    a.wait_text("#acctsec-notices", "off")
    check(env, "without an app: the code mailed, typed, and the emailed codes turned off",
          env.db("SELECT codes FROM email WHERE user='cpuser'") == [(0,)] and env.events("cpuser", "mfa_disabled") == 2,
          a.text("#acctsec-notices"))
    a.close()
    pages.remove(a)
    other.close()
    pages.remove(other)
    env.user_pw = new_pw


SECRETS = {}


def totp_for(env, user, at):
    return totp(SECRETS[user], at) if user in SECRETS else totp(env.secret_of(user), at)


def json_events(text):
    """acctsec log export --format json: one document, or one per line."""
    text = text.strip()
    try:
        doc = json.loads(text)
        return doc if isinstance(doc, list) else doc.get("events", [])
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def locked(env, user):
    return json.loads(env.cli("--json", "status", "--user", user).stdout)["locked"]


def allowlist_round_trip(env, p, card, field, cidr, user, name):
    """An admin adds CIDR to a list (USER's; "" the global one) and removes it."""
    def rows():
        return env.db("SELECT cidr FROM allowlist WHERE user=?", user)
    p.type(field, cidr)
    p.enter(field)
    wait_for(lambda: rows() == [(cidr,)], 30)
    check(env, "an admin adds to %s" % name, rows() == [(cidr,)], rows())
    row = '%s tr[data-cidr="%s"]' % (card, cidr)
    p.wait(row)
    p.click(row + " button")
    wait_for(lambda: not rows(), 30)
    check(env, "and removes it from %s" % name, not rows(), rows())


def admin_tests(env, port, shots, pages):
    SECRETS["cpuser"], _ = env.enrol_totp("cpuser")  # a factor for the admin to reset
    # three wrong passwords at Cockpit's login lock cpuser (deny = 3)
    intruder = Page(env, port, shots, "intruder")
    pages.append(intruder)
    for i in range(3):
        intruder.login("cpuser", "wrong-password-%d" % i)
        intruder.login_error()
    check(env, "three wrong passwords at Cockpit's login lock the user", locked(env, "cpuser"))
    intruder.close()
    pages.remove(intruder)

    p = Page(env, port, shots, "admin")
    pages.append(p)
    p.login("cpadmin", ADMIN_PW, admin=True)
    p.ready()
    p.wait_admin_access()
    p.wait("#acctsec-tab-admin")
    p.tab("admin")
    p.wait('tr[data-user="cpuser"]')
    check(env, "the users list shows the lock", "Locked" in p.text('tr[data-user="cpuser"]'),
            p.text('tr[data-user="cpuser"]'))
    p.click('tr[data-user="cpuser"] button')
    p.wait('#acctsec-admin-user[data-user="cpuser"]')
    p.shot("admin-user")

    def action(button, cond, name):
        p.click(button)
        ok = wait_for(cond, 30)
        p.wait("#acctsec-admin-detail:not([aria-busy])", what="the user's card redrawn")
        check(env, name, ok, p.text("#acctsec-notices"))

    first = env.db("SELECT max(id) FROM events")[0][0]
    action("#acctsec-admin-unlock", lambda: not locked(env, "cpuser") and env.events("cpuser", "unlock") == 1,
           "unlock")
    action("#acctsec-admin-disable", lambda: env.db("SELECT disabled FROM account WHERE user='cpuser'")[0][0] != 0,
           "disable")
    action("#acctsec-admin-enable", lambda: env.db("SELECT disabled FROM account WHERE user='cpuser'")[0][0] == 0,
           "enable")
    action("#acctsec-admin-expire", lambda: env.db("SELECT must_change FROM account WHERE user='cpuser'")[0][0] != 0,
           "force a password change")
    action("#acctsec-admin-require", lambda: env.db("SELECT 1 FROM mfa_required WHERE user='cpuser'") == [(1,)],
           "require a second factor")
    action("#acctsec-admin-mfa-reset", lambda: env.events("cpuser", "mfa_reset") == 1
           and not env.db("SELECT 1 FROM mfa_totp WHERE user='cpuser'"), "reset the second factor")
    before = shadow_hash("cpuser")
    p.click("#acctsec-admin-reset-password")
    p.wait("#acctsec-admin-detail:not([aria-busy])", what="the user's card redrawn")
    shown = p.wait_text("#acctsec-notices", "Temporary password")
    temp = re.search(r"Temporary password for cpuser: (\S+)", shown)
    check(env, "reset password: a temporary password shown once, the password file changed",
            temp and shadow_hash("cpuser") != before and env.events("cpuser", "password_reset") == 1, shown)

    # tokens for another user
    p.type("#acctsec-token-name", "ci-runner")
    p.enter("#acctsec-token-name")
    p.wait("#acctsec-token-value")
    p.wait('tr[data-token="ci-runner"]')
    check(env, "an admin creates a token for a user",
            len(env.db("SELECT 1 FROM tokens WHERE user='cpuser' AND name='ci-runner'")) == 1)
    # the user's allowlist, then the global one
    allowlist_round_trip(env, p, "#acctsec-admin-user", "#acctsec-admin-allow-cidr", "192.0.2.0/24", "cpuser",
                         "a user's allowlist")
    allowlist_round_trip(env, p, "#acctsec-admin-global-allowlist", "#acctsec-admin-global-cidr", "127.0.0.0/8", "",
                         "the global allowlist")
    actors = {r[0] for r in env.db("SELECT actor FROM events WHERE user='cpuser' AND id > ? AND type IN "
                                   "('unlock', 'account_disabled', 'mfa_reset', 'token_created')", first)}
    check(env, "the admin's actions ran as root (administrative access through sudo)", actors == {"root"}, actors)
    p.tab("admin")
    p.close()
    pages.remove(p)


def fleet_tests(env, port, shots, pages):
    """store = postgresql: the administration tab lists the fleet's hosts
    (this acctsecd as web1, a second one as web2, on one private cluster)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fleet"))
    import pgcluster
    from test_fleet import Fleet
    try:
        cluster = pgcluster.PgCluster(fsync=False)
    except pgcluster.PgMissing as e:
        check(env, "the fleet's hosts # SKIP %s" % e, True)
        return
    web2 = None
    try:
        fleet = Fleet(cluster, "cockpit")
        settings = ("store = postgresql\npostgresql = %s\nhost_id = %%s\nfleet_key = %s\nadmin_group = acctsecadm\n"
                    % (fleet.conninfo, fleet.key))
        env.start_daemon(settings % "web1")
        web2 = Env("acctsec-cockpit-web2.", "acctsec-cockpit-web2-unused")
        web2.start_daemon(settings % "web2")
        p = Page(env, port, shots, "fleet")
        pages.append(p)
        p.login("cpadmin", ADMIN_PW, admin=True)
        p.ready()
        p.wait_admin_access()
        p.tab("admin", shot=False)
        p.wait('#acctsec-admin-fleet tr[data-host="web2"]')
        p.wait('#acctsec-admin-fleet tr[data-host="web1"]')
        hosts = json.loads(p.b.eval("JSON.stringify(Array.from(%s.contentDocument.querySelectorAll("
                                    "'#acctsec-admin-fleet tbody tr')).map(r => r.dataset.host))" % FRAME))
        p.b.eval(p.q("#acctsec-admin-fleet") + ".scrollIntoView()")
        p.shot("admin-fleet")
        in_db = sorted(h for (h,) in fleet.sql("SELECT host FROM hosts"))
        check(env, "fleet mode: the administration tab lists the fleet's hosts", sorted(hosts) == in_db == ["web1", "web2"],
              "%s vs %s" % (hosts, in_db))
        p.close()
        pages.remove(p)
    finally:
        if web2:
            web2.failed = env.failed  # its logs too, when the run failed
            web2.cleanup()
        if env.daemon:
            stop(env.daemon)  # before its database goes
        cluster.cleanup()


def main():
    env = Env("acctsec-cockpit-", "acctsec-cockpit-unused")

    def secret_of(user):
        raise KeyError(user)
    env.secret_of = secret_of
    env.run(lambda: main_with(env))


if __name__ == "__main__":
    main()
