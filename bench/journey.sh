#!/usr/bin/env bash
# make bench (part): the Front Door Consultation and its report.
#
# 1. The whole journey through HTTP (gateway -> workflow -> consultations -> PostgreSQL, with the
#    reporting and audit daemons consuming the events): six API commands a journey (start, section 1,
#    'Pass to MASH Manager', section 2, complete the request, finish), one MASH manager per
#    connection, as commands per second, against raw pgbench transactions of two inserts (a row and its outbox row) on the same
#    server in the same run. Goal: at least 0.25.
# 2. 'Consultations in period' over 1,000,000 generated consultations through HTTP (JSON: sections
#    01 to 03 and the first page of rows), against the plain SQL GROUP BY of sections 01 to 03 over
#    the same rows by pgbench. Goal: the report takes at most 1.5 times as long.
#
# Writes build/bench/journey.json; with BENCH_STATEMENTS=1, the journey's statements too, each per
# command (build/bench/journey_statements.txt). BENCH_SECONDS (default 20: the journey's and
# pgbench's time each, shared between BENCH_JOURNEY_ROUNDS, default 2, turns) and
# BENCH_JOURNEY_CONNECTIONS (default 8; one wrk thread each, since a journey's commands follow each
# other on one connection).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out="$bench_root/build/bench"
seconds=${BENCH_SECONDS:-20}
connections=${BENCH_JOURNEY_CONNECTIONS:-8}
mkdir -p "$out"

