#!/usr/bin/env bash
# make bench (part): the workview of a worker with 10,000 open items among 1,000,000 steps, through
# HTTP (gateway -> workflow -> PostgreSQL), against pgbench running the same statements on the same
# server in the same run. Writes build/bench/workview.json and the query plans to
# build/bench/workview_plan.txt. BENCH_SECONDS (default 20) and BENCH_WORKVIEW_CONNECTIONS (default 4).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out="$bench_root/build/bench"
seconds=${BENCH_SECONDS:-20}
connections=${BENCH_WORKVIEW_CONNECTIONS:-4}
mkdir -p "$out"

bench_start_suite mash.sw
worker=$(psql_super -d tessera -At -c "SELECT id FROM accounts.workers WHERE username = 'mash.sw'")
echo "bench: generating 1,000,000 steps (10,000 open items for worker $worker)"
psql_super -d tessera -v owner="w:$worker" -f "$bench_root/bench/generate_workview.sql" >/dev/null
open_items=$(psql_super -d tessera -At -c "SELECT (SELECT count(*) FROM workflow.steps WHERE owner = 'w:$worker'
    AND folder IS NOT NULL) + (SELECT count(*) FROM workflow.requests WHERE inbox = 'w:$worker')")
steps=$(psql_super -d tessera -At -c "SELECT count(*) FROM workflow.steps")

cp "$bench_root/bench/workview_baseline.sql" "$dir/workview_baseline.sql"
chmod 644 "$dir/workview_baseline.sql"
echo "bench: pgbench, the workview's statements, $connections clients, ${seconds}s"
pgbench -n -f "$dir/workview_baseline.sql" -D worker="$worker" -c "$connections" -j 2 -T "$seconds" -r tessera \
    >"$dir/pgbench_workview.txt" 2>&1
pg_tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$dir/pgbench_workview.txt")
pg_latency=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$dir/pgbench_workview.txt")

echo "bench: HTTP GET /api/v1/workview (first page of each folder: 25), $connections connections, ${seconds}s"
TESSERA_TOKEN="$token" BENCH_WRK_JSON="$dir/workview.json" \
    wrk -t 1 -c "$connections" -d "${seconds}s" -s "$bench_root/bench/get.lua" "http://$addr" >"$dir/workview.txt"
wv_json=$(cat "$dir/workview.json")
wv_p99=$(printf '%s' "$wv_json" | sed -n 's/.*"p99": \([0-9.]*\).*/\1/p')
wv_rps=$(printf '%s' "$wv_json" | sed -n 's/.*"requests_per_s": \([0-9.]*\).*/\1/p')
echo "bench: HTTP GET /api/v1/workview?limit=50, $connections connections, ${seconds}s"
TESSERA_TOKEN="$token" BENCH_WRK_JSON="$dir/workview50.json" BENCH_GET_PATH="/api/v1/workview?limit=50" \
    wrk -t 1 -c "$connections" -d "${seconds}s" -s "$bench_root/bench/get.lua" "http://$addr" >"$dir/workview50.txt"
wv50_json=$(cat "$dir/workview50.json")

{
    echo "Query plans of the workview's statements (worker $worker, $open_items open items, $steps steps)"
    for q in \
        "SELECT sum(n) FILTER (WHERE folder = 'incoming'), sum(n) FILTER (WHERE folder = 'requests'), sum(n) FILTER (WHERE folder = 'current') FROM workflow.queue_counts WHERE owner = 'w:$worker'" \
        "SELECT id, title, sort_at FROM workflow.steps WHERE owner = 'w:$worker' AND folder = 'current' ORDER BY sort_at DESC, id DESC LIMIT 51" \
        "SELECT id, title FROM workflow.steps WHERE owner = 'w:$worker' AND folder = 'current' AND (sort_at, id) < (now() - interval '2000 seconds', 0) ORDER BY sort_at DESC, id DESC LIMIT 51" \
        "SELECT r.id, r.title || ': ' || s.title FROM workflow.requests r JOIN workflow.steps s ON s.id = r.step_id WHERE r.inbox = 'w:$worker' ORDER BY r.sent_at DESC, r.id DESC LIMIT 51"; do
        echo
        echo "$q"
        psql_super -d tessera -At -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $q"
    done
} >"$out/workview_plan.txt"

cat >"$out/workview.json" <<JSON
{
  "when": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "machine": {"cores": $(nproc)},
  "seconds": $seconds,
  "connections": $connections,
  "steps": $steps,
  "open_items_of_worker": $open_items,
  "pgbench_workview_statements": {"tps": ${pg_tps:-0}, "latency_average_ms": ${pg_latency:-0}},
  "http_workview": $wv_json,
  "http_workview_limit_50": $wv50_json
}
JSON
echo
echo "Workview of a worker with $open_items open items among $steps steps ($seconds s, $connections connections)"
echo "  pgbench, the same statements: ${pg_tps} tps, average ${pg_latency} ms"
echo "  HTTP GET /api/v1/workview:    ${wv_rps} req/s, p99 ${wv_p99} ms (goal: 5 ms or less)"
echo "  $wv_json"
echo "  with ?limit=50: $wv50_json"
echo "Plans in $out/workview_plan.txt; figures in $out/workview.json"
[ "$(printf '%s' "$wv_json" | sed -n 's/.*"not_ok": \([0-9]*\).*/\1/p')" = 0 ]
