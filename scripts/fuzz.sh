#!/usr/bin/env bash
# Builds the libFuzzer targets (Sources/Fuzz: every decoder of bytes from outside the node) and
# runs each for a bounded time from a corpus seeded with testdata/. A crash, a failed round-trip
# check, a timeout or a memory blow-up stops that target, saves the input under
# .build-fuzz/crashes/<target>/ and makes the script exit 1; turn each into a regression test.
#
#   scripts/fuzz.sh                       every target, 30 s each
#   scripts/fuzz.sh --seconds 600 tx      one target, longer
#   scripts/fuzz.sh --runs 10000000 tx    until 10^7 executions
#
# Targets: tx block header consensus signing-state p2p-message hello json genesis key-file
# certificate image-code snapshot. Needs the Swift toolchain's libFuzzer (-sanitize=fuzzer, Linux).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
runs=
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(tx block header consensus signing-state p2p-message hello json genesis key-file
                                       certificate image-code snapshot)

build=.build-fuzz
swift build -c release --product totem-fuzz --build-path "$build" -Xswiftc -sanitize=fuzzer -Xlinker --export-dynamic
bin="$build/release/totem-fuzz"
python3 scripts/lib/fuzz_corpus.py "$build/corpus" >/dev/null

failed=()
for t in "${targets[@]}"; do
    mkdir -p "$build/corpus/$t" "$build/crashes/$t"
    limit=(-max_total_time="$seconds")
    [[ -n "$runs" ]] && limit=(-runs="$runs")
    log="$build/$t.log"
    set +e
    TOTEM_FUZZ="$t" TOTEM_FUZZ_GENESIS=testdata/totem/certificates/genesis.json \
        "$bin" "$build/corpus/$t" "${limit[@]}" -artifact_prefix="$build/crashes/$t/" -print_final_stats=1 \
        -rss_limit_mb=2048 -timeout=10 -max_len=70000 > "$log" 2>&1
    rc=$?
    set -e
    execs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ {print $NF}' "$log")
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
    if [[ $rc -eq 0 ]]; then
        printf 'fuzz %-14s ok      %12s executions  %8s/s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$cov"
    else
        printf 'fuzz %-14s FAILED  after %s executions (exit %s): %s\n' "$t" "${execs:-?}" "$rc" "$(ls "$build/crashes/$t" | tail -1)"
        grep -E "fuzz check failed|Fatal error|ERROR: libFuzzer|SUMMARY" "$log" | head -5
        failed+=("$t")
    fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: failed: ${failed[*]} (inputs in $build/crashes/, logs in $build/<target>.log)"
    exit 1
fi
