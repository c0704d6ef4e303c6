#!/usr/bin/python3
"""Tier 4: password recovery through a real sshd on 127.0.0.1 (keyboard-
interactive), real users (pam_unix, /etc/shadow), a real acctsecd and a real
SSH client (paramiko).  A user who forgot the password types "forgot", reads
the code from the mail, sets a new password inside the same login, is
mailed a notice, and logs in with the new password (the old one is void); a
user with TOTP is still asked for it after the recovery code; a wrong code
is counted (root and admins are refused: tests/integration/test_recovery.py;
sshd_env's sshd never lets root in).  Creates users, /etc/pam.d/acctsec-sshd-recovery
and (when the system has none) /etc/pam.d/acctsec; removes them.  Root only
(exit 77).  TAP output."""
import os
import re
import shutil
import sys
import time

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)

from sshd_env import Env, totp  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
USER = "acctsec-t9r-%d" % os.getpid()   # recovers the password
TUSER = "acctsec-t9t-%d" % os.getpid()  # recovers, and has TOTP
PASSWORD = "Forgotten-Horse-5"
NEW_PASSWORD = "Remembered-Horse-77x"
env = Env("acctsec-sshd-recovery.", "acctsec-sshd-recovery")
tap = env.tap
made_pam_acctsec = []


def stack(mod):
    """The brief's wiring with the recover line before pam_unix (which takes
    anything but "forgot" with try_first_pass), and the password stack."""
    return ("auth     requisite                  %s preauth\n"
            "auth     [success=2 ignore=ignore default=die] %s recover\n"
            "auth     [success=1 default=ignore] pam_unix.so nodelay try_first_pass\n"
            "auth     [default=die]              %s authfail\n"
            "auth     requisite                  %s mfa\n"
            "account  required                   %s\n"
            "account  required                   pam_unix.so\n"
            "password requisite                  %s\n"
            "password [success=1 default=ignore] pam_unix.so use_authtok yescrypt\n"
            "password requisite                  pam_deny.so\n"
            "password optional                   %s commit\n"
            "session  required                   pam_permit.so\n") % ((mod,) * 7)


def shadow_hash(name):
    for line in open("/etc/shadow"):
        f = line.split(":")
        if f[0] == name:
            return f[1]
    return None


def recovery_code(text):
    """The code in the recovery mail just delivered (its delivery is not
    waited for by the daemon: wait for the mail, bounded)."""
    mail = env.mailbox.take()["data"]
    m = re.search(r"Your code to recover the account \S+ on \S+ is: (\d{6})", mail)
    if not m:
        raise RuntimeError("no recovery code in %r" % mail)
    return m.group(1)


def main():
    if not os.path.exists("/etc/pam.d/acctsec"):  # the daemon sets passwords through it
        shutil.copy(os.path.join(TOP, "doc", "pam.d", "acctsec"), "/etc/pam.d/acctsec")
        made_pam_acctsec.append(True)
    for u in (USER, TUSER):
        env.add_user(u, password=PASSWORD)
    env.start_daemon("password_recovery = yes\nmfa = optional\ntotp_window = 3\ncode_resend_interval = 0\nmail_transport = maildir\nmaildir = %s\n"
                     "mail_from = acctsec@example.org\nmin_length = 12\n" % env.maildir)
    env.start_sshd(stack(env.pam_module()),
                   "KbdInteractiveAuthentication yes\nPasswordAuthentication no\nPubkeyAuthentication no\n"
                   "AuthenticationMethods keyboard-interactive\nAllowUsers %s %s\n" % (USER, TUSER))
    for u in (USER, TUSER):
        q = env.cli("email", "set", "%s@example.com" % u, "--user", u)
        tap(q.returncode == 0, "root sets %s's verified address" % u, q.stderr)
    recover_and_change()
    recovery_keeps_the_second_factor()
    wrong_code_counts()


