#!/usr/bin/env bash
# acctsec NOUN VERB --help prints that command's own usage lines (exit 0)
# for every command in cli/acctsec.c's table; an unknown command says what
# to do (exit 2).  Prints TAP.  Needs ACCTSEC_BUILD_DIR.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cli=${ACCTSEC_BUILD_DIR:?set ACCTSEC_BUILD_DIR}/acctsec
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; printf '#   %s\n' "$@"; }

while read -r noun verb; do
    [ "$verb" = NULL ] && verb=
    out=$("$cli" $noun $verb --help 2>&1); rc=$?
    # its own line: "  noun verb" or "  noun a|verb|b"
    if [ $rc -eq 0 ] && echo "$out" | grep -Eq "^  $noun( |$)${verb:+([a-z-]*\|)*$verb( |\||$)}" &&
        [ "$(echo "$out" | grep -c '^  [a-z]')" -le 3 ]; then
        ok "acctsec $noun${verb:+ $verb} --help"
    else
        nok "acctsec $noun${verb:+ $verb} --help (exit $rc)" "$out"
    fi
done < <(sed -n 's/^ *{ "\([a-z-]*\)", \(NULL\|"\([a-z-]*\)"\), .*/\1 \2/p' "$top/cli/acctsec.c" | tr -d '"')

out=$("$cli" lockout frobnicate 2>&1); rc=$?
if [ $rc -eq 2 ] && [[ $out == *'unknown command "lockout frobnicate"; see acctsec --help'* ]]; then
    ok "an unknown command says so, and where to look"
else
    nok "unknown command (exit $rc)" "$out"
fi
out=$("$cli" --help); rc=$?
if [ $rc -eq 0 ] && [[ $out == *"Commands:"* && $out == *"Options:"* ]]; then ok "acctsec --help: everything"; else nok "acctsec --help" "$out"; fi

echo "1..$n"
[ "$failed" -eq 0 ]