bench_start_suite mash.manager
tps() { sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'; }
latency() { sed -n 's/^latency average = \([0-9.]*\) ms/\1/p'; }

# --- 1. The journey ------------------------------------------------------------------------------
psql_super -d tessera -c 'DROP DATABASE IF EXISTS bench' -c 'CREATE DATABASE bench'
psql_super -d bench -c "CREATE TABLE bench_organisations (id bigserial PRIMARY KEY, name text NOT NULL,
    address text NOT NULL, telephone text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    created_by bigint NOT NULL)" \
    -c "CREATE TABLE bench_outbox (id bigserial PRIMARY KEY, seq bigint UNIQUE, type text NOT NULL,
    envelope bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
cp "$bench_root/bench/baseline_organisation.sql" "$dir/baseline_two_inserts.sql"
chmod 644 "$dir/baseline_two_inserts.sql"

# One manager per connection, as a MASH Manager team at work: each its own Current work, the team's
# Incoming requests shared.
{
    echo '{"password": "tessera-demo", "organisations": [], "workers": ['
    for i in $(seq 1 "$connections"); do
        [ "$i" = 1 ] || echo ','
        echo "{\"username\": \"bench.manager.$i\", \"name\": \"Bench Manager $i\","
        echo ' "roles": ["mash-manager", "team-manager"], "teams": ["MASH Manager"]}'
    done
    echo ']}'
} >"$dir/bench_workers.json"
"$bench_bin/tessera" --config "$dir/tessera.conf" demo load "$dir/bench_workers.json" >/dev/null
tokens=""
for i in $(seq 1 "$connections"); do
    t=$(curl -fsS -X POST "http://$addr/api/v1/session" -H 'Content-Type: application/json' \
        -d "{\"username\":\"bench.manager.$i\",\"password\":\"tessera-demo\"}" |
        sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
    [ -n "$t" ] || { echo "bench: could not sign in as bench.manager.$i" >&2; exit 1; }
    tokens="$tokens${tokens:+,}$t"
done

steps_before=$(psql_super -d tessera -At -c "SELECT count(*) FROM workflow.steps WHERE state = 'completed'")
# pgbench and the journey take turns, BENCH_JOURNEY_ROUNDS (default 2) rounds of a share of the time
# each, and each side's rate is the mean of its rounds: the load of this shared machine changes over
# a minute, and one run of each, one after the other, measured each in a different minute.
rounds=${BENCH_JOURNEY_ROUNDS:-2}
round_s=$((seconds / rounds))
[ "$round_s" -ge 1 ] || round_s=1
pg_runs=()
journey_runs=()
bench_statements_reset
for r in $(seq 1 "$rounds"); do
    echo "bench: round $r of $rounds: pgbench, two inserts a transaction, $connections clients, ${round_s}s"
    bench_cpu_snapshot >"$dir/pg_cpu_before$r.txt"
    TIMEFORMAT='%U %S' # pgbench's own CPU, user and system: the client's share, as wrk's is the journey's
    { time pgbench -n -f "$dir/baseline_two_inserts.sql" -c "$connections" -j 2 -T "$round_s" bench \
        >"$dir/pgbench$r.txt" 2>/dev/null; } 2>"$dir/pgbench_time$r.txt"
    bench_cpu_snapshot >"$dir/pg_cpu_after$r.txt"
    awk -v hz="$(getconf CLK_TCK)" '{ printf "pgbench %d\n", ($1 + $2) * hz }' "$dir/pgbench_time$r.txt" \
        >>"$dir/pg_cpu_after$r.txt"
    pg_runs+=("$(tps <"$dir/pgbench$r.txt")")
    echo "bench: round $r of $rounds: HTTP, the six commands of a consultation's journey, $connections connections, ${round_s}s"
    bench_cpu_snapshot >"$dir/cpu_before$r.txt"
    { time env TESSERA_TOKENS="$tokens" BENCH_WRK_JSON="$dir/journey$r.json" \
        wrk -t "$connections" -c "$connections" -d "${round_s}s" -s "$bench_root/bench/journey.lua" "http://$addr" \
        >"$dir/journey$r.txt"; } 2>"$dir/wrk_time$r.txt"
    bench_cpu_snapshot >"$dir/cpu_after$r.txt"
    awk -v hz="$(getconf CLK_TCK)" '{ printf "wrk %d\n", ($1 + $2) * hz }' "$dir/wrk_time$r.txt" >>"$dir/cpu_after$r.txt"
    journey_runs+=("$(cat "$dir/journey$r.json")")
done
# The mean and the sum of the numbers on standard input, one a line; a field of each round's figures.
mean() { awk '{ s += $1; n++ } END { printf "%.1f", (n ? s / n : 0) }'; }
sum() { awk '{ s += $1 } END { printf "%d", s }'; }
field() { for j in "${journey_runs[@]}"; do printf '%s\n' "$j" | sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; done; }
pg_two_inserts=$(printf '%s\n' "${pg_runs[@]}" | mean)
commands_per_s=$(field commands_per_s | mean)
journeys=$(field journeys | sum)
journey_not_ok=$(field not_ok | sum)
journey_json="[$(IFS=,; echo "${journey_runs[*]}")]"
# Where a command's CPU went, over every round: each daemon and each daemon's PostgreSQL backends.
# Where a command's CPU went, over every round: each daemon, each daemon's PostgreSQL backends, and
# wrk; and the same of a pgbench transaction (the server's processes and pgbench).
cat "$dir"/cpu_before[0-9]*.txt >"$dir/cpu_before.txt"
cat "$dir"/cpu_after[0-9]*.txt >"$dir/cpu_after.txt"
cpu_per_command=$(bench_cpu_spent "$dir/cpu_before.txt" "$dir/cpu_after.txt" "$(field commands | sum)" 1000)
bench_statements_report "$(field commands | sum)" "$out/journey_statements.txt"
cat "$dir"/pg_cpu_before[0-9]*.txt >"$dir/pg_cpu_before.txt"
cat "$dir"/pg_cpu_after[0-9]*.txt >"$dir/pg_cpu_after.txt"
pg_transactions=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir"/pgbench[0-9]*.txt | sum)
cpu_per_transaction=$(bench_cpu_spent "$dir/pg_cpu_before.txt" "$dir/pg_cpu_after.txt" "${pg_transactions:-1}" 1000)
steps_after=$(psql_super -d tessera -At -c "SELECT count(*) FROM workflow.steps WHERE state = 'completed'")
# Loss-free: every finished journey reaches the report.
reported=0
for _ in $(seq 1 300); do
    reported=$(psql_super -d tessera -At -c "SELECT count(*) FROM reporting.consultations WHERE completed_on IS NOT NULL")
    [ "$reported" -ge "$((steps_after - steps_before))" ] && break
    sleep 0.2
done
ratio_journey=$(awk -v a="$commands_per_s" -v b="$pg_two_inserts" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')

# --- 2. The report over a million consultations --------------------------------------------------
echo "bench: generating 1,000,000 consultations in the report's read model"
psql_super -d tessera -f "$bench_root/bench/generate_consultations.sql" >/dev/null
generated=$(psql_super -d tessera -At -c "SELECT count(*) FROM reporting.consultations
    WHERE completed_on BETWEEN '2020-01-01' AND '2022-12-31'")
cp "$bench_root/bench/report_baseline.sql" "$dir/report_baseline.sql"
chmod 644 "$dir/report_baseline.sql"
echo "bench: pgbench, the plain GROUP BY of sections 01 to 03, 2 clients, ${seconds}s"
pgbench -n -f "$dir/report_baseline.sql" -c 2 -j 2 -T "$seconds" tessera >"$dir/pgbench_report.txt" 2>&1
pg_report_tps=$(tps <"$dir/pgbench_report.txt")
pg_report_ms=$(latency <"$dir/pgbench_report.txt")
query="start=2020-01-01&end=2022-12-31"
echo "bench: HTTP GET the report over the same period, 2 connections, ${seconds}s"
TESSERA_TOKEN="$token" BENCH_REPORT_QUERY="$query" BENCH_WRK_JSON="$dir/report.json" \
    wrk -t 2 -c 2 -d "${seconds}s" -s "$bench_root/bench/report.lua" "http://$addr" >"$dir/report.txt"
report_json=$(cat "$dir/report.json")
report_rps=$(printf '%s' "$report_json" | sed -n 's/.*"requests_per_s": \([0-9.]*\).*/\1/p')
report_ms=$(printf '%s' "$report_json" | sed -n 's/.*"mean": \([0-9.]*\).*/\1/p')
report_not_ok=$(printf '%s' "$report_json" | sed -n 's/.*"not_ok": \([0-9]*\).*/\1/p')
# The same figures either way: the report's total against the plain count.
report_total=$(curl -fsS "http://$addr/api/v1/reports/consultations-in-period?$query&limit=1" \
    -H "Authorization: Bearer $token" | sed -n 's/.*"by_outcome":{[^}]*"total":\([0-9]*\).*/\1/p')
plain_total=$(psql_super -d tessera -At -c "SELECT count(*) FROM reporting.consultations
    WHERE completed_on BETWEEN '2020-01-01' AND '2022-12-31'")
ratio_report=$(awk -v a="$pg_report_tps" -v b="$report_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')

cat >"$out/journey.json" <<JSON
{
  "when": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "machine": {"cores": $(nproc)},
  "seconds": $seconds,
  "journey": {
    "connections": $connections,
    "rounds": $rounds,
    "pgbench_two_insert_tps": ${pg_two_inserts:-0},
    "pgbench_two_insert_tps_by_round": [$(IFS=,; echo "${pg_runs[*]}")],
    "commands_per_s": $commands_per_s,
    "http_by_round": $journey_json,
    "finished_steps": $((steps_after - steps_before)),
    "in_the_report": $reported,
    "ratio_commands_to_pgbench_tps": $ratio_journey,
    "cpu_ms_per_command": {$cpu_per_command},
    "pgbench_cpu_ms_per_transaction": {$cpu_per_transaction}
  },
  "report": {
    "consultations": $generated,
    "pgbench_group_by": {"tps": ${pg_report_tps:-0}, "latency_average_ms": ${pg_report_ms:-0}},
    "http_report": $report_json,
    "report_total": ${report_total:-0},
    "plain_total": $plain_total,
    "ratio_report_time_to_group_by_time": $ratio_report
  }
}
JSON
echo
echo "A Front Door Consultation's journey through HTTP vs raw pgbench on the same server ($seconds s, $connections connections)"
printf '  pgbench, two inserts a transaction:  %10.1f tps\n' "$pg_two_inserts"
printf '  HTTP, the journey'"'"'s six commands:     %10.1f commands/s (%s journeys, %s not as expected)\n' \
    "$commands_per_s" "$journeys" "$journey_not_ok"
echo "  ratio commands/s to pgbench tps:     $ratio_journey (goal: 0.25 or more)"
echo "  finished steps: $((steps_after - steps_before)); in the report: $reported"
echo "  CPU a command, ms (the daemons, their PostgreSQL backends as pg:<role>, wrk):"
printf '%s\n' "$cpu_per_command" | tr ',' '\n' | tr -d '"' | head -n 12 | sed 's/^ */    /'
echo "  CPU a pgbench transaction, ms: $(printf '%s\n' "$cpu_per_transaction" | tr -d '"' | cut -d, -f1-4)"
echo
echo "'Consultations in period' over $generated consultations ($seconds s)"
printf '  pgbench, plain GROUP BY (01-03):     %10.2f runs/s, average %s ms\n' "$pg_report_tps" "$pg_report_ms"
printf '  HTTP GET the report (JSON):          %10.2f reports/s, mean %s ms\n' "$report_rps" "$report_ms"
echo "  report time / GROUP BY time:         $ratio_report (goal: 1.5 or less); totals $report_total = $plain_total"
echo "Figures written to $out/journey.json"
[ "$journey_not_ok" = 0 ] && [ "$report_not_ok" = 0 ] && [ "$report_total" = "$plain_total" ] &&
    [ "$reported" -ge "$((steps_after - steps_before))" ]
