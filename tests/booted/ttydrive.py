"""A program inside the booted container, driven through a pseudo-terminal.

The pty is the container's own: its master is opened through the container
PID 1's root (/proc/PID/root/dev/pts/ptmx, the devpts instance that
systemd-nspawn mounted inside), and its slave through the master
(TIOCGPTPEER).  Inside, ttyname() then names a real /dev/pts/N, as login,
sudo and su expect of a terminal; a host pty would be a device that the
container's /dev does not have.  The slave is the program's standard
input, output and error and its controlling terminal (a new session,
TIOCSCTTY): sudo opens /dev/tty, su and login read stdin through PAM's
misc_conv.

Every wait is for an event -- a prompt on the terminal, the end of the
output (EIO once the last holder of the slave is gone), the exit of the
process (a pidfd) -- bounded by a deadline, but for a change of the
terminal's modes, which sends none (wait_echo_off looks every 10 ms); the
transcript is kept for the diagnostics of a failed check."""
import errno
import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time

import machine


TIOCGPTPEER = 0x5441                    # _IO('T', 0x41)
TIOCSPTLCK = 0x40045431                 # _IOW('T', 0x31, int)


class Timeout(Exception):
    """What was awaited did not come: the message says what, with the
    transcript."""


def _container_pty(m):
    """(master, slave) on the container's devpts; a host pty when that
    cannot be had (then ttyname() fails inside)."""
    try:
        master = os.open("/proc/%d/root/dev/pts/ptmx" % m.leader, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return os.openpty()
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
    except OSError:
        os.close(master)
        return os.openpty()
    return master, slave


def _controlling_tty():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Tty:
    """ARGV run inside M (as root, through nsenter and a clean environment)
    on a fresh pty."""

    def __init__(self, m, argv, timeout=machine.HANG_GUARD, stop_output=False):
        """STOP_OUTPUT: the terminal's output suspended (tcflow TCOOFF, as ^S
        does) before the program starts: its first write to the terminal
        blocks until resume()."""
        self.timeout = timeout
        self.master, slave = _container_pty(m)
        self.flow = None
        self.answers = []  # what prompt() and answer() typed
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        if stop_output:
            termios.tcflow(slave, termios.TCOOFF)
            self.flow = os.dup(slave)
        try:
            self.proc = m.popen(argv, stdin=slave, stdout=slave, stderr=slave, preexec_fn=_controlling_tty)
        finally:
            os.close(slave)
        self.data = b""
        self.pos = 0       # where the next expect() starts looking
        self.eof = False

    # --- the terminal's state -------------------------------------------------
    def echo(self):
        """Whether the terminal echoes what is typed (the master reads the
        slave's termios)."""
        return bool(termios.tcgetattr(self.master)[3] & termios.ECHO)

    def wait_echo_off(self, timeout=machine.HANG_GUARD):
        """Whether echo went off within TIMEOUT seconds (termios changes send
        no event: looked at every 10 ms)."""
        deadline = time.monotonic() + timeout
        while self.echo():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return True

    def resume(self):
        """Output flows again (tcflow TCOON, as ^Q)."""
        if self.flow is not None:
            termios.tcflow(self.flow, termios.TCOON)
            os.close(self.flow)
            self.flow = None

    def echoed(self):
        """The answers typed at prompts that show in the output."""
        return [a for a in self.answers if a and a in self.text()]

    # --- reading --------------------------------------------------------------
    def text(self):
        """Everything the terminal showed so far, CR LF as LF."""
        return self.data.decode("utf-8", "replace").replace("\r\n", "\n")

    def _read(self, deadline):
        """One chunk into self.data; False at the end of the output or the
        deadline."""
        if self.eof:
            return False
        left = max(0.0, deadline - time.monotonic())  # 0: only what is there now
        if not select.select([self.master], [], [], left)[0]:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.data += chunk
        return True

    def expect(self, *patterns, timeout=None):
        """The first of PATTERNS (regular expressions, searched in the output
        after the previous match) to appear: (index, match); Timeout when none
        does before the deadline or the end of the output."""
        regs = [re.compile(p.encode() if isinstance(p, str) else p) for p in patterns]
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            found = [(mo.start(), i, mo) for i, mo in ((i, r.search(self.data, self.pos)) for i, r in enumerate(regs))
                     if mo]
            if found:
                _, i, mo = min(found, key=lambda f: (f[0], f[1]))
                self.pos = mo.end()
                return i, mo
            if not self._read(deadline):
                why = "the end of the output" if self.eof else "the deadline"
                raise Timeout("%s instead of %s\n--- transcript ---\n%s" %
                              (why, " or ".join(repr(p) for p in patterns), self.text()))

    def prompt(self, pattern, answer, timeout=None):
        """Wait for PATTERN, then type ANSWER and Enter."""
        self.expect(pattern, timeout=timeout)
        self.answer(answer)

    def answer(self, text):
        """TEXT and Enter, at a prompt (kept for echoed())."""
        self.answers.append(text)
        self.send(text + "\n")

    def send(self, s):
        os.write(self.master, s.encode())

    # --- the end --------------------------------------------------------------
    def wait_eof(self, timeout=None):
        """Whether the output ended (every holder of the terminal gone)
        within TIMEOUT seconds."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while self._read(deadline):
            pass
        return self.eof

    def finish(self, timeout=None):
        """Read to the end of the output (EIO) or the exit of the process,
        whichever comes first (a process it left behind may hold the
        terminal): its exit status.  Timeout when it does not end (it is
        then killed)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        pidfd = os.pidfd_open(self.proc.pid)
        try:
            while not self.eof:
                left = deadline - time.monotonic()
                ready = select.select([self.master, pidfd], [], [], left)[0] if left > 0 else []
                if not ready:
                    self.kill()
                    raise Timeout("the program did not end\n--- transcript ---\n%s" % self.text())
                if self.master in ready:
                    self._read(deadline)
                    continue
                # Gone: what it wrote is there to read now (polling the
                # master flushes the pty's buffer).
                while self._read(time.monotonic()):
                    pass
                break
        finally:
            os.close(pidfd)
        try:
            rc = self.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            raise Timeout("the program did not end\n--- transcript ---\n%s" % self.text())
        self.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()  # nsenter; what runs inside loses its terminal (SIGHUP)
            self.proc.wait()
        self.close()

    def close(self):
        if self.flow is not None:
            os.close(self.flow)
            self.flow = None
        if self.master is not None:
            os.close(self.master)
            self.master = None


def run(m, argv, dialogue, timeout=30):
    """ARGV on a pty, DIALOGUE a list of (prompt regex, answer) in order:
    the finished Tty (.proc.returncode, .text(), .echoed()).  A prompt that
    does not come raises Timeout."""
    t = Tty(m, argv, timeout=timeout)
    try:
        for pattern, answer in dialogue:
            t.prompt(pattern, answer)
        t.finish()
    finally:
        t.kill()
    return t
