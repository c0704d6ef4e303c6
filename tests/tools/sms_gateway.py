"""An SMS provider's HTTP API on 127.0.0.1 for the tests (integration and
real sshd): records each POST (path, headers, body) and answers with the
status and body it is told to."""
import http.server
import re
import threading


class Gateway:
    """An SMS provider's API on 127.0.0.1: records each POST, answers with
    self.status and self.answer."""

    def __init__(self):
        self.got = []
        self.status, self.answer = 200, b'{"status":"queued"}'
        gw = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                gw.got.append({"path": self.path, "headers": dict(self.headers), "body": body.decode()})
                self.send_response(gw.status)
                self.send_header("Content-Length", str(len(gw.answer)))
                self.end_headers()
                self.wfile.write(gw.answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def code(self, i=-1):
        """The six-digit code in the i-th text (form or JSON body)."""
        m = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", self.got[i]["body"].split("Body=")[-1])
        if not m:
            raise RuntimeError("no code in %r" % self.got[i]["body"])
        return m.group(1)
