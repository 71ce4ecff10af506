#!/usr/bin/env bash
# Installs what Tessera needs to build, run and test, with apt-get (Debian 12) and npm only.
# Quiet and quick when everything is there; run by `make run`, `make test` and `make bench`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

# Build tools and the libraries the daemons are made of.
DEBIAN_PACKAGES="
  build-essential cmake pkg-config clang clang-format cppcheck libclang-rt-14-dev
  libh2o-dev libzmq3-dev protobuf-c-compiler libprotobuf-c-dev libuv1-dev libpq-dev
  libjansson-dev libsodium-dev libxlsxwriter-dev libcmocka-dev libcurl4-openssl-dev libyaml-dev
  libssl-dev
  postgresql-15 postgresql-client-15 curl wrk
"
# The web UI's build and browser tests (GOV.UK Frontend, playwright-core, axe-core) add their
# Debian packages here (nodejs, npm, chromium) and their npm packages in ui/package.json.
UI_DEBIAN_PACKAGES=""

missing=()
for p in $DEBIAN_PACKAGES $UI_DEBIAN_PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || { echo "deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Installing postgresql-15 creates and starts Debian's own cluster as a system service on some
# machines; Tessera never uses it (each instance has its own cluster under the build tree).
if [ -f "$root/ui/package.json" ] && [ ! -d "$root/ui/node_modules" ]; then
    (cd "$root/ui" && npm ci --no-audit --no-fund)
fi
