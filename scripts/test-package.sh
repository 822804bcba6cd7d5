#!/usr/bin/env bash
# Proves the Debian package by installing it on this machine, checking the installed
# tool (never the build tree), and purging it. Run last and alone (scripts/test.sh does
# so): while it runs, /usr/bin/aws-mfa-proc exists. Needs root (or sudo) for apt-get,
# and what scripts/install-test-deps.sh installs (lintian, man-db, bash-completion, zsh,
# fish, oathtool, keyutils, dbus, gnome-keyring; moto and the AWS CLI in
# $AWS_MFA_PROC_TEST_DEPS/venv).
#
#   scripts/test-package.sh [PACKAGE.deb]     (default: build it with package-deb.sh)
#
# The checks:
#   - lintian reports no errors (its whole output is printed);
#   - it installs with apt-get, and both programs are /usr/bin's;
#   - `man aws-mfa-proc` and `man aws-mfa-proc-setup` show the pages;
#   - bash completion (bash-completion's loader finding the packaged file) offers
#     `login logout` for `aws-mfa-proc lo<TAB>` and the config's profiles after `login `;
#     fish and zsh find their files too and offer the profiles;
#   - with a temporary HOME, a D-Bus session of its own and gnome-keyring on it: a
#     profile with `credential_process = aws-mfa-proc --profile mfa` (found on PATH),
#     `add`, a `login` (code from mfa_process = oathtool), a cache hit through the
#     installed front door with STS unreachable and no new code asked, and the AWS CLI
#     chaining a role from it against moto;
#   - `apt-get purge` leaves none of the package's files, and leaves the user's keyring
#     file, kernel-keyring copies and ~/.aws exactly as they were.
# Each check prints `ok: WHAT` or `FAILED: WHAT`; the last line is
# `package: N passed, N failed` (scripts/test.sh adds it to its closing line).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=${AWS_MFA_PROC_TEST_DEPS:-$repo/.test-deps}
passed=0 failed=0
ok() { printf 'ok: %s\n' "$*"; passed=$((passed + 1)); }
bad() { printf 'FAILED: %s\n' "$*"; failed=$((failed + 1)); }
# check WHAT COMMAND...: runs COMMAND, ok if it succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
# field FILE NAME: the string NAME of the JSON object in FILE, or nothing.
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@" 2>/dev/null; }
# wait_for WHAT COMMAND...: until COMMAND succeeds, at most 60 s; false (saying so) after.
wait_for() {
    local what=$1 deadline=$((SECONDS + 60))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { bad "$what within 60 s"; return 1; }
        sleep 0.1
    done
}

