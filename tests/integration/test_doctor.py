#!/usr/bin/env python3
"""acctsec doctor against pam.d directories, sshd_config files and sockets
written by the test; a real acctsecd for the daemon check.  Needs no root.
Prints TAP.  Needs ACCTSEC_BUILD_DIR; DOCTOR_VALGRIND=1 runs acctsec under
valgrind."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_daemon import Daemon  # noqa: E402  (the same nss_wrapper start)

BUILD = os.environ.get("ACCTSEC_BUILD_DIR") or sys.exit("set ACCTSEC_BUILD_DIR")
CLI = os.path.join(BUILD, "acctsec")

GOOD_AUTH = """\
auth  requisite                  pam_acctsec.so preauth
auth  [success=1 default=ignore] pam_unix.so nullok
auth  [default=die]              pam_acctsec.so authfail
auth  requisite                  pam_acctsec.so mfa
"""
GOOD_ACCOUNT = "account  required  pam_acctsec.so\naccount required pam_unix.so\n"
GOOD_PASSWORD = """\
password requisite pam_acctsec.so
password [success=1 default=ignore] pam_unix.so use_authtok yescrypt
password requisite pam_deny.so
password optional  pam_acctsec.so commit
"""
GOOD_SESSION = "session  optional  pam_acctsec.so\nsession required pam_unix.so\n"
GOOD = GOOD_AUTH + GOOD_ACCOUNT + GOOD_PASSWORD + GOOD_SESSION
MFA_LINE = "auth  requisite                  pam_acctsec.so mfa"
GOOD_SSHD = "UsePAM yes\nKbdInteractiveAuthentication yes\nAuthenticationMethods publickey,keyboard-interactive\n"
# the full stack's sshd: password and code in one conversation, no key
PASSWORD_SSHD = "UsePAM yes\nKbdInteractiveAuthentication yes\nAuthenticationMethods keyboard-interactive\n"
# sshd with keys plus a code (the brief's "preauth + mfa")
KEY_CODE_AUTH = "auth  requisite  pam_acctsec.so preauth\nauth  requisite  pam_acctsec.so mfa\n"
KEY_CODE = KEY_CODE_AUTH + GOOD_ACCOUNT


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="acctsec-doctor.")
        self.pam = os.path.join(self.dir, "pam.d")
        os.mkdir(self.pam)
        self.sshd = os.path.join(self.dir, "sshd_config")
        self.conf = os.path.join(self.dir, "acctsec.conf")
        self.write(self.sshd, GOOD_SSHD)
        self.write(self.conf, "")
        self.socket = os.path.join(self.dir, "no-daemon.sock")

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text)

    def service(self, name, text):
        self.write(os.path.join(self.pam, name), text)

    def run(self, *extra, json_out=False, socket=None, pam=True, env=None):
        argv = [CLI, "--socket", socket or self.socket, "--config", self.conf, "--sshd-config", self.sshd]
        if json_out:
            argv.append("--json")
        argv += ["doctor", "--module-dir", os.path.join(BUILD, ".libs")]
        if pam:
            argv += ["--pam-dir", self.pam]
        argv += list(extra)
        if os.environ.get("DOCTOR_VALGRIND"):  # memory errors exit 9
            argv = ["valgrind", "-q", "--leak-check=full", "--error-exitcode=9"] + argv
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode != 9, p.stderr
        return p.returncode, p.stdout, p.stderr

    def findings(self, *extra, socket=None, env=None):
        rc, out, err = self.run(*extra, json_out=True, socket=socket, env=env)
        return rc, json.loads(out)

    def stack(self, text, name="sshd"):
        """Write one service and return doctor's (exit status, JSON)."""
        self.service(name, text)
        return self.findings()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def problems(doc, area=None):
    return [f for f in doc["findings"] if f["severity"] == "problem" and (area is None or area in f["where"] or
                                                                          area in f["message"])]


def pam_problems(doc):
    """Problems outside the daemon check (the env has no daemon)."""
    return [f for f in doc["findings"] if f["severity"] == "problem" and f["check"] != "daemon"]


def one(doc, check, severity="problem"):
    hits = [f for f in doc["findings"] if f["check"] == check and f["severity"] == severity]
    assert len(hits) >= 1, (check, severity, json.dumps(doc, indent=1))
    return hits[0]


def test_good_stack(e):
    e.write(e.sshd, PASSWORD_SSHD)
    rc, doc = e.stack(GOOD)
    assert pam_problems(doc) == [], pam_problems(doc)
    assert not [f for f in doc["findings"] if f["severity"] == "warning" and f["check"].startswith(("auth", "pass"))]
    for check in ("auth-preauth", "auth-authfail", "auth-mfa", "auth-prompt", "account", "password-order", "options",
                  "sshd-usepam", "sshd-kbdint", "sshd-methods"):
        one(doc, check, "ok")
    assert not [f for f in doc["findings"] if f["check"] == "auth-code-alone"], doc
    # without a daemon the socket check is the only problem
    assert rc == 1 and [f["check"] for f in problems(doc)] == ["daemon"], doc


def test_good_stack_with_daemon(e):
    e.service("sshd", GOOD)
    d = Daemon()
    try:
        rc, out, err = e.run(socket=d.sock)
        assert rc == 0, (rc, out, err)
        assert "problem " not in out, out
        assert "ok       acctsecd answers" in out, out
        assert "0 problem(s)" in out, out
        # without --socket, the socket= of --config FILE
        e.write(e.conf, "socket = %s\n" % d.sock)
        argv = [CLI, "--config", e.conf, "--sshd-config", e.sshd, "doctor", "--pam-dir", e.pam,
                "--module-dir", os.path.join(BUILD, ".libs")]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and "acctsecd answers" in p.stdout, p.stdout
    finally:
        d.cleanup()


