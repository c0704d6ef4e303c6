#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""bench/pg.py serve ENVFILE: a private PostgreSQL cluster for bench/run.sh.

Starts a cluster with tests/fleet/pgcluster.py (its own temp dir under /tmp,
the server as nobody under root, a Unix socket and 127.0.0.1 on a free
port), durable like the SQLite rows: fsync on, synchronous_commit at its
default (on).  Once it accepts connections, writes ENVFILE (atomically) with
shell assignments for run.sh to source:

    pg_bindir=...   the server's bin dir (psql)
    pg_unix=...     a libpq connection string over the Unix socket, no dbname
    pg_tcp=...      the same over TCP to 127.0.0.1, no dbname
    pg_log=...      the server's log

then waits for SIGTERM, SIGINT or SIGHUP, stops the server and removes its
dir.  Exit 77 (and no ENVFILE) when PostgreSQL's binaries are missing.
"""
import os
import shlex
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fleet"))

import pgcluster  # noqa: E402


def without_dbname(conninfo):
    return " ".join(kv for kv in conninfo.split() if not kv.startswith("dbname="))


def stop(signum, frame):
    raise SystemExit(0)


def serve(envfile):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        cluster = pgcluster.PgCluster(tcp=True, fsync=True, name="bench")
    except pgcluster.PgMissing as e:
        print("pg.py: %s" % e, file=sys.stderr)
        return 77
    with cluster:
        env = {"pg_bindir": cluster.bindir, "pg_unix": without_dbname(cluster.conninfo("postgres")),
               "pg_tcp": without_dbname(cluster.conninfo("postgres", tcp=True)), "pg_log": cluster.log}
        with open(envfile + ".new", "w") as f:
            f.writelines("%s=%s\n" % (k, shlex.quote(v)) for k, v in env.items())
        os.rename(envfile + ".new", envfile)
        while True:
            signal.pause()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "serve":
        sys.exit("usage: pg.py serve ENVFILE")
    sys.exit(serve(sys.argv[2]))
