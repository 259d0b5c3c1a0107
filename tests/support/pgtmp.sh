#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pgtmp.sh - a private PostgreSQL server for tests: a temporary folder, a free loopback port,
# run as the unprivileged postgres user when we are root (PostgreSQL refuses to run as root).
#
#   tests/support/pgtmp.sh start DIR   initdb + start; prints the URL of its "postgres"
#                                      superuser (postgres://postgres@127.0.0.1:PORT/)
#   tests/support/pgtmp.sh stop DIR    stops it (fast shutdown) and removes DIR
#   tests/support/pgtmp.sh createdb DIR NAME
#   tests/support/pgtmp.sh halt DIR    stops it (immediate: as if it crashed), keeps DIR
#   tests/support/pgtmp.sh resume DIR  starts it again on the same port
#
# The server is tuned for tests only where that changes nothing a test checks: fsync and
# synchronous_commit stay on (durability is what the tests check).
set -euo pipefail

bindir() {
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    echo "pgtmp: no PostgreSQL server (initdb) found; scripts/bootstrap.sh installs postgresql-15" >&2
    exit 2
}

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

pg_start() {
    as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: pgtmp.sh start|stop|halt|resume|createdb DIR [NAME]" >&2; exit 2; }
BIN=$(bindir)

case $cmd in
start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_pg "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(free_port)
    echo "$port" >"$dir/port"
    pg_start
    echo "postgres://postgres@127.0.0.1:$port/"
    ;;
halt)
    as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null
    ;;
resume)
    port=$(cat "$dir/port")
    pg_start
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
createdb)
    name=${3:?createdb needs a name}
    port=$(cat "$dir/port")
    as_pg "$BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name"
    ;;
*)
    echo "pgtmp: unknown command $cmd" >&2
    exit 2
    ;;
esac
