#!/usr/bin/env bash
# Issue 15's "flat from zero to a big chain": the same two measurements on a fresh 4 + 1 release
# devnet and again once the chain holds WORKS registered works, with what each node holds then.
#   1. fresh: `bench --rate 0` (single-signature RegisterWork) and `bench --rate RATE` (latency);
#   2. fill: `bench --rate 0 --works-per-tx FILL_WORKS_PER_TX` (RegisterWorkBatch, 500: 1000 works exceed the devnet's maxTxBytes) until the chain holds WORKS;
#   3. big: the two measurements of 1 again;
#   4. per node: RssAnon (from /proc), data.mdb bytes and bytes per registered work; the ratios
#      big / fresh, against issue 15's floors (throughput >= 0.80 of fresh, RssAnon <= 300 MiB) and
#      targets (within 15 %, RssAnon <= 200 MiB, data.mdb <= 600 B per work);
#   5. with ETCD=1, a 4-node etcd cluster's figures of the same run (scripts/bench/etcd_bench.sh).
#
#   scripts/bench-at-scale.sh                      # WORKS=1000000, 30 s phases, RATE=1000
#   WORKS=100000 DURATION=20 scripts/bench-at-scale.sh
#
# Environment: WORKS (1000000), DURATION (seconds per measurement, 30), RATE (1000), FILL_CHUNK_S
# (seconds per fill run, 60), CONCURRENCY (the bench's POSTs in flight at rate 0, 4), ETCD (0), OUT
# (report folder, a new temporary one), TOTEM_SKIP_BUILD=1 (use the existing release build), KEEP_DEVNET=1
# (keep the nodes' data at the end; by default it is removed, their logs and the reports stay). The
# machine should have nothing else running: the reports print the load average at each step.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKS=${WORKS:-1000000}
DURATION=${DURATION:-30}
RATE=${RATE:-1000}
FILL_CHUNK_S=${FILL_CHUNK_S:-60}
FILL_WORKS_PER_TX=${FILL_WORKS_PER_TX:-500}
CONCURRENCY=${CONCURRENCY:-4}
OUT=${OUT:-$(mktemp -d /tmp/totem-scale.XXXXXX)}
mkdir -p "$OUT"
source scripts/lib/bench-common.sh
ROOT_KEY="$TOTEM_DEVNET_DIR/root_registrar.json"

load() { cut -d' ' -f1-3 /proc/loadavg; }
# The works a bench report says were committed, at $2 works per tx.
works_in() {
    awk -v k="$2" '/^  total /{print $2 * k}' "$1"
}

