#!/usr/bin/env bash
# Tier 4: the Debian package.  Builds acctsec_*.deb from a copy of the source
# tree (dpkg-buildpackage, nothing is written into the repository), installs
# it, enables the pam-auth-update profiles, checks the order of the lines in
# /etc/pam.d/common-{auth,account,password,session} (and that
# common-session-noninteractive is left alone), logs in through those
# files with pamtester (real pam_unix, a real user, a real acctsecd), locks
# and unlocks the user, purges the package and checks that the common-*
# files are back as they were.  Root only; exit 77 without output when not
# root, when the build tools are missing, or when acctsec is already
# installed or running on this machine (the test must not touch an admin's
# acctsec).  Whatever happens, the trap puts the machine's PAM files back.
# TAP output.
set -uo pipefail
[ "$(id -u)" -eq 0 ] || exit 77
for c in dpkg-buildpackage dh dh_installsystemd pam-auth-update pamtester apt-get useradd chpasswd; do
    command -v "$c" >/dev/null 2>&1 || exit 77
done
# An installed acctsec (the package, or make install's daemon on the default
# socket) belongs to the admin: purging it would delete their database.
dpkg-query -W -f='${Status}' acctsec 2>/dev/null | grep -q 'install ok' && exit 77
[ -e /usr/share/pam-configs/acctsec ] && exit 77
[ -S /run/acctsec/acctsecd.sock ] && exit 77

top=$(cd "$(dirname "$0")/../.." && pwd)
user=acctsec-deb-$$
service=acctsec-deb-$$
pw='Correct-Horse-4'
work=$(mktemp -d /tmp/acctsec-deb.XXXXXX)
save=$work/saved
mkdir -p "$save/pam.d" "$save/varlibpam"
daemon=
systemd=no
[ -d /run/systemd/system ] && systemd=yes

# Everything the package or pam-auth-update may change, saved before anything
# else happens: the common-* files, pam-auth-update's own state in /var/lib/pam,
# and files at the package's conffile and state paths left by make install.
for f in common-auth common-account common-password common-session common-session-noninteractive; do
    [ -e "/etc/pam.d/$f" ] && cp -a "/etc/pam.d/$f" "$save/pam.d/$f"
done
[ -d /var/lib/pam ] && cp -a /var/lib/pam/. "$save/varlibpam/"
for f in /etc/security/acctsec.conf /etc/pam.d/acctsec; do
    [ -e "$f" ] && cp -a "$f" "$save/$(basename "$f").orig"
done
had_state=no
if [ -e /var/lib/acctsec ]; then
    had_state=yes
    mv /var/lib/acctsec "$save/var-lib-acctsec"
