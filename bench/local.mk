# --- bench/: login latency against the peers (a benchmark, never a test) -----
# bench/run.sh starts a real acctsecd and runs bench/bench_login; see
# bench/RESULTS.md for the latest numbers and the machine they ran on.
# bench/pg.py serves it a private PostgreSQL cluster (with
# tests/fleet/pgcluster.py) for the PostgreSQL rows.
noinst_PROGRAMS += bench/bench_login
bench_bench_login_SOURCES = bench/bench_login.c
bench_bench_login_LDADD = $(PAM_LIBS)
EXTRA_DIST += bench/run.sh bench/pg.py
# bench/bench_daemon: the daemon alone (concurrency, scale, cold start)
noinst_PROGRAMS += bench/bench_daemon
bench_bench_daemon_SOURCES = bench/bench_daemon.c
bench_bench_daemon_LDADD = libacctsec_common.la
