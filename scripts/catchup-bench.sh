#!/usr/bin/env bash
# Catch-up benchmark (issue 11's floor): on a fresh release devnet, stop the observer, load the
# validators with `totemd bench` at RATE tx/s until the chain is BEHIND blocks ahead of it, restart
# the observer while the load goes on, and report how long it took to reach the tip, with its
# applied rates. Prints measured figures and the conditions; it asserts nothing.
#
#   scripts/catchup-bench.sh            RATE=250 BEHIND=5000 (defaults)
#
# Environment: RATE (tx/s offered), BEHIND (blocks), TOTEM_DEVNET_DIR (default: a new temporary
# folder, removed at the end), TOTEM_SKIP_BUILD=1 (use the existing release binary), PERF=seconds
# (profile the restarted observer with `perf record` for that long and print where its CPU went).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RATE="${RATE:-250}"
BEHIND="${BEHIND:-5000}"
export TOTEM_DEVNET_DIR="${TOTEM_DEVNET_DIR:-$(mktemp -d /tmp/totem-catchup.XXXXXX)}"
export TOTEM_P2P_BASE_PORT="${TOTEM_P2P_BASE_PORT:-27601}" TOTEM_API_BASE_PORT="${TOTEM_API_BASE_PORT:-27701}"
BIN="$ROOT/.build/release/totemd"
DEVNET="$ROOT/scripts/devnet.sh"
OBS="$TOTEM_DEVNET_DIR/observer0"
V0="http://127.0.0.1:$TOTEM_API_BASE_PORT"
OBS_API="http://127.0.0.1:$((TOTEM_API_BASE_PORT + 4))"
say() { printf 'catchup-bench: %s\n' "$*"; }
# A node's height (-1 when it does not answer); no interpreter start-up, so two polls are close.
height() { local h; h="$(curl -s --max-time 2 "$1/v1/status" | grep -o '"height":[0-9]*' | cut -d: -f2)"; echo "${h:--1}"; }

cleanup() {
  [[ -n "${BENCH_PID:-}" ]] && kill "$BENCH_PID" 2>/dev/null || true
  "$DEVNET" down >/dev/null 2>&1 || true
  [[ "$TOTEM_DEVNET_DIR" == /tmp/totem-catchup.* ]] && rm -rf "$TOTEM_DEVNET_DIR"
}
trap cleanup EXIT

"$DEVNET" up >/dev/null
say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
kill -KILL "$(cat "$OBS/node.pid")"; rm -f "$OBS/node.pid"
start_height="$(height "$V0")"
say "observer stopped at height $start_height; loading the validators at $RATE tx/s until $BEHIND blocks ahead"
APIS=()
for i in 0 1 2 3; do APIS+=(--api "http://127.0.0.1:$((TOTEM_API_BASE_PORT + i))"); done
"$BIN" bench "${APIS[@]}" --root-key "$TOTEM_DEVNET_DIR/root_registrar.json" --rate "$RATE" --duration 3600 \
  --identities 100 --presign 200000 --batch 20 --no-image-code > "$TOTEM_DEVNET_DIR/bench.log" 2>&1 &
BENCH_PID=$!
load_started=$SECONDS
while (( $(height "$V0") < start_height + BEHIND )); do
  kill -0 "$BENCH_PID" 2>/dev/null || { tail -20 "$TOTEM_DEVNET_DIR/bench.log"; exit 1; }
  sleep 1
done
behind=$(( $(height "$V0") - start_height ))
chain_rate=$(python3 -c "print(f'{$behind / max(1, $SECONDS - $load_started):.1f}')")
say "chain is $behind blocks ahead after $((SECONDS - load_started)) s ($chain_rate blocks/s); restarting the observer"
printf '\n==== %s start observer0 (catch-up bench)\n' "$(date -u +%FT%TZ)" >> "$OBS/node.log"
nohup "$BIN" start --home "$OBS" >> "$OBS/node.log" 2>&1 < /dev/null &
echo $! > "$OBS/node.pid"
if [[ -n "${PERF:-}" ]]; then
  perf record -q -e cpu-clock -F 999 -g -p "$(cat "$OBS/node.pid")" -o "$TOTEM_DEVNET_DIR/perf.data" -- sleep "$PERF" >/dev/null 2>&1 &
  PERF_PID=$!
fi
t0=$(date +%s.%N)
deadline=$((SECONDS + 600))
while :; do
  v=$(height "$V0"); o=$(height "$OBS_API")  # the validator first: caught up means o >= v - 2
  if (( o >= 0 && o + 2 >= v )); then break; fi
  (( SECONDS < deadline )) || { say "not caught up in 600 s"; exit 1; }
  sleep 0.1
done
t1=$(date +%s.%N)
rss=$(ps -o rss= -p "$(cat "$OBS/node.pid")")
say "observer reached the tip (height $o, validators $v) in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s from its restart, $behind blocks behind at restart, under $RATE tx/s; RSS $((rss / 1024)) MiB"
grep -E "catching up|caught up" "$OBS/node.log" | tail -n 8
say "observer's commit timings (/metrics):"
curl -s --max-time 2 "$OBS_API/metrics" | grep -E "^totem_(block_commit|lmdb_block_write|signing)_seconds_(sum|count)|^totem_catchup|^totem_blocks_applied" || true
if [[ -n "${PERF_PID:-}" ]]; then
  wait "$PERF_PID" || true
  say "where the observer's CPU went while catching up (perf, by shared object, then the top symbols):"
  perf report -i "$TOTEM_DEVNET_DIR/perf.data" --stdio --no-children --sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -12
  perf report -i "$TOTEM_DEVNET_DIR/perf.data" --stdio --no-children --sort sym 2>/dev/null | grep -E '^ +[0-9]' | head -25
fi
if [[ -n "${KEEP:-}" ]]; then say "KEEP set: leaving the devnet in $TOTEM_DEVNET_DIR running"; trap - EXIT; kill "$BENCH_PID"; fi
