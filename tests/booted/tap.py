"""TAP output for the booted tier."""
import sys


class Tap:
    def __init__(self):
        self.n = self.failed = 0

    def ok(self, cond, name, info=""):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name), flush=True)
        if not cond:
            self.failed += 1
            for line in str(info).splitlines()[-40:]:
                print("# " + line)
        return cond

    def cmd(self, r, name):
        """A CompletedProcess that must have succeeded."""
        return self.ok(r.returncode == 0, name, "exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))

    def refused(self, r, name):
        return self.ok(r.returncode != 0, name, "it succeeded\n%s%s" % (r.stdout, r.stderr))

    def finish(self):
        print("1..%d" % self.n, flush=True)
        sys.exit(1 if self.failed else 0)
