#!/usr/bin/python3
"""Tier 4: the mail transports against real SMTP servers (aiosmtpd, in this
process, on 127.0.0.1 ephemeral ports), driven through tests/tools/mail_send
(the daemon's mail code): STARTTLS and implicit TLS with AUTH PLAIN/LOGIN and
a CA made here with openssl, a wrong password, an untrusted certificate, a
STARTTLS downgrade, a plain relay, msmtp as the sendmail program, and a
server that never answers.  No root needed.  TAP output; exit 77 with no
output when aiosmtpd, openssl or msmtp is missing (Debian: python3-aiosmtpd
openssl msmtp)."""
import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:
    sys.exit(77)
if not shutil.which("openssl") or not shutil.which("msmtp"):
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
B = os.environ.get("ACCTSEC_BUILD_DIR") or os.path.join(HERE, "..", "..", "build")
MAIL_SEND = os.path.join(B, "tests", "tools", "mail_send")
FROM = "acctsec@example.org"
TO = "john.doe+mfa@example.com"
USER = "mailer"
PASSWORD = "S3cret-pw-%d-never-printed" % os.getpid()
# A line "." and a line starting with one: the SMTP client must dot-stuff.
BODY = "Your code is 123456.\n.\n..dots\nend"
work = tempfile.mkdtemp(prefix="acctsec-mail.")
servers = []
n = failed = 0

logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # aiosmtpd's own chatter
# The smtps:// server asks for AUTH without aiosmtpd's STARTTLS: TLS is implicit there.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


def tap(ok, name, info=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, name), flush=True)
    if not ok:
        failed += 1
        for line in str(info).splitlines():
            print("# " + line)


class Store:
    """Keeps every message the server accepted, with how it arrived."""

    def __init__(self):
        self.got = []
        self.mechanisms = []

    async def handle_DATA(self, server, session, envelope):
        self.got.append({"from": envelope.mail_from, "rcpt": list(envelope.rcpt_tos),
                         "data": envelope.original_content, "tls": session.ssl is not None,
                         "auth": bool(session.authenticated)})
        return "250 OK"

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        self.mechanisms.append(mechanism)
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
              and auth_data.password == PASSWORD.encode())
        return AuthResult(success=ok, handled=False)


