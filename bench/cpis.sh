#!/usr/bin/env bash
# make bench (part): CP-IS access notifications in, end to end.
#
# BENCH_CPIS_NOTIFICATIONS (default 100,000) notifications about BENCH_CPIS_CHILDREN (5,000)
# children, in one spool file, carried by tessera-spine-poller --once in parts of BENCH_CPIS_BATCH
# (1,000), with the poller's other settings at their defaults (eight parts in flight at once) but
# settle_ms (0: the file is written aside and renamed, and the poller reads it at once), timed
# from the start of the poller (which reads the file and signs in, as every run does) to its exit
# once every part is acknowledged, through the gateway (signed in as a cpis-service account) to the
# cpis daemon: validation, duplicates by id, one records.person.match_nhs per part, the
# notifications and their cpis.steps.requested event committed, acknowledged; then the workflow
# daemon starting one CPIS Follow up per notification in the CP-IS Worker queue. Against, in the
# same run on the same server: a raw COPY of the same rows into a copy of cpis.notifications plus
# the match query over their NHS numbers (what a bulk load with no checks, events or work would
# cost; three times, the median taken). Goal: ingest at 0.5 or more of the raw rate.
#
# Writes build/bench/cpis.json; with BENCH_STATEMENTS=1, the statements from the start of the ingest
# until the queue is full too, per 1,000 notifications (build/bench/cpis_statements.txt).
# BENCH_CPIS_QUEUE_WAIT_S (1800): how long to wait for the queue; BENCH_CPIS_SETTLE_WAIT_S (600): how
# long to wait, before the baseline, for every daemon to have applied every event (the baseline is
# measured on a settled server). BENCH_CPIS_PAUSE_FOLLOWERS=1, a diagnosis, not the benchmark:
# the daemons that follow cpis's events (workflow, audit, reporting, notifications) are stopped
# (SIGSTOP) until every part is acknowledged, so that the acknowledgement measures the ingest's own
# path with no follow-ups started meanwhile on the same cores; the JSON says so.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
out="$bench_root/build/bench"
count=${BENCH_CPIS_NOTIFICATIONS:-100000}
children=${BENCH_CPIS_CHILDREN:-5000}
batch=${BENCH_CPIS_BATCH:-1000}
# How long to wait for the workflow daemon to start every step (it applies cpis's events behind).
queue_wait_s=${BENCH_CPIS_QUEUE_WAIT_S:-1800}
mkdir -p "$out"
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

bench_start_suite admin
today=$(date -u +%Y-%m-%d)
# A service account's password is a generated secret of at least 32 characters (OPERATIONS.md).
poller_password=$(head -c 45 /dev/urandom | base64 | tr -d '/+=')
curl -fsS -X POST "http://$addr/api/v1/workers" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"username\":\"bench.poller\",\"name\":\"Bench Spine Poller\",\"password\":\"$poller_password\",\"roles\":[\"cpis-service\"],\"prerequisites\":{\"dbs_checked_on\":\"$today\",\"training_completed_on\":\"$today\",\"aup_signed_on\":\"$today\"}}" >/dev/null

echo "bench: $children children and $count notifications about them"
psql_super -d tessera -v children="$children" -v count="$count" -f "$bench_root/bench/generate_cpis.sql"
spool="$dir/spool"
mkdir -p "$spool"
psql_super -d tessera -At -c "SELECT json_build_object('notifications', json_agg(json_build_object(
    'notification_id', notification_id, 'type', kind, 'nhs_number', nhs_number,
    'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
    'accessed_at', to_char(accessed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
    'care_setting', json_build_object('type', setting, 'ods_code', ods_code, 'name', organisation_name),
    'health_professional', json_build_object('name', professional_name, 'role', professional_role))))
    FROM bench.cpis_source" >"$spool/bench.tmp"
mv "$spool/bench.tmp" "$spool/bench.json"
psql_super -d tessera -c "\\copy bench.cpis_source TO STDOUT CSV" >"$dir/cpis_source.csv"
cat >"$dir/poller.conf" <<CONF
[spine_poller]
spool_dir = $spool
gateway_url = http://$addr
username = bench.poller
password = $poller_password
batch_size = $batch
settle_ms = 0
CONF

