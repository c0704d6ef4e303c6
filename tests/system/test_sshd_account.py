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
import sys

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)

import paramiko  # noqa: E402 - after the root check (Debian: python3-paramiko)
from sshd_env import Env  # noqa: E402

KUSER = "acctsec-t6k-%d" % os.getpid()  # logs in with a public key
PUSER = "acctsec-t6p-%d" % os.getpid()  # must change the password
PASSWORD = "Correct-Horse-5"
NEW_PASSWORD = "Another-Horse-77x"
FORCED = "You are required to change your password now (administrator request)."
env = Env("acctsec-sshd-account.", "acctsec-sshd-account")
tap = env.tap
cli, events, all_events = env.cli, env.events, env.all_events


def key_login(key):
    """KUSER's public key alone.  Returns .ok and .error (the exception, if refused)."""
    return env.login(KUSER, key=key)


def kbd_login(answer):
    """PUSER through keyboard-interactive: answer(prompt) gives each answer."""
    return env.login(PUSER, answers=answer)


def shadow_hash(name):
    for line in open("/etc/shadow"):
        f = line.split(":")
        if f[0] == name:
            return f[1]
    return None


STACK = ("auth     requisite                  %s preauth\n"
         "auth     [success=1 default=ignore] pam_unix.so nodelay\n"
         "auth     [default=die]              %s authfail\n"
         "auth     required                   %s authsucc\n"
         "account  required                   pam_unix.so\n"
         "account  required                   %s\n"
         "session  required                   pam_permit.so\n"
         "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n"
         "password requisite                  pam_deny.so\n"
         "password optional                   %s commit\n")


def main():
    env.start_daemon("")
    # KUSER's key in ~/.ssh/authorized_keys: the user's, 0700 and 0600 (StrictModes).
    keyfile = env.keygen("userkey")
    env.add_user(KUSER, password=PASSWORD, key=open(keyfile + ".pub").read())
    env.add_user(PUSER, password=PASSWORD)
    key = paramiko.Ed25519Key.from_private_key_file(keyfile)
    env.start_sshd(STACK % ((env.pam_module(),) * 5),
                   "KbdInteractiveAuthentication yes\nPasswordAuthentication no\n"
                   "PubkeyAuthentication yes\nAuthenticationMethods keyboard-interactive\n"
                   "AllowUsers %s %s\n"
                   "Match User %s\n    AuthenticationMethods publickey\n" % (KUSER, PUSER, KUSER))
    disabled_key_user(key)
    forced_change()


def disabled_key_user(key):
    r = key_login(key)
    tap(r.ok, "ssh: public-key login works", repr(r.error))
    q = cli("account", "disable", "--user", KUSER)
    tap(q.returncode == 0 and events(KUSER, "account_disabled") == 1,
        "account disable (root): account_disabled logged", q.stdout + q.stderr + repr(all_events(KUSER)))
    before = events(KUSER, "login_denied", "account disabled")
    r = key_login(key)
    tap(not r.ok and isinstance(r.error, paramiko.AuthenticationException),
        "ssh: disabled: the public-key login is refused", repr(r.error))
    tap(events(KUSER, "login_denied", "account disabled") == before + 1,
        "events: login_denied 'account disabled' (the account phase, no auth stack)", repr(all_events(KUSER)))
    st = cli("--json", "status", "--user", KUSER)
    tap(st.returncode == 0 and json.loads(st.stdout).get("disabled") is True,
        "status: disabled", st.stdout + st.stderr)
    q = cli("account", "enable", "--user", KUSER)
    r = key_login(key)
    tap(q.returncode == 0 and r.ok and events(KUSER, "account_enabled") == 1,
        "account enable: the public-key login works again; account_enabled logged",
        q.stdout + q.stderr + repr(r.error) + repr(all_events(KUSER)))


def forced_change():
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
    r = kbd_login(change)
    text = "\n".join(r.texts)
    second = None
    if not r.ok:  # some sshd versions close after the change: then a new login must do
        second = kbd_login(lambda t: NEW_PASSWORD)
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

    r = kbd_login(lambda t: NEW_PASSWORD)
    tap(r.ok and r.prompts == ["Password: "] and FORCED not in "\n".join(r.texts),
        "ssh: the new password logs in, no change asked", repr(r.prompts) + repr(r.texts))
    r = kbd_login(lambda t: PASSWORD)
    tap(not r.ok, "ssh: the old password no longer works", repr(r.prompts))
    tap(events(PUSER, "password_changed") == 1, "events: no further password_changed", repr(all_events(PUSER)))


env.run(main)
