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
import os
import re
import sys
import time

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)

from sshd_env import Env, code_of, read_code, totp  # noqa: E402

USER = "acctsec-t5-%d" % os.getpid()
EUSER = "acctsec-t5e-%d" % os.getpid()  # second factor: emailed codes
ADDRESS = "mfa.user+%d@example.com" % os.getpid()
MASKED = "m\u2022\u2022\u2022@example.com"
FROM = "acctsec@example.org"
PASSWORD = "Correct-Horse-5"
env = Env("acctsec-sshd.", "acctsec-sshd-test")
tap = env.tap

# A factor is required: the user with a verified address and no app gets emailed codes.
SETTINGS = ("totp_window = 3\nmfa = required\nmail_from = %s\nmail_timeout = 10\n" % FROM)


def main():
    for u in (USER, EUSER):
        env.add_user(u, password=PASSWORD)
    env.start_daemon(SETTINGS + "mail_transport = maildir\nmaildir = %s\n" % env.maildir)
    env.start_sshd(env.mfa_stack(),
                   "KbdInteractiveAuthentication yes\nPasswordAuthentication no\n"
                   "PubkeyAuthentication no\nAuthenticationMethods keyboard-interactive\n"
                   "AllowUsers %s %s\n" % (USER, EUSER))
    totp_logins()
    emailed_codes(env.mailbox)
    smtp_relay()


def totp_logins():
    """Password + TOTP: the right code, a replay, a wrong code, a lockout and an admin unlock."""
    secret, r = env.enrol_totp(USER)
    tap(r.returncode == 0, "TOTP enrolled for a real user", r.stderr)
    step = int(time.time()) // 30

    code = totp(secret, step - 1)
    r = env.login(USER, answers=[PASSWORD, code])
    tap(r.ok, "ssh: password + TOTP accepted", r.prompts)
    tap(len(r.prompts) == 2 and "assword" in r.prompts[0] and "Verification code" in r.prompts[1],
        "ssh: prompts were the password, then the verification code", r.prompts)
    tap(env.events(USER, "code_used") == 1, "code_used logged")
    r = env.login(USER, answers=[PASSWORD, code])
    tap(not r.ok, "ssh: the same code again is refused (replay)")
    r = env.login(USER, answers=[PASSWORD, "000000" if code != "000000" else "111111"])
    tap(not r.ok, "ssh: a wrong code is refused")
    tap(env.db("SELECT failures FROM lockout WHERE user=?", USER) == [(2,)],
        "both refusals counted toward the lockout", env.db("SELECT * FROM lockout"))
    r = env.login(USER, answers=["wrong-password", totp(secret, step)])
    tap(not r.ok and env.events(USER, "lockout") == 1,
        "ssh: third failure (wrong password) locks the account", r.prompts)
    r = env.login(USER, answers=[PASSWORD, totp(secret, step + 1)])
    tap(not r.ok, "ssh: locked: right password and right code refused")
    q = env.cli("lockout", "reset", "--user", USER)
    r = env.login(USER, answers=[PASSWORD, totp(secret, step + 1)])
    tap(q.returncode == 0 and r.ok, "ssh: after an admin unlock, password + a new code accepted")


def emailed_codes(box):
    """The maildir transport: a code read from the mail, 'resend' too soon,
    the used code in a new login, a wrong code."""
    q = env.cli("email", "set", ADDRESS, "--user", EUSER)
    st = env.cli("--json", "mfa", "status", "--user", EUSER)
    tap(q.returncode == 0 and ADDRESS in st.stdout, "email: root sets a verified address", q.stderr + st.stdout)

    # 'resend' right after the first mail: refused with the wait; then the code.
    r = env.login(EUSER, answers=[PASSWORD, "resend", read_code(box)])
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
    tap(env.events(EUSER, "code_sent") == 1 and env.events(EUSER, "code_used", "emailed code") == 1
        and env.events(EUSER, "auth_success") >= 1,
        "events: code_sent, code_used 'emailed code', auth_success",
        env.all_events(EUSER))
    tap(env.db("SELECT count(*), count(hash) FROM email_codes WHERE user=?", EUSER) == [(1, 0)],
        "email_codes: the used code's hash is gone", env.db("SELECT attempt, hash, sent FROM email_codes"))

    # A new login mails a new code; typing the used one is refused.
    old = code_of(mail) if mail else "000000"
    new = []
    r = env.login(EUSER, answers=[PASSWORD, lambda text: (new.append(code_of(box.take()["data"])), old)[1]])
    tap(not r.ok and not r.errors and len(new) == 1 and new[0] != old,
        "ssh: the used emailed code in a new login is refused (a new one was mailed)", r.prompts + r.errors + new)

    # A wrong code (not the one mailed).
    def wrong(text):
        c = code_of(box.take()["data"])
        return "000000" if c != "000000" else "111111"
    r = env.login(EUSER, answers=[PASSWORD, wrong])
    tap(not r.ok and not r.errors, "ssh: a wrong emailed code is refused", r.prompts + r.errors)
    tap(env.db("SELECT failures FROM lockout WHERE user=?", EUSER) == [(2,)]
        and env.events(EUSER, "code_refused", "emailed code: wrong code") == 2
        and env.events(EUSER, "code_sent") == 3,
        "both refusals counted toward the lockout; events code_refused 'emailed code: wrong code'",
        env.all_events(EUSER) + env.db("SELECT * FROM lockout"))


def smtp_relay():
    """acctsecd restarted with mail_transport = smtp to a plain relay on loopback."""
    relay = env.start_relay()
    if not relay:
        tap(True, "smtp: # SKIP python3-aiosmtpd is missing")
        return
    env.start_daemon(SETTINGS + "mail_transport = smtp\nsmtp_url = smtp://127.0.0.1:%d\n"
                     "smtp_starttls = no\n" % relay.port)
    r = env.login(EUSER, answers=[PASSWORD, read_code(relay)])
    tap(r.ok and not r.errors and len(relay.got) == 1, "ssh: password + the emailed code (smtp relay) accepted",
        r.prompts + r.errors)
    m = relay.got[0] if relay.got else {"from": None, "rcpt": None, "data": ""}
    tap(m["from"] == FROM and m["rcpt"] == [ADDRESS], "smtp: envelope MAIL FROM and RCPT TO", repr(m))
    tap(re.search(r"(^|\r\n)To: %s\r\n" % re.escape(ADDRESS), m["data"]) is not None,
        "smtp: the message's To:", m["data"])
    tap(env.events(EUSER, "code_sent") == 4 and env.events(EUSER, "code_used", "emailed code") == 2
        and env.db("SELECT failures FROM lockout WHERE user=?", EUSER) in ([], [(0,)]),
        "events: code_sent and code_used 'emailed code' again; the success cleared the tally",
        env.all_events(EUSER) + env.db("SELECT * FROM lockout"))


env.run(main)
