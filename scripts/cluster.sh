#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cluster.sh - `make cluster`: a cluster to try on this machine (docs/cluster.md). In a
# temporary folder it starts a PostgreSQL server (tests/support/pgtmp.sh: initdb, a free
# loopback port, the postgres user when we are root), a Redis (no persistence, a free loopback
# port) and three rtkd nodes in dev mode that share both, each with its own data folder. It
# prints each node's address and node 1's dev credentials (every node writes its own, with
# its own base_url and a token of the same account and app: any token works at any node),
# then runs until Ctrl-C or SIGTERM. Stopping (and any part failing to start) stops the nodes
# (SIGTERM: their peers get 1012 and they exit 0), then Redis, then PostgreSQL, and removes
# the folder.
#
#   RTKD_BIN            the rtkd binary (default build/rtkd, which `make cluster` builds)
#   RTKD_CLUSTER_PORTS  the nodes' three ports (default "8081 8082 8083"; a default port that
#                       is taken is replaced by a free one, a port given here must be free)
#
# The children run in their own sessions (setsid), so that a Ctrl-C at the terminal reaches
# only this script, which then stops them in order: nodes first, while the bus and the
# database are still there to take their leaves.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${RTKD_BIN:-build/rtkd}
pgtmp=tests/support/pgtmp.sh
names=(node-1 node-2 node-3)

say() { echo "cluster: $*"; }
die() { echo "cluster: $*" >&2; exit 1; }

[ -x "$bin" ] || die "no rtkd binary at $bin (make build, or set RTKD_BIN)"
command -v redis-server >/dev/null || die "redis-server is missing: scripts/bootstrap.sh cluster installs it"
command -v curl >/dev/null || die "curl is missing: scripts/bootstrap.sh cluster installs it"

# port_free PORT: 0 when nothing holds 127.0.0.1:PORT (a bind as rtkd does it: SO_REUSEADDR).
port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

read -r -a ports <<<"${RTKD_CLUSTER_PORTS:-8081 8082 8083}"
[ ${#ports[@]} -eq 3 ] || die "RTKD_CLUSTER_PORTS takes three ports, not \"${RTKD_CLUSTER_PORTS}\""
for i in 0 1 2; do
  p=${ports[$i]}
  [[ $p =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || die "not a port: $p"
  for ((j = 0; j < i; j++)); do [ "${ports[$j]}" != "$p" ] || die "port $p given twice"; done
  if ! port_free "$p"; then
    [ -z "${RTKD_CLUSTER_PORTS:-}" ] || die "port $p (RTKD_CLUSTER_PORTS) is taken"
    ports[$i]=$(free_port)
    say "port $p is taken: ${names[$i]} takes ${ports[$i]}"
  fi
done

dir=$(mktemp -d -t rtkd-cluster.XXXXXX)
# The postgres user must be able to reach its folder inside (pgtmp.sh runs initdb as it).
chmod 711 "$dir"
node_pids=()
redis_pid=
pg_started=0
stopping=0

# stop_wait PID WHAT: waits up to 15 s for PID to exit after its signal, then kills it. Says
# so when it did not exit 0.
stop_wait() {
  local pid=$1 what=$2 rc=0
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "cluster: $what did not stop within 15 s: killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  [ "$rc" -eq 0 ] || echo "cluster: $what exited with status $rc" >&2
}

cleanup() {
  [ "$stopping" = 0 ] || return 0
  stopping=1
  trap '' INT TERM
  say "stopping"
  for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in "${!node_pids[@]}"; do stop_wait "${node_pids[$i]}" "${names[$i]}"; done
  if [ -n "$redis_pid" ]; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    stop_wait "$redis_pid" redis-server
  fi
  [ "$pg_started" = 0 ] || "$pgtmp" stop "$dir/pg" || true
  rm -rf "$dir"
  say "stopped; $dir removed"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# A part that failed: its log's end, then the EXIT trap stops the rest.
fail() {
  echo "cluster: $1 failed to start" >&2
  [ -f "$2" ] && tail -n 20 "$2" | sed 's/^/  | /' >&2
  exit 1
}

say "starting in $dir"
pg_started=1 # before it starts: a signal meanwhile must still stop it
pg=$("$pgtmp" start "$dir/pg") || fail PostgreSQL /dev/null # pgtmp.sh printed its log
"$pgtmp" createdb "$dir/pg" rtkd || fail "PostgreSQL (createdb)" /dev/null
store="${pg}rtkd"
say "PostgreSQL  $store  (pid $(head -n 1 "$dir/pg/data/postmaster.pid"))"

redis_port=$(free_port)
mkdir "$dir/redis"
setsid redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --dir "$dir/redis" --logfile "$dir/redis.log" &
redis_pid=$!
bus="redis://127.0.0.1:$redis_port"
for _ in $(seq 100); do
  [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
  kill -0 "$redis_pid" 2>/dev/null || fail redis-server "$dir/redis.log"
  sleep 0.1
done
[ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] || fail redis-server "$dir/redis.log"
say "Redis       $bus  (pid $redis_pid)"

start_node() {
  local i=$1
  mkdir "$dir/${names[$i]}"
  setsid "$bin" serve --dev --listen "127.0.0.1:${ports[$i]}" --data "$dir/${names[$i]}" \
    --store "$store" --bus "$bus" --node-id "${names[$i]}" \
    >"$dir/${names[$i]}.out" 2>"$dir/${names[$i]}.log" &
  node_pids[$i]=$!
}

# Waits for /readyz 200 at node I (listening, store and bus reached), for up to 30 s.
await_node() {
  local i=$1
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:${ports[$i]}/readyz" 2>/dev/null && return 0
    kill -0 "${node_pids[$i]}" 2>/dev/null || fail "${names[$i]}" "$dir/${names[$i]}.log"
    sleep 0.1
  done
  fail "${names[$i]} (not ready within 30 s)" "$dir/${names[$i]}.log"
}

# Node 1 first: it creates the dev account, app and demo meeting, which the others find.
start_node 0
await_node 0
start_node 1
start_node 2
await_node 1
await_node 2
for i in 0 1 2; do
  say "${names[$i]}      http://127.0.0.1:${ports[$i]}  (pid ${node_pids[$i]}, log $dir/${names[$i]}.log)"
done
say "node-1's credentials ($dir/node-1/dev-credentials.json; each node writes its own,"
say "with its own base_url, for the same account and app; any token works at any node):"
cat "$dir/node-1/dev-credentials.json"
grep '^export ACCOUNT=' "$dir/node-1.out" || true
say "console: http://127.0.0.1:${ports[0]}/ (any node's address works); demo join links:"
grep 'join?token=' "$dir/node-1.out" || true
say "running; Ctrl-C stops everything and removes $dir"

# Runs until a signal, or until a part exits by itself (then everything stops, status 1).
pg_pid=$(head -n 1 "$dir/pg/data/postmaster.pid")
while :; do
  # In the background, so that a signal is handled at once, not after the sleep.
  sleep 1 &
  wait $! || true
  for i in 0 1 2; do
    kill -0 "${node_pids[$i]}" 2>/dev/null || { echo "cluster: ${names[$i]} exited" >&2; exit 1; }
  done
  kill -0 "$redis_pid" 2>/dev/null || { echo "cluster: redis-server exited" >&2; exit 1; }
  kill -0 "$pg_pid" 2>/dev/null || { echo "cluster: PostgreSQL exited" >&2; exit 1; }
done
