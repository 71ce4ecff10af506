#!/usr/bin/env bash
# Two hosts on one machine (DESIGN.md, "Growing past one machine"): the records daemon runs in a
# network namespace of its own, a second host joined to the first by a veth pair, and everything
# else, PostgreSQL included, on the first. Every endpoint is tcp://, the bus runs with CURVE keys, and
# the suite is started by scripts/run.sh as `make run` starts it. It shows that:
#   - a person is recorded and read through the gateway on host A by the records daemon on host B,
#     and records' events reach the audit trail on host A;
#   - what crosses the wire between the hosts is encrypted (a capture holds no name sent);
#   - a process with a key pair that is not the suite's is refused by the daemons it calls;
#   - with the wire cut a call answers 503 in time, and once it is back calls work again.
#
#   tests/integration/two_hosts.sh BIN_DIR
# Needs root (network namespaces), iproute2 and tcpdump (`make deps`); exits 77 (skipped) when not root.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
real_bin=$(cd "${1:?usage: two_hosts.sh BIN_DIR}" && pwd)
daemons=(accounts records audit workflow consultations reporting notifications cpis gateway)

say() { echo "two hosts: $*"; }
fail() {
    say "FAILED: $*"
    exit 1
}
if [ "$(id -u)" != 0 ]; then
    say "network namespaces need root; skipped"
    exit 77
fi
command -v ip >/dev/null && command -v tcpdump >/dev/null || fail "ip and tcpdump are needed; run 'make deps'"

# A subnet, a namespace and a veth pair of this run's own (interface names: 15 characters at most).
net="10.231.$(($$ % 200 + 20))"
ns="tsr-b-$$"
veth_a="tsra$$"
veth_b="tsrb$$"
dir=$(mktemp -d /tmp/tsr-2h-XXXXXX)
run_pid=""
capture_pid=""

