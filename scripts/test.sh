#!/usr/bin/env bash
# The project's test command: installs the test dependencies (scripts/install-test-deps.sh,
# fast when they are already there), then runs every test: the unit tests and the one
# end-to-end binary (tests/e2e); then the front door's guard on the release build
# (scripts/check-front-door.sh: its size, what it links, no kernel-keyring write); and
# last, alone, the Debian package's checks
# (scripts/test-package.sh: builds the .deb, installs it on this machine, checks the
# installed tool, purges it; root or sudo). Extra arguments go to `cargo test`, e.g.
# `scripts/test.sh --test e2e smoke`, and then the package checks are left out, as they
# are with AWS_MFA_PROC_PACKAGE_TEST=0. It ends with one line `tests: N passed, N failed`
# that counts them all. Before the package, the Windows lane (scripts/test-windows.sh:
# both binaries cross-built with Debian's Rust and run under Wine against moto) runs
# too; AWS_MFA_PROC_WINDOWS_TEST=0 leaves it out (its cold build, std included, is the
# longest step of a fresh run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-test-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked --workspace --all-targets "$@" 2>&1 | tee "$log" || status=$?
if [[ $# -eq 0 ]]; then
    scripts/check-front-door.sh 2>&1 | tee -a "$log" || status=$?
fi
if [[ $# -eq 0 && ${AWS_MFA_PROC_WINDOWS_TEST:-1} != 0 ]]; then
    scripts/test-windows.sh 2>&1 | tee -a "$log" || status=$?
fi
if [[ $# -eq 0 && ${AWS_MFA_PROC_PACKAGE_TEST:-1} != 0 ]]; then
    scripts/test-package.sh 2>&1 | tee -a "$log" || status=$?
fi
# Sum cargo's per-binary "test result:" lines and the package checks' closing line into
# one closing line.
awk '/^test result:/ { p += $4; f += $6 }
     /^(package|front door|windows): [0-9]+ passed, [0-9]+ failed$/ { p += $(NF-3); f += $(NF-1) }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
