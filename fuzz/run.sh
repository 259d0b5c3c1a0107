#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - builds the libFuzzer harnesses and runs each for a bounded time.
#
#   fuzz/run.sh [SECONDS] [HARNESS...]      (default: 60 seconds, every harness)
#
# Each harness starts from its committed seeds (fuzz/corpus/<name>/, read only: new inputs go
# to a temporary working corpus, so the committed one never grows by itself) with its
# dictionary (fuzz/<name>.dict) and an input size fitting its surface. RTK_FUZZ_JOBS harnesses
# run at once (default: the number of CPUs, at most 2). The script exits non-zero if any
# harness crashes, leaks, times out or runs out of memory; the input that did it is left in
# build-fuzz/fuzz-artifacts/ with the harness's log, and the command to replay it is printed.
#
# Environment: RTK_FUZZ_BUILD (build folder, default build-fuzz), RTK_FUZZ_JOBS,
# RTK_FUZZ_KEEP=1 keeps the working corpora (their folder is printed), RTK_FUZZ_WORK=DIR
# uses DIR for them and keeps it, so a later run goes on from what an earlier one found.
set -eu

SECS=${1:-60}
[ $# -gt 0 ] && shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${RTK_FUZZ_BUILD:-$ROOT/build-fuzz}
ALL="ws channel_msg ptoken query time json_api http server views"
HARNESSES=${*:-$ALL}
NCPU=$(nproc 2>/dev/null || echo 2)
JOBS=${RTK_FUZZ_JOBS:-$([ "$NCPU" -gt 2 ] && echo 2 || echo "$NCPU")}

# The input size each surface can see (bytes).
max_len() {
    case $1 in
    ws) echo 65560 ;;          # 2 split bytes + the largest frame (RTK_WS_MAX_FRAME) and more
    channel_msg) echo 65537 ;; # 1 peer byte + a 64 KiB message (RTK_WS_MAX_MESSAGE)
    ptoken) echo 4096 ;;       # twice RTK_PTOKEN_MAX
    query) echo 16384 ;;       # the head limit bounds a request target
    time) echo 64 ;;           # the buffer start_time/end_time are decoded into
    json_api) echo 65536 ;;    # bodies (the 1 MiB limit itself is tested in e2e)
    http) echo 32768 ;;        # twice the 16 KiB head limit
    server) echo 32768 ;;      # the same, through a socket
    views) echo 40000 ;;       # every string at its validated maximum, four bytes a character
    *) echo "run.sh: unknown harness $1 (known: $ALL)" >&2; exit 2 ;;
    esac
}
for h in $HARNESSES; do max_len "$h" >/dev/null; done

if ! command -v clang >/dev/null; then
    echo "run.sh: clang is required (scripts/bootstrap.sh installs it)" >&2
    exit 2
fi

# Working corpora and the worlds' stores live in memory when /dev/shm is there.
BASE=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && BASE=/dev/shm
if [ -n "${RTK_FUZZ_WORK:-}" ]; then
    WORK=$RTK_FUZZ_WORK
    RTK_FUZZ_KEEP=1
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d "$BASE/rtk-fuzz-run.XXXXXX")
fi

echo "fuzz: building in $BUILD"
if ! { CC=clang cmake -S "$ROOT" -B "$BUILD" -DRTK_FUZZ=ON -DRTK_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build "$BUILD" -j "$NCPU" --target fuzzers; } \
    >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log"
    echo "fuzz: build failed"
    exit 1
fi
ART=$BUILD/fuzz-artifacts
mkdir -p "$ART"

# The harnesses with a server world keep state between inputs (polls, sessions, caches), so
# libFuzzer's leak check after each input that allocated more than it freed would scan the
# heap every time for nothing. For them LeakSanitizer runs once, at exit, after the harness
# has torn its world down: a real leak still fails the run (without a single-input
# reproducer; the log has the stack).
leak_flag() {
    case $1 in
    channel_msg | json_api | server) echo 0 ;;
    *) echo 1 ;;
    esac
}

run_one() {
    h=$1
    mkdir -p "$WORK/$h/corpus" "$WORK/$h/tmp"
    # -timeout: one input taking 10 s is a finding (a hang), as is RSS over 2 GiB.
    (cd "$WORK/$h" && TMPDIR="$WORK/$h/tmp" ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$BUILD/fuzz/fuzz_$h" "$WORK/$h/corpus" "$ROOT/fuzz/corpus/$h" \
        -dict="$ROOT/fuzz/$h.dict" -max_len="$(max_len "$h")" -max_total_time="$SECS" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -detect_leaks="$(leak_flag "$h")" \
        -artifact_prefix="$ART/$h-" >"$WORK/$h/log" 2>&1)
}

summary() {
    h=$1
    log=$WORK/$h/log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 |
        sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([^ ]*\).*/cov \1, ft \2, corpus \3/p')
    printf 'fuzz: %-12s %s  %s runs, %s exec/s, %s\n' "$h" "$2" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}"
}

failed=""
# shellcheck disable=SC2086 # word splitting wanted: one harness per word
set -- $HARNESSES
while [ $# -gt 0 ]; do
    batch=""
    i=0
    while [ $# -gt 0 ] && [ $i -lt "$JOBS" ]; do
        mkdir -p "$WORK/$1"
        run_one "$1" &
        echo $! >"$WORK/$1/pid"
        batch="$batch $1"
        shift
        i=$((i + 1))
    done
    echo "fuzz: running$batch for ${SECS}s"
    for h in $batch; do
        if wait "$(cat "$WORK/$h/pid")"; then
            summary "$h" ok
        else
            summary "$h" FAILED
            cp "$WORK/$h/log" "$ART/$h.log"
            failed="$failed $h"
            echo "fuzz: --- $h (log: $ART/$h.log) ---"
            grep -E 'ERROR|invariant broken|SUMMARY|runtime error|Test unit written' \
                "$WORK/$h/log" | head -n 20
            unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$WORK/$h/log" | tail -n 1)
            [ -n "$unit" ] && echo "fuzz: replay with: $BUILD/fuzz/fuzz_$h $unit"
        fi
    done
done

if [ "${RTK_FUZZ_KEEP:-0}" = 1 ]; then
    echo "fuzz: working corpora kept in $WORK"
else
    rm -rf "$WORK"
fi
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed"
    exit 1
fi
echo "fuzz: all harnesses ran ${SECS}s without a finding"
