#!/usr/bin/env bash
# Tier 4: a real client (pamtester) through a real /etc/pam.d service file,
# real pam_unix with a real user's shadow password, and a real acctsecd
# resolving the user through the system's NSS.  Root only (exit 77 otherwise):
# it creates a user and a service file, and removes both on exit.  TAP output.
set -uo pipefail
[ "$(id -u)" -eq 0 ] || { echo "# skipped: needs root" >&2; exit 77; }
command -v pamtester >/dev/null || { echo "# skipped: pamtester not installed" >&2; exit 77; }
B=${ACCTSEC_BUILD_DIR:?set ACCTSEC_BUILD_DIR}

user=acctsec-t4-$$
service=acctsec-t4-$$
pw='Correct-Horse-4'
work=$(mktemp -d /tmp/acctsec-t4.XXXXXX)
daemon=
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    rm -f "/etc/pam.d/$service"
    userdel "$user" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

useradd -M -s /usr/sbin/nologin "$user" || exit 1
echo "$user:$pw" | chpasswd || exit 1
printf 'deny = 3\n' >"$work/acctsec.conf"
mod="$B/.libs/pam_acctsec.so socket=$work/sock conf=$work/acctsec.conf"
cat >"/etc/pam.d/$service" <<PAM
auth     requisite                  $mod preauth
auth     [success=1 default=ignore] pam_unix.so nodelay
auth     [default=die]              $mod authfail
auth     required                   $mod authsucc
account  required                   $mod
account  required                   pam_unix.so
PAM

"$B/acctsecd" --socket "$work/sock" --state-dir "$work/state" --config "$work/acctsec.conf" \
    --foreground 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 1 200); do # until it answers (bounded)
    "$B/acctsec" --socket "$work/sock" status >/dev/null 2>&1 && break
    sleep 0.05
done

n=0 failed=0
t() { # t NAME EXPECTED(0|1) CMD...: pamtester exits 0 on success
    local name=$1 want=$2; shift 2
    n=$((n + 1))
    "$@" >"$work/out" 2>&1
    local rc=$?
    if { [ "$want" -eq 0 ] && [ "$rc" -eq 0 ]; } || { [ "$want" -ne 0 ] && [ "$rc" -ne 0 ]; }; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name (exit $rc)"; sed 's/^/# /' "$work/out"; failed=$((failed + 1))
    fi
}
login() { echo "$1" | pamtester "$service" "$user" authenticate acct_mgmt; }
q() { sqlite3 "$work/state/acctsec.db" "$1"; }
eq() { # eq NAME GOT WANT
    n=$((n + 1))
    if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1: got '$2', want '$3'"; failed=$((failed + 1)); fi
}

t "good password accepted" 0 login "$pw"
for i in 1 2 3; do t "wrong password $i refused" 1 login "wrong-$i"; done
eq "three failures counted" "$(q "SELECT failures FROM lockout WHERE user='$user'")" 3
t "right password refused while locked" 1 login "$pw"
eq "lock logged once" "$(q "SELECT count(*) FROM events WHERE type='lockout' AND user='$user'")" 1
t "account phase alone refuses (public-key path)" 1 pamtester "$service" "$user" acct_mgmt
t "admin unlock" 0 "$B/acctsec" --socket "$work/sock" lockout reset --user "$user"
t "good password accepted after unlock" 0 login "$pw"
eq "unlock logged with actor root" "$(q "SELECT actor FROM events WHERE type='unlock'")" root
kill "$daemon"; wait "$daemon"; rc=$?; daemon=
eq "daemon exits cleanly on SIGTERM" "$rc" 0
t "daemon stopped: login denied (failmode=secure)" 1 login "$pw"
echo "1..$n"
[ "$failed" -eq 0 ]