fi

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; fi
    if dpkg-query -W -f='${Status}' cockpit-acctsec 2>/dev/null | grep -q 'installed'; then
        DEBIAN_FRONTEND=noninteractive dpkg --purge cockpit-acctsec >/dev/null 2>&1
    fi
    if dpkg-query -W -f='${Status}' acctsec 2>/dev/null | grep -q 'installed'; then
        DEBIAN_FRONTEND=noninteractive dpkg --purge acctsec >/dev/null 2>&1
    fi
    local f
    for f in "$save"/pam.d/*; do [ -e "$f" ] && cp -a "$f" /etc/pam.d/; done
    if [ -d /var/lib/pam ]; then
        rm -rf /var/lib/pam/*; cp -a "$save/varlibpam/." /var/lib/pam/
    fi
    [ -e "$save/acctsec.conf.orig" ] && cp -a "$save/acctsec.conf.orig" /etc/security/acctsec.conf
    [ -e "$save/acctsec.orig" ] && cp -a "$save/acctsec.orig" /etc/pam.d/acctsec
    if [ "$had_state" = yes ]; then rm -rf /var/lib/acctsec; mv "$save/var-lib-acctsec" /var/lib/acctsec; fi
    rm -f "/etc/pam.d/$service"
    userdel "$user" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

n=0 failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; failed=$((failed + 1)); [ -f "${2:-}" ] && sed 's/^/# /' "$2" | tail -n 40; }
check() { # check NAME CMD...: CMD must succeed
    local name=$1; shift
    if "$@" >"$work/out" 2>&1; then pass "$name"; else fail "$name" "$work/out"; fi
}
refuse() { # refuse NAME CMD...: CMD must fail
    local name=$1; shift
    if "$@" >"$work/out" 2>&1; then fail "$name (it succeeded)" "$work/out"; else pass "$name"; fi
}
# line NEEDLE FILE: number of the first line that matches (0 if none)
line() { grep -n -E "$1" "$2" | head -n 1 | cut -d: -f1 | grep . || echo 0; }
before() { # before NAME FILE RE1 RE2: RE1's line comes before RE2's
    local a b
    a=$(line "$3" "$2"); b=$(line "$4" "$2")
    if [ "$a" -gt 0 ] && [ "$b" -gt 0 ] && [ "$a" -lt "$b" ]; then pass "$1"
    else fail "$1 (lines $a, $b)" "$2"; fi
}
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit; }

# --- build from a copy of the tree -------------------------------------------
src=$work/src/acctsec
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    # The working tree's sources (committed or not), no build products.
    # shellcheck disable=SC2016 # the inner sh expands them
    (cd "$top" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
        tar --null -T - -cf -) | tar -C "$src" -xf -
else
    (cd "$top" && tar --exclude=./build --exclude='./build-*' -cf - .) | tar -C "$src" -xf -
fi
start=$(date +%s)
if (cd "$src" && DEB_BUILD_OPTIONS="parallel=2 nocheck" dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
    pass "dpkg-buildpackage -us -uc -b builds the package ($(( $(date +%s) - start )) s)"
else
    fail "dpkg-buildpackage -us -uc -b" "$work/build.log"; finish
fi
deb=
for f in "$work"/src/acctsec_*_*.deb; do [ -e "$f" ] && deb=$f; done # not acctsec-dbgsym_
[ -n "$deb" ] || { fail "a .deb was built" "$work/build.log"; finish; }
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/contents"
# Where libpam-modules keeps pam_unix.so (/lib/<multiarch>/security on bookworm).
pamdir=$(dpkg -L libpam-modules | sed -n 's|/pam_unix\.so$||p' | head -n 1)
for f in "$pamdir/pam_acctsec.so" /usr/sbin/acctsecd /usr/bin/acctsec \
         /etc/security/acctsec.conf /etc/pam.d/acctsec /usr/share/pam-configs/acctsec \
         /usr/share/pam-configs/acctsec-authfail /usr/share/pam-configs/acctsec-mfa \
         /usr/share/man/man8/pam_acctsec.8.gz /usr/share/man/man8/acctsecd.8.gz \
         /usr/share/man/man1/acctsec.1.gz /usr/share/man/man5/acctsec.conf.5.gz \
         /usr/share/man/man7/acctsec-fleet.7.gz /usr/share/acctsec/acctsec-roles.sql \
         /usr/share/bash-completion/completions/acctsec /usr/lib/tmpfiles.d/acctsec.conf; do
    if grep -qxF "$f" "$work/contents"; then pass "package ships $f"; else fail "package ships $f" "$work/contents"; fi
done
if [ "$(grep -cE '/lib/systemd/system/acctsecd(-private)?\.(socket|service)$' "$work/contents")" -eq 3 ]; then
    pass "package ships acctsecd.socket, acctsecd-private.socket and acctsecd.service"
else fail "package ships acctsecd.socket, acctsecd-private.socket and acctsecd.service" "$work/contents"; fi
# The Cockpit page: a package of its own, for every architecture.
cdeb=
for f in "$work"/src/cockpit-acctsec_*_all.deb; do [ -e "$f" ] && cdeb=$f; done
if [ -n "$cdeb" ]; then
    pass "cockpit-acctsec_*_all.deb was built"
    dpkg-deb -c "$cdeb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/cockpit-contents"
    for f in manifest.json index.html acctsec.js acctsec.css; do
        if grep -qxF "/usr/share/cockpit/acctsec/$f" "$work/cockpit-contents"; then pass "cockpit-acctsec ships $f"
        else fail "cockpit-acctsec ships $f" "$work/cockpit-contents"; fi
    done
    check "cockpit-acctsec depends on acctsec (same version), cockpit-bridge and cockpit-system" sh -c "
        d=\$(dpkg-deb -f '$cdeb' Depends)
        v=\$(dpkg-deb -f '$deb' Version)
        echo \"\$d\" | grep -qF \"acctsec (>= \$v)\" && echo \"\$d\" | grep -qw cockpit-bridge && echo \"\$d\" | grep -qw cockpit-system"
    if grep -q cockpit "$work/contents"; then fail "the acctsec package ships no Cockpit file" "$work/contents"
    else pass "the acctsec package ships no Cockpit file"; fi
else
    fail "cockpit-acctsec_*_all.deb was built" "$work/build.log"
fi
dpkg-deb -e "$deb" "$work/control"
check "conffiles: /etc/security/acctsec.conf and /etc/pam.d/acctsec" \
    sh -c "grep -qx /etc/security/acctsec.conf '$work/control/conffiles' && grep -qx /etc/pam.d/acctsec '$work/control/conffiles'"

# --- install -----------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
check "apt-get install ./acctsec_*.deb (systemd running: $systemd)" \
    apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$deb"
dpkg-query -W -f='${Status}' acctsec 2>/dev/null | grep -q 'install ok installed' || finish
check "module beside pam_unix.so ($pamdir)" test -f "$pamdir/pam_acctsec.so"
if [ -n "$cdeb" ] && dpkg-query -W -f='${Status}' cockpit-bridge 2>/dev/null | grep -q 'install ok installed'; then
    check "apt-get install ./cockpit-acctsec_*.deb" apt-get install -y -q --no-install-recommends "$cdeb"
    check "the page is where cockpit-bridge finds it" \
        python3 -c "import json; json.load(open('/usr/share/cockpit/acctsec/manifest.json'))"
    check "cockpit-bridge lists the page" sh -c "cockpit-bridge --packages | grep -q '^acctsec'"
    check "apt-get purge -y cockpit-acctsec" apt-get purge -y -q cockpit-acctsec
    check "the purge removed the page" test ! -e /usr/share/cockpit/acctsec
fi
for f in common-auth common-account common-password common-session; do
    if grep -q pam_acctsec "/etc/pam.d/$f"; then fail "installing does not change $f (Default: no)" "/etc/pam.d/$f"
    else pass "installing does not change $f (Default: no)"; fi
done
if [ "$systemd" = yes ]; then
    for u in acctsecd.socket acctsecd-private.socket; do
        check "$u enabled" systemctl is-enabled "$u"
        check "$u active" systemctl is-active "$u"
    done
else
    for u in acctsecd.socket acctsecd-private.socket; do
        check "$u enabled without a running systemd (symlink)" test -L "/etc/systemd/system/sockets.target.wants/$u"
    done
fi
command -v systemd-tmpfiles >/dev/null &&
check "tmpfiles: /run/acctsec/private is root's only (0700)" \
    sh -c 'systemd-tmpfiles --create /usr/lib/tmpfiles.d/acctsec.conf && [ "$(stat -c %a:%U /run/acctsec/private)" = 700:root ] && [ "$(stat -c %a /run/acctsec)" = 755 ]'

# --- pam-auth-update ---------------------------------------------------------
# The test user first: chpasswd goes through common-password, where the
# policy line would ask the daemon (not running yet: refused, fail closed).
if ! useradd -M -s /usr/sbin/nologin "$user" || ! echo "$user:$pw" | chpasswd; then fail "test user created"; finish; fi
check "pam-auth-update --enable acctsec acctsec-authfail acctsec-mfa" \
    pam-auth-update --enable acctsec acctsec-authfail acctsec-mfa
for f in common-auth common-account common-password common-session; do
    sed 's/^/# /' "/etc/pam.d/$f" | grep -v '^# #' | grep -v '^# $'
done
A=$work/common-auth # the lines without the comments
grep -vE '^[[:space:]]*(#|$)' /etc/pam.d/common-auth >"$A"
before "common-auth: preauth before pam_unix" "$A" 'requisite[[:space:]]+pam_acctsec\.so preauth' '^auth.*pam_unix\.so'
before "common-auth: pam_unix before authfail" "$A" '^auth.*pam_unix\.so' '\[default=die\][[:space:]]+pam_acctsec\.so authfail'
before "common-auth: authfail right before pam_deny" "$A" 'pam_acctsec\.so authfail' '^auth[[:space:]]+requisite[[:space:]]+pam_deny\.so'
check "common-auth: authfail is the line right above pam_deny" \
    sh -c "[ \$(( $(line 'pam_acctsec\.so authfail' "$A") + 1 )) -eq $(line 'pam_deny\.so' "$A") ]"
before "common-auth: mfa after pam_permit (the success path)" "$A" 'pam_permit\.so' 'requisite[[:space:]]+pam_acctsec\.so mfa'
# pam_unix's success jump must land on pam_permit: over authfail and pam_deny.
jump=$(grep -E '^auth.*pam_unix\.so' "$A" | head -n 1 | sed -n 's/.*success=\([0-9]*\).*/\1/p')
gap=$(( $(line 'pam_permit\.so' "$A") - $(line '^auth.*pam_unix\.so' "$A") - 1 ))
if [ -n "$jump" ] && [ "$jump" -eq "$gap" ]; then pass "common-auth: pam_unix success=$jump lands on pam_permit"
else fail "common-auth: pam_unix success=${jump:-?} lands on pam_permit (needs $gap)" "$A"; fi
before "common-account: pam_acctsec before pam_unix" /etc/pam.d/common-account \
    '^account[[:space:]]+required[[:space:]]+pam_acctsec\.so' '^account.*pam_unix\.so'
