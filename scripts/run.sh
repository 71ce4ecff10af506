#!/usr/bin/env bash
# make run: the whole suite in the foreground, with demo data, on a private PostgreSQL cluster in
# $TESSERA_INSTANCE (default build/run-instance; a second run reuses the cluster and its data).
# Ctrl-C (or SIGTERM) stops the daemons, each draining its in-flight work, then PostgreSQL.
# TESSERA_HTTP_ADDR (default 127.0.0.1:8080, from tessera.conf) changes where the gateway listens;
# TESSERA_BIN_DIR (default build/bin) where the programs are (the browser tests run their build's);
# TESSERA_SPOOL_SETTLE_MS (default 2000) how old a CP-IS spool file must be before the poller reads it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="${TESSERA_BIN_DIR:-$root/build/bin}"
dir=${TESSERA_INSTANCE:-$root/build/run-instance}
demo="$root/deploy/demo/demo.json"
# Started in this order, stopped in the reverse order (the gateway first, so that it can finish
# the calls it has in flight while the daemons behind it still answer).
daemons=(accounts records audit workflow consultations reporting notifications cpis gateway)
ready_timeout=60 # seconds for /readyz to answer after the daemons start
stop_timeout=30  # seconds each daemon has to drain and exit after SIGTERM before it is killed

say() { echo "run: $*" >&2; }
fail() {
    say "$*"
    exit 1
}

for exe in "${daemons[@]/#/$bin/tessera-}" "$bin/tessera" "$bin/tessera-spine-poller"; do
    [ -x "$exe" ] || fail "$exe is missing; build first with 'make build' (or use 'make run')."
done
[ -f "$demo" ] || fail "the demo data $demo is missing."
command -v curl >/dev/null || fail "curl is missing; run 'make deps'."

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# One `make run` per instance: a second one would take over the first one's sockets.
exec 9>"$dir/run.lock"
flock -n 9 || fail "another 'make run' is using $dir (or daemons it started are still running); stop it first."

declare -A pids=() log_start=()
started=()
on_signal=0

# The end of daemon $1's log, from this run only.
log_tail() {
    local log="$dir/logs/$1.log"
    tail -c +"$((${log_start[$1]:-0} + 1))" "$log" 2>/dev/null | tail -n 20 | sed 's/^/    /'
}