# The checks that need the keychain, run by the outer part below inside
# `dbus-run-session` with the temporary HOME: `test-package.sh --in-session TMP`.
if [[ ${1:-} == --in-session ]]; then
    tmp=$2
    printf %s package-test | gnome-keyring-daemon --foreground --unlock --components=secrets \
        >"$tmp/gnome-keyring.log" 2>&1 &
    keyring_pid=$!
    trap 'kill $keyring_pid 2>/dev/null' EXIT
    wait_for "gnome-keyring owns org.freedesktop.secrets" sh -c \
        "dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
         org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q 'boolean true'" || exit 1
    wait_for "the default keyring is unlocked" sh -c \
        "dbus-send --session --print-reply --dest=org.freedesktop.secrets \
         /org/freedesktop/secrets/aliases/default org.freedesktop.DBus.Properties.Get \
         string:org.freedesktop.Secret.Collection string:Locked | grep -q 'boolean false'" || exit 1

    check "add stores the keys in the Secret Service" env AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \
        AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
        aws-mfa-proc add mfa --from-env
    aws-mfa-proc login mfa >"$tmp/login.out" 2>&1
    login_status=$?
    check "login mfa succeeds and asked mfa_process for one code ($(wc -l <"$tmp/asked") asked)" \
        [ "$login_status" -eq 0 -a "$(wc -l <"$tmp/asked")" -eq 1 ]
    [[ $login_status -eq 0 ]] || cat "$tmp/login.out"

    # A hit: STS unreachable, and no code asked.
    AWS_ENDPOINT_URL=http://127.0.0.1:9 aws-mfa-proc --profile mfa >"$tmp/hit.json" 2>"$tmp/hit.err"
    check "a cache hit through /usr/bin/aws-mfa-proc: credentials with STS unreachable, no code asked" \
        [ -n "$(field "$tmp/hit.json" SessionToken)" -a "$(wc -l <"$tmp/asked")" -eq 1 ]
    [[ -s $tmp/hit.json ]] || cat "$tmp/hit.err"
    # The front door alone: a copy of it with no aws-mfa-proc-full beside it.
    mkdir -p "$tmp/alone" && cp /usr/bin/aws-mfa-proc "$tmp/alone/"
    AWS_ENDPOINT_URL=http://127.0.0.1:9 "$tmp/alone/aws-mfa-proc" --profile mfa \
        >"$tmp/front.json" 2>"$tmp/front.err"
    check "the installed front door serves the hit by itself" \
        [ -n "$(field "$tmp/front.json" SessionToken)" ]
    [[ -s $tmp/front.json ]] || cat "$tmp/front.err"

    AWS_EC2_METADATA_DISABLED=true "$AWS_MFA_PROC_TEST_DEPS/venv/bin/aws" sts get-caller-identity \
        --profile production --output json >"$tmp/identity.json" 2>"$tmp/identity.err"
    arn=$(field "$tmp/identity.json" Arn)
    check "the AWS CLI chains the role from credential_process = aws-mfa-proc on PATH: $arn" \
        [ "${arn#*:assumed-role/Admin/}" != "$arn" -a "$(wc -l <"$tmp/asked")" -eq 1 ]
    [[ -n $arn ]] || cat "$tmp/identity.err"
    exit 0
fi
finish() {
    printf 'package: %d passed, %d failed\n' "$passed" "$failed"
    [[ $failed -eq 0 ]]
    exit
}

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600)

# Never replace (and then purge) an aws-mfa-proc someone installed on purpose.
if dpkg-query -W -f='${Status}' aws-mfa-proc 2>/dev/null | grep -q 'installed' ||
    [[ -e /usr/bin/aws-mfa-proc ]]; then
    bad "aws-mfa-proc is already installed here; the test would replace and purge it (run it on a machine without it, or skip it with AWS_MFA_PROC_PACKAGE_TEST=0)"
    finish
fi

deb=${1:-}
if [[ -z $deb ]]; then
    if deb=$("$repo/scripts/package-deb.sh"); then ok "the package builds: $deb"; else bad "the package builds"; finish; fi
fi
printf 'package: %s, %s bytes (installed size %s KiB)\n' "$(basename "$deb")" \
    "$(stat -c %s "$deb")" "$(dpkg-deb -f "$deb" Installed-Size)"
dpkg-deb -f "$deb" Depends Recommends Suggests | sed 's/^/package: /'