def test_admin_mfa_required_not_enrolled(e):
    if os.geteuid() != 0:
        return "SKIP only root (or an admin) may ask the daemon about others"
    e.service("sshd", GOOD)
    d = Daemon(conf="mfa = required\nadmin_group = wheel\n", start=False)
    try:
        with open(os.path.join(d.dir, "group"), "a") as f:
            f.write("wheel:x:10:alice\n")
        d.start()
        e.write(e.conf, "admin_group = wheel\n")
        rc, doc = e.findings(socket=d.sock, env=d.env())  # nss_wrapper: the same groups as the daemon
        assert rc == 1, doc
        one(doc, "admin-group", "ok")
        fixes = sorted(f["fix"] for f in doc["findings"] if f["check"] == "lockout-mfa-enrol")
        assert fixes == ["acctsec mfa enroll totp --user alice", "acctsec mfa enroll totp --user root"], doc
        one(doc, "daemon", "ok")
    finally:
        d.cleanup()


def test_no_daemon(e):
    e.service("sshd", GOOD)
    rc, out, err = e.run()
    assert rc == 1, (rc, out)
    assert "problem  no socket at " + e.socket in out, out
    assert "fix: systemctl enable --now acctsecd.socket" in out, out


def test_socket_not_answering(e):
    import socket
    e.service("sshd", GOOD)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(e.socket)  # bound, never listening: refused
    try:
        rc, doc = e.findings()
        f = one(doc, "daemon")
        assert "does not answer" in f["message"], f
        assert f["fix"] == "systemctl enable --now acctsecd.socket"
    finally:
        s.close()


def test_preauth_after_unix(e):
    rc, doc = e.stack("""\
auth  [success=1 default=ignore] pam_unix.so nullok
auth  requisite                  pam_acctsec.so preauth
auth  [default=die]              pam_acctsec.so authfail
auth  requisite                  pam_acctsec.so mfa
""" + GOOD_ACCOUNT)
    assert rc == 1
    f = [f for f in pam_problems(doc) if "preauth comes after the password module pam_unix.so" in f["message"]]
    assert f, doc
    assert f[0]["fix"] == 'move "auth requisite pam_acctsec.so preauth" above "pam_unix.so"', f
    assert f[0]["where"].endswith("/sshd:2"), f


def test_missing_account(e):
    rc, doc = e.stack(GOOD_AUTH + "account required pam_unix.so\n")
    assert rc == 1
    f = one(doc, "account")
    assert "public-key logins skip auth" in f["message"], f
    assert f["fix"] == "account required pam_acctsec.so", f


def test_sufficient_before_mfa(e):
    rc, doc = e.stack("""\
auth  requisite                  pam_acctsec.so preauth
auth  sufficient                 pam_unix.so nullok
auth  [default=die]              pam_acctsec.so authfail
auth  requisite                  pam_acctsec.so mfa
""" + GOOD_ACCOUNT)
    assert rc == 1
    f = one(doc, "auth-skip-mfa")
    assert '"auth sufficient pam_unix.so nullok" ends the stack on success before "pam_acctsec.so mfa"' in \
        f["message"], f
    assert "the second factor is never asked" in f["message"]
    assert "[success=1 default=ignore] pam_unix.so" in f["fix"], f
    assert f["where"].endswith("/sshd:2"), f


def test_wrong_skip_count(e):
    rc, doc = e.stack("""\
auth  requisite                  pam_acctsec.so preauth
auth  [success=2 default=ignore] pam_unix.so nullok
auth  [default=die]              pam_acctsec.so authfail
auth  requisite                  pam_acctsec.so mfa
auth  required                   pam_permit.so
""" + GOOD_ACCOUNT)
    assert rc == 1
    f = one(doc, "auth-skip-count")
    assert 'success=2 on pam_unix.so jumps over "auth requisite pam_acctsec.so mfa" as well as authfail' in \
        f["message"], f
    assert "auth [success=1 default=ignore] pam_unix.so" in f["fix"], f
    # the jump also skips the second factor
    one(doc, "auth-skip-mfa")


DEBIAN_AUTH = """\
auth  requisite                  pam_acctsec.so preauth
auth  [success=2 default=ignore] pam_unix.so nullok
auth  [default=die]              pam_acctsec.so authfail
auth  requisite                  pam_deny.so
auth  required                   pam_permit.so
auth  requisite                  pam_acctsec.so mfa
"""


def test_debian_common_auth_layout(e):
    # pam-auth-update's shape: the jump also passes pam_deny; su's pam_rootok is intended
    e.service("common-auth", DEBIAN_AUTH)
    e.service("common-account", GOOD_ACCOUNT)
    e.service("su", "auth sufficient pam_rootok.so\n@include common-auth\n@include common-account\n")
    rc, doc = e.findings()
    assert pam_problems(doc) == [], pam_problems(doc)
    one(doc, "auth-authfail", "ok")
    # one line short: the jump lands on pam_deny
    e.service("common-auth", DEBIAN_AUTH.replace("success=2", "success=1"))
    rc, doc = e.findings()
    f = one(doc, "auth-skip-count")
    assert 'lands on "auth requisite pam_deny.so": every right password is refused' in f["message"], f


def test_authsucc_before_mfa(e):
    rc, doc = e.stack(GOOD.replace(MFA_LINE,
                                   "auth required pam_acctsec.so authsucc\nauth requisite pam_acctsec.so mfa"))
    assert rc == 1
    f = one(doc, "auth-authsucc")
    assert "clears the failure count before every guess" in f["message"], f
    assert f["fix"] == 'remove "auth required pam_acctsec.so authsucc": the mfa line takes its place', f
    # the README's stack without mfa: authsucc right after authfail is fine
    rc, doc = e.stack(GOOD.replace(MFA_LINE,
                                   "auth required pam_acctsec.so authsucc"))
    assert pam_problems(doc) == [], doc


def test_requisite_password_never_counts(e):
    rc, doc = e.stack(GOOD_AUTH.replace("[success=1 default=ignore] pam_unix.so", "requisite pam_unix.so")
              + GOOD_ACCOUNT)
    assert rc == 1
    f = one(doc, "auth-skip-count")
    assert "a wrong password ends the stack before authfail counts it" in f["message"], f


def test_no_authfail(e):
    rc, doc = e.stack("auth requisite pam_acctsec.so preauth\nauth required pam_unix.so\n"
              "auth requisite pam_acctsec.so mfa\n" + GOOD_ACCOUNT)
    assert rc == 1
    f = one(doc, "auth-authfail")
    assert "wrong passwords are not counted" in f["message"], f


