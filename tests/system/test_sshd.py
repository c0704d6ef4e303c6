#!/usr/bin/python3
"""Tier 4: a real sshd on 127.0.0.1 with keyboard-interactive, real users
(pam_unix, shadow password), a real acctsecd, and a real SSH client
(paramiko): password + TOTP for one user; password + an emailed code for
another, the code read from the mail inside the keyboard-interactive
handler: first through the maildir transport, then, with acctsecd restarted,
through smtp to an aiosmtpd relay in this process (127.0.0.1, an ephemeral
port, no STARTTLS); and password + a texted code for a third, through an
SMS provider's HTTP API served in this process (tests/tools/sms_gateway.py).  Root only (exit 77 otherwise).  Creates two users and
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from sms_gateway import Gateway  # noqa: E402

USER = "acctsec-t5-%d" % os.getpid()
EUSER = "acctsec-t5e-%d" % os.getpid()  # second factor: emailed codes
SUSER = "acctsec-t5s-%d" % os.getpid()  # second factor: texted codes
PHONE = "+4915112345678"
ADDRESS = "mfa.user+%d@example.com" % os.getpid()
MASKED = "m\u2022\u2022\u2022@example.com"
FROM = "acctsec@example.org"
PASSWORD = "Correct-Horse-5"
env = Env("acctsec-sshd.", "acctsec-sshd-test")
tap = env.tap

# A factor is required: the user with a verified address and no app gets emailed codes.
SETTINGS = ("totp_window = 3\nmfa = required\nmail_from = %s\nmail_timeout = 10\n" % FROM)


def main():
    for u in (USER, EUSER, SUSER):
        env.add_user(u, password=PASSWORD)
    env.start_daemon(SETTINGS + "mail_transport = maildir\nmaildir = %s\n" % env.maildir)
    env.start_sshd(env.mfa_stack(),
                   "KbdInteractiveAuthentication yes\nPasswordAuthentication no\n"
                   "PubkeyAuthentication no\nAuthenticationMethods keyboard-interactive\n"
                   "AllowUsers %s %s %s\n" % (USER, EUSER, SUSER))
    totp_logins()
    emailed_codes(env.mailbox)
    smtp_relay()
    texted_codes()


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


def texted_codes():
    """acctsecd restarted with sms_transport = http to a provider's API on
    loopback: the number set by root, the code read from the request the
    gateway received, 'resend' too soon, a wrong code counted."""
    gw = Gateway()
    try:
        env.start_daemon(SETTINGS + "mail_transport = maildir\nmaildir = %s\nsms_transport = http\n"
                         "sms_url = http://127.0.0.1:%d/messages\nsms_from = ACME\n" % (env.maildir, gw.port))
        q = env.cli("phone", "set", PHONE, "--user", SUSER)
        tap(q.returncode == 0, "sms: root sets a verified phone number", q.stderr)
        r = env.login(SUSER, answers=[PASSWORD, "resend", lambda text: gw.code()])
        text = "\n".join(r.texts)
        tap(r.ok and not r.errors, "ssh: password + the texted code (HTTP gateway) accepted", r.prompts + r.errors)
        tap(len(r.prompts) == 3 and all("Texted code (or type resend): " in p for p in r.prompts[1:]),
            "ssh: prompts were the password, then the texted code twice (after 'resend')", r.prompts)
        tap("A code was sent to +49\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u202278." in text
            and len(gw.got) == 1, "ssh: told where the code went (masked number); 'resend' too soon sent nothing",
            text + repr(gw.got))
        body = gw.got[0]["body"] if gw.got else ""
        tap("To=%2B4915112345678" in body and "From=ACME" in body and gw.got[0]["path"] == "/messages",
            "sms: the provider got the number, the sender and the text", body)
        tap(env.events(SUSER, "code_used", "texted code") == 1 and env.events(SUSER, "code_sent") == 1,
            "events: code_sent, code_used 'texted code'", env.all_events(SUSER))

        def wrong(text):
            c = gw.code()
            return "000000" if c != "000000" else "111111"
        r = env.login(SUSER, answers=[PASSWORD, wrong])
        tap(not r.ok and len(gw.got) == 2, "ssh: a wrong texted code is refused", r.prompts + r.errors)
        tap(env.db("SELECT failures FROM lockout WHERE user=?", SUSER) == [(1,)]
            and env.events(SUSER, "code_refused", "texted code: wrong code") == 1,
            "the refusal counted toward the lockout; code_refused 'texted code: wrong code'",
            env.all_events(SUSER) + env.db("SELECT * FROM lockout"))
    finally:
        gw.close()


env.run(main)
