#!/usr/bin/env bash
# make bench (part): what auditing costs a read of a person's record.
#
# GET /api/v1/people/{id} through HTTP (gateway -> records -> PostgreSQL, the read's audit event
# committed to records' outbox before the reply (group commit), and the audit daemon appending it to
# the hash-chained trail), as reads per second; then the same reads with auditing off (records restarted with
# records.audit_person_views = false, allowed on a demo instance only), in the same run on the same
# server. The cost of auditing is 1 - audited / unaudited. Goal: 15% or less. Every audited read
# must be in the trail once the run is over.
#
# The machine is often shared, and reads per second then move with whatever else runs (the rounds
# below help, but a single pair can still swing by 0.1). So the run also reports the CPU time the
# suite and its PostgreSQL server spent per read (audited: until the trail holds the run's reads), and
# the same cost from it (1 - unaudited / audited CPU per read, the share of reads' CPU that auditing
# takes, which is what limits reads per second on a saturated machine). It is a second view beside
# the goal's figure, not a replacement for it.
#
# Reads per second is what the machine can serve, so both runs must keep it busy: 32 connections
# (BENCH_AUDIT_CONNECTIONS). The unaudited reads fill the two cores with 8 already; an audited read
# also waits for the commit that holds its event, and with 8 the cores sat idle meanwhile, so the
# figure measured that wait rather than auditing's cost (at 8, a read's latency is what changes).
#
# Writes build/bench/audit.json. BENCH_SECONDS (default 10), BENCH_AUDIT_CONNECTIONS (default 32) and
# BENCH_AUDIT_ROUNDS (default 4, see below).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out="$bench_root/build/bench"
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_AUDIT_CONNECTIONS:-32}
mkdir -p "$out"

bench_start_suite mash.sw
person=$(curl -fsS -X POST "http://$addr/api/v1/people" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' \
    -d '{"legal_name":{"given":"Benedict","family":"Benchley"},"gender":"male","date_of_birth":"2014-04-04"}' |
    sed -n 's/.*"id" *: *"\([0-9]*\)".*/\1/p' | head -1)
[ -n "$person" ] || { echo "bench: could not add the person to read" >&2; exit 1; }
entries() {
    psql_super -d tessera -At -c "SELECT count(*) FROM audit.entries WHERE record_kind = 'person'
        AND record_id = $person AND action = 'view'"
}
run_reads() { # NAME
    TESSERA_TOKEN="$token" BENCH_GET_PATH="/api/v1/people/$person" BENCH_WRK_JSON="$dir/$1.json" \
        wrk -t 2 -c "$connections" -d "${seconds}s" -s "$bench_root/bench/get.lua" "http://$addr" >"$dir/$1.txt"
}
field() { sed -n "s/.*\"$2\": \\([0-9.]*\\).*/\\1/p" "$dir/$1.json"; }
# CPU seconds (user and system, in clock ticks) used so far by the suite's daemons and by every
# process of its PostgreSQL server (backends, WAL writer, checkpointer, autovacuum): what a read costs
# the machine, whatever else the machine is doing at the time.
cpu_ticks() {
    local pm pid total=0 f
    pm=$(head -1 "$dir/pg/data/postmaster.pid" 2>/dev/null || true)
    for pid in "${bench_pids[@]}" $pm $( [ -n "$pm" ] && pgrep -P "$pm"); do
        f=$(cut -d')' -f2 "/proc/$pid/stat" 2>/dev/null) || continue
        total=$((total + $(echo "$f" | awk '{ print $12 + $13 }')))
    done
    echo "$total"
}
# Each timed run starts from a settled database: what came before it (the demo load, the other run's
# reads and their outbox rows) vacuumed and checkpointed now, not by autovacuum and a checkpoint in the
# middle of one run and not the other, which would be charged to auditing or to its absence.
settle() { psql_super -d tessera -c 'VACUUM (ANALYZE)' -c 'CHECKPOINT' >/dev/null; }

