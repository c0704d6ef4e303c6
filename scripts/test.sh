#!/usr/bin/env bash
# Every test tier; ends with "N passed, N failed".  Logs in build/test-logs/.
#   units (cmocka) · daemon integration · PAM stacks (pam_wrapper) ·
#   concurrency · the PostgreSQL dialect (fleet) · real clients (root only) ·
#   a booted systemd · fuzzers · the same suites under ASan+UBSan · valgrind
#   on the module tests · bench smoke · make distcheck
# Environment: FUZZ_SECONDS (default 20 per target), SKIP_DISTCHECK=1, SKIP_ASAN=1.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

"$top/scripts/deps.sh" test || exit 1
echo "== build (build/)"
export MAKE_TARGETS="all check" MAKE_ARGS="TESTS="  # build the test programs, run them below
build build --enable-werror --enable-tests || { echo "0 passed, 1 failed"; exit 1; }

logs=$top/build/test-logs
rm -rf "$logs"; mkdir -p "$logs"
passed=0 failed=0 skipped=0
failures=()

# tap NAME CMD...: run a suite that prints TAP ("ok N - x" / "not ok N - x");
# a suite that exits non-zero without a "not ok" line counts as one failure,
# exit 77 without output as a skip.
tap() {
    local name=$1; shift
    local log="$logs/$name.log"
    timeout -k 10 "${SUITE_TIMEOUT:-900}" "$@" >"$log.out" 2>"$log" </dev/null
    local rc=$?
    local ok nok skip
    ok=$(grep -cE '^ok( [0-9]+)?( |$)' "$log.out")
    skip=$(grep -cE '^ok( [0-9]+)?( |$).*# *(SKIP|skip)' "$log.out")
    nok=$(grep -cE '^not ok( [0-9]+)?( |$)' "$log.out")
    ok=$((ok - skip))
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        nok=$((nok + 1))
        echo "not ok - $name timed out" >>"$log.out"
    elif [ "$rc" -eq 77 ] && [ "$ok" -eq 0 ] && [ "$nok" -eq 0 ]; then
        skip=1
    elif [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
        nok=1
        echo "not ok - $name exited with status $rc" >>"$log.out"
    fi
    passed=$((passed + ok)); failed=$((failed + nok)); skipped=$((skipped + skip))
    printf '%-28s %3d passed, %d failed%s\n' "$name" "$ok" "$nok" "$([ "$skip" -gt 0 ] && echo ", $skip skipped")"
    if [ "$nok" -gt 0 ]; then
        failures+=("$name")
        grep -E '^not ok' "$log.out" | head -20 | sed 's/^/    /'
        tail -15 "$log" | sed 's/^/    | /'
    fi
}

# check NAME CMD...: one test that passes when CMD exits 0.
check() {
    local name=$1; shift
    local runner=(timeout -k 10 "${SUITE_TIMEOUT:-900}")
    [ "$(type -t "$1")" = function ] && runner=()  # timeout(1) cannot run a shell function
    if "${runner[@]}" "$@" >"$logs/$name.run.log" 2>&1 </dev/null; then
        echo "ok 1 - $name" >"$logs/$name.result"
    else
        echo "not ok 1 - $name (see $logs/$name.run.log)" >"$logs/$name.result"
        tail -20 "$logs/$name.run.log" >>"$logs/$name.result"
    fi
    tap "$name" cat "$logs/$name.result"
}

export CMOCKA_MESSAGE_OUTPUT=TAP

# suites BUILD_DIR PREFIX: the tiers that run against one build.
suites() {
    local b=$1 p=$2
    local t
    for t in "$b"/tests/unit/test_*; do
        [ -x "$t" ] && [ -f "$t" ] && tap "$p$(basename "$t")" "$t"
    done
    ACCTSEC_BUILD_DIR=$b tap "${p}daemon_integration" python3 "$top/tests/integration/test_daemon.py"
    ACCTSEC_BUILD_DIR=$b tap "${p}doctor" python3 "$top/tests/integration/test_doctor.py"
    ACCTSEC_BUILD_DIR=$b tap "${p}sms" python3 "$top/tests/integration/test_sms.py"
    ACCTSEC_BUILD_DIR=$b tap "${p}recovery" python3 "$top/tests/integration/test_recovery.py"
    # tier 6 too: hosts of a fleet on a private PostgreSQL (77 without one)
    ACCTSEC_BUILD_DIR=$b tap "${p}fleet_hosts" python3 "$top/tests/fleet/test_fleet.py"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_lockout" "$b/tests/pam/test_pam_lockout"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_concurrency" "$b/tests/pam/test_pam_concurrency"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_mfa" "$b/tests/pam/test_pam_mfa"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_email" "$b/tests/pam/test_pam_email"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_account" "$b/tests/pam/test_pam_account"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_password" "$b/tests/pam/test_pam_password"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_tokens" "$b/tests/pam/test_pam_tokens"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_session" "$b/tests/pam/test_pam_session"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_faults" "$b/tests/pam/test_pam_faults"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_hygiene" "$b/tests/pam/test_pam_hygiene"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_prompts" "$b/tests/pam/test_pam_prompts"
    ACCTSEC_BUILD_DIR=$b tap "${p}pam_relief" "$b/tests/pam/test_pam_relief"
}

echo "== tiers 1-3: units, daemon integration, PAM stacks, concurrency"
suites "$top/build" ""

# The installed module exports only the PAM entry points.
exports_only_pam_sm() {
    local syms; syms=$(nm -D --defined-only "$top/build/.libs/pam_acctsec.so" | awk '{print $3}')
    echo "$syms"
    [ -n "$syms" ] && ! echo "$syms" | grep -qv '^pam_sm_'
}
check module_exports exports_only_pam_sm

# libpam loads the module, and every library it needs, on every pam_start:
# it needs libpam and libc only (no libsodium: common/secret.c wipes with
# explicit_bzero and compares in constant time itself).
module_needs_only_libpam_libc() {
    local libs; libs=$(readelf -dW "$top/build/.libs/pam_acctsec.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    echo "$libs"
    [ -n "$libs" ] && ! echo "$libs" | grep -qvE '^(libpam\.so\.0|libc\.so\.6)$'
}
check module_needs module_needs_only_libpam_libc

# The man pages render without a warning (groff, mandoc's lint) and their
# NAME lines parse for whatis/apropos.
man_lint() {
    local f out rc=0
    for f in "$top"/doc/man/*.[0-9]; do
        out=$(groff -man -ww -z -Tutf8 "$f" 2>&1; mandoc -Tlint -W warning "$f" 2>&1)
        [ -n "$out" ] && { echo "$out"; rc=1; }
        lexgrog "$f" || rc=1
    done
    return $rc
}
check man_lint man_lint
# The bash completion offers every command, option and event type.
tap cli_completion bash "$top/tests/cli/test_completion.sh"
# Every command has its own --help.
ACCTSEC_BUILD_DIR=$top/build tap cli_help bash "$top/tests/cli/test_help.sh"

echo "== fleet: acctsecd hosts sharing a private PostgreSQL cluster"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "   (skipped: no PostgreSQL server in /usr/lib/postgresql/*/bin; Debian: apt-get install postgresql)"
elif [ ! -x "$top/build/tests/fleet/pg_catalogue_check" ]; then
    echo "   (skipped: tests/fleet/pg_catalogue_check not built: configure found no libpq; Debian: libpq-dev)"
fi
ACCTSEC_BUILD_DIR=$top/build tap fleet_pg_catalogue python3 "$top/tests/fleet/test_pg_catalogue.py"
# (fleet_hosts runs with the suites above, and again under ASan)
ACCTSEC_BUILD_DIR=$top/build tap fleet_import python3 "$top/tests/fleet/test_import.py"
ACCTSEC_BUILD_DIR=$top/build tap fleet_roles python3 "$top/tests/fleet/test_roles.py"

echo "== tier 4: real clients (root only)"
for t in "$top"/tests/system/test_*.sh; do
    [ -f "$t" ] && ACCTSEC_BUILD_DIR=$top/build tap "$(basename "$t" .sh)" bash "$t"
done
# Debian's python3 (paramiko comes from python3-paramiko), not one earlier on PATH.
for t in "$top"/tests/system/test_*.py; do
    [ -f "$t" ] && ACCTSEC_BUILD_DIR=$top/build tap "$(basename "$t" .py)" /usr/bin/python3 "$t"
done

echo "== tier 7: a booted Debian 12 under systemd (root only)"
# The package built once (machine.py's the_deb) and installed in each
# container; the root file system is cached in /var/cache/acctsec-tests.
export ACCTSEC_BOOTED_DEB_DIR=$top/build/booted-deb
rm -rf "$ACCTSEC_BOOTED_DEB_DIR"
for t in "$top"/tests/booted/test_*.py; do
    [ -f "$t" ] && tap "booted:$(basename "$t" .py | sed 's/^test_booted_//')" /usr/bin/python3 "$t"
done
unset ACCTSEC_BOOTED_DEB_DIR

echo "== tier 5: robustness"
[ -x "$top/tests/fuzz/run.sh" ] && FUZZ_SECONDS=${FUZZ_SECONDS:-20} tap fuzz "$top/tests/fuzz/run.sh" "$top/build"
if [ "${SKIP_ASAN:-0}" != 1 ]; then
    echo "   (ASan+UBSan build in build-asan/)"
    # (Debian's pam_wrapper 1.1.4 reads UID_WRAPPER_DISABLE_DEEPBIND: set both names.)
    if CC=clang build build-asan --enable-tests \
        CFLAGS="-g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"; then
        # Test programs, module and daemon are all instrumented; pam_wrapper and
        # nss_wrapper are preloaded ahead of the ASan runtime, hence link order off.
        ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0 \
        PAM_WRAPPER_DISABLE_DEEPBIND=1 UID_WRAPPER_DISABLE_DEEPBIND=1 NSS_WRAPPER_DISABLE_DEEPBIND=1 \
            suites "$top/build-asan" "asan:"
    else
        check asan_build false
    fi
fi
# The module inside the test programs under memcheck (the harness re-executes
# the program through ACCTSEC_TEST_WRAPPER once its PAM services are written;
# valgrind follows forks, not execs: pam_concurrency's parallel logins run
# tests/tools/pam_login natively, so there only the test process is checked).
# All module suites together take about 2 minutes more.
for t in lockout concurrency mfa email account password tokens session hygiene prompts faults relief; do
    ACCTSEC_BUILD_DIR=$top/build PAM_WRAPPER_DISABLE_DEEPBIND=1 UID_WRAPPER_DISABLE_DEEPBIND=1 \
        ACCTSEC_TEST_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=$top/tests/valgrind.supp" \
        tap "valgrind:pam_$t" "$top/build/tests/pam/test_pam_$t"
done

echo "== benchmark smoke run and distcheck"
[ -x "$top/bench/run.sh" ] && BUILD_DIR=$top/build check bench_smoke "$top/bench/run.sh" --quick
[ "${SKIP_DISTCHECK:-0}" != 1 ] && check distcheck make -C "$top/build" -s distcheck

echo
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]} (logs in $logs)"
echo "$passed passed, $failed failed${skipped:+ ($skipped skipped)}"
[ "$failed" -eq 0 ]
