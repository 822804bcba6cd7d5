#!/usr/bin/env bash
# The front door (`aws-mfa-proc`, the binary the SDKs run on every AWS CLI command)
# stays small by construction, and this guards it: scripts/test.sh runs it after the
# tests, on the release build.
#   - no symbol in it names the keychain stores (keyring-core, zbus, secret-service), the
#     STS and IAM clients, the HTTP client and TLS (hyper, rustls, aws-lc) or an async
#     runtime (tokio): shared code may depend on them, the front door must not reach them;
#   - nothing in it writes to the kernel keyring: no symbol names linux-keyutils' calls
#     that add, link, change or drop a key;
#   - the release binary is at most 1.5 MB.
# Prints one line per check and a closing `front door: N passed, N failed`; exit 1 if
# any failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

binary=${CARGO_TARGET_DIR:-target}/release/aws-mfa-proc
max_bytes=$((1536 * 1024))
forbidden=(keyring_core zbus secret_service aws_sdk_sts aws_sdk_iam hyper rustls aws_lc tokio)
# The kernel keyring's write side: linux-keyutils' calls that add, change or drop keys.
writes='KeyRing::(add_key|link_key|unlink_key|create|clear)|Key::(update|set_perms|set_timeout|invalidate|revoke|chown)|functions::add_key'
passed=0 failed=0
check() { # check NAME OK-OR-NOT DETAIL
    if [[ $2 == ok ]]; then
        passed=$((passed + 1)); printf '✓ front door: %s\n' "$1"
    else
        failed=$((failed + 1)); printf '✗ front door: %s: %s\n' "$1" "$3"
    fi
}

cargo build --release --locked --quiet --bin aws-mfa-proc --bin aws-mfa-proc-full

size=$(stat -c %s "$binary")
if ((size <= max_bytes)); then
    check "size $size bytes (at most $max_bytes)" ok
else
    check "size" no "$size bytes, more than $max_bytes"
fi

symbols=$(nm --demangle "$binary" 2>/dev/null || true)
if [[ -z $symbols ]]; then
    check "symbols" no "nm found no symbols in $binary (stripped?)"
else
    found=()
    for crate in "${forbidden[@]}"; do
        grep -q "$crate::" <<<"$symbols" && found+=("$crate")
    done
    if ((${#found[@]})); then check "symbols" no "the binary links ${found[*]}"; else check "symbols name none of: ${forbidden[*]}" ok; fi
    written=$(grep -oE "linux_keyutils::[a-z_:]*($writes)" <<<"$symbols" | sort -u | tr '\n' ' ' || true)
    if [[ -n $written ]]; then check "no kernel-keyring writes" no "it links $written"; else check "no kernel-keyring writes" ok; fi
fi

printf 'front door: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