# BENCH_AUDIT_ROUNDS (default 4) alternates the two runs that many times, each BENCH_SECONDS long, and
# sums them: on a shared machine, whatever else runs then weighs on both alike (one pair alone has
# been seen to swing by 0.1 either way here).
rounds=${BENCH_AUDIT_ROUNDS:-4}
audited_requests=0
unaudited_requests=0
audited_ticks=0
unaudited_ticks=0
in_trail=0
run_audited() { # ROUND
    echo "bench: GET a person's record, audited, $connections connections, ${seconds}s (round $1 of $rounds)"
    local before ticks round_requests round_in_trail
    before=$(entries)
    settle
    ticks=$(cpu_ticks)
    run_reads "audited-$1"
    round_requests=$(field "audited-$1" requests)
    audited_requests=$((audited_requests + round_requests))
    # Every audited read reaches the trail (the audit daemon may still be catching up).
    round_in_trail=0
    for _ in $(seq 1 600); do
        round_in_trail=$(($(entries) - before))
        [ "$round_in_trail" -ge "$round_requests" ] && break
        sleep 0.2
    done
    in_trail=$((in_trail + round_in_trail))
    # Until the trail holds the run's reads: the audit's work after the last reply is the reads' too.
    audited_ticks=$((audited_ticks + $(cpu_ticks) - ticks))
}
run_unaudited() { # ROUND
    echo "bench: the same reads with auditing off (round $1 of $rounds)"
    local ticks
    bench_restart_daemon records TESSERA_RECORDS_AUDIT_PERSON_VIEWS=false
    settle
    ticks=$(cpu_ticks)
    run_reads "unaudited-$1"
    unaudited_ticks=$((unaudited_ticks + $(cpu_ticks) - ticks))
    unaudited_requests=$((unaudited_requests + $(field "unaudited-$1" requests)))
    bench_restart_daemon records
}
# In turn audited first, then not audited first (ABBA): a machine that speeds up or slows down over
# the run then favours neither.
for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) = 1 ]; then
        run_audited "$round"
        run_unaudited "$round"
    else
        run_unaudited "$round"
        run_audited "$round"
    fi
done

# The rounds of a kind as one: each round's figures, then total reads over total time and the worst
# p99 (last, where field() and the summary below read them).
summed() { # KIND
    local files=() r
    for r in $(seq 1 "$rounds"); do files+=("$dir/$1-$r.json"); done
    cat "${files[@]}" | awk '
        { req = $0; sub(/.*"requests": /, "", req); sub(/,.*/, "", req)
          rate = $0; sub(/.*"requests_per_s": /, "", rate); sub(/,.*/, "", rate)
          bad = $0; sub(/.*"not_ok": /, "", bad); sub(/,.*/, "", bad)
          p99 = $0; sub(/.*"p99": /, "", p99); sub(/,.*/, "", p99)
          n += req; t += (rate > 0 ? req / rate : 0); nok += bad; if (p99 + 0 > worst) worst = p99 + 0
          rows = rows (rows == "" ? "" : ", ") $0 }
        END { printf "{\"rounds\": [%s], \"requests\": %d, \"requests_per_s\": %.1f, \"not_ok\": %d, \"latency_ms\": {\"p99\": %.2f}}\n",
                     rows, n, (t > 0 ? n / t : 0), nok, worst }' >"$dir/$1.json"
}
summed audited
summed unaudited

audited=$(field audited requests_per_s)
unaudited=$(field unaudited requests_per_s)
cost=$(awk -v a="$audited" -v b="$unaudited" 'BEGIN { printf "%.3f", (b > 0 ? 1 - a / b : 1) }')
not_ok=$(( $(field audited not_ok) + $(field unaudited not_ok) ))
hz=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { printf "%.3f", (n > 0 ? 1000 * t / hz / n : 0) }'; }
audited_cpu=$(cpu_ms "$audited_ticks" "$audited_requests")
unaudited_cpu=$(cpu_ms "$unaudited_ticks" "$unaudited_requests")
cpu_cost=$(awk -v a="$audited_cpu" -v b="$unaudited_cpu" 'BEGIN { printf "%.3f", (a > 0 ? 1 - b / a : 0) }')
cat >"$out/audit.json" <<JSON
{
  "when": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "machine": {"cores": $(nproc)},
  "seconds": $seconds,
  "rounds": $rounds,
  "connections": $connections,
  "audited": $(cat "$dir/audited.json"),
  "unaudited": $(cat "$dir/unaudited.json"),
  "audited_reads_in_trail": $in_trail,
  "cost_of_auditing": $cost,
  "cpu_ms_per_read": {"audited": $audited_cpu, "unaudited": $unaudited_cpu},
  "cpu_cost_of_auditing": $cpu_cost
}
JSON
echo
echo "Reads of a person's record through HTTP ($rounds x $seconds s each, $connections connections)"
printf '  audited:      %10.1f reads/s (p99 %s ms)\n' "$audited" "$(sed -n 's/.*"p99": \([0-9.]*\).*/\1/p' "$dir/audited.json")"
printf '  not audited:  %10.1f reads/s (p99 %s ms)\n' "$unaudited" "$(sed -n 's/.*"p99": \([0-9.]*\).*/\1/p' "$dir/unaudited.json")"
echo "  cost of auditing: $cost (goal: 0.15 or less); audited reads in the trail: $in_trail of $audited_requests"
echo "  CPU per read (suite and PostgreSQL): audited $audited_cpu ms, not audited $unaudited_cpu ms ->" \
    "1 - not audited / audited: $cpu_cost"
echo "Figures written to $out/audit.json"
[ "$not_ok" = 0 ] && [ "$in_trail" -ge "$audited_requests" ]
