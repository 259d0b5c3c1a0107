#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_loadgen_nchan.sh LOADGEN - the load generator's nchan mode against a real nginx + nchan
# (bench/nchan.sh, the server `make bench` uses) on a free loopback port: every subscriber
# joins, every published message reaches every subscriber once, with the size asked for and
# the type the reader times, and the pooled percentiles of --samples agree with the run's own.
# Exits 77 (CTest: skipped) when nginx or libnginx-mod-nchan is not installed.
set -euo pipefail
LG=${1:?usage: test_loadgen_nchan.sh LOADGEN}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/nchan.sh
. "$HERE/nchan.sh"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "skip: no nginx"; exit 77; }
[ -n "$(nchan_module)" ] || { echo "skip: libnginx-mod-nchan is not installed"; exit 77; }

DIR=$(mktemp -d /tmp/lg-nchan-test.XXXXXX)
chmod 755 "$DIR" # nginx's worker runs unprivileged when the test runs as root
trap 'nchan_stop; rm -rf "$DIR"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$DIR/out.txt" ] && cat "$DIR/out.txt" >&2; exit 1; }
get() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }

port=
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free port"
nchan_start "$DIR" "$port" 300 || fail "nginx + nchan did not start"

PEERS=300 ROUNDS=3 SIZE=777
"$LG" nchan --port "$port" --peers "$PEERS" --procs 3 --rounds "$ROUNDS" --gap 0.1 \
  --size "$SIZE" --timeout 20 --duration 60 --server-pid "$NCHAN_WORKER" \
  --samples "$DIR/samples.txt" --out "$DIR/out.txt" >"$DIR/stdout" 2>"$DIR/stderr" ||
  fail "loadgen nchan exited non-zero: $(cat "$DIR/stderr")"

[ "$(get mode "$DIR/out.txt")" = nchan ] || fail "mode"
[ "$(get joined "$DIR/out.txt")" = "$PEERS" ] || fail "not every subscriber joined"
[ "$(get rounds "$DIR/out.txt")" = "$ROUNDS" ] || fail "not every round completed"
[ "$(get ev_n "$DIR/out.txt")" = $((PEERS * ROUNDS)) ] || fail "deliveries != peers x rounds"
[ "$(get ev_missing "$DIR/out.txt")" = 0 ] || fail "missing deliveries"
[ "$(get count_poll.created "$DIR/out.txt")" = $((PEERS * ROUNDS)) ] || fail "counted messages"
[ "$(get avg_bytes_poll.created "$DIR/out.txt")" = "$SIZE" ] || fail "message size"
# Each publish reached subscribers: nchan answers 201 (202 would mean nobody listened).
for r in $(seq 0 $((ROUNDS - 1))); do
  grep -q "^round$r status=201 " "$DIR/out.txt" || fail "round $r was not published to subscribers"
done
# Latencies: positive, bounded, and the p99 at or above the p50.
awk -v a="$(get ev_p50_ms "$DIR/out.txt")" -v b="$(get ev_p99_ms "$DIR/out.txt")" \
  'BEGIN { exit !(a > 0 && b >= a && b < 5000) }' || fail "implausible latencies"
# The server CPU was read from the nginx worker.
awk -v c="$(get server_cpu_per_delivery_us "$DIR/out.txt")" 'BEGIN { exit !(c > 0) }' ||
  fail "no server CPU per delivery"
# --samples holds every delivery, and `loadgen stats` pools them to the same percentiles.
[ "$(wc -l <"$DIR/samples.txt")" = $((PEERS * ROUNDS)) ] || fail "samples file"
"$LG" stats "$DIR/samples.txt" "$DIR/samples.txt" >"$DIR/stats.txt" || fail "loadgen stats"
[ "$(get ev_n "$DIR/stats.txt")" = $((2 * PEERS * ROUNDS)) ] || fail "stats count"
for k in ev_p50_ms ev_p99_ms ev_max_ms; do
  [ "$(get $k "$DIR/stats.txt")" = "$(get $k "$DIR/out.txt")" ] || fail "stats $k differs"
done
# A second run on the same server, as the benchmark makes them (A B A B A B, then the curve):
# its subscribers must time its own message, not receive the ones published before they came.
"$LG" nchan --port "$port" --peers 50 --procs 2 --rounds 1 --size "$SIZE" --timeout 20 \
  --duration 60 --out "$DIR/out2.txt" >"$DIR/stdout2" 2>"$DIR/stderr2" ||
  fail "second run: $(cat "$DIR/stderr2")"
{ [ "$(get ev_n "$DIR/out2.txt")" = 50 ] && [ "$(get count_poll.created "$DIR/out2.txt")" = 50 ]; } ||
  fail "second run: the subscribers received $(get count_poll.created "$DIR/out2.txt") messages, not 50"
awk -v a="$(get ev_p50_ms "$DIR/out2.txt")" 'BEGIN { exit !(a > 0) }' ||
  fail "second run: latencies not positive (a message published before the run was timed)"
echo "ok: $PEERS subscribers x $ROUNDS messages of $SIZE bytes, p99 $(get ev_p99_ms "$DIR/out.txt") ms"
