"""pamtester run with its output on a pty, shared by the tier-4 tests.

Output to a pty: pamtester's stdout (PAM's info and error messages) is then
line-buffered like its stderr (the prompts), so .out keeps their order.  The
answers come from a pipe (a terminal would have misc_conv flush typed-ahead
input when it turns echo off)."""
import os
import select
import subprocess
import time
import types


def run(service, user, answers, *ops, rhost=None, timeout=30):
    """pamtester [-I rhost=RHOST] SERVICE USER OPS..., one answer a line on
    stdin; .returncode, and prompts and messages together in .out."""
    argv = ["pamtester"] + (["-I", "rhost=" + rhost] if rhost is not None else []) + [service, user, *ops]
    master, slave = os.openpty()
    try:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=slave, stderr=slave)
    finally:
        os.close(slave)
    chunks = []
    try:
        p.stdin.write("".join(a + "\n" for a in answers).encode())
        p.stdin.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not select.select([master], [], [], max(0.0, deadline - time.monotonic()))[0]:
                break
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: pamtester (the last holder of the slave) is gone
                break
            if not data:
                break
            chunks.append(data)
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    finally:
        os.close(master)
    r = types.SimpleNamespace(returncode=p.returncode)
    r.out = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return r
