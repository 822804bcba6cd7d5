#!/usr/bin/env bash
# Installs what the end-to-end tests (tests/e2e) need, on a fresh Debian 12 machine:
#   - Debian packages: a D-Bus daemon, gnome-keyring and secret-tool for a real Secret
#     Service, faketime, keyutils, direnv; for the dialog tests a virtual X display
#     (Xvfb), zenity, xdotool, oathtool (real TOTP codes) and imagemagick (screenshots);
#     for the SDK tests Go with Debian's AWS SDK for Go v2, rclone (AWS SDK for Go v1)
#     and Debian's AWS SDK for Ruby;
#   - a Python venv with moto (a local AWS), the AWS CLI v1, boto3 and botocore[crt]
#     (its AWS Sign-In provider), versions fixed by tests/python/requirements.lock;
#   - the npm clients (AWS SDK for JS v3, osls) fixed by tests/node/package-lock.json;
#   - the clients on the AWS SDK for JS v2 (Serverless Framework v3, aws-sdk v2) fixed
#     by tests/node-sls3/package-lock.json, in a prefix of their own: serverless@3 and
#     osls both install a `sls` binary, and the tests call this one by its path;
#   - bin/sdk-go-v2-check, built offline from tests/go/sdk-go-v2-check against Debian's
#     AWS SDK for Go v2 (Go's build cache in gocache/ beside it);
#   - for the Debian package: cargo-deb from crates.io (pinned, in cargo-deb/), and
#     Debian's dpkg-dev, lintian, man-db, bash-completion, zsh and fish.
# The venv, the node prefixes, the Go binary and cargo-deb go to $AWS_MFA_PROC_TEST_DEPS
# (default: .test-deps in the repo root). Idempotent: each part is redone only when it is missing
# or its pinned inputs changed, so a second run takes well under a second and prints
# nothing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=${AWS_MFA_PROC_TEST_DEPS:-$repo/.test-deps}

log() { printf 'install-test-deps: %s\n' "$*" >&2; }
# shellcheck source=lib/debian.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian.sh"

# Prints the sha256 of the given files together: the stamp that says a part is current.
inputs_hash() { cat "$@" | sha256sum | cut -d' ' -f1; }

install_debian_packages() {
    # hyperfine and time: the test that runs bench/cached-path.sh once.
    local wanted=(dbus gnome-keyring libsecret-tools faketime keyutils direnv hyperfine time)
    # Dialog tests. zenity shows its window under a bare Xvfb with no window manager and
    # no D-Bus session: run it with NO_AT_BRIDGE=1, else GTK starts at-spi daemons that
    # outlive it. It needs a font and an icon theme to draw text and icons (the base
    # image has both), and xvfb-run needs xauth.
    wanted+=(xvfb xauth zenity xdotool oathtool imagemagick fonts-dejavu-core adwaita-icon-theme)
    # SDK tests: AWS SDK for Go v2 (built offline below), rclone (AWS SDK for Go v1),
    # AWS SDK for Ruby.
    wanted+=(golang-go golang-github-aws-aws-sdk-go-v2-dev rclone ruby-aws-sdk-core)
    # The Debian package (scripts/package-deb.sh, scripts/test-package.sh): dpkg-dev for
    # cargo-deb's dependency scan, lintian, and what the installed tool is checked with
    # (man, bash-completion's loader, zsh and fish).
    wanted+=(dpkg-dev lintian man-db bash-completion zsh fish)
    # A Debian python3 without ensurepip cannot make a venv (pyenv's and python.org's can).
    python3 -c 'import ensurepip' 2>/dev/null || wanted+=(python3-venv)
    apt_install_missing "${wanted[@]}"
}

install_python_venv() {
    local venv=$deps/venv req=$repo/tests/python/requirements.txt lock=$repo/tests/python/requirements.lock
    local want
    want=$(inputs_hash "$req" "$lock")
    if [[ $(cat "$venv/.installed" 2>/dev/null) == "$want" ]] && "$venv/bin/python" -c '' 2>/dev/null; then
        return 0
    fi
    log "python venv at $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" -c "$lock"
    echo "$want" >"$venv/.installed"
}

# npm ci of tests/NAME/package-lock.json into $deps/NAME.
install_node_modules() {
    local dir=$deps/$1 src=$repo/tests/$1 want
    want=$(inputs_hash "$src/package.json" "$src/package-lock.json")
    if [[ $(cat "$dir/.installed" 2>/dev/null) == "$want" && -d $dir/node_modules ]]; then
        return 0
    fi
    log "npm ci in $dir"
    mkdir -p "$dir"
    rm -f "$dir/.installed"
    cp "$src/package.json" "$src/package-lock.json" "$dir/"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" >"$dir/.installed"
}

# go build of tests/go/NAME into $deps/bin/NAME, offline: GOPATH mode against the Go
# libraries Debian installs under /usr/share/gocode (no module downloads).
# Debian's go (golang-go), not another one that may come first on PATH.
build_go_program() {
    local src=$repo/tests/go/$1 bin=$deps/bin/$1 go=/usr/lib/go/bin/go want
    # Rebuild when the source, the Go toolchain or Debian's SDK package changes.
    want=$( { cat "$src"/*.go; "$go" version
              dpkg-query -W -f='${Version}' golang-github-aws-aws-sdk-go-v2-dev; } | sha256sum | cut -d' ' -f1)
    if [[ $(cat "$bin.installed" 2>/dev/null) == "$want" && -x $bin ]]; then
        return 0
    fi
    log "go build $bin"
    mkdir -p "$deps/bin" "$deps/gocache"
    rm -f "$bin.installed"
    (cd "$src" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= CGO_ENABLED=0 \
        GOCACHE=$deps/gocache "$go" build -o "$bin.tmp" .)
    mv -f "$bin.tmp" "$bin"
    echo "$want" >"$bin.installed"
}

# cargo-deb from crates.io (not in Debian 12), pinned, for scripts/package-deb.sh.
install_cargo_deb() {
    local version=3.8.0 root=$deps/cargo-deb
    if [[ $(cat "$root/.installed" 2>/dev/null) == "$version" && -x $root/bin/cargo-deb ]]; then
        return 0
    fi
    log "cargo install cargo-deb $version into $root"
    rm -f "$root/.installed"
    # Built in a temporary directory of cargo's own, not in the project's target dir.
    env -u CARGO_TARGET_DIR cargo install --quiet --locked --version "$version" \
        --root "$root" cargo-deb
    echo "$version" >"$root/.installed"
}

install_debian_packages
mkdir -p "$deps"
install_python_venv
install_node_modules node
install_node_modules node-sls3
build_go_program sdk-go-v2-check
install_cargo_deb
