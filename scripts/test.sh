#!/usr/bin/env bash
# Runs the whole test suite: unit, conformance, simulator, crash and socket tests (swift test), a
# short run of every fuzz target, then the end-to-end suite with real totemd processes on loopback (pytest, tests/e2e).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages first (only those missing), so this can be the first command on a new machine.
# Test tools on top of the build's: faketime (libfaketime, tests/e2e/test_clock_skew.py); chromium,
# chromium-driver and python3-selenium (a headless browser for the explorer and verifier page tests);
# iproute2 and iptables (the fault campaign's network namespaces, scripts/cluster.sh); prometheus
# (its promtool) and python3-yaml (tests/e2e/test_monitoring.py checks config/monitoring/); systemd
# (systemd-analyze: tests/e2e/test_systemd_unit.py checks config/totemd.service offline).
bash scripts/install-deps.sh faketime chromium chromium-driver python3-selenium iproute2 iptables prometheus python3-yaml systemd

swift build --build-tests
# The socket suites measure throughput under a flood: they run on their own, after the CPU-heavy
# suites (consensus simulator, crash tests) rather than beside them.
swift test --skip-build --skip SocketTests
swift test --skip-build --filter SocketTests

# Every libFuzzer target (scripts/fuzz.sh: each decoder of bytes from outside the node), a short
# bounded run each from the corpus seeded with testdata/; a crash fails the run. Its own build
# (-sanitize=fuzzer, in .build-fuzz), about 1.5-2 minutes from clean (no SwiftNIO: it needs only P2PWire).
bash scripts/fuzz.sh --seconds "${TOTEM_FUZZ_SECONDS:-6}"

# The end-to-end suite drives the debug totemd just built, through its own Python client.
if ! python3 -c "import pytest, cryptography" 2>/dev/null; then
    python3 -m pip install --quiet pytest cryptography
fi
# The schema-driven API test (tests/e2e/test_api_schema.py) runs schemathesis, pinned.
if ! python3 -c "import schemathesis, sys; sys.exit(schemathesis.__version__ != '4.32.5')" 2>/dev/null; then
    python3 -m pip install --quiet schemathesis==4.32.5
fi
# The fault campaign (tests/e2e/test_fault_campaign.py: its own cluster in network namespaces,
# about 7 minutes, mostly waiting on its fault windows) runs beside the rest of the e2e suite rather
# than after it: the suite keeps the machine about a third busy, and run one after the other they
# took 31 of CI's 30 minutes on 2026-12-04's slow VM. Its output follows the suite's. Sharing the two
# cores, its time bounds are doubled (TOTEM_E2E_TIMEOUT_SCALE, tests/e2e/totem_net.py): the first
# run beside the suite missed one by 0.5 s (a wiped validator at the tip 30.5 s after restart, bound
# 30 s: it re-fetches the whole chain, 3,500 heights by then, in a debug build).
# --durations: the slowest tests named at the end, to watch the budget.
e2e_tmp=$(mktemp -d /tmp/totem-e2e.XXXXXX)
export TOTEMD="$PWD/.build/debug/totemd"
campaign_scale=$(awk -v s="${TOTEM_E2E_TIMEOUT_SCALE:-1}" 'BEGIN { print 2 * s }')
TOTEM_E2E_TIMEOUT_SCALE="$campaign_scale" python3 -m pytest tests/e2e/test_fault_campaign.py -q \
    --basetemp "$e2e_tmp/campaign" > "$e2e_tmp/campaign.log" 2>&1 &
campaign=$!
suite_rc=0
python3 -m pytest tests/e2e -q --durations=15 --ignore=tests/e2e/test_fault_campaign.py --basetemp "$e2e_tmp/suite" || suite_rc=$?
campaign_rc=0
wait "$campaign" || campaign_rc=$?
echo "==== the fault campaign (tests/e2e/test_fault_campaign.py, run beside the suite), exit $campaign_rc"
cat "$e2e_tmp/campaign.log"
[[ $suite_rc -eq 0 && $campaign_rc -eq 0 ]]
