#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/hooks.sh - the webhook benchmark (issue 14 item 7), run by bench/run.sh and alone:
#
#   RTKD=build-bench/rtkd LG=build-bench/bench/loadgen bench/hooks.sh WORKDIR
#
# One rtkd on SQLite in WORKDIR, one meeting, PEERS peers (bench_audience: no participant
# list). A burst of PEERS joins, held 1 s, then PEERS leaves, twice per round: without a
# webhook, then with one webhook subscribed to meeting.participantJoined and
# meeting.participantLeft that POSTs to a local receiver (bench/hooks_recv.mjs, node:http,
# answers 200 at once), ROUNDS rounds (A B A B ...). Prints "key value" lines: the join times
# (medians, ms), their ratio, and for the webhook runs the events delivered per second (from
# the first delivery to the last of the 2 × PEERS) and the lag of the last delivery after the
# loadgen closed its last peer. Every delivery of one meeting is one chain (WEBHOOKS.md promise 4: in order
# per meeting and webhook), so this is the rate of one meeting's events, one at a time.
# Knobs: PEERS (15000), PROCS (4), ROUNDS (2), HOOK_WAIT (600: seconds to wait for the
# deliveries), WEBHOOK=0 (only the runs without a webhook: to compare two builds' joins). Every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:?usage: bench/hooks.sh WORKDIR}
RTKD=${RTKD:?RTKD: the rtkd binary}
LG=${LG:?LG: the loadgen binary}
PEERS=${PEERS:-15000}
PROCS=${PROCS:-4}
ROUNDS=${ROUNDS:-2}
HOOK_WAIT=${HOOK_WAIT:-600}
WEBHOOK=${WEBHOOK:-1}
mkdir -p "$W"
log() { printf 'bench hooks: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# get, first_id, api, new_meeting, new_audience_preset
. "$(dirname "$0")/lib.sh"
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ACC=$("$RTKD" account create --data "$W/data" --name bench)
AUTH="Bearer $("$RTKD" token create --data "$W/data" --account "$ACC" --name bench)"
"$RTKD" serve --listen 127.0.0.1:0 --data "$W/data" --access-log off --api-rate-limit 0 \
  --handshake-rate 0 --max-connections-per-ip 0 >"$W/rtkd.out" 2>"$W/rtkd.err" &
RTKD_PID=$!
PIDS+=("$RTKD_PID")
for _ in $(seq 100); do grep -q 'listening on' "$W/rtkd.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/rtkd.out")
[ -n "$PORT" ] || die "rtkd did not start: $(cat "$W/rtkd.err")"
URL=http://127.0.0.1:$PORT
KIT=/accounts/$ACC/realtime/kit
APP=$(api POST "$KIT/apps" '{"name":"bench-hooks"}' | first_id)
[ -n "$APP" ] || die "could not create an app"
new_audience_preset "$W"
MTG=$(new_meeting "bench: webhooks")
log "creating $PEERS participants"
"$LG" mkpeers --port "$PORT" --auth "$AUTH" --path "$KIT/$APP/meetings/$MTG/participants" \
  --peers "$PEERS" --procs 4 --tokens "$W/peers.tok" --ids "$W/peers.ids" --prefix hook- \
  --preset bench_audience

node bench/hooks_recv.mjs "$W/recv.port" "$W/recv.txt" &
RECV_PID=$!
PIDS+=("$RECV_PID")
for _ in $(seq 100); do [ -s "$W/recv.port" ] && break; sleep 0.1; done
[ -s "$W/recv.port" ] || die "the receiver did not start"
HOOK_URL="http://127.0.0.1:$(cat "$W/recv.port")/hook"
delivered() { awk '{ print $1 }' "$W/recv.port.count" 2>/dev/null || echo 0; }
last_ms() { awk '{ print $2 }' "$W/recv.port.count"; }

