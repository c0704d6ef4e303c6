#!/usr/bin/env bash
# Install what acctsec needs from Debian's archive, only what is missing.
#   scripts/deps.sh build   compiler, autotools and the libraries
#   scripts/deps.sh demo    build + what the demo uses (nss_wrapper, pam_matrix)
#   scripts/deps.sh fleet   demo + PostgreSQL (scripts/demo-fleet.sh)
#   scripts/deps.sh test    demo + every test tier (cmocka, libpamtest, clang, valgrind, ...)
set -euo pipefail

build_pkgs=(build-essential autoconf automake libtool pkg-config
            libpam0g-dev libsodium-dev libsqlite3-dev libsystemd-dev liboath-dev libqrencode-dev
            libcurl4-openssl-dev libpq-dev libmaxminddb-dev)
demo_pkgs=(libnss-wrapper libpam-wrapper)
test_pkgs=(libcmocka-dev libpamtest0-dev python3 sqlite3 clang libclang-rt-14-dev
           valgrind pamtester libpam-modules systemd passwd
           openssh-server openssh-client python3-paramiko
           libmaxmind-db-writer-perl mmdb-bin  # the location tests build their own .mmdb
           msmtp openssl python3-aiosmtpd
           e2fsprogs util-linux   # the fault tests: mkfs.ext4, e2fsck, findmnt
           mandoc groff-base man-db bash-completion  # man page lint, the completion test
           debhelper              # test_deb.sh: dpkg-buildpackage of debian/
           debootstrap systemd-container zstd  # the booted tier: a Debian 12 under systemd-nspawn
           postgresql             # the fleet tier: a private cluster (tests/fleet/pgcluster.py)
           cockpit-ws cockpit-system sudo chromium  # test_cockpit.py: the page in a real browser
           libpam-google-authenticator libpam-oath)  # bench/run.sh: the peers' TOTP rows

want=("${build_pkgs[@]}")
case "${1:-test}" in
build) ;;
demo) want+=("${demo_pkgs[@]}") ;;
fleet) want+=("${demo_pkgs[@]}" python3 postgresql) ;;
test) want+=("${demo_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: $0 build|demo|fleet|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
