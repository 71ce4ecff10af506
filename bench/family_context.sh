#!/usr/bin/env bash
# make bench (part): Family Context search (issue 9). A name + date-of-birth search through HTTP
# (gateway -> records -> PostgreSQL: the candidates born that day and the undated nearest by name,
# the access rule, each candidate's sources, the audit event) over 1,000,000 people and 4,000,000
# source records, as p99 latency (goal: 50 ms or less); and, as the same-run baseline on the same
# server, the plain SQL of the search by pgbench.
#
# Writes build/bench/family_context.json. BENCH_SECONDS (default 20), BENCH_FC_CONNECTIONS (default 2).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out="$bench_root/build/bench"
seconds=${BENCH_SECONDS:-20}
connections=${BENCH_FC_CONNECTIONS:-2}
mkdir -p "$out"

bench_start_suite mash.sw
echo "bench: generating 1,000,000 people and 4,000,000 source records"
started=$(date +%s)
psql_super -d tessera -f "$bench_root/bench/generate_family_context.sql" >/dev/null
echo "bench: generated in $(($(date +%s) - started)) s"
psql_super -d tessera -At -F, -c "SELECT name, dob FROM public.bench_fc_samples ORDER BY k" >"$dir/samples.csv"
chmod a+r "$dir/samples.csv"
people=$(psql_super -d tessera -At -c "SELECT count(*) FROM records.people")
source_records=$(psql_super -d tessera -At -c "SELECT count(*) FROM records.fc_records")

run_search() { # NAME CONNECTIONS SECONDS
    TESSERA_TOKEN="$token" BENCH_FC_SAMPLES="$dir/samples.csv" BENCH_WRK_JSON="$dir/$1.json" \
        wrk -t "$2" -c "$2" -d "${3}s" -s "$bench_root/bench/family_context.lua" "http://$addr" >"$dir/$1.txt"
}
p99() { sed -n 's/.*"p99": \([0-9.]*\).*/\1/p' "$dir/$1.json"; }

echo "bench: warming up"
run_search warmup 1 5
echo "bench: Family Context search through HTTP, 1 connection, ${seconds}s"
run_search http1 1 "$seconds"
echo "bench: Family Context search through HTTP, $connections connections, ${seconds}s"
run_search http "$connections" "$seconds"

echo "bench: the plain SQL of the search by pgbench, 1 client, ${seconds}s"
cp "$bench_root/bench/family_context_baseline.sql" "$dir/baseline.sql"
chmod a+r "$dir/baseline.sql"
mkdir -p "$dir/pgbench-log"
chmod a+rwx "$dir/pgbench-log"
(cd "$dir/pgbench-log" && pgbench -n -f "$dir/baseline.sql" -c 1 -j 1 -T "$seconds" --log \
    --log-prefix="$dir/pgbench-log/fc" tessera >"$dir/pgbench.txt" 2>&1)
# Each line of the log: client, transaction, latency in microseconds, ...
sql_p99=$(cat "$dir"/pgbench-log/fc* | awk '{ print $3 }' | sort -n |
    awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f", v[i] / 1000 }')
sql_count=$(cat "$dir"/pgbench-log/fc* | wc -l)

http1_p99=$(p99 http1)
http_p99=$(p99 http)
not_ok=$(( $(sed -n 's/.*"not_ok": \([0-9]*\).*/\1/p' "$dir/http1.json") + $(sed -n 's/.*"not_ok": \([0-9]*\).*/\1/p' "$dir/http.json") ))
cat >"$out/family_context.json" <<JSON
{
  "when": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "machine": {"cores": $(nproc)},
  "people": $people,
  "source_records": $source_records,
  "seconds": $seconds,
  "http_1_connection": $(cat "$dir/http1.json"),
  "http_${connections}_connections": $(cat "$dir/http.json"),
  "plain_sql_1_client": {"transactions": $sql_count, "latency_ms": {"p99": $sql_p99}},
  "goal_p99_ms": 50
}
JSON
echo
echo "Family Context name + date-of-birth search, $people people, $source_records source records ($seconds s each)"
echo "  HTTP, 1 connection:             p99 $http1_p99 ms  $(cat "$dir/http1.json")"
echo "  HTTP, $connections connections:           p99 $http_p99 ms  $(cat "$dir/http.json")"
echo "  plain SQL (pgbench, 1 client):  p99 $sql_p99 ms over $sql_count queries"
echo "  goal: p99 50 ms or less through HTTP"
echo "Figures written to $out/family_context.json"
[ "$not_ok" = 0 ]
