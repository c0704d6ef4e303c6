#!/usr/bin/env bash
# acctsec fleet demo: two hosts, web1 and web2, each a real acctsecd with
# store = postgresql on one private PostgreSQL database (started here by
# bench/pg.py: initdb in a temporary directory, the server as "nobody" when
# run as root), and real PAM logins on each (libpam's pam_start_confdir with
# a service file per host whose pam_acctsec.so line names that host's
# socket).  Shows a lockout counted across the hosts, an unlock on one host
# holding on the other, one TOTP enrolment serving both, a replay refused,
# and the fleet's security log.  Nothing in /etc changes; everything started
# here is stopped and removed at the end.  Each step checks what it says and
# the demo stops with "DEMO FAILED" when one does not.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$top/scripts/deps.sh" fleet
echo "== building (in build/)"
build build

B=$top/build
work=$(mktemp -d /tmp/acctsec-fleet-demo.XXXXXX)
chmod 755 "$work"
pids=() pg_pid=
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    # bench/pg.py stops the server and removes its directory on SIGTERM.
    [ -n "$pg_pid" ] && kill "$pg_pid" 2>/dev/null && wait "$pg_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
die() {
    echo "DEMO FAILED: $*" >&2
    local f
    for f in "$work"/*.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
    exit 1
}

demo_user

echo "== a private PostgreSQL cluster (bench/pg.py, tests/fleet/pgcluster.py)"
python3 "$top/bench/pg.py" serve "$work/pg.env" 2>"$work/pg.log" &
pg_pid=$!
pg_bindir='' pg_unix=''
wait_file "$work/pg.env" "$pg_pid" || die "PostgreSQL did not start (apt-get install postgresql?)"
# shellcheck disable=SC1091 # written by pg.py: pg_bindir, pg_unix (no dbname), pg_log
. "$work/pg.env"
db="$pg_unix dbname=acctsec"
sql() { "$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
"$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 -d "$pg_unix dbname=postgres" -c "CREATE DATABASE acctsec"
echo "    database: $db"
# The fleet key: 32 random bytes every host holds (0600), never in the database.
(umask 077 && head -c 32 /dev/urandom >"$work/fleet.key")

mkdir "$work/pam.d"
for h in web1 web2; do
    cat >"$work/$h.conf" <<CONF
# $h: one host of the fleet
store = postgresql
postgresql = $db
host_id = $h
fleet_key = $work/fleet.key
deny = 3
unlock_time = 1h
admin_group = acctsec-admin
CONF
    mkdir "$work/pam.d/$h"
    demo_pam_service "$work/pam.d/$h/demo-login" "$B/.libs/pam_acctsec.so socket=$work/$h.sock conf=$work/$h.conf" mfa
    demo_daemon "$work/$h.sock" "$work/$h-state" "$work/$h.conf" "$work/$h.log" || die "acctsecd $h did not start"
    pids+=("$demo_daemon_pid")
done
echo "== two hosts: acctsecd web1 and acctsecd web2 on that database"
echo "== web1's configuration ($work/web1.conf)"
sed "s#$work#\$DEMO#g" "$work/web1.conf" | sed 's/^/    /'
echo "== web1's PAM service file (pam.d/web1/demo-login; web2's names web2's socket and configuration)"
sed "s#$B/.libs/##; s#$work#\$DEMO#g" "$work/pam.d/web1/demo-login" | sed 's/^/    /'

on() { # on HOST acctsec ARGS...: the CLI against HOST's daemon
    local h=$1; shift
    "$B/acctsec" --socket "$work/$h.sock" "$@"
}
login() { # login HOST accepted|refused PASSWORD [CODE]: one login as $who on HOST
    local h=$1 want=$2 got=accepted
    echo "  - on $h: the password '$3'${4:+, then the code $4}"
    printf '%s\n%s\n' "$3" "${4:-}" | "$B/tests/tools/pam_login" "$work/pam.d/$h" demo-login "$who" 203.0.113.7 ||
        got=refused
    [ "$got" = "$want" ] || die "the login on $h was $got, not $want"
}
locked() { # locked HOST: is $who locked, as HOST's daemon says
    on "$1" --json status --user "$who" | grep -q '"locked":true'
}
# totp SECRET STEP: the code an authenticator app shows for a 30-second step.
totp() {
    python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from sshd_env import totp; print(totp(sys.argv[2], int(sys.argv[3])))' \
        "$top/tests/system" "$1" "$2"
}

echo
echo "== 1. three wrong passwords, spread over the hosts: web1, web2, web1"
login web1 refused guess-1
login web2 refused guess-2
login web1 refused guess-3
echo "== 2. $who is locked on both hosts: the right password is refused on web2 and on web1"
login web2 refused correct-horse-battery
login web1 refused correct-horse-battery
for h in web1 web2; do
    echo "== acctsec status --user $who, on $h"
    on $h status --user "$who" | sed 's/^/    /'
    locked $h || die "$h does not say $who is locked"
done
failures=$(sql -A -t -c "SELECT failures FROM lockout WHERE \"user\" = '$who'")
[ "$failures" = 3 ] || die "the fleet's lockout row says $failures failures, not 3"
echo "    (the fleet's lockout row: $failures failures, one tally for every host)"

echo
echo "== 3. an admin on web2 unlocks $who: acctsec lockout reset --user $who"
on web2 lockout reset --user "$who" | sed 's/^/    /'
echo "== acctsec status --user $who, on web1"
on web1 status --user "$who" | sed 's/^/    /'
! locked web1 || die "web1 still says $who is locked after the unlock on web2"
echo "== $who logs in on web1 again"
login web1 accepted correct-horse-battery

echo
echo "== 4. $who enrols an authenticator app once, on web1: acctsec mfa enroll totp --user $who"
secret=$(on web1 --json mfa enroll totp --user "$who" | sed -n 's/.*"secret":"\([A-Z2-7]*\)".*/\1/p')
[ -n "$secret" ] || die "no TOTP secret from web1"
echo "    secret (what the QR code holds): $secret"
confirmed=$(($(date +%s) / 30 - 1))  # the previous 30-second step's code: the next one is still new
code=$(totp "$secret" $confirmed)
echo "== and confirms it on web1 with the app's code $code: acctsec mfa confirm $code --user $who"
on web1 mfa confirm "$code" --user "$who" | sed 's/^/    /'
now=$(($(date +%s) / 30))  # a later step than the confirm's, within the window (totp_window = 1)
code=$(totp "$secret" $((now - 1 > confirmed ? now - 1 : confirmed + 1)))
echo "== 5. on web2: the password, then the app's next code ($code)"
login web2 accepted correct-horse-battery "$code"
echo "== 6. the same code again, on web1: refused (a code is used once in the whole fleet)"
login web1 refused correct-horse-battery "$code"
why=$(sql -A -t -c "SELECT host || ': ' || detail FROM events WHERE \"user\" = '$who' AND type = 'code_refused' ORDER BY id DESC LIMIT 1")
[ "$why" = "web1: totp: code already used" ] || die "the refusal on web1 says '$why', not a replay"
echo "    (the security log says why: ${why#web1: })"

echo
echo "== 7. the fleet's security log, from either host: acctsec log show --all (on web1)"
echo "   (the second column is the host that logged each event)"
shown=$(on web1 log show --all)
printf '%s\n' "$shown" | sed 's/^/    /'
grep -q " web2 " <<<"$shown" || die "log show on web1 does not show web2's events with their host"
got=$(sql -A -t -F ' ' -c "SELECT host, type FROM events WHERE \"user\" = '$who' AND type IN ('auth_failure', 'unlock', 'code_used') ORDER BY id" | tr '\n' ',')
[ "$got" = "web1 auth_failure,web2 auth_failure,web1 auth_failure,web2 unlock,web2 code_used,web1 auth_failure," ] ||
    die "the events do not name the hosts that logged them: $got"

echo
echo "Fleet demo done: one lockout, one unlock and one TOTP enrolment held on both hosts."
echo "Stopping both daemons and PostgreSQL, removing $work."
