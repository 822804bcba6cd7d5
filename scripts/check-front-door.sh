#!/usr/bin/env bash
# The front door (`aws-mfa-proc`, the binary the SDKs run on every AWS CLI command)
# stays small by construction, and this guards it: scripts/test.sh runs it after the
# tests, on the release build.
#   - its crate, crates/front, has none of these in its dependency tree (`cargo tree`):
#     a keychain store, an AWS service client (STS, IAM, Sign-In), an HTTP client or
#     TLS; the SDK's profile parser (aws-runtime) may pull in more, which the symbol
#     check below catches if it is ever linked;
#   - the binary calls the front crate only: no symbol names the main crate;
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
forbidden=(aws_mfa_proc keyring_core zbus secret_service aws_sdk_sts aws_sdk_iam aws_sdk_signin hyper rustls aws_lc tokio)
# Crates that must not be in the front crate's tree, as `cargo tree` names them.
not_in_tree='^(keyring-core|[a-z-]*keyring-store|zbus|secret-service|aws-sdk-[a-z]+|aws-config|hyper[a-z-]*|h2|rustls[a-z-]*|tokio-rustls|aws-lc-[a-z]+|reqwest) '
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

tree=$(cargo tree --locked -p aws-mfa-proc-front -e normal,build --prefix none)
heavy=$(grep -oE "$not_in_tree" <<<"$tree" | sort -u | tr -d ' ' | tr '\n' ' ' || true)
if [[ -n $heavy ]]; then
    check "dependency tree" no "crates/front depends on $heavy"
elif [[ -z $tree ]]; then
    check "dependency tree" no "cargo tree printed nothing for aws-mfa-proc-front"
else
    check "dependency tree of crates/front has no keychain, AWS client, HTTP or TLS crate" ok
fi

cargo build --release --locked --quiet --bin aws-mfa-proc --bin aws-mfa-proc-full

size=$(stat -c %s "$binary")
if ((size <= max_bytes)); then
    check "size $size bytes (at most $max_bytes)" ok
else
    check "size" no "$size bytes, more than $max_bytes"
fi

# The binary's own crate is named aws_mfa_proc too: its `main` is the one symbol of
# that name that is allowed.
symbols=$(nm --demangle "$binary" 2>/dev/null | grep -v ' aws_mfa_proc::main$' || true)
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
