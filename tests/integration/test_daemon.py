#!/usr/bin/env python3
"""Tier 2: a real acctsecd on a temp socket and state dir, spoken to in raw
frames (doc/protocol.md).  Prints TAP.  Needs ACCTSEC_BUILD_DIR."""
import json
import os
import random
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = os.environ.get("ACCTSEC_BUILD_DIR") or sys.exit("set ACCTSEC_BUILD_DIR")
DAEMON = os.path.join(BUILD, "acctsecd")
ROOT = os.geteuid() == 0

OP_PING, OP_PREAUTH, OP_AUTHFAIL, OP_AUTHSUCC, OP_ACCOUNT, OP_STATUS = 1, 2, 3, 4, 5, 6
OP_LOCKOUT_RESET, OP_RELOAD, OP_HOST_LIST = 8, 45, 56
REPLY_OK, REPLY_ERROR = 0x80, 0x81
T_USER, T_SERVICE, T_RHOST, T_CONF = 1, 2, 3, 5
T_ERRNO, T_MESSAGE, T_DECISION, T_FAILURES, T_LOCKED_UNTIL = 16, 17, 18, 19, 20
FRAME_MAX = 65536


def field(tag, value):
    if isinstance(value, int):
        value = struct.pack(">Q", value)
    elif isinstance(value, str):
        value = value.encode()
    return struct.pack(">BH", tag, len(value)) + value


def frame(op, *fields, version=1, magic=b"AS"):
    body = b"".join(field(t, v) for t, v in fields)
    return struct.pack(">2sBBI", magic, version, op, len(body)) + body


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def read_reply(s):
    magic, version, rtype, length = struct.unpack(">2sBBI", recv_exact(s, 8))
    assert magic == b"AS" and version == 1, (magic, version)
    body = recv_exact(s, length)
    fields, pos = [], 0
    while pos < len(body):
        tag, n = struct.unpack(">BH", body[pos:pos + 3])
        fields.append((tag, body[pos + 3:pos + 3 + n]))
        pos += 3 + n
    return rtype, fields


def get(fields, tag, as_int=False):
    for t, v in fields:
        if t == tag:
            return struct.unpack(">Q", v)[0] if as_int else v.decode()
    return None


