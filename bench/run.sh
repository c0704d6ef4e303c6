#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/run.sh [--quick]: full-login latency of acctsec against its peers,
# then acctsecd on its own against the brief's targets.
#
# Makes a throw-away world in a temp dir (nss_wrapper passwd/group with the
# bench users, a real acctsecd on its own socket and state dir, PAM service
# files, every bench user enrolled in acctsec's TOTP through the CLI, the same
# secrets handed to the peers) and runs bench_login over these stacks,
# the password step stubbed with pam_permit.so in every one:
#   permit                          the floor: libpam and two pam_permit.so
#   faillock                        pam_faillock.so alone
#   acctsec                         pam_acctsec.so lockout (preauth/authfail/authsucc/account)
#   acctsec+totp                    pam_acctsec.so lockout + TOTP (preauth/authfail/mfa/account)
#   faillock+google-authenticator   if pam_google_authenticator.so is installed
#   faillock+oath                   if pam_oath.so is installed
#   acctsec [pg unix], acctsec+totp [pg unix]
#                                   the same two acctsec stacks, the daemon
#                                   on PostgreSQL over its Unix socket
#   acctsec [pg tcp], acctsec+totp [pg tcp]
#                                   ... over TCP to 127.0.0.1 (a copy of the
#                                   database: its own lockout and TOTP state)
# and then bench_daemon and the CLI, a table row each with its target:
#   concurrency  CLIENTS client processes, RPS_REQUESTS requests each, one
#                connection per request: PREAUTH reads/s, AUTHFAIL durable
#                writes/s (group commit)
#   fleet        the same on PostgreSQL, no target: one daemon, then 4
#                daemons (distinct host_id, one database, one fleet key),
#                CLIENTS client processes each; requests/s in all
#   scale        a second acctsecd on a database of SCALE_USERS users and
#                SCALE_EVENTS events written directly with SQLite: one
#                user's last 100 events (LOG_SHOW), 'acctsec log export --all
#                --format json', the daemon's peak RSS (VmHWM)
#   cold start   systemd-socket-activate, if installed: connect + PREAUTH to
#                the first reply, COLD_ROUNDS times, on an empty database
#                and on the scale one
#
# Environment: LOGINS (default 20000), USERS (default 2000), WARMUP (default
# USERS, at most 2000), ROUNDS (10: the stacks take turns, LOGINS/ROUNDS
# logins each, so that a drift of the machine weighs on every row alike),
# CLIENTS (32), RPS_REQUESTS (2000), SCALE_USERS
# (100000), SCALE_EVENTS (1000000), COLD_ROUNDS (50), BUILD_DIR (default
# ../build from this script).
# --quick: LOGINS=300 USERS=50 WARMUP=50 RPS_REQUESTS=20 SCALE_USERS=2000
# SCALE_EVENTS=20000 COLD_ROUNDS=3 ROUNDS=2, a smoke test for scripts/test.sh: it
# checks that everything runs and every row is complete, never the speed.
#
# PostgreSQL: a private cluster in a temp dir (bench/pg.py, the fleet tests'
# tests/fleet/pgcluster.py), durable like SQLite (fsync on, synchronous_commit
# on), the server as nobody.  Without /usr/lib/postgresql/*/bin/initdb the
# PostgreSQL rows are left out, with the reason printed.
#
# Exit status: 0 when every stack completed every login with PAM_SUCCESS and
# every daemon row is complete (a target not met is printed, not an error);
# 1 when any login failed or the harness or daemon failed; 77 when the
# benchmark cannot run here (not root, nss_wrapper missing, not built).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
quick=0
for arg in "$@"; do
        case $arg in
        --quick) quick=1 ;;
        -h | --help)
                sed -n '4,58p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
                exit 0
                ;;
        *)
                echo "run.sh: unknown argument '$arg' (try --help)" >&2
                exit 2
                ;;
        esac
done

if [ "$quick" = 1 ]; then
        LOGINS=300 USERS=50 WARMUP=50 RPS_REQUESTS=20 SCALE_USERS=2000 SCALE_EVENTS=20000 COLD_ROUNDS=3 ROUNDS=2
fi
CLIENTS=${CLIENTS:-32}
RPS_REQUESTS=${RPS_REQUESTS:-2000}
SCALE_USERS=${SCALE_USERS:-100000}
SCALE_EVENTS=${SCALE_EVENTS:-1000000}
COLD_ROUNDS=${COLD_ROUNDS:-50}
LOGINS=${LOGINS:-20000}
USERS=${USERS:-2000}
WARMUP=${WARMUP:-$((USERS < 2000 ? USERS : 2000))}
ROUNDS=${ROUNDS:-10}
BUILD_DIR=${BUILD_DIR:-$here/../build}
# The peers' TOTP modules accept codes this many 30 s steps either side of
# now; the harness hands each user strictly newer steps inside that window.
TOTP_WINDOW=8
pamdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/security