stop_daemon() {
    local name=$1 pid=${pids[$1]} status=0 i
    if kill -TERM "$pid" 2>/dev/null; then
        for ((i = 0; i < stop_timeout * 10; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "tessera-$name did not stop within $stop_timeout s; killing it (log: $dir/logs/$name.log)."
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || status=$?
    if [ "$status" != 0 ] && [ "$on_signal" = 1 ]; then
        say "tessera-$name exited with status $status while stopping; see $dir/logs/$name.log."
    fi
}

cleanup() {
    local rc=$? i
    trap '' INT TERM
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do
        stop_daemon "${started[i]}"
    done
    "$root/scripts/instance.sh" stop "$dir" 9>&- || rc=1
    [ "$on_signal" = 0 ] || echo "Tessera stopped."
    exit "$rc"
}
trap cleanup EXIT
trap 'on_signal=1; echo; echo "Stopping Tessera: the daemons (each drains its work), then PostgreSQL..."; exit 0' INT TERM

# A daemon that stopped by itself: say which and why, show its log, stop everything (EXIT trap).
died() {
    local name=$1 status=0 why
    wait "${pids[$name]}" 2>/dev/null || status=$?
    if [ "$status" -gt 128 ]; then why="killed by signal $((status - 128))"; else why="exit status $status"; fi
    say "tessera-$name stopped on its own ($why). The end of its log, $dir/logs/$name.log:"
    log_tail "$name" >&2
    exit 1
}

check_alive() {
    local name
    for name in "${started[@]}"; do
        kill -0 "${pids[$name]}" 2>/dev/null || died "$name"
    done
}

# The cluster is created on the first run, reused (and restarted) on the next ones. The lock's
# descriptor is not handed to PostgreSQL, which outlives this script when it is killed.
"$root/scripts/instance.sh" init "$dir" 9>&-
rm -f "$dir/run/gateway.addr"

# The daemons read TESSERA_* overrides (e.g. TESSERA_HTTP_ADDR) from the environment themselves, and
# warn of a TESSERA_ variable that is no setting: this script's own stop here.
export -n TESSERA_INSTANCE TESSERA_BIN_DIR TESSERA_UI_DIR TESSERA_SPOOL_SETTLE_MS
# Each runs in its own session, so that Ctrl-C reaches this script only, which then stops them
# in order; setsid execs in place, so $! is the daemon's pid.
for name in "${daemons[@]}"; do
    log="$dir/logs/$name.log"
    log_start[$name]=$(stat -c %s "$log" 2>/dev/null || echo 0)
    setsid "$bin/tessera-$name" --config "$dir/tessera.conf" >>"$log" 2>&1 &
    pids[$name]=$!
    started+=("$name")
done

# Ready when the gateway has written its bound address and its /readyz answers 200.
addr=""
deadline=$((SECONDS + ready_timeout))
while :; do
    check_alive
    [ -s "$dir/run/gateway.addr" ] && addr=$(cat "$dir/run/gateway.addr")
    if [ -n "$addr" ] && curl -fsS --max-time 2 "http://$addr/readyz" >/dev/null 2>&1; then
        break
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        if [ -z "$addr" ]; then
            say "the gateway did not write its address to $dir/run/gateway.addr within $ready_timeout s; logs are in $dir/logs/."
            log_tail gateway >&2
        else
            say "http://$addr/readyz did not answer 200 within $ready_timeout s; logs are in $dir/logs/. It says:"
            curl -sS --max-time 2 "http://$addr/readyz" 2>&1 | sed 's/^/    /' >&2 || true
        fi
        exit 1
    fi
    sleep 0.2
done

if ! "$bin/tessera" --config "$dir/tessera.conf" demo load "$demo" >"$dir/logs/demo-load.log" 2>&1; then
    say "loading the demo data failed. The end of $dir/logs/demo-load.log:"
    tail -n 20 "$dir/logs/demo-load.log" | sed 's/^/    /' >&2
    exit 1
fi
# Family Context (docs/family-context-sources.md): the demo's other services' files.
for source in school housing police; do
    if ! "$bin/tessera" --config "$dir/tessera.conf" import family-context "$source" \
        "$root/deploy/demo/family-context/$source.csv" --coverage-from 2019-01-01 --coverage-to 2026-11-30 \
        --contact-name "Demo $source contact" --contact-role "Data officer" \
        --contact-telephone "0161 496 0999" --contact-email "$source@example.org" \
        >>"$dir/logs/demo-load.log" 2>&1; then
        say "loading the demo's Family Context $source file failed. The end of $dir/logs/demo-load.log:"
        tail -n 20 "$dir/logs/demo-load.log" | sed 's/^/    /' >&2
        exit 1
    fi
done

# The spine poller (CP-IS files from the spool to the gateway), as the demo's service account, every
# minute rather than the four times a day of a council's Spine connection, so that a file dropped in
# the spool is seen soon. Its configuration is written now that the gateway's address is known.
# settle_ms: a file modified in the last 2 s is left for the next pass, so that one still being
# copied in (`cp` into the spool, as the README suggests) is not read half-written and set aside.
# The browser journeys write each file aside and rename it in, then have the poller read it at once
# (SIGUSR1): they set TESSERA_SPOOL_SETTLE_MS=0, since waiting would only slow them.
settle_ms=${TESSERA_SPOOL_SETTLE_MS:-2000}
[[ "$settle_ms" =~ ^[0-9]+$ ]] || fail "TESSERA_SPOOL_SETTLE_MS must be a number of milliseconds, not '$settle_ms'."
spool="$dir/cpis-spool"
mkdir -p "$spool"
# Its password is the service account's own in the demo data (a generated secret), on the account's
# "password" line, between its "username" and the end of its entry.
poller_password=$(sed -n '/"username": *"spine.poller"/,/}/s/^ *"password": *"\([^"]*\)".*/\1/p' "$demo" | head -n 1)
[ -n "$poller_password" ] || fail "the demo data $demo has no password for the spine poller's account."
(
    umask 077
    printf '%s\n' "$poller_password" >"$dir/secrets/spine-poller.password"
    cat >"$dir/spine-poller.conf" <<CONF
# The spine poller of 'make run' (written by scripts/run.sh on every run).
[tessera]
log_level = info

[spine_poller]
spool_dir = $spool
gateway_url = http://$addr
username = spine.poller
password_file = $dir/secrets/spine-poller.password
interval_minutes = 1
settle_ms = $settle_ms
metrics_file = $dir/run/spine-poller.prom
CONF
)
log_start[spine-poller]=$(stat -c %s "$dir/logs/spine-poller.log" 2>/dev/null || echo 0)
setsid "$bin/tessera-spine-poller" --config "$dir/spine-poller.conf" >>"$dir/logs/spine-poller.log" 2>&1 &
pids[spine-poller]=$!
started+=(spine-poller)
# kill -USR1 "$(cat run/spine-poller.pid)" has it read the spool now (the browser tests do).
echo "${pids[spine-poller]}" >"$dir/run/spine-poller.pid"

cat <<MSG

Tessera is running (instance $dir).
  Web UI:    http://$addr/
  API base:  http://$addr/api/v1   (also /healthz, /readyz, /metrics)
  Logs:      $dir/logs/  (PostgreSQL: $dir/pg/postgres.log)
  Database:  scripts/instance.sh psql $dir [DAEMON]
  CP-IS:     files dropped in $spool reach the CP-IS Worker queue within a minute
             (try: cp deploy/demo/cpis/notifications.json $spool/; docs/cpis-feed.md;
             kill -USR1 \$(cat $dir/run/spine-poller.pid) has the poller read it at once)

Demo logins, password 'tessera-demo' (demo mode only):
  admin               system administrator and system support
  mash.admin          MASH admin
  mash.manager        MASH manager
  mash.sw             MASH social worker
  eh.worker           early help worker
  safeguarding.admin  safeguarding admin (CP-IS)
  cin.manager         team manager (Children in Need 1), the key worker's line manager
  key.worker          key worker
  senior.practitioner senior practitioner
  auditor             information governance auditor

Press Ctrl-C to stop.
MSG

while :; do
    check_alive
    sleep 1 &
    wait $! || true
done