def test_unknown_option(e):
    rc, doc = e.stack(GOOD.replace("pam_acctsec.so preauth", "pam_acctsec.so preauth denny=5"))
    assert rc == 1
    f = one(doc, "options")
    assert 'argument "denny=5"' in f["message"], f
    assert f["fix"] == 'remove or correct "denny=5" (see pam_acctsec(8))', f
    # a valid option is fine
    rc, doc = e.stack(GOOD.replace("pam_acctsec.so preauth", "pam_acctsec.so preauth deny=5 silent"))
    one(doc, "options", "ok")
    assert not [f for f in pam_problems(doc)], doc


def test_include_chain_good(e):
    e.service("common-auth", GOOD_AUTH)
    e.service("common-account", GOOD_ACCOUNT)
    e.service("common-password", GOOD_PASSWORD)
    e.service("common-session", "# comment\n" + GOOD_SESSION)
    e.service("sshd", "@include common-auth\n@include common-account\n"
              "password include common-password\nsession substack common-session\n")
    e.service("other", "auth required pam_deny.so\n")
    rc, doc = e.findings()
    assert pam_problems(doc) == [], pam_problems(doc)
    one(doc, "auth-mfa", "ok")
    one(doc, "account", "ok")
    # the common-* files are parts, not services: not judged on their own
    assert not [f for f in doc["findings"] if "common-auth:" in f["message"][:14]], doc


def test_include_chain_broken(e):
    e.service("common-auth", """\
auth  requisite                  pam_acctsec.so preauth
auth  sufficient                 pam_unix.so nullok
auth  requisite                  pam_deny.so
""")
    e.service("sshd", "@include common-auth\nauth requisite pam_acctsec.so mfa\n@include common-account\n")
    e.service("common-account", "account required pam_unix.so\n")
    rc, doc = e.findings()
    assert rc == 1
    f = one(doc, "auth-skip-mfa")
    assert f["where"].endswith("/common-auth:2"), f
    assert f["message"].startswith("sshd: "), f
    one(doc, "account")
    one(doc, "auth-authfail")


def test_substack_fedora_layout(e):
    # Fedora: sshd runs password-auth as a substack; its "sufficient pam_unix" ends only the substack,
    # so the mfa line in sshd still runs
    e.service("password-auth", """\
auth  requisite      pam_acctsec.so preauth
auth  sufficient     pam_unix.so nullok
auth  [default=die]  pam_acctsec.so authfail
auth  required       pam_deny.so
""")
    rc, doc = e.stack("auth substack password-auth\nauth requisite pam_acctsec.so mfa\n"
              "account required pam_acctsec.so\naccount include password-auth\n")
    assert pam_problems(doc) == [], pam_problems(doc)
    one(doc, "auth-mfa", "ok")
    # the same lines included instead: the sufficient line ends the whole stack before mfa
    rc, doc = e.stack("auth include password-auth\nauth requisite pam_acctsec.so mfa\n"
              "account required pam_acctsec.so\n")
    f = one(doc, "auth-skip-mfa")
    assert f["where"].endswith("/password-auth:2"), f
    # a jump in the parent counts a substack as one line
    e.service("common-auth", "auth requisite pam_permit.so\nauth requisite pam_permit.so\n")
    rc, doc = e.stack("auth requisite pam_acctsec.so preauth\n"
              "auth [success=2 default=ignore] pam_unix.so\nauth [default=die] pam_acctsec.so authfail\n"
              "auth substack common-auth\nauth requisite pam_acctsec.so mfa\naccount required pam_acctsec.so\n")
    f = one(doc, "auth-skip-count")
    assert 'jumps over "auth requisite pam_permit.so" as well as authfail' in f["message"], f
    assert not [x for x in doc["findings"] if x["check"] == "auth-skip-mfa"], doc


def test_token_sufficient_warns(e):
    e.service("imap", "auth sufficient pam_acctsec.so token\n" + GOOD)
    rc, doc = e.findings()
    f = one(doc, "auth-token", "warning")
    assert f["fix"] == "auth [success=done ignore=ignore default=die] pam_acctsec.so token", f
    assert pam_problems(doc) == [], doc
    e.service("imap", "auth [success=done ignore=ignore default=die] pam_acctsec.so token\n" + GOOD)
    rc, doc = e.findings()
    one(doc, "auth-token", "ok")


def test_parser_continuations_and_brackets(e):
    rc, doc = e.stack("auth requisite pam_acctsec.so \\\n  preauth # a comment\n"
              "-auth [success=1 \\\n default=ignore] pam_unix.so\n"
              "auth [default=die] pam_acctsec.so authfail\n"
              "AUTH Requisite %s mfa [socket=/run/acctsec/acctsecd.sock]\n" % os.path.abspath(
                  os.path.join(BUILD, ".libs", "pam_acctsec.so"))
              + GOOD_ACCOUNT + "garbage\n" + "x" * 9000 + "\n")
    assert pam_problems(doc) == [], pam_problems(doc)
    one(doc, "auth-authfail", "ok")
    one(doc, "auth-mfa", "ok")
    warnings = [f["message"] for f in doc["findings"] if f["check"] == "pam-parse"]
    assert any("not a PAM rule" in w for w in warnings), warnings
    assert any("line longer than" in w for w in warnings), warnings


def test_module_missing_or_optional(e):
    rc, doc = e.stack(GOOD.replace(MFA_LINE,
                                   "-auth requisite pam_acctsec.so mfa"))
    assert rc == 1
    f = one(doc, "module")
    assert "acctsec would fail open" in f["message"] and f["where"].endswith("/sshd:4"), f
    assert f["fix"] == 'remove the "-" before the type: auth requisite pam_acctsec.so mfa', f
    rc, doc = e.stack(GOOD.replace(MFA_LINE,
                                   "auth requisite /nonexistent/pam_acctsec.so mfa"))
    f = one(doc, "module")
    assert "no module at /nonexistent/pam_acctsec.so" in f["message"], f


