#!/usr/bin/env bash
# cmake --install, and the suite run from what it installed, as a council would deploy it:
#   tests/integration/install.sh BUILD_DIR
# Every program goes to <prefix>/bin; the step definitions, the web UI and the systemd units (naming
# the installed programs) to <prefix>/share/tessera; the operators' documents to share/doc/tessera.
# Then scripts/run.sh starts the installed programs with no workflow.definitions_dirs and no
# http.ui_dir: the workflow daemon reads the installed definitions (a step type only the installed
# tree has can be started) and the gateway serves the installed UI.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: install.sh BUILD_DIR}" && pwd)
# PostgreSQL's socket path must be short, and the postgres user (as root) must enter the directory.
tmp=$(mktemp -d /tmp/tsr-install-XXXXXX)
chmod 755 "$tmp"
suite=""
cleanup() {
    if [ -n "$suite" ] && kill -0 "$suite" 2>/dev/null; then
        kill -TERM "$suite"
        wait "$suite" || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "install: $*" >&2
    [ -f "$tmp/run.out" ] && tail -n 30 "$tmp/run.out" >&2
    exit 1
}

prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.out" || fail "cmake --install failed: $(tail -n 5 "$tmp/install.out")"
for p in accounts records audit workflow consultations reporting notifications cpis gateway spine-poller; do
    [ -x "$prefix/bin/tessera-$p" ] || fail "bin/tessera-$p was not installed"
done
[ -x "$prefix/bin/tessera" ] || fail "bin/tessera was not installed"
for f in share/tessera/definitions/front-door-consultation.json share/tessera/definitions/cpis-follow-up.json \
    share/tessera/definitions/virtual-workers.json share/tessera/ui/index.html share/tessera/systemd/tessera.target \
    share/tessera/database-lockdown.sql share/doc/tessera/OPERATIONS.md; do
    [ -f "$prefix/$f" ] || fail "$f was not installed"
done
grep -qx "ExecStart=$prefix/bin/tessera-%i --config /etc/tessera/tessera.conf" \
    "$prefix/share/tessera/systemd/tessera@.service" || fail "tessera@.service does not start the installed daemons"
grep -qx "ExecStart=$prefix/bin/tessera-spine-poller --config /etc/tessera/tessera.conf" \
    "$prefix/share/tessera/systemd/tessera-spine-poller.service" || fail "the poller's unit does not name the installed poller"
if grep -q '@TSR_' "$prefix"/share/tessera/systemd/*.service; then fail "a unit kept a placeholder"; fi

# A step type the source tree does not have, only the installed one.
sed -e 's/"type": "case-note-deletion"/"type": "installed-tree-check"/' \
    -e 's/"title": "Case note deletion"/"title": "Installed tree check"/' \
    "$prefix/share/tessera/definitions/case-note-deletion.json" >"$prefix/share/tessera/definitions/installed-tree-check.json"
grep -q '"installed-tree-check"' "$prefix/share/tessera/definitions/installed-tree-check.json" ||
    fail "could not make the test's step type from case-note-deletion.json"

TESSERA_INSTANCE="$tmp/instance" TESSERA_HTTP_ADDR=127.0.0.1:0 TESSERA_BIN_DIR="$prefix/bin" TESSERA_UI_DIR= \
    bash "$root/scripts/run.sh" >"$tmp/run.out" 2>&1 &
suite=$!
for _ in $(seq 1 450); do
    grep -q 'Tessera is running' "$tmp/run.out" && break
    kill -0 "$suite" 2>/dev/null || fail "scripts/run.sh stopped before the suite was ready"
    sleep 0.2
done
grep -q 'Tessera is running' "$tmp/run.out" || fail "the installed suite was not ready within 90 s"
if grep -q '^ui_dir' "$tmp/instance/tessera.conf"; then fail "tessera.conf names a ui_dir"; fi
if grep -q 'definitions_dirs' "$tmp/instance/tessera.conf"; then fail "tessera.conf names definitions_dirs"; fi
base="http://$(cat "$tmp/instance/run/gateway.addr")"

page=$(curl -fsS "$base/") || fail "the installed gateway serves no UI at /"
grep -q 'govuk' <<<"$page" || fail "/ is not the web UI: $page"
token=$(curl -fsS -X POST "$base/api/v1/session" -H 'Content-Type: application/json' \
    -d '{"username":"admin","password":"tessera-demo"}' | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
[ -n "$token" ] || fail "could not sign in as admin"
types=$(curl -fsS "$base/api/v1/workflow/definitions" -H "Authorization: Bearer $token") ||
    fail "the definitions could not be listed"
grep -q '"installed-tree-check"' <<<"$types" || fail "the workflow daemon did not read the installed definitions: $types"
grep -q '"front-door-consultation"' <<<"$types" || fail "the shipped definitions are missing: $types"
echo "install: the installed suite runs from $prefix: its definitions and its UI"
