#!/usr/bin/env python3
"""Texted codes against a real acctsecd: a gateway program (argv, stdin),
a real HTTP gateway on loopback (http.server in this process: method,
path, headers, the rendered body, basic authentication, a refusal), phone
numbers set by an admin and by the user (verified by the texted code, the
CLI), and the rules shared with emailed codes (single use, counted toward
the lockout, the resend interval, the cap).  TAP output."""
import base64
import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from sms_gateway import Gateway  # noqa: E402
from test_daemon import (ROOT, REPLY_OK, T_USER, T_SERVICE, T_MESSAGE, T_DECISION, T_ERRNO,  # noqa: E402
                         cli, frame, get, login_frame, main as run_all)

OP_MFA_BEGIN, OP_MFA_VERIFY, OP_CODE_SEND, OP_MFA_STATUS = 9, 10, 17, 13
OP_PHONE_SET, OP_PHONE_VERIFY, OP_PHONE_CODES, OP_PHONE_CLEAR = 48, 49, 50, 51
T_CODE, T_MFA, T_ATTEMPT, T_ADDRESS, T_SENT, T_WAIT, T_FLAG = 6, 29, 33, 34, 35, 36, 38
T_PHONE, T_PHONE_PENDING, T_PHONE_CODES = 76, 77, 78
MFA_SMS = 4
NUMBER = "+4915112345678"
MASKED = "+49" + "\u2022" * 9 + "78"
REPLY_ERROR = 0x81
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def gateway_program(d):
    """A gateway program: each text appended to d.dir/texts as 'ARGS\\tTEXT'."""
    path = os.path.join(d.dir, "send-sms")
    with open(path, "w") as f:
        f.write('#!/bin/sh\nprintf "%%s\\t%%s\\n" "$*" "$(cat)" >> %s/texts\n' % d.dir)
    os.chmod(path, 0o755)
    return path


def texts(d):
    try:
        with open(os.path.join(d.dir, "texts")) as f:
            return [line.rstrip("\n").split("\t", 1) for line in f]
    except FileNotFoundError:
        return []


def code_in(text):
    m = re.search(r"\b(\d{6})\b", text)
    assert m, text
    return m.group(1)


def restart(d, conf):
    d.write_conf(conf)
    d.stop()
    d.start()


def admin_sets_number(d, user="alice", number=NUMBER):
    rtype, f = d.call(frame(OP_PHONE_SET, (T_USER, user), (T_PHONE, number)))
    assert rtype == REPLY_OK and get(f, T_FLAG, True) == 1 and get(f, T_PHONE) == number, f


def begin_texted(d, user="alice"):
    rtype, f = d.call(login_frame(OP_MFA_BEGIN, user=user))
    assert rtype == REPLY_OK and get(f, T_MFA, True) == MFA_SMS, f
    assert get(f, T_ADDRESS) == MASKED, get(f, T_ADDRESS)
    return get(f, T_ATTEMPT)


def send(d, attempt, user="alice"):
    return d.call(frame(OP_CODE_SEND, (T_USER, user), (T_SERVICE, "sshd"), (T_ATTEMPT, attempt)))


def verify(d, attempt, code, user="alice"):
    return d.call(frame(OP_MFA_VERIFY, (T_USER, user), (T_SERVICE, "sshd"), (T_CODE, code), (T_ATTEMPT, attempt)))


@test
def a_login_code_texted_through_a_program(d):
    if not ROOT:
        return "SKIP needs root (login requests about alice come from root)"
    gw = gateway_program(d)
    restart(d, "mfa = required\nsms_transport = command\nsms_command = %s --route eu\n" % gw)
    admin_sets_number(d)
    assert d.db("SELECT number, pending, codes FROM phone WHERE user = 'alice'") == [(NUMBER, "", 0)]
    attempt = begin_texted(d)  # required, no address: the number is the factor
    rtype, f = send(d, attempt)
    assert rtype == REPLY_OK and get(f, T_SENT, True) == 1, f
    assert get(f, T_MESSAGE) == "A code was sent to %s." % MASKED, f
    [[args, text]] = texts(d)
    assert args == "--route eu " + NUMBER, args
    assert "is your code to log in as alice on " in text and "valid 30 min" in text, text
    code = code_in(text)
    # A wrong code is refused and counted; the right one lets in once.
    rtype, f = verify(d, attempt, "000000" if code != "000000" else "111111")
    assert rtype == REPLY_OK and get(f, T_DECISION, True) == 2, f
    assert d.db("SELECT failures FROM lockout WHERE user = 'alice'") == [(1,)]
    rtype, f = verify(d, attempt, code)
    assert rtype == REPLY_OK and get(f, T_DECISION, True) == 0, f
    rtype, f = verify(d, attempt, code)
    assert get(f, T_DECISION, True) == 2, "a texted code was used twice"
    events = d.db("SELECT type, detail FROM events WHERE user = 'alice' AND type LIKE 'code%' ORDER BY id")
    assert events == [("code_sent", "login code to " + MASKED), ("code_refused", "texted code: wrong code"),
                      ("code_used", "texted code"), ("code_refused", "texted code: no live code for this attempt")], events
    assert d.db("SELECT count(*) FROM mail_sent WHERE user = 'alice'") == [(1,)], "a text counts in the cap"