def test_control_typo(e):
    rc, doc = e.stack(GOOD.replace("[success=1 default=ignore] pam_unix.so nullok",
                                   "[sucess=1 default=ignore] pam_unix.so nullok"))
    assert rc == 1
    f = [x for x in pam_problems(doc) if x["check"] == "pam-parse"]
    assert f and 'unknown control "[sucess=1 default=ignore]"' in f[0]["message"], doc


def test_hostile_input(e):
    e.service("sshd", "auth requisite pam_acctsec.so preauth\nauth " + "[" * 5000 + "\n\\\n\\\xff\n" + "@include\n@include sshd\n"
              "auth include sshd\n" + "auth [success=99999999999 default=x] pam_unix.so\n" * 50 + "\x00 tail")
    rc, out, err = e.run()
    assert rc in (0, 1), (rc, err)
    assert "nested deeper" in out, out


def test_password_order(e):
    e.service("passwd", GOOD_AUTH + GOOD_ACCOUNT + """\
password [success=1 default=ignore] pam_unix.so use_authtok yescrypt
password requisite pam_acctsec.so
password optional  pam_acctsec.so commit
""")
    rc, doc = e.findings()
    assert rc == 1
    f = one(doc, "password-order")
    assert "the policy line comes after pam_unix.so" in f["message"], f


def test_sshd_usepam_no(e):
    e.service("sshd", GOOD)
    e.write(e.sshd, "UsePAM no\n")
    rc, doc = e.findings()
    assert rc == 1
    f = one(doc, "sshd-usepam")
    assert f["fix"] == "UsePAM yes", f
    w = one(doc, "sshd-methods", "warning")
    assert w["fix"] == "AuthenticationMethods publickey,keyboard-interactive", w


def test_sshd_include_and_kbdint(e):
    e.service("sshd", GOOD)
    os.mkdir(os.path.join(e.dir, "sshd_config.d"))
    e.write(os.path.join(e.dir, "sshd_config.d", "10-acctsec.conf"), "KbdInteractiveAuthentication no\n")
    e.write(e.sshd, "Include sshd_config.d/*.conf\nUsePAM yes\nMatch User x\n  UsePAM no\n")
    rc, doc = e.findings()
    f = one(doc, "sshd-kbdint")
    assert "KbdInteractiveAuthentication is no" in f["message"], f
    one(doc, "sshd-usepam", "ok")


def test_sshd_without_acctsec(e):
    # acctsec only for sudo: sshd's settings are not acctsec's problems
    rc, doc = e.stack(GOOD, name="sudo")
    e.service("sshd", "auth required pam_unix.so\n")
    e.write(e.sshd, "UsePAM no\n")
    rc, doc = e.findings()
    one(doc, "sshd-usepam", "warning")
    one(doc, "sshd-pam", "warning")
    assert pam_problems(doc) == [], doc


def test_sshd_missing(e):
    e.service("sshd", GOOD)
    os.unlink(e.sshd)
    rc, doc = e.findings()
    f = one(doc, "sshd", "info")
    assert "sshd checks skipped" in f["message"], f


def test_lockout_risks(e):
    e.service("sshd", GOOD)
    e.write(e.conf, "even_deny_root = yes\nunlock_time = 0\nadmin_group = no-such-group-acctsec\n")
    rc, doc = e.findings()
    assert rc == 1
    f = one(doc, "lockout-root", "warning")
    assert "even_deny_root = no" in f["fix"], f
    assert "the console's login service does not use pam_acctsec.so" in f["message"], f
    # with the console protected too, a lock until an admin unlocks it is a problem
    e.service("login", GOOD)
    rc, doc = e.findings()
    f = one(doc, "lockout-root")
    assert "until an admin unlocks it, and root is the admin" in f["message"], f
    g = one(doc, "admin-group")
    assert "no such group" in g["message"], g
    e.write(e.conf, "even_deny_root = no\n")
    rc, doc = e.findings()
    one(doc, "lockout-root", "ok")
    e.write(e.conf, "failmode = open\n")
    rc, doc = e.findings()
    assert one(doc, "failmode", "warning")["fix"] == "failmode = secure (the default)"
    rc, doc = e.stack(GOOD.replace("pam_acctsec.so preauth", "pam_acctsec.so preauth failmode=open"))
    f = [x for x in doc["findings"] if x["check"] == "failmode" and x["where"].endswith("/sshd:1")]
    assert f and f[0]["severity"] == "warning", doc
    e.write(e.conf, "denny = 3\n")
    rc, doc = e.findings()
    one(doc, "config")


def test_json_and_usage(e):
    e.service("sshd", GOOD)
    rc, out, err = e.run(json_out=True)
    doc = json.loads(out)
    assert doc["problems"] == len(problems(doc)) and doc["warnings"] >= 0, doc
    assert all(set(f) == {"severity", "check", "where", "message", "fix"} for f in doc["findings"]), doc
    rc, out, err = e.run("extra", pam=True)
    assert rc == 2, (rc, out, err)
    rc, out, err = e.run("--pam-file", os.path.join(e.pam, "sshd"))
    assert rc == 2 and "not both" in err, (rc, err)
    rc, out, err = e.run("--pam-file", os.path.join(e.pam, "sshd"), pam=False)
    assert "ok       sshd: auth: mfa after the password step" in out, out


def of(doc, service, check, severity=None):
    """The findings of one check about one service."""
    return [f for f in doc["findings"] if f["check"] == check and f["message"].startswith(service + ": ")
            and (severity is None or f["severity"] == severity)]


CODE_ALONE_FIX = "AuthenticationMethods publickey,keyboard-interactive (or a password module before mfa)"


def test_key_code_stack_publickey_first(e):
    # the brief's sshd with keys plus a code: fine, and no line claims a password step
    rc, doc = e.stack(KEY_CODE)
    assert pam_problems(doc) == [], pam_problems(doc)
    f = one(doc, "auth-code-alone", "ok")
    assert "sshd asks another method before the code (AuthenticationMethods publickey,keyboard-interactive)" in \
        f["message"], f
    assert one(doc, "auth-mfa", "ok")["message"] == \
        "sshd: auth: nothing skips the mfa line (the stack asks for no password)"
    assert "password step" not in one(doc, "auth-preauth", "ok")["message"], doc
    assert not [x for x in doc["findings"] if "after the password step" in x["message"]], doc
    assert "(the code)" in one(doc, "auth-prompt", "ok")["message"], doc
    one(doc, "sshd-methods", "ok")


