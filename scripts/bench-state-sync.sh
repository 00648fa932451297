#!/usr/bin/env bash
# Issue 14's state-sync target: a new node reaches the tip of a chain of WORKS registered works
# (default 10^6) from a certified snapshot, in under 2 minutes and 300 MiB. A fresh 4 + 1 release
# devnet with a checkpoint every CHECKPOINT_INTERVAL blocks (default 100) is filled with 500-work
# batches until it holds WORKS; once the next checkpoint is certified, observer0's data directory is
# deleted and it starts with --state-sync; the script reports the seconds until its /readyz says
# ready, its peak RssAnon and VmHWM, and the sync's log lines.
#
#   scripts/bench-state-sync.sh                          # WORKS=1000000
#   TOTEM_SKIP_BUILD=1 WORKS=200000 scripts/bench-state-sync.sh
#
# Environment: WORKS, CHECKPOINT_INTERVAL, OUT (a new temporary folder), TOTEM_SKIP_BUILD=1. The
# machine should have nothing else running (the report prints the load average).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WORKS=${WORKS:-1000000}
CHECKPOINT_INTERVAL=${CHECKPOINT_INTERVAL:-100}
OUT=${OUT:-$(mktemp -d /tmp/totem-statesync.XXXXXX)}
# shellcheck source=lib/bench-common.sh
source scripts/lib/bench-common.sh
export TOTEM_TESTNET_ARGS="--checkpoint-interval $CHECKPOINT_INTERVAL" TOTEM_STOP_TIMEOUT=10
D=$TOTEM_DEVNET_DIR
api() { curl -s -m 5 "http://127.0.0.1:2870$1$2"; }
height() { api "$1" /v1/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); reports in $OUT"
devnet_fresh
echo "devnet up $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)"
works=0
while [[ $works -lt $WORKS ]]; do
    "$T" bench --api "$APIS" --root-key "$D/root_registrar.json" --rate 0 --works-per-tx 500 --duration 60 \
        --presign 400 --drain 120 > "$OUT/fill.txt" 2> "$OUT/fill.log"
    c=$(awk '/^  total /{print $2}' "$OUT/fill.txt")
    works=$((works + ${c:-0} * 500))
    echo "fill $(date -u +%T): +${c:-0} txs, $works works; $(grep '^  works ' "$OUT/fill.txt" | sed 's/^ *//')"
    [[ ${c:-0} -gt 0 ]] || { echo "the fill committed nothing: stopping"; exit 1; }
done
target=$(( ($(height 1) / CHECKPOINT_INTERVAL + 1) * CHECKPOINT_INTERVAL ))
echo "waiting for the checkpoint at height $target to be certified (an idle chain makes a block every emptyBlockIntervalMs)"
for _ in $(seq 1 900); do
    c=$(api 5 /metrics | awk '/^totem_checkpoint_height /{print int($2)}')
    [[ ${c:-0} -ge $target ]] && break
    sleep 1
done
grep -h "snapshot written" "$D/node0/node.log" | tail -1
pid=$(cat "$D/observer0/node.pid")
kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
rm -rf "$D/observer0/data"
echo "observer0: data deleted; starting it with --state-sync at $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s.%N)
nohup "$T" start --home "$D/observer0" --state-sync >> "$D/observer0/node.log" 2>&1 < /dev/null &
np=$!
echo "$np" > "$D/observer0/node.pid"
peak=0
while true; do
    a=$(awk '/^RssAnon:/{print $2}' "/proc/$np/status" 2>/dev/null)
    [[ -n $a && $a -gt $peak ]] && peak=$a
    [[ $(curl -s -o /dev/null -w '%{http_code}' -m 2 http://127.0.0.1:28705/readyz) == 200 ]] && break
    kill -0 "$np" 2>/dev/null || { echo "observer0 exited: $(tail -3 "$D/observer0/node.log")"; exit 1; }
    sleep 0.2
done
t1=$(date +%s.%N)
echo "state sync to /readyz ready: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}') s (target < 120); peak RssAnon $((peak / 1024)) MiB (target < 300); VmHWM $(awk '/^VmHWM:/{print int($2/1024)}' "/proc/$np/status") MiB"
grep -h "state sync" "$D/observer0/node.log" | tail -3
echo "heights: node0 $(height 1), observer0 $(height 5)"
bash scripts/devnet.sh down >/dev/null 2>&1 || true
