#!/usr/bin/env bash
# Where a validator's CPU goes at full load (issue 15): a fresh 4 + 1 release devnet, `totemd bench
# --rate 0`, and `perf record` of one validator for part of the timed phase, split by
# scripts/lib/perf_split.py into signature checks, LMDB, codec and hashing, networking, the Swift
# runtime, the kernel, the node's own code, and idle.
#
#   scripts/profile-node.sh            # 30 s of load, 20 s profiled, node1
# Environment: DURATION (s of load, 30), PROFILE (s profiled, 20), NODE (devnet node, 1), HZ (999),
# RATE (0), WORKS_PER_TX (1), CONCURRENCY (the bench's POSTs in flight at rate 0, 16), TOTEM_SKIP_BUILD=1 (use .build/release/totemd as it is), OUT (folder),
# KEEP_DEVNET=1 (keep the nodes' data; by default it is removed, their logs, perf.data and the reports stay).
# Needs perf (Debian: linux-perf; scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}; PROFILE=${PROFILE:-20}; NODE=${NODE:-1}; HZ=${HZ:-999}
RATE=${RATE:-0}; WORKS_PER_TX=${WORKS_PER_TX:-1}; CONCURRENCY=${CONCURRENCY:-16}
OUT=${OUT:-$(mktemp -d /tmp/totem-profile.XXXXXX)}
mkdir -p "$OUT"
command -v perf >/dev/null || bash scripts/install-deps.sh linux-perf
T="$PWD/.build/release/totemd"
[[ "${TOTEM_SKIP_BUILD:-}" == 1 ]] || swift build -c release --product totemd >&2

export TOTEM_DEVNET_DIR="$OUT/devnet" TOTEM_SKIP_BUILD=1 TOTEM_P2P_BASE_PORT=29601 TOTEM_API_BASE_PORT=29701
APIS=http://127.0.0.1:29701,http://127.0.0.1:29702,http://127.0.0.1:29703,http://127.0.0.1:29704
# Stopped at the end, its nodes' data removed unless KEEP_DEVNET=1 (logs, perf.data and the reports stay).
trap 'bash scripts/devnet.sh down >/dev/null 2>&1 || true; [[ "${KEEP_DEVNET:-}" == 1 ]] || rm -rf "$TOTEM_DEVNET_DIR"/*/data' EXIT
bash scripts/devnet.sh down >/dev/null 2>&1 || true
rm -rf "$TOTEM_DEVNET_DIR"
bash scripts/devnet.sh up >&2
PID=$(tr -dc '0-9' < "$TOTEM_DEVNET_DIR/node$NODE/node.pid")

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "conditions: fresh 4 + 1 devnet, bench --rate $RATE --works-per-tx $WORKS_PER_TX for $DURATION s, node$NODE (pid $PID) profiled for $PROFILE s at $HZ Hz; files in $OUT"
"$T" bench --api "$APIS" --root-key "$TOTEM_DEVNET_DIR/root_registrar.json" --rate "$RATE" --duration "$DURATION" \
    --works-per-tx "$WORKS_PER_TX" --concurrency "$CONCURRENCY" > "$OUT/bench.txt" 2> "$OUT/bench.log" &
BENCH=$!
# The timed phase starts after the bench's setup (identities registered, txs signed).
for _ in $(seq 600); do grep -q "timed phase" "$OUT/bench.log" 2>/dev/null && break; sleep 0.1; done
sleep 3
perf record -q -e cpu-clock -F "$HZ" -g -p "$PID" -o "$OUT/perf.data" -- sleep "$PROFILE" >/dev/null 2>&1
wait "$BENCH" || true
grep -E "^  committed |submit to seen" -A1 "$OUT/bench.txt" | head -4 || true
python3 scripts/lib/perf_split.py "$OUT/perf.data" "$PROFILE" "$(nproc)" "$HZ"