skip() {
        echo "run.sh: SKIP: $*" >&2
        exit 77
}

[ "$(id -u)" = 0 ] || skip "must run as root: acctsecd answers about other users only to uid 0 (SO_PEERCRED), and pam_faillock writes root-owned tally files"
for f in acctsecd acctsec .libs/pam_acctsec.so bench/bench_login bench/bench_daemon; do
        [ -x "$BUILD_DIR/$f" ] || [ -f "$BUILD_DIR/$f" ] ||
                skip "$BUILD_DIR/$f not built (make -C $BUILD_DIR acctsecd acctsec pam_acctsec.la bench/bench_login bench/bench_daemon)"
done
nsswrapper=
for d in /usr/lib/*-linux-gnu /usr/lib64 /usr/lib; do
        if [ -f "$d/libnss_wrapper.so" ]; then
                nsswrapper=$d/libnss_wrapper.so
                break
        fi
done
[ -n "$nsswrapper" ] || skip "libnss_wrapper.so not found (Debian: apt-get install libnss-wrapper)"
command -v python3 >/dev/null || skip "python3 not found (used to wait for the daemon's READY=1)"
for m in pam_permit.so pam_faillock.so; do
        [ -f "$pamdir/$m" ] || skip "$pamdir/$m not found (Debian: libpam-modules)"
done

BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
module=$BUILD_DIR/.libs/pam_acctsec.so
tmp=$(mktemp -d "${TMPDIR:-/tmp}/acctsec-bench.XXXXXX")
pg_pid= # bench/pg.py serve: the PostgreSQL cluster while it runs
syslog_pid= # our /dev/log, when the machine has none
pg_bindir='' pg_unix='' pg_tcp='' pg_log='' # set by start_pg

# running PID: PID is a process, and not a zombie.  The daemons are not our
# children (the READY=1 waiter started them): once they exit they wait for
# pid 1 to reap them, which may take seconds, and kill -0 still finds them.
running() {
        local stat
        stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
        stat=${stat##*) }
        [ "${stat:0:1}" != Z ]
}

# stop_daemon TAG: SIGTERM the daemon start_daemon TAG started, wait for it.
stop_daemon() {
        local pid
        pid=$(cat "$tmp/$1.pid" 2>/dev/null) || return 0
        rm -f "$tmp/$1.pid"
        running "$pid" || return 0
        kill -TERM "$pid" 2>/dev/null || true
        # Not our child: poll for its exit.
        for _ in $(seq 1 500); do
                running "$pid" || return 0
                sleep 0.01
        done
        kill -KILL "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
        local rc=$? f
        for f in "$tmp"/*.pid; do
                [ -e "$f" ] && stop_daemon "$(basename "$f" .pid)"
        done
        if [ -n "$pg_pid" ]; then
                kill -TERM "$pg_pid" 2>/dev/null || true
                wait "$pg_pid" || true
        fi
        if [ -n "$syslog_pid" ]; then
                kill -TERM "$syslog_pid" 2>/dev/null || true
                wait "$syslog_pid" 2>/dev/null || true
                rm -f /dev/log
        fi
        rm -rf "$tmp"
        exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- users: root, the caller, bench users PREFIX0.. with uids 20000+ --------
prefix=bench
{
        echo "root:x:0:0:root:/root:/bin/sh"
        if [ "$(id -u)" != 0 ]; then
                echo "$(id -un):x:$(id -u):$(id -g):caller:$HOME:/bin/sh"
        fi
        for ((i = 0; i < USERS; i++)); do
                echo "$prefix$i:x:$((20000 + i)):20000:bench user:$tmp/home/$prefix$i:/bin/sh"
        done
} >"$tmp/passwd"
{
        echo "root:x:0:"
        echo "bench:x:20000:"
} >"$tmp/group"
nss=(env "LD_PRELOAD=$nsswrapper" "NSS_WRAPPER_PASSWD=$tmp/passwd" "NSS_WRAPPER_GROUP=$tmp/group")

# --- acctsecd -----------------------------------------------------------------
cat >"$tmp/acctsec.conf" <<EOF
# bench: the built-in lockout policy (3 failures), this run's socket, TOTP
# codes accepted $TOTP_WINDOW steps either side of now like the peers
socket = $tmp/sock
totp_window = $TOTP_WINDOW
EOF

# start_daemon TAG PASSWD SOCKET STATE_DIR [CONFIG]: acctsecd with
# NOTIFY_SOCKET pointing at a datagram socket; waits for its READY=1 (or its
# death, or 10 s), as systemd would.  Its pid in $tmp/TAG.pid, its log
# $tmp/TAG.log.  CONFIG: $tmp/acctsec.conf unless given.
start_daemon() {
        local tag=$1 passwd=$2 sock=$3 state=$4 config=${5:-$tmp/acctsec.conf}
        python3 - "$tmp/$tag.notify" "$tmp/$tag.log" "$tmp/$tag.pid" \
                env "LD_PRELOAD=$nsswrapper" "NSS_WRAPPER_PASSWD=$passwd" "NSS_WRAPPER_GROUP=$tmp/group" \
                "$BUILD_DIR/acctsecd" --socket "$sock" --state-dir "$state" \
                --config "$config" --foreground <<'PY' || { cat "$tmp/$tag.log" >&2; return 1; }
import os, select, socket, subprocess, sys, time
notify, log, pidfile, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
if os.path.exists(notify):
    os.unlink(notify)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
s.bind(notify)
with open(log, "ab") as lf:
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                         env=dict(os.environ, NOTIFY_SOCKET=notify))
with open(pidfile, "w") as f:
    f.write("%d\n" % p.pid)
deadline = time.monotonic() + 10
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        sys.exit("run.sh: acctsecd sent no READY=1 within 10 s")
    if select.select([s], [], [], min(left, 0.05))[0]:
        if b"READY=1" in s.recv(4096).split(b"\n"):
            sys.exit(0)
    if p.poll() is not None:
        sys.exit("run.sh: acctsecd exited with status %d before READY=1" % p.returncode)
PY
}

start_daemon acctsecd "$tmp/passwd" "$tmp/sock" "$tmp/state" || exit 1
# The same answer a client gets: the socket really serves requests.
"${nss[@]}" "$BUILD_DIR/acctsec" --socket "$tmp/sock" status >/dev/null || {
        echo "run.sh: acctsecd is READY but 'acctsec status' failed" >&2
        cat "$tmp/acctsecd.log" >&2
        exit 1
}

# --- TOTP enrolment ---------------------------------------------------------------
# Every bench user enrols through the CLI, as an administrator would provision
# them: 'mfa enroll totp' prints the secret, 'mfa confirm' activates it with
# the code of step now-TOTP_WINDOW, the oldest the daemon accepts, so that
# every step the harness gives later is strictly newer (replay protection).
# The daemon's secrets also serve the peers: one key per user for every stack.
# enrol TAG SOCKET SECRETS: through the daemon started as TAG, keys to SECRETS.
enrol() {
        local tag=$1 sock=$2 secrets=$3 start end
        start=$(date +%s.%N)
        python3 - "$secrets" "$prefix" "$USERS" "$TOTP_WINDOW" "${nss[@]}" "$BUILD_DIR/acctsec" --socket "$sock" <<'PY' || {
import base64, hashlib, hmac, json, struct, subprocess, sys, time
secrets, prefix, users, window, cli = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]

def code(key, step):
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[19] & 0xF
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)

with open(secrets, "w") as sec:
    for i in range(users):
        name = "%s%d" % (prefix, i)
        p = subprocess.run(cli + ["--json", "mfa", "enroll", "totp", "--user", name],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("run.sh: 'acctsec mfa enroll totp --user %s' failed (%d): %s" % (name, p.returncode, p.stderr.strip()))
        b32 = json.loads(p.stdout)["secret"]
        key = base64.b32decode(b32 + "=" * (-len(b32) % 8))
        for attempt in range(2):
            # Not in the last second of a step: now-window must still be in
            # the window when the daemon looks.
            t = time.time()
            if t % 30 > 29:
                time.sleep(30.05 - t % 30)
            step = int(time.time()) // 30 - window
            p = subprocess.run(cli + ["mfa", "confirm", code(key, step), "--user", name],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if p.returncode == 0:
                break
        else:
            sys.exit("run.sh: 'acctsec mfa confirm CODE --user %s' failed (%d): %s" % (name, p.returncode, p.stderr.strip()))
        sec.write("%s %s\n" % (name, key.hex()))
PY
                cat "$tmp/$tag.log" >&2
                return 1
        }
        end=$(date +%s.%N)
        awk -v a="$start" -v b="$end" -v n="$USERS" -v t="$tag" 'BEGIN {
                printf "# TOTP enrolment through the CLI (enroll + confirm, sequential, %s): %d users in %.1f s, %.1f ms per user\n", t, n, b - a, (b - a) * 1e3 / n }'
}
enrol acctsecd "$tmp/sock" "$tmp/totp.secrets" || exit 1

# --- acctsecd on PostgreSQL -----------------------------------------------------
# start_pg: bench/pg.py serves a private cluster until cleanup stops it; its
# connection strings (no dbname) in $pg_unix and $pg_tcp, psql in $pg_bindir,
# the server's log $pg_log.
start_pg() {
        python3 "$here/pg.py" serve "$tmp/pg.env" 2>"$tmp/pg.log" &
        pg_pid=$!
        until [ -s "$tmp/pg.env" ]; do
                if ! kill -0 "$pg_pid" 2>/dev/null; then
                        cat "$tmp/pg.log" >&2
                        return 1
                fi
                sleep 0.05
        done
        # shellcheck disable=SC1091 # written by pg.py
        . "$tmp/pg.env"
        # The fleet key every host holds: 32 random bytes, 0600, ours.
        (umask 077 && head -c 32 /dev/urandom >"$tmp/fleet.key")
}

# pg_sql DB SQL: SQL's rows, unaligned, in the database DB.
pg_sql() {
        "$pg_bindir/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$pg_unix dbname=$1" -c "$2"
}

# start_pg_daemon TAG CONNINFO: acctsecd TAG (also its host_id) on the
# database CONNINFO names, on the socket $tmp/TAG.sock.
start_pg_daemon() {
        local tag=$1
        cat >"$tmp/$tag.conf" <<EOF
# bench: acctsec.conf's policy, the state in PostgreSQL
totp_window = $TOTP_WINDOW
store = postgresql
postgresql = $2
host_id = $tag
fleet_key = $tmp/fleet.key
EOF
        start_daemon "$tag" "$tmp/passwd" "$tmp/$tag.sock" "$tmp/$tag" "$tmp/$tag.conf"
}

# pg_daemons: pgunix (Unix socket) and pgtcp (TCP), each on a database of
# its own with the same TOTP enrolments: enrolled through pgunix, whose
# database is then the template of pgtcp's.
pg_daemons() {
        pg_sql postgres "CREATE DATABASE bench_unix" &&
                start_pg_daemon pgunix "$pg_unix dbname=bench_unix" &&
                enrol pgunix "$tmp/pgunix.sock" "$tmp/totp-pg.secrets" || return 1
        stop_daemon pgunix # CREATE DATABASE ... TEMPLATE wants no one connected
        pg_sql postgres "CREATE DATABASE bench_tcp TEMPLATE bench_unix" &&
                start_pg_daemon pgunix "$pg_unix dbname=bench_unix" &&
                start_pg_daemon pgtcp "$pg_tcp dbname=bench_tcp"
}

pg=0
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
        echo "run.sh: PostgreSQL not installed (no /usr/lib/postgresql/*/bin/initdb): no PostgreSQL rows" >&2
