#!/usr/bin/env bash
# A Tessera instance directory: a private PostgreSQL cluster on a free port, one schema and one
# login role per daemon, and the tessera.conf every daemon and the tessera tool read.
# Shared by `make run`, the tests and the benchmark.
#
#   scripts/instance.sh init DIR          create (or reuse) the cluster, start it, write DIR/tessera.conf
#   scripts/instance.sh start DIR         start the cluster (on a new port if its old one is taken)
#   scripts/instance.sh stop DIR          stop the cluster
#   scripts/instance.sh status DIR        exit 0 if the cluster is running
#   scripts/instance.sh psql DIR [ROLE] [psql args...]
#                                         psql as the superuser, or as daemon ROLE's login role
set -euo pipefail

# One schema and one login role per daemon; a new daemon is added here.
DAEMONS="accounts records audit gateway"

root=$(cd "$(dirname "$0")/.." && pwd)

die() {
    echo "instance: $*" >&2
    exit 1
}

pg_bindir() {
    local dir
    for dir in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/15/bin; do
        [ -n "$dir" ] && [ -x "$dir/initdb" ] && { echo "$dir"; return; }
    done
    die "PostgreSQL's server programs (initdb, pg_ctl) are not installed; run 'make deps'."
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres OS user.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port below the kernel's ephemeral range, so that no outgoing connection can be holding it.
pick_port() {
    local low p
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$low" -gt 12000 ] || low=32768
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % (low - 10000)))
        port_is_free "$p" && { echo "$p"; return; }
    done
    die "no free TCP port found for PostgreSQL"
}

new_secret() {
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

running() {
    as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

psql_super() {
    as_owner env PGOPTIONS="-c client_min_messages=warning" "$bindir/psql" -h "$sock" -p "$(cat "$pgdir/port")" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"
}

start_cluster() {
    running && return 0
    local port
    port=$(cat "$pgdir/port")
    if ! port_is_free "$port"; then
        port=$(pick_port)
        echo "$port" >"$pgdir/port"
    fi
    # Another process can take the port between the check and the bind: then try another.
    for attempt in 1 2 3 4 5; do
        as_owner sed -i "s/^port = .*/port = $port/" "$data/postgresql.conf"
        echo "$port" >"$pgdir/port"
        if as_owner "$bindir/pg_ctl" -D "$data" -l "$pgdir/postgres.log" -w -t 60 start >/dev/null; then
            return 0
        fi
        grep -q "Address already in use" "$pgdir/postgres.log" || break
        port=$(pick_port)
    done
    die "PostgreSQL did not start; see $pgdir/postgres.log"
}

bootstrap() {
    psql_super -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'tessera'" | grep -q 1 ||
        psql_super -d postgres -c "CREATE DATABASE tessera ENCODING 'UTF8' TEMPLATE template0"
    psql_super -d tessera -c "REVOKE ALL ON DATABASE tessera FROM PUBLIC" \
        -c "REVOKE ALL ON SCHEMA public FROM PUBLIC" \
        -c "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"
    local d secret
    mkdir -p "$dir/secrets"
    chmod 700 "$dir/secrets"
    for d in $DAEMONS; do
        [ -s "$dir/secrets/$d.password" ] || (umask 077 && new_secret >"$dir/secrets/$d.password")
        secret=$(cat "$dir/secrets/$d.password")
        # The role's password is set from a psql variable, so it never appears in a command line.
        psql_super -d tessera -v role="tsr_$d" -v schema="$d" -v secret="$secret" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'secret';
GRANT CONNECT ON DATABASE tessera TO :"role";
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
-- pg_trgm's functions and operators live in public: usable, but nothing can be created there.
GRANT USAGE ON SCHEMA public TO :"role";
SQL
    done
}

write_config() {
    local port d tmp
    port=$(cat "$pgdir/port")
    tmp="$dir/tessera.conf.tmp"
    {
        echo "# Tessera instance configuration, written by scripts/instance.sh (rewritten on each start)."
        echo "# Environment variables TESSERA_<SECTION>_<KEY> override any key, e.g. TESSERA_HTTP_ADDR."
        echo "[tessera]"
        echo "run_dir = $dir/run"
        echo "demo = true"
        echo "log_level = info"
        echo
        echo "[http]"
        echo "addr = 127.0.0.1:8080"
        echo "addr_file = $dir/run/gateway.addr"
        echo "ui_dir = $root/ui"
        for d in $DAEMONS; do
            echo
            echo "[$d]"
            # connect_timeout: a database that does not answer fails a call instead of hanging it.
            echo "db_url = host=127.0.0.1 port=$port dbname=tessera user=tsr_$d password=$(cat "$dir/secrets/$d.password") connect_timeout=5"
            echo "rpc = ipc://$dir/run/$d.rpc"
            echo "events = ipc://$dir/run/$d.events"
        done
    } >"$tmp"
    chmod 600 "$tmp"
    mv "$tmp" "$dir/tessera.conf"
}

cmd=${1:-}
[ -n "$cmd" ] && [ -n "${2:-}" ] || die "usage: instance.sh init|start|stop|status|psql DIR [ROLE] [psql args]"
mkdir -p "$2"
dir=$(cd "$2" && pwd)
pgdir="$dir/pg"
data="$pgdir/data"
sock="$pgdir/sock"
bindir=$(pg_bindir)
# ZeroMQ ipc:// paths and PostgreSQL sockets are limited to about 100 characters.
[ ${#dir} -le 80 ] || die "$dir is too long for socket paths; use a shorter directory"

case "$cmd" in
init)
    # The cluster's owner must reach DIR (a mktemp -d directory is 0700).
    chmod 755 "$dir"
    mkdir -p "$pgdir" "$dir/run" "$dir/logs"
    if [ ! -s "$data/PG_VERSION" ]; then
        [ "$(id -u)" = 0 ] && chown postgres: "$pgdir"
        as_owner mkdir -p "$sock"
        as_owner chmod 700 "$sock"
        as_owner "$bindir/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >"$pgdir/initdb.log" 2>&1 ||
            die "initdb failed; see $pgdir/initdb.log"
        pick_port >"$pgdir/port"
        as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF
# Tessera's private cluster: loopback only, sockets in a directory only its owner can enter.
port = $(cat "$pgdir/port")
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = 128MB
CONF
    fi
    start_cluster
    bootstrap
    write_config
    ;;
start)
    [ -s "$data/PG_VERSION" ] || die "$dir has no cluster; run 'instance.sh init $dir' first"
    start_cluster
    write_config
    ;;
stop)
    if [ -s "$data/PG_VERSION" ] && running; then
        as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    ;;
status)
    running
    ;;
psql)
    role=${3:-}
    case "$role" in -*) role="" ;; esac
    shift 2
    [ -n "$role" ] && shift
    if [ -z "$role" ]; then
        psql_super -d tessera "$@"
    else
        [ -s "$dir/secrets/$role.password" ] || die "no daemon role '$role' in $dir"
        PGPASSWORD=$(cat "$dir/secrets/$role.password") "$bindir/psql" -X -q -v ON_ERROR_STOP=1 \
            -h 127.0.0.1 -p "$(cat "$pgdir/port")" -U "tsr_$role" -d tessera "$@"
    fi
    ;;
*)
    die "unknown command '$cmd': use init, start, stop, status or psql"
    ;;
esac
