#!/usr/bin/env bash
# Builds the Debian package: target/debian/aws-mfa-proc_VERSION-REV_ARCH.deb, and prints
# its path on stdout. It holds both binaries in /usr/bin, the man pages, the bash, zsh
# and fish completions (completions/), the docs, the changelogs and the copyright file;
# what goes where is [package.metadata.deb] in Cargo.toml.
#
# The package takes the release binaries of `cargo build --release --locked` (run here;
# a no-op when CI has built them already), so a CI run pays for one release build.
# cargo-deb comes from crates.io, pinned, installed by scripts/install-test-deps.sh under
# $AWS_MFA_PROC_TEST_DEPS/cargo-deb (default .test-deps/); it needs dpkg-dev.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=${AWS_MFA_PROC_TEST_DEPS:-$repo/.test-deps}
cd "$repo"

fail() { printf 'package-deb: %s\n' "$*" >&2; exit 1; }

[[ -x $deps/cargo-deb/bin/cargo-deb ]] ||
    fail "no cargo-deb in $deps/cargo-deb: run scripts/install-test-deps.sh"

# The Debian changelog names the version the package gets: it must be the crate's.
crate_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
[[ ${deb_version%-*} == "$crate_version" ]] ||
    fail "debian/changelog is at $deb_version but Cargo.toml at $crate_version: add a debian/changelog entry"

cargo build --release --locked --bins >&2
PATH=$deps/cargo-deb/bin:$PATH cargo deb --no-build --locked --deb-version "$deb_version" >&2
target=${CARGO_TARGET_DIR:-$repo/target}
deb=$target/debian/aws-mfa-proc_${deb_version}_$(dpkg --print-architecture).deb
[[ -f $deb ]] || fail "cargo deb made no $deb"
printf '%s\n' "$deb"