cpu_ms() { # rtkd's CPU time so far (user + system), ms
  sed 's/.*) //' "/proc/$RTKD_PID/stat" | awk -v hz="$(getconf CLK_TCK)" '{ print ($12 + $13) * 1000 / hz }'
}
burst() { # NAME: PEERS join, hold 1 s, leave; the loadgen's report in $W/NAME.txt, rtkd's CPU
  # time over the joins and leaves (ms, less disturbed by other processes than the wall clock)
  # in $W/NAME.cpu
  local c0
  c0=$(cpu_ms)
  "$LG" join --port "$PORT" --procs "$PROCS" --tokens "$W/peers.tok" --hold 1 --timeout 60 \
    --duration 120 --out "$W/$1.txt" >"$W/$1.log" 2>&1 || die "$1 failed: $(tail -3 "$W/$1.log")"
  date +%s%3N >"$W/$1.end" # every peer has closed: the leaves were sent
  awk -v a="$c0" -v b="$(cpu_ms)" 'BEGIN { print b - a }' >"$W/$1.cpu"
  [ "$(get joined "$W/$1.txt")" = "$PEERS" ] ||
    die "$1: only $(get joined "$W/$1.txt") of $PEERS joined"
  sleep 1 # the leaves are processed, the session ended
}

: >"$W/join-none.dat"
: >"$W/cpu-none.dat"
: >"$W/cpu-hook.dat"
: >"$W/join-hook.dat"
: >"$W/rate.dat"
: >"$W/lag.dat"
for r in $(seq "$ROUNDS"); do
  log "round $r: $PEERS joins and leaves without a webhook"
  burst "none-$r"
  get join_all_ms "$W/none-$r.txt" >>"$W/join-none.dat"
  cat "$W/none-$r.cpu" >>"$W/cpu-none.dat"
  [ "$WEBHOOK" = 1 ] || continue
  log "round $r: the same with a webhook subscribed to both events"
  HOOK=$(api POST "$KIT/$APP/webhooks" "{\"name\":\"bench\",\"url\":\"$HOOK_URL\",\"events\":[\"meeting.participantJoined\",\"meeting.participantLeft\"]}" |
    first_id)
  [ -n "$HOOK" ] || die "could not create the webhook"
  BEFORE=$(delivered)
  WANT=$((BEFORE + 2 * PEERS))
  burst "hook-$r" &
  BURST=$!
  FIRST=
  for _ in $(seq $((HOOK_WAIT * 20))); do
    [ -n "$FIRST" ] || [ "$(delivered)" -le "$BEFORE" ] || FIRST=$(date +%s%3N)
    [ "$(delivered)" -ge "$WANT" ] && break
    sleep 0.05
  done
  wait "$BURST" || exit 1
  sleep 0.1
  GOT=$(($(delivered) - BEFORE))
  [ "$GOT" -ge $((2 * PEERS)) ] || log "warning: only $GOT of $((2 * PEERS)) events delivered in $HOOK_WAIT s"
  get join_all_ms "$W/hook-$r.txt" >>"$W/join-hook.dat"
  cat "$W/hook-$r.cpu" >>"$W/cpu-hook.dat"
  awk -v n="$GOT" -v a="$FIRST" -v b="$(last_ms)" 'BEGIN { printf "%.0f\n", n * 1000 / (b - a) }' >>"$W/rate.dat"
  echo $(($(last_ms) - $(cat "$W/hook-$r.end"))) >>"$W/lag.dat"
  api DELETE "$KIT/$APP/webhooks/$HOOK" >/dev/null
done
kill -TERM "$RECV_PID" 2>/dev/null || true
wait "$RECV_PID" 2>/dev/null || true

NONE=$(median <"$W/join-none.dat")
echo "peers $PEERS"
echo "rounds $ROUNDS"
echo "join_ms_none $NONE ($(tr '\n' ' ' <"$W/join-none.dat"| sed 's/ $//'))"
echo "cpu_ms_none $(median <"$W/cpu-none.dat") ($(tr '\n' ' ' <"$W/cpu-none.dat"| sed 's/ $//'))"
[ "$WEBHOOK" = 1 ] || exit 0
WITH=$(median <"$W/join-hook.dat")
echo "join_ms_hook $WITH"
echo "cpu_ms_hook $(median <"$W/cpu-hook.dat")"
echo "join_ratio $(awk -v a="$WITH" -v b="$NONE" 'BEGIN { printf "%.2f", a / b }')"
echo "events_per_s $(median <"$W/rate.dat")"
echo "last_lag_ms $(median <"$W/lag.dat")"
echo "delivered $(get unique "$W/recv.txt")"
echo "requests $(get received "$W/recv.txt")"