else
        start_pg || exit 1
        pg_daemons || exit 1
        pg=1
fi

# --- PAM service files ----------------------------------------------------------
conf=$tmp/pam.d
mkdir -p "$conf" "$tmp/faillock"

# What every system has, so that no stack pays for its absence: libpam's
# fallback service "other" (without it pam_start logs a complaint on every
# transaction), and a syslog socket.  Without /dev/log, syslog(3) writes to
# the console once a module has asked for LOG_CONS (pam_google_authenticator
# does, and logs every login): about 1 ms a line here, which then lands on
# every stack of the run.  A machine without one (a container) gets a
# receiver that reads and drops, as journald would take the lines.
printf '# no fallback: every bench service names its own lines\n' >"$conf/other"
if [ ! -e /dev/log ]; then
        python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    s.recv(65536)
' >"$tmp/syslog.ready" &
        syslog_pid=$!
        until [ -s "$tmp/syslog.ready" ]; do
                kill -0 "$syslog_pid" 2>/dev/null || { echo "run.sh: cannot serve /dev/log" >&2; exit 1; }
                sleep 0.01
        done
        echo "# syslog: this machine has no /dev/log; the bench serves one that drops every line"
else
        echo "# syslog: the machine's own /dev/log"
fi
fl="dir=$tmp/faillock"
services=(permit faillock)