cleanup() {
    local rc=$?
    [ -n "$capture_pid" ] && kill "$capture_pid" 2>/dev/null
    if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
        kill -TERM "$run_pid" 2>/dev/null || true
        wait "$run_pid" 2>/dev/null || true
    fi
    "$root/scripts/instance.sh" stop "$dir" >/dev/null 2>&1 || true
    ip link del "$veth_a" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    if [ "$rc" != 0 ]; then
        for log in "$dir"/logs/*.log; do
            [ -f "$log" ] || continue
            echo "--- the end of $log"
            tail -n 15 "$log"
        done
    fi
    rm -rf "$dir"
    exit "$rc"
}
trap cleanup EXIT

say "host B is namespace $ns at $net.2; host A is this one at $net.1"
if ! ip netns add "$ns" 2>"$dir/netns.err"; then
    say "this machine does not let us make a network namespace ($(cat "$dir/netns.err")); skipped"
    exit 77
fi
ip link add "$veth_a" type veth peer name "$veth_b"
ip link set "$veth_b" netns "$ns"
ip addr add "$net.1/24" dev "$veth_a"
ip link set "$veth_a" up
ip netns exec "$ns" ip addr add "$net.2/24" dev "$veth_b"
ip netns exec "$ns" ip link set "$veth_b" up
ip netns exec "$ns" ip link set lo up

# PostgreSQL on host A, reached from host B by the records daemon's role only, over TLS with a
# certificate for host A's address that the records daemon checks (sslmode=verify-full).
"$root/scripts/instance.sh" init "$dir" >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$net.1" -addext "subjectAltName=IP:$net.1" \
    -keyout "$dir/pg/server.key" -out "$dir/pg/server.crt" >/dev/null 2>&1
chown postgres: "$dir/pg/server.key" "$dir/pg/server.crt"
chmod 600 "$dir/pg/server.key"
runuser -u postgres -- sh -c "printf '%s\n' \"listen_addresses = '127.0.0.1,$net.1'\" 'ssl = on' \
    \"ssl_cert_file = '$dir/pg/server.crt'\" \"ssl_key_file = '$dir/pg/server.key'\" >>'$dir/pg/data/postgresql.conf' &&
    echo 'hostssl tessera tsr_records $net.2/32 scram-sha-256' >>'$dir/pg/data/pg_hba.conf'"
"$root/scripts/instance.sh" stop "$dir" >/dev/null
"$root/scripts/instance.sh" start "$dir" >/dev/null

# A key pair for each process of the suite (the tool too), and every endpoint on tcp://: records on
# host B, the others on host A. The settings go in as TESSERA_* variables, which every process reads.
mkdir -m 700 "$dir/keys"
for p in "${daemons[@]}" tessera; do
    public=$("$real_bin/tessera" curve keypair "$dir/keys/$p.key")
    export "TESSERA_${p^^}_CURVE_PUBLIC_KEY=$public" "TESSERA_${p^^}_CURVE_SECRET_KEY_FILE=$dir/keys/$p.key"
done
# Two ports a daemon, none of them the port this instance's PostgreSQL listens on at $net.1 too
# (instance.sh picks it at random from the same range: once in a few hundred runs it was one of these).
pg_port=$(cat "$dir/pg/port")
port=$((21000 + ($$ % 400) * 20))
for d in "${daemons[@]}"; do
    host="$net.1"
    [ "$d" = records ] && host="$net.2"
    while [ "$port" = "$pg_port" ] || [ "$((port + 1))" = "$pg_port" ]; do port=$((port + 2)); done
    export "TESSERA_${d^^}_RPC=tcp://$host:$port" "TESSERA_${d^^}_EVENTS=tcp://$host:$((port + 1))"
    port=$((port + 2))
done
export TESSERA_RECORDS_DB_URL="host=$net.1 port=$(cat "$dir/pg/port") dbname=tessera user=tsr_records password=$(cat "$dir/secrets/records.password") connect_timeout=5 sslmode=verify-full sslrootcert=$dir/pg/server.crt"
export TESSERA_HTTP_ADDR=127.0.0.1:0

# The programs as run.sh starts them, but the records daemon's on host B.
mkdir "$dir/bin"
for exe in "$real_bin"/tessera*; do
    ln -s "$exe" "$dir/bin/$(basename "$exe")"
done
rm "$dir/bin/tessera-records"
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$ns" "$real_bin/tessera-records" >"$dir/bin/tessera-records"
chmod 755 "$dir/bin/tessera-records"

TESSERA_BIN_DIR="$dir/bin" TESSERA_INSTANCE="$dir" "$root/scripts/run.sh" >"$dir/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 600); do
    grep -q "Tessera is running" "$dir/run.log" && break
    kill -0 "$run_pid" 2>/dev/null || { cat "$dir/run.log"; fail "scripts/run.sh stopped before the suite was ready"; }
    sleep 0.2
done
grep -q "Tessera is running" "$dir/run.log" || { cat "$dir/run.log"; fail "the suite was not ready in 120 s"; }
addr=$(cat "$dir/run/gateway.addr")
# This run's records daemon (other tests may run the same program meanwhile).
records_pid=$(pgrep -f "^$real_bin/tessera-records --config $dir/tessera.conf" | head -n 1)
[ "$(ip netns identify "$records_pid")" = "$ns" ] || fail "the records daemon is not in namespace $ns"
say "the suite is up at http://$addr, the records daemon (pid $records_pid) on host B"

# call METHOD PATH [BODY]: prints the body, then the status on a line of its own.
call() {
    local body=${3:-}
    curl -sS --max-time 10 -X "$1" "http://$addr$2" -H "Authorization: Bearer ${token:-}" \
        -H 'Content-Type: application/json' ${body:+-d "$body"} -w '\n%{http_code}'
}
status_of() { tail -n 1; }
body_of() { sed '$d'; }
login() {
    curl -fsS "http://$addr/api/v1/session" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"tessera-demo\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

token=$(login admin)
[ -n "$token" ] || fail "admin could not sign in"

# Recorded and read on host B, while the wire is watched.
tcpdump -i "$veth_a" -U -w "$dir/wire.pcap" >/dev/null 2>&1 &
capture_pid=$!
sleep 1
reply=$(call POST /api/v1/people '{"legal_name":{"given":"Tamsin","family":"Wirecrossing"},"gender":"female","date_of_birth":"2015-05-05"}')
[ "$(status_of <<<"$reply")" = 201 ] || fail "recording a person: $reply"
person=$(body_of <<<"$reply" | sed -n 's/^{"id":"\([0-9]*\)".*/\1/p')
[ -n "$person" ] || person=$(body_of <<<"$reply" | grep -o '"id":"[0-9]*"' | head -n 1 | grep -o '[0-9]*')
reply=$(call GET "/api/v1/people/$person")
[ "$(status_of <<<"$reply")" = 200 ] && grep -q Wirecrossing <<<"$reply" || fail "reading person $person: $reply"
sleep 1
kill "$capture_pid"
wait "$capture_pid" 2>/dev/null || true
capture_pid=""
packets=$(tcpdump -r "$dir/wire.pcap" 2>/dev/null | wc -l)
bus_packets=$(tcpdump -r "$dir/wire.pcap" "not port $(cat "$dir/pg/port")" 2>/dev/null | wc -l)
[ "$bus_packets" -gt 4 ] || fail "only $bus_packets packets of the bus crossed the wire: the calls did not go to host B"
if grep -a -q Wirecrossing "$dir/wire.pcap"; then
    fail "the person's name crossed the wire in clear"
fi
say "person $person recorded and read on host B; $packets packets crossed the wire ($bus_packets of the bus), none with the name in clear"

# Records' events reach the audit trail on host A.
token=$(login auditor)
seen=""
for _ in $(seq 1 100); do
    reply=$(call GET "/api/v1/audit/events?person_id=$person")
    if [ "$(status_of <<<"$reply")" = 200 ] && grep -q '"action":"create"' <<<"$reply" &&
        grep -q '"action":"view"' <<<"$reply"; then
        seen=1
        break
    fi
    sleep 0.1
done
[ -n "$seen" ] || fail "the audit trail on host A lacks records' events for person $person: $reply"
say "records' events for person $person are in the audit trail on host A"

# A process whose key pair is not the suite's is refused; the suite's own tool is heard.
timeout 60 "$real_bin/tessera" cpis export-plans --output "$dir/plans.json" >"$dir/tool.log" 2>&1 ||
    fail "the suite's own tool was not heard: $(cat "$dir/tool.log")"
public=$("$real_bin/tessera" curve keypair "$dir/keys/stranger.key")
status=0
TESSERA_TESSERA_CURVE_PUBLIC_KEY=$public TESSERA_TESSERA_CURVE_SECRET_KEY_FILE=$dir/keys/stranger.key \
    timeout 8 "$real_bin/tessera" cpis export-plans --output "$dir/plans2.json" >"$dir/stranger.log" 2>&1 || status=$?
# Its handshake fails, so no connection is ever up: the tool says the service is not reachable at
# once (or, on a slow machine, is still waiting at the timeout), and gets nothing.
[ "$status" = 124 ] || grep -q "service is not reachable" "$dir/stranger.log" ||
    fail "a key pair that is not the suite's got an answer (exit $status): $(cat "$dir/stranger.log")"
[ "$status" != 0 ] || fail "a key pair that is not the suite's succeeded: $(cat "$dir/stranger.log")"
[ ! -s "$dir/plans2.json" ] || fail "a key pair that is not the suite's got an upload file"
grep -q "refused a peer on the bus" "$dir/logs/cpis.log" || fail "the cpis daemon did not log the refused peer"
say "a stranger's key pair is refused: no connection, no answer (exit $status), and the cpis daemon logged it"

# The wire cut: a call needing host B answers 503 in time; back, calls work again.
token=$(login admin)
ip link set "$veth_a" down
started=$SECONDS
reply=$(call GET "/api/v1/people/$person")
[ "$(status_of <<<"$reply")" = 503 ] || fail "with the wire cut, reading person $person answered: $reply"
took=$((SECONDS - started))
[ "$took" -le 8 ] || fail "with the wire cut, the 503 took $took s"
ip link set "$veth_a" up
ok=""
for _ in $(seq 1 100); do
    reply=$(call GET "/api/v1/people/$person")
    [ "$(status_of <<<"$reply")" = 200 ] && ok=1 && break
    sleep 0.2
done
[ -n "$ok" ] || fail "with the wire back, reading person $person still answers: $reply"
say "with the wire cut a read answered 503 in about $took s (the call's deadline); with it back, 200"

kill -TERM "$run_pid"
wait "$run_pid" || fail "scripts/run.sh did not stop cleanly: $(tail -n 5 "$dir/run.log")"
run_pid=""
say "passed"
