#!/usr/bin/env bash
# The Windows lane: cross-builds both binaries for x86_64-pc-windows-gnu and runs them
# under Wine against moto, with real Windows callers (the AWS SDK for Go v2 through
# `cmd /C`, the AWS SDK for Rust if it cross-builds).
#   - Installs its Debian packages: rustc-web, cargo-web and rust-web-src (a Rust whose
#     std source builds std for Windows: no rustup target is needed), MinGW, Wine 8.
#     Only this script names Debian's /usr/bin/cargo; the main suite keeps its toolchain.
#   - Builds into target/windows (cached between runs), with a stand-in
#     bcryptprimitives.dll next to the .exe files: Wine 8 lacks the ProcessPrng that
#     Rust's std calls.
#   - Runs Wine in a private prefix, target/windows/wine-prefix (never ~/.wine), every
#     call bounded by `timeout`; starts moto from $AWS_MFA_PROC_TEST_DEPS/venv on a port
#     of its choosing, and stops it at the end.
#   - Last, the credential dialog: Wine restarts on a private Xvfb display (`-displayfd`,
#     a free number), where xdotool types a code into the dialog, or presses Escape.
# With AWS_MFA_PROC_WINDOWS_BENCH=1 it also times a cache hit under Wine (hyperfine; a
# measurement on stderr, never a check).
# Prints `ok NAME` or `FAIL NAME: why` per check and ends with one line
# `windows: N passed, N failed`; exits non-zero on any failure.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=${AWS_MFA_PROC_TEST_DEPS:-$repo/.test-deps}
triple=x86_64-pc-windows-gnu
out=$repo/target/windows
bin=$out/$triple/release
wine_limit=120 # seconds for any one Wine call, the first (which makes the prefix) included

log() { printf 'test-windows: %s\n' "$*" >&2; }
# shellcheck source=lib/debian.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian.sh"

passed=0 failed=0
pass() { passed=$((passed + 1)); printf 'ok %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s: %s\n' "$1" "$2"; }
finish() {
    printf 'windows: %d passed, %d failed\n' "$passed" "$failed"
    ((failed == 0))
}

install_packages() {
    apt_install_missing rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64 wine64 golang-go xvfb xdotool
}

# Debian's Rust, building std from its source: RUSTC_BOOTSTRAP lets this stable compiler
# take -Zbuild-std, for this test build only.
windows_cargo() {
    env RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
        CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
        CARGO_TARGET_DIR="$out" \
        /usr/bin/cargo "$@" --locked --release -Zbuild-std=std,panic_abort --target "$triple"
}

build() {
    log "cross-build (a cold build compiles std too: ~10 min on 2 idle cores)"
    # One build for the binaries and the Rust SDK caller: apart, their feature sets
    # differ (the example's dev-dependencies) and each build would undo the other's.
    rust_sdk=yes
    mkdir -p "$out" # a fresh clone has no target/: tee would fail, and look like a failed build
    if ! windows_cargo build --bins --example rust_sdk_check 2>&1 | tee "$out/build.log"; then
        rust_sdk=no
        windows_cargo build --bins
    fi
    local standin=$out/standin
    mkdir -p "$standin"
    if [[ ! -e $standin/bcryptprimitives.dll ]]; then
        cat >"$standin/bcryptprimitives.c" <<'EOF'
/* Wine 8 lacks bcryptprimitives.dll, whose ProcessPrng Rust's std calls. */
#include <windows.h>
#include <bcrypt.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
EOF
        x86_64-w64-mingw32-gcc -shared -o "$standin/bcryptprimitives.dll" \
            "$standin/bcryptprimitives.c" -lbcrypt
    fi
    cp "$standin/bcryptprimitives.dll" "$bin/"
    cp "$standin/bcryptprimitives.dll" "$bin/examples/" 2>/dev/null || true
    log "go build sdk-go-v2-check.exe"
    (cd "$repo/tests/go/sdk-go-v2-check" && GOOS=windows GOARCH=amd64 GO111MODULE=off \
        GOPATH=/usr/share/gocode GOFLAGS= CGO_ENABLED=0 GOCACHE="$out/gocache" \
        go build -o "$out/sdk-go-v2-check.exe" .)
}

# wine PROGRAM ARGS…, bounded in time; stdout to $work/out, stderr to $work/err.
run() {
    local rc=0
    timeout "$wine_limit" wine "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
    return "$rc"
}

# Waits for `test CONDITION…` to hold, polling, for at most SECONDS; fails loudly.
wait_for() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            log "gave up after ${seconds}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