CODE_ALONE_SSHD = [
    ("UsePAM yes\n", "keyboard-interactive alone log in (AuthenticationMethods not set; password "
     "authentication too, which gives the password to the code prompt)"),
    ("UsePAM yes\nPasswordAuthentication no\nAuthenticationMethods any\n",
     "keyboard-interactive alone log in (AuthenticationMethods any)"),
    ("UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n"
     "AuthenticationMethods keyboard-interactive:pam\n",
     "keyboard-interactive alone log in (AuthenticationMethods keyboard-interactive:pam)"),
    ("UsePAM yes\nChallengeResponseAuthentication yes\n"
     "AuthenticationMethods publickey,keyboard-interactive keyboard-interactive\n",
     "keyboard-interactive alone log in (AuthenticationMethods publickey,keyboard-interactive "
     "keyboard-interactive)"),
    ("UsePAM yes\nKbdInteractiveAuthentication no\nAuthenticationMethods publickey,keyboard-interactive password\n",
     "password authentication alone log in (AuthenticationMethods publickey,keyboard-interactive password; "
     "sshd gives the password to the code prompt)"),
]


def test_key_code_stack_code_alone(e):
    for conf, how in CODE_ALONE_SSHD:
        e.write(e.sshd, conf)
        rc, doc = e.stack(KEY_CODE)
        assert rc == 1, (conf, doc)
        f = one(doc, "auth-code-alone")
        assert f["message"] == "sshd: auth: sshd lets %s, and its auth stack asks for no password: enrolled users " \
            "log in with a one-time code alone (users without a second factor are refused)" % how, (conf, f)
        assert f["fix"] == CODE_ALONE_FIX and f["where"].endswith("/sshd:2"), f
        # which prompt is right depends on the fix chosen
        assert not [x for x in doc["findings"] if x["check"] == "auth-prompt"], doc
    # sshd_config unreadable or missing: cannot tell, so a warning
    os.unlink(e.sshd)
    rc, doc = e.stack(KEY_CODE)
    f = one(doc, "auth-code-alone", "warning")
    assert "was not read: unless AuthenticationMethods puts another method (publickey) first" in f["message"], f
    assert f["fix"] == CODE_ALONE_FIX, f


def test_key_code_stack_not_code_alone(e):
    for conf in (GOOD_SSHD,
                 "UsePAM yes\nAuthenticationMethods publickey,keyboard-interactive:pam\n",
                 "UsePAM yes\nAuthenticationMethods keyboard-interactive,publickey\n",
                 # a list naming a disabled method is skipped by sshd
                 "UsePAM yes\nPasswordAuthentication no\nAuthenticationMethods publickey,keyboard-interactive "
                 "keyboard-interactive,password\n",
                 # no PAM: sshd-usepam's problem, not this one
                 "UsePAM no\n"):
        e.write(e.sshd, conf)
        rc, doc = e.stack(KEY_CODE)
        assert not [f for f in doc["findings"] if f["check"] == "auth-code-alone" and f["severity"] != "ok"], \
            (conf, doc)
    # a password module makes it a password login, whatever sshd allows
    e.write(e.sshd, "UsePAM yes\n")
    rc, doc = e.stack(GOOD)
    assert not [f for f in doc["findings"] if f["check"] == "auth-code-alone"], doc
    rc, doc = e.stack(KEY_CODE_AUTH.replace("auth  requisite  pam_acctsec.so mfa",
                                            "auth required pam_example_password.so\nauth requisite pam_acctsec.so mfa")
                      + GOOD_ACCOUNT)
    assert not [f for f in doc["findings"] if f["check"] == "auth-code-alone"], doc
    assert "after the password step (pam_example_password.so)" in one(doc, "auth-mfa", "ok")["message"], doc


def test_code_alone_outside_sshd(e):
    # preauth succeeds and mfa asks a user without a factor nothing: the stack lets them in
    rc, doc = e.stack(KEY_CODE, name="sudo")
    f = of(doc, "sudo", "auth-code-alone", "problem")
    assert f and f[0]["message"] == "sudo: auth: the stack asks for no password: users without a second factor " \
        "log in with nothing at all (mfa = optional: preauth lets them on and mfa has nothing to ask), enrolled " \
        "users with a one-time code alone", doc
    assert f[0]["where"].endswith("/sudo:2"), f
    assert f[0]["fix"] == "a password module and authfail between preauth and mfa (see pam_acctsec(8))", f
    # a code alone may be meant where a factor is required: from the file, its service section or the line
    refused = "sudo: auth: the stack asks for no password: enrolled users log in with a one-time code alone " \
        "(users without a second factor are refused: mfa = required)"
    for conf, stack in (("mfa = required\n", KEY_CODE),
                        ("[service sudo]\nmfa = required\n", KEY_CODE),
                        ("", KEY_CODE.replace("pam_acctsec.so mfa", "pam_acctsec.so mfa mfa=required"))):
        e.write(e.conf, conf)
        rc, doc = e.stack(stack, name="sudo")
        f = of(doc, "sudo", "auth-code-alone", "warning")
        assert f and f[0]["message"] == refused, (conf, doc)
        assert not of(doc, "sudo", "auth-code-alone", "problem"), doc
    # another service's section does not count; mfa=off lets everyone in
    e.write(e.conf, "[service login]\nmfa = required\n")
    rc, doc = e.stack(KEY_CODE, name="sudo")
    assert of(doc, "sudo", "auth-code-alone", "problem"), doc
    e.write(e.conf, "")
    rc, doc = e.stack(KEY_CODE.replace("pam_acctsec.so mfa", "pam_acctsec.so mfa mfa=off"), name="sudo")
    f = of(doc, "sudo", "auth-code-alone", "problem")
    assert f and "and mfa = off: everyone logs in with nothing at all" in f[0]["message"], doc
    # modules that ask nothing are no password step
    rc, doc = e.stack("auth required pam_env.so\nauth optional pam_faildelay.so delay=2000000\n" + KEY_CODE,
                      name="login")
    f = of(doc, "login", "auth-code-alone", "problem")
    assert f and f[0]["where"].endswith("/login:4"), doc
    # no line gives the stack a success: nobody without a factor gets in
    rc, doc = e.stack("auth requisite pam_acctsec.so mfa\n" + GOOD_ACCOUNT, name="login")
    f = of(doc, "login", "auth-code-alone", "warning")
    assert f and f[0]["message"].endswith("(users without a second factor are refused: no line gives the stack a "
                                          "success)"), doc