before "common-password: policy line before pam_unix" /etc/pam.d/common-password \
    '^password[[:space:]]+requisite[[:space:]]+pam_acctsec\.so[[:space:]]*$' '^password.*pam_unix\.so.*use_authtok'
before "common-password: commit after pam_permit" /etc/pam.d/common-password \
    'pam_permit\.so' '^password[[:space:]]+optional[[:space:]]+pam_acctsec\.so commit'
check "common-session: pam_acctsec optional" grep -qE '^session[[:space:]]+optional[[:space:]]+pam_acctsec\.so' /etc/pam.d/common-session
# Interactive logins only (Session-Interactive-Only): cron and the user's
# service manager (user@.service, PAM service systemd-user) include
# common-session-noninteractive, and are not logins to list or end.
check "common-session-noninteractive: no pam_acctsec" \
    sh -c '[ -e /etc/pam.d/common-session-noninteractive ] && ! grep -q pam_acctsec /etc/pam.d/common-session-noninteractive'

# An upgrade (here a reinstall: prerm upgrade, postinst configure) keeps the
# admin's choice: the lines stay as they are.
for f in common-auth common-account common-password common-session; do cp "/etc/pam.d/$f" "$work/$f.enabled"; done
check "dpkg -i again (the upgrade path)" dpkg -i --force-confold "$deb"
check "the upgrade keeps the common-* files as they were" sh -c "
    for f in common-auth common-account common-password common-session; do
        cmp '$work/'\$f.enabled /etc/pam.d/\$f || exit 1
    done"

