#!/usr/bin/env bash
# The project's test command: installs the test dependencies (scripts/install-test-deps.sh,
# fast when they are already there), then runs every test: the unit tests and the one
# end-to-end binary (tests/e2e). Extra arguments go to `cargo test`, e.g.
# `scripts/test.sh --test e2e smoke`. It ends with one line `tests: N passed, N failed`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-test-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked --all-targets "$@" 2>&1 | tee "$log" || status=$?
# Sum cargo's per-binary "test result:" lines into one closing line.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' \
    "$log"
exit "$status"
