#!/usr/bin/env bash
# The bash completion of acctsec (contrib/bash-completion/acctsec), driven as
# bash would: COMP_WORDS/COMP_CWORD set, the function called, COMPREPLY read.
# Also checks that it knows every command in cli/acctsec.c's table and every
# event type in daemon/domain/seclog.c.  Prints TAP; exit 77 without bash-completion.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bc=/usr/share/bash-completion/bash_completion
[ -r "$bc" ] || { echo "1..0 # SKIP bash-completion is not installed"; exit 77; }
# shellcheck disable=SC1090
. "$bc"
# shellcheck disable=SC1091
. "$top/contrib/bash-completion/acctsec"

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; printf '#   %s\n' "$@"; }

# complete LINE: the completions for LINE (the cursor at its end).
complete_line() {
    local line=$1
    read -r -a COMP_WORDS <<<"$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line COMP_POINT=${#line}
    COMPREPLY=()
    _acctsec acctsec "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() { # LINE WANT: the completions are exactly WANT (sorted)
    local got; got=$(complete_line "$1")
    local want; want=$(printf '%s\n' $2 | sort | tr '\n' ' ' | sed 's/ $//')
    if [ "$got" = "$want" ]; then ok "'$1' -> $want"; else nok "'$1'" "want: $want" "got:  $got"; fi
}

has() { # LINE WORD...: the completions include every WORD
    local got; got=" $(complete_line "$1") "
    local w missing=
    for w in "${@:2}"; do [[ $got == *" $w "* ]] || missing+=" $w"; done
    if [ -z "$missing" ]; then ok "'$1' offers ${*:2}"; else nok "'$1'" "missing:$missing" "got:$got"; fi
}

expect "acctsec lo" "lockout log"
expect "acctsec log " "show export"
expect "acctsec --json session " "list terminate"
expect "acctsec --socket /tmp/s mfa " "enroll confirm status reset disable require"
expect "acctsec mfa enroll " "totp email sms"
expect "acctsec phone " "set verify clear"
expect "acctsec log export --format " "json csv"
has "acctsec log show --" --since --type --limit --all --user --json --help
has "acctsec token create --" --name --expires --services
has "acctsec session terminate --" --all-others
expect "acctsec device " "list revoke"
has "acctsec device revoke --" --all --user
has "acctsec doctor --" --pam-dir --pam-file --sshd-config --config --module-dir
expect "acctsec fleet " "import key hosts"
has "acctsec fleet hosts --" --json --socket --help
expect "acctsec user " "list"
has "acctsec user list --" --json --socket --help
expect "acctsec fleet key " "check rotate"
has "acctsec fleet import --" --state-dir --config --dry-run --json
has "acctsec " status lockout mfa email phone account token allowlist device backup-codes session notify log doctor user \
    fleet

# Every command in the CLI's table is offered.
missing=
while read -r noun verb; do
    if [ "$verb" = NULL ]; then
        [[ " $(complete_line "acctsec ") " == *" $noun "* ]] || missing+=" $noun"
    else
        [[ " $(complete_line "acctsec $noun ") " == *" $verb "* ]] || missing+=" $noun/$verb"
    fi
done < <(sed -n 's/^ *{ "\([a-z-]*\)", \(NULL\|"\([a-z-]*\)"\), .*/\1 \2/p' "$top/cli/acctsec.c" | tr -d '"')
if [ -z "$missing" ]; then ok "every command of cli/acctsec.c is offered"; else nok "commands not offered" "$missing"; fi

# Every event type of the security log is offered after --type.
types=$(grep -o '= { "[a-z_]*"' "$top/daemon/domain/seclog.c" | sed 's/= { "//;s/"//' | sort | tr '\n' ' ' | sed 's/ $//')
expect "acctsec log show --type " "$types"

echo "1..$n"
[ "$failed" -eq 0 ]