cat >"$conf/permit" <<EOF
auth     required pam_permit.so
account  required pam_permit.so
EOF

cat >"$conf/faillock" <<EOF
auth     required                    pam_faillock.so preauth $fl
auth     [success=1 default=bad]     pam_permit.so
auth     [default=die]               pam_faillock.so authfail $fl
auth     sufficient                  pam_faillock.so authsucc $fl
account  required                    pam_faillock.so $fl
EOF

# acctsec_services SUFFIX SOCKET CONFIG: the services "acctsec SUFFIX" and
# "acctsec+totp SUFFIX" (no SUFFIX: "acctsec", "acctsec+totp") of the
# daemon on SOCKET.  No authsucc with mfa: the mfa line ends a successful
# authentication itself (authsucc first would clear the failure count
# before every guessed code).
acctsec_services() {
        local as="socket=$2 conf=$3"
        cat >"$conf/acctsec${1:+ $1}" <<EOF
auth     requisite                   $module preauth $as
auth     [success=1 default=ignore]  pam_permit.so
auth     [default=die]               $module authfail $as
auth     required                    $module authsucc $as
account  required                    $module $as
EOF
        cat >"$conf/acctsec+totp${1:+ $1}" <<EOF
auth     requisite                   $module preauth $as
auth     [success=1 default=ignore]  pam_permit.so
auth     [default=die]               $module authfail $as
auth     requisite                   $module mfa $as
account  required                    $module $as
EOF
        services+=("acctsec${1:+ $1}" "acctsec+totp${1:+ $1}")
}
acctsec_services "" "$tmp/sock" "$tmp/acctsec.conf"
if [ "$pg" = 1 ]; then
        acctsec_services "[pg unix]" "$tmp/pgunix.sock" "$tmp/pgunix.conf"
        acctsec_services "[pg tcp]" "$tmp/pgtcp.sock" "$tmp/pgtcp.conf"
