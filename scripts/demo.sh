#!/usr/bin/env bash
# acctsec demo: a real acctsecd in a temporary state dir, real PAM logins
# (libpam's pam_start_confdir with a temporary service file), a good login,
# three bad ones, the lockout, and an admin unlock.  Nothing in /etc changes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$top/scripts/deps.sh" demo
echo "== building (in build/)"
build build

B=$top/build
work=$(mktemp -d /tmp/acctsec-demo.XXXXXX)
chmod 755 "$work"
daemon_pid=
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

demo_user  # $who: alice as root, else you (scripts/lib.sh)
cat >"$work/acctsec.conf" <<CONF
# demo settings: the defaults, spelled out
deny = 3
fail_interval = 1h
unlock_time = 1h
admin_group = acctsec-admin
# codes by mail go into a Maildir here (sendmail or smtp on a real server)
mail_transport = maildir
maildir = $work/maildir
mail_from = acctsec@demo.example
CONF
mkdir "$work/pam.d"
mod="$B/.libs/pam_acctsec.so socket=$work/acctsecd.sock conf=$work/acctsec.conf"
demo_pam_service "$work/pam.d/demo-login" "$mod" authsucc
# The same with a second factor: "mfa" ends the auth stack instead of authsucc.
demo_pam_service "$work/pam.d/demo-login-mfa" "$mod" mfa

echo "== starting acctsecd (state in $work/state)"
demo_daemon "$work/acctsecd.sock" "$work/state" "$work/acctsec.conf" "$work/acctsecd.log" || exit 1
daemon_pid=$demo_daemon_pid

echo
echo "== the PAM service file (/etc/pam.d style, in $work/pam.d/demo-login)"
sed "s#$B/.libs/##; s#$work#\$DEMO#g" "$work/pam.d/demo-login" | sed 's/^/    /'

try() { # try PASSWORD: one login as $who
    echo "$1" | "$B/tests/tools/pam_login" "$work/pam.d" demo-login "$who" 203.0.113.7 || true
}
acctsec() { "$B/acctsec" --socket "$work/acctsecd.sock" "$@"; }

echo
echo "== 1. $who logs in with the right password";      try correct-horse-battery
echo "== 2. three wrong passwords";                     for i in 1 2 3; do try "guess-$i"; done
echo "== 3. the right password is now refused too (it looks exactly like a wrong one)"
try correct-horse-battery
echo
echo "== 4. what an admin sees: acctsec lockout show"
acctsec lockout show | sed 's/^/    /'
echo
echo "== 5. an admin unlocks $who: acctsec lockout reset --user $who"
acctsec lockout reset --user "$who" | sed 's/^/    /'
echo "== 6. $who logs in again";                        try correct-horse-battery
echo
echo "== 7. $who's address for emailed codes"
if [ "$(id -u)" -eq 0 ]; then
    echo "    (set by an admin, so it counts as verified)"
    acctsec email set "$who@example.com" --user "$who" | sed 's/^/    /'
else
    echo "    (set by the user: a code is mailed to confirm it)"
    acctsec email set "$who@example.com" | sed 's/^/    /'
    code=$(sed -n 's/.*is: \([0-9][0-9]*\).*/\1/p' "$work"/maildir/new/* | head -1)  # (CRLF mail)
    acctsec email verify "$code" | sed 's/^/    /'
fi
echo "== 8. an admin requires a second factor for $who: acctsec mfa require --user $who"
acctsec mfa require --user "$who" | sed 's/^/    /'
echo "== 9. $who logs in: password, then the code from the mail"
echo correct-horse-battery | PAM_LOGIN_MAILDIR=$work/maildir \
    "$B/tests/tools/pam_login" "$work/pam.d" demo-login-mfa "$who" 203.0.113.7 || true
echo "== 10. acctsec mfa status --user $who"
acctsec mfa status --user "$who" | sed 's/^/    /'
echo
echo "== acctsec status --user $who --json"
acctsec status --user "$who" --json | sed 's/^/    /'
echo
echo "== the daemon's log (under systemd these go to the journal with a MESSAGE_ID each)"
sed 's/^/    /' "$work/acctsecd.log"
echo
echo "Demo done. Next: scripts/demo-fleet.sh shows two hosts sharing one PostgreSQL; scripts/test.sh runs every test tier."