tmp=$(mktemp -d /tmp/aws-mfa-proc-package.XXXXXX)
moto_pid=
cleanup() {
    [[ -n $moto_pid ]] && kill "$moto_pid" 2>/dev/null
    # Only if a check failed before purging: leave no package behind.
    if dpkg-query -W -f='${Status}' aws-mfa-proc 2>/dev/null | grep -q 'installed'; then
        "${apt[@]}" purge aws-mfa-proc >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# --- lintian -------------------------------------------------------------------------
lintian --fail-on error --display-info "$deb" >"$tmp/lintian" 2>&1
lintian_status=$?
sed 's/^/lintian: /' "$tmp/lintian"
check "lintian reports no errors" [ "$lintian_status" -eq 0 ]

# --- install -------------------------------------------------------------------------
if "${apt[@]}" install --no-install-recommends "$deb" >"$tmp/apt.log" 2>&1; then
    ok "apt-get installs it"
else
    cat "$tmp/apt.log"
    bad "apt-get installs it"
    finish
fi

# The user: a HOME of its own, and a PATH without any build tree.
home=$tmp/home runtime=$tmp/run
mkdir -p "$home/.aws" "$home/.config" "$home/.cache" "$home/.local/share" "$tmp/bin"
mkdir -m 700 "$runtime"
as_user() {
    env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 TERM=dumb XDG_RUNTIME_DIR="$runtime" \
        XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache" \
        XDG_DATA_HOME="$home/.local/share" AWS_MFA_PROC_TEST_DEPS="$deps" "$@"
}

check "aws-mfa-proc and aws-mfa-proc-full are /usr/bin's" \
    [ "$(as_user sh -c 'command -v aws-mfa-proc; command -v aws-mfa-proc-full' | tr '\n' ' ')" \
    = "/usr/bin/aws-mfa-proc /usr/bin/aws-mfa-proc-full " ]

# --- man pages -----------------------------------------------------------------------
for page in aws-mfa-proc aws-mfa-proc-setup; do
    as_user env MANPAGER=cat MANWIDTH=80 man "$page" >"$tmp/man-$page" 2>&1
    check "man $page shows the page ($(as_user man -w "$page" 2>&1))" \
        grep -q "^NAME" "$tmp/man-$page"
done

# --- the config the rest uses ----------------------------------------------------------
cat >"$tmp/bin/code" <<CODE
#!/bin/sh
# mfa_process: counts each time a code is asked for, and prints a real TOTP code.
echo asked >>"$tmp/asked"
exec oathtool --totp -b JBSWY3DPEHPK3PXP
CODE
chmod 755 "$tmp/bin/code"
cat >"$home/.aws/config" <<CONFIG
[profile mfa]
credential_process = aws-mfa-proc --profile mfa
mfa_serial = arn:aws:iam::123456789012:mfa/alice
mfa_process = $tmp/bin/code
region = us-east-1

[profile production]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = mfa
region = us-east-1
CONFIG
: >"$tmp/asked"

# --- bash completion -----------------------------------------------------------------
# What bash does at <TAB>: bash-completion loads /usr/share/bash-completion/completions/
# aws-mfa-proc for the command, and its function fills COMPREPLY.
complete_words() {
    as_user bash --norc --noprofile -c '
        source /usr/share/bash-completion/bash_completion
        __load_completion aws-mfa-proc || exit 1
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        COMP_TYPE=9
        function=$(complete -p aws-mfa-proc | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
        "$function" aws-mfa-proc "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}"' bash "$@" 2>&1 | tr '\n' ' '
}
offered=$(complete_words aws-mfa-proc lo)
check "bash completes 'aws-mfa-proc lo<TAB>' with: $offered" [ "$offered" = "login logout " ]
offered=$(complete_words aws-mfa-proc login "")
check "bash completes 'aws-mfa-proc login <TAB>' with: $offered" \
    grep -q '^mfa production ' <<<"$offered"

# --- fish and zsh: the packaged files, found where each shell looks by default ----------
offered=$(as_user fish -c "complete -C 'aws-mfa-proc logout '" 2>&1 | cut -f1 | tr '\n' ' ')
check "fish completes 'aws-mfa-proc logout <TAB>' with: $offered" \
    grep -q '^mfa production ' <<<"$offered"
# zsh: compinit runs the file in vendor-completions as the function _aws-mfa-proc; here
# it is autoloaded from the default fpath and run with the words and a stand-in for
# zsh's _describe (which only works inside the line editor) that prints what it is given.
offered=$(as_user zsh -f -c '
    autoload -U _aws-mfa-proc
    _describe() { print -l -- ${(P)${@[-1]}} }
    words=(aws-mfa-proc status ""); CURRENT=3
    _aws-mfa-proc' 2>&1 | cut -d: -f1 | tr '\n' ' ')
check "zsh completes 'aws-mfa-proc status <TAB>' with: $offered" \
    grep -q '^mfa production ' <<<"$offered"

# --- login, a cache hit, the AWS CLI ------------------------------------------------
"$deps/venv/bin/moto_server" -H 127.0.0.1 -p 0 >"$tmp/moto.log" 2>&1 &
moto_pid=$!
port=
for _ in $(seq 600); do
    port=$(sed -n 's/.*Running on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/moto.log" | head -1)
    [[ -n $port ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    port=
    sleep 0.1
done
if [[ -z $port ]]; then
    cat "$tmp/moto.log"
    bad "moto answers within 60 s"
    finish
fi

# In a D-Bus session of its own, with gnome-keyring on it: the Secret Service the
# package recommends, its keyring files in the temporary HOME. The tool names its
# kernel-keyring copies after XDG_RUNTIME_DIR (aws-mfa-proc:NAMESPACE:…, NAMESPACE the
# first 12 hex digits of its SHA-256): that tells this test's copies from others'.
namespace=$(printf %s "$runtime" | sha256sum | cut -c1-12)
copies() { keyctl show @u 2>/dev/null | grep -o "aws-mfa-proc:$namespace:.*" | sort; }
as_user AWS_ENDPOINT_URL="http://127.0.0.1:$port" dbus-run-session -- \
    bash "$0" --in-session "$tmp" </dev/null >"$tmp/session.out" 2>&1
while read -r line; do
    case $line in
        ok:*) passed=$((passed + 1)) ;;
        FAILED:*) failed=$((failed + 1)) ;;
    esac
    printf '%s\n' "$line"
done <"$tmp/session.out"
grep -q '^ok: the AWS CLI' "$tmp/session.out" || bad "the checks in the D-Bus session ran to their end"

# --- purge ---------------------------------------------------------------------------
copies >"$tmp/copies.before"
sed 's/^/package: kernel-keyring copy: /' "$tmp/copies.before"
user_files() { (cd "$home" && find .aws .local/share/keyrings -type f -exec sha256sum {} + | sort); }
user_files >"$tmp/files.before"
sed 's/^/package: user file: /' "$tmp/files.before"
dpkg-query -L aws-mfa-proc >"$tmp/files"
if "${apt[@]}" purge aws-mfa-proc >"$tmp/purge.log" 2>&1; then
    ok "apt-get purge removes it"
else
    cat "$tmp/purge.log"
    bad "apt-get purge removes it"
fi
left=$(while read -r path; do
    # Directories other packages share (/usr/bin, /usr/share/man/man1…) stay.
    if [[ -e $path && ! -d $path ]] || [[ -d $path && $path == *aws-mfa-proc* ]]; then
        echo "$path"
    fi
done <"$tmp/files")
check "purge leaves none of its $(wc -l <"$tmp/files") paths behind${left:+: $left}" [ -z "$left" ]
check "dpkg knows nothing of it after purge" \
    sh -c '! dpkg-query -W -f="\${Status}" aws-mfa-proc 2>/dev/null | grep -q .'
user_files >"$tmp/files.after"
check "purge leaves the user's keyring file and ~/.aws as they were" \
    sh -c "grep -q keyrings/ '$tmp/files.before' && cmp -s '$tmp/files.before' '$tmp/files.after'"
copies >"$tmp/copies.after"
check "purge leaves the session's kernel-keyring copies ($(wc -l <"$tmp/copies.before")) as they were" \
    sh -c "[ -s '$tmp/copies.before' ] && cmp -s '$tmp/copies.before' '$tmp/copies.after'"

# This test's copies, now that purge was seen to keep them.
for id in $(keyctl show @u 2>/dev/null | awk -v ns="aws-mfa-proc:$namespace:" 'index($0, ns) { print $1 }'); do
    keyctl invalidate "$id" >/dev/null 2>&1
done
finish
