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
  postgresql-15 postgresql-client-15 curl wrk tzdata python3-aiosmtpd
"
# libssl-dev: h2o's headers include OpenSSL's, which libh2o-dev does not pull in.
# xlsx2csv: the report tests read an XLSX back with a reader that is not the writer.
# python3-aiosmtpd: a real SMTP server the e-mail tests deliver to.
# tzdata: the workflow daemon counts working hours on the office clock (Europe/London by default).

# --- Web UI (NPM / BROWSER): empty until the web UI's build and browser tests land. ----------
# Its Debian packages (nodejs, npm, chromium) go in UI_DEBIAN_PACKAGES; its npm packages go in
# ui/package.json (with ui/package-lock.json), installed below with `npm ci` when missing.
UI_DEBIAN_PACKAGES=""

die() {
    echo "deps: $*" >&2
    exit 1
}

missing=()
for p in $DEBIAN_PACKAGES $UI_DEBIAN_PACKAGES; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} as root"
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        die "apt-get update failed (see above)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
        die "apt-get install of ${missing[*]} failed (see above)"
fi
# On machines with systemd, installing postgresql-15 also creates and starts Debian's own cluster
# on port 5432; Tessera never uses it (each instance has a private cluster, see scripts/instance.sh).

if [ -f "$root/ui/package.json" ] && [ ! -d "$root/ui/node_modules" ]; then
    command -v npm >/dev/null || die "ui/package.json needs npm: add nodejs and npm to UI_DEBIAN_PACKAGES"
    (cd "$root/ui" && npm ci --no-audit --no-fund) || die "npm ci in ui/ failed (see above)"
fi