check "pam-auth-update --disable takes the lines out" sh -c "
    pam-auth-update --disable acctsec acctsec-authfail acctsec-mfa &&
    ! grep -q pam_acctsec /etc/pam.d/common-auth /etc/pam.d/common-account \
        /etc/pam.d/common-password /etc/pam.d/common-session"
check "pam-auth-update --enable puts them back the same" sh -c "
    pam-auth-update --enable acctsec acctsec-authfail acctsec-mfa &&
    for f in common-auth common-account common-password common-session; do
        cmp '$work/'\$f.enabled /etc/pam.d/\$f || exit 1
    done"

# --- a real login through the common-* files ---------------------------------
cat >"/etc/pam.d/$service" <<'PAM'
@include common-auth
@include common-account
@include common-password
PAM
if [ "$systemd" = yes ]; then
    check "acctsecd.socket running" systemctl start acctsecd.socket
else
    # No systemd (a container): the installed daemon, standalone, on the
    # default socket, database and configuration.
    mkdir -p /run/acctsec && chmod 0755 /run/acctsec
    /usr/sbin/acctsecd --socket /run/acctsec/acctsecd.sock --foreground 2>"$work/daemon.log" &
    daemon=$!
fi
for _ in $(seq 1 200); do
    acctsec status >/dev/null 2>&1 && break
    sleep 0.05