class Server(Controller):
    """A Controller on an ephemeral port (aiosmtpd 1.4 only knows the port it was given)."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def start(**kw):
    store = Store()
    if kw.pop("auth", False):
        kw.update(auth_required=True, authenticator=store.authenticator)
    srv = Server(store, hostname="127.0.0.1", port=0, **kw)
    srv.start()
    servers.append(srv)
    return srv, store


def run(*args, env=None, timeout=60):
    t0 = time.monotonic()
    r = subprocess.run([MAIL_SEND, "--from", FROM, "--to", TO, "--subject", "Your code", "--body", BODY, *args],
                       capture_output=True, text=True, timeout=timeout, env=env)
    r.elapsed = time.monotonic() - t0
    r.out = r.stdout + r.stderr
    return r


def check_delivery(store, r, name, tls=True, auth=True):
    """One message arrived intact with our envelope, and the password never showed."""
    info = "exit %d\n%s" % (r.returncode, r.out)
    tap(r.returncode == 0 and len(store.got) == 1, name + ": delivered", info)
    if len(store.got) != 1:
        return
    m = store.got[0]
    data = m["data"].decode("utf-8", "replace")
    ok = (m["from"] == FROM and m["rcpt"] == [TO] and "\r\nTo: %s\r\n" % TO in data
          and "\r\nSubject: Your code\r\n" in data and "\r\nAuto-Submitted: auto-generated\r\n" in data
          and data.endswith("\r\n\r\nYour code is 123456.\r\n.\r\n..dots\r\nend\r\n"))
    tap(ok, name + ": envelope, headers and body (dot lines intact)", repr(m))
    if tls is not None:
        tap(m["tls"] == tls and m["auth"] == auth, name + ": TLS %s, AUTH %s" % (tls, auth), repr(m))
    tap(PASSWORD not in r.out, name + ": the password is not in mail_send's output", r.out)


def make_cert(name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", os.path.join(work, name + ".key"), "-out", os.path.join(work, name + ".pem")],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(os.path.join(work, name + ".pem"), os.path.join(work, name + ".key"))
    return ctx, os.path.join(work, name + ".pem")


def write(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def smtp_auth_cases(ctx, ca, pw):
    srv, store = start(tls_context=ctx, require_starttls=True, auth=True)
    url = "smtp://127.0.0.1:%d" % srv.port
    r = run("--transport", "smtp", "--url", url, "--ca", ca, "--user", USER, "--password-file", pw)
    check_delivery(store, r, "STARTTLS + AUTH")
    tap(store.mechanisms == ["PLAIN"], "STARTTLS + AUTH: PLAIN used", store.mechanisms)

    srv, store = start(tls_context=ctx, require_starttls=True, auth=True, auth_exclude_mechanism=["PLAIN"])
    r = run("--transport", "smtp", "--url", "smtp://127.0.0.1:%d" % srv.port, "--ca", ca, "--user", USER,
            "--password-file", pw)
    check_delivery(store, r, "STARTTLS + AUTH LOGIN")
    tap(store.mechanisms == ["LOGIN"], "STARTTLS + AUTH LOGIN: LOGIN used", store.mechanisms)

    srv, store = start(ssl_context=ctx, auth=True, auth_require_tls=False)  # TLS from the first byte
    r = run("--transport", "smtp", "--url", "smtps://127.0.0.1:%d" % srv.port, "--ca", ca, "--user", USER,
            "--password-file", pw)
    check_delivery(store, r, "smtps:// + AUTH", tls=None)

    # A wrong password: refused, said so, and neither password printed.
    bad = write(os.path.join(work, "bad.pw"), "wrong-" + PASSWORD + "\n")
    srv, store = start(tls_context=ctx, require_starttls=True, auth=True)
    r = run("--transport", "smtp", "--url", "smtp://127.0.0.1:%d" % srv.port, "--ca", ca, "--user", USER,
            "--password-file", bad)
    tap(r.returncode != 0 and not store.got and "535" in r.out and "Permission denied" in r.out,
        "wrong password: refused with the SMTP code", r.out)
    tap(PASSWORD not in r.out, "wrong password: no password in the output", r.out)

    # A password file others may read is refused before any connection.
    loose = write(os.path.join(work, "loose.pw"), PASSWORD + "\n", 0o644)
    r = run("--transport", "smtp", "--url", url, "--ca", ca, "--user", USER, "--password-file", loose)
    tap(r.returncode != 0 and "open to group or others" in r.out, "a group/world-readable password file is refused",
        r.out)


def smtp_tls_refusals(ctx, ca, pw):
    srv, store = start(tls_context=ctx, require_starttls=True, auth=True)
    url = "smtp://127.0.0.1:%d" % srv.port
    r = run("--transport", "smtp", "--url", url, "--user", USER, "--password-file", pw)
    tap(r.returncode != 0 and not store.got and not store.mechanisms and "certificate" in r.out,
        "untrusted certificate (no --ca): refused before AUTH", r.out)
    _, other = make_cert("other")
    r = run("--transport", "smtp", "--url", url, "--ca", other, "--user", USER, "--password-file", pw)
    tap(r.returncode != 0 and not store.got and not store.mechanisms, "certificate from another CA: refused", r.out)

    # STARTTLS required (the default) but the server does not offer it: no downgrade.
    srv, store = start()
    r = run("--transport", "smtp", "--url", "smtp://127.0.0.1:%d" % srv.port)
    tap(r.returncode != 0 and not store.got, "STARTTLS required, server without it: nothing sent in clear", r.out)


def plain_and_sendmail_cases():
    srv, store = start()
    r = run("--transport", "smtp", "--url", "smtp://127.0.0.1:%d" % srv.port, "--starttls", "no")
    check_delivery(store, r, "plain smtp:// relay, no AUTH", tls=False, auth=False)

    # msmtp as the sendmail program: its config from $HOME/.msmtprc.
    srv, store = start()
    home = os.path.join(work, "home")
    os.mkdir(home, 0o700)
    write(os.path.join(home, ".msmtprc"), "defaults\nauth off\ntls off\nsyslog off\n"
          "account default\nhost 127.0.0.1\nport %d\nfrom %s\n" % (srv.port, FROM))
    env = dict(os.environ, HOME=home)
    env.pop("XDG_CONFIG_HOME", None)
    r = run("--transport", "sendmail", "--sendmail", shutil.which("msmtp"), env=env)
    check_delivery(store, r, "sendmail transport through msmtp", tls=False, auth=False)


def hung_server_case():
    # Accepts connections (the kernel's backlog) and never says a word.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    try:
        r = run("--transport", "smtp", "--url", "smtp://127.0.0.1:%d" % s.getsockname()[1], "--timeout", "2",
                timeout=60)
        tap(r.returncode != 0 and "timed out" in r.out.lower(), "silent server: fails at the timeout (%.1f s)"
            % r.elapsed, r.out)
    finally:
        s.close()


def main():
    if not os.access(MAIL_SEND, os.X_OK):
        tap(False, "tests/tools/mail_send is built", MAIL_SEND + " is missing: build first")
        return
    ctx, ca = make_cert("server")
    pw = write(os.path.join(work, "smtp.pw"), PASSWORD + "\nsecond line is ignored\n")
    smtp_auth_cases(ctx, ca, pw)
    smtp_tls_refusals(ctx, ca, pw)
    plain_and_sendmail_cases()
    hung_server_case()


try:
    main()
except Exception as e:  # noqa: BLE001 - reported as TAP
    tap(False, "setup", repr(e))
finally:
    for srv in servers:
        srv.stop()
    shutil.rmtree(work, ignore_errors=True)
print("1..%d" % n)
sys.exit(1 if failed else 0)
