# shellcheck shell=bash
# Shared by scripts/demo.sh, scripts/demo-fleet.sh and scripts/test.sh (sourced, not run).
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# build DIR [configure args...]: autotools build out of tree in $top/DIR.
build() {
    local dir=$1; shift
    if [ ! -x "$top/configure" ] || [ ! -f "$top/build-aux/ltmain.sh" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
        (cd "$top" && autoreconf -fi >/dev/null 2>&1) || { (cd "$top" && autoreconf -fi); return 1; }
    fi
    mkdir -p "$top/$dir"
    # Configure again when the arguments differ from the last run's (the demo
    # configures without the test libraries; test.sh needs them).
    local args="$* CC=${CC:-}"
    if [ ! -f "$top/$dir/config.status" ] || [ "$top/configure" -nt "$top/$dir/config.status" ] ||
        [ "$(cat "$top/$dir/.configure-args" 2>/dev/null)" != "$args" ]; then
        (cd "$top/$dir" && "$top/configure" -q "$@") || return 1
        echo "$args" >"$top/$dir/.configure-args"
    fi
    # One make per target: automake's "all" and "check" each start a sub-make,
    # and two sub-makes in parallel (make -j all check) build the same objects
    # at once (".deps/x.Tpo: No such file").
    local t
    for t in ${MAKE_TARGETS:-all}; do
        # shellcheck disable=SC2086 # word splitting wanted
        make -C "$top/$dir" -j"$(nproc)" -s "$t" ${MAKE_ARGS:-} >/dev/null ||
            make -C "$top/$dir" "$t" ${MAKE_ARGS:-} || return 1
    done
}

# nss_files DIR USER...: an nss_wrapper passwd/group in DIR with the given
# users (uid 61001..., clear of real accounts), root, and the caller; group
# acctsec-admin holds the caller.
nss_files() {
    local dir=$1; shift
    local uid=61001 me; me=$(id -un)
    {
        echo "root:x:0:0:root:/root:/bin/sh"
        for u in "$@"; do echo "$u:x:$uid:$uid:$u:/home/$u:/bin/sh"; uid=$((uid + 1)); done
        [ "$(id -u)" -ne 0 ] && echo "$me:x:$(id -u):$(id -g):$me:/tmp:/bin/sh"
    } >"$dir/passwd"
    {
        echo "root:x:0:"
        uid=61001; for u in "$@"; do echo "$u:x:$uid:"; uid=$((uid + 1)); done
        echo "acctsec-admin:x:2000:$me"
    } >"$dir/group"
}

nss_env() {
    echo "LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD=$1/passwd NSS_WRAPPER_GROUP=$1/group"
}

pam_matrix_so() {
    local f
    for f in /usr/lib/*/pam_wrapper/pam_matrix.so /usr/lib64/pam_wrapper/pam_matrix.so; do
        [ -f "$f" ] && { echo "$f"; return; }
    done
    echo "pam_matrix.so not found (apt-get install libpam-wrapper)" >&2
    return 1
}

# wait_ready CLI SOCKET DAEMON_PID: until the daemon answers (or dies).
wait_ready() {
    local i
    for i in $(seq 1 200); do
        "$1" --socket "$2" status >/dev/null 2>&1 && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# wait_file FILE PID: until FILE is written (not empty) while PID runs,
# at most 5 minutes (initdb on a slow disk).
wait_file() {
    local _
    for _ in $(seq 1 6000); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# --- the demos (scripts/demo.sh, scripts/demo-fleet.sh); they set $B (the
# build) and $work (their temporary dir) first.

# demo_user: $who, the user who logs in: "alice" (resolved through
# nss_wrapper: no real account is created) when run as root.  Run as anyone
# else, the daemon lets you act only for your own account (SO_PEERCRED), so
# the demo logs in as you.  pam_matrix is the demos' password module
# ($work/passdb, for the service demo-login); the person running the demo
# is an acctsec admin (group acctsec-admin).
demo_user() {
    if [ "$(id -u)" -eq 0 ]; then
        who=alice
    else
        who=$(id -un)
        echo "(not root: the demo logs in as $who, the only account this caller may act for)"
    fi
    nss_files "$work" alice
    echo "$who:correct-horse-battery:demo-login" >"$work/passdb"
}

# demo_pam_service FILE "MODULE ARGS" LAST: the demos' auth stack (lockout
# around pam_matrix), ending with pam_acctsec.so LAST (authsucc, or mfa for
# a second factor), and the account line.
demo_pam_service() {
    cat >"$1" <<PAM
auth     requisite                  $2 preauth
auth     [success=1 default=ignore] $(pam_matrix_so) passdb=$work/passdb
auth     [default=die]              $2 authfail
auth     required                   $2 $3
account  required                   $2
PAM
}

# demo_daemon SOCKET STATE_DIR CONF LOG: acctsecd in the background (its pid
# in $demo_daemon_pid), answering once this returns; else its log and 1.
demo_daemon() {
    # shellcheck disable=SC2046 # nss_env's words are the variables
    env $(nss_env "$work") "$B/acctsecd" --socket "$1" --state-dir "$2" --config "$3" --foreground 2>"$4" &
    demo_daemon_pid=$!
    wait_ready "$B/acctsec" "$1" "$demo_daemon_pid" || { cat "$4"; return 1; }
}