echo "bench: tessera-spine-poller --once, parts of $batch"
# A settled, checkpointed server, as the baseline has below: the generator's writes are not
# flushed under the ingest.
psql_super -d tessera -c "CHECKPOINT" >/dev/null
pause_followers=${BENCH_CPIS_PAUSE_FOLLOWERS:-0}
followers="bin/tessera-(workflow|audit|reporting|notifications) --config $dir/tessera.conf"
if [ "$pause_followers" = 1 ]; then
    trap 'pkill -CONT -f "$followers"; bench_cleanup' EXIT # stopped, they would not hear SIGTERM
    pkill -STOP -f "$followers"
fi
bench_statements_reset
bench_cpu_snapshot >"$dir/cpu_start.txt"
TIMEFORMAT='%U %S' # the poller's own CPU, user and system
t0=$(now_s)
{ time "$bench_bin/tessera-spine-poller" --config "$dir/poller.conf" --once 2>"$dir/logs/spine-poller.log"; } \
    2>"$dir/poller_time.txt"
t1=$(now_s)
bench_cpu_snapshot >"$dir/cpu_acknowledged.txt"
[ "$pause_followers" = 1 ] && pkill -CONT -f "$followers"
awk -v hz="$(getconf CLK_TCK)" '{ printf "tessera-spine-poller %d\n", ($1 + $2) * hz }' "$dir/poller_time.txt" \
    >>"$dir/cpu_acknowledged.txt"
[ -f "$spool/done/bench.json" ] || { echo "bench: the batch was not acknowledged" >&2; tail "$dir/logs/spine-poller.log" >&2; exit 1; }
steps() { psql_super -d tessera -At -c "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:BENCH-%'"; }
queued=0
for _ in $(seq 1 $((queue_wait_s * 5))); do
    queued=$(steps)
    [ "$queued" -ge "$count" ] && break
    sleep 0.2
done
t2=$(now_s)
bench_cpu_snapshot >"$dir/cpu_queued.txt"
bench_statements_report "$((count / 1000))" "$out/cpis_statements.txt"
accepted=$(psql_super -d tessera -At -c "SELECT count(*) FROM cpis.notifications WHERE notification_id LIKE 'BENCH-%'")

# The baseline on a settled server: every daemon has applied every event published so far. After
# the queue is full the audit and reporting daemons still follow the workflow's events for a while;
# a baseline measured meanwhile counted their work against the raw load, and the more so the
# faster the ingest had left them behind (a faster ingest made a slower baseline).
psql_super -d tessera <<'SQL'
CREATE OR REPLACE FUNCTION bench.events_behind() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    r record;
    published bigint;
    behind bigint := 0;
BEGIN
    FOR r IN EXECUTE (SELECT string_agg(format('SELECT producer, last_seq FROM %I.inbox', table_schema),
                                        ' UNION ALL ')
                        FROM information_schema.tables WHERE table_name = 'inbox') LOOP
        CONTINUE WHEN to_regclass(format('%I.relay_state', r.producer)) IS NULL;
        EXECUTE format('SELECT (SELECT last_seq FROM %I.relay_state)'
                       ' + (SELECT count(*) FROM %I.outbox WHERE seq IS NULL)', r.producer, r.producer)
            INTO published;
        behind := behind + greatest(0, published - r.last_seq);
    END LOOP;
    RETURN behind;
END
$$;
SQL
settle_wait_s=${BENCH_CPIS_SETTLE_WAIT_S:-600}
settled=false
for _ in $(seq 1 $((settle_wait_s * 5))); do
    [ "$(psql_super -d tessera -At -c "SELECT bench.events_behind()")" = 0 ] && settled=true && break
    sleep 0.2
done
$settled || echo "bench: the daemons were still applying events after ${settle_wait_s} s; the baseline is measured anyway" >&2
# And with the ingest's writes checkpointed: a checkpoint that the ingest's WAL set off, running
# under the COPY, slowed the baseline by whatever it had left to write.
psql_super -d tessera -c "CHECKPOINT"
echo "bench: the same rows by raw COPY, plus the match query"
# Three times, each into a table of its own, and the median taken: one COPY on this noisy a machine
# has taken anything from 0.7 to 1.4 s, and the ratio moved with it.
raw_runs=()
bench_cpu_snapshot >"$dir/cpu_raw_start.txt"
for k in 1 2 3; do
    psql_super -d tessera -c "CREATE TABLE bench.cpis_copy$k (LIKE cpis.notifications INCLUDING ALL)" >/dev/null
    b0=$(now_s)
    psql_super -d tessera -c "\\copy bench.cpis_copy$k (notification_id, kind, nhs_number, created_at, accessed_at, setting, ods_code, organisation_name, professional_name, professional_role) FROM STDIN CSV" <"$dir/cpis_source.csv" >/dev/null
    psql_super -d tessera -At -o /dev/null -c "SELECT n.nhs, p.id FROM (SELECT DISTINCT nhs_number AS nhs FROM bench.cpis_copy$k) n
        JOIN records.people p ON p.nhs_number = n.nhs WHERE p.merged_into IS NULL"
    b1=$(now_s)
    raw_runs+=("$(elapsed "$b0" "$b1")")
