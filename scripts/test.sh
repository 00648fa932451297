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
# --durations: the slowest tests named at the end, to watch the 30-minute CI budget (a whole run took
# 29.5 min on 2026-12-04 on a slow VM: build 6, unit tests 3, e2e 14.3, the fault campaign about 6.5).
TOTEMD="$PWD/.build/debug/totemd" python3 -m pytest tests/e2e -q --durations=15