class Daemon:
    """acctsecd with nss_wrapper users; ready when it sends READY=1."""

    def __init__(self, conf="", extra_args=(), start=True, socket_activate=None):
        self.dir = tempfile.mkdtemp(prefix="acctsec-it.")
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "sock")
        self.state = os.path.join(self.dir, "state")
        self.conf = os.path.join(self.dir, "acctsec.conf")
        self.log = os.path.join(self.dir, "daemon.log")
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n"
                    "alice:x:1001:1001::/home/alice:/bin/sh\n"
                    "bob:x:1002:1002::/home/bob:/bin/sh\n")
            if not ROOT:
                f.write("tester:x:%d:%d::/tmp:/bin/sh\n" % (os.getuid(), os.getgid()))
        with open(os.path.join(self.dir, "group"), "w") as f:
            f.write("root:x:0:\nalice:x:1001:\nbob:x:1002:\n")
        self.write_conf(conf)
        self.proc = None
        if start:
            self.start(extra_args, socket_activate)

    def write_conf(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def env(self):
        env = dict(os.environ)
        env.update(LD_PRELOAD="libnss_wrapper.so",
                   NSS_WRAPPER_PASSWD=os.path.join(self.dir, "passwd"),
                   NSS_WRAPPER_GROUP=os.path.join(self.dir, "group"))
        return env

    def argv(self, extra_args=()):
        return [DAEMON, "--state-dir", self.state, "--config", self.conf, "--foreground", *extra_args]

    def start(self, extra_args=(), socket_activate=None, expect_ready=True):
        notify = os.path.join(self.dir, "notify")
        if os.path.exists(notify):
            os.unlink(notify)
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(notify)
        env = self.env()
        env["NOTIFY_SOCKET"] = notify
        argv = self.argv(extra_args)
        if socket_activate is not None:
            argv = ["systemd-socket-activate", *socket_activate] + argv
        else:
            argv += ["--socket", self.sock]
        self.proc = subprocess.Popen(argv, env=env, stderr=open(self.log, "a"), stdin=subprocess.DEVNULL)
        if not expect_ready:
            ns.close()
            return
        ns.settimeout(0.1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a bound for a broken start, not a sync
            try:
                if b"READY=1" in ns.recv(4096):
                    ns.close()
                    return
            except socket.timeout:
                pass
            if self.proc.poll() is not None:
                break
        ns.close()
        raise AssertionError("daemon not ready: " + open(self.log).read())

    def wait(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=30)
        return self.proc.returncode if self.proc else None

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(self.sock)
        return s

    def call(self, data, s=None):
        own = s is None
        s = s or self.connect()
        s.sendall(data)
        r = read_reply(s)
        if own:
            s.close()
        return r

    def db(self, sql, *args):
        con = sqlite3.connect(os.path.join(self.state, "acctsec.db"), timeout=10)
        try:
            rows = con.execute(sql, args).fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def as_uid(uid, fn):
    """Run fn() in a child with this uid; returns what it returned (repr'd)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            out = repr(fn())
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            out = "EXC " + repr(e)
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return data.decode()


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def login_frame(op, user="alice", conf=None, **kw):
    fields = [(T_USER, user), (T_SERVICE, kw.get("service", "sshd"))]
    if kw.get("rhost"):
        fields.append((T_RHOST, kw["rhost"]))
    if conf:
        fields.append((T_CONF, conf))
    return frame(op, *fields)


@test
def ping_and_several_requests_on_one_connection(d):
    s = d.connect()
    for _ in range(3):
        rtype, f = d.call(frame(OP_PING), s)
        assert rtype == REPLY_OK and get(f, T_MESSAGE).startswith("acctsec "), f
    s.close()


@test
def pipelined_requests_are_all_answered(d):
    # Connections are edge-triggered: frames that arrive together (and a
    # write among reads, whose reply waits for the group commit) must all
    # be answered, in order, without the client sending anything more.
    s = d.connect()
    fail = login_frame(OP_AUTHFAIL, user="bob")
    batch = frame(OP_PING) + fail + frame(OP_PING) * 50 + fail * 2 + login_frame(OP_PREAUTH, user="bob")
    s.sendall(batch)
    replies = [read_reply(s) for _ in range(55)]
    assert all(rtype == REPLY_OK for rtype, _ in replies), replies
    # In order: the third failure locks, and the check after it sees the lock.
    assert [get(f, T_DECISION, True) for _, f in (replies[1], *replies[52:55])] == [0, 0, 1, 1], replies[52:]
    s.shutdown(socket.SHUT_WR)
    assert s.recv(1) == b"", "nothing more, and the daemon closes after the client"
    s.close()
    assert d.db("SELECT failures FROM lockout WHERE user = 'bob'") == [(3,)]


def expect_error_and_close(d, data, errno_):
    s = d.connect()
    s.sendall(data)
    rtype, f = read_reply(s)
    assert rtype == REPLY_ERROR, rtype
    assert get(f, T_ERRNO, True) == errno_, (get(f, T_ERRNO, True), errno_)
    assert s.recv(1) == b"", "the daemon should close after a malformed frame"
    s.close()


@test
def bad_magic_is_refused(d):
    expect_error_and_close(d, frame(OP_PING, magic=b"XX"), 71)  # EPROTO


@test
def unknown_version_is_refused(d):
    expect_error_and_close(d, frame(OP_PING, version=2), 93)  # EPROTONOSUPPORT


@test
def oversized_frame_refused_before_body(d):
    # Only the header is sent: the cap is checked before anything is allocated.
    expect_error_and_close(d, struct.pack(">2sBBI", b"AS", 1, OP_PING, FRAME_MAX), 90)  # EMSGSIZE
    expect_error_and_close(d, struct.pack(">2sBBI", b"AS", 1, OP_PING, 0xFFFFFFFF), 90)


@test
def truncated_field_is_refused(d):
    body = struct.pack(">BH", T_USER, 10) + b"abc"
    expect_error_and_close(d, struct.pack(">2sBBI", b"AS", 1, OP_PREAUTH, len(body)) + body, 74)  # EBADMSG


@test
def unknown_op_is_refused(d):
    expect_error_and_close(d, frame(99), 95)  # EOPNOTSUPP


@test
def control_characters_in_fields_are_refused(d):
    s = d.connect()
    for bad in ("ali\nce", "alice\x1b[2J", ""):
        rtype, f = d.call(frame(OP_PREAUTH, (T_USER, bad)) if bad else frame(OP_PREAUTH), s)
        assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 22, (bad, f)  # EINVAL
    rtype, f = d.call(login_frame(OP_PREAUTH), s)  # the connection is still usable
    assert rtype == REPLY_OK
    s.close()
    assert d.db("SELECT count(*) FROM events")[0][0] == 0


@test
def lockout_in_frames(d):
    for i in range(1, 4):
        rtype, f = d.call(login_frame(OP_AUTHFAIL))
        assert rtype == REPLY_OK
        assert get(f, T_DECISION, True) == (1 if i == 3 else 0), (i, f)
        assert get(f, T_LOCKED_UNTIL, True) is None  # lock_message is off
    for op in (OP_PREAUTH, OP_ACCOUNT, OP_AUTHSUCC):
        assert get(d.call(login_frame(op))[1], T_DECISION, True) == 1, op
    row = d.db("SELECT failures, locked_until - last_failure FROM lockout WHERE user='alice'")
    assert row == [(3, 3600)], row
    types = [r[0] for r in d.db("SELECT type FROM events ORDER BY id")]
    assert types == ["auth_failure"] * 3 + ["lockout"] + ["login_denied"] * 3, types


@test
def a_lock_does_not_stop_services_that_are_not_logins(d):
    """cron, atd and the user's service manager (systemd-user) pass the
    account phase of a locked user: three wrong passwords typed by anyone
    must not stop a user's jobs.  A disabled account still stops them, and
    a section may say otherwise."""
    for _ in range(3):
        d.call(login_frame(OP_AUTHFAIL))
    for service, want in (("sshd", 1), ("cron", 0), ("atd", 0), ("systemd-user", 0), ("login", 1)):
        assert get(d.call(login_frame(OP_ACCOUNT, service=service))[1], T_DECISION, True) == want, service
    denied = d.db("SELECT service, detail FROM events WHERE type = 'login_denied' ORDER BY id")
    assert denied == [("sshd", "locked"), ("login", "locked")], denied
    assert d.db("SELECT failures FROM lockout WHERE user = 'alice'") == [(3,)]  # still locked, unchanged
    restart_with(d, "[service cron]\naccount_lock = yes\n[service sshd]\naccount_lock = no\n")
    for service, want in (("cron", 1), ("sshd", 0), ("atd", 0)):
        assert get(d.call(login_frame(OP_ACCOUNT, service=service))[1], T_DECISION, True) == want, service
    restart_with(d, "")
    d.db("INSERT INTO account (user, disabled, disabled_by, updated) VALUES ('alice', 1, 'root', 1)")
    for service, want in (("cron", 3), ("atd", 3), ("systemd-user", 3), ("sshd", 1)):  # 3: disabled, 1: locked
        assert get(d.call(login_frame(OP_ACCOUNT, service=service))[1], T_DECISION, True) == want, service


@test
def reload_request(d):
    """acctsecd --reload (systemctl reload): the file read again, or its
    error returned with the running settings kept; root only."""
    def reload():
        return subprocess.run([DAEMON, "--reload", "--socket", d.sock], capture_output=True, text=True, timeout=60)

    def locks_after(n):
        for i in range(1, n + 1):
            decision = get(d.call(login_frame(OP_AUTHFAIL, user="bob"))[1], T_DECISION, True)
        d.call(frame(OP_LOCKOUT_RESET, (T_USER, "bob")))
        return decision == 1
    d.write_conf("deny = 5\n")
    r = reload()
    assert r.returncode == 0 and "reloaded" in r.stdout, r
    assert not locks_after(4) and locks_after(5)
    d.write_conf("deny = many\n")
    r = reload()
    assert r.returncode == 1 and "acctsec.conf:1:" in r.stderr and "running settings are kept" in r.stderr, r
    assert not locks_after(4) and locks_after(5)  # still deny = 5
    assert "reload of" in open(d.log).read()
    if ROOT:
        rtype, f = as_caller(1001, d, lambda call: call(frame(OP_RELOAD)))
        assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 1, f  # EPERM


@test
def root_overrides_are_honoured(d):
    rtype, f = d.call(login_frame(OP_AUTHFAIL, conf="deny=1 lock_message=yes"))
    assert get(f, T_DECISION, True) == 1 and get(f, T_LOCKED_UNTIL, True) > time.time(), f
    rtype, f = d.call(login_frame(OP_AUTHFAIL, user="bob", conf="socket=/tmp/x"))
    assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 1, f  # EPERM: not a policy key


@test
def a_stuck_client_does_not_block_others(d):
    stuck = d.connect()
    stuck.sendall(frame(OP_PING)[:5])  # half a header, then nothing
    assert d.call(frame(OP_PING))[0] == REPLY_OK
    stuck.close()


@test
def unprivileged_callers_only_for_themselves(d):
    if not ROOT:
        return "SKIP needs root to act as other uids"

    def as_alice():
        out = []
        for frm in (login_frame(OP_PREAUTH, "bob"), login_frame(OP_AUTHFAIL, "root"),
                    login_frame(OP_PREAUTH, "nosuchuser"), login_frame(OP_AUTHFAIL, "alice"),
                    login_frame(OP_AUTHFAIL, "alice"), login_frame(OP_AUTHSUCC, "alice"),
                    login_frame(OP_AUTHFAIL, "alice", conf="deny=100"),
                    frame(11, (T_USER, "bob")), frame(11, (T_USER, "nosuchuser")), frame(15, (T_USER, "bob"))):
            rtype, f = d.call(frm)
            out.append(get(f, T_ERRNO, True) if rtype == REPLY_ERROR else get(f, T_DECISION, True))
        return out

    out = as_uid(1001, as_alice)
    # others: EPERM; own failures count; own authsucc does not reset; overrides ignored;
    # enrolling or making backup codes for anyone else: EPERM, existing or not.
    assert out == repr([1, 1, 1, 0, 0, 0, 1, 1, 1, 1]), out
    assert d.db("SELECT failures FROM lockout WHERE user='alice'") == [(3,)]
    assert d.db("SELECT count(*) FROM lockout WHERE user IN ('bob', 'root')") == [(0,)]
    assert "refused preauth from uid 1001" in open(d.log).read()


OP_SESSION_OPEN, OP_SESSION_CLOSE, OP_SESSION_TERMINATE, OP_NOTIFY_SET = 38, 39, 41, 44
T_AUTH_INFO, T_SESSION, T_NOTIFY, T_ALL = 51, 52, 63, 64


@test
def sessions_are_recorded_by_root_only(d):
    if not ROOT:
        return "SKIP needs root to act as another uid"

    def as_alice():
        out = []
        for frm in (frame(OP_SESSION_OPEN, (T_USER, "alice"), (T_SERVICE, "sshd")),
                    frame(OP_SESSION_CLOSE, (T_USER, "alice"), (T_SESSION, 1))):
            rtype, f = d.call(frm)
            out.append(get(f, T_ERRNO, True) if rtype == REPLY_ERROR else 0)
        return out

    assert as_uid(1001, as_alice) == repr([1, 1])  # EPERM
    assert d.db("SELECT count(*) FROM sessions") == [(0,)]
    assert d.db("SELECT count(*) FROM events WHERE type = 'request_refused' AND detail LIKE 'session-open:%'") == [(1,)]


@test
def session_fields_are_checked(d):
    if not ROOT:
        return "SKIP needs root (sessions are root's)"
    rtype, f = d.call(frame(OP_SESSION_OPEN, (T_SERVICE, "sshd")))
    assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 22, f  # no user: EINVAL
    rtype, f = d.call(frame(OP_SESSION_OPEN, (T_USER, "no-such-user-x")))
    assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 2, f  # ENOENT
    # A key line that is not one: the session opens, without a fingerprint.
    rtype, f = d.call(frame(OP_SESSION_OPEN, (T_USER, "root"), (T_RHOST, "192.0.2.1"),
                            (T_AUTH_INFO, "publickey ssh-ed25519 !!!not-base64")))
    assert rtype == REPLY_OK, f
    sid = get(f, T_SESSION, True)
    assert d.db("SELECT pid, ended FROM sessions WHERE id = ?", sid) == [(os.getpid(), 0)]
    assert d.db("SELECT detail FROM events WHERE type = 'session_opened'") == [("session %d" % sid,)]
    # Terminate needs one of ID and --all-others, not both; a session that is
    # not the caller's is not found.
    for fields in ((), ((T_SESSION, sid), (T_ALL, 1))):
        rtype, f = d.call(frame(OP_SESSION_TERMINATE, *fields))
        assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 22, f
    rtype, f = d.call(frame(OP_NOTIFY_SET, (T_NOTIFY, 2)))
    assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 22, f
    rtype, f = d.call(frame(OP_SESSION_CLOSE, (T_USER, "root"), (T_SESSION, sid)))
    assert rtype == REPLY_OK and d.db("SELECT end_reason FROM sessions WHERE id = ?", sid) == [("closed",)]


@test
def a_long_session_list_fits_one_reply(d):
    if not ROOT:
        return "SKIP needs root (sessions are root's)"
    for _ in range(100):  # more than one reply can hold (1024 fields, 13 per session)
        assert d.call(frame(OP_SESSION_OPEN, (T_USER, "root"), (T_SERVICE, "sshd")))[0] == REPLY_OK
    p = cli(d, "--json", "session", "list", "--all")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["total"] == 100 and 0 < len(doc["sessions"]) < 100, (doc["total"], len(doc["sessions"]))
    p = cli(d, "session", "list", "--all")
    assert p.returncode == 0 and "more not shown" in p.stdout, p.stdout


@test
def per_uid_connection_cap(d):
    if not ROOT:
        return "SKIP needs root to act as another uid"

    def hog():
        conns, closed = [], 0
        for _ in range(24):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(d.sock)
            conns.append(s)
        for s in conns:  # a refused connection reads EOF; an accepted one answers
            try:
                s.sendall(frame(OP_PING))
                read_reply(s)
            except (EOFError, ConnectionResetError, BrokenPipeError):
                closed += 1
        return closed

    assert as_uid(1002, hog) == "8", "16 connections per uid, the rest refused"
    assert d.call(frame(OP_PING))[0] == REPLY_OK  # root is not affected


def restart_with(d, conf):
    d.stop()
    d.write_conf(conf)
    d.start()


def closed_by_daemon(s, within):
    """True when the daemon closes s (EOF) within `within` seconds."""
    r, _, _ = select.select([s], [], [], within)
    if not r:
        return False
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


@test
def idle_and_half_frame_clients_dropped_after_request_timeout(d):
    restart_with(d, "request_timeout = 1s\n")
    idle = d.connect()
    half = d.connect()
    half.sendall(login_frame(OP_AUTHFAIL)[:10])
    started = time.monotonic()
    assert not closed_by_daemon(idle, 0.5), "dropped before request_timeout"
    assert closed_by_daemon(idle, 5) and closed_by_daemon(half, 5)
    assert time.monotonic() - started < 5
    assert d.db("SELECT count(*) FROM lockout") == [(0,)], "half a request did nothing"
    # A client that keeps its requests coming is not dropped.
    s = d.connect()
    for _ in range(3):
        time.sleep(0.6)
        assert d.call(frame(OP_PING), s)[0] == REPLY_OK
    s.close()
    if not ROOT:
        return "SKIP (partly) needs root to check that a slot is freed for another uid"

    def hog_then_retry():
        conns = []
        for _ in range(16):  # the per-uid cap, all idle
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(10)
            c.connect(d.sock)
            conns.append(c)
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.connect(d.sock)
        refused = closed_by_daemon(extra, 5)
        freed = all(closed_by_daemon(c, 5) for c in conns)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(10)
        c.connect(d.sock)
        c.sendall(frame(OP_PING))
        return (refused, freed, read_reply(c)[0])

    assert as_uid(1002, hog_then_retry) == repr((True, True, REPLY_OK))


@test
def connections_beyond_the_cap_wait_in_the_backlog(d):
    # 128 connections (CONN_MAX) held open by root, none idle between two
    # requests (the last one is half-way through its second, whose bytes the
    # daemon may not have read yet: unread bytes are not idleness): the next
    # one is neither refused nor answered until a slot frees; then served.
    held = [d.connect() for _ in range(128)]
    assert d.call(frame(OP_PING), held[-1])[0] == REPLY_OK  # all accepted by now
    held[-1].sendall(frame(OP_PING)[:3])
    late = d.connect()
    late.sendall(frame(OP_PING))
    r, _, _ = select.select([late], [], [], 0.5)
    assert not r, "the 129th connection was answered or closed while 128 were open"
    held.pop(0).close()
    late.settimeout(5)
    assert read_reply(late)[0] == REPLY_OK
    for s in held[:8]:  # the others were not disturbed
        assert d.call(frame(OP_PING), s)[0] == REPLY_OK
    for s in held + [late]:
        s.close()


@test
def a_connection_serves_the_process_that_made_it(d):
    """The module keeps its connection for a PAM handle; a process that
    inherits it and drops its privileges (sshd's session child) must not
    speak with root's authority on it: the daemon checks who wrote each
    request (SO_PASSCRED), refuses another process's unread and closes."""
    if not ROOT:
        return "SKIP needs root to act as another uid"
    assert d.call(login_frame(OP_AUTHFAIL, user="bob", conf="deny=1000"))[0] == REPLY_OK
    s = d.connect()
    assert d.call(frame(OP_PING), s)[0] == REPLY_OK  # made by root, accepted

    def reset_on_roots_connection():
        s.sendall(frame(OP_LOCKOUT_RESET, (T_USER, "bob")))
        try:
            return s.recv(1)
        except ConnectionResetError:
            return b"reset"

    assert as_uid(1001, reset_on_roots_connection) in (repr(b""), repr(b"reset"))
    assert d.db("SELECT failures FROM lockout WHERE user = 'bob'") == [(1,)], "the reset ran"
    assert "wrote to it (a process that inherited it)" in open(d.log).read()
    assert d.call(frame(OP_LOCKOUT_RESET, (T_USER, "bob")))[0] == REPLY_OK  # root's own, still served
    assert d.db("SELECT count(*) FROM lockout WHERE user = 'bob' AND failures > 0") == [(0,)]


@test
def an_idle_kept_connection_gives_its_slot_to_a_newcomer(d):
    # pam_acctsec.so keeps its connection between the calls of a login.  With
    # every slot taken, the connection that has waited longest between two
    # requests is closed for a newcomer, which is served at once; the one
    # closed reads EOF, and a request sent on it is refused unread.
    held = [d.connect() for _ in range(126)]
    kept = [d.connect() for _ in range(2)]
    for s in kept:  # answered, then idle: the older one goes first
        assert d.call(frame(OP_PING), s)[0] == REPLY_OK
    late = d.connect()
    late.settimeout(5)
    assert d.call(frame(OP_PING), late)[0] == REPLY_OK
    assert closed_by_daemon(kept[0], 5), "the oldest idle connection was not closed"
    r, _, _ = select.select([kept[1]] + held, [], [], 0)
    assert not r, "a connection other than the oldest idle one was closed"
    assert d.call(frame(OP_PING), kept[1])[0] == REPLY_OK
    try:
        kept[0].sendall(frame(OP_PING))
        kept[0].recv(1)
        raise AssertionError("the closed connection took a request")
    except (BrokenPipeError, ConnectionResetError):
        pass
    for s in held + kept + [late]:
        s.close()


def daemon_children(pid):
    """The daemon's live children (a child that exited but is not reaped yet
    is a zombie: it no longer hashes)."""
    n = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            for child in f.read().split():
                try:
                    with open("/proc/%s/stat" % child) as st:
                        n += st.read().rsplit(")", 1)[1].split()[0] != "Z"
                except FileNotFoundError:
                    pass
    return n


@test
def password_hashing_runs_in_a_bounded_pool(d):
    # 16 password changes at once (history on: each is an argon2id hash in a
    # child): at most 4 children at any moment (PWHISTORY_POOL), all served.
    n = 16
    conns = []
    for i in range(n):
        s = d.connect()
        s.sendall(frame(OP_PASSWORD_COMMIT, (T_USER, "alice"), (T_SERVICE, "passwd"), (25, 0), (38, 0),
                        (37, "Another-Passw0rd-%d!" % i)))
        conns.append(s)
    most, pending = 0, set(conns)
    deadline = time.monotonic() + 120
    while pending and time.monotonic() < deadline:
        most = max(most, daemon_children(d.proc.pid))
        ready, _, _ = select.select(list(pending), [], [], 0.005)
        for s in ready:
            assert read_reply(s)[0] == REPLY_OK
            pending.discard(s)
    assert not pending, "%d changes not answered" % len(pending)
    assert 2 <= most <= 4, "%d argon2id children at once" % most
    assert d.db("SELECT count(*) FROM events WHERE type = 'password_changed'") == [(n,)]
    assert d.db("SELECT count(*) FROM password_history WHERE user = 'alice'") == [(5,)]
    for s in conns:
        s.close()


def reply_shape(rtype, fields):
    return rtype, sorted(t for t, _ in fields if t != T_FAILURES), get(fields, T_DECISION, True)


@test
def unknown_user_flood_keeps_a_bounded_log(d):
    # 20,000 random names that do not exist, each tried as sshd would
    # (preauth, then authfail): the answers look like a real user's, no
    # tally row appears, and the log keeps only the newest 10,000 (+100
    # between prunes) unknown-user failures.  The journal/stderr has all.
    restart_with(d, "deny = 1000000\n")
    real = [reply_shape(*d.call(login_frame(op, user="alice"))) for op in (OP_PREAUTH, OP_AUTHFAIL)]
    rng = random.Random(7)
    s = d.connect()
    n = 20000
    names = ["u%08x" % rng.getrandbits(32) for _ in range(n)]
    for i, name in enumerate(names):
        for op, want in zip((OP_PREAUTH, OP_AUTHFAIL), real):
            got = reply_shape(*d.call(login_frame(op, user=name, rhost="203.0.113.9"), s))
            assert got == want, (i, op, got, want)
    s.close()
    unknown = d.db("SELECT count(*) FROM events WHERE detail = 'unknown user'")[0][0]
    assert 10000 <= unknown <= 10100, unknown
    assert d.db("SELECT count(*) FROM lockout WHERE user != 'alice'") == [(0,)]
    # the newest are the ones kept, and a real user's events are untouched
    assert d.db("SELECT user FROM events ORDER BY id DESC LIMIT 1") == [(names[-1],)]
    assert d.db("SELECT count(*) FROM events WHERE user = 'alice'") == [(1,)]


@test
def source_flood_keeps_bounded_tallies(d):
    # lock_scope = user+source: one tally row per remote host.  300 hosts
    # fail once each after one host got locked: at most 256 rows stay, and
    # the lock is among them.
    restart_with(d, "lock_scope = user+source\n")
    for _ in range(3):
        d.call(login_frame(OP_AUTHFAIL, rhost="2001:db8::1"))
    assert d.db("SELECT locked_until > 0 FROM lockout WHERE source = '2001:db8::1'") == [(1,)]
    s = d.connect()
    for i in range(300):
        d.call(login_frame(OP_AUTHFAIL, rhost="2001:db8:1::%x" % i), s)
    s.close()
    assert d.db("SELECT count(*) FROM lockout WHERE user = 'alice'") == [(256,)]
    assert d.db("SELECT locked_until > 0 FROM lockout WHERE source = '2001:db8::1'") == [(1,)]
    rtype, f = d.call(login_frame(OP_PREAUTH, rhost="2001:db8::1"))
    assert get(f, T_DECISION, True) != 0, "the locked source is still locked"
    assert d.db("SELECT count(*) FROM events WHERE type = 'auth_failure' AND user = 'alice'") == [(303,)]


@test
def a_local_user_writes_at_most_60_requests_a_minute(d):
    # A screen locker running as alice reports her own failures: each one
    # is an auth_failure row.  60 a minute are served; then requests that
    # write are refused (EAGAIN) before doing anything, while reads, other
    # uids and root go on.
    if not ROOT:
        return "SKIP needs root to act as another uid"
    if int(time.time()) % 60 > 45:  # the budget is per calendar minute
        time.sleep(61 - int(time.time()) % 60)

    def loop():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(d.sock)
        out = []
        for _ in range(70):
            rtype, f = d.call(login_frame(OP_AUTHFAIL, service="xscreensaver"), s)
            out.append(rtype if rtype == REPLY_OK else get(f, T_ERRNO, True))
        out.append(d.call(frame(OP_STATUS), s)[0])
        # the later pages of an export only read (its first page was counted)
        out.append(d.call(frame(43, (57, 1), (61, 5)), s)[0])  # LOG_EXPORT, ID, UNTIL
        out.append(get(d.call(frame(43), s)[1], T_ERRNO, True))  # a new export: counted
        return out

    out = eval(as_uid(1001, loop))
    assert out[:60] == [REPLY_OK] * 60 and out[60:70] == [11] * 10, out  # EAGAIN
    assert out[70] == REPLY_OK, "reads are not limited"
    assert out[71] == REPLY_OK and out[72] == 11, out[71:]
    assert d.db("SELECT count(*) FROM events WHERE user = 'alice' AND type = 'auth_failure'") == [(60,)]
    assert d.db("SELECT failures FROM lockout WHERE user = 'alice'") == [(60,)]

    def once():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(d.sock)
        return d.call(login_frame(OP_AUTHFAIL, user="bob", service="xscreensaver"), s)[0]

    assert as_uid(1002, once) == repr(REPLY_OK), "another uid has its own budget"
    for _ in range(100):
        assert d.call(login_frame(OP_AUTHFAIL, user="bob"))[0] == REPLY_OK  # root: never limited

    # An administrator (admin_group) is trusted like root: a bulk script of
    # unlocks is not cut off.
    with_roles(d)

    def admin_loop():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(d.sock)
        return [d.call(frame(8, (T_USER, "alice")), s)[0] for _ in range(70)]  # LOCKOUT_RESET

    assert eval(as_uid(1003, admin_loop)) == [REPLY_OK] * 70


@test
def sigterm_lets_an_inflight_request_finish(d):
    s = d.connect()
    data = login_frame(OP_AUTHFAIL)
    s.sendall(data[:10])
    # The daemon has read part of a request (the ping round trip below is
    # ordered after it on the same loop) when it gets SIGTERM.
    assert d.call(frame(OP_PING))[0] == REPLY_OK
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0)  # no wait needed: the request completes whenever it arrives
    s.sendall(data[10:])
    rtype, f = read_reply(s)
    assert rtype == REPLY_OK and get(f, T_DECISION, True) == 0
    assert s.recv(1) == b""
    assert d.wait() == 0
    assert d.db("SELECT failures FROM lockout") == [(1,)]
    assert not os.path.exists(d.sock), "standalone socket removed at exit"


def commit_stats(d):
    """The daemon's exit line: (write transactions, durable commits)."""
    assert d.stop() == 0
    for line in reversed(open(d.log).read().splitlines()):  # the last stop's
        words = line.split()
        if line.endswith(" commits") and "write transactions in" in line:
            return int(words[-6]), int(words[-2])
    raise AssertionError("no commit statistics at exit: " + open(d.log).read())


def durability_stats(d):
    """The daemon's exit line: (log-only commits, later syncs)."""
    for line in reversed(open(d.log).read().splitlines()):  # the last stop's
        if "acctsecd: durability: " in line:
            words = line.split()
            return int(words[2]), int(words[-3])
    raise AssertionError("no durability line at exit: " + open(d.log).read())


@test
def durability_follows_meaning(d):
    """A success with nothing to reset appends to the log only: its commit is
    not waited for on disk (log_sync_delay); a failure counted changes
    security state and is synced before its reply.  The exit line counts
    them; a stop syncs what waits."""
    restart_with(d, "log_sync_delay = 10s\n")
    for _ in range(20):
        rtype, f = d.call(login_frame(OP_AUTHSUCC, user="bob"))
        assert rtype == REPLY_OK and get(f, T_DECISION, True) == 0, f
    for _ in range(5):
        assert d.call(login_frame(OP_AUTHFAIL, user="alice", conf="deny=1000"))[0] == REPLY_OK
    commit_stats(d)
    deferred, syncs = durability_stats(d)
    # (the start's maintenance may share a batch, and its sync, with one)
    assert 15 <= deferred <= 20, "log-only commits: %d" % deferred
    assert syncs <= 1, "the 10 s bound synced %d times in a second" % syncs
    # log_sync_delay = 0: every commit is durable before its reply, as before.
    d.write_conf("log_sync_delay = 0\n")
    d.start()
    for _ in range(5):
        assert d.call(login_frame(OP_AUTHSUCC, user="bob"))[0] == REPLY_OK
    commit_stats(d)
    assert durability_stats(d) == (0, 0)


@test
def log_appends_survive_a_killed_daemon(d):
    """Not waited for on disk, but in the database file before the reply: a
    daemon killed (SIGKILL, no clean stop) loses none of them."""
    restart_with(d, "log_sync_delay = 10s\n")
    for _ in range(30):
        assert d.call(login_frame(OP_AUTHSUCC, user="bob"))[0] == REPLY_OK
    d.proc.kill()
    d.proc.wait()
    d.start()
    assert d.db("SELECT count(*) FROM events WHERE type = 'auth_success' AND user = 'bob'") == [(30,)]


@test
def concurrent_writes_share_one_commit(d):
    """Group commit: requests that are ready together run one after the
    other and become durable with one COMMIT, each seeing the writes before
    it.  The daemon is stopped while 32 clients send, so all 32 requests are
    ready together when it goes on: one COMMIT for the round, whatever the
    timing.  Every reply is OK, every row is there, the counts are exact."""
    rounds, users = 3, ["alice"] * 12 + ["bob"] * 12 + ["ghost%d" % i for i in range(7)]
    for _ in range(rounds):
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            conns = []
            for user in users:
                s = d.connect()
                s.sendall(login_frame(OP_AUTHFAIL, user=user, conf="deny=1000"))
                conns.append(s)
            s = d.connect()  # a read in the batch: answered after the commit too
            s.sendall(login_frame(OP_PREAUTH, user="alice", conf="deny=1000"))
            conns.append(s)
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        for s in conns:
            rtype, f = read_reply(s)
            assert rtype == REPLY_OK and get(f, T_DECISION, True) == 0, f
            s.close()
    want = {"alice": 12 * rounds, "bob": 12 * rounds}
    assert dict(d.db("SELECT user, failures FROM lockout")) == want
    assert d.db("SELECT count(*) FROM events WHERE type = 'auth_failure' AND detail = 'unknown user'") == [(7 * rounds,)]
    got = d.db("SELECT user, count(*) FROM events WHERE type = 'auth_failure' AND detail != 'unknown user' GROUP BY user")
    assert dict(got) == want, got
    # The n-th failure of a user says failures=n: later requests saw earlier ones.
    details = [r[0] for r in d.db("SELECT detail FROM events WHERE user = 'alice' ORDER BY id")]
    assert details == ["failures=%d" % i for i in range(1, 12 * rounds + 1)], details
    transactions, commits = commit_stats(d)
    print("# %d write transactions in %d commits" % (transactions, commits))
    # Each round's 31 writes took one COMMIT: 30 saved per round at least.
    assert transactions - commits >= 30 * rounds, (transactions, commits)


@test
def a_failed_group_commit_fails_every_reply_in_it(d):
    """A COMMIT that fails (here a deferred foreign key that a trigger breaks
    for bob's events) loses the whole batch: every request in it, alice's
    too, is answered with an error, nothing of it is in the database or the
    log, and the next batch works."""
    d.stop()
    d.db("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    d.db("CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    d.db("CREATE TRIGGER poison AFTER INSERT ON events WHEN NEW.user = 'bob' BEGIN INSERT INTO child VALUES (42); END")
    d.start()
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        conns = []
        for user in ("alice", "alice", "bob", "alice"):
            s = d.connect()
            s.sendall(login_frame(OP_AUTHFAIL, user=user))
            conns.append(s)
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    for s in conns:
        rtype, f = read_reply(s)
        assert rtype == REPLY_ERROR and get(f, T_MESSAGE) == "database error", f
        s.close()
    assert d.db("SELECT count(*) FROM lockout") == [(0,)]
    assert d.db("SELECT count(*) FROM events") == [(0,)]
    rtype, f = d.call(login_frame(OP_AUTHFAIL))
    assert rtype == REPLY_OK and get(f, T_DECISION, True) == 0, f
    assert d.db("SELECT user, failures FROM lockout") == [("alice", 1)]
    assert d.stop() == 0
    log = open(d.log).read()
    assert "(group commit of 4 replies; each is answered with an error)" in log, log
    assert log.count("auth_failure user=alice") == 1, log


@test
def concurrent_clients_exact_counts(d):
    """32 clients in threads, each a stream of failures for alice or bob with
    a ping between: whatever batches form, no write is lost or doubled."""
    import threading
    errors, per = [], 20

    def client(user):
        try:
            s = d.connect()
            for _ in range(per):
                rtype, f = d.call(login_frame(OP_AUTHFAIL, user=user, conf="deny=100000"), s)
                assert rtype == REPLY_OK and get(f, T_DECISION, True) == 0, f
                assert d.call(frame(OP_PING), s)[0] == REPLY_OK
            s.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=client, args=("alice" if i % 2 else "bob",)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    assert dict(d.db("SELECT user, failures FROM lockout")) == {"alice": 16 * per, "bob": 16 * per}
    assert d.db("SELECT count(*) FROM events WHERE type = 'auth_failure'") == [(32 * per,)]
    transactions, commits = commit_stats(d)
    print("# %d write transactions in %d commits" % (transactions, commits))
    assert transactions >= 32 * per and commits <= transactions, (transactions, commits)


@test
def idle_exit(d):
    d.stop()
    d.start(["--idle-exit", "1"])
    assert d.wait(timeout=30) == 0


def wait_for_path(path):
    deadline = time.monotonic() + 30
    while not os.path.exists(path):  # bounded wait for a condition, not a sleep-as-sync
        assert time.monotonic() < deadline, "%s never appeared" % path
        time.sleep(0.01)


@test
def socket_activation(d):
    if not shutil.which("systemd-socket-activate"):
        return "SKIP systemd-socket-activate not installed"
    d.stop()
    # systemd-socket-activate binds, then starts the daemon on the first connection.
    d.start(socket_activate=["-l", d.sock], expect_ready=False)
    wait_for_path(d.sock)
    assert d.call(frame(OP_PING))[0] == REPLY_OK
    assert d.stop() == 0
    # The shared socket and root's, named "private" (acctsecd-private.socket's
    # FileDescriptorName=): both answer.
    priv = os.path.join(os.path.dirname(d.sock), "root.sock")
    d.start(socket_activate=["-l", d.sock, "-l", priv, "--fdname=acctsecd.socket:private"], expect_ready=False)
    wait_for_path(priv)
    assert d.call(frame(OP_PING))[0] == REPLY_OK
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(priv)
    s.sendall(frame(OP_PING))
    assert s.recv(8)[3] == REPLY_OK
    s.close()
    assert d.stop() == 0
    # Two sockets, neither named "private": a configuration error.
    d.start(socket_activate=["-l", d.sock + "1", "-l", d.sock + "2"], expect_ready=False)
    wait_for_path(d.sock + "2")
    sa = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sa.connect(d.sock + "1")
    sa.close()
    assert d.wait() == 1
    assert 'one named "private"' in open(d.log).read()


def refuses_to_start(d, why):
    d.stop()
    d.start(expect_ready=False)
    assert d.wait() != 0, "daemon should refuse to start"
    assert why in open(d.log).read(), open(d.log).read()


@test
def refuses_bad_config(d):
    d.write_conf("deny = 3\n[user alice]\nunlock_time = soon\n")
    refuses_to_start(d, "acctsec.conf:3: unlock_time")


@test
def refuses_unknown_config_key(d):
    d.write_conf("mfa_typo = required\n")
    refuses_to_start(d, "unknown key")


@test
def refuses_corrupt_database(d):
    d.stop()
    db = os.path.join(d.state, "acctsec.db")
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    with open(db, "r+b") as f:
        f.seek(0)
        f.write(b"this is not an sqlite database" * 100)
    refuses_to_start(d, "refusing to start")


@test
def quick_check_skipped_only_after_a_clean_stop(d):
    mark = os.path.join(d.state, "acctsec.db.clean-stop")
    add_events(d, [ev(1700000000 + i, "auth_failure", "user%d" % (i % 50), detail="x" * 200)
                   for i in range(5000)])
    assert d.stop() == 0
    assert os.path.exists(mark), "a clean stop leaves the mark"
    d.start()
    assert not os.path.exists(mark), "the mark is taken at start"
    assert "quick_check skipped" in open(d.log).read()
    d.proc.kill()
    d.proc.wait()
    assert not os.path.exists(mark), "no mark after kill -9"
    open(d.log, "w").close()
    d.start()
    assert "quick_check passed" in open(d.log).read(), open(d.log).read()
    assert d.stop() == 0 and os.path.exists(mark)
    # Damage a page in the middle of the file, clear of the schema page:
    # the file changed since the mark, so quick_check runs and finds it.
    db = os.path.join(d.state, "acctsec.db")
    size = os.path.getsize(db)
    assert size > 200 * 4096, size
    with open(db, "r+b") as f:
        f.seek((size // 4096 // 2) * 4096)
        f.write(os.urandom(4096))
    refuses_to_start(d, "quick_check")
    assert not os.path.exists(mark)


@test
def refuses_newer_schema(d):
    d.stop()
    con = sqlite3.connect(os.path.join(d.state, "acctsec.db"))
    con.execute("PRAGMA user_version = 999")
    con.commit()
    con.close()
    refuses_to_start(d, "newer acctsecd")


@test
def refuses_unsafe_state_dir(d):
    d.stop()
    os.chmod(d.state, 0o777)
    refuses_to_start(d, "writable by group or others")


@test
def refuses_symlinked_database(d):
    d.stop()
    db = os.path.join(d.state, "acctsec.db")
    shutil.move(db, db + ".real")
    os.symlink(db + ".real", db)
    refuses_to_start(d, "not a regular file")


@test
def key_file_created_private_and_checked(d):
    key = os.path.join(d.state, "secret.key")
    st = os.stat(key)
    assert st.st_size == 32 and st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    d.stop()
    os.chmod(key, 0o644)
    refuses_to_start(d, "readable or writable by others")
    os.chmod(key, 0o600)
    with open(key, "ab") as f:
        f.write(b"x")
    refuses_to_start(d, "exactly 32 bytes")
    os.unlink(key)
    os.symlink("/etc/hostname", key)
    refuses_to_start(d, "a symlink")
    os.unlink(key)
    # A lost key file is recreated only while nothing is sealed with the old one.
    con = sqlite3.connect(os.path.join(d.state, "acctsec.db"))
    con.execute("INSERT INTO mfa_totp (user, sealed, created) VALUES ('alice', x'00', 0)")
    con.commit()
    con.close()
    refuses_to_start(d, "the key file is missing")
    assert not os.path.exists(key)


@test
def second_daemon_on_same_socket_refused(d):
    other = subprocess.run(d.argv(["--socket", d.sock]), env=d.env(), capture_output=True, text=True, timeout=30)
    assert other.returncode != 0 and "already listening" in other.stderr, other.stderr
    assert d.call(frame(OP_PING))[0] == REPLY_OK


@test
def stale_socket_replaced(d):
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    assert os.path.exists(d.sock)  # left behind by the killed daemon
    d.start()
    assert d.call(frame(OP_PING))[0] == REPLY_OK


@test
def state_survives_restart_and_schema_pragmas(d):
    d.call(login_frame(OP_AUTHFAIL))
    assert d.stop() == 0
    d.start()
    assert d.db("SELECT failures FROM lockout WHERE user='alice'") == [(1,)]
    assert d.db("PRAGMA journal_mode") == [("wal",)]
    assert d.db("PRAGMA user_version") == [(14,)]  # the migrations in daemon/storage/store.c
    mode = os.stat(os.path.join(d.state, "acctsec.db")).st_mode & 0o777
    assert mode == 0o600, oct(mode)


@test
def sighup_reloads_config(d):
    d.write_conf("deny = 1\n")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while "reloaded" not in open(d.log).read():  # wait for the event, bounded
        assert time.monotonic() < deadline, "no reload logged"
        time.sleep(0.01)
    assert get(d.call(login_frame(OP_AUTHFAIL))[1], T_DECISION, True) == 1
    d.write_conf("deny = many\n")
    d.proc.send_signal(signal.SIGHUP)
    while "keeping the old settings" not in open(d.log).read():
        assert time.monotonic() < deadline, "no failed reload logged"
        time.sleep(0.01)
    assert get(d.call(login_frame(OP_AUTHFAIL, user="bob"))[1], T_DECISION, True) == 1


OP_MFA_BEGIN, OP_CODE_SEND, OP_EMAIL_SET = 9, 17, 18
T_MFA, T_ATTEMPT, T_ADDRESS, T_SENT, T_WAIT = 29, 33, 34, 35, 36
MFA_EMAIL = 3


def email_user(d, user="alice", address="alice@example.com"):
    rtype, f = d.call(frame(OP_EMAIL_SET, (T_USER, user), (T_ADDRESS, address)))
    assert rtype == REPLY_OK, f
    rtype, f = d.call(login_frame(OP_MFA_BEGIN, user=user))
    assert rtype == REPLY_OK and get(f, T_MFA, True) == MFA_EMAIL, f
    assert get(f, T_ADDRESS) == user[0] + "\u2022\u2022\u2022@example.com", get(f, T_ADDRESS)
    return get(f, T_ATTEMPT)


@test
def a_slow_mail_server_does_not_block_others(d):
    if not ROOT:
        return "SKIP needs root (login requests about alice come from root)"
    fifo = os.path.join(d.dir, "release")
    os.mkfifo(fifo)
    slow = os.path.join(d.dir, "slow-sendmail")
    with open(slow, "w") as f:  # takes the message, then waits until the test lets it finish
        f.write("#!/bin/sh\ncat > %s/message\nread line < %s\nexit 0\n" % (d.dir, fifo))
    os.chmod(slow, 0o755)
    d.write_conf("mfa = required\nmail_transport = sendmail\nsendmail_path = %s\nmail_from = a@example.com\n" % slow)
    d.stop()
    d.start()
    attempt = email_user(d)
    s1 = d.connect()
    s1.sendall(frame(OP_CODE_SEND, (T_USER, "alice"), (T_SERVICE, "sshd"), (T_ATTEMPT, attempt)))
    # While the mail is stuck, everyone else is served.
    for _ in range(3):
        assert d.call(frame(OP_PING))[0] == REPLY_OK
        assert get(d.call(login_frame(OP_PREAUTH, user="bob"))[1], T_DECISION, True) == 0
    s1.setblocking(False)
    try:
        assert s1.recv(1) == b"", "a reply before the mail left"
    except BlockingIOError:
        pass
    s1.setblocking(True)
    with open(fifo, "w") as f:  # let sendmail finish
        f.write("go\n")
    rtype, f = read_reply(s1)
    s1.close()
    assert rtype == REPLY_OK and get(f, T_SENT, True) == 1, f
    assert "Your verification code is: " in open(os.path.join(d.dir, "message")).read()
    assert d.db("SELECT count(*) FROM events WHERE type = 'code_sent'") == [(1,)]
    # Another send at once is refused with the time to wait, and nothing is mailed.
    rtype, f = d.call(frame(OP_CODE_SEND, (T_USER, "alice"), (T_ATTEMPT, attempt)))
    assert rtype == REPLY_OK and get(f, T_SENT, True) == 0 and 170 <= get(f, T_WAIT, True) <= 180, f


@test
def sigterm_ends_a_stuck_child_after_the_grace_period(d):
    """A mail child that never finishes: SIGTERM, and after the grace period
    the daemon kills it, answers the waiting client (not sent) and exits 0,
    freeing everything (the ASan build checks for leaks)."""
    if not ROOT:
        return "SKIP needs root (login requests about alice come from root)"
    fifo = os.path.join(d.dir, "never")
    os.mkfifo(fifo)
    stuck = os.path.join(d.dir, "stuck-sendmail")
    with open(stuck, "w") as f:
        f.write("#!/bin/sh\ncat >/dev/null\nread line < %s\n" % fifo)
    os.chmod(stuck, 0o755)
    d.write_conf("mfa = required\nmail_transport = sendmail\nsendmail_path = %s\nmail_from = a@example.com\n"
                 % stuck)
    d.stop()
    d.start()
    attempt = email_user(d)
    s = d.connect()
    s.sendall(frame(OP_CODE_SEND, (T_USER, "alice"), (T_SERVICE, "sshd"), (T_ATTEMPT, attempt)))
    wait_consumed(s)
    try:
        d.proc.send_signal(signal.SIGTERM)
        rtype, f = read_reply(s)
        assert rtype == REPLY_OK and get(f, T_SENT, True) == 0, f
        assert s.recv(1) == b""
        rc = d.wait()
        assert rc == 0, (rc, open(d.log).read()[-3000:])
        assert "still running at shutdown" in open(d.log).read()
        assert d.db("SELECT count(*) FROM events WHERE type = 'code_send_failed'") == [(1,)]
    finally:
        try:  # release the orphaned sendmail, if it still waits
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.write(fd, b"go\n")
            os.close(fd)
        except OSError:
            pass


@test
def code_send_needs_this_users_attempt(d):
    if not ROOT:
        return "SKIP needs root"
    d.write_conf("mfa = required\nmaildir = %s/maildir\n" % d.dir)
    d.stop()
    d.start()
    attempt = email_user(d)
    for user, att in (("alice", "0" * 32), ("bob", attempt)):
        rtype, f = d.call(frame(OP_CODE_SEND, (T_USER, user), (T_ATTEMPT, att)))
        assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 22, f  # EINVAL
    assert not os.path.exists(os.path.join(d.dir, "maildir", "new")) or \
        os.listdir(os.path.join(d.dir, "maildir", "new")) == []


def maildir_count(d):
    new = os.path.join(d.dir, "maildir", "new")
    return len(os.listdir(new)) if os.path.isdir(new) else 0


def code_send(d, user="alice"):
    """A new login attempt and its CODE_SEND: (SENT, WAIT, MESSAGE)."""
    rtype, f = d.call(login_frame(OP_MFA_BEGIN, user=user))
    assert rtype == REPLY_OK and get(f, T_MFA, True) == MFA_EMAIL, f
    rtype, f = d.call(frame(OP_CODE_SEND, (T_USER, user), (T_SERVICE, "sshd"), (T_ATTEMPT, get(f, T_ATTEMPT))))
    assert rtype == REPLY_OK, f
    return get(f, T_SENT, True), get(f, T_WAIT, True), get(f, T_MESSAGE)


def new_source_session(d, rhost, user="alice"):
    rtype, f = d.call(frame(OP_SESSION_OPEN, (T_USER, user), (T_SERVICE, "sshd"), (T_RHOST, rhost)))
    assert rtype == REPLY_OK, f
    return d.db("SELECT detail FROM events WHERE type = 'new_source_login' AND rhost = ?", rhost)[0][0]


@test
def notices_and_codes_share_the_default_cap_of_10(d):
    """mail_max_per_hour left at its default, 10: two new-source notices and
    eight login codes reach alice; then a code and a notice are refused,
    logged, and stay refused across a restart (the count is in the
    database)."""
    if not ROOT:
        return "SKIP needs root (login and session requests come from root)"
    restart_with(d, "mfa = required\nmaildir = %s/maildir\n" % d.dir)
    email_user(d)
    for i in (1, 2):
        assert new_source_session(d, "192.0.2.%d" % i) == "notified a\u2022\u2022\u2022@example.com"
    for _ in range(8):
        sent, wait, msg = code_send(d)
        assert sent == 1 and wait is None, msg
    sent, wait, msg = code_send(d)
    assert sent == 0 and 0 < wait <= 3600, (sent, wait, msg)
    assert msg.startswith("Too many mails were sent to this account in the last hour; try again in "), msg
    # A notice is refused the same way: the event says why, and mail_capped.
    assert new_source_session(d, "192.0.2.3") == "not notified: too many mails in the last hour (mail_max_per_hour)"
    assert d.db("SELECT detail FROM events WHERE type = 'mail_capped' ORDER BY id") == [
        ("login code not mailed: 10 mails in the last hour (mail_max_per_hour)",),
        ("new-source login notice not mailed: 10 mails in the last hour (mail_max_per_hour)",)]
    assert d.db("SELECT count(*) FROM mail_sent WHERE user = 'alice'") == [(10,)]
    wait_until(lambda: maildir_count(d) >= 10)  # the notices are delivered in the background
    assert maildir_count(d) == 10
    assert d.stop() == 0
    d.start()
    sent, wait, msg = code_send(d)
    assert sent == 0 and 0 < wait <= 3600, (sent, wait, msg)
    assert maildir_count(d) == 10
    # mail_max_per_hour = 0: no cap at all
    restart_with(d, "mfa = required\nmaildir = %s/maildir\nmail_max_per_hour = 0\n" % d.dir)
    assert code_send(d)[0] == 1 and maildir_count(d) == 11


OP_RESET_PASSWORD, T_FLAG = 30, 38


@test
def password_notices_count_toward_the_cap(d):
    """With mail_max_per_hour = 1 the "password changed" mail uses it up:
    the next change is recorded but not mailed, a login code is refused,
    and a reset-password --mail is refused before anything changes."""
    if not ROOT:
        return "SKIP needs root (only root records password changes)"
    restart_with(d, "mfa = required\nmaildir = %s/maildir\nmail_max_per_hour = 1\n" % d.dir)
    email_user(d)
    for _ in range(2):
        rtype, f = d.call(frame(OP_PASSWORD_COMMIT, (T_USER, "alice"), (T_SERVICE, "passwd"), (25, 1001)))
        assert rtype == REPLY_OK, f
    assert d.db("SELECT count(*) FROM events WHERE type = 'password_changed'") == [(2,)]
    assert d.db("SELECT detail FROM events WHERE type = 'mail_capped'") == [
        ("password change notice not mailed: 1 mail in the last hour (mail_max_per_hour)",)]
    sent, wait, msg = code_send(d)
    assert sent == 0 and "Too many mails" in msg, msg
    rtype, f = d.call(frame(OP_RESET_PASSWORD, (T_USER, "alice"), (T_FLAG, 1)))
    assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 122, f  # EDQUOT
    assert "reset without --mail" in get(f, T_MESSAGE), f
    assert d.db("SELECT count(*) FROM events WHERE type = 'password_reset'") == [(0,)]
    assert d.db("SELECT count(*) FROM mail_sent") == [(1,)]
    wait_until(lambda: maildir_count(d) >= 1)
    assert maildir_count(d) == 1
    # bob has his own hour
    email_user(d, "bob", "bob@example.com")
    assert code_send(d, "bob")[0] == 1


@test
def hostile_addresses_are_refused(d):
    if not ROOT:
        return "SKIP needs root"
    for bad in ("a b@example.com", "<a@example.com>", "a@example.com,b@example.com", "-oQ/tmp/x@example.com",
                "a@", "@example.com", "a@b..com", "x" * 250 + "@example.com"):
        rtype, f = d.call(frame(OP_EMAIL_SET, (T_USER, "alice"), (T_ADDRESS, bad)))
        assert rtype == REPLY_ERROR and "not a mail address" in get(f, T_MESSAGE), (bad, f)
    # A line break never reaches the mail code: the frame itself is refused.
    rtype, f = d.call(frame(OP_EMAIL_SET, (T_USER, "alice"), (T_ADDRESS, "a@example.com\r\nBcc: b@example.com")))
    assert rtype == REPLY_ERROR, f
    assert d.db("SELECT count(*) FROM email") == [(0,)]


OP_PASSWORD_COMMIT, OP_ACCOUNT = 27, 5


@test
def only_root_records_a_password_change(d):
    if not ROOT:
        return "SKIP needs root (to switch uids)"
    d.db("SELECT 1")  # the schema exists
    con = sqlite3.connect(os.path.join(d.state, "acctsec.db"))
    con.execute("INSERT INTO account (user, must_change, updated) VALUES ('alice', 1, 1)")
    con.commit()
    con.close()

    def commit_as_alice():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(d.sock)
        s.sendall(frame(OP_PASSWORD_COMMIT, (T_USER, "alice"), (T_SERVICE, "passwd")))
        rtype, f = read_reply(s)
        return rtype, get(f, T_ERRNO, True)
    assert as_uid(1001, commit_as_alice) == repr((REPLY_ERROR, 1)), "a user cleared their own forced change"
    assert d.db("SELECT must_change FROM account WHERE user = 'alice'") == [(1,)]
    rtype, f = d.call(frame(OP_PASSWORD_COMMIT, (T_USER, "alice"), (T_SERVICE, "passwd"), (25, 1001)))
    assert rtype == REPLY_OK, f
    assert d.db("SELECT must_change FROM account WHERE user = 'alice'") == [(0,)]
    assert d.db("SELECT detail FROM events WHERE type = 'password_changed'") == [("by the user",)]


@test
def who_changed_the_password(d):
    """The detail of password_changed, from the real uid (UID) and the
    at-login flag (FLAG, PAM_CHANGE_EXPIRED_AUTHTOK): su run by bob changes
    alice's expired password for alice, who typed it (the booted tier found
    it logged "by bob"); alice's own passwd -k is no login."""
    if not ROOT:
        return "SKIP needs root (only root records password changes)"
    cases = [((1001, 0), "by the user"),                                        # passwd
             ((0, 1), "by the user, at login (the password had expired)"),     # sshd, login
             ((1002, 1), "by the user, at login (the password had expired)"),  # su alice, run by bob
             ((1001, 1), "by the user"),                                        # alice's passwd -k
             ((0, 0), "by root"),                                               # passwd alice, as root
             ((1002, 0), "by bob")]
    for (uid, flag), _ in cases:
        rtype, f = d.call(frame(OP_PASSWORD_COMMIT, (T_USER, "alice"), (T_SERVICE, "su"), (25, uid), (T_FLAG, flag)))
        assert rtype == REPLY_OK, (uid, flag, f)
    got = d.db("SELECT detail FROM events WHERE type = 'password_changed' ORDER BY id")
    assert got == [(detail,) for _, detail in cases], got


@test
def a_hundred_parallel_password_changes(d):
    """argon2id hashing runs in a bounded pool of children: every change is
    recorded, the history keeps the newest 5, and the daemon keeps serving."""
    if not ROOT:
        return "SKIP needs root (only root records password changes)"
    import threading
    results = []

    def commit(i):
        s = d.connect()
        s.settimeout(120)
        s.sendall(frame(OP_PASSWORD_COMMIT, (T_USER, "alice"), (T_SERVICE, "passwd"),
                        (37, "Parallel-Change-%03d!" % i)))
        results.append(read_reply(s)[0])
        s.close()
    threads = [threading.Thread(target=commit, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    # While they hash, a ping is answered.
    assert d.call(frame(OP_PING))[0] == REPLY_OK
    for t in threads:
        t.join(timeout=300)
    assert results.count(REPLY_OK) == 100, results
    assert d.db("SELECT count(*) FROM events WHERE type = 'password_changed'") == [(100,)]
    rows = d.db("SELECT hash FROM password_history WHERE user = 'alice'")
    assert len(rows) == 5 and all(h.startswith("$argon2id$") for (h,) in rows), rows


def wait_consumed(s):
    """Until the daemon has read everything sent on s (SIOCOUTQ of a unix
    socket counts the bytes its peer has not read); bounded."""
    import fcntl
    import termios
    deadline = time.monotonic() + 30
    while struct.unpack("i", fcntl.ioctl(s, termios.TIOCOUTQ, b"\0" * 4))[0] > 0:  # a condition, bounded
        assert time.monotonic() < deadline, "the daemon never read the request"
        time.sleep(0.001)


def reply_or_clean_close(s):
    """A whole reply, or None for a close before its first byte; a close
    inside a reply (half an answer) raises."""
    try:
        first = s.recv(1)
    except ConnectionResetError:
        return None
    if not first:
        return None
    magic, version, rtype, length = struct.unpack(">2sBBI", first + recv_exact(s, 7))
    assert magic == b"AS" and version == 1, (magic, version)
    recv_exact(s, length)
    return rtype


@test
def sigterm_with_many_requests_in_flight(d):
    """SIGTERM with 50 clients: 30 password changes hashing in the child pool
    (deferred replies), 10 failures sent whole, 10 sent half before the signal
    and finished after it.  Each client gets its whole reply or a clean close,
    every yes is in the database and nothing else is, and the daemon exits 0
    within its grace period."""
    if not ROOT:
        return "SKIP needs root (only root records password changes)"
    d.write_conf("deny = 1000\nhistory = 50\n")
    d.stop()
    d.start()
    commits, whole, halves = [], [], []
    for i in range(30):
        s = d.connect()
        s.sendall(frame(OP_PASSWORD_COMMIT, (T_USER, "alice"), (T_SERVICE, "passwd"),
                        (37, "Sigterm-Change-%03d!" % i)))
        commits.append(s)
    half = login_frame(OP_AUTHFAIL, user="bob")
    for _ in range(10):
        s = d.connect()
        s.sendall(half[:10])
        halves.append(s)
    for s in commits + halves:  # read (the commits hash meanwhile), not yet answered
        wait_consumed(s)
    for _ in range(10):  # these race the signal

        s = d.connect()
        s.sendall(login_frame(OP_AUTHFAIL, user="root"))
        whole.append(s)
    d.proc.send_signal(signal.SIGTERM)
    for s in halves:
        try:
            s.sendall(half[10:])
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed already: it must read a clean close below
    got = {name: [reply_or_clean_close(s) for s in socks]
           for name, socks in (("commit", commits), ("half", halves), ("whole", whole))}
    rc = d.wait()
    assert rc == 0, (rc, open(d.log).read()[-3000:])
    print("# replies: %s" % {k: (v.count(REPLY_OK), v.count(None)) for k, v in got.items()})
    for name, replies in got.items():
        assert all(r in (REPLY_OK, None) for r in replies), (name, replies)
    assert got["half"].count(REPLY_OK) == 10, "a request the daemon had begun to read was dropped"
    changed = d.db("SELECT count(*) FROM events WHERE type = 'password_changed'")[0][0]
    assert changed == got["commit"].count(REPLY_OK), (changed, got["commit"])
    assert d.db("SELECT count(*) FROM password_history WHERE user = 'alice'")[0][0] <= changed
    for user, name in (("bob", "half"), ("root", "whole")):
        tally = d.db("SELECT coalesce(sum(failures), 0) FROM lockout WHERE user = ?", user)[0][0]
        events = d.db("SELECT count(*) FROM events WHERE type = 'auth_failure' AND user = ?", user)[0][0]
        assert tally == events == got[name].count(REPLY_OK), (user, tally, events, got[name])
    assert d.db("PRAGMA integrity_check") == [("ok",)]
    assert not os.path.exists(d.sock)


OP_TOKEN_AUTH, OP_ALLOWLIST_ADD = 34, 35
T_CIDR, T_TOKEN = 48, 49


@test
def allowlist_entries_are_checked(d):
    if not ROOT:
        return "SKIP needs root (admins only)"
    for bad in ("10.0.0.1/8", "10.0.0.0/33", "0177.0.0.1", "example.com", "10.0.0.0/8,LOCAL", "::1/129", " LOCAL",
                "fe80::1%eth0", "1.2.3"):
        rtype, f = d.call(frame(OP_ALLOWLIST_ADD, (T_CIDR, bad)))
        assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 22, (bad, f)
    assert d.db("SELECT count(*) FROM allowlist") == [(0,)]
    rtype, f = d.call(frame(OP_ALLOWLIST_ADD, (T_CIDR, "2001:DB8:0::/32")))
    assert rtype == REPLY_OK and get(f, T_CIDR) == "2001:db8::/32", f


@test
def token_auth_only_for_oneself(d):
    if not ROOT:
        return "SKIP needs root (to switch uids)"

    def as_alice():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(d.sock)
        s.sendall(frame(OP_TOKEN_AUTH, (T_USER, "bob"), (T_SERVICE, "imap"), (T_TOKEN, "acst_" + "0" * 49)))
        rtype, f = read_reply(s)
        return rtype, get(f, T_ERRNO, True)
    assert as_uid(1001, as_alice) == repr((REPLY_ERROR, 1))
    assert d.db("SELECT count(*) FROM lockout") == [(0,)]


# --- the security log: LOG_SHOW (42), LOG_EXPORT (43) -------------------------
OP_LOG_SHOW, OP_LOG_EXPORT = 42, 43
T_TTY, T_RECORD, T_COUNT, T_ACTOR = 4, 24, 28, 43
T_SINCE, T_TYPE, T_ID, T_TIME, T_DETAIL, T_OUTCOME, T_UNTIL, T_MORE, T_ALL = 55, 56, 57, 58, 59, 60, 61, 62, 64
EXAMINE_MAX = 20000  # daemon/domain/eventlog.h: rows one page looks at
PURGE_BATCH = 1000  # and rows one purge transaction deletes
RECORD_TAGS = {T_ID: "id", T_TIME: "time", T_TYPE: "type", T_OUTCOME: "outcome", T_USER: "user",
               T_SERVICE: "service", T_RHOST: "rhost", T_TTY: "tty", T_ACTOR: "actor", T_DETAIL: "detail"}
INT_TAGS = (T_ID, T_TIME, T_UNTIL, T_MORE, T_COUNT, T_RECORD)


def page_of(fields):
    """A LOG_* reply: the summary fields before the first RECORD, and each
    record as a dict, in order."""
    summary, recs = {}, []
    for tag, raw in fields:
        value = struct.unpack(">Q", raw)[0] if tag in INT_TAGS else raw.decode()
        if tag == T_RECORD:
            recs.append({})
        elif recs:
            key = RECORD_TAGS[tag]
            assert key not in recs[-1], ("field twice in a record", key)
            recs[-1][key] = value
        else:
            summary[tag] = value
    for r in recs:
        assert set(r) == set(RECORD_TAGS.values()), r
    return summary, recs


def log_request(op, user=None, all_=False, type_=None, since=None, cursor=None, until=None, count=None):
    fields = []
    if user is not None:
        fields.append((T_USER, user))
    if all_:
        fields.append((T_ALL, 1))
    if type_ is not None:
        fields.append((T_TYPE, type_))
    for tag, v in ((T_SINCE, since), (T_ID, cursor), (T_UNTIL, until), (T_COUNT, count)):
        if v is not None:
            fields.append((tag, v))
    return frame(op, *fields)


def log_page(d, op, **kw):
    rtype, f = d.call(log_request(op, **kw))
    if rtype != REPLY_OK:
        return rtype, (get(f, T_ERRNO, True), get(f, T_MESSAGE))
    return rtype, page_of(f)


def export_ids(d, call=None, **kw):
    """Every page of an export: the ids in order, the pages' summaries."""
    call = call or d.call
    ids, pages, cursor, until = [], [], 0, 0
    while True:
        rtype, f = call(log_request(OP_LOG_EXPORT, cursor=cursor, until=until, **kw))
        assert rtype == REPLY_OK, (get(f, T_ERRNO, True), get(f, T_MESSAGE))
        summary, recs = page_of(f)
        pages.append(summary)
        assert summary[T_COUNT] == len(recs), summary
        until = until or summary[T_UNTIL]
        assert summary[T_UNTIL] == until, "the end moved"
        ids += [r["id"] for r in recs]
        assert all(cursor < r["id"] <= summary[T_ID] for r in recs), (cursor, summary, recs[:1])
        if not summary[T_MORE]:
            assert summary[T_ID] >= until
            return ids, pages
        assert summary[T_ID] > cursor, "a page that does not move on"
        cursor = summary[T_ID]


EVENT_COLS = "time, type, user, service, rhost, tty, actor, detail"


def add_events(d, rows):
    """Rows (time, type, user, service, rhost, tty, actor, detail) straight
    into the daemon's database (WAL: the daemon may be running)."""
    con = sqlite3.connect(os.path.join(d.state, "acctsec.db"), timeout=30)
    try:
        con.executemany("INSERT INTO events (%s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)" % EVENT_COLS, rows)
        con.commit()
    finally:
        con.close()


def ev(t, type_, user, service="sshd", rhost="", tty="", actor="", detail=""):
    return (t, type_, user, service, rhost, tty, actor, detail)


def with_roles(d, extra_conf=""):
    """bob audits (audit_group), carol (uid 1003) administers (admin_group)."""
    d.stop()
    with open(os.path.join(d.dir, "passwd"), "a") as f:
        f.write("carol:x:1003:1003::/home/carol:/bin/sh\n")
    with open(os.path.join(d.dir, "group"), "a") as f:
        f.write("carol:x:1003:\nauditors:x:3000:bob\nadmins:x:3001:carol\n")
    d.write_conf("audit_group = auditors\nadmin_group = admins\n" + extra_conf)
    d.start()


def caller_is_admin(d):
    """As root the test is an administrator already; otherwise its own uid
    (the daemon's user "tester") joins admin_group."""
    if ROOT:
        return
    d.stop()
    with open(os.path.join(d.dir, "group"), "a") as f:
        f.write("admins:x:3001:tester\n")
    d.write_conf(open(d.conf).read() + "admin_group = admins\n")
    d.start()


def as_caller(uid, d, fn):
    """fn(call) as uid; call sends a frame and returns (type, fields)."""
    return eval(as_uid(uid, lambda: fn(d.call)))  # noqa: S307 - our own repr


@test
def log_show_by_role(d):
    if not ROOT:
        return "SKIP needs root to act as other uids"
    with_roles(d)
    now = int(time.time())
    add_events(d, [ev(now - 50 + i, "auth_failure", u, detail="n=%d" % i)
                   for i, u in enumerate(["alice", "bob", "alice", "ghost", "root", "alice", "carol"])])

    def show(**kw):
        def fn(call):
            rtype, f = call(log_request(OP_LOG_SHOW, **kw))
            if rtype != REPLY_OK:
                return ("error", get(f, T_ERRNO, True), get(f, T_MESSAGE))
            return [(r["user"], r["detail"]) for r in page_of(f)[1]]
        return fn

    alice_rows = [("alice", "n=5"), ("alice", "n=2"), ("alice", "n=0")]  # newest first
    assert as_caller(1001, d, show()) == alice_rows
    assert as_caller(1001, d, show(user="alice")) == alice_rows
    # the auditor and the admin: anyone's (a user gone from NSS too), everyone's
    for uid in (1002, 1003):
        assert as_caller(uid, d, show(user="alice")) == alice_rows
        assert as_caller(uid, d, show(user="ghost")) == [("ghost", "n=3")]
        everyone = as_caller(uid, d, show(all_=True))
        assert [u for u, _ in everyone] == ["carol", "alice", "root", "ghost", "alice", "bob", "alice"], everyone
    assert as_caller(1002, d, show()) == [("bob", "n=1")]  # no --user: one's own
    rtype, (summary, recs) = log_page(d, OP_LOG_SHOW, all_=True)
    assert len(recs) == 7 and summary[T_MORE] == 0 and summary[T_ID] == 0, summary

    # export: the same rules
    def export(**kw):
        def fn(call):
            rtype, f = call(log_request(OP_LOG_EXPORT, **kw))
            return (get(f, T_ERRNO, True), get(f, T_MESSAGE)) if rtype != REPLY_OK else page_of(f)[0][T_COUNT]
        return fn
    assert as_caller(1001, d, export()) == 3
    assert as_caller(1002, d, export(all_=True)) == 8  # alice's export was logged
    assert as_caller(1003, d, export(user="ghost")) == 1
    # three exports were logged, with the caller as actor
    rows = d.db("SELECT user, actor, detail FROM events WHERE type = 'log_exported' ORDER BY id")
    assert [r[:2] for r in rows] == [("alice", "alice"), ("*", "bob"), ("ghost", "carol")], rows
    # Last (refusals may be logged as events themselves): someone else's, an
    # unknown user's (with events or without), everyone's: one refusal.
    refusal = ("error", 1, "only admins and auditors may see other users")
    for kw in (dict(user="bob"), dict(user="ghost"), dict(user="nosuchuser"), dict(all_=True)):
        assert as_caller(1001, d, show(**kw)) == refusal, kw
        assert as_caller(1001, d, export(**kw)) == refusal[1:], kw
    assert as_caller(1001, d, show(user="alice", all_=True))[:2] == ("error", 22)
    log = open(d.log).read()
    assert "refused log-show from uid 1001" in log and "refused log-export from uid 1001" in log
    assert len(d.db("SELECT id FROM events WHERE type = 'log_exported'")) == 3


@test
def log_show_filters_and_pages(d):
    caller_is_admin(d)
    now = int(time.time())
    rows = [ev(now - 1000, "unlock", "alice", actor="root"), ev(now - 900, "legacy_type", "alice")]
    rows += [ev(now - 500 + i, "auth_failure" if i % 3 else "auth_success", "alice", rhost="10.0.0.%d" % i,
                detail="i=%d" % i) for i in range(10)]
    add_events(d, rows)
    rtype, (summary, recs) = log_page(d, OP_LOG_SHOW, user="alice")
    assert [r["id"] for r in recs] == list(range(12, 0, -1)), recs
    outcomes = {r["type"]: r["outcome"] for r in recs}
    assert outcomes == {"auth_failure": "failure", "auth_success": "success", "unlock": "info",
                        "legacy_type": "info"}, outcomes
    assert recs[-1]["actor"] == "root" and recs[0]["rhost"] == "10.0.0.9" and recs[0]["service"] == "sshd"
    assert recs[0]["time"] == now - 491
    # type and since, alone and together
    rtype, (s, recs) = log_page(d, OP_LOG_SHOW, user="alice", type_="auth_success")
    assert [r["detail"] for r in recs] == ["i=9", "i=6", "i=3", "i=0"], recs
    rtype, (s, recs) = log_page(d, OP_LOG_SHOW, user="alice", since=now - 495)
    assert [r["detail"] for r in recs] == ["i=%d" % i for i in range(9, 4, -1)], recs
    rtype, (s, recs) = log_page(d, OP_LOG_SHOW, user="alice", since=now - 495, type_="auth_success")
    assert [r["detail"] for r in recs] == ["i=9", "i=6"], recs
    for bad, why in (("nosuch", "unknown event type nosuch"), ("Auth_Failure", "unknown event type Auth_Failure")):
        assert log_page(d, OP_LOG_SHOW, type_=bad) == (REPLY_ERROR, (22, why))
        assert log_page(d, OP_LOG_EXPORT, type_=bad) == (REPLY_ERROR, (22, why))
    assert log_page(d, OP_LOG_SHOW, count=0)[1][0] == 22
    # pages of 5, newest first, each starting below the last
    got, cursor = [], 0
    while True:
        rtype, (s, recs) = log_page(d, OP_LOG_SHOW, user="alice", count=5, cursor=cursor)
        assert s[T_COUNT] == len(recs) <= 5
        got += [r["id"] for r in recs]
        if not s[T_MORE]:
            break
        assert recs and s[T_ID] == recs[-1]["id"], s
        cursor = s[T_ID]
    assert got == list(range(12, 0, -1)), got


@test
def log_show_is_capped_at_one_frame(d):
    """A record has 11 fields and a reply at most 1024: a large COUNT gets
    what fits, and says there is more."""
    caller_is_admin(d)
    now = int(time.time())
    add_events(d, [ev(now, "auth_failure", "alice", detail="x" * 40) for _ in range(300)])
    rtype, (s, recs) = log_page(d, OP_LOG_SHOW, all_=True, count=10000)
    fields = 3 + 11 * len(recs)  # ID MORE COUNT, then the records
    assert fields <= 1024 < fields + 11 and len(recs) == s[T_COUNT] and s[T_MORE] == 1, (len(recs), s)
    assert s[T_ID] == recs[-1]["id"] == 300 - len(recs) + 1
    # long strings fill the frame before the fields run out
    add_events(d, [ev(now, "auth_failure", "alice", detail="y" * 4000) for _ in range(30)])
    rtype, (s, recs) = log_page(d, OP_LOG_SHOW, all_=True, count=10000)
    assert 10 < len(recs) < 17 and s[T_MORE] == 1, len(recs)


@test
def log_export_pages_are_exact(d):
    """Pages carry the matching ids exactly once, in order, up to an end
    fixed by the first page; events added meanwhile stay out."""
    caller_is_admin(d)
    now = int(time.time())
    types = ["auth_failure", "auth_success", "session_opened", "lockout"]
    add_events(d, [ev(now - 5000 + i, types[i % 4], ("alice", "bob", "carol")[i % 3], detail="i=%d" % i)
                   for i in range(5000)])
    cases = [dict(all_=True), dict(user="alice"), dict(all_=True, type_="lockout"),
             dict(user="bob", type_="auth_success", since=now - 2000), dict(user="nobody")]
    for kw in cases:
        where, args = ["id <= 5000"], []
        if kw.get("user"):
            where.append("user = ?"), args.append(kw["user"])
        if kw.get("type_"):
            where.append("type = ?"), args.append(kw["type_"])
        if kw.get("since"):
            where.append("time >= ?"), args.append(kw["since"])
        want = [r[0] for r in d.db("SELECT id FROM events WHERE %s ORDER BY id" % " AND ".join(where), *args)]
        ids, pages = export_ids(d, **kw)
        assert ids == want, (kw, len(ids), len(want))
        assert pages[0][T_UNTIL] == 5000 + cases.index(kw), pages[0]  # the log_exported events come after
    # a fixed end: what is added after the first page is not exported
    s = d.connect()
    call = lambda data: d.call(data, s)  # noqa: E731
    first = [True]

    def call_and_add(data):
        r = call(data)
        if first[0]:
            first[0] = False
            add_events(d, [ev(now, "auth_failure", "alice") for _ in range(50)])
        return r
    ids, pages = export_ids(d, call=call_and_add, user="alice")
    s.close()
    assert ids == [r[0] for r in d.db("SELECT id FROM events WHERE user = 'alice' AND id <= ? ORDER BY id",
                                      pages[0][T_UNTIL])]
    assert max(ids) < d.db("SELECT max(id) FROM events")[0][0] - 49
    # each export was logged once, on its first page
    rows = d.db("SELECT user, actor, detail FROM events WHERE type = 'log_exported' ORDER BY id")
    assert len(rows) == len(cases) + 1, rows
    me = "root" if ROOT else "tester"
    assert rows[0] == ("*", me, "all users until=5000"), rows[0]
    assert rows[3] == ("bob", me, "user=bob type=auth_success since=%d until=5003" % (now - 2000)), rows[3]


@test
def log_export_of_a_rare_type_is_bounded(d):
    """A type that matches one row in 100,000: each page looks at a bounded
    number of rows and returns its cursor, with or without records."""
    caller_is_admin(d)
    now = int(time.time())
    n = 5 * EXAMINE_MAX
    add_events(d, [ev(now - 10, "unlock", "alice")] + [ev(now, "auth_success", "alice")] * n +
               [ev(now, "lockout", "alice")])
    rtype, (s, recs) = log_page(d, OP_LOG_EXPORT, all_=True, type_="lockout", cursor=0, until=0)
    assert recs == [] and s[T_COUNT] == 0 and s[T_MORE] == 1, s
    assert s[T_ID] == EXAMINE_MAX and s[T_UNTIL] == n + 2, s
    ids, pages = export_ids(d, all_=True, type_="lockout")
    assert ids == [n + 2] and len(pages) == n // EXAMINE_MAX + 1, (ids, len(pages))
    # newest first, the same bound
    newest = d.db("SELECT max(id) FROM events")[0][0]
    rtype, (s, recs) = log_page(d, OP_LOG_SHOW, all_=True, type_="unlock")
    assert recs == [] and s[T_MORE] == 1 and s[T_ID] == newest - EXAMINE_MAX + 1, s
    rtype, (s, recs) = log_page(d, OP_LOG_SHOW, user="alice", type_="unlock", cursor=EXAMINE_MAX)
    assert [r["id"] for r in recs] == [1] and s[T_MORE] == 0, s


@test
def log_export_survives_odd_rows(d):
    """Rows written by something other than the daemon (control characters,
    over-long text) are cleaned on the way out instead of failing the page."""
    caller_is_admin(d)
    now = int(time.time())
    add_events(d, [ev(now, "auth_failure", "alice", detail="a\x1b[2J\nb"),
                   ev(now, "auth_failure", "alice", detail="z" * 5000)])
    rtype, (s, recs) = log_page(d, OP_LOG_EXPORT, user="alice")
    assert rtype == REPLY_OK, s
    assert [r["id"] for r in recs] == [1, 2], recs
    assert recs[0]["detail"] == "a?[2J?b" and recs[1]["detail"] == "z" * 4096, recs[0]


def wait_until(what, deadline_s=30):
    """Poll a condition the daemon's own timer brings about (bounded)."""
    end = time.monotonic() + deadline_s
    while not what():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


@test
def log_purge_by_retention(d):
    """log_retention_days = 1: the timer deletes older events a batch at a
    time at start, by age (not id), and never the newest event."""
    d.stop()
    now = int(time.time())
    old, young = now - 3 * 86400, now - 3600
    n = 2 * PURGE_BATCH + 500  # three batches, the last one not full
    rows = [ev(old - i, "auth_failure", "alice") for i in range(n)]
    rows += [ev(young, "auth_success", "alice", detail="young %d" % i) for i in range(10)]  # n+1 to n+10
    rows += [ev(old, "auth_failure", "bob", detail="old, after a clock step")] * 5  # n+11 to n+15
    rows += [ev(young - 10, "auth_success", "bob", detail="young")]  # n+16
    rows += [ev(old, "auth_failure", "bob", detail="newest, old")]  # n+17: the newest stays
    add_events(d, rows)
    d.write_conf("log_retention_days = 1\n")
    d.start()
    wait_until(lambda: d.db("SELECT count(*) FROM events WHERE time < ?", now - 86400) == [(1,)])
    left = d.db("SELECT id, detail FROM events ORDER BY id")
    assert [r[0] for r in left] == list(range(n + 1, n + 11)) + [n + 16, n + 17], left[:3]
    plan = " ".join(str(r) for r in d.db("EXPLAIN QUERY PLAN SELECT id FROM events WHERE time < 5 ORDER BY time"))
    assert "events_by_time" in plan, plan
    # ids go on from the newest: never reused
    assert d.call(login_frame(OP_AUTHFAIL, user="alice" if ROOT else "tester"))[0] == REPLY_OK
    assert d.db("SELECT max(id), type FROM events") == [(n + 18, "auth_failure")]


def cli_exe(d):
    """The CLI, copied into the test's directory: the build may sit under a
    private home (/root, mode 0700, in CI) that other uids cannot enter."""
    exe = os.path.join(d.dir, "acctsec")
    if not os.path.exists(exe):
        shutil.copy(os.path.join(BUILD, "acctsec"), exe)
        os.chmod(exe, 0o755)
    return exe


def cli(d, *args, uid=None, nss=False):
    """The CLI as root or uid; nss: with the daemon's users (nss_wrapper),
    for commands that read the passwd database themselves."""
    kw = dict(user=uid, group=uid, extra_groups=[]) if uid is not None else {}
    if nss:
        kw["env"] = d.env()
    return subprocess.run([cli_exe(d), "--socket", d.sock, *args], capture_output=True, text=True, timeout=120,
                          cwd=d.dir, stdin=subprocess.DEVNULL, **kw)


@test
def cli_log_show(d):
    if not ROOT:
        return "SKIP needs root to act as other uids"
    import json
    with_roles(d)
    now = int(time.time())
    add_events(d, [ev(now - 300 + i, ("auth_failure", "unlock")[i % 2], ("alice", "bob")[i // 100],
                      rhost="192.0.2.%d" % i if i % 3 else "", tty="pts/%d" % i, actor="root" if i % 2 else "",
                      detail="i=%d\x1b[31m" % i) for i in range(200)])
    p = cli(d, "log", "show", "--all", "--limit", "3")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["TIME", "USER", "TYPE", "OUTCOME", "SERVICE", "SOURCE", "LOCATION", "DETAIL"], \
        lines[0]
    assert lines[1].split()[2:] == ["bob", "unlock", "info", "sshd", "192.0.2.199", "-", "by", "root:", "i=199?[31m"]
    assert lines[2].split()[2:] == ["bob", "auth_failure", "failure", "sshd", "pts/198", "-", "i=198?[31m"], lines[2]
    assert lines[4].startswith("(older events not shown") and len(lines) == 5, lines
    assert "\x1b" not in p.stdout
    # more than one page (a reply holds at most 93 events), newest first
    p = cli(d, "--json", "log", "show", "--all", "--limit", "150")
    doc = json.loads(p.stdout)
    assert [e["id"] for e in doc["events"]] == list(range(200, 50, -1)) and doc["more"] is True
    p = cli(d, "--json", "log", "show", "--user", "alice", "--type", "unlock", "--since", "@%d" % (now - 210))
    doc = json.loads(p.stdout)
    assert [e["id"] for e in doc["events"]] == [100, 98, 96, 94, 92] and doc["more"] is False, doc
    e = doc["events"][0]
    assert (e["user"], e["type"], e["outcome"], e["actor"], e["unix_time"]) == ("alice", "unlock", "info", "root",
                                                                                 now - 201), e
    # roles: alice sees her own, not bob's nor everyone's; bob audits
    p = cli(d, "--json", "log", "show", "--limit", "1000", uid=1001)
    assert p.returncode == 0 and {e["user"] for e in json.loads(p.stdout)["events"]} == {"alice"}, p
    assert len(json.loads(p.stdout)["events"]) == 100
    p = cli(d, "--json", "log", "show", "--user", "alice", "--limit", "2", uid=1002)
    assert [e["id"] for e in json.loads(p.stdout)["events"]] == [100, 99], p
    p = cli(d, "log", "show", "--user", "nobody")
    assert p.returncode == 0 and p.stdout.splitlines()[1:] == ["(no events)"], p.stdout
    for args in (("--user", "bob"), ("--all",)):  # last: refusals may be logged as events
        for verb in (("show",), ("export", "--format", "csv")):
            p = cli(d, "log", *verb, *args, uid=1001)
            assert p.returncode == 4 and p.stdout == "", (args, p)
            assert "permission denied: only admins and auditors may see other users" in p.stderr, p.stderr


@test
def cli_log_usage_errors(d):
    usage = [
        (("show", "--since", "yesterday"), "--since yesterday: expected YYYY-MM-DD"),
        (("show", "--since", "2025-02-30"), "no such date or local time"),
        (("show", "--since", "7w"), "expected"),
        (("show", "--limit", "0"), "--limit: a number from 1 to 10000"),
        (("show", "--limit", "10001"), "--limit"),
        (("show", "--limit", "-5"), "--limit"),
        (("show", "--limit", "5x"), "--limit"),
        (("show", "--user", "alice", "--all"), "--user and --all exclude each other"),
        (("show", "--format", "csv"), "--format and --output are for log export"),
        (("export",), "log export needs --format json or --format csv"),
        (("export", "--format", "xml"), "--format json or --format csv"),
        (("export", "--format", "csv", "--limit", "5"), "--limit is for log show"),
        (("export", "--format", "json", "--since", "12x"), "--since 12x"),
    ]
    for args, why in usage:
        p = cli(d, "log", *args)
        assert p.returncode == 2 and why in p.stderr and p.stdout == "", (args, p)
    assert d.db("SELECT count(*) FROM events") == [(0,)], "nothing reached the daemon"
    p = cli(d, "log", "show", "--type", "no_such_type")
    assert p.returncode == 1 and "unknown event type no_such_type" in p.stderr, p
    p = cli(d, "log", "export", "--format", "csv", "--type", "no_such_type")
    assert p.returncode == 1 and p.stdout == "" and "unknown event type" in p.stderr, p


@test
def cli_log_export_output_file(d):
    if not ROOT:
        return "SKIP needs root (files of another owner)"
    import json
    add_events(d, [ev(int(time.time()), "auth_failure", "alice", detail=str(i)) for i in range(10)])
    out = os.path.join(d.dir, "out.json")

    def export(path=out):
        return cli(d, "log", "export", "--all", "--format", "json", "--output", path)
    p = export()
    assert p.returncode == 0 and p.stdout == "10 events written to %s\n" % out, p
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert [e["detail"] for e in json.load(open(out))] == [str(i) for i in range(10)]
    # an existing file of ours: replaced, and made private
    os.chmod(out, 0o644)
    with open(out, "a") as f:
        f.write("x" * 100000)
    p = export()
    assert p.returncode == 0 and len(json.load(open(out))) == 11  # the first export's log_exported
    assert os.stat(out).st_mode & 0o777 == 0o600
    # never through a symlink, nor into someone else's file or a second name
    target = os.path.join(d.dir, "target")
    link = os.path.join(d.dir, "link")
    os.symlink(target, link)
    p = export(link)
    assert p.returncode == 1 and "symbolic link" in p.stderr and not os.path.exists(target), p
    with open(target, "w") as f:
        f.write("keep")
    p = export(link)
    assert p.returncode == 1 and open(target).read() == "keep", p
    os.chown(target, 1001, 1001)
    p = export(target)
    assert p.returncode == 1 and "not overwriting" in p.stderr and open(target).read() == "keep", p
    os.chown(target, 0, 0)
    os.link(target, os.path.join(d.dir, "second-name"))
    p = export(target)
    assert p.returncode == 1 and open(target).read() == "keep", p
    # no daemon: no file left behind
    d.stop()
    p = export(os.path.join(d.dir, "new.json"))
    assert p.returncode == 69 and not os.path.exists(os.path.join(d.dir, "new.json")), p


def unguard(cell):
    """A CSV cell as written, without the formula guard (doc/security-log.md)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


@test
def cli_export_100k_events(d):
    """100,000 events through the real CLI, as JSON and as CSV: every row,
    in order, field for field."""
    caller_is_admin(d)
    import csv
    import json
    import re
    n = 100000
    now = int(time.time())
    odd = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tlead", "a,b", "say \"hi\"", "two\nlines", "caf\u00e9",
           "semi;colon", ""]
    add_events(d, [ev(now - n + i, ("auth_failure", "auth_success", "session_opened", "lockout")[i % 4],
                      "user%03d" % (i % 997), service=("sshd", "sudo", "=cmd")[i % 3],
                      rhost="198.51.100.%d" % (i % 250), tty="pts/%d" % (i % 7), actor=("", "root")[i % 2],
                      detail=odd[i % len(odd)] + " %d" % i) for i in range(n)])
    outcome = {"auth_failure": "failure", "auth_success": "success", "session_opened": "success", "lockout": "failure",
               "log_exported": "info"}
    for fmt in ("json", "csv"):
        # The protocol carries no control characters: the daemon sends '?'.
        want = [tuple(re.sub(r"[\x00-\x1f\x7f]", "?", v) if isinstance(v, str) else v for v in row)
                for row in d.db("SELECT id, time, type, user, service, rhost, tty, actor, detail FROM events"
                                " ORDER BY id")]
        assert len(want) == n + (fmt == "csv")  # the first export was logged
        out = os.path.join(d.dir, "export." + fmt)
        start = time.monotonic()
        p = cli(d, "log", "export", "--all", "--format", fmt, "--output", out)
        took = time.monotonic() - start
        print("# %d events as %s in %.2f s (%d bytes)" % (n, fmt, took, os.path.getsize(out)))
        assert p.returncode == 0, p.stderr
        if fmt == "json":
            got = [(e["id"], e["unix_time"], e["type"], e["user"], e["service"], e["rhost"], e["tty"], e["actor"],
                    e["detail"], e["outcome"]) for e in json.load(open(out, encoding="utf-8"))]
        else:
            with open(out, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
            assert rows[0] == ["id", "time", "unix_time", "type", "outcome", "user", "service", "rhost", "tty",
                               "actor", "detail", "host", "country", "city"], rows[0]
            assert all(r[11:] == ["", "", ""] for r in rows[1:]), "one host: no host; no location"
            got = [(int(r[0]), int(r[2]), unguard(r[3]), unguard(r[5]), unguard(r[6]), unguard(r[7]), unguard(r[8]),
                    unguard(r[9]), unguard(r[10]), unguard(r[4])) for r in rows[1:]]
        assert len(got) == len(want), (fmt, len(got))
        bad = [(g[:9], w) for g, w in zip(got, want) if g[:9] != w]
        assert not bad, (fmt, len(bad), bad[:2])
        assert all(g[9] == outcome[g[2]] for g in got), fmt

# --- location (geoip_database) ------------------------------------------------

MAKE_MMDB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "make_mmdb.pl")
T_COUNTRY, T_CITY = 85, 86
NO_WRITER = "SKIP needs Perl's MaxMind::DB::Writer (Debian: libmaxmind-db-writer-perl) to write a test .mmdb"


def make_mmdb(d, name="city.mmdb"):
    """The test database (tests/tools/make_mmdb.pl) in the test's directory,
    or None without the Perl writer."""
    if subprocess.run(["perl", "-MMaxMind::DB::Writer::Tree", "-e", "1"], capture_output=True).returncode != 0:
        return None
    path = os.path.join(d.dir, name)
    subprocess.run(["perl", MAKE_MMDB, path], check=True, timeout=120)
    return path


def mails(d, rhost=None):
    """The messages in the maildir (of logins from rhost, when given), in no
    particular order (children deliver them): (subject, body)."""
    new = os.path.join(d.dir, "maildir", "new")
    out = []
    for name in os.listdir(new) if os.path.isdir(new) else []:
        head, _, body = open(os.path.join(new, name), encoding="utf-8").read().partition("\n\n")
        subject = [h[len("Subject: "):] for h in head.splitlines() if h.startswith("Subject: ")]
        if rhost is None or "  from:    %s\n" % rhost in body:
            out.append((subject[0] if subject else "", body))
    return out


def session_from(d, rhost, user="alice", info=None):
    fields = [(T_USER, user), (T_SERVICE, "sshd"), (T_RHOST, rhost)] + ([(T_AUTH_INFO, info)] if info else [])
    rtype, f = d.call(frame(OP_SESSION_OPEN, *fields))
    assert rtype == REPLY_OK, f
    return get(f, T_SESSION, True)


def events_of(d, type_):
    return d.db("SELECT rhost, country, city, detail FROM events WHERE type = ? ORDER BY id", type_)


@test
def logins_have_a_location_and_a_new_country_is_a_notice(d):
    """With geoip_database: each session and its events carry the country
    and city of the remote address; the first country is learned quietly
    (the new-source mail names it); a second country is a new_location_login
    and one mail, once; a new source in a known country is only a new
    source."""
    if not ROOT:
        return "SKIP needs root (session requests come from root)"
    db = make_mmdb(d)
    if not db:
        return NO_WRITER
    restart_with(d, "mfa = required\nmaildir = %s/maildir\ngeoip_database = %s\n" % (d.dir, db))
    assert "geoip_database %s: GeoLite2-City" % db in open(d.log).read()
    email_user(d)
    session_from(d, "127.0.0.1")                        # Berlin: the first country, not "new"
    wait_until(lambda: len(mails(d)) == 1)
    [(subject, body)] = mails(d, "127.0.0.1")
    assert subject == "New login to your account" and "  where:   Berlin, Germany (DE)\n" in body, body
    assert events_of(d, "new_location_login") == []
    sid = session_from(d, "127.0.0.2")                  # Paris: a new country
    assert d.db("SELECT country, city FROM sessions WHERE id = ?", sid) == [("FR", "Paris")]
    assert events_of(d, "new_location_login") == [
        ("127.0.0.2", "FR", "Paris", "Paris, FR: notified a\u2022\u2022\u2022@example.com")]
    assert events_of(d, "new_source_login")[-1][:3] == ("127.0.0.2", "FR", "Paris")
    assert d.db("SELECT country, city FROM events WHERE type = 'session_opened' ORDER BY id") == [
        ("DE", "Berlin"), ("FR", "Paris")]
    wait_until(lambda: len(mails(d)) == 2)              # one mail for the new source and country
    [(subject, body)] = mails(d, "127.0.0.2")
    assert subject == "Login to your account from a new location", subject
    assert "from a location not seen before" in body and "  where:   Paris, France (FR)\n" in body, body
    # the same source again, and a new source (another key) in France: no new location
    session_from(d, "127.0.0.2")
    key = "publickey ssh-ed25519 " + __import__("base64").b64encode(b"k" * 51).decode()
    session_from(d, "127.0.0.2", info=key)
    wait_until(lambda: len(mails(d)) == 3)
    assert sorted(m[0] for m in mails(d, "127.0.0.2")) == ["Login to your account from a new location",
                                                           "New login to your account"]
    assert len(events_of(d, "new_location_login")) == 1
    assert [m[0] for m in mails(d)].count("Login to your account from a new location") == 1
    # a country without a city; an address the database does not hold
    session_from(d, "10.9.1.1")
    session_from(d, "127.0.0.9")
    assert d.db("SELECT rhost, country, city FROM sessions WHERE rhost IN ('10.9.1.1', '127.0.0.9') ORDER BY id") \
        == [("10.9.1.1", "US", ""), ("127.0.0.9", "", "")]
    assert [e[:3] for e in events_of(d, "new_location_login")] == [("127.0.0.2", "FR", "Paris"),
                                                                   ("10.9.1.1", "US", "")]
    wait_until(lambda: len(mails(d)) == 5)
    assert "  where:   United States (US)\n" in mails(d, "10.9.1.1")[0][1]
    assert "where:" not in mails(d, "127.0.0.9")[0][1]  # a new source without a location
    assert d.db("SELECT user, country FROM known_countries ORDER BY country") == [
        ("alice", "DE"), ("alice", "FR"), ("alice", "US")]
    # what the CLI shows: session list, log show and export
    p = cli(d, "--json", "session", "list", "--all")
    assert p.returncode == 0, p.stderr
    where = {(s["rhost"], s["country"], s["city"]) for s in json.loads(p.stdout)["sessions"]}
    assert where == {("127.0.0.1", "DE", "Berlin"), ("127.0.0.2", "FR", "Paris"), ("10.9.1.1", "US", None),
                     ("127.0.0.9", None, None)}, where
    p = cli(d, "session", "list", "--all")
    lines = p.stdout.splitlines()
    assert "LOCATION" in lines[0].split(), lines[0]
    assert any("127.0.0.2" in ln and "Paris, FR" in ln for ln in lines), p.stdout
    assert any("10.9.1.1" in ln and " US " in ln for ln in lines), p.stdout
    assert any("127.0.0.9" in ln and " - " in ln for ln in lines), p.stdout
    rtype, f = d.call(log_request(OP_LOG_SHOW, user="alice", type_="new_location_login"))
    assert rtype == REPLY_OK and (get(f, T_COUNTRY), get(f, T_CITY)) == ("US", ""), f
    p = cli(d, "--json", "log", "show", "--user", "alice", "--type", "new_location_login")
    ev = json.loads(p.stdout)["events"]
    assert [(e["country"], e["city"]) for e in ev] == [("US", ""), ("FR", "Paris")], ev
    p = cli(d, "log", "show", "--user", "alice", "--type", "new_location_login")
    assert "Paris, FR" in p.stdout.splitlines()[2], p.stdout
    p = cli(d, "log", "export", "--user", "alice", "--format", "csv")
    rows = p.stdout.splitlines()
    assert rows[0].endswith(",host,country,city"), rows[0]
    assert any(r.startswith(tuple("0123456789")) and ",new_location_login," in r and r.endswith(",FR,Paris")
               for r in rows), rows
    p = cli(d, "log", "export", "--user", "alice", "--format", "json")
    exported = json.loads(p.stdout)
    assert ("new_location_login", "FR", "Paris") in {(e["type"], e["country"], e["city"]) for e in exported}


@test
def a_hostile_location_database_cannot_reach_a_terminal(d):
    """Names from the file are data: escapes and reordering marks never
    reach the store, the CLI or a mail; a code that is no country code
    gives no location."""
    if not ROOT:
        return "SKIP needs root (session requests come from root)"
    db = make_mmdb(d)
    if not db:
        return NO_WRITER
    restart_with(d, "mfa = required\nmaildir = %s/maildir\ngeoip_database = %s\n" % (d.dir, db))
    email_user(d)
    session_from(d, "127.0.0.3")
    session_from(d, "127.0.0.4")
    session_from(d, "127.0.0.5")
    assert d.db("SELECT rhost, country, city FROM sessions ORDER BY id") == [
        ("127.0.0.3", "NL", "Bad]0;pwnedCity"), ("127.0.0.4", "", ""), ("127.0.0.5", "IT", "A" * 63)]
    p = cli(d, "session", "list", "--all")
    assert "\x1b" not in p.stdout and "\x07" not in p.stdout and "\u202e" not in p.stdout
    wait_until(lambda: len(mails(d)) == 3)
    [(_, body)] = mails(d, "127.0.0.3")
    assert "  where:   Bad]0;pwnedCity, Evil[31mland (NL)\n" in body, body
    assert all("\x1b" not in body and "\x9b" not in body for _, body in mails(d))


@test
def new_location_notices_follow_the_notification_settings(d):
    """notify_new_source = no: the new country is logged, not mailed; the
    user's own opt-out the same."""
    if not ROOT:
        return "SKIP needs root (session requests come from root)"
    db = make_mmdb(d)
    if not db:
        return NO_WRITER
    restart_with(d, "mfa = required\nmaildir = %s/maildir\ngeoip_database = %s\nnotify_new_source = no\n" % (d.dir, db))
    email_user(d)
    session_from(d, "127.0.0.1")
    session_from(d, "127.0.0.2")
    assert events_of(d, "new_location_login") == [
        ("127.0.0.2", "FR", "Paris", "Paris, FR: not notified: notifications are off")]
    restart_with(d, "mfa = required\nmaildir = %s/maildir\ngeoip_database = %s\n" % (d.dir, db))
    d.db("INSERT INTO notify (user, new_source) VALUES ('alice', 0)")
    session_from(d, "10.9.0.1")
    assert events_of(d, "new_location_login")[-1] == ("10.9.0.1", "US", "", "US: not notified: notifications are off")
    assert mails(d) == [] and d.db("SELECT count(*) FROM mail_sent") == [(0,)]


@test
def without_geoip_database_nothing_has_a_location(d):
    if not ROOT:
        return "SKIP needs root (session requests come from root)"
    restart_with(d, "mfa = required\nmaildir = %s/maildir\n" % d.dir)
    email_user(d)
    session_from(d, "127.0.0.1")
    session_from(d, "127.0.0.2")
    assert d.db("SELECT country, city FROM sessions") == [("", ""), ("", "")]
    assert d.db("SELECT count(*) FROM events WHERE country != '' OR city != ''") == [(0,)]
    assert events_of(d, "new_location_login") == [] and d.db("SELECT count(*) FROM known_countries") == [(0,)]
    wait_until(lambda: len(mails(d)) == 2)
    assert [m[0] for m in mails(d)] == ["New login to your account"] * 2
    assert all("where:" not in body for _, body in mails(d))
    p = cli(d, "--json", "session", "list", "--all")
    assert {(s["country"], s["city"]) for s in json.loads(p.stdout)["sessions"]} == {(None, None)}
    # the raw reply: COUNTRY and CITY are there, empty; log records leave them out
    rtype, f = d.call(log_request(OP_LOG_SHOW, all_=True))
    assert rtype == REPLY_OK and get(f, T_COUNT, True) > 0 and get(f, T_COUNTRY) is None, f


@test
def a_bad_geoip_database_is_a_warning_and_logins_go_on(d):
    """A missing file or one that is not a database: a warning, logins are
    served without location; a reload after the file is fixed picks it up."""
    if not ROOT:
        return "SKIP needs root (login and session requests come from root)"
    db = make_mmdb(d)
    if not db:
        return NO_WRITER
    bad = os.path.join(d.dir, "bad.mmdb")
    for text in (None, "not a database\n"):
        if text is not None:
            with open(bad, "w") as f:
                f.write(text)
        restart_with(d, "geoip_database = %s\n" % bad)
        log = open(d.log).read()
        want = "No such file or directory" if text is None else "not a MaxMind DB file"
        assert "geoip_database %s: %s" % (bad, want) in log and "logins have no location" in log, log[-2000:]
        assert get(d.call(login_frame(OP_PREAUTH, rhost="127.0.0.2"))[1], T_DECISION, True) == 0
        sid = session_from(d, "127.0.0.2")
        assert d.db("SELECT country, city FROM sessions WHERE id = ?", sid) == [("", "")]
    os.replace(db, bad)                                  # as geoipupdate does: a new file renamed into place
    rtype, f = d.call(frame(OP_RELOAD))
    assert rtype == REPLY_OK, f
    sid = session_from(d, "127.0.0.2")
    assert d.db("SELECT country, city FROM sessions WHERE id = ?", sid) == [("FR", "Paris")]
    # and SIGHUP with the line gone: no location again
    d.write_conf("")
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: open(d.log).read().count("reloaded") >= 2)
    sid = session_from(d, "127.0.0.2")
    assert d.db("SELECT country, city FROM sessions WHERE id = ?", sid) == [("", "")]



# --- second-factor relief: trusted networks and remembered devices ------------
OP_MFA_VERIFY, OP_MFA_RESET, OP_DEVICE_LIST, OP_DEVICE_REVOKE = 10, 14, 54, 55
T_CODE, T_REASON, T_REVOKED = 6, 93, 94


def enrol_totp(d, user="alice"):
    """An active TOTP for user; returns its ten backup codes (each a good code once)."""
    out = json.loads(cli(d, "--json", "mfa", "enroll", "totp", "--user", user).stdout)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
    from sshd_env import totp
    step = int(time.time()) // 30
    r = cli(d, "--json", "mfa", "confirm", totp(out["secret"], step - 1), "--user", user)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["backup_codes"]


def mfa_frame(op, user="alice", rhost=None, key=None, flag=None, code=None):
    fields = [(T_USER, user), (T_SERVICE, "sshd")]
    if rhost:
        fields.append((T_RHOST, rhost))
    if key:
        fields.append((T_AUTH_INFO, "publickey ssh-ed25519 " + key))
    if flag is not None:
        fields.append((T_FLAG, flag))
    if code is not None:
        fields.append((T_CODE, code))
    return frame(op, *fields)


def begin(d, **kw):
    """MFA_BEGIN: (what to ask, the reason for asking nothing, the decision)."""
    rtype, f = d.call(mfa_frame(OP_MFA_BEGIN, **kw))
    assert rtype == REPLY_OK, f
    return get(f, T_MFA, True), get(f, T_REASON), get(f, T_DECISION, True)


def good_code(d, code, **kw):
    rtype, f = d.call(mfa_frame(OP_MFA_VERIFY, code=code, **kw))
    assert rtype == REPLY_OK and get(f, T_DECISION, True) == 0, f


def preauth_hint(d, **kw):
    rtype, f = d.call(mfa_frame(OP_PREAUTH, **kw))
    assert rtype == REPLY_OK and get(f, T_DECISION, True) == 0, f
    return get(f, T_MFA, True)


def details_of(d, type_):
    return [r[0] for r in d.db("SELECT detail FROM events WHERE type = ? ORDER BY id", type_)]


def ssh_key():
    """A made-up ed25519 public key (base64 blob) and its OpenSSH fingerprint."""
    import base64
    import hashlib
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + os.urandom(32)
    fp = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return base64.b64encode(blob).decode(), fp


@test
def trusted_network_skips_the_code_and_logs_why(d):
    restart_with(d, "mfa_skip_networks = 10.1.0.0/16,LOCAL\n")
    enrol_totp(d)
    assert begin(d, rhost="10.1.2.3") == (0, "trusted network 10.1.0.0/16", 0)
    assert details_of(d, "mfa_skipped") == ["trusted network 10.1.0.0/16"]
    assert d.db("SELECT count(*) FROM events WHERE type = 'auth_success'") == [(1,)], "a skip ends the login"
    assert begin(d) == (0, "trusted network LOCAL", 0), "LOCAL: no remote host"
    # Outside: the code is asked, and nothing is logged as skipped.
    assert begin(d, rhost="192.0.2.7")[:2] == (1, None)
    assert begin(d, rhost="10.2.0.1")[:2] == (1, None)
    assert begin(d, rhost="host.example.com")[:2] == (1, None), "a host name is no network"
    # PREAUTH's "the code comes next" hint: never where a skip applies.
    assert preauth_hint(d, rhost="10.1.2.3") is None
    assert preauth_hint(d, rhost="192.0.2.7") == 1
    assert len(details_of(d, "mfa_skipped")) == 2
    # Never when no first factor was checked (sshd's keyboard-interactive alone).
    assert begin(d, rhost="10.1.2.3", flag=1)[:2] == (1, None)
    # Never for a caller that is not root (a screen locker picks no relief for itself).
    if ROOT:
        got = as_uid(1001, lambda: begin(d, rhost="10.1.2.3")[:2])
        assert got == repr((1, None)), got
    # Never past the allowlist, nor for a disabled account.
    assert cli(d, "allowlist", "add", "192.0.2.0/24").returncode == 0
    assert begin(d, rhost="10.1.2.3")[:2] == (1, None)
    assert cli(d, "allowlist", "remove", "192.0.2.0/24").returncode == 0
    assert cli(d, "account", "disable", "--user", "alice").returncode == 0
    assert begin(d, rhost="10.1.2.3")[:2] == (1, None)
    assert cli(d, "account", "enable", "--user", "alice").returncode == 0
    # Never for a locked user.
    for _ in range(3):
        d.call(login_frame(OP_AUTHFAIL, rhost="10.1.2.3"))
    assert begin(d, rhost="10.1.2.3") == (1, None, 1)
    assert len(details_of(d, "mfa_skipped")) == 2


@test
def a_good_code_is_remembered_only_for_an_allowlisted_source(d):
    restart_with(d, "remember_device = 1d\n")
    codes = enrol_totp(d)
    good_code(d, codes[0], rhost="192.0.2.7")
    assert d.db("SELECT count(*) FROM devices") == [(0,)], "no allowlist: nothing remembered"
    assert begin(d, rhost="192.0.2.7")[:2] == (1, None)
    assert cli(d, "allowlist", "add", "192.0.2.0/24", "--user", "alice").returncode == 0
    good_code(d, codes[1], rhost="198.51.100.9")
    assert d.db("SELECT count(*) FROM devices") == [(0,)], "a source outside the allowlist"
    good_code(d, codes[2], rhost="192.0.2.7")
    rows = d.db("SELECT user, kind, device, source, expires - created FROM devices")
    assert rows == [("alice", "address", "192.0.2.7", "192.0.2.7", 86400)], rows
    assert len(details_of(d, "device_remembered")) == 1 and "address 192.0.2.7 from 192.0.2.7 until" in \
        details_of(d, "device_remembered")[0]
    # The next login from it: no code, and why.
    what, reason, _ = begin(d, rhost="192.0.2.7")
    assert what == 0 and reason.startswith("remembered device 192.0.2.7 until "), reason
    assert details_of(d, "mfa_skipped") == [reason]
    assert preauth_hint(d, rhost="192.0.2.7") is None and preauth_hint(d, rhost="192.0.2.8") == 1
    assert begin(d, rhost="192.0.2.8")[:2] == (1, None), "another address is another device"
    assert begin(d, rhost="192.0.2.7", flag=1)[:2] == (1, None), "never without a first factor"
    # A key is the device when sshd passed one: from any allowlisted source.
    key, fp = ssh_key()
    good_code(d, codes[3], rhost="192.0.2.8", key=key)
    assert d.db("SELECT kind, device, source FROM devices WHERE kind = 'key'") == [("key", fp, "192.0.2.8")]
    what, reason, _ = begin(d, rhost="192.0.2.9", key=key)
    assert what == 0 and reason.startswith("remembered device %s until " % fp), reason
    assert begin(d, rhost="192.0.2.9")[:2] == (1, None), "no key: the address, not remembered"
    # Off the allowlist (the entry removed: every list empty), no skip.
    assert cli(d, "allowlist", "remove", "192.0.2.0/24", "--user", "alice").returncode == 0
    assert begin(d, rhost="192.0.2.7")[:2] == (1, None)
    assert begin(d, rhost="192.0.2.9", key=key)[:2] == (1, None)
    assert len(details_of(d, "mfa_skipped")) == 2


@test
def a_remembered_device_expires(d):
    restart_with(d, "remember_device = 1h\nallowlist = 192.0.2.0/24\n")
    codes = enrol_totp(d)
    good_code(d, codes[0], rhost="192.0.2.7")
    assert begin(d, rhost="192.0.2.7")[0] == 0
    d.db("UPDATE devices SET expires = strftime('%s', 'now') - 1")
    assert begin(d, rhost="192.0.2.7")[:2] == (1, None), "expired"
    # A shorter remember_device applies to devices remembered before it.
    good_code(d, codes[1], rhost="192.0.2.7")
    d.db("UPDATE devices SET created = strftime('%s', 'now') - 1800")
    assert begin(d, rhost="192.0.2.7")[0] == 0
    restart_with(d, "remember_device = 20m\nallowlist = 192.0.2.0/24\n")
    assert begin(d, rhost="192.0.2.7")[:2] == (1, None)
    restart_with(d, "allowlist = 192.0.2.0/24\n")
    d.db("UPDATE devices SET created = strftime('%s', 'now')")
    assert begin(d, rhost="192.0.2.7")[:2] == (1, None), "remember_device = 0: off"


@test
def remembered_devices_are_listed_and_revoked(d):
    restart_with(d, "remember_device = 30d\nallowlist = 192.0.2.0/24\n")
    codes = enrol_totp(d)
    key, fp = ssh_key()
    good_code(d, codes[0], rhost="192.0.2.7")
    good_code(d, codes[1], rhost="192.0.2.8", key=key)
    r = cli(d, "--json", "device", "list", "--user", "alice")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["remember_device"] == 30 * 86400, r.stdout
    assert [(x["kind"], x["device"], x["source"]) for x in doc["devices"]] == \
        [("address", "192.0.2.7", "192.0.2.7"), ("key", fp, "192.0.2.8")], doc
    r = cli(d, "device", "list", "--user", "alice")
    assert fp in r.stdout and "192.0.2.7" in r.stdout, r.stdout
    if ROOT:  # another user may neither see nor revoke them
        r = cli(d, "device", "list", "--user", "alice", uid=1002)
        assert r.returncode == 4, (r.returncode, r.stdout, r.stderr)
        r = cli(d, "device", "revoke", "--all", "--user", "alice", uid=1002)
        assert r.returncode == 4 and d.db("SELECT count(*) FROM devices") == [(2,)]
    first = doc["devices"][0]["id"]
    r = cli(d, "--json", "device", "revoke", str(first), "--user", "alice")
    assert r.returncode == 0 and json.loads(r.stdout)["revoked"] == 1, r.stdout
    assert cli(d, "device", "revoke", str(first), "--user", "alice").returncode == 1, "gone already"
    assert begin(d, rhost="192.0.2.7")[:2] == (1, None), "revoked: the code is asked again"
    assert begin(d, rhost="192.0.2.8", key=key)[0] == 0
    assert details_of(d, "device_revoked") == ["device %d (address 192.0.2.7) by an administrator" % first]
    # "Sign out all other sessions" revokes them too, and says so.
    r = cli(d, "session", "terminate", "--all-others", "--user", "alice")
    assert r.returncode == 0 and "1 remembered device revoked" in r.stdout, (r.stdout, r.stderr)
    assert d.db("SELECT count(*) FROM devices") == [(0,)]
    assert details_of(d, "device_revoked")[-1] == "1 remembered device (session terminate --all-others)"
    assert begin(d, rhost="192.0.2.8", key=key)[:2] == (1, None)
    # ... and an admin's mfa reset (a lost phone).
    good_code(d, codes[2], rhost="192.0.2.7")
    r = cli(d, "--json", "mfa", "reset", "--user", "alice")
    assert r.returncode == 0 and json.loads(r.stdout)["devices_revoked"] == 1, r.stdout
    assert d.db("SELECT count(*) FROM devices") == [(0,)]
    assert cli(d, "device", "revoke", "--user", "alice").returncode == 2, "an id or --all"


@test
def status_shows_the_password_rules(d):
    """status: the rules a new password must meet (the sentence passwd
    shows) and whether the user may change it, per user's policy."""
    restart_with(d, "min_length = 14\nrequire_upper = no\nrequire_lower = no\nrequire_special = no\nhistory = 3\n"
                    "[group bob]\nallow_self_change = no\nmin_length = 20\n")
    doc = json.loads(cli(d, "--json", "status", "--user", "alice").stdout)
    assert doc["password_rules"] == ("Password policy: at least 14 characters, with a digit; not containing your"
                                     " user name; not one of your last 3 passwords."), doc
    assert doc["password_self_change"] is True and doc["user"] == "alice", doc
    doc = json.loads(cli(d, "--json", "status", "--user", "bob").stdout)
    assert doc["password_rules"].startswith("Password policy: at least 20 characters, with a digit;"), doc
    assert doc["password_self_change"] is False, doc
    assert doc["totp"] == "none" and doc["locked"] is False, "the other fields stay"
    text = cli(d, "status", "--user", "bob").stdout.splitlines()
    rules = [i for i, line in enumerate(text) if line.startswith("Password rules:  ")]
    assert len(rules) == 1 and text[rules[0]].endswith("at least 20 characters, with a digit; not containing your"
                                                       " user name; not one of your last 3 passwords."), text
    assert "made by an administrator" in text[rules[0] + 1], text
    assert "administrator" not in cli(d, "status", "--user", "alice").stdout


def finder_at(qr, top, left):
    """The 7x7 finder pattern: a dark ring, a light ring, a dark 3x3 core."""
    for y in range(7):
        for x in range(7):
            ring = max(abs(y - 3), abs(x - 3))
            if qr[top + y][left + x] != ("0" if ring == 2 else "1"):
                return False
    return True


@test
def enroll_json_has_the_qr_code(d):
    """mfa enroll totp --json: the QR code of the URI as rows of 1 (dark)
    and 0 (light), no quiet zone, beside the fields scripts already read."""
    r = cli(d, "--json", "mfa", "enroll", "totp", "--user", "alice")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["uri"].startswith("otpauth://totp/") and doc["secret"] in doc["uri"], doc
    assert doc["state"] == "pending" and len(doc["secret"]) >= 16, doc
    qr = doc["qr"]
    w = len(qr)
    assert w >= 21 and (w - 21) % 4 == 0, w
    assert all(len(row) == w and set(row) <= {"0", "1"} for row in qr), qr
    assert finder_at(qr, 0, 0) and finder_at(qr, 0, w - 7) and finder_at(qr, w - 7, 0), "\n".join(qr)
    assert not finder_at(qr, w - 7, w - 7), "three corners only"
    # separators: a light line around each finder, and the timing pattern between them
    assert qr[7][:8] == "0" * 8 and qr[7][w - 8:] == "0" * 8 and qr[w - 8][:8] == "0" * 8, qr
    assert qr[6][8:w - 8] == ("10" * w)[:w - 16], qr[6]
    # a new enrolment, a new key: another code
    again = json.loads(cli(d, "--json", "mfa", "enroll", "totp", "--user", "alice").stdout)
    assert again["secret"] != doc["secret"] and again["qr"] != qr


@test
def fleet_hosts_on_one_host(d):
    """fleet hosts with store = sqlite: this host alone, seen now, with its
    active sessions; admins and auditors only."""
    if not ROOT:
        return "SKIP needs root (sessions are root's; other uids)"
    with_roles(d, "host_id = web-1.example\n")
    for user in ("alice", "bob"):
        assert d.call(frame(OP_SESSION_OPEN, (T_USER, user), (T_SERVICE, "sshd")))[0] == REPLY_OK
    rtype, f = d.call(frame(OP_SESSION_OPEN, (T_USER, "carol"), (T_SERVICE, "sshd")))
    d.call(frame(OP_SESSION_CLOSE, (T_USER, "carol"), (T_SESSION, get(f, T_SESSION, True))))
    before = int(time.time())
    for uid in (None, 1002, 1003):  # root, bob (auditor), carol (admin)
        r = cli(d, "--json", "fleet", "hosts", uid=uid)
        assert r.returncode == 0, (uid, r.stderr)
        doc = json.loads(r.stdout)
        assert doc["fleet"] is False and [h["host"] for h in doc["hosts"]] == ["web-1.example"], doc
        assert doc["hosts"][0]["sessions"] == 2 and before <= doc["hosts"][0]["last_seen"] <= time.time(), doc
    lines = cli(d, "fleet", "hosts").stdout.splitlines()
    assert lines[0].split() == ["HOST", "LAST", "SEEN", "SESSIONS"], lines
    assert lines[1].startswith("web-1.example ") and lines[1].split()[-1] == "2", lines
    r = cli(d, "--json", "fleet", "hosts", uid=1001)
    assert r.returncode == 4 and json.loads(r.stdout)["exit_status"] == 4, (r.stdout, r.stderr)
    assert "only admins and auditors may list the fleet's hosts" in r.stderr, r.stderr
    rtype, f = as_caller(1001, d, lambda call: call(frame(OP_HOST_LIST)))
    assert rtype == REPLY_ERROR and get(f, T_ERRNO, True) == 1, f  # EPERM
    assert d.db("SELECT count(*) FROM events WHERE type = 'request_refused' AND user = 'alice'")[0][0] >= 1
    # without host_id: the host name
    restart_with(d, "")
    doc = json.loads(cli(d, "--json", "fleet", "hosts").stdout)
    assert [h["host"] for h in doc["hosts"]] == [socket.gethostname()], doc


@test
def user_list_shows_every_account(d):
    """user list: the accounts of the uid range, by name, each with its
    lock, account, second factor and last login (the newer of its last
    session_opened and auth_success); admins and auditors only, and a
    refusal prints nothing else."""
    if not ROOT:
        return "SKIP needs root to act as other uids"
    with open(os.path.join(d.dir, "passwd"), "a") as f:  # outside UID_MIN..UID_MAX, nobody; 40 more
        f.write("nobody:x:65534:65534::/:/bin/sh\nsvc:x:999:999::/:/bin/sh\nbig:x:60001:60001::/:/bin/sh\n")
        f.writelines("u%02d:x:%d:%d::/:/bin/sh\n" % (i, 2000 + i, 2000 + i) for i in range(40))
    with_roles(d)  # bob audits, carol administers
    now = int(time.time())
    for _ in range(3):
        d.call(login_frame(OP_AUTHFAIL, user="alice"))
    assert cli(d, "account", "disable", "--user", "bob").returncode == 0
    enrol_totp(d, "carol")
    assert d.call(frame(OP_SESSION_OPEN, (T_USER, "alice"), (T_SERVICE, "sshd"), (T_RHOST, "192.0.2.7")))[0] \
        == REPLY_OK
    add_events(d, [ev(now - 1000, "auth_success", "alice", rhost="192.0.2.99"),
                   ev(now - 100, "session_opened", "carol", rhost="192.0.2.1"),
                   ev(now - 50, "auth_success", "carol", rhost="192.0.2.2")])
    r = cli(d, "--json", "user", "list", nss=True)
    assert r.returncode == 0, r.stderr
    users = json.loads(r.stdout)["users"]
    assert [u["user"] for u in users] == ["alice", "bob", "carol"] + ["u%02d" % i for i in range(40)], users
    alice, bob, carol = users[:3]
    assert users[3]["uid"] == 2000 and users[3]["last_login"] is None and users[3]["totp"] == "none", users[3]
    assert set(alice) == {"user", "uid", "locked", "locked_until", "failures", "disabled",
                          "password_change_required", "totp", "email_codes", "sms_codes", "mfa_policy",
                          "last_login", "last_login_from"}, alice
    assert alice["uid"] == 1001 and alice["locked"] is True and alice["locked_until"] > now, alice
    assert alice["failures"] == 3 and alice["disabled"] is False and alice["totp"] == "none", alice
    assert alice["last_login"] >= now and alice["last_login_from"] == "192.0.2.7", "the session is newer"
    assert bob["disabled"] is True and bob["locked"] is False and bob["locked_until"] is None, bob
    assert bob["last_login"] is None and bob["last_login_from"] is None, bob
    assert carol["totp"] == "active" and carol["mfa_policy"] == "optional", carol
    assert (carol["last_login"], carol["last_login_from"]) == (now - 50, "192.0.2.2"), "auth_success is newer"
    assert bob["email_codes"] is False and bob["sms_codes"] is False and bob["password_change_required"] is False
    # The text table; the auditor sees the same.
    lines = cli(d, "user", "list", nss=True).stdout.splitlines()
    assert len(lines) == 44, lines
    assert lines[0].split() == ["USER", "LOCKED", "ACCOUNT", "SECOND", "FACTOR", "LAST", "LOGIN"], lines
    assert lines[1].startswith("alice ") and " until " in lines[1] and lines[1].endswith("from 192.0.2.7"), lines
    assert "disabled" in lines[2] and lines[2].endswith("never"), lines
    assert "totp (optional)" in lines[3] and lines[3].endswith("from 192.0.2.2"), lines
    r = cli(d, "--json", "user", "list", uid=1002, nss=True)
    assert r.returncode == 0 and json.loads(r.stdout)["users"] == users, (r.stdout, r.stderr)
    if shutil.which("strace"):  # 129 requests, one connection
        trace = os.path.join(d.dir, "connects")
        env = d.env()  # LeakSanitizer cannot run under ptrace (an ASan build)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect", "-o", trace, cli_exe(d), "--socket",
                            d.sock, "user", "list"], env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        connects = [line for line in open(trace) if d.dir in line]
        assert len(connects) == 1, "%d connections" % len(connects)
    # A plain user: the refusal, nothing partial.
    r = cli(d, "--json", "user", "list", uid=1001, nss=True)
    assert r.returncode == 4 and list(json.loads(r.stdout)) == ["error", "exit_status"], (r.stdout, r.stderr)
    assert "only admins and auditors may see other users" in r.stderr, r.stderr
    r = cli(d, "user", "list", uid=1001, nss=True)
    assert r.returncode == 4 and r.stdout == "", r.stdout


def main(all_tests=None):
    """Each test against a fresh Daemon, as TAP (test_sms.py and
    test_recovery.py run theirs through it).  Names on the command line run
    only those tests (substring match)."""
    all_tests = TESTS if all_tests is None else all_tests
    tests = [fn for fn in all_tests if not sys.argv[1:] or any(a in fn.__name__ for a in sys.argv[1:])]
    print("1..%d" % len(tests))
    failed = 0
    for i, fn in enumerate(tests, 1):
        d = None
        try:
            d = Daemon()
            result = fn(d)
            if isinstance(result, str) and result.startswith("SKIP"):
                print("ok %d - %s # %s" % (i, fn.__name__, result))
            else:
                print("ok %d - %s" % (i, fn.__name__))
        except Exception:  # noqa: BLE001 - reported as TAP
            failed += 1
            print("not ok %d - %s" % (i, fn.__name__))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            if d:
                for line in open(d.log).read().splitlines()[-10:]:
                    print("#   daemon: " + line)
        finally:
            if d:
                d.cleanup()
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
