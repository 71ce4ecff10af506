# Shared by the benchmarks: a private instance with every daemon of this build, and PostgreSQL
# tools run as the server's owner. Source it, then call bench_start_suite. Sets dir, addr, token,
# pgbin, and defines psql_super and pgbench.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_bin="$bench_root/build/bin"
bench_pids=()
bench_daemons="accounts records audit workflow consultations reporting notifications cpis gateway"

bench_cleanup() {
    for pid in "${bench_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${bench_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    "$bench_root/scripts/instance.sh" stop "$dir" >/dev/null 2>&1 || true
    [ "${TESSERA_KEEP_BENCH_DIR:-0}" = 1 ] || rm -rf "$dir"
}

# bench_start_suite USERNAME: starts everything, loads the demo data, signs USERNAME in.
bench_start_suite() {
    for tool in wrk curl; do
        command -v "$tool" >/dev/null || { echo "bench: $tool is missing; run 'make deps'." >&2; exit 1; }
    done
    pgbin=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
    [ -x "$pgbin/pgbench" ] || pgbin=/usr/lib/postgresql/15/bin
    dir=$(mktemp -d /tmp/tsr-bench-XXXXXX)
    trap bench_cleanup EXIT
    echo "bench: instance in $dir"
    "$bench_root/scripts/instance.sh" init "$dir" >/dev/null
    local d
    for d in $bench_daemons; do
        TESSERA_HTTP_ADDR=127.0.0.1:0 TESSERA_TESSERA_LOG_LEVEL=warn \
            "$bench_bin/tessera-$d" --config "$dir/tessera.conf" >"$dir/logs/$d.log" 2>&1 &
        bench_pids+=($!)
    done
    addr=""
    for _ in $(seq 1 600); do
        [ -s "$dir/run/gateway.addr" ] && addr=$(cat "$dir/run/gateway.addr") &&
            curl -fsS "http://$addr/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -fsS "http://$addr/readyz" >/dev/null || {
        echo "bench: the suite did not become ready" >&2
        tail -n 20 "$dir"/logs/*.log >&2
        exit 1
    }
    "$bench_bin/tessera" --config "$dir/tessera.conf" demo load "$bench_root/deploy/demo/demo.json" >/dev/null
    token=$(curl -fsS -X POST "http://$addr/api/v1/session" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"tessera-demo\"}" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
    [ -n "$token" ] || { echo "bench: could not sign in as $1" >&2; exit 1; }
    bench_sock="$dir/pg/sock"
    bench_port=$(cat "$dir/pg/port")
    bench_as_pg=()
    [ "$(id -u)" = 0 ] && bench_as_pg=(runuser -u postgres --)
}

# bench_restart_daemon NAME [VAR=VALUE ...]: stops one daemon of the suite (SIGTERM, its drain) and
# starts it again with those settings in its environment; waits until the suite is ready again.
bench_restart_daemon() {
    local name=$1 i=0 d
    shift
    for d in $bench_daemons; do
        if [ "$d" = "$name" ]; then
            kill -TERM "${bench_pids[$i]}"
            wait "${bench_pids[$i]}" 2>/dev/null || true
            env "$@" TESSERA_TESSERA_LOG_LEVEL=warn "$bench_bin/tessera-$d" --config "$dir/tessera.conf" \
                >>"$dir/logs/$d.log" 2>&1 &
            bench_pids[$i]=$!
            break
        fi
        i=$((i + 1))
    done
    for _ in $(seq 1 600); do
        curl -fsS "http://$addr/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "bench: $name did not come back" >&2
    tail -n 20 "$dir/logs/$name.log" >&2
    exit 1
}

psql_super() { "${bench_as_pg[@]}" "$pgbin/psql" -h "$bench_sock" -p "$bench_port" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
pgbench() { "${bench_as_pg[@]}" "$pgbin/pgbench" -h "$bench_sock" -p "$bench_port" -U postgres "$@"; }