def test_prompt_code_first(e):
    # no password step between preauth and mfa: prompt=auto asks for a password outside sshd
    rc, doc = e.stack(KEY_CODE, name="sudo")
    f = of(doc, "sudo", "auth-prompt", "warning")
    assert f and f[0]["message"] == "sudo: auth: a locked user would be asked for a password that nobody else is " \
        "asked for (prompt=auto, the default, asks for the password outside sshd; the stack asks for the code " \
        "first)", doc
    assert f[0]["fix"] == "add prompt=code: auth requisite pam_acctsec.so preauth prompt=code", f
    assert f[0]["where"].endswith("/sudo:1"), f
    rc, doc = e.stack(KEY_CODE.replace("preauth", "preauth prompt=code"), name="sudo")
    assert of(doc, "sudo", "auth-prompt", "ok") and not of(doc, "sudo", "auth-prompt", "warning"), doc
    os.unlink(os.path.join(e.pam, "sudo"))
    # sshd after publickey: auto asks for the code; an explicit password does not
    rc, doc = e.stack(KEY_CODE)
    one(doc, "auth-prompt", "ok")
    rc, doc = e.stack(KEY_CODE.replace("preauth", "preauth prompt=password debug"))
    f = one(doc, "auth-prompt", "warning")
    assert "(prompt=password; the stack asks for the code first)" in f["message"], f
    assert f["fix"] == "add prompt=code: auth requisite pam_acctsec.so preauth debug prompt=code", f
    # the configuration file's prompt counts too
    e.write(e.conf, "prompt = password\n")
    rc, doc = e.stack(KEY_CODE)
    assert "(prompt=password;" in one(doc, "auth-prompt", "warning")["message"], doc
    e.write(e.conf, "")
    # keyboard-interactive before the key: auto asks for the password
    e.write(e.sshd, "UsePAM yes\nAuthenticationMethods keyboard-interactive,publickey\n")
    rc, doc = e.stack(KEY_CODE)
    f = one(doc, "auth-prompt", "warning")
    assert "prompt=auto, the default, asks for the password where keyboard-interactive comes first: " \
        "AuthenticationMethods keyboard-interactive,publickey" in f["message"], f
    # mfa before the password module: auth-order's fix decides which prompt is first
    rc, doc = e.stack(KEY_CODE_AUTH + "auth [success=1 default=ignore] pam_unix.so\n"
                      "auth [default=die] pam_acctsec.so authfail\n" + GOOD_ACCOUNT, name="login")
    assert of(doc, "login", "auth-order", "problem") and not of(doc, "login", "auth-prompt"), doc


def test_prompt_password_first(e):
    # a password step after preauth, and sshd runs keyboard-interactive after publickey: auto asks for a code
    rc, doc = e.stack(GOOD)
    f = one(doc, "auth-prompt", "warning")
    assert f["message"] == "sshd: auth: a locked user would be asked for a verification code where others are " \
        "asked for the password (prompt=auto, the default, asks for a code where sshd runs keyboard-interactive " \
        "after another method: AuthenticationMethods publickey,keyboard-interactive)", f
    assert f["fix"] == "add prompt=password: auth requisite pam_acctsec.so preauth prompt=password", f
    assert f["where"].endswith("/sshd:1"), f
    rc, doc = e.stack(GOOD.replace("preauth", "preauth prompt=password"))
    one(doc, "auth-prompt", "ok")
    e.write(e.sshd, PASSWORD_SSHD)
    rc, doc = e.stack(GOOD)
    assert "(the password)" in one(doc, "auth-prompt", "ok")["message"], doc
    # outside sshd auto is the password; an explicit code is not
    rc, doc = e.stack(GOOD.replace("preauth", "preauth prompt=code"), name="login")
    f = of(doc, "login", "auth-prompt", "warning")
    assert f and "asked for a verification code where others are asked for the password (prompt=code)" in \
        f[0]["message"], doc


def test_new_options_accepted(e):
    rc, doc = e.stack(GOOD.replace("pam_acctsec.so preauth", "pam_acctsec.so preauth prompt=password "
                                   "private_socket=/run/acctsec/private/acctsecd.sock"))
    one(doc, "options", "ok")
    assert not [f for f in doc["findings"] if f["check"] == "options" and f["severity"] != "ok"], doc
    rc, doc = e.stack(GOOD.replace("pam_acctsec.so preauth", "pam_acctsec.so preauth prompt=sometimes"))
    assert 'argument "prompt=sometimes"' in one(doc, "options")["message"], doc


def test_private_socket_missing(e):
    e.service("sshd", GOOD)
    rc, doc = e.findings()
    f = one(doc, "daemon-private", "warning")
    assert f["where"] == os.path.join(e.dir, "private", "no-daemon.sock"), f
    assert f["message"] == "no private socket at %s: root's logins share the socket with local users, who can " \
        "delay them" % f["where"], f
    assert f["fix"] == "systemctl enable --now acctsecd-private.socket", f
    # without --socket: the configuration's socket and private_socket
    e.write(e.conf, "socket = %s/shared.sock\nprivate_socket = %s/root/r.sock\n" % (e.dir, e.dir))
    argv = [CLI, "--json", "--config", e.conf, "--sshd-config", e.sshd, "doctor", "--pam-dir", e.pam,
            "--module-dir", os.path.join(BUILD, ".libs")]
    doc = json.loads(subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout)
    assert one(doc, "daemon-private", "warning")["where"] == e.dir + "/root/r.sock", doc
    assert one(doc, "daemon")["where"] == e.dir + "/shared.sock", doc


