#!/usr/bin/env python3
"""Password recovery against a real acctsecd (the daemon's half; the whole
login, with the password really replaced and changed, is
tests/system/test_sshd_recovery.py): off by default, the same answer for
everyone (unknown, refused, allowed), refused for root and admins, a code
mailed only where allowed, wrong codes counted toward the lockout, the
resend interval, a locked user.  TAP output."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_daemon import (ROOT, REPLY_OK, T_USER, T_SERVICE, T_MESSAGE, T_DECISION,  # noqa: E402
                         frame, get, login_frame, main as run_all, maildir_count, wait_until)

OP_EMAIL_SET, OP_RECOVERY_BEGIN, OP_RECOVERY_VERIFY = 18, 52, 53
T_CODE, T_ATTEMPT, T_ADDRESS = 6, 33, 34
SENT = "If this account can be recovered, a code was sent to its verified address or phone."
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def restart(d, conf):
    d.write_conf("maildir = %s/maildir\n" % d.dir + conf)
    d.stop()
    d.start()


def set_address(d, user, address):
    rtype, f = d.call(frame(OP_EMAIL_SET, (T_USER, user), (T_ADDRESS, address)))
    assert rtype == REPLY_OK, f


def begin(d, user="alice"):
    """RECOVERY_BEGIN: (decision, attempt, message), checking the reply's shape."""
    rtype, f = d.call(login_frame(OP_RECOVERY_BEGIN, user=user))
    assert rtype == REPLY_OK, f
    return get(f, T_DECISION, True), get(f, T_ATTEMPT), get(f, T_MESSAGE)


def verify(d, attempt, code, user="alice"):
    rtype, f = d.call(frame(OP_RECOVERY_VERIFY, (T_USER, user), (T_SERVICE, "sshd"), (T_CODE, code),
                            (T_ATTEMPT, attempt)))
    return rtype, f


def mails(d):
    new = os.path.join(d.dir, "maildir", "new")
    out = []
    for name in sorted(os.listdir(new)) if os.path.isdir(new) else []:
        with open(os.path.join(new, name)) as f:
            out.append(f.read())
    return out


def events(d, type_):
    return d.db("SELECT user, detail FROM events WHERE type = ? ORDER BY id", type_)


@test
def off_by_default_and_the_same_answer_for_everyone(d):
    if not ROOT:
        return "SKIP needs root (login requests about others come from root)"
    restart(d, "")
    set_address(d, "alice", "alice@example.com")
    answers = [begin(d, u) for u in ("alice", "bob", "nobody-here")]
    for decision, attempt, msg in answers:
        assert decision == 0 and msg == SENT and re.fullmatch(r"[0-9a-f]{32}", attempt), answers
    assert len({a for _, a, _ in answers}) == 3, "attempts are random"
    assert maildir_count(d) == 0 and d.db("SELECT count(*) FROM email_codes") == [(0,)], "off: nothing sent"
    assert events(d, "login_denied") == [("alice", "password recovery is off for this login (password_recovery)"),
                                         ("bob", "password recovery is off for this login (password_recovery)")]
    # A code typed anyway is a wrong password: counted.
    rtype, f = verify(d, answers[0][1], "123456")
    assert rtype == REPLY_OK and get(f, T_DECISION, True) == 2, f
    assert d.db("SELECT failures FROM lockout WHERE user = 'alice'") == [(1,)]
    assert events(d, "code_refused") == [("alice", "recovery code: no live code")]


@test
def refused_for_root_and_admins_unless_allowed(d):
    if not ROOT:
        return "SKIP needs root"
    with open(os.path.join(d.dir, "group"), "a") as f:
        f.write("admins:x:1010:bob\n")
    restart(d, "password_recovery = yes\nadmin_group = admins\n")
    for u in ("root", "bob"):
        set_address(d, u, u + "@example.com")
        assert begin(d, u)[2] == SENT
    assert d.db("SELECT count(*) FROM email_codes WHERE purpose = 4") == [(0,)], "an admin's recovery code was made"
    assert events(d, "login_denied") == [
        (u, "password recovery is refused for administrators (password_recovery_admins)") for u in ("root", "bob")]
    restart(d, "password_recovery = yes\nadmin_group = admins\npassword_recovery_admins = yes\n")
    assert begin(d, "bob")[2] == SENT
    sent = [("bob", "recovery code to b\u2022\u2022\u2022@example.com")]
    wait_until(lambda: sent[0] in events(d, "code_sent"))
    assert d.db("SELECT user FROM email_codes WHERE purpose = 4") == [("bob",)]


