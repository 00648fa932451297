#!/usr/bin/env bash
# Runs the whole test suite: unit, conformance, simulator and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build