fi

# The TOTP peers: the code step sits between the password and authfail, so a
# wrong code counts as a failure and authsucc runs only after both passed.
totp_args=(--totp-window "$TOTP_WINDOW")
if [ -f "$pamdir/pam_google_authenticator.so" ] || [ -f "$pamdir/pam_oath.so" ]; then
        # The daemon's 20-byte key of each user: hex for pam_oath, base32 for
        # google-authenticator's secret files.
        mkdir -p "$tmp/ga"
        python3 - "$tmp" "$TOTP_WINDOW" <<'PY'
import base64, os, sys
tmp, window = sys.argv[1], int(sys.argv[2])
with open(tmp + "/totp.secrets") as sec, open(tmp + "/users.oath", "w") as oath:
    for line in sec:
        name, key = line.split()
        key = bytes.fromhex(key)
        oath.write("HOTP/T30/6\t%s\t-\t%s\n" % (name, key.hex()))
        path = "%s/ga/%s" % (tmp, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b32encode(key).decode() + "\n")
            f.write('" TOTP_AUTH\n" DISALLOW_REUSE\n" WINDOW_SIZE %d\n' % (2 * window + 1))
os.chmod(tmp + "/users.oath", 0o600)
PY
fi

if [ -f "$pamdir/pam_google_authenticator.so" ]; then
        cat >"$conf/faillock+google-authenticator" <<EOF
auth     required                    pam_faillock.so preauth $fl
auth     [success=ok default=1]      pam_permit.so
auth     [success=1 default=bad]     pam_google_authenticator.so secret=$tmp/ga/\${USER} user=root
auth     [default=die]               pam_faillock.so authfail $fl
auth     sufficient                  pam_faillock.so authsucc $fl
account  required                    pam_faillock.so $fl
EOF
        services+=(faillock+google-authenticator)
else
        echo "run.sh: pam_google_authenticator.so not installed: no faillock+google-authenticator row" >&2
fi

if [ -f "$pamdir/pam_oath.so" ]; then
        cat >"$conf/faillock+oath" <<EOF
auth     required                    pam_faillock.so preauth $fl
auth     [success=ok default=1]      pam_permit.so
auth     [success=1 default=bad]     pam_oath.so usersfile=$tmp/users.oath window=$TOTP_WINDOW digits=6
auth     [default=die]               pam_faillock.so authfail $fl
auth     sufficient                  pam_faillock.so authsucc $fl
account  required                    pam_faillock.so $fl
EOF
        services+=(faillock+oath)
else
        echo "run.sh: pam_oath.so not installed: no faillock+oath row" >&2
fi