def test_private_socket_not_root_only(e):
    import socket
    if os.geteuid() != 0:
        return "SKIP root's private socket belongs to root"
    e.service("sshd", GOOD)
    pdir = os.path.join(e.dir, "private")
    path = os.path.join(pdir, "no-daemon.sock")
    os.mkdir(pdir, 0o700)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    try:
        os.chmod(path, 0o600)
        assert one(e.findings()[1], "daemon-private", "ok")["message"] == \
            "root's private socket %s: root's alone" % path
        fix = "remove it, then systemctl restart acctsecd-private.socket (root's socket, mode 0600, in a 0700 directory)"
        for change, why in ((lambda: os.chmod(path, 0o660), "%s has mode 0660: local users can reach it" % path),
                            (lambda: os.chown(path, 1001, 0), "%s belongs to uid 1001, not root: root's logins "
                             "refuse it" % path),
                            (lambda: os.chmod(pdir, 0o777), "%s has mode 0777: others can replace the socket" % pdir),
                            (lambda: os.chown(pdir, 1001, 0), "%s belongs to uid 1001, not root: that user can "
                             "replace the socket" % pdir)):
            os.chmod(path, 0o600), os.chown(path, 0, 0), os.chmod(pdir, 0o700), os.chown(pdir, 0, 0)
            change()
            f = one(e.findings()[1], "daemon-private")
            assert f["message"].startswith(why) and f["fix"] == fix, (why, f)
    finally:
        s.close()
    os.unlink(path)
    with open(path, "w"):
        pass
    assert one(e.findings()[1], "daemon-private")["message"] == "%s is not a socket" % path


def test_private_socket_with_daemon(e):
    e.service("sshd", GOOD)
    d = Daemon()
    try:
        private = os.path.join(d.dir, "private", "sock")
        rc, doc = e.findings(socket=d.sock)
        f = one(doc, "daemon", "ok")
        if os.geteuid() == 0:  # root's clients use the private socket
            one(doc, "daemon-private", "ok")
            assert f["where"] == private and f["message"].endswith(
                "at %s, root's private socket; it checked its database at start" % private), f
        else:
            assert f["where"] == d.sock and "the shared socket" in f["message"], f
        # the daemon without its private socket: root shares the other one
        os.unlink(private)
        rc, doc = e.findings(socket=d.sock)
        assert one(doc, "daemon-private", "warning")["where"] == private, doc
        f = one(doc, "daemon", "ok")
        assert f["where"] == d.sock and f["message"].endswith(
            "at %s, the shared socket; it checked its database at start" % d.sock), f
    finally:
        d.cleanup()


def test_sms_gateway(e):
    """An SMS gateway without TLS, a missing program, a secret others can read."""
    e.service("sshd", GOOD)
    e.write(e.conf, "sms_transport = http\nsms_url = http://sms.example.net/send\n")
    rc, doc = e.findings()
    f = one(doc, "sms-tls")
    assert rc == 1 and "travel unencrypted across the network" in f["message"] and "https://" in f["fix"], f
    e.write(e.conf, "sms_transport = http\nsms_url = http://127.0.0.1:8080/send\n")
    rc, doc = e.findings()
    assert "(to this host)" in one(doc, "sms-tls", "warning")["message"], doc
    secret = os.path.join(e.dir, "sms.secret")
    e.write(secret, "k\n")
    os.chmod(secret, 0o644)
    e.write(e.conf, "sms_transport = http\nsms_url = https://sms.example.net/send\nsms_http_user = a\n"
                    "sms_http_password_file = %s\n" % secret)
    rc, doc = e.findings()
    one(doc, "sms-tls", "ok")
    assert "is not root's alone" in one(doc, "sms-secret")["message"] or os.geteuid() != 0, doc
    e.write(e.conf, "sms_transport = command\nsms_command = %s/no-such-gateway --x\n" % e.dir)
    rc, doc = e.findings()
    assert "is not an executable program" in one(doc, "sms-gateway")["message"], doc
    e.write(e.conf, "sms_transport = command\nsms_command = /bin/true --x\n")
    rc, doc = e.findings()
    one(doc, "sms-gateway", "ok")
    e.write(e.conf, "")
    rc, doc = e.findings()
    assert not [f for f in doc["findings"] if f["check"].startswith("sms-")], "no SMS, no SMS findings"


RECOVER_AUTH = """\
auth  requisite                  pam_acctsec.so preauth
auth  [success=2 ignore=ignore default=die] pam_acctsec.so recover
auth  [success=1 default=ignore] pam_unix.so nullok try_first_pass
auth  [default=die]              pam_acctsec.so authfail
auth  requisite                  pam_acctsec.so mfa
"""


def test_recover_line(e):
    """The recover line: before pam_unix try_first_pass, a right code on to
    mfa, a wrong one ending the stack, the policy line in password; and
    recovery for admins is a warning."""
    e.write(e.sshd, PASSWORD_SSHD)
    rc, doc = e.stack(RECOVER_AUTH + GOOD_ACCOUNT + GOOD_PASSWORD + GOOD_SESSION)
    one(doc, "auth-recover", "ok")
    assert not pam_problems(doc), pam_problems(doc)  # (the daemon check is the only problem: no daemon here)
    assert not [f for f in doc["findings"] if f["severity"] == "warning" and f["check"].startswith("auth")], doc
    rc, doc = e.stack(RECOVER_AUTH.replace(" try_first_pass", "") + GOOD_ACCOUNT + GOOD_PASSWORD)
    assert "every password is asked twice" in one(doc, "auth-recover")["message"], doc
    rc, doc = e.stack(RECOVER_AUTH.replace("success=2 ignore=ignore", "success=done ignore=ignore") + GOOD_ACCOUNT
                      + GOOD_PASSWORD)
    assert "must jump to the mfa line" in one(doc, "auth-recover")["message"], doc
    rc, doc = e.stack(RECOVER_AUTH.replace("default=die] pam_acctsec.so recover", "default=ignore] pam_acctsec.so "
                                           "recover") + GOOD_ACCOUNT + GOOD_PASSWORD)
    assert "must jump to the mfa line" in one(doc, "auth-recover")["message"], doc
    rc, doc = e.stack(RECOVER_AUTH + GOOD_ACCOUNT + GOOD_SESSION)
    assert "no pam_acctsec.so policy line in password" in one(doc, "auth-recover")["message"], doc
    lines = RECOVER_AUTH.splitlines(True)
    rc, doc = e.stack(lines[0] + lines[2] + lines[1] + "".join(lines[3:]) + GOOD_ACCOUNT + GOOD_PASSWORD)
    assert "does not come before a password module" in one(doc, "auth-recover")["message"], doc
    e.write(e.conf, "password_recovery_admins = yes\n")
    rc, doc = e.stack(RECOVER_AUTH + GOOD_ACCOUNT + GOOD_PASSWORD)
    assert "admin's password" in one(doc, "recovery-admins", "warning")["message"], doc
