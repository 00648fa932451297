# Shared by scripts/compare-etcd.sh and scripts/bench-at-scale.sh (sourced from the repository root):
# the release build, a devnet on ports of its own in $OUT/devnet, and reading bench reports.
# Needs OUT set before it is sourced.
T="$PWD/.build/release/totemd"
if [[ "${TOTEM_SKIP_BUILD:-}" != 1 ]]; then
    swift build -c release --product totemd >&2
fi
export TOTEM_DEVNET_DIR="$OUT/devnet" TOTEM_SKIP_BUILD=1 TOTEM_P2P_BASE_PORT=28601 TOTEM_API_BASE_PORT=28701
APIS=http://127.0.0.1:28701,http://127.0.0.1:28702,http://127.0.0.1:28703,http://127.0.0.1:28704

# Stops the devnet and removes its nodes' data, unless KEEP_DEVNET=1 (the reports in $OUT and the
# nodes' logs stay): a devnet at a million works holds 5-13 GB, and a session's left-over ones once
# filled the disk.
devnet_finish() {
    bash scripts/devnet.sh down >/dev/null 2>&1 || true
    [[ "${KEEP_DEVNET:-}" == 1 ]] || rm -rf "$TOTEM_DEVNET_DIR"/*/data
}
trap devnet_finish EXIT

# A fresh 4 + 1 devnet (any earlier one of these scripts stopped and removed).
devnet_fresh() {
    bash scripts/devnet.sh down >/dev/null 2>&1 || true
    rm -rf "$TOTEM_DEVNET_DIR"
    bash scripts/devnet.sh up >&2
}
# The committed tx/s, works/s and latency percentiles of a bench report, keys prefixed by $2.
bench_line() {
    awk -v p="${2:-}" '/^  committed /{tps=$2} /^  works /{wps=$2}
         /submit to seen in a committed block/{getline; p50=$2; p99=$6}
         END{printf "%stx_per_s=%s works_per_s=%s p50_ms=%s p99_ms=%s\n", p, tps, wps, p50, p99}' "$1"
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "-" }'; }
