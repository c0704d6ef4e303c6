"""A headless Chromium driven through the DevTools protocol over a pipe
(--remote-debugging-pipe: requests on the browser's fd 3, answers and
events on its fd 4, each message one JSON object ended by a NUL byte), so
that the browser needs no port and the tests need no library beyond
Python's own.  Debian's chromium package.

Nothing here sleeps to let something happen: wait() polls a condition in
the page up to a deadline, and every read of the pipe is bounded."""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time


class CDPError(RuntimeError):
    pass


def chromium_path():
    for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.access(p, os.X_OK):
            return p
    return shutil.which("chromium")


class Browser:
    def __init__(self, width=1280, height=900, log=None):
        self.profile = tempfile.mkdtemp(prefix="acctsec-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def fds():  # the browser's fd 3 reads requests, fd 4 writes answers
            r, w = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        args = [chromium_path(), "--headless=new", "--remote-debugging-pipe", "--no-first-run",
                "--no-default-browser-check", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--password-store=basic", "--user-data-dir=" + self.profile,
                "--window-size=%d,%d" % (width, height), "--lang=en-US", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # chromium refuses root with its sandbox
        self.log = log or open(os.devnull, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     preexec_fn=fds, pass_fds=(3, 4))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._id = 0
        self.events = []
        self.session = None
        self.width, self.height = width, height

    # --- the pipe ------------------------------------------------------------
    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("the browser did not answer in time")
            r, _, _ = select.select([self._from_browser], [], [], left)
            if not r:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise CDPError("the browser closed its pipe (exit status %s)" % self.proc.poll())
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=True, timeout=60):
        """One command; its result (CDPError on an error answer)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._to_browser, data):]
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise CDPError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            self.events.append(m)

    # --- a page ----------------------------------------------------------------
    def open_page(self):
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})

    def navigate(self, url, timeout=30):
        """Load URL; returns once the new document is complete (a mark left
        on the old one tells them apart)."""
        self.eval("window.__cdp_old_document = true")
        self.send("Page.navigate", {"url": url})
        self.wait("!window.__cdp_old_document && document.readyState == 'complete'", timeout,
                  what="the page at " + url)

    def eval(self, expression, timeout=60):
        """The value of a JavaScript expression (a promise is awaited)."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError("%s: %s" % (d.get("text"), d.get("exception", {}).get("description")))
        return r["result"].get("value")

    def wait(self, expression, timeout=30, what=None):
        """Poll a JavaScript condition until it is truthy; its value (true
        for an element)."""
        deadline = time.monotonic() + timeout
        probe = "(() => { const v = (%s); return v && typeof v === \"object\" && \"nodeType\" in v ? true : v; })()" % expression
        while True:
            try:
                v = self.eval(probe)
            except CDPError:
                v = None  # the page is changing (navigation): ask again
            if v:
                return v
            if time.monotonic() > deadline:
                raise CDPError("timed out waiting for " + (what or expression))
            time.sleep(0.05)

    def insert_text(self, text):
        """Typed into the focused element, as a keyboard would."""
        self.send("Input.insertText", {"text": text})

    def key(self, key, code=None, keycode=None):
        """One key pressed and released (Enter, Tab, Escape)."""
        codes = {"Enter": 13, "Tab": 9, "Escape": 27, " ": 32}
        p = {"key": key, "code": code or key, "windowsVirtualKeyCode": keycode or codes.get(key, 0)}
        if key == "Enter":
            p["text"] = "\r"
        self.send("Input.dispatchKeyEvent", dict(p, type="keyDown"))
        self.send("Input.dispatchKeyEvent", dict(p, type="keyUp"))

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close", session=False, timeout=10)
                except (CDPError, OSError):
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)
