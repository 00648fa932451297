#!/usr/bin/env bash
# totemd next to etcd on this machine, in one run, and their ratios (issue 15's figures):
#   1. throughput: a fresh 4 + 1 release devnet under `totemd bench --rate 0` (single-signature
#      RegisterWork), then a 4-node etcd cluster under 64 closed-loop clients (scripts/bench/etcd_bench.sh);
#   2. latency at the same offered rate (open loop): totemd `--rate R`, etcd `RATE=R`.
# The two never run at the same time: each has the machine to itself. Prints each side's line and
# the ratios; the full bench reports go to $OUT.
#
#   scripts/compare-etcd.sh                       # 30 s phases, R = 1000
#   DURATION=60 RATE=500 scripts/compare-etcd.sh
#
# Environment: DURATION (seconds per phase, 30), RATE (open-loop rate, 1000), WORKS_PER_TX (1; more
# sends RegisterWorkBatch), CONCURRENCY (the bench's POSTs in flight at rate 0, 4), OUT (report
# folder, a new temporary one), TOTEM_SKIP_BUILD=1 (use the existing release build), KEEP_DEVNET=1
# (keep the last devnet's node data; by default it is removed, their logs and the reports stay). Needs root or
# sudo only for apt-get (etcd, Go; etcd_bench.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}
RATE=${RATE:-1000}
WORKS_PER_TX=${WORKS_PER_TX:-1}
CONCURRENCY=${CONCURRENCY:-4}
OUT=${OUT:-$(mktemp -d /tmp/totem-compare.XXXXXX)}
mkdir -p "$OUT"
source scripts/lib/bench-common.sh

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "conditions: ${DURATION} s per phase, open-loop rate ${RATE}/s, ${WORKS_PER_TX} work(s) per tx, ${CONCURRENCY} POSTs in flight at rate 0; reports in $OUT"

# 1. Throughput.
devnet_fresh
"$T" bench --api "$APIS" --root-key "$TOTEM_DEVNET_DIR/root_registrar.json" --rate 0 --duration "$DURATION" \
    --works-per-tx "$WORKS_PER_TX" --concurrency "$CONCURRENCY" > "$OUT/totemd-rate0.txt" 2> "$OUT/totemd-rate0.log"
bash scripts/devnet.sh down >/dev/null 2>&1
TOT0=$(bench_line "$OUT/totemd-rate0.txt" totemd_)
ETCD0=$(NODES=4 CLIENTS=64 DURATION="${DURATION}s" bash scripts/bench/etcd_bench.sh)

# 2. Latency at the same offered rate.
devnet_fresh
"$T" bench --api "$APIS" --root-key "$TOTEM_DEVNET_DIR/root_registrar.json" --rate "$RATE" --duration "$DURATION" \
    --works-per-tx "$WORKS_PER_TX" > "$OUT/totemd-rate$RATE.txt" 2> "$OUT/totemd-rate$RATE.log"
bash scripts/devnet.sh down >/dev/null 2>&1
TOTR=$(bench_line "$OUT/totemd-rate$RATE.txt" totemd_)
ETCDR=$(NODES=4 CLIENTS=64 DURATION="${DURATION}s" RATE="$RATE" bash scripts/bench/etcd_bench.sh)

echo "rate 0:      $TOT0"
echo "             $ETCD0 (4 nodes, 64 clients)"
echo "rate $RATE:   $TOTR"
echo "             $ETCDR (4 nodes, open loop)"
echo "ratios (totemd / etcd, same run):"
echo "  throughput  $(ratio "$(field totemd_tx_per_s "$TOT0")" "$(field etcd_puts_per_s "$ETCD0")")   (issue 15: target >= 1.0, floor >= 0.85)"
echo "  p50 at $RATE/s  $(ratio "$(field p50_ms "$TOTR")" "$(field p50_ms "$ETCDR")")   (target <= 2, floor <= 4)"
echo "  p99 at $RATE/s  $(ratio "$(field p99_ms "$TOTR")" "$(field p99_ms "$ETCDR")")   (target <= 3)"
