"""The client side of the booted tier's sshd tests: paramiko logins to the
container's sshd (127.0.0.1:22, reached once the test process entered the
container's network with Machine.enter_network()), TOTP codes computed
here, bounded waits for what happens inside, the mails the daemon writes
to a Maildir, and an SMTP receiver (aiosmtpd) on the container's loopback.

Nothing here sleeps to let something happen: wait_for() polls a condition
up to a deadline and says what it waited for when the deadline passes."""
import base64
import email
import email.policy
import hashlib
import hmac
import logging
import os
import re
import socket
import struct
import time
import types

import paramiko

import machine

# paramiko and aiosmtpd log every refused login and dropped connection:
# the tests look at outcomes, not at that chatter.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

CODE_RE = re.compile(r"Your verification code is: (\d{6,10})\r?\n")
HANG_GUARD = machine.HANG_GUARD
wait_for = machine.wait_for


def totp(secret_b32, counter):
    """RFC 6238 with SHA-1, 6 digits, for the 30-second step COUNTER."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


def time_step():
    return int(time.time()) // 30


def wait_port(host="127.0.0.1", port=22, timeout=None):
    """Until something accepts connections on HOST:PORT."""
    def answers():
        try:
            socket.create_connection((host, port), timeout=2).close()
            return True
        except OSError:
            return False
    wait_for(answers, "%s:%d to accept connections" % (host, port), timeout)


def free_port():
    """A port nobody listens on (in the container's network, where only its
    own sshd and our receivers listen)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# --- logins ------------------------------------------------------------------
def _transport(port):
    t = paramiko.Transport(("127.0.0.1", port))
    t.start_client(timeout=HANG_GUARD)
    return t


class Conversation:
    """keyboard-interactive's answers, from answer(prompt) for each prompt
    as it comes; keeps every prompt and every text sshd sent (the title and
    instructions carry PAM's messages)."""

    def __init__(self, answer):
        self.answer = answer
        self.prompts = []
        self.texts = []

    def __call__(self, title, instructions, prompts):
        self.texts += [x for x in (title, instructions) if x]
        self.prompts += [p for p, _echo in prompts]
        self.texts += [p for p, _echo in prompts]
        return [self.answer(p) for p, _echo in prompts]


def login(user, password=None, key=None, answer=None, keep=False, port=22):
    """One SSH login by one method: password (sshd's "password", PAM behind
    it), key (publickey: sshd skips PAM's auth phase, the account phase
    still runs) or answer (keyboard-interactive: answer(prompt) gives each
    answer, and may read a mailed code when the prompt comes).

    Returns .ok, .error (the exception when refused), .prompts, .texts
    (see Conversation), and with keep=True and .ok the open .transport (a
    Login)."""
    conv = Conversation(answer)
    r = types.SimpleNamespace(ok=False, error=None, prompts=conv.prompts, texts=conv.texts, transport=None)
    t = _transport(port)
    try:
        if key is not None:
            t.auth_publickey(user, key)
        elif answer is not None:
            t.auth_interactive(user, conv)
        else:
            t.auth_password(user, password)
        r.ok = t.is_authenticated()
    except (paramiko.SSHException, EOFError, OSError, RuntimeError) as e:
        r.error = e
    if keep and r.ok:
        r.transport = Login(t, user)
    else:
        t.close()
    return r


class Login:
    """An authenticated connection: hold() keeps a command running in it
    (its session stays open), run() runs one to completion in a channel of
    the same connection (the same sshd, the same logind session)."""

    def __init__(self, transport, user):
        self.t = transport
        self.user = user
        self.held = None

    def hold(self, command="cat"):
        """A channel running COMMAND with its stdin left open."""
        ch = self.t.open_session(timeout=HANG_GUARD)
        ch.get_pty()
        ch.exec_command(command)
        self.held = ch
        return ch

    def closed_by_server(self):
        """The server ended the held channel or the whole connection."""
        ch = self.held
        return (not self.t.is_active()) or (ch is not None and (ch.closed or ch.exit_status_ready() or ch.eof_received))

    def alive(self):
        return self.t.is_active() and self.held is not None and not self.closed_by_server()

    def run(self, command, timeout=HANG_GUARD):
        """(exit status, stdout, stderr) of COMMAND in a new channel."""
        ch = self.t.open_session(timeout=HANG_GUARD)
        ch.settimeout(timeout)
        ch.exec_command(command)
        out = ch.makefile("rb").read().decode()
        err = ch.makefile_stderr("rb").read().decode()
        return ch.recv_exit_status(), out, err

    def close(self):
        self.t.close()


# --- mail ----------------------------------------------------------------------
def parse_mail(raw, **envelope):
    """A dict: the raw text, its headers (subject, to, from), the code it
    carries (None if none) and the envelope given (mail_from, rcpt)."""
    msg = email.message_from_string(raw, policy=email.policy.default)
    m = CODE_RE.search(raw)
    d = {"raw": raw, "subject": str(msg["Subject"] or ""), "to": str(msg["To"] or ""),
         "from": str(msg["From"] or ""), "code": m.group(1) if m else None}
    d.update(envelope)
    return d


class Mailbox:
    """Mails arriving somewhere, taken one by one by subject: take() waits
    for the next one not taken yet."""

    def __init__(self, name):
        self.name = name
        self.taken = []

    def arrived(self):
        raise NotImplementedError

    def pending(self, subject=None):
        seen = {id(x) for x in self.taken}
        return [x for x in self.arrived() if id(x) not in seen and (subject is None or x["subject"] == subject)]

    def take(self, subject, timeout=None):
        m = wait_for(lambda: self.pending(subject), "a mail %r at %s" % (subject, self.name), timeout)[0]
        self.taken.append(m)
        return m

    def code_answer(self, subject="Your login verification code"):
        """The code of the next such mail, when called (at the code prompt)."""
        return lambda: self.take(subject)["code"] or ""


class Maildir(Mailbox):
    """The maildir transport's new/ directory, read from the host side."""

    def __init__(self, path):
        super().__init__(path)
        self.new = os.path.join(path, "new")
        self.files = {}

    def arrived(self):
        try:
            names = sorted(n for n in os.listdir(self.new) if not n.startswith("."))
        except FileNotFoundError:
            names = []
        for n in names:
            if n not in self.files:
                with open(os.path.join(self.new, n), encoding="utf-8") as f:
                    self.files[n] = parse_mail(f.read(), file=n)
        return [self.files[n] for n in names]


class Receiver(Mailbox):
    """An SMTP server (aiosmtpd, its own thread) on 127.0.0.1:PORT that
    keeps every message with its envelope."""

    def __init__(self, name):
        from aiosmtpd.controller import Controller
        super().__init__(name)
        self.got = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.got.append(parse_mail(envelope.original_content.decode("utf-8"), mail_from=envelope.mail_from,
                                   rcpt=list(envelope.rcpt_tos)))
        return "250 OK"

    def arrived(self):
        return list(self.got)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()