measure() {  # <label>: the throughput and latency runs; prints their lines
    "$T" bench --api "$APIS" --root-key "$ROOT_KEY" --rate 0 --duration "$DURATION" \
        --concurrency "$CONCURRENCY" > "$OUT/$1-rate0.txt" 2> "$OUT/$1-rate0.log"
    local a; a=$(bench_line "$OUT/$1-rate0.txt")
    "$T" bench --api http://127.0.0.1:28701 --root-key "$ROOT_KEY" --rate "$RATE" --duration "$DURATION" \
        > "$OUT/$1-rate$RATE.txt" 2> "$OUT/$1-rate$RATE.log"
    local b; b=$(bench_line "$OUT/$1-rate$RATE.txt")
    echo "$a|$b"
}
count_measured() {  # <label>: adds the works of a measurement (run in a subshell by $(measure …))
    CHAIN_WORKS=$((CHAIN_WORKS + $(works_in "$OUT/$1-rate0.txt" 1) + $(works_in "$OUT/$1-rate$RATE.txt" 1)))
}
# A counter of a node's /metrics (0 when absent).
node_metric() {
    local listen
    listen=$(sed -n 's/^listen = "\(127[^"]*\)"$/\1/p' "$1/config.toml" | tail -1)
    curl -s --max-time 5 "http://$listen/metrics" | awk -v m="$2" '$1 == m {v = $2} END {printf "%.0f", v}'
}
nodes_line() {  # RssAnon and data.mdb of every node, with its memory trims and LMDB reopens so far
    local d pid rss mdb
    for d in "$TOTEM_DEVNET_DIR"/node* "$TOTEM_DEVNET_DIR"/observer*; do
        pid=$(tr -dc '0-9' < "$d/node.pid")
        rss=$(awk '/^RssAnon:/{printf "%.0f", $2/1024}' "/proc/$pid/status")
        mdb=$(find "$d" -name data.mdb -printf '%s\n' | head -1)
        printf '  %-10s RssAnon %4s MiB  data.mdb %5.0f MiB  %4.0f B/work  trims %s, LMDB reopens %s\n' "$(basename "$d")" "$rss" \
            "$(awk -v b="$mdb" 'BEGIN{print b/1048576}')" "$(awk -v b="$mdb" -v w="$CHAIN_WORKS" 'BEGIN{print (w > 0 ? b/w : 0)}')" \
            "$(node_metric "$d" totem_memory_trims_total)" "$(node_metric "$d" totem_lmdb_reopens_total)"
    done
}
max_rss() {
    local d pid m=0 r
    for d in "$TOTEM_DEVNET_DIR"/node* "$TOTEM_DEVNET_DIR"/observer*; do
        pid=$(tr -dc '0-9' < "$d/node.pid")
        r=$(awk '/^RssAnon:/{printf "%.0f", $2/1024}' "/proc/$pid/status")
        (( r > m )) && m=$r
    done
    echo "$m"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "conditions: ${DURATION} s per measurement, open-loop rate ${RATE}/s, fill to ${WORKS} works in runs of ${FILL_CHUNK_S} s of ${FILL_WORKS_PER_TX}-work batches; reports in $OUT"
devnet_fresh
CHAIN_WORKS=0

echo "fresh (load $(load)):"
FRESH=$(measure fresh)
count_measured fresh
echo "  rate 0:    ${FRESH%%|*}"
echo "  rate $RATE: ${FRESH##*|}"
nodes_line

FILL_START=$(date +%s)
n=0
while (( CHAIN_WORKS < WORKS )); do
    n=$((n + 1))
    "$T" bench --api "$APIS" --root-key "$ROOT_KEY" --rate 0 --works-per-tx "$FILL_WORKS_PER_TX" --duration "$FILL_CHUNK_S" \
        --presign 200 --drain 600 > "$OUT/fill-$n.txt" 2> "$OUT/fill-$n.log"
    CHAIN_WORKS=$((CHAIN_WORKS + $(works_in "$OUT/fill-$n.txt" "$FILL_WORKS_PER_TX")))
    echo "fill run $n: $(bench_line "$OUT/fill-$n.txt" | cut -d' ' -f2); chain holds about $CHAIN_WORKS works (load $(load))"
done
echo "filled in $(( $(date +%s) - FILL_START )) s"

echo "big, $CHAIN_WORKS works (load $(load)):"
BIG=$(measure big)
count_measured big
echo "  rate 0:    ${BIG%%|*}"
echo "  rate $RATE: ${BIG##*|}"
nodes_line
RSS=$(max_rss)

echo "ratios (big / fresh, same run):"
echo "  throughput     $(ratio "$(field tx_per_s "${BIG%%|*}")" "$(field tx_per_s "${FRESH%%|*}")")   (floor >= 0.80, target >= 0.85)"
echo "  p50 at $RATE/s  $(ratio "$(field p50_ms "${BIG##*|}")" "$(field p50_ms "${FRESH##*|}")")   (target <= 1.15)"
echo "  p99 at $RATE/s  $(ratio "$(field p99_ms "${BIG##*|}")" "$(field p99_ms "${FRESH##*|}")")   (target <= 1.15)"
echo "  largest RssAnon ${RSS} MiB   (floor <= 300, target <= 200)"

if [[ "${ETCD:-0}" == 1 ]]; then
    echo "etcd, 4 nodes, same machine (load $(load)):"
    echo "  rate 0:    $(NODES=4 CLIENTS=64 DURATION="${DURATION}s" bash scripts/bench/etcd_bench.sh)"
    echo "  rate $RATE: $(NODES=4 CLIENTS=64 DURATION="${DURATION}s" RATE="$RATE" bash scripts/bench/etcd_bench.sh)"
fi