MAKE_MMDB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "make_mmdb.pl")


def test_geoip_database(e):
    """geoip_database: nothing said without one; a missing file or one that
    is not a database is a problem; a database built more than 60 days ago
    a warning; a fresh one ok."""
    e.service("sshd", GOOD)
    rc, doc = e.findings()
    assert not [f for f in doc["findings"] if f["check"] == "geoip"], doc
    db = os.path.join(e.dir, "city.mmdb")
    e.write(e.conf, "geoip_database = %s\n" % db)
    f = one(e.findings()[1], "geoip")
    assert f["where"] == db and "No such file or directory" in f["message"], f
    assert "acctsecd runs without location" in f["message"] and "GeoLite2-City or DB-IP" in f["fix"], f
    e.write(db, "not a database\n")
    f = one(e.findings()[1], "geoip")
    assert "not a MaxMind DB file" in f["message"], f
    if subprocess.run(["perl", "-MMaxMind::DB::Writer::Tree", "-e", "1"], capture_output=True).returncode != 0:
        return "SKIP the rest needs Perl's MaxMind::DB::Writer (Debian: libmaxmind-db-writer-perl)"
    subprocess.run(["perl", MAKE_MMDB, db, "1000000000"], check=True)  # 2001-09-09
    f = one(e.findings()[1], "geoip", "warning")
    assert "was built on 2001-09-09, more than 60 days ago" in f["message"] and "geoipupdate" in f["fix"], f
    subprocess.run(["perl", MAKE_MMDB, db], check=True)
    rc, doc = e.findings()
    f = one(doc, "geoip", "ok")
    assert f["message"].startswith("geoip_database %s: GeoLite2-City, built on " % db), f
    assert not [x for x in doc["findings"] if x["check"] == "geoip" and x["severity"] != "ok"], doc
def test_relief_settings(e):
    """Second-factor relief: a skip network wider than /8 (in any section)
    is a problem; remember_device with no allowlist anywhere remembers
    nothing, a warning that a config allowlist or the daemon's global list
    silences."""
    e.service("sshd", GOOD)
    e.write(e.conf, "mfa_skip_networks = 10.1.0.0/16,LOCAL\n[service sshd]\nmfa_skip_networks = 0.0.0.0/0\n"
                    "[group staff]\nmfa_skip_networks = 2001:db8::/32,::/0,172.0.0.0/7\n")
    rc, doc = e.findings()
    hits = [f for f in doc["findings"] if f["check"] == "mfa-skip-networks"]
    assert [(f["where"].rsplit(":", 1)[1], f["message"].split(": ")[0]) for f in hits] == [
        ("3", "mfa_skip_networks holds 0.0.0.0/0"), ("5", "mfa_skip_networks holds ::/0"),
        ("5", "mfa_skip_networks holds 172.0.0.0/7")], hits
    assert all(f["severity"] == "problem" and "need only the password" in f["message"] for f in hits), hits
    e.write(e.conf, "mfa_skip_networks = 10.0.0.0/8,192.168.0.0/16\n")
    rc, doc = e.findings()
    assert not [f for f in doc["findings"] if f["check"] == "mfa-skip-networks"], doc
    # remember_device with no allowlist: nothing can be remembered
    e.write(e.conf, "[service sshd]\nremember_device = 7d\n")
    rc, doc = e.findings()
    f = one(doc, "remember-device", "warning")
    assert "nothing is remembered" in f["message"] and "could not be read" in f["message"], f
    e.write(e.conf, "remember_device = 0\n")
    rc, doc = e.findings()
    assert not [f for f in doc["findings"] if f["check"] == "remember-device"], doc
    e.write(e.conf, "remember_device = 7d\n[service sshd]\nallowlist = 192.0.2.0/24\n")
    rc, doc = e.findings()
    assert not [f for f in doc["findings"] if f["check"] == "remember-device"], doc
    d = Daemon()
    try:
        e.write(e.conf, "remember_device = 7d\n")
        rc, doc = e.findings(socket=d.sock)
        f = one(doc, "remember-device", "warning")
        assert "in the config or the global list" in f["message"], f
        p = subprocess.run([CLI, "--socket", d.sock, "allowlist", "add", "192.0.2.0/24"], capture_output=True)
        assert p.returncode == 0, p.stderr
        rc, doc = e.findings(socket=d.sock)
        assert not [f for f in doc["findings"] if f["check"] == "remember-device"], doc
    finally:
        d.cleanup()


TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]


def main():
    tests = [fn for fn in TESTS if not sys.argv[1:] or any(a in fn.__name__ for a in sys.argv[1:])]
    print("1..%d" % len(tests))
    failed = 0
    for i, fn in enumerate(tests, 1):
        e = Env()
        try:
            result = fn(e)
            skip = " # " + result if isinstance(result, str) and result.startswith("SKIP") else ""
            print("ok %d - %s%s" % (i, fn.__name__, skip))
        except Exception:  # noqa: BLE001 - reported as TAP
            failed += 1
            print("not ok %d - %s" % (i, fn.__name__))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        finally:
            e.cleanup()
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
