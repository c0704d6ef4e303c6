"""Tier 4 (issue 14, items 2 and 5) through a real sshd and a real SSH
client (paramiko).

1. The key + code stack (AuthenticationMethods publickey,keyboard-interactive;
   auth: preauth, mfa): an enrolled user who types a wrong code and a locked
   user are both asked for a verification code and refused.  Before the fix
   the locked user was asked "Password:", which showed the lock.  This also
   proves what prompt=auto relies on: sshd sets SSH_AUTH_INFO_0 after the key.
2. The same stack with keyboard-interactive alone (no AuthenticationMethods):
   a user with no second factor is refused, and logged as login_denied, not
   as a success.  Before the fix such a user got a shell with no credential.
Root only (exit 77 otherwise).  TAP output."""
import os
import sys
import time

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)

import paramiko  # noqa: E402 - after the root check (Debian: python3-paramiko)
from sshd_env import Env, totp  # noqa: E402

env = Env("acctsec-sshd-prompts.", "acctsec-sshd-prompts")
tap = env.tap
PID = os.getpid()
ENROLLED, LOCKED, PLAIN = ("asp-e-%d" % PID, "asp-l-%d" % PID, "asp-p-%d" % PID)


def enrol(user):
    secret, r = env.enrol_totp(user)
    assert r.returncode == 0, r.stderr
    return secret


STACK = ("auth     requisite pam_acctsec.so_ARGS preauth\n"
         "auth     requisite pam_acctsec.so_ARGS mfa\n"
         "account  required  pam_acctsec.so_ARGS\n"
         "account  required  pam_permit.so\n"
         "session  required  pam_permit.so\n"
         "password required  pam_deny.so\n")


def restart_sshd(config):
    mod = os.path.join(env.B, ".libs", "pam_acctsec.so") + " socket=" + env.sock
    env.start_sshd(STACK.replace("pam_acctsec.so_ARGS", mod),
                   "KbdInteractiveAuthentication yes\nPasswordAuthentication no\n" + config)


def main():
    env.start_daemon("totp_window = 3\n")
    keyfile = env.keygen("userkey")
    key = paramiko.Ed25519Key.from_private_key_file(keyfile)
    pub = open(keyfile + ".pub").read()
    for u in (ENROLLED, LOCKED, PLAIN):
        env.add_user(u, key=pub)
    secret = enrol(ENROLLED)
    enrol(LOCKED)

    restart_sshd("AuthenticationMethods publickey,keyboard-interactive\n")
    step = int(time.time()) // 30
    r = env.login(ENROLLED, key, [totp(secret, step)])
    tap(r.ok and r.prompts == ["Verification code: "], "key + code: the right code logs in", r.prompts)
    r = env.login(ENROLLED, key, ["000000" if totp(secret, step + 1) != "000000" else "111111"])
    wrong = r.prompts
    tap(not r.ok and wrong == ["Verification code: "], "key + code: a wrong code is refused", r.prompts)
    for _ in range(3):
        env.login(LOCKED, key, ["000000"])
    tap(env.db("SELECT count(*) FROM events WHERE type='lockout' AND user=?", LOCKED) == [(1,)],
        "key + code: three wrong codes lock the account")
    r = env.login(LOCKED, key, ["000000"])
    tap(not r.ok and r.prompts == wrong, "key + code: the locked user gets the same prompt as a wrong code",
        "locked: %r, wrong code: %r" % (r.prompts, wrong))
    r = env.login(PLAIN, key, [])
    tap(r.ok and r.prompts == [], "key + code: a user without a second factor logs in with the key alone",
        r.prompts)

    # keyboard-interactive alone: nothing but acctsec's lines in the stack.
    restart_sshd("PubkeyAuthentication no\n")
    before = env.db("SELECT count(*) FROM events WHERE type='auth_success' AND user=?", PLAIN)
    r = env.login(PLAIN, None, ["123456"])
    tap(not r.ok, "keyboard-interactive alone: a user without a second factor is refused", r.prompts)
    tap(r.prompts == ["Verification code: "], "keyboard-interactive alone: refused as a wrong code looks",
        r.prompts)
    tap(env.db("SELECT count(*) FROM events WHERE type='login_denied' AND user=? AND detail LIKE "
               "'no first factor%'", PLAIN) == [(1,)]
        and env.db("SELECT count(*) FROM events WHERE type='auth_success' AND user=?", PLAIN) == before,
        "keyboard-interactive alone: logged as login_denied, not as a success",
        env.db("SELECT type, detail FROM events WHERE user=?", PLAIN))
    tap(env.db("SELECT count(*) FROM lockout WHERE user=? AND failures > 0", PLAIN) == [(0,)],
        "keyboard-interactive alone: the refusal is not counted (no credential was tried)")


env.run(main)