done
check "acctsec status answers (root: on /run/acctsec/private/acctsecd.sock)" acctsec status
check "root's socket: mode 0600, owner root" sh -c '[ "$(stat -c %a:%U /run/acctsec/private/acctsecd.sock)" = 600:root ]'
login() { printf '%s\n' "$1" | pamtester "$service" "$user" authenticate acct_mgmt; }
check "good password accepted through common-auth + common-account" login "$pw"
for i in 1 2 3; do refuse "wrong password $i refused" login "wrong-$i"; done
check "acctsec lockout show: the user is locked" \
    sh -c "acctsec --json lockout show --user '$user' | grep -q '\"locked\": *true'"
refuse "right password refused while locked" login "$pw"
refuse "account phase refuses the locked user (public-key path)" pamtester "$service" "$user" acct_mgmt
check "acctsec lockout reset" acctsec lockout reset --user "$user"
check "good password accepted after the unlock" login "$pw"
# The password lines: the policy line before pam_unix, commit after pam_permit.
chpw() { printf '%s\n%s\n' "$1" "$1" | pamtester "$service" "$user" chauthtok; }
refuse "common-password: a weak new password refused by the policy line" chpw short
check "common-password: a strong new password set through pam_unix" chpw 'Battery-Staple-77'
if command -v sqlite3 >/dev/null; then
    eq_changed=$(sqlite3 /var/lib/acctsec/acctsec.db "SELECT count(*) FROM events WHERE type='password_changed' AND user='$user'" 2>&1)
    if [ "$eq_changed" = 1 ]; then pass "common-password: commit recorded the change"
    else n=$((n + 1)); echo "not ok $n - common-password: commit recorded the change: got '$eq_changed'"; failed=$((failed + 1)); fi
fi
check "login with the new password" login 'Battery-Staple-77'
pw='Battery-Staple-77'
if [ -n "$daemon" ]; then kill "$daemon"; wait "$daemon" 2>/dev/null; daemon=
else systemctl stop acctsecd.socket acctsecd-private.socket acctsecd.service; fi
refuse "daemon stopped: login denied (fail closed)" login "$pw"

# --- purge ---------------------------------------------------------------------
check "apt-get purge -y acctsec" apt-get purge -y -q acctsec
for f in common-auth common-account common-password common-session common-session-noninteractive; do
    if grep -q pam_acctsec "/etc/pam.d/$f"; then fail "$f no longer mentions pam_acctsec" "/etc/pam.d/$f"
    else pass "$f no longer mentions pam_acctsec"; fi
    if [ -e "$save/pam.d/$f" ]; then
        check "$f is back as before" cmp "$save/pam.d/$f" "/etc/pam.d/$f"
    fi
done
check "purge removed the module" test ! -e "$pamdir/pam_acctsec.so"
check "purge removed /var/lib/acctsec" test ! -e /var/lib/acctsec
check "purge removed the conffiles" test ! -e /etc/security/acctsec.conf -a ! -e /etc/pam.d/acctsec
check "purge removed the profiles" test ! -e /usr/share/pam-configs/acctsec
check "purge removed the sockets' enablement" sh -c '! test -e /etc/systemd/system/sockets.target.wants/acctsecd.socket && ! test -e /etc/systemd/system/sockets.target.wants/acctsecd-private.socket'
check "pam-auth-update's state forgets acctsec" sh -c '! grep -rq acctsec /var/lib/pam'
check "pam_unix logins still work after the purge" login "$pw"
finish
