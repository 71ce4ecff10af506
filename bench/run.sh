#!/usr/bin/env bash
# make bench: organisation creation through HTTP (gateway -> records -> PostgreSQL, with the audit
# daemon consuming the events) against raw pgbench on the same PostgreSQL server, in the same run,
# so that the machine's noise affects both. Prints the figures and writes build/bench/results.json.
# BENCH_SECONDS (default 20) and BENCH_CONNECTIONS (default 16) tune the runs.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
root=$bench_root
out="$root/build/bench"
seconds=${BENCH_SECONDS:-20}
connections=${BENCH_CONNECTIONS:-16}
mkdir -p "$out"

bench_start_suite admin

psql_super -d tessera -c 'DROP DATABASE IF EXISTS bench' -c 'CREATE DATABASE bench'
psql_super -d bench -c "CREATE TABLE bench_organisations (id bigserial PRIMARY KEY, name text NOT NULL,
    address text NOT NULL, telephone text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    created_by bigint NOT NULL)" \
    -c "CREATE TABLE bench_outbox (id bigserial PRIMARY KEY, seq bigint UNIQUE, type text NOT NULL,
    envelope bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
pgbench -i -q -s 10 bench >/dev/null 2>&1
cp "$root/bench/baseline_organisation.sql" "$dir/baseline_organisation.sql"
chmod 644 "$dir/baseline_organisation.sql"

tps() { sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'; }

echo "bench: pgbench simple-update (-N), $connections clients, ${seconds}s"
pgbench_update=$(pgbench -n -N -c "$connections" -j 2 -T "$seconds" bench 2>/dev/null | tps)
echo "bench: pgbench organisation + outbox insert, $connections clients, ${seconds}s"
pgbench_insert=$(pgbench -n -f "$dir/baseline_organisation.sql" -c "$connections" -j 2 -T "$seconds" bench 2>/dev/null | tps)

before=$(psql_super -d tessera -At -c 'SELECT count(*) FROM records.organisations')
echo "bench: HTTP POST /api/v1/organisations, $connections connections, ${seconds}s"
TESSERA_TOKEN="$token" BENCH_WRK_JSON="$dir/wrk.json" \
    wrk -t 2 -c "$connections" -d "${seconds}s" -s "$root/bench/create_organisation.lua" "http://$addr" >"$dir/wrk.txt"
after=$(psql_super -d tessera -At -c 'SELECT count(*) FROM records.organisations')
created=$((after - before))

# The audit daemon must have caught up with every creation: the benchmark is of a loss-free path.
audited=0
for _ in $(seq 1 600); do
    audited=$(psql_super -d tessera -At -c "SELECT count(*) FROM audit.entries WHERE action = 'create'
        AND summary LIKE 'Added organisation Bench Organisation %'")
    [ "$audited" -ge "$created" ] && break
    sleep 0.2
done

# People search: 100,000 generated people, fuzzy names with letters missing, through HTTP.
echo "bench: generating 100,000 people"
psql_super -d tessera -f - <"$root/bench/generate_people.sql"
# At 1 connection (a worker searching), 2 (one per core here) and 8 (eight searching at once with no
# pause between searches: saturation on this machine, where the figure is queueing).
for c in 1 2 8; do
    echo "bench: HTTP GET /api/v1/people?name=..., $c connections, ${seconds}s"
    TESSERA_TOKEN="$token" BENCH_WRK_JSON="$dir/search$c.json" \
        wrk -t 1 -c "$c" -d "${seconds}s" -s "$root/bench/search_people.lua" "http://$addr" >"$dir/search$c.txt"
done
search_json=$(cat "$dir/search8.json")
search_p99=$(printf '%s' "$search_json" | sed -n 's/.*"p99": \([0-9.]*\).*/\1/p')
search1_json=$(cat "$dir/search1.json")
search2_json=$(cat "$dir/search2.json")
search1_p99=$(printf '%s' "$search1_json" | sed -n 's/.*"p99": \([0-9.]*\).*/\1/p')
search2_p99=$(printf '%s' "$search2_json" | sed -n 's/.*"p99": \([0-9.]*\).*/\1/p')

wrk_json=$(cat "$dir/wrk.json")
http_rps=$(printf '%s' "$wrk_json" | sed -n 's/.*"requests_per_s": \([0-9.]*\).*/\1/p')
not_created=$(printf '%s' "$wrk_json" | sed -n 's/.*"not_created": \([0-9]*\).*/\1/p')
ratio_insert=$(awk -v a="$http_rps" -v b="$pgbench_insert" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
ratio_update=$(awk -v a="$http_rps" -v b="$pgbench_update" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')

cat >"$out/results.json" <<JSON
{
  "when": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "machine": {"cores": $(nproc), "memory_gib": $(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)},
  "seconds": $seconds,
  "connections": $connections,
  "pgbench_simple_update_tps": $pgbench_update,
  "pgbench_organisation_insert_tps": $pgbench_insert,
  "http_create_organisation": $wrk_json,
  "organisations_created": $created,
  "audit_entries_for_them": $audited,
  "ratio_http_to_pgbench_insert": $ratio_insert,
  "ratio_http_to_pgbench_simple_update": $ratio_update,
  "people_search_100k": $search_json,
  "people_search_100k_1_connection": $search1_json,
  "people_search_100k_2_connections": $search2_json
}
JSON

echo
echo "Organisation creation through HTTP vs raw pgbench on the same server ($seconds s each, $connections connections)"
printf '  pgbench simple update (-N):          %10.1f tps\n' "$pgbench_update"
printf '  pgbench organisation + outbox insert: %9.1f tps\n' "$pgbench_insert"
printf '  HTTP POST /api/v1/organisations:      %9.1f req/s (%s not 201)\n' "$http_rps" "$not_created"
echo "  latency: $(printf '%s' "$wrk_json" | sed -n 's/.*"latency_ms": \({[^}]*}\).*/\1/p') ms"
echo "  ratio HTTP / pgbench insert:          $ratio_insert"
echo "  ratio HTTP / pgbench simple update:   $ratio_update"
echo "  organisations created: $created; audited: $audited"
echo
echo "Fuzzy name search among 100,000 people through HTTP ($seconds s each; goal: p99 under 50 ms)"
echo "  1 connection:  p99 $search1_p99 ms  $search1_json"
echo "  2 connections: p99 $search2_p99 ms  $search2_json"
echo "  8 connections: p99 $search_p99 ms  $search_json"
echo "Figures written to $out/results.json"
[ "$not_created" = 0 ] && [ "$audited" -ge "$created" ]
