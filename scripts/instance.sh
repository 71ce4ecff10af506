#!/usr/bin/env bash
# A Tessera instance directory: a private PostgreSQL cluster on a free port, one schema and one
# login role per daemon, and the tessera.conf that every daemon and the tessera tool read.
# Shared by `make run`, the tests and the benchmark.
#
#   scripts/instance.sh init DIR      create (or reuse) the cluster, start it, set up the database,
#                                     write DIR/tessera.conf; safe to run again
#   scripts/instance.sh start DIR     start the cluster (on a new port if its old one is taken)
#   scripts/instance.sh stop DIR      stop the cluster (nothing to do if it is not running)
#   scripts/instance.sh status DIR    exit 0 if the cluster is running
#   scripts/instance.sh psql DIR [ROLE] [psql args...]
#                                     psql on database tessera as the superuser (unix socket), or
#                                     as daemon ROLE's login role tsr_ROLE (TCP, with its password)
#
# DIR holds pg/ (data, sock, port, postgres.log), secrets/ (one password per daemon role),
# run/ (ZeroMQ sockets, gateway.addr), logs/ and tessera.conf. TESSERA_UI_DIR (default this tree's
# ui/public) is the web UI the gateway serves; set to empty, the one installed beside the gateway.
set -euo pipefail

# One schema and one login role per daemon; a new daemon is added here (and to
# deploy/database-lockdown.sql, which grants each role its connection).
DAEMONS="accounts records audit workflow consultations reporting notifications cpis gateway"

root=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: scripts/instance.sh init|start|stop|status DIR  or  scripts/instance.sh psql DIR [ROLE] [psql args...]"

die() {
    echo "instance: $*" >&2
    exit 1
}

# Connections go exactly where this script says, whatever the caller's environment holds.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGSSLMODE PGREQUIRESSL PGOPTIONS

pg_bindir() {
    local d
    for d in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/15/bin; do
        if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return
        fi
    done
    die "PostgreSQL's server programs (initdb, pg_ctl) are not installed; run 'make deps'"
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

# A random free port from 20000 up to the start of the kernel's ephemeral range (32768 on Debian):
# a port inside that range can be held by an outgoing connection, which a connect() probe misses.
pick_port() {
    local top p
    top=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$top" -gt 21000 ] 2>/dev/null || top=32768
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % (top - 20000)))
        if port_is_free "$p"; then
            echo "$p"
            return
        fi
    done
    die "no free TCP port found for PostgreSQL between 20000 and $top"
}

new_secret() {
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

# The postmaster's pid from its lock file, if that process is a zombie (killed, not yet reaped by
# a container's init): PostgreSQL would take it for a live server.
zombie_postmaster() {
    local pid state
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null) || return 1
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ "$state" = Z ]
}

