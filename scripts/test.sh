#!/usr/bin/env bash
# The project's test command: installs the test dependencies (scripts/install-test-deps.sh,
# fast when they are already there), then runs every test. Extra arguments go to
# `cargo test`, e.g. `scripts/test.sh --test e2e smoke`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-test-deps.sh
cargo test --locked --all-targets "$@"
# --all-targets leaves out doc tests: run them too once there is a library.
if [[ -f src/lib.rs ]]; then
    cargo test --locked --doc "$@"
fi