# --- run ------------------------------------------------------------------------
# The floor under acctsec's durable commit: one fsync of a 4 KiB write in the
# temp dir (what SQLite's WAL commit does at synchronous=FULL), in place and
# appending (a growing file also commits the file system's journal).
python3 - "$tmp/fsync.probe" "$([ "$quick" = 1 ] && echo 50 || echo 300)" <<'PY' || true
import os, sys, time
path, n = sys.argv[1], int(sys.argv[2])
res = []
for mode in ("in place", "appending"):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"\0" * 4096)
    os.fsync(fd)
    buf, ts = os.urandom(4096), []
    for _ in range(n):
        if mode == "appending":
            os.write(fd, buf)
        else:
            os.pwrite(fd, buf, 0)
        t = time.perf_counter()
        os.fsync(fd)
        ts.append((time.perf_counter() - t) * 1e3)
    os.close(fd)
    os.unlink(path)
    ts.sort()
    res.append("%s p50 %.3f ms" % (mode, ts[len(ts) // 2]))
print("# fsync of a 4 KiB write in %s (%d rounds): %s" % (os.path.dirname(path), n, ", ".join(res)))
PY
# The PostgreSQL stacks' keys are their own enrolment's, every other's the
# SQLite daemon's.
svc_args=()
secrets=
for s in "${services[@]}"; do
        want=$tmp/totp.secrets
        [[ $s == *"[pg "* ]] && want=$tmp/totp-pg.secrets
        [ "$want" = "$secrets" ] || svc_args+=(--totp-secrets "$want")
        secrets=$want
        svc_args+=(--service "$s")
done
status=0
"${nss[@]}" "$BUILD_DIR/bench/bench_login" --confdir "$conf" "${svc_args[@]}" \
        --users-prefix "$prefix" --users "$USERS" --logins "$LOGINS" --warmup "$WARMUP" --rounds "$ROUNDS" \
        "${totp_args[@]}" || status=$?

# --- acctsecd on its own: concurrency ----------------------------------------------
# After the logins: the AUTHFAIL rows (deny=0 in the request: counted, never
# locked) would otherwise lock the bench users.  Over the first 32 users
# only: nss_wrapper finds a user by a linear scan of its passwd file with a
# getenv() per entry, over a third of the daemon's CPU with 2,000 users
# (perf), which is the harness's cost, not acctsecd's.
echo "# acctsecd alone: bench_daemon and the CLI; value, target"
printf '%-64s %12s %-4s %12s  %s\n' measure value "" target ""
bd=("${nss[@]}" "$BUILD_DIR/bench/bench_daemon")
rps_users=$((USERS < 32 ? USERS : 32))
for op in preauth authfail; do
        "${bd[@]}" throughput --socket "$tmp/sock" --op "$op" --clients "$CLIENTS" --requests "$RPS_REQUESTS" \
                --users-prefix "$prefix" --users "$rps_users" || status=1
done

# fleet_run N: N daemons fleetN-1 .. fleetN-N (each its own host_id) on a new
# database fleetN over the Unix socket, CLIENTS clients each, the same runs.
# The daemons stay up for the checks below.
fleet_run() {
        local n=$1 i op socks=() r=0
        pg_sql postgres "CREATE DATABASE fleet$n" || return 1
        for ((i = 1; i <= n; i++)); do
                start_pg_daemon "fleet$n-$i" "$pg_unix dbname=fleet$n" || return 1
                socks+=(--socket "$tmp/fleet$n-$i.sock")
        done
        for op in preauth authfail; do
                "${bd[@]}" throughput "${socks[@]}" --op "$op" --clients "$CLIENTS" --requests "$RPS_REQUESTS" \
                        --users-prefix "$prefix" --users "$rps_users" --label "[pg unix]" || r=1
        done
        return $r
}
if [ "$pg" = 1 ]; then
        fleet_run 1 || status=1
        fleet_run 4 || status=1
fi

# --- the daemon's side: alive, no errors, one durable row per authsucc / code ---
# check_daemon TAG: acctsecd TAG still runs and logged nothing but the
# bench's events (the auth_failure rows are the throughput runs').
check_daemon() {
        if ! running "$(cat "$tmp/$1.pid")"; then
                echo "run.sh: $1 died during the run" >&2
                return 1
        fi
        if grep -Ev ' ready \(|^acctsecd: (auth_success|mfa_enrolled|backup_codes_generated|code_used) |^acctsecd: auth_failure user=[^ ]* service=bench |^acctsecd: postgresql: migrating the schema from version 0 |^acctsecd: stopping on signal|write transactions in|^acctsecd: durability: ' "$tmp/$1.log" >"$tmp/$1-other.log"; then
                echo "run.sh: $1 logged something besides auth_success, mfa_enrolled, backup_codes_generated, code_used, the bench's auth_failure events, a new schema and a stop:" >&2
                head -20 "$tmp/$1-other.log" >&2
                return 1
        fi
}

# count_sql DB SQL: the answer of the SQLite daemon's database (DB sqlite)
# or of the PostgreSQL database DB.
count_sql() {
        if [ "$1" = sqlite ]; then
                sqlite3 "file:$tmp/state/acctsec.db?mode=ro" "$2"
        else
                pg_sql "$1" "$2"
        fi
}

# check_events DB CHECK...: each CHECK "TYPE|SERVICE|N" (SERVICE a LIKE
# pattern): DB's events hold N rows of TYPE from SERVICE.
check_events() {
        local db=$1 check type svc n rows r=0
        shift
        for check in "$@"; do
                IFS='|' read -r type svc n <<<"$check"
                rows=$(count_sql "$db" "SELECT count(*) FROM events WHERE type = '$type' AND coalesce(service, '') LIKE '$svc'" 2>&1) || true
                echo "# acctsec security log ($db): $rows $type rows (service $svc, want $n)"
                if [ "$rows" != "$n" ]; then
                        echo "run.sh: expected $n $type rows ($svc) in the database $db, found '$rows'" >&2
                        r=1
                fi
        done
        return $r
}

# One auth_success row per login of each acctsec stack; with TOTP also one
# code_used row per login; one mfa_enrolled row per user.
want=$((LOGINS + WARMUP))
check_daemon acctsecd || status=1
if command -v sqlite3 >/dev/null; then
        check_events sqlite "auth_success|acctsec|$want" "auth_success|acctsec+totp|$want" "code_used|%|$want" \
                "mfa_enrolled|%|$USERS" "auth_failure|bench|$((CLIENTS * RPS_REQUESTS))" || status=1
fi
stop_daemon acctsecd

# check_pg: the PostgreSQL daemons and databases as the SQLite ones above;
# the fleets' auth_failure rows come from every host of the fleet.
check_pg() {
        local tag where n hosts r=0
        for tag in pgunix pgtcp fleet1-1 fleet4-{1..4}; do
                check_daemon "$tag" || r=1
        done
        for where in unix tcp; do
                check_events "bench_$where" "auth_success|acctsec [pg $where]|$want" \
                        "auth_success|acctsec+totp [pg $where]|$want" "code_used|%|$want" "mfa_enrolled|%|$USERS" || r=1
        done
        for n in 1 4; do
                check_events "fleet$n" "auth_failure|bench|$((n * CLIENTS * RPS_REQUESTS))" || r=1
                hosts=$(pg_sql "fleet$n" "SELECT count(DISTINCT host) FROM events WHERE type = 'auth_failure'") || true
                if [ "$hosts" != "$n" ]; then
                        echo "run.sh: fleet$n: auth_failure rows from $hosts hosts, not $n" >&2
                        r=1
                fi
        done
        for tag in pgunix pgtcp fleet1-1 fleet4-{1..4}; do
                stop_daemon "$tag"
        done
        if [ "$r" != 0 ]; then
                echo "run.sh: the end of the PostgreSQL server's log ($pg_log):" >&2
                tail -20 "$pg_log" >&2
        fi
        return $r
}
if [ "$pg" = 1 ]; then
        check_pg || status=1
fi

# --- acctsecd on its own: scale ----------------------------------------------------
# A second daemon, on SCALE_USERS users (passwd, lockout and account rows)
# and SCALE_EVENTS events written straight into its database; user
# ${prefix}s0 has every (SCALE_EVENTS/1000)th event, so that its last 100
# are spread over the whole table as a long-lived account's would be.
# The users are database rows: nss_wrapper keeps its whole passwd file in
# the daemon's memory, which would count 100,000 entries of the harness
# against the daemon's RSS.  Nothing here looks a user up but root.
echo "root:x:0:0:root:/root:/bin/sh" >"$tmp/passwd.scale"
start_daemon scale "$tmp/passwd.scale" "$tmp/scale.sock" "$tmp/scale" || exit 1 # creates the schema
stop_daemon scale
gen_start=$(date +%s.%N)
python3 - "$tmp/scale/acctsec.db" "${prefix}s" "$SCALE_USERS" "$SCALE_EVENTS" <<'PY' || exit 1
import sqlite3, sys, time
db, prefix, users, events = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
now, stride = int(time.time()), max(1, events // 1000)
types = ("auth_success", "session_opened", "session_closed", "auth_failure", "login_denied")
con = sqlite3.connect(db)
con.execute("PRAGMA synchronous = OFF")
def rows():
    for i in range(events):
        u = 0 if i % stride == 0 else i % users
        t = types[i % len(types)]
        yield (now - (events - i) // 10, t, "%s%d" % (prefix, u), "sshd", "10.%d.%d.%d" % (u >> 16 & 255, u >> 8 & 255, u & 255),
               "", "", "failures=1" if t == "auth_failure" else "")
with con:
    con.executemany("INSERT INTO events (time, type, user, service, rhost, tty, actor, detail)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows())
    con.executemany("INSERT INTO lockout (user, failures, first_failure, last_failure) VALUES (?, 1, ?, ?)",
                    (("%s%d" % (prefix, u), now - 60, now - 60) for u in range(users)))
    con.executemany("INSERT INTO account (user, changed, updated) VALUES (?, ?, ?)",
                    (("%s%d" % (prefix, u), now - 86400, now - 86400) for u in range(users)))
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.close()
PY
gen_end=$(date +%s.%N)
awk -v a="$gen_start" -v b="$gen_end" -v u="$SCALE_USERS" -v e="$SCALE_EVENTS" -v s="$(du -sh "$tmp/scale" | cut -f1)" 'BEGIN {
        printf "# scale database: %d users, %d events written in %.1f s (%s on disk)\n", u, e, b - a, s }'
start_daemon scale "$tmp/passwd.scale" "$tmp/scale.sock" "$tmp/scale" || exit 1
scale_pid=$(cat "$tmp/scale.pid")
snss=(env "LD_PRELOAD=$nsswrapper" "NSS_WRAPPER_PASSWD=$tmp/passwd.scale" "NSS_WRAPPER_GROUP=$tmp/group")
"${snss[@]}" "$BUILD_DIR/bench/bench_daemon" latency --socket "$tmp/scale.sock" --user "${prefix}s0" --count 100 \
        --requests "$([ "$quick" = 1 ] && echo 20 || echo 1000)" || status=1
export_start=$(date +%s.%N)
"${snss[@]}" "$BUILD_DIR/acctsec" --socket "$tmp/scale.sock" log export --all --format json >"$tmp/export.json" || status=1
export_end=$(date +%s.%N)
exported=$(grep -o '{"id":' "$tmp/export.json" | wc -l)
rm -f "$tmp/export.json"
awk -v a="$export_start" -v b="$export_end" -v n="$exported" 'BEGIN {
        printf "%-64s %12.3f %-4s %12s  %s\n", sprintf("acctsec log export --all --format json (%d events)", n), b - a, "s", "<= 3", b - a <= 3 ? "met" : "NOT MET" }'
if [ "$exported" -lt "$SCALE_EVENTS" ]; then
        echo "run.sh: the export has $exported events, the database at least $SCALE_EVENTS" >&2
        status=1
fi
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$scale_pid/status")
awk -v k="$hwm" 'BEGIN {
        printf "%-64s %12.3f %-4s %12s  %s\n", "acctsecd peak RSS (VmHWM) after the above", k / 1024, "MiB", "<= 16", k <= 16384 ? "met" : "NOT MET" }'
stop_daemon scale
if grep -Ev ' ready \(|^acctsecd: log_exported |^acctsecd: stopping on signal|write transactions in|^acctsecd: durability: ' "$tmp/scale.log" >"$tmp/scale-other.log"; then
        echo "run.sh: the scale acctsecd logged:" >&2
        head -20 "$tmp/scale-other.log" >&2
        status=1
fi

# --- acctsecd on its own: socket-activation cold start --------------------------------
# Without nss_wrapper (the request is about root): what systemd starts, with
# both sockets of the packaged units (the shared one, and root's named private).
if command -v systemd-socket-activate >/dev/null; then
        for state in empty scale; do
                "$BUILD_DIR/bench/bench_daemon" coldstart --socket "$tmp/$state-activate.sock" --user root \
                        --rounds "$COLD_ROUNDS" -- systemd-socket-activate -l "$tmp/$state-activate.sock" \
                        -l "$tmp/$state-activate-private.sock" --fdname=acctsecd.socket:private \
                        "$BUILD_DIR/acctsecd" --state-dir "$tmp/$state" --config "$tmp/acctsec.conf" \
                        --foreground 2>>"$tmp/cold.log" | sed "s/^socket activation:/cold start, $state db:/" ||
                        status=1
        done
        if grep -Ev ' ready \(|^acctsecd: stopping on signal|write transactions in|^acctsecd: durability: |^Listening on|^Communication attempt|^Execing' "$tmp/cold.log" >"$tmp/cold-other.log"; then
                echo "run.sh: the socket-activated acctsecd logged:" >&2
                head -20 "$tmp/cold-other.log" >&2
                status=1
        fi
else
        echo "run.sh: systemd-socket-activate not installed: no cold start rows" >&2
fi

if [ "$status" != 0 ]; then
        echo "run.sh: FAILED (status $status)" >&2
        exit 1
fi
exit 0