@test
def resend_interval_and_cap_hold_for_texts(d):
    if not ROOT:
        return "SKIP needs root"
    gw = gateway_program(d)
    restart(d, "mfa = required\nsms_transport = command\nsms_command = %s\nmail_max_per_hour = 2\n" % gw)
    admin_sets_number(d)
    attempt = begin_texted(d)
    assert get(send(d, attempt)[1], T_SENT, True) == 1
    rtype, f = send(d, attempt)  # at once: the interval
    assert get(f, T_SENT, True) == 0 and get(f, T_WAIT, True) > 0, f
    assert len(texts(d)) == 1
    # A second login texts a second code; a third is past the cap.
    assert get(send(d, begin_texted(d))[1], T_SENT, True) == 1
    rtype, f = send(d, begin_texted(d))
    assert get(f, T_SENT, True) == 0 and "Too many" in get(f, T_MESSAGE), f
    assert len(texts(d)) == 2
    assert d.db("SELECT count(*) FROM events WHERE type = 'mail_capped'") == [(1,)]


@test
def a_login_code_through_an_http_gateway(d):
    if not ROOT:
        return "SKIP needs root"
    gw = Gateway()
    try:
        secret = os.path.join(d.dir, "sms.secret")
        with open(secret, "w") as f:
            f.write("t0ps3cret\n")
        os.chmod(secret, 0o600)
        restart(d, "mfa = required\nsms_transport = http\nsms_url = http://127.0.0.1:%d/v1/send\n"
                   "sms_from = ACME\nsms_http_user = acct42\nsms_http_password_file = %s\n"
                   "sms_http_header = X-Api-Key: {secret}\n" % (gw.port, secret))
        assert "codes travel unencrypted" in open(d.log).read(), "http:// was not warned about"
        admin_sets_number(d)
        attempt = begin_texted(d)
        rtype, f = send(d, attempt)
        assert rtype == REPLY_OK and get(f, T_SENT, True) == 1, f
        [req] = gw.got
        assert req["path"] == "/v1/send"
        h = {k.lower(): v for k, v in req["headers"].items()}
        assert h["content-type"] == "application/x-www-form-urlencoded", h
        assert h["authorization"] == "Basic " + base64.b64encode(b"acct42:t0ps3cret").decode(), h
        assert h["x-api-key"] == "t0ps3cret", h
        form = urllib.parse.parse_qs(req["body"], strict_parsing=True)
        assert form["To"] == [NUMBER] and form["From"] == ["ACME"], form
        code = code_in(form["Body"][0])
        assert get(verify(d, attempt, code)[1], T_DECISION, True) == 0
        assert "t0ps3cret" not in open(d.log).read()

        # JSON, a template of one's own; then the gateway refuses: the code is void, a resend allowed at once.
        restart(d, "mfa = required\nsms_transport = http\nsms_url = http://127.0.0.1:%d/json\n"
                   "sms_http_format = json\nsms_http_body = {{\"msisdn\":\"{to}\",\"message\":\"{text}\"}\n"
                   % gw.port)
        attempt = begin_texted(d)
        assert get(send(d, attempt)[1], T_SENT, True) == 1
        body = json.loads(gw.got[1]["body"])
        assert body["msisdn"] == NUMBER and "is your code" in body["message"], body
        assert {k.lower(): v for k, v in gw.got[1]["headers"].items()}["content-type"] == "application/json"
        gw.status, gw.answer = 402, b"quota exceeded\nmore"
        attempt = begin_texted(d)
        rtype, f = send(d, attempt)
        assert rtype == REPLY_OK and get(f, T_SENT, True) == 0, f
        assert "could not be sent" in get(f, T_MESSAGE), f
        detail = d.db("SELECT detail FROM events WHERE type = 'code_send_failed'")
        assert detail == [("login code to %s: sms: the gateway answered HTTP 402: quota exceeded" % MASKED,)], detail
        assert d.db("SELECT hash FROM email_codes WHERE attempt = ?", attempt) == [(None,)]
        gw.status = 200
        assert get(send(d, attempt)[1], T_SENT, True) == 1, "no resend at once after a failed delivery"
    finally:
        gw.close()


