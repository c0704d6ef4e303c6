#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the handcrafted seeds of fuzz_pam into tests/fuzz/corpus/pam/.

The input format is parse_input() in fuzz_pam.c; this file spells it out
with names.  Run it after changing the format (the menus there and here must
agree), then merge the grown corpus back (doc/fuzzing.md).

    python3 tests/fuzz/pam_seeds.py [DIR]
"""
import os
import struct
import sys

ENTRIES = ["preauth", "authfail", "authsucc", "mfa", "token", "account", "password", "commit",
           "session_open", "session_both"]
USERS = ["alice", "bob", "carol", "dave", "root", "mallory", "", None]  # index 8: raw
RHOSTS = [None, "127.0.0.1", "10.1.2.3", "2001:db8::1", "UNKNOWN"]      # index 5: raw
ARGS = ["debug", "silent", "failmode=open", "failmode=secure", "deny=0", "mfa=off", "mfa=required",
        "lock_message=yes", "retry=1", "retry=3", "preauth", "mfa", "token", "commit", "authfail",
        "no_such_key=1", "timeout=50", "timeout=bad", "allowlist=10.0.0.0/8", "lock_scope=user+source",
        "debug=maybe", "socket=relative", "min_length=8", "history=0", "mfa=optional"]
ANSWERS = ["", "resend", "123456", "alice-Secret-1",
           "acst_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG012345", "RESEND", "New-Password-42!"]
ERRNOS = ["ENOMEM", "EINTR", "EAGAIN", "EPIPE", "ECONNRESET", "EIO", "ECONNREFUSED", "ENOENT", "EACCES",
          "ETIMEDOUT", "EPERM", "0", "short", "EBADF", "EMSGSIZE"]
TAGS = ["DECISION", "MFA", "MESSAGE", "ERRNO", "LOCKED_UNTIL", "ATTEMPT", "SENT", "MUST_CHANGE",
        "SESSION", "WAIT"]
U64 = [0, 1, 2, 3, 4, 5, 6, 2**64 - 1, 2**64 - 2, 1700000000, 253402300800, 2**62, 0x7fffffff]

FLAG_SILENT, FLAG_DISALLOW_NULL, FLAG_CHANGE_EXPIRED, FLAG_CONV_FAILS, FLAG_AUTH_INFO = 1, 2, 4, 8, 16


def raw(s):
    b = s.encode()
    assert len(b) <= 64
    return bytes([len(b)]) + b


def pick(menu, value):
    """A menu entry by value, or a raw string after an index past the menu."""
    if value in menu:
        return bytes([menu.index(value)])
    return bytes([255]) + raw(value)


def field(tag, value):
    """A reply field: an integer from the menu or any, or a string."""
    t = bytes([TAGS.index(tag)])
    if isinstance(value, int):
        if value in U64:
            return t + bytes([0, U64.index(value)])
        return t + bytes([3]) + struct.pack(">Q", value)
    return t + bytes([1]) + raw(value)


def frame(*fields, error=False):
    return bytes([0, 2 if error else 0, len(fields)]) + b"".join(fields)


def close(hang=False):
    """Close at once, or (hang) wait for the module to time out first."""
    return bytes([2, 1 if hang else 0])


def raw_reply(data):
    return bytes([1]) + struct.pack(">H", len(data)) + data


def cut(at, *fields):
    return bytes([3, 0, len(fields)]) + b"".join(fields) + struct.pack(">H", at)


def seed(entry, fake, user="alice", rhost=None, flags=0, args=(), answers=(), inject=(), replies=(), auth_info=None):
    out = bytes([ENTRIES.index(entry) << 1 | (1 if fake else 0)])
    out += bytes([USERS.index(user)]) if user in USERS else bytes([8]) + raw(user)
    out += bytes([RHOSTS.index(rhost)]) if rhost in RHOSTS else bytes([5]) + raw(rhost)
    if auth_info is not None:  # SSH_AUTH_INFO_0 = "publickey " + this
        flags |= FLAG_AUTH_INFO
    out += bytes([flags]) + (raw(auth_info) if auth_info is not None else b"")
    out += bytes([len(args)]) + b"".join(pick(ARGS, a) for a in args)
    out += bytes([len(answers)]) + b"".join(pick(ANSWERS, a) for a in answers)
    out += bytes([len(inject)]) + b"".join(bytes([at, ERRNOS.index(e)]) for at, e in inject)
    if fake:
        out += bytes([len(replies)]) + b"".join(replies)
    return out


ALLOW = field("DECISION", 0)
ATTEMPT = "0123456789abcdef0123456789abcdef"

SEEDS = {
    # the real daemon (carol locked, bob disabled, dave mfa=required)
    "real_preauth": seed("preauth", False, rhost="127.0.0.1"),
    "real_authfail_carol": seed("authfail", False, user="carol"),
    "real_authsucc": seed("authsucc", False, rhost="10.1.2.3"),
    "real_mfa_none": seed("mfa", False),
    "real_mfa_dave": seed("mfa", False, user="dave", answers=["123456"]),
    "real_token": seed("token", False, answers=[ANSWERS[4]]),
    "real_account_bob": seed("account", False, user="bob"),
    "real_password": seed("password", False, answers=["New-Password-42!", "New-Password-42!"]),
    "real_commit": seed("commit", False),
    "real_session": seed("session_both", False, user="root", rhost="2001:db8::1",
                         auth_info="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoq"),
    "real_ask_user": seed("preauth", False, user=None, answers=["alice"]),
    "real_inject_calloc": seed("account", False, inject=[(7, "ENOMEM")]),
    "real_inject_recv": seed("preauth", False, inject=[(12, "EINTR"), (13, "ECONNRESET")]),
    # the fake daemon: each reply type
    "fake_preauth_allow": seed("preauth", True, replies=[frame(ALLOW)]),
    "fake_preauth_locked": seed("preauth", True, args=["lock_message=yes"], answers=["x"],
                                replies=[frame(field("DECISION", 1), field("LOCKED_UNTIL", 1700000000))]),
    "fake_authfail_forever": seed("authfail", True, replies=[frame(field("DECISION", 1),
                                                                   field("LOCKED_UNTIL", 2**64 - 1))]),
    "fake_account_allow": seed("account", True, replies=[frame(ALLOW)]),
    "fake_account_must_change": seed("account", True, replies=[frame(ALLOW, field("MUST_CHANGE", 2))]),
    "fake_account_disabled": seed("account", True, replies=[frame(field("DECISION", 3))]),
    "fake_mfa_none": seed("mfa", True, replies=[frame(ALLOW, field("MFA", 0))]),
    "fake_mfa_totp": seed("mfa", True, answers=["123456"],
                          replies=[frame(ALLOW, field("MFA", 1)), frame(ALLOW, field("MESSAGE", "2 backup codes left"))]),
    "fake_mfa_enrol": seed("mfa", True, replies=[frame(ALLOW, field("MFA", 2))]),
    "fake_mfa_email": seed("mfa", True, answers=["resend", "123456"],
                           replies=[frame(ALLOW, field("MFA", 3), field("ATTEMPT", ATTEMPT)),
                                    frame(ALLOW, field("SENT", 1), field("MESSAGE", "A code was sent to a***@example.com")),
                                    frame(ALLOW, field("SENT", 0), field("MESSAGE", "Wait 3 minutes"), field("WAIT", 180)),
                                    frame(ALLOW)]),
    "fake_token_allow": seed("token", True, answers=[ANSWERS[4]], replies=[frame(ALLOW)]),
    "fake_token_refused": seed("token", True, answers=[ANSWERS[4]], replies=[frame(field("DECISION", 2))]),
    "fake_error_reply": seed("preauth", True, replies=[frame(field("ERRNO", 1), field("MESSAGE", "not allowed"),
                                                             error=True)]),
    "fake_raw_reply": seed("account", True, replies=[raw_reply(b"AS\x01\x80\x00\x00\x00\x0b\x12\x00\x08" + bytes(8))]),
    "fake_bad_magic": seed("account", True, replies=[raw_reply(b"XX\x01\x80\x00\x00\x00\x00")]),
    "fake_close": seed("authsucc", True, replies=[close()]),
    "fake_cut": seed("account", True, replies=[cut(9, ALLOW)]),
    "fake_failmode_open": seed("preauth", True, args=["failmode=open"], replies=[close()]),
    "fake_hang": seed("account", True, args=["timeout=50"], replies=[close(hang=True)]),
    "fake_hang_open": seed("mfa", True, args=["timeout=50", "failmode=open"], replies=[close(hang=True)]),
    "fake_password": seed("password", True, answers=["New-Password-42!", "New-Password-42!"],
                          replies=[frame(ALLOW, field("MESSAGE", "At least 12 characters.")), frame(ALLOW),
                                   frame(ALLOW)]),
    "fake_password_retry": seed("password", True, args=["retry=3"], answers=["a", "b", "c", "c"],
                                replies=[frame(ALLOW), frame(field("DECISION", 4), field("MESSAGE", "too short"))]),
    "fake_session": seed("session_both", True, user="root", replies=[frame(ALLOW, field("SESSION", 42))],
                         auth_info="x\npassword\npublickey ssh-rsa AAAA\x1b[2J"),
    "fake_bad_args": seed("preauth", True, args=["no_such_key=1"]),
    "fake_inject_short": seed("mfa", True, answers=["123456"], inject=[(10, "short"), (12, "EAGAIN")],
                              replies=[frame(ALLOW, field("MFA", 1)), frame(ALLOW)]),
    "fake_inject_strdup": seed("mfa", True, flags=FLAG_CONV_FAILS, inject=[(11, "ENOMEM")],
                               replies=[frame(ALLOW, field("MFA", 1)), frame(ALLOW)]),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "pam")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
