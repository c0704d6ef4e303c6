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
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time
import types

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)

import paramiko  # noqa: E402 - after the root check (Debian: python3-paramiko)
from sshd_env import Env  # noqa: E402

env = Env("acctsec-sshd-prompts.", "acctsec-sshd-prompts")
tap = env.tap
PID = os.getpid()
ENROLLED, LOCKED, PLAIN = ("asp-e-%d" % PID, "asp-l-%d" % PID, "asp-p-%d" % PID)


def totp(secret_b32, step):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def enrol(user):
    out = json.loads(env.cli("--json", "mfa", "enroll", "totp", "--user", user).stdout)
    r = env.cli("mfa", "confirm", totp(out["secret"], int(time.time()) // 30 - 2), "--user", user)
    assert r.returncode == 0, r.stderr
    return out["secret"]


def login(user, key, answers):
    """The key (when given), then keyboard-interactive answering in turn."""
    r = types.SimpleNamespace(ok=False, prompts=[])

    def handler(title, instructions, prompts):
        out = []
        for text, _echo in prompts:
            r.prompts.append(text)
            out.append(answers.pop(0) if answers else "")
        return out

    t = env.transport()
    try:
        if key:
            left = t.auth_publickey(user, key)
            assert left == ["keyboard-interactive"], left  # partial success
        try:
            t.auth_interactive(user, handler)
        except paramiko.AuthenticationException:
            return r
        r.ok = t.is_authenticated()
        return r
    finally:
        t.close()


STACK = ("auth     requisite pam_acctsec.so_ARGS preauth\n"
         "auth     requisite pam_acctsec.so_ARGS mfa\n"
         "account  required  pam_acctsec.so_ARGS\n"
         "account  required  pam_permit.so\n"
         "session  required  pam_permit.so\n"
         "password required  pam_deny.so\n")


def restart_sshd(config):
    exe = os.path.join(env.work, env.service)
    for p in list(env.procs):
        if p.args[0] == exe:
            p.terminate()
            p.wait(timeout=30)
            env.procs.remove(p)
    for f in (exe, os.path.join(env.work, "hostkey"), os.path.join(env.work, "hostkey.pub")):
        if os.path.lexists(f):
            os.unlink(f)
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
    r = login(ENROLLED, key, [totp(secret, step)])
    tap(r.ok and r.prompts == ["Verification code: "], "key + code: the right code logs in", r.prompts)
    r = login(ENROLLED, key, ["000000" if totp(secret, step + 1) != "000000" else "111111"])
    wrong = r.prompts
    tap(not r.ok and wrong == ["Verification code: "], "key + code: a wrong code is refused", r.prompts)
    for _ in range(3):
        login(LOCKED, key, ["000000"])
    tap(env.db("SELECT count(*) FROM events WHERE type='lockout' AND user=?", LOCKED) == [(1,)],
        "key + code: three wrong codes lock the account")
    r = login(LOCKED, key, ["000000"])
    tap(not r.ok and r.prompts == wrong, "key + code: the locked user gets the same prompt as a wrong code",
        "locked: %r, wrong code: %r" % (r.prompts, wrong))
    r = login(PLAIN, key, [])
    tap(r.ok and r.prompts == [], "key + code: a user without a second factor logs in with the key alone",
        r.prompts)

    # keyboard-interactive alone: nothing but acctsec's lines in the stack.
    restart_sshd("PubkeyAuthentication no\n")
    before = env.db("SELECT count(*) FROM events WHERE type='auth_success' AND user=?", PLAIN)
    r = login(PLAIN, None, ["123456"])
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
