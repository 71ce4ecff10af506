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
    if [ "${BENCH_STATEMENTS:-0}" = 1 ]; then
        # Each statement's calls and time too (bench_statements_report), at a small cost to every
        # statement: only when asked for.
        printf '%s\n' "shared_preload_libraries = 'pg_stat_statements'" "pg_stat_statements.track = all" |
            { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- tee -a "$dir/pg/data/postgresql.conf"; else
                tee -a "$dir/pg/data/postgresql.conf"; fi; } >/dev/null
        "$bench_root/scripts/instance.sh" stop "$dir" >/dev/null
        "$bench_root/scripts/instance.sh" start "$dir" >/dev/null
        "$bench_root/scripts/instance.sh" psql "$dir" -q -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
    fi
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

# bench_cpu_snapshot: the CPU time so far (clock ticks, user and system) of this suite's daemons and
# of its PostgreSQL server's processes, a backend under its login role (pg:tsr_workflow), one
# "name ticks" a line (pg:ended, backends that have exited since the server started). Two snapshots around a run give where its CPU went (bench_cpu_spent): the
# figure that says which part to make cheaper, where a rate alone says only how fast the whole was.
bench_cpu_snapshot() {
    local pm p stat cmd name
    local -a f
    pm=$(head -n 1 "$dir/pg/data/postmaster.pid")
    for p in /proc/[0-9]*; do
        stat=$(cat "$p/stat" 2>/dev/null) || continue
        cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
        read -r -a f <<<"${stat##*) }" # from the third field on: the name in brackets may hold spaces
        if [ "${p#/proc/}" = "$pm" ]; then
            name=pg:postmaster
            # Backends that have ended (pgbench's, psql's) count in their parent's children's time.
            echo "pg:ended $((f[13] + f[14]))"
        elif [ "${f[1]}" = "$pm" ]; then
            name=${cmd#postgres: }
            name=pg:${name%% *}
        elif [[ "$cmd" == "$bench_bin"/tessera-*"$dir"/* ]]; then
            name=${cmd%% *}
            name=${name##*/}
        else
            continue
        fi
        echo "$name $((f[11] + f[12]))"
    done | awk '{ t[$1] += $2 } END { for (k in t) print k, t[k] }'
}

# bench_cpu_spent BEFORE AFTER PER SCALE: the CPU spent between two snapshot files (or several
# rounds' snapshots, each file their concatenation: a name's lines are summed), by name, as
# seconds * SCALE / PER (e.g. 1000 and the commands run: milliseconds a command), largest first, as
# the members of a JSON object ("total" first). Names whose share rounds to nothing are left out.
bench_cpu_spent() {
    awk -v per="$3" -v scale="$4" -v hz="$(getconf CLK_TCK)" '
        FNR == NR { before[$1] += $2; next }
        { after[$1] += $2 }
        END {
            for (k in after) { d = (after[k] - before[k]) / hz * scale / per; if (d > 0) { spent[k] = d; total += d } }
            printf "\"total\": %.3f", total
            n = 0
            for (k in spent) names[++n] = k
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                if (spent[names[j]] > spent[names[i]]) { t = names[i]; names[i] = names[j]; names[j] = t }
            for (i = 1; i <= n; i++) if (spent[names[i]] >= 0.0005) printf ", \"%s\": %.3f", names[i], spent[names[i]]
            print ""
        }' "$1" "$2"
}

psql_super() { "${bench_as_pg[@]}" "$pgbin/psql" -h "$bench_sock" -p "$bench_port" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
pgbench() { "${bench_as_pg[@]}" "$pgbin/pgbench" -h "$bench_sock" -p "$bench_port" -U postgres "$@"; }

# With BENCH_STATEMENTS=1: bench_statements_reset forgets the statements so far;
# bench_statements_report PER FILE writes to FILE the statements of database tessera since then, by
# login role and one by one (the fifty that took longest), as time and calls per PER (the commands
# run, say). Without it, both do nothing.
bench_statements_reset() {
    [ "${BENCH_STATEMENTS:-0}" = 1 ] || return 0
    psql_super -d tessera -c "SELECT pg_stat_statements_reset()" >/dev/null
}
bench_statements_report() {
    [ "${BENCH_STATEMENTS:-0}" = 1 ] || return 0
    psql_super -d tessera -v per="$1" >"$2" <<'SQL'
CREATE TEMP VIEW s AS SELECT userid::regrole::text AS role, * FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'tessera') AND userid::regrole::text <> 'postgres';
\echo 'Statements run at the top level, by login role: time (executing only: not parsing, planning or'
\echo 'the round trip) and calls, each per command'
SELECT role, round((sum(total_exec_time) * 1000 / :per)::numeric, 1) AS us_per_command,
       round(sum(calls)::numeric / :per, 2) AS calls_per_command
    FROM s WHERE toplevel GROUP BY role ORDER BY 2 DESC;
\echo 'The statements that took longest (top: f is a statement run by a trigger or a function, whose'
\echo 'time is in its caller''s too)'
SELECT role, toplevel AS top, round((total_exec_time * 1000 / :per)::numeric, 1) AS us_per_command,
       round(calls::numeric / :per, 2) AS calls_per_command, round((mean_exec_time * 1000)::numeric) AS us_each,
       left(regexp_replace(query, '\s+', ' ', 'g'), 120) AS statement
    FROM s ORDER BY total_exec_time DESC LIMIT 50;
SQL
}
