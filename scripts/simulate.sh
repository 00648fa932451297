#!/usr/bin/env bash
# Runs the consensus simulator (Tests/ConsensusTests/SimulatorTests) over many more seeds than the
# 2,000 of the test suite, through TOTEM_SIM_SEEDS / TOTEM_SIM_FIRST_SEED, and prints what the
# seeds exercised and every violation, each with the command that replays it. Exits 1 if a seed
# failed; turn each into a regression test (docs/consensus.md, "Replaying a simulator seed").
#
#   scripts/simulate.sh                           seeds 1-20,000 of the normal mix
#   scripts/simulate.sh --seeds 50000 --first 30001
#   scripts/simulate.sh --harsh --seeds 10000     fault phases up to 12 s, up to 45% loss
#   scripts/simulate.sh --no-build ...            skip `swift build --build-tests`
#
# Debug build (the one `swift test` builds); the full output is kept in
# .build/simulate-<first>-<last>.log. A chunk stops at its first failing seed: the seeds after it
# in that chunk are not run.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=20000
first=1
harsh=
build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seeds) seeds="$2"; shift 2 ;;
        --first) first="$2"; shift 2 ;;
        --harsh) harsh=1; shift ;;
        --no-build) build=; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$seeds" =~ ^[0-9]+$ && "$first" =~ ^[0-9]+$ && "$seeds" -gt 0 ]] || { echo "--seeds and --first take positive numbers" >&2; exit 2; }

[[ -n "$build" ]] && swift build --build-tests
last=$((first + seeds - 1))
log=".build/simulate-$first-$last.log"
echo "seeds $first-$last${harsh:+ (harsh mix)}; output in $log"
started=$(date +%s)
status=0
TOTEM_SIM_SEEDS="$seeds" TOTEM_SIM_FIRST_SEED="$first" TOTEM_SIM_HARSH="${harsh:+1}" \
    swift test --skip-build --filter 'ConsensusTests.SimulatorTests' >"$log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - started ))

grep -E '^chunk [0-9]+:' "$log" | sort -t' ' -k2,2n || true
# The chunk lines: "chunk c: S seeds (N with node faults), H heights decided, ..."
awk -v elapsed="$elapsed" '
    /^chunk [0-9]+:/ { seeds += $3; gsub(/\(/, "", $5); faults += $5; heights += $9 }
    END { printf "total: %d seeds passed (%d with node faults), %d heights decided, %d s\n", seeds, faults, heights, elapsed }
' "$log"
failures=$(grep -E '^↳ seed [0-9]+ \(' "$log" || true)
if [[ -n "$failures" || $status -ne 0 ]]; then
    echo "FAILED:"
    [[ -n "$failures" ]] && echo "$failures" | sed 's/^↳ /  /'
    grep -E '^ *replay: ' "$log" | sort -u | sed 's/^ */  /' || true
    [[ -z "$failures" ]] && tail -20 "$log"
    exit 1
fi
echo "no violation"
