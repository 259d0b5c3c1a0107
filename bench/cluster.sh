#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/cluster.sh - the cluster benchmark (issue 15 item 6), run by bench/run.sh and alone:
#
#   RTKD=build-bench/rtkd LG=build-bench/bench/loadgen bench/cluster.sh WORKDIR
#
# A private PostgreSQL (tests/support/pgtmp.sh) and Redis (--save '') in WORKDIR, NODES (3)
# rtkd nodes on them (--store, --bus, --node-id), one meeting of PEERS (15000) peers with the
# bench_audience preset, created through node 1. The load generator's PROCS (6) worker
# processes connect to the nodes in turn (loadgen --ports: worker w to node w mod NODES), so
# the meeting's peers are spread evenly; every trigger goes to node 1. Measured:
#   - poll fan-out: POST .../active-session/poll at node 1 → poll.created at every peer on
#     every node, ROUNDS (3) rounds, p50/p99/max to the last peer;
#   - kick-all: POST .../active-session/kick-all at node 1 → the last peer closed;
#   - votes: every peer votes once on each of VOTE_POLLS (2) polls, each acknowledged after
#     PostgreSQL's commit; votes/s;
#   - GET .../active-session at node 1 (wrk, WRK_CONNS connections, WRK_SECONDS) while 100
#     peers of another meeting are live, spread over the nodes.
# Server CPU is the sum of the nodes' (loadgen --server-pid P1,P2,P3). Prints "key value"
# lines. Every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:?usage: bench/cluster.sh WORKDIR}
RTKD=${RTKD:?RTKD: the rtkd binary}
LG=${LG:?LG: the loadgen binary}
PEERS=${PEERS:-15000}
PROCS=${PROCS:-6}
NODES=${NODES:-3}
ROUNDS=${ROUNDS:-3}
VOTE_POLLS=${VOTE_POLLS:-2}
WRK_CONNS=${WRK_CONNS:-64}
WRK_SECONDS=${WRK_SECONDS:-5}
mkdir -p "$W"
log() { printf 'bench cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# get, first_id, api, new_meeting, new_audience_preset
. "$(dirname "$0")/lib.sh"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PIDS=()
PG_DIR=
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "$PG_DIR" ] || tests/support/pgtmp.sh stop "$PG_DIR" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PG_DIR=$W/pg
PG_URL=$(tests/support/pgtmp.sh start "$PG_DIR") || die "PostgreSQL did not start"
tests/support/pgtmp.sh createdb "$PG_DIR" rtkd_cluster
STORE=${PG_URL}rtkd_cluster
REDIS_PORT=$(free_port)
mkdir -p "$W/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$W/redis" --logfile "$W/redis.log" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 100); do
  [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
  sleep 0.1
done
[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] || die "redis-server did not start"

ACC=$("$RTKD" account create --store "$STORE" --name bench)
AUTH="Bearer $("$RTKD" token create --store "$STORE" --account "$ACC" --name bench)"
NODE_PIDS=() NODE_PORTS=()
for i in $(seq 1 "$NODES"); do
  mkdir -p "$W/node-$i"
  "$RTKD" serve --listen 127.0.0.1:0 --data "$W/node-$i" --store "$STORE" \
    --bus "redis://127.0.0.1:$REDIS_PORT" --node-id "node-$i" --access-log off \
    --api-rate-limit 0 --handshake-rate 0 --max-connections-per-ip 0 --metrics-token bench \
    >"$W/node-$i.out" 2>"$W/node-$i.err" &
  NODE_PIDS+=("$!")
  PIDS+=("$!")
done
for i in $(seq 1 "$NODES"); do
  for _ in $(seq 100); do grep -q 'listening on' "$W/node-$i.out" 2>/dev/null && break; sleep 0.1; done
  p=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/node-$i.out")
  [ -n "$p" ] || die "node $i did not start: $(cat "$W/node-$i.err")"
  NODE_PORTS+=("$p")
done
for i in $(seq 1 "$NODES"); do
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:${NODE_PORTS[$((i - 1))]}/readyz" >/dev/null && break
    sleep 0.1
  done
done
PORTS=$(IFS=,; echo "${NODE_PORTS[*]}")
SPIDS=$(IFS=,; echo "${NODE_PIDS[*]}")
PORT=${NODE_PORTS[0]}
URL=http://127.0.0.1:$PORT
log "$NODES nodes on ports $PORTS (pids $SPIDS), Redis $REDIS_PORT"
KIT=/accounts/$ACC/realtime/kit
APP=$(api POST "$KIT/apps" '{"name":"bench-cluster"}' | first_id)
[ -n "$APP" ] || die "could not create an app"
new_audience_preset "$W"
BIGP=$KIT/$APP/meetings/$(new_meeting "bench: cluster")
SMALLP=$KIT/$APP/meetings/$(new_meeting "bench: cluster, 100 peers")
log "creating $PEERS + 100 participants"
"$LG" mkpeers --port "$PORT" --auth "$AUTH" --path "$BIGP/participants" --peers "$PEERS" \
  --procs 4 --tokens "$W/big.tok" --ids "$W/big.ids" --prefix big- --preset bench_audience
"$LG" mkpeers --port "$PORT" --auth "$AUTH" --path "$SMALLP/participants" --peers 100 \
  --procs 2 --tokens "$W/small.tok" --ids "$W/small.ids" --prefix small-

lg=(--port "$PORT" --ports "$PORTS" --procs "$PROCS" --auth "$AUTH" --server-pid "$SPIDS"
    --timeout 60 --duration 150)
POLL_BODY='{"question":"Which option?","options":["first","second","third"]}'

log "poll fan-out: $PEERS peers over $NODES nodes, $ROUNDS rounds"
"$LG" watch "${lg[@]}" --tokens "$W/big.tok" --event poll.created --rounds "$ROUNDS" \
  --gap 0.5 --trigger "POST $BIGP/active-session/poll" --body "$POLL_BODY" \
  --out "$W/fanout.txt" >"$W/fanout.log" 2>&1 || die "fan-out failed: $(tail -5 "$W/fanout.log")"
sleep 1
log "kick-all: $PEERS peers over $NODES nodes"
"$LG" watch "${lg[@]}" --tokens "$W/big.tok" --event close \
  --trigger "POST $BIGP/active-session/kick-all" --out "$W/kick.txt" >"$W/kick.log" 2>&1 ||
  die "kick-all failed: $(tail -5 "$W/kick.log")"
# The kicked participants are barred from the session; the votes need a new one.
sleep 1
log "votes: $PEERS peers x $VOTE_POLLS polls"
"$LG" vote "${lg[@]}" --tokens "$W/big.tok" --rounds "$VOTE_POLLS" --options 3 \
  --trigger "POST $BIGP/active-session/poll" --body "$POLL_BODY" --out "$W/votes.txt" \
  >"$W/votes.log" 2>&1 || die "votes failed: $(tail -5 "$W/votes.log")"

log "GET active-session at node 1, 100 peers over $NODES nodes"
"$LG" join --port "$PORT" --ports "$PORTS" --procs "$NODES" --tokens "$W/small.tok" \
  --duration 120 --ready-file "$W/small.ready" --out "$W/small.txt" >"$W/small.log" 2>&1 &
SMALL_LG=$!
PIDS+=("$SMALL_LG")
for _ in $(seq 300); do [ -s "$W/small.ready" ] && break; sleep 0.1; done
[ -s "$W/small.ready" ] || die "the 100 peers did not join"
sleep 1.5 # the counters of the other nodes' peers reach node 1 (guarantee 2: within 1 s)
COUNT=$(api GET "$SMALLP/active-session" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () =>
    process.stdout.write(String(JSON.parse(s).data.live_participants)))')
# Each node's own peers (its /metrics gauge): the load generator spread them, or the rows
# would be one node's figures.
SPREAD=
for p in "${NODE_PORTS[@]}"; do
  n=$(curl -sf -H 'Authorization: Bearer bench' "http://127.0.0.1:$p/metrics" |
    awk '$1 == "rtkd_peers{state=\"live\"}" { print $2 }')
  [ "${n:-0}" -gt 0 ] || die "node on port $p has no peers: the load generator did not spread them"
  SPREAD+=${SPREAD:+,}$n
done
BENCH_AUTH="$AUTH" wrk -t 1 -c "$WRK_CONNS" -d 1s -s bench/wrk/get.lua "$URL$SMALLP/active-session" >/dev/null
BENCH_AUTH="$AUTH" wrk -t 1 -c "$WRK_CONNS" -d "${WRK_SECONDS}s" --latency -s bench/wrk/get.lua \
  "$URL$SMALLP/active-session" >"$W/get.txt"
kill -TERM "$SMALL_LG" 2>/dev/null || true
wait "$SMALL_LG" 2>/dev/null || true

echo "nodes $NODES"
echo "peers $PEERS"
echo "procs $PROCS"
echo "fanout_joined $(get joined "$W/fanout.txt")"
echo "join_all_ms $(get join_all_ms "$W/fanout.txt")"
echo "fanout_p50_ms $(get ev_p50_ms "$W/fanout.txt")"
echo "fanout_p99_ms $(get ev_p99_ms "$W/fanout.txt")"
echo "fanout_max_ms $(get ev_max_ms "$W/fanout.txt")"
echo "fanout_missing $(get ev_missing "$W/fanout.txt")"
echo "fanout_cpu_per_delivery_us $(get server_cpu_per_delivery_us "$W/fanout.txt")"
echo "kickall_last_close_ms $(get ev_max_ms "$W/kick.txt")"
echo "kickall_p50_ms $(get ev_p50_ms "$W/kick.txt")"
echo "kickall_reply_ms $(awk '$1 == "round0" { for (i = 2; i <= NF; i++) if ($i ~ /^request_ms=/) {
  sub(/^request_ms=/, "", $i); print $i; exit } }' "$W/kick.txt")"
echo "kickall_missing $(get ev_missing "$W/kick.txt")"
echo "votes_acked $(get votes_acked "$W/votes.txt")"
echo "votes_errors $(get vote_errors "$W/votes.txt")"
echo "votes_per_sec $(get votes_per_sec "$W/votes.txt")"
echo "get_live_participants $COUNT"
echo "get_peers_per_node $SPREAD"
echo "get_rps $(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$W/get.txt")"
echo "get_p99 $(awk '$1 == "99%" { print $2 }' "$W/get.txt")"
# The private PostgreSQL's CPU so far (its processes are not our children: pg_ctl detaches
# them), so that bench/run.sh counts it as the benchmark's, not as another process's.
pg_ticks=0
for p in $(pgrep -x postgres || true); do
  t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }')
  pg_ticks=$((pg_ticks + ${t:-0}))
done
echo "pg_cpu_ticks $pg_ticks"
