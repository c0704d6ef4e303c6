#!/usr/bin/python3
"""Tier 4: second-factor relief through a real sshd on 127.0.0.1, real
users (pam_unix), a real acctsecd and a real SSH client (paramiko).
Remembered devices: password + TOTP over keyboard-interactive, then a
second login from the same source within remember_device asked only for
the password; with AuthenticationMethods publickey,keyboard-interactive
the device is the key (its fingerprint, as ssh-keygen prints it); a revoke
brings the code prompt back.  A trusted network (mfa_skip_networks): no
code asked from it, the code asked again once it no longer covers the
source.  Every skip is in the log with its reason.  Root only (exit 77
otherwise); run under the system tests' lock:
  flock /tmp/acctsec-system-tests.lock env ACCTSEC_BUILD_DIR=... python3 tests/system/test_sshd_devices.py
Creates two users and /etc/pam.d/acctsec-sshd-dev (sshd names its PAM
service after its program name); removes them.  TAP output."""
import os
import subprocess
import sys
import time

if os.geteuid() != 0:
    print("# skipped: needs root", file=sys.stderr)
    sys.exit(77)

import paramiko  # noqa: E402 - after the root check (Debian: python3-paramiko)

from sshd_env import Env, totp  # noqa: E402

USER = "acctsec-dv-%d" % os.getpid()   # password + TOTP
KUSER = "acctsec-dk-%d" % os.getpid()  # public key, then password + TOTP
PASSWORD = "Correct-Horse-7"
env = Env("acctsec-devices.", "acctsec-sshd-dev")
tap = env.tap

REMEMBER = "totp_window = 3\nremember_device = 1h\nallowlist = 127.0.0.1/32\n"


def prompts_ok(r, n):
    """Logged in, asked exactly N things: the password, then (N = 2) the code."""
    return r.ok and len(r.prompts) == n and "assword" in r.prompts[0] and \
        (n == 1 or "Verification code" in r.prompts[1])


def skips(user):
    return [d for (d,) in env.db("SELECT detail FROM events WHERE user = ? AND type = 'mfa_skipped' ORDER BY id",
                                 user)]


def main():
    env.add_user(USER, password=PASSWORD)
    keyfile = env.keygen("kuser-key")
    with open(keyfile + ".pub") as f:
        env.add_user(KUSER, password=PASSWORD, key=f.read())
    env.start_daemon(REMEMBER)
    env.start_sshd(env.mfa_stack(),
                   "KbdInteractiveAuthentication yes\nPasswordAuthentication no\nPubkeyAuthentication yes\n"
                   "AuthenticationMethods keyboard-interactive\nAllowUsers %s %s\n"
                   "Match User %s\n  AuthenticationMethods publickey,keyboard-interactive\n" % (USER, KUSER, KUSER))
    step = int(time.time()) // 30
    secret = remembered_address(step)
    remembered_key(keyfile, step)
    revoked(secret, step)
    trusted_network(secret, step)


def remembered_address(step):
    secret, r = env.enrol_totp(USER)
    tap(r.returncode == 0, "TOTP enrolled for a real user", r.stderr)
    r = env.login(USER, answers=[PASSWORD, totp(secret, step - 1)])
    tap(prompts_ok(r, 2), "ssh: password + TOTP accepted (asked both)", r.prompts)
    rows = env.db("SELECT kind, device, source FROM devices WHERE user = ?", USER)
    tap(rows == [("address", "127.0.0.1", "127.0.0.1")], "the source address is remembered after the good code", rows)
    r = env.login(USER, answers=[PASSWORD])
    tap(prompts_ok(r, 1), "ssh: the next login from it is asked only for the password", r.prompts)
    s = skips(USER)
    tap(len(s) == 1 and s[0].startswith("remembered device 127.0.0.1 until "), "the skip is logged with its reason", s)
    r = env.login(USER, answers=["wrong-password"])
    tap(not r.ok, "ssh: a wrong password from a remembered device is still refused", r.prompts)
    return secret


def remembered_key(keyfile, step):
    key = paramiko.Ed25519Key.from_private_key_file(keyfile)
    fp = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", keyfile + ".pub"], capture_output=True,
                        text=True).stdout.split()[1]
    secret, r = env.enrol_totp(KUSER)
    r = env.login(KUSER, key=key, answers=[PASSWORD, totp(secret, step - 1)])
    tap(prompts_ok(r, 2), "ssh publickey,keyboard-interactive: password + TOTP after the key", r.prompts)
    rows = env.db("SELECT kind, device FROM devices WHERE user = ?", KUSER)
    tap(rows == [("key", fp)], "the key (its SHA256 fingerprint) is the device", (rows, fp))
    r = env.login(KUSER, key=key, answers=[PASSWORD])
    tap(prompts_ok(r, 1), "ssh: the same key again: no code asked", r.prompts)
    s = skips(KUSER)
    tap(len(s) == 1 and s[0].startswith("remembered device %s until " % fp), "the skip names the key", s)


def revoked(secret, step):
    q = env.cli("device", "revoke", "--all", "--user", USER)
    tap(q.returncode == 0 and "1 remembered device revoked" in q.stdout, "acctsec device revoke --all", q.stdout)
    r = env.login(USER, answers=[PASSWORD, totp(secret, step)])
    tap(prompts_ok(r, 2), "ssh: after the revoke the code is asked again", r.prompts)
    tap(env.events(USER, "device_revoked") == 1, "device_revoked logged")
    # "sign out everywhere else" forgets them too
    q = env.cli("session", "terminate", "--all-others", "--user", USER)
    tap(q.returncode == 0 and env.db("SELECT count(*) FROM devices WHERE user = ?", USER) == [(0,)],
        "session terminate --all-others revokes the remembered devices", q.stdout + q.stderr)


def trusted_network(secret, step):
    env.start_daemon("totp_window = 3\nmfa_skip_networks = 127.0.0.0/8\n")
    r = env.login(USER, answers=[PASSWORD])
    tap(prompts_ok(r, 1), "ssh from a trusted network: asked only for the password", r.prompts)
    tap(skips(USER)[-1:] == ["trusted network 127.0.0.0/8"], "the skip is logged: trusted network", skips(USER))
    env.start_daemon("totp_window = 3\nmfa_skip_networks = 10.0.0.0/8\n")
    r = env.login(USER, answers=[PASSWORD, totp(secret, step + 1)])
    tap(prompts_ok(r, 2), "ssh from outside the trusted networks: the code is asked", r.prompts)
    tap(len(skips(USER)) == 2, "no skip logged outside", skips(USER))


env.run(main)