done
bench_cpu_snapshot >"$dir/cpu_raw_end.txt"

ingest_s=$(elapsed "$t0" "$t1")
# Where the CPU went, in milliseconds a thousand notifications: while the parts were acknowledged (the
# workflow daemon already starting follow-ups meanwhile), and from then until the queue was full.
cpu_acknowledged=$(bench_cpu_spent "$dir/cpu_start.txt" "$dir/cpu_acknowledged.txt" "$count" 1000000)
cpu_queued=$(bench_cpu_spent "$dir/cpu_acknowledged.txt" "$dir/cpu_queued.txt" "$count" 1000000)
cpu_raw=$(bench_cpu_spent "$dir/cpu_raw_start.txt" "$dir/cpu_raw_end.txt" "$((count * 3))" 1000000)
queue_s=$(elapsed "$t0" "$t2")
raw_s=$(printf '%s\n' "${raw_runs[@]}" | sort -n | sed -n 2p)
rate() { awk -v n="$count" -v s="$1" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }'; }
ratio=$(awk -v a="$raw_s" -v b="$ingest_s" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
cat >"$out/cpis.json" <<JSON
{
  "when": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "machine": {"cores": $(nproc)},
  "notifications": $count,
  "children": $children,
  "batch_size": $batch,
  "accepted": $accepted,
  "steps_in_queue": $queued,
  "ingest_seconds": $ingest_s,
  "ingest_per_s": $(rate "$ingest_s"),
  "to_queue_seconds": $queue_s,
  "to_queue_per_s": $(rate "$queue_s"),
  "raw_copy_and_match_seconds": $raw_s,
  "raw_copy_and_match_runs": [$(IFS=,; echo "${raw_runs[*]}")],
  "baseline_on_settled_server": $settled,
  "raw_per_s": $(rate "$raw_s"),
  "ingest_over_raw": $ratio,
  "followers_paused_until_acknowledged": $([ "$pause_followers" = 1 ] && echo true || echo false),
  "cpu_ms_per_1000_until_acknowledged": {$cpu_acknowledged},
  "cpu_ms_per_1000_acknowledged_to_queue": {$cpu_queued},
  "cpu_ms_per_1000_raw_copy_and_match": {$cpu_raw}
}
JSON
echo
echo "CP-IS access notifications in ($count, parts of $batch)"
printf '  acknowledged by cpis:       %8.2f s  %10.1f notifications/s\n' "$ingest_s" "$(rate "$ingest_s")"
printf '  steps in the CP-IS queue:   %8.2f s  %10.1f notifications/s\n' "$queue_s" "$(rate "$queue_s")"
printf '  raw COPY + match query:     %8.2f s  %10.1f rows/s  (median of %s s)\n' "$raw_s" "$(rate "$raw_s")" "$(IFS=/; echo "${raw_runs[*]}")"
echo "  ingest over raw: $ratio (goal: 0.5 or more); accepted $accepted, steps $queued"
echo "  CPU until acknowledged, ms a thousand notifications:"
printf '%s\n' "$cpu_acknowledged" | tr ',' '\n' | tr -d '"' | head -n 10 | sed 's/^ */    /'
echo "  CPU from then to a full queue, ms a thousand: $(printf '%s\n' "$cpu_queued" | tr -d '"' | cut -d, -f1-5)"
echo "  CPU of the raw COPY + match, ms a thousand: $(printf '%s\n' "$cpu_raw" | tr -d '"' | cut -d, -f1-3)"
echo "Figures written to $out/cpis.json"
[ "$accepted" = "$count" ] && [ "$queued" -ge "$count" ]
