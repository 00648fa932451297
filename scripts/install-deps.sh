#!/usr/bin/env bash
# Installs the Debian packages that building and testing Totem need, only those missing (quietly).
# Used by scripts/devnet.sh, scripts/test.sh and .ci/run, so any of them can be the first command
# on a fresh Debian machine. Extra package names may be given as arguments.
set -euo pipefail

# What building and running a node needs; callers add their own (scripts/test.sh: the test tools).
packages=(libsodium-dev liblmdb-dev libssl-dev pkg-config libvips-dev libvips-tools python3 python3-pip "$@")
command -v dpkg-query >/dev/null || exit 0  # not Debian: the README says what to install
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A python3 (and pip) from elsewhere on PATH serves as well as Debian's.
missing=($(for p in "${missing[@]}"; do
    case "$p" in
        python3) command -v python3 >/dev/null || echo "$p" ;;
        python3-pip) python3 -m pip --version >/dev/null 2>&1 || echo "$p" ;;
        *) echo "$p" ;;
    esac
done))
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=()
[[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