@test
def a_user_verifies_their_own_number(d):
    if not ROOT:
        return "SKIP needs root to act as alice"
    gw = gateway_program(d)
    restart(d, "sms_transport = command\nsms_command = %s\n" % gw)
    r = cli(d, "phone", "set", "0151 1234567", uid=1001)
    assert r.returncode != 0 and "international form" in r.stderr, r.stderr
    r = cli(d, "phone", "set", NUMBER, uid=1001)
    assert r.returncode == 0 and "A code was sent to %s." % MASKED in r.stdout, r.stdout + r.stderr
    assert d.db("SELECT number, pending FROM phone WHERE user = 'alice'") == [("", NUMBER)]
    [[args, text]] = texts(d)
    assert args == NUMBER and "acctsec phone verify" in text, text
    r = cli(d, "phone", "verify", "000000" if code_in(text) != "000000" else "111111", uid=1001)
    assert r.returncode != 0 and "wrong code" in r.stderr, r.stderr
    r = cli(d, "mfa", "enroll", "sms", uid=1001)
    assert r.returncode != 0 and "no verified phone number" in r.stderr, r.stderr
    r = cli(d, "--json", "phone", "verify", code_in(text), uid=1001)
    assert r.returncode == 0 and json.loads(r.stdout) == {"phone": NUMBER, "verified": True}, r.stdout + r.stderr
    r = cli(d, "mfa", "enroll", "sms", uid=1001)
    assert r.returncode == 0 and MASKED in r.stdout, r.stdout + r.stderr
    st = json.loads(cli(d, "--json", "mfa", "status", uid=1001).stdout)
    assert st["phone"] == NUMBER and st["sms_codes"] is True and st["phone_pending"] is None, st
    # Texted codes on: an optional policy now asks for them.
    assert begin_texted(d)
    # One's own only factor cannot just be removed; an admin can.
    r = cli(d, "phone", "clear", uid=1001)
    assert r.returncode != 0 and "mfa disable" in r.stderr, r.stderr
    r = cli(d, "phone", "clear", "--user", "alice")
    assert r.returncode == 0 and d.db("SELECT count(*) FROM phone") == [(0,)], r.stderr
    ev = d.db("SELECT type, detail FROM events WHERE type IN ('phone_set', 'phone_verified', 'mfa_enrolled') ORDER BY id")
    assert ev == [("phone_set", "waiting for verification"), ("phone_verified", ""), ("mfa_enrolled", "texted codes"),
                  ("phone_set", "removed")], ev
    # Another user's number: admins only, the same answer for anyone else.
    r = cli(d, "phone", "set", NUMBER, "--user", "bob", uid=1001)
    assert r.returncode != 0 and "only admins" in r.stderr, r.stderr


@test
def numbers_and_gateways_that_cannot_work_are_refused(d):
    if not ROOT:
        return "SKIP needs root"
    for bad in ("4915112345678", "+0151", "+49 151 12345", "+49151123456789012", "+49151\u200b1234"):
        rtype, f = d.call(frame(OP_PHONE_SET, (T_USER, "alice"), (T_PHONE, bad)))
        assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 22, (bad, f)
    # Without a gateway, one's own number cannot be checked.
    r = cli(d, "phone", "set", NUMBER, uid=1001)
    assert r.returncode != 0 and "no SMS gateway is configured" in r.stderr, r.stderr
    for conf, why in (("sms_transport = command\nsms_command = send-sms\n", "absolute path"),
                      ("sms_transport = http\nsms_url = ftp://gw.example/\n", "https://"),
                      ("sms_transport = http\nsms_url = https://gw.example/\nsms_http_body = to={phone}\n",
                       "placeholder"),
                      ("sms_transport = http\nsms_url = http://gw.example/\nsms_http_user = a\n"
                       "sms_http_password_file = /etc/passwd\n", "in clear"),
                      ("sms_transport = carrier-pigeon\n", "none, command or http")):
        d.stop()
        d.write_conf(conf)
        d.start(expect_ready=False)
        assert d.wait() != 0, conf
        assert why in open(d.log).read(), (conf, open(d.log).read()[-400:])


if __name__ == "__main__":
    sys.exit(run_all(TESTS))
