#!/usr/bin/env bash
# Installs what Tessera needs to build, run and test: Debian 12 packages with apt-get (through sudo
# when not root), and later the web UI's npm packages. Only what is missing is installed, and
# `apt-get update` runs only then; silent and quick when everything is there.
# Run by `make deps`, and so by `make run`, `make test` and `make bench`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

# Build tools, the libraries the daemons are made of, PostgreSQL, and the test and bench tools.
DEBIAN_PACKAGES="
  build-essential cmake pkg-config clang clang-format cppcheck libclang-rt-14-dev
  libh2o-dev libssl-dev libzmq3-dev protobuf-c-compiler libprotobuf-c-dev libuv1-dev libpq-dev
  libjansson-dev libsodium-dev libxlsxwriter-dev xlsx2csv libcmocka-dev libcurl4-openssl-dev libyaml-dev
  libpwquality-dev cracklib-runtime
  postgresql-15 postgresql-client-15 curl wrk tzdata python3-aiosmtpd iproute2 tcpdump
"
# libssl-dev: h2o's headers include OpenSSL's, which libh2o-dev does not pull in.
# xlsx2csv: the report tests read an XLSX back with a reader that is not the writer.
# python3-aiosmtpd: a real SMTP server the e-mail tests deliver to.
# libpwquality-dev, cracklib-runtime: the accounts daemon refuses common and dictionary passwords;
# cracklib-runtime (only recommended by libcrack2) builds the dictionary it reads.
# tzdata: the workflow daemon counts working hours on the office clock (Europe/London by default).
# iproute2, tcpdump: the two-host test puts a daemon in a network namespace of its own and looks at
# what crosses the wire between them (tests/integration/two_hosts.sh).

# --- Web UI: node to install its npm packages (ui/package.json and ui/package-lock.json: GOV.UK
# Frontend, and playwright-core and axe-core for its browser tests), installed below with `npm ci`
# when missing, and Debian's Chromium, which the browser tests drive headless (never a download).
# npm is not listed: a nodejs from elsewhere (e.g. nodesource) brings its own npm and conflicts
# with Debian's npm package, which is installed below only where there is no npm command.
UI_DEBIAN_PACKAGES="nodejs chromium"

die() {
    echo "deps: $*" >&2
    exit 1
}

missing=()
for p in $DEBIAN_PACKAGES $UI_DEBIAN_PACKAGES; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
done

# apt-get runs as root: through sudo when this script is not root.
need_root() {
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "not root and no sudo: install $* as root"
        sudo=(sudo)
    fi
}

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    need_root "${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        die "apt-get update failed (see above)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
        die "apt-get install of ${missing[*]} failed (see above)"
fi
# On machines with systemd, installing postgresql-15 also creates and starts Debian's own cluster
# on port 5432; Tessera never uses it (each instance has a private cluster, see scripts/instance.sh).

# Again when ui/package-lock.json changed since the last install (npm keeps its copy in node_modules).
if [ -f "$root/ui/package.json" ] && { [ ! -d "$root/ui/node_modules" ] ||
    [ "$root/ui/package-lock.json" -nt "$root/ui/node_modules/.package-lock.json" ]; }; then
    if ! command -v npm >/dev/null; then
        echo "deps: installing npm (Debian's), for the web UI's packages"
        need_root npm
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm ||
            die "ui/package.json needs npm, and apt-get install npm failed (see above); install node and npm, then run 'make deps' again"
    fi
    (cd "$root/ui" && npm ci --no-audit --no-fund) || die "npm ci in ui/ failed (see above)"
fi