def recover_and_change():
    old = shadow_hash(USER)

    def answer(prompt):
        last = prompt.splitlines()[-1] if prompt else ""
        if last.startswith("Password"):
            return "forgot"
        if last.startswith("Recovery code"):
            return recovery_code(prompt)
        if last.startswith("New password") or last.startswith("Retype new password"):
            return NEW_PASSWORD
        raise RuntimeError("unexpected prompt %r" % prompt)
    r = env.login(USER, answers=answer)
    text = "\n".join(r.texts + r.prompts)
    tap(r.ok, "ssh: 'forgot', the mailed code and a new password log the user in", repr(r.prompts) + repr(r.errors))
    tap([p.splitlines()[-1] for p in r.prompts] == ["Password: ", "Recovery code: ", "New password: ",
                                                    "Retype new password: "],
        "ssh: prompts: password ('forgot'), recovery code, new password twice (no current password)",
        repr(r.prompts))
    tap("If this account can be recovered, a code was sent" in text
        and "You logged in with a recovery code: set a new password now." in text,
        "ssh: told what happens (the code, then the forced change)", text)
    new = shadow_hash(USER)
    tap(new not in (None, old) and new.startswith("$y$"), "shadow: a new yescrypt hash")
    tap(env.events(USER, "password_recovered") == 1 and env.events(USER, "password_changed") == 1
        and env.events(USER, "password_changed", "by the user, at login (after a password recovery)") == 1
        and env.events(USER, "code_sent", "recovery code to a\u2022\u2022\u2022@example.com") == 1,
        "events: code_sent, password_recovered, password_changed", env.all_events(USER))
    st = env.cli("--json", "status", "--user", USER)
    tap('"password_change_required":false' in st.stdout, "status: no change required any more", st.stdout)
    notices = env.wait_for(lambda: [m for m in env.mails() if "Subject: Your password was recovered" in m])
    tap(len(notices) == 1 and USER in notices[0], "mail: 'Your password was recovered' to the user", env.mails())
    r = env.login(USER, answers=lambda p: NEW_PASSWORD)
    tap(r.ok and len(r.prompts) == 1, "ssh: the new password logs in, nothing else asked", repr(r.prompts))
    r = env.login(USER, answers=lambda p: PASSWORD)
    tap(not r.ok, "ssh: the forgotten password no longer works")
    for m in env.mailbox.files():  # the notice (waited for above)
        os.unlink(os.path.join(env.mailbox.new, m))


def recovery_keeps_the_second_factor():
    secret, r = env.enrol_totp(TUSER)
    tap(r.returncode == 0, "TOTP enrolled for the second user", r.stderr)

    def answer(prompt):
        last = prompt.splitlines()[-1] if prompt else ""
        if last.startswith("Password"):
            return "forgot"
        if last.startswith("Recovery code"):
            return recovery_code(prompt)
        if last.startswith("Verification code"):
            return "000000" if totp(secret, int(time.time()) // 30) != "000000" else "111111"
        return NEW_PASSWORD
    r = env.login(TUSER, answers=answer)
    tap(not r.ok and [p.splitlines()[-1] for p in r.prompts] == ["Password: ", "Recovery code: ",
                                                                 "Verification code: "],
        "ssh: after the recovery code the TOTP is still asked; a wrong one ends the login", repr(r.prompts))
    tap(env.events(TUSER, "code_refused", "totp: wrong code") == 1 and env.events(TUSER, "password_recovered") == 1,
        "events: the recovery, then the refused TOTP", env.all_events(TUSER))
    # The notice went out all the same (the password was replaced): wait for it, then clear the box.
    env.wait_for(lambda: [m for m in env.mails() if "Subject: Your password was recovered" in m])
    for m in env.mailbox.files():
        os.unlink(os.path.join(env.mailbox.new, m))


def wrong_code_counts():
    before = env.db("SELECT failures FROM lockout WHERE user=?", TUSER)

    def answer(prompt):
        last = prompt.splitlines()[-1] if prompt else ""
        if last.startswith("Recovery code"):
            c = recovery_code(prompt)
            return "000000" if c != "000000" else "111111"
        return "forgot"
    r = env.login(TUSER, answers=answer)
    after = env.db("SELECT failures FROM lockout WHERE user=?", TUSER)
    tap(not r.ok and len(r.prompts) == 2 and after == [(before[0][0] + 1,)],
        "ssh: a wrong recovery code ends the login and is counted", repr(r.prompts) + repr(before) + repr(after))
    tap(env.events(TUSER, "code_refused", "recovery code: wrong code") == 1, "events: code_refused 'recovery code: "
        "wrong code'", env.all_events(TUSER))


def cleanup():
    if made_pam_acctsec:
        os.unlink("/etc/pam.d/acctsec")


env.run(main, after=(cleanup,))