@test
def a_code_is_mailed_and_wrong_codes_count(d):
    if not ROOT:
        return "SKIP needs root"
    restart(d, "password_recovery = yes\ndeny = 3\n")
    begin(d)  # no address: nothing to send
    assert events(d, "login_denied") == [("alice", "password recovery: no verified address or phone number")]
    set_address(d, "alice", "alice@example.com")
    decision, attempt, msg = begin(d)
    assert decision == 0 and msg == SENT
    wait_until(lambda: maildir_count(d) == 1)
    [mail] = mails(d)
    assert "\nSubject: Your password recovery code\n" in mail.replace("\r\n", "\n"), mail
    code = re.search(r"Your code to recover the account alice on .* is: (\d{6})", mail).group(1)
    assert d.db("SELECT purpose, address, count(hash) FROM email_codes WHERE attempt = ?", attempt) == [
        (4, "alice@example.com", 1)]
    # Asked again at once: the same answer, nothing sent (code_resend_interval).
    assert begin(d)[2] == SENT
    assert d.db("SELECT count(*) FROM email_codes WHERE purpose = 4") == [(1,)] and maildir_count(d) == 1
    # A wrong code: refused, counted; the right one is still good (four more tries).
    rtype, f = verify(d, attempt, "000000" if code != "000000" else "111111")
    assert rtype == REPLY_OK and get(f, T_DECISION, True) == 2, f
    assert events(d, "code_refused") == [("alice", "recovery code: wrong code")]
    assert d.db("SELECT failures FROM lockout WHERE user = 'alice'") == [(1,)]
    # Another user's attempt is not alice's.
    rtype, f = verify(d, attempt, code, user="bob")
    assert get(f, T_DECISION, True) == 2
    assert d.db("SELECT count(hash) FROM email_codes WHERE attempt = ?", attempt) == [(1,)], "bob used alice's code"
    # Locked: neither request goes on.
    verify(d, attempt, "x")
    verify(d, attempt, "y")
    decision, attempt2, msg = begin(d)
    assert decision == 1 and attempt2 is None and msg == SENT, "a locked user is told what anyone is"
    rtype, f = verify(d, attempt, code)
    assert get(f, T_DECISION, True) == 1, f
    assert d.db("SELECT failures FROM lockout WHERE user = 'alice'") == [(3,)]
    assert d.db("SELECT count(hash) FROM email_codes WHERE attempt = ?", attempt) == [(1,)], "used while locked"
    assert d.db("SELECT count(*) FROM events WHERE type = 'password_recovered'") == [(0,)]


@test
def recovery_codes_use_only_half_of_the_mail_cap(d):
    """Anyone can type "forgot": recovery codes may use half of a user's
    hourly mails, so the login codes keep the other half."""
    if not ROOT:
        return "SKIP needs root"
    restart(d, "password_recovery = yes\nmail_max_per_hour = 2\ncode_resend_interval = 0\nmfa = required\n")
    set_address(d, "alice", "alice@example.com")
    assert begin(d)[2] == SENT and begin(d)[2] == SENT
    assert d.db("SELECT count(*), count(hash) FROM email_codes WHERE purpose = 4") == [(2, 1)], "one code, two asks"
    assert d.db("SELECT detail FROM events WHERE type = 'mail_capped'") == [
        ("recovery code not mailed: 1 mail in the last hour (mail_max_per_hour)",)]
    from test_daemon import code_send
    assert code_send(d)[0] == 1, "the login code was refused: recovery used up the cap"
    assert d.db("SELECT count(*) FROM mail_sent") == [(2,)]


@test
def only_root_login_programs_may_recover(d):
    if not ROOT:
        return "SKIP needs root to act as alice"
    from test_daemon import as_uid
    restart(d, "password_recovery = yes\n")
    set_address(d, "alice", "alice@example.com")
    assert as_uid(1001, lambda: begin(d)[2]) == repr(SENT)
    assert maildir_count(d) == 0
    assert events(d, "login_denied") == [("alice", "password recovery: only through root's login programs")]


@test
def no_trusted_network_after_a_recovery(d):
    """mfa_skip_networks spares the code, but not in a login a recovery code
    began (the account's forced change says so): a mailbox alone never
    opens the account."""
    if not ROOT:
        return "SKIP needs root"
    restart(d, "password_recovery = yes\nmfa = required\nmfa_skip_networks = LOCAL\n")
    set_address(d, "alice", "alice@example.com")
    OP_MFA_BEGIN, T_MFA, T_REASON = 9, 29, 93
    rtype, f = d.call(login_frame(OP_MFA_BEGIN))
    assert rtype == REPLY_OK and get(f, T_MFA, True) == 0 and "trusted network" in get(f, T_REASON), f
    # What RECOVERY_VERIFY leaves behind once the password was replaced (a
    # real replacement needs pam_unix: tests/system/test_sshd_recovery.py).
    d.db("INSERT INTO account (user, must_change, updated) VALUES ('alice', 2, 0)"
         " ON CONFLICT (user) DO UPDATE SET must_change = 2")
    rtype, f = d.call(login_frame(OP_MFA_BEGIN))
    assert rtype == REPLY_OK and get(f, T_MFA, True) == 3 and get(f, T_REASON) is None, f
    assert d.db("SELECT count(*) FROM events WHERE type = 'mfa_skipped'") == [(1,)]


if __name__ == "__main__":
    sys.exit(run_all(TESTS))
