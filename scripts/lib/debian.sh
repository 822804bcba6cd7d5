# Sourced by the test scripts: Debian packages, installed when missing.

# apt_install_missing PKG…: installs those of PKG that are not installed (sudo unless
# root); one dpkg-query for all of them (one per package costs ~25 ms each). Logs with
# the caller's `log`.
apt_install_missing() {
    local wanted=("$@") missing=() pkg installed
    # dpkg-query exits 1 when some package was never installed.
    installed=" $( { dpkg-query -W -f='${Package}=${Status}\n' "${wanted[@]}" 2>/dev/null \
                       || true; } | sed -n 's/=install ok installed$//p' | tr '\n' ' ')"
    for pkg in "${wanted[@]}"; do
        [[ $installed == *" $pkg "* ]] || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    log "apt-get install ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
