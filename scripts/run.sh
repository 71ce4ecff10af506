#!/usr/bin/env bash
# make run: the whole suite in the foreground on a private PostgreSQL under the build tree, with
# demo data. Ctrl-C (or SIGTERM) stops every daemon, letting it drain, then PostgreSQL.
# A second run reuses the cluster and its data. TESSERA_HTTP_ADDR changes where the UI listens.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/bin"
dir=${TESSERA_INSTANCE:-$root/build/run-instance}
daemons=(accounts records audit gateway)

for d in "${daemons[@]}" ""; do
    exe="$bin/tessera${d:+-$d}"
    [ -x "$exe" ] || { echo "run: $exe is missing; build first with 'make build'." >&2; exit 1; }
done

"$root/scripts/instance.sh" init "$dir"
rm -f "$dir/run/gateway.addr"

declare -A pids=()
stopping=0
stop_all() {
    stopping=1
    local name
    for name in "${!pids[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null || true; done
    for name in "${!pids[@]}"; do wait "${pids[$name]}" 2>/dev/null || true; done
    "$root/scripts/instance.sh" stop "$dir" || true
}
trap 'echo; echo "Stopping Tessera..."; stop_all; echo "Stopped."; exit 0' INT TERM

for d in "${daemons[@]}"; do
    "$bin/tessera-$d" --config "$dir/tessera.conf" >>"$dir/logs/$d.log" 2>&1 &
    pids[$d]=$!
done

died() {
    echo "run: tessera-$1 stopped on its own; the end of its log ($dir/logs/$1.log):" >&2
    tail -n 20 "$dir/logs/$1.log" >&2
    trap - INT TERM
    stop_all
    exit 1
}

addr=""
for _ in $(seq 1 600); do
    for d in "${daemons[@]}"; do kill -0 "${pids[$d]}" 2>/dev/null || died "$d"; done
    if [ -s "$dir/run/gateway.addr" ]; then
        addr=$(cat "$dir/run/gateway.addr")
        curl -fsS "http://$addr/readyz" >/dev/null 2>&1 && break
    fi
    sleep 0.1
done
curl -fsS "http://$addr/readyz" >/dev/null 2>&1 || {
    echo "run: the suite did not become ready in 60 s; see the logs in $dir/logs" >&2
    trap - INT TERM
    stop_all
    exit 1
}

"$bin/tessera" --config "$dir/tessera.conf" demo load "$root/deploy/demo/demo.json"

cat <<MSG

Tessera is running.
  Web UI:   http://$addr/
  API:      http://$addr/api/v1   (health: /healthz, /readyz; metrics: /metrics)
  Logs:     $dir/logs/
  Database: scripts/instance.sh psql $dir

Demo logins (password 'tessera-demo', demo mode only):
  admin               system administrator and system support
  mash.admin          MASH admin
  mash.manager        MASH manager
  mash.sw             MASH social worker
  eh.worker           early help worker
  safeguarding.admin  safeguarding admin (CP-IS)
  key.worker          key worker (social worker)
  auditor             information governance auditor

Press Ctrl-C to stop.
MSG

while :; do
    for d in "${daemons[@]}"; do
        if ! kill -0 "${pids[$d]}" 2>/dev/null && [ "$stopping" = 0 ]; then
            unset "pids[$d]"
            died "$d"
        fi
    done
    sleep 1 &
    wait $! || true
done
