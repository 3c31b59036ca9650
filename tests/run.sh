#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what the tests need (when run as
# root), then runs every test. This is the command README.md names and .ci/run calls.
#
# Tests that need root (network namespaces, nftables) run when this is run as root and say why
# they skipped otherwise; under CI (CI=true) they must run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the end-to-end tests drive: real curl, nftables and iproute2 for the
# transparent-mode namespaces; dnsmasq, busybox (udhcpc), FreeRADIUS and radclient for identity.
packages=(ca-certificates curl iproute2 nftables dnsmasq busybox freeradius freeradius-utils)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "tests/run.sh: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # The tests run their own dnsmasq and FreeRADIUS instances on their own ports and in their
    # own network namespaces; any system daemons these packages start are left alone.
else
    echo "tests/run.sh: not root (or not Debian): not installing ${packages[*]}; tests that need them will say so"
fi

cargo test --locked "$@"