moto_port() {
    port=$(sed -n 's/.*Running on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/moto.log" | head -1)
    [[ -n $port ]]
}

start_moto() {
    (cd "$work" && exec "$deps/venv/bin/moto_server" -H 127.0.0.1 -p 0) >"$work/moto.log" 2>&1 &
    moto_pid=$!
    wait_for 60 "moto's port in its log" moto_port
    "$deps/venv/bin/python" - "$port" <<'EOF'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/moto-api/reset", method="POST"), timeout=30)
EOF
}

cleanup() {
    [[ -n ${moto_pid:-} ]] && kill "$moto_pid" 2>/dev/null && wait "$moto_pid" 2>/dev/null
    WINEPREFIX=$out/wine-prefix timeout 30 wineserver -k 2>/dev/null || true
    [[ -n ${xvfb_pid:-} ]] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
    [[ -n ${work:-} ]] && rm -rf "$work"
    return 0
}

# The credentials aws-mfa-proc holds in Wine's Credential Manager, one target a line,
# but the keychain's own instance ID (made once, kept).
credentials() {
    timeout "$wine_limit" wine reg query 'HKCU\Software\Wine\Credential Manager' </dev/null 2>/dev/null \
        | tr -d '\r' | sed -n 's/^.*\\Credential Manager\\//p' | grep -i 'aws-mfa-proc' | grep -v 'keychain-id' || true
}

winpath() { printf 'Z:%s' "${1//\//\\}"; }

# A private X display ($display), on a number Xvfb picks itself (the first free one).
start_display() {
    Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$work/display" </dev/null >/dev/null 2>&1 &
    xvfb_pid=$!
    wait_for 60 "Xvfb's display number" test -s "$work/display"
    display=:$(tr -d '\n' <"$work/display")
    wait_for 60 "Xvfb on $display" xdo getdisplaygeometry
}

type_code() { xdo type --delay 20 123456 && xdo key Return; }

xdo() { DISPLAY=$display timeout 30 xdotool "$@" </dev/null >/dev/null 2>&1; }

# The visible credential dialog, in $window.
dialog_window() {
    window=$(DISPLAY=$display timeout 30 xdotool search --onlyvisible --name '^aws-mfa-proc$' 2>/dev/null </dev/null | head -1)
    [[ -n $window ]]
}

# A login as an IDE makes it (no terminal: stdin /dev/null, no console), in the
# background; once the credential dialog shows, focuses it and runs ARGS…, as a person
# would answer. Returns the login's exit code.
login_at_dialog() {
    local login rc=0
    run "$bin/aws-mfa-proc.exe" --profile desk &
    login=$!
    if wait_for 90 "the credential dialog" dialog_window; then
        xdo windowfocus --sync "$window" && "$@" || log "$* failed"
    fi
    wait "$login" || rc=$?
    return "$rc"
}

main() {
    install_packages
    build
    [[ -x $deps/venv/bin/moto_server ]] || { log "no moto in $deps/venv: run scripts/install-test-deps.sh"; exit 1; }

    work=$(mktemp -d)
    trap cleanup EXIT
    export WINEPREFIX=$out/wine-prefix WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' DISPLAY=
    mkdir -p "$WINEPREFIX"
    log "wine prefix $WINEPREFIX"
    # One wine server for every call (each would start its own), gone 60 s after the last.
    timeout 30 wineserver -p 60 </dev/null >/dev/null 2>&1 || true
    timeout 300 wineboot -i </dev/null >/dev/null 2>&1 || true
    start_moto

    local front full
    front=$(winpath "$bin/aws-mfa-proc.exe")
    full="$bin/aws-mfa-proc-full.exe"
    # The code source counts its calls (a cache hit asks for none), and gives a new code
    # on the second ask (111111, then 222222): a code is never sent twice.
    local asked
    asked=$(winpath "$work/asked.txt")
    sed 's/$/\r/' >"$work/code.cmd" <<EOF
@echo off
echo asked>>$asked
if exist $asked.2 (echo 222222) else (echo 111111& echo.>$asked.2)
EOF
    cat >"$work/config" <<EOF
[profile mfa]
credential_process = $front --profile mfa
mfa_serial = arn:aws:iam::123456789012:mfa/alice
mfa_process = $(winpath "$work/code.cmd")
region = us-east-1

[profile prod]
role_arn = arn:aws:iam::123456789012:role/Prod
source_profile = mfa
region = us-east-1

[profile desk]
credential_process = $front --profile desk
mfa_serial = arn:aws:iam::123456789012:mfa/carol
region = us-east-1

[profile nokeys]
credential_process = $front --profile nokeys
mfa_serial = arn:aws:iam::123456789012:mfa/bob
mfa_process = cmd /C echo 123456
region = us-east-1
EOF
    : >"$work/credentials"
    mkdir "$work/a-directory"
    export AWS_CONFIG_FILE
    AWS_CONFIG_FILE=$(winpath "$work/config")
    export AWS_SHARED_CREDENTIALS_FILE
    AWS_SHARED_CREDENTIALS_FILE=$(winpath "$work/credentials")
    export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1
    unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN

    # The front door links no keychain, STS client, HTTP stack or runtime: none of their
    # source paths (which panic messages carry) is in it.
    local heavy
    heavy=$(strings "$bin/aws-mfa-proc.exe" | grep -oE '(keyring[-_]core|windows-native-keyring-store|aws-sdk-sts|hyper|rustls|aws-lc|tokio)-[0-9]' | sort -u | tr '\n' ' ' || true)
    if [[ -z $heavy ]]; then
        pass "the front door .exe links no keychain crate, STS client or runtime"
    else
        fail "front door" "aws-mfa-proc.exe holds $heavy"
    fi

    if AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
        run "$full" add mfa --from-env; then
        pass "add --from-env stores the keys in the Credential Manager"
    else
        fail "add --from-env" "$(cat "$work/err")"
    fi

    run "$full" status || true # it exits 1: profile nokeys has no keys
    if grep -q '^mfa: .*AKIAIOSFODNN7EXAMPLE stored' "$work/out"; then
        pass "status finds the profile whose credential_process is a backslash path"
    else
        fail "status" "$(cat "$work/out" "$work/err")"
    fi

    if run "$bin/aws-mfa-proc.exe" --profile mfa && grep -q '"SessionToken"' "$work/out" \
        && [[ $(grep -c asked "$work/asked.txt" 2>/dev/null) == 1 ]]; then
        pass "a login asks mfa_process (run through cmd /C) once and prints the session"
    else
        fail "login through mfa_process" "$(cat "$work/out" "$work/err")"
    fi

    if run "$bin/aws-mfa-proc.exe" --profile mfa && grep -q '"SessionToken"' "$work/out" \
        && [[ $(grep -c asked "$work/asked.txt") == 1 ]]; then
        pass "a second call is a cache hit: no code asked"
    else
        fail "cache hit" "$(cat "$work/err"; grep -c asked "$work/asked.txt")"
    fi

    # Measured, never asserted: with AWS_MFA_PROC_WINDOWS_BENCH=1, a Windows cache hit
    # (the front door hands over to the full program, which reads the Credential
    # Manager) next to `cmd /C type` printing the same JSON, both through Wine.
    if [[ ${AWS_MFA_PROC_WINDOWS_BENCH:-0} == 1 ]] && command -v hyperfine >/dev/null; then
        cp "$work/out" "$work/hit.json"
        hyperfine -N --warmup 3 --runs "${BENCH_RUNS:-30}" --export-json "$work/bench.json" \
            -n hit "wine $bin/aws-mfa-proc.exe --profile mfa" \
            -n type "wine cmd /C type '$(winpath "$work/hit.json")'" >&2 || true
        "$deps/venv/bin/python" - "$work/bench.json" >&2 <<'PY' || true
import json, sys
r = {x["command"]: sorted(x["times"])[len(x["times"]) // 2] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print(f"windows bench: hit {r['hit']:.1f} ms, cmd /C type {r['type']:.1f} ms (medians under Wine), ratio {r['hit'] / r['type']:.2f}")
PY
    fi

    if AWS_PROFILE=prod run "$out/sdk-go-v2-check.exe" && grep -q 'assumed-role/Prod' "$work/out"; then
        pass "the Go SDK v2 assumes role/Prod through cmd /C"
    else
        fail "Go SDK v2 role profile" "$(cat "$work/out" "$work/err")"
    fi

    # Each platform gets exactly what it runs: code only Linux uses is a warning here.
    local warnings
    warnings=$(grep -cE '^warning: (unused|.*never (used|read|constructed))' "$out/build.log" || true)
    if ((warnings == 0)); then
        pass "the Windows build has no dead-code or unused-import warnings"
    else
        fail "Windows build warnings" "$(grep -E -A4 '^warning' "$out/build.log" | head -40)"
    fi

    if [[ $rust_sdk == no ]]; then
        log "the Rust SDK caller does not cross-build: $out/build.log"
        fail "Rust SDK caller" "does not cross-build (see $out/build.log)"
    elif AWS_PROFILE=prod run "$bin/examples/rust_sdk_check.exe" && grep -q 'assumed-role/Prod' "$work/out"; then
        pass "the Rust SDK assumes role/Prod through cmd /C"
    else
        fail "Rust SDK role profile" "$(cat "$work/out" "$work/err")"
    fi

    if run "$full" env mfa --format json && grep -q AWS_SESSION_TOKEN "$work/out"; then
        pass "env prints the session"
    else
        fail "env" "$(cat "$work/err")"
    fi

    if run "$full" exec mfa -- cmd /C 'if defined AWS_SESSION_TOKEN echo has-session' \
        && grep -q has-session "$work/out"; then
        pass "exec runs a program with the session in its environment"
    else
        fail "exec" "$(cat "$work/out" "$work/err")"
    fi

    local before after
    before=$(credentials)
    if run "$full" logout mfa; then
        after=$(credentials)
        log "credentials before logout:"$'\n'"$before"
        log "credentials after logout:"$'\n'"$after"
        if [[ $(wc -l <<<"$after") -lt $(wc -l <<<"$before") ]] \
            && run "$bin/aws-mfa-proc.exe" --profile mfa && [[ $(grep -c asked "$work/asked.txt") == 2 ]]; then
            pass "logout removes the sessions it made (listed above): the next call asks again"
        else
            fail "logout" "before: $before; after: $after; $(cat "$work/err")"
        fi
    else
        fail "logout" "$(cat "$work/err")"
    fi

    if run "$full" remove mfa && [[ -z $(credentials) ]]; then
        pass "remove leaves no aws-mfa-proc credential in the Credential Manager"
    else
        fail "remove" "$(cat "$work/err"; credentials)"
    fi

    # Bad input: a clean one-line error, well before the time limit.
    bad() {
        local name=$1 expect=$2 rc=0
        shift 2
        "$@" || rc=$?
        if ((rc != 0 && rc != 124)) && grep -qi -- "$expect" "$work/err" && ! grep -q panicked "$work/err"; then
            pass "$name"
        else
            fail "$name" "exit $rc: $(cat "$work/err")"
        fi
    }
    with_directory_config() { AWS_CONFIG_FILE=$(winpath "$work/a-directory") run "$@"; }
    bad "a config that is a directory is a clean error" "a-directory" \
        with_directory_config "$bin/aws-mfa-proc.exe" --profile mfa
    bad "a profile without keys is a clean error naming add" "add" run "$bin/aws-mfa-proc.exe" --profile nokeys
    bad "an unknown profile is a clean error naming it" "nosuch" run "$bin/aws-mfa-proc.exe" --profile nosuch

    # The credential dialog, for profile desk (no mfa_process). Wine's desktop process
    # began with no display, so no window can show: a clean error (`login`: a cancel
    # mark left by an earlier run does not matter to it).
    if ! AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE AWS_SECRET_ACCESS_KEY=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY \
        run "$full" add desk --from-env; then
        fail "add desk --from-env" "$(cat "$work/err")"
        return
    fi
    bad "a dialog that cannot be shown is a clean error" "credential dialog could not be shown" \
        run "$full" login desk
    log "with no display: $(cat "$work/err")"
    # Wine again, on a private X display: its desktop process starts with the next call.
    start_display
    timeout 30 wineserver -k </dev/null >/dev/null 2>&1 || true
    timeout 30 wineserver -w </dev/null >/dev/null 2>&1 || true
    export DISPLAY=$display
    timeout 30 wineserver -p 60 </dev/null >/dev/null 2>&1 || true
    if login_at_dialog type_code && grep -q '"SessionToken"' "$work/out"; then
        pass "with no terminal, a login shows the credential dialog; the code typed in it gives a session"
    else
        fail "the credential dialog" "$(cat "$work/out" "$work/err")"
    fi
    run "$full" logout desk || fail "logout desk" "$(cat "$work/err")"
    local rc=0
    login_at_dialog xdo key Escape || rc=$?
    log "after Escape: $(cat "$work/err")"
    if ((rc != 0 && rc != 124)) && grep -q cancelled "$work/err" && [[ $(grep -c . "$work/err") == 1 ]] \
        && ! grep -q panicked "$work/err"; then
        pass "Escape in the credential dialog: the call fails with one clean line"
    else
        fail "cancel in the credential dialog" "exit $rc: $(cat "$work/err")"
    fi
    run "$full" remove desk || fail "remove desk" "$(cat "$work/err")"
}

main "$@"
finish