running() {
    [ -s "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1 && ! zombie_postmaster
}

port() {
    cat "$pgdir/port"
}

psql_super() {
    as_owner env PGOPTIONS="-c client_min_messages=warning" \
        "$bindir/psql" -h "$sock" -p "$(port)" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"
}

# sql WHAT psql-args...: psql as the superuser; on failure, one line saying what failed.
sql() {
    local what=$1
    shift
    psql_super "$@" || die "$what failed (psql's message above); server log: $log"
}

# Creates the cluster if there is none; safe to run again, also after a half-finished first run.
create_cluster() {
    # The cluster's owner must reach DIR (a mktemp -d directory is 0700).
    chmod 755 "$dir"
    mkdir -p "$pgdir" "$dir/run" "$dir/logs" "$dir/secrets"
    # run/ holds the bus's ipc:// sockets: whoever can open them can call a daemon in anyone's name.
    chmod 700 "$dir/secrets" "$dir/run"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "there is no postgres OS user to own the cluster (it comes with postgresql-15; run 'make deps')"
        chown postgres: "$pgdir"
        runuser -u postgres -- test -x "$pgdir" ||
            die "the postgres OS user cannot reach $dir (a parent directory is closed to it); use a directory under /tmp"
    fi
    if [ ! -s "$data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >"$pgdir/initdb.log" 2>&1 ||
            die "initdb of $data failed; see $pgdir/initdb.log"
    fi
    as_owner mkdir -p "$sock"
    as_owner chmod 700 "$sock"
    [ -s "$pgdir/port" ] || pick_port >"$pgdir/port"
    if ! grep -q '^# Tessera' "$data/postgresql.conf"; then
        as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF || die "could not write $data/postgresql.conf"

# Tessera's private cluster: loopback only, its unix socket in a directory only its owner enters.
port = $(port)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = 128MB
CONF
    fi
}

set_port() {
    as_owner sed -i "s/^port = .*/port = $1/" "$data/postgresql.conf" ||
        die "could not set the port in $data/postgresql.conf"
    echo "$1" >"$pgdir/port"
}

start_cluster() {
    running && return 0
    local p before
    for _ in $(seq 1 50); do
        zombie_postmaster || break
        sleep 0.2
    done
    if zombie_postmaster; then
        as_owner rm -f "$data/postmaster.pid"
    fi
    p=$(port)
    port_is_free "$p" || p=$(pick_port)
    # Another process can take the port between the check and the bind: then try another one.
    for _ in 1 2 3 4 5; do
        set_port "$p"
        before=$(stat -c %s "$log" 2>/dev/null || echo 0)
        if as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1 &&
            as_owner "$bindir/pg_isready" -q -h "$sock" -p "$p" -t 30; then
            return 0
        fi
        tail -c +"$((before + 1))" "$log" 2>/dev/null | grep -q "Address already in use" || break
        p=$(pick_port)
    done
    die "PostgreSQL in $data did not start; see $log"
}

# Database tessera, pg_trgm, and for each daemon a login role that owns its schema and nothing
# else. Safe to run again: roles keep their passwords (from DIR/secrets), data is left as it is.
bootstrap() {
    sql "creating database tessera" -d postgres <<'SQL'
SELECT 'CREATE DATABASE tessera ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'tessera') \gexec
SQL
    sql "creating extension pg_trgm" -d tessera <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
SQL
    local d
    for d in $DAEMONS; do
        [ -s "$dir/secrets/$d.password" ] || (umask 077 && new_secret >"$dir/secrets/$d.password")
        # The password goes in as a psql variable, so it never appears on a command line.
        sql "setting up role tsr_$d and schema $d" -d tessera -v role="tsr_$d" -v schema="$d" \
            -v secret="$(cat "$dir/secrets/$d.password")" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'secret';
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
SQL
    done
    # Nothing for PUBLIC on the database or in public; CONNECT and USAGE on public (pg_trgm) for each
    # role: the file an operator runs after a restore (docs/OPERATIONS.md, section 8), so that the
    # two never differ.
    local check
    check=$(psql_super -d tessera -At <"$root/deploy/database-lockdown.sql") ||
        die "locking down database tessera failed (psql's message above); server log: $log"
    [ "$check" = "f|f|f|f" ] || die "database tessera is not locked down after deploy/database-lockdown.sql: $check"
}

write_config() {
    local d tmp="$dir/tessera.conf.tmp"
    for d in $DAEMONS; do
        [ -s "$dir/secrets/$d.password" ] || die "$dir/secrets/$d.password is missing; run 'scripts/instance.sh init $dir'"
    done
    {
        echo "# Tessera instance configuration (generated by scripts/instance.sh). Environment variables"
        echo "# TESSERA_<SECTION>_<KEY> override any key, e.g. TESSERA_HTTP_ADDR."
        echo "[tessera]"
        echo "demo = true"
        echo "log_level = info"
        echo
        echo "[http]"
        echo "addr = 127.0.0.1:8080"
        echo "addr_file = $dir/run/gateway.addr"
        # TESSERA_UI_DIR set to empty leaves it out: the gateway serves the UI installed beside it.
        [ -z "${TESSERA_UI_DIR-$root/ui/public}" ] || echo "ui_dir = ${TESSERA_UI_DIR-$root/ui/public}"
        for d in $DAEMONS; do
            echo
            echo "[$d]"
            # The private cluster is reached through its unix socket (a directory only its owner
            # enters): no TCP on the path of every statement. connect_timeout: a database that does
            # not answer fails a call instead of hanging it.
            echo "db_url = host=$sock port=$(port) dbname=tessera user=tsr_$d password=$(cat "$dir/secrets/$d.password") connect_timeout=5"
            echo "rpc = ipc://$dir/run/$d.rpc"
            echo "events = ipc://$dir/run/$d.events"
            if [ "$d" = cpis ]; then
                # The council's details in every CP-IS plan record (a demo council's here), and
                # where the upload files go for the Spine connection.
                echo "la_name = Demo Borough Council"
                echo "la_ods_code = E0999"
                echo "office_hours_telephone = 01632 960000"
                echo "emergency_duty_telephone = 01632 960999"
                echo "upload_dir = $dir/cpis-uploads"
            fi
            if [ "$d" = records ]; then
                # The council's retention schedule (seed 002); an example's here. A council's own
                # replaces it: docs/OPERATIONS.md, "Retention".
                echo "retention_schedule_file = $root/deploy/retention-schedule.example.json"
            fi
            if [ "$d" = workflow ]; then
                # The days the office is shut count as no working time in due times: here the bank
                # holidays of England and Wales (gov.uk/bank-holidays). A council lists its own, and
                # its closures, year by year: docs/OPERATIONS.md, "[workflow]".
                echo "closed_days = 2026-01-01, 2026-04-03, 2026-04-06, 2026-05-04, 2026-05-25, 2026-08-31," \
                    "2026-12-25, 2026-12-28, 2027-01-01, 2027-03-26, 2027-03-29, 2027-05-03, 2027-05-31," \
                    "2027-08-30, 2027-12-27, 2027-12-28"
            fi
            if [ "$d" = reporting ]; then
                # The council named over each report, as the seed's report is headed.
                echo "local_authority = Demo Borough Council"
            fi
        done
    } >"$tmp" || die "could not write $tmp"
    chmod 600 "$tmp"
    mv "$tmp" "$dir/tessera.conf"
}

cmd=${1:-}
arg=${2:-}
if [ -z "$cmd" ] || [ -z "$arg" ]; then
    die "$usage"
fi
case "$arg" in /*) abs=$arg ;; *) abs=$PWD/$arg ;; esac
# PostgreSQL's socket and ZeroMQ's ipc:// paths must fit in about 100 characters.
[ ${#abs} -le 80 ] || die "the path $abs is too long for unix sockets (at most 80 characters); use a shorter directory"
case "$cmd" in
init)
    mkdir -p "$arg" || die "could not create $arg"
    ;;
start | psql)
    [ -d "$arg" ] || die "there is no instance directory $arg; make one with 'scripts/instance.sh init $arg'"
    ;;
stop)
    [ -d "$arg" ] || exit 0
    ;;
status)
    [ -d "$arg" ] || { echo "no instance in $arg"; exit 1; }
    ;;
*)
    die "unknown command '$cmd'; $usage"
    ;;
esac
dir=$(cd "$arg" && pwd)
pgdir="$dir/pg"
data="$pgdir/data"
sock="$pgdir/sock"
log="$pgdir/postgres.log"
bindir=$(pg_bindir)

case "$cmd" in
init)
    cd "$dir" # the postgres OS user may not be able to enter the caller's directory
    create_cluster
    start_cluster
    bootstrap
    write_config
    ;;
start)
    [ -s "$data/PG_VERSION" ] || die "$dir has no cluster; make one with 'scripts/instance.sh init $dir'"
    cd "$dir"
    start_cluster
    write_config
    ;;
stop)
    cd "$dir"
    if running; then
        as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null ||
            die "PostgreSQL in $data did not stop; see $log"
    fi
    ;;
status)
    cd "$dir"
    if running; then
        echo "PostgreSQL of $dir is running on 127.0.0.1:$(port)"
    else
        echo "PostgreSQL of $dir is not running"
        exit 1
    fi
    ;;
psql)
    running || die "PostgreSQL of $dir is not running; start it with 'scripts/instance.sh start $dir' (log: $log)"
    role=${3:-}
    case "$role" in
    "" | -*)
        shift 2
        as=()
        if [ "$(id -u)" = 0 ]; then
            as=(runuser -u postgres --)
            # psql complains when its user cannot enter the current directory (e.g. /root); files
            # there are closed to it anyway.
            runuser -u postgres -- test -x "$PWD" 2>/dev/null || cd "$dir"
        fi
        exec "${as[@]}" env PGOPTIONS="-c client_min_messages=warning" \
            "$bindir/psql" -h "$sock" -p "$(port)" -U postgres -X -q -v ON_ERROR_STOP=1 -d tessera "$@"
        ;;
    esac
    shift 3
    [ -s "$dir/secrets/$role.password" ] || die "no daemon role '$role' in $dir (daemons: $DAEMONS)"
    PGPASSWORD=$(cat "$dir/secrets/$role.password")
    export PGPASSWORD
    exec "$bindir/psql" -h 127.0.0.1 -p "$(port)" -U "tsr_$role" -X -q -v ON_ERROR_STOP=1 -d tessera "$@"
    ;;
esac
