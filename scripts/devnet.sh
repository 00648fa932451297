#!/usr/bin/env bash
# A local Totem network on loopback: 4 validators + 1 observer, for development and benchmarks.
#
#   scripts/devnet.sh up       install missing Debian packages, build release, generate the network
#                              (if absent), start the nodes in the background, wait for height >= 1
#   scripts/devnet.sh down     stop the nodes (SIGTERM, then SIGKILL after a timeout)
#   scripts/devnet.sh status   height, view and peer count of every node
#   scripts/devnet.sh logs     follow the nodes' logs (logs node2: one node only)
#   scripts/devnet.sh demo     register sample data and write a certificate (scripts/demo.sh)
#
# Every command is idempotent: `up` twice leaves the running nodes alone, `down` twice is harmless.
#
# Environment:
#   TOTEM_DEVNET_DIR      network folder (default: ./devnet under the repository)
#   TOTEM_P2P_BASE_PORT   P2P port of node0, node i uses base + i (default 26601; used when generating)
#   TOTEM_API_BASE_PORT   API port of node0 (default 26701; used when generating)
#   TOTEM_UP_TIMEOUT      seconds `up` waits for height >= 1 on every node (default 90)
#   TOTEM_STOP_TIMEOUT    seconds `down` waits after SIGTERM before SIGKILL (default 30)
#   TOTEM_TESTNET_ARGS    extra arguments for `totemd testnet` when generating, e.g.
#                         "--proposal-timeout-ms 3000 --empty-block-interval-ms 5000"
#   TOTEM_SKIP_BUILD=1    use the existing release binary
#   TOTEM_LOG_LEVEL       passed to `totemd start --log-level` when set
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${TOTEM_DEVNET_DIR:-$ROOT/devnet}"
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
BIN="$ROOT/.build/release/totemd"
VALIDATORS=4
OBSERVERS=1
P2P_BASE_PORT="${TOTEM_P2P_BASE_PORT:-26601}"
API_BASE_PORT="${TOTEM_API_BASE_PORT:-26701}"
UP_TIMEOUT="${TOTEM_UP_TIMEOUT:-90}"
STOP_TIMEOUT="${TOTEM_STOP_TIMEOUT:-30}"

say() { printf 'devnet: %s\n' "$*"; }
die() { printf 'devnet: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/stop-nodes.sh
. "$ROOT/scripts/lib/stop-nodes.sh"

# NODES: the node folders of the network, validators first (folder names may hold spaces).
NODES=()
load_nodes() {
  local d
  NODES=()
  for d in "$DIR"/node* "$DIR"/observer*; do
    [[ -f "$d/config.toml" ]] && NODES+=("$d")
  done
  return 0
}

# "host:port" of `listen` in section $2 (api or p2p) of a node's config.toml.
listen_of() {
  awk -v want="$2" '
    /^[[:space:]]*\[/ { section = $0; gsub(/[[:space:]\[\]]/, "", section); next }
    section == want && $1 == "listen" { v = $0; sub(/^[^=]*=[[:space:]]*"/, "", v); sub(/".*$/, "", v); print v; exit }
  ' "$1/config.toml"
}

api_url() { printf 'http://%s\n' "$(listen_of "$1" api)"; }

# Whether something already accepts TCP connections on "host:port".
port_busy() {
  python3 - "$1" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex((host, int(port))) == 0 else 1)
PY
}

# SHA-256 of the network's genesis file: what each of our nodes reports as genesisHash.
genesis_hash() { sha256sum "$DIR/genesis.json" | cut -d' ' -f1; }

# The pid of a node we started, if that process is still a totemd; nothing otherwise.
live_pid() {
  local pidfile="$1/node.pid" pid
  [[ -f "$pidfile" ]] || return 0
  pid="$(tr -dc '0-9' < "$pidfile")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q totemd; then
    printf '%s\n' "$pid"
  fi
}

# A node's /v1/status as "height view peers genesisHash" on one line ("-" for what is missing).
node_status() {
  python3 - "$1" <<'PY' 2>/dev/null || echo "- - - -"
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/v1/status", timeout=2) as r:
        s = json.load(r)
    print(*(s.get(k, "-") for k in ("height", "view", "peers", "genesisHash")))
except Exception:
    print("- - - -")
PY
}

ensure_packages() {
  bash "$ROOT/scripts/install-deps.sh"
}

build() {
  if [[ "${TOTEM_SKIP_BUILD:-0}" == 1 && -x "$BIN" ]]; then return 0; fi
  command -v swift >/dev/null || die "swift is not on PATH (Swift 6 toolchain needed: https://www.swift.org/install/linux/)"
  say "building release totemd (the first build takes several minutes)"
  local log="$ROOT/.build/devnet-build.log"
  mkdir -p "$ROOT/.build"
  if ! (cd "$ROOT" && swift build -c release --product totemd) >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "release build failed (full log: $log)"
  fi
  [[ -x "$BIN" ]] || die "build finished but $BIN is missing"
}

generate() {
  if [[ -f "$DIR/genesis.json" ]]; then
    [[ ${#NODES[@]} -gt 0 ]] || die "$DIR/genesis.json exists but no node folder has a config.toml; remove $DIR to regenerate"
    return 0
  fi
  if [[ -d "$DIR" && -n "$(ls -A "$DIR")" ]]; then
    die "$DIR exists without genesis.json (an interrupted generation?); remove it and run up again"
  fi
  say "generating $VALIDATORS validators + $OBSERVERS observer in $DIR"
  local out extra=()
  read -r -a extra <<< "${TOTEM_TESTNET_ARGS:-}"
  out="$("$BIN" testnet --dir "$DIR" --validators "$VALIDATORS" --observers "$OBSERVERS" \
    --p2p-base-port "$P2P_BASE_PORT" --api-base-port "$API_BASE_PORT" "${extra[@]}")" || die "totemd testnet failed"
  printf '%s\n' "$out" > "$DIR/testnet.txt"
  load_nodes
}

start_nodes() {
  local d pid name args addr
  for d in "${NODES[@]}"; do
    name="$(basename "$d")"
    pid="$(live_pid "$d")"
    if [[ -n "$pid" ]]; then say "$name already running (pid $pid)"; continue; fi
    for addr in "$(listen_of "$d" api)" "$(listen_of "$d" p2p)"; do
      if port_busy "$addr"; then
        die "$addr ($name) is already in use by another process (another devnet? set TOTEM_DEVNET_DIR, or TOTEM_API_BASE_PORT and TOTEM_P2P_BASE_PORT for a new one)"
      fi
    done
    args=(start --home "$d")
    [[ -n "${TOTEM_LOG_LEVEL:-}" ]] && args+=(--log-level "$TOTEM_LOG_LEVEL")
    printf '\n==== %s start %s\n' "$(date -u +%FT%TZ)" "$name" >> "$d/node.log"
    nohup "$BIN" "${args[@]}" >> "$d/node.log" 2>&1 < /dev/null &
    echo $! > "$d/node.pid"
    say "started $name (pid $!, log $d/node.log)"
  done
}

# Fails with the log tails unless every node reports height >= 1 within UP_TIMEOUT seconds.
wait_for_height() {
  local deadline=$((SECONDS + UP_TIMEOUT)) d ready height genesis ours
  ours="$(genesis_hash)"
  while :; do
    ready=1
    for d in "${NODES[@]}"; do
      if [[ -z "$(live_pid "$d")" ]]; then
        say "$(basename "$d") exited; last lines of $d/node.log:" >&2
        tail -n 30 "$d/node.log" >&2
        die "$(basename "$d") is not running"
      fi
      read -r height _ _ genesis <<< "$(node_status "$(api_url "$d")")"
      if [[ "$genesis" != "-" && "$genesis" != "$ours" ]]; then
        die "$(api_url "$d") answers for another network (genesis $genesis, ours $ours)"
      fi
      [[ "$height" =~ ^[0-9]+$ && "$height" -ge 1 ]] || ready=0
    done
    [[ $ready -eq 1 ]] && return 0
    if (( SECONDS >= deadline )); then
      for d in "${NODES[@]}"; do
        printf '\n---- %s (height view peers genesis: %s): last lines of %s\n' "$(basename "$d")" "$(node_status "$(api_url "$d")")" "$d/node.log" >&2
        tail -n 15 "$d/node.log" >&2
      done
      die "not every node reached height 1 within ${UP_TIMEOUT}s (see the logs above; scripts/devnet.sh down stops them)"
    fi
    sleep 0.5
  done
}

cmd_up() {
  command -v dpkg-query >/dev/null && ensure_packages
  build
  generate
  start_nodes
  say "waiting for height >= 1 on every node (up to ${UP_TIMEOUT}s)"
  wait_for_height
  say "devnet is up:"
  local d
  for d in "${NODES[@]}"; do printf '  %-10s %s\n' "$(basename "$d")" "$(api_url "$d")"; done
  say "root registrar key: $DIR/root_registrar.json"
}

cmd_down() {
  local d pid stopping=()
  for d in "${NODES[@]}"; do
    pid="$(live_pid "$d")"
    if [[ -z "$pid" ]]; then rm -f "$d/node.pid"; continue; fi
    kill -TERM "$pid" 2>/dev/null || true
    stopping+=("$(basename "$d")=$pid")
  done
  wait_then_kill "$STOP_TIMEOUT" "${stopping[@]}"
  for d in "${NODES[@]}"; do rm -f "$d/node.pid"; done
}

cmd_status() {
  [[ ${#NODES[@]} -gt 0 ]] || die "no network in $DIR (scripts/devnet.sh up creates it)"
  local d pid url h v p rss cpu
  printf '%-10s %-8s %-26s %8s %6s %6s %9s %11s\n' node pid api height view peers rss_mib cpu_time
  for d in "${NODES[@]}"; do
    pid="$(live_pid "$d")"
    url="$(api_url "$d")"
    read -r h v p _ <<< "$(node_status "$url")"
    rss=-; cpu=-
    if [[ -n "$pid" ]]; then
      read -r rss cpu <<< "$(ps -o rss=,time= -p "$pid" 2>/dev/null || echo "- -")"
      [[ "$rss" =~ ^[0-9]+$ ]] && rss=$((rss / 1024))
    fi
    printf '%-10s %-8s %-26s %8s %6s %6s %9s %11s\n' "$(basename "$d")" "${pid:-down}" "$url" "$h" "$v" "$p" "$rss" "$cpu"
  done
}

cmd_logs() {
  local files=() d
  for d in "${NODES[@]}"; do
    if [[ -z "${1:-}" || "$(basename "$d")" == "$1" ]]; then
      [[ -f "$d/node.log" ]] && files+=("$d/node.log")
    fi
  done
  [[ ${#files[@]} -gt 0 ]] || die "no logs in $DIR${1:+ for $1}"
  exec tail -n "${TOTEM_LOG_LINES:-20}" -F "${files[@]}"
}

cmd_demo() {
  # Sample data on the running devnet: an agency and a photographer, generated pictures, a transfer,
  # a licence, a claim, and a certificate file with the command that checks it (scripts/demo.sh).
  TOTEM_DEVNET_DIR="$DIR" TOTEMD="${TOTEMD:-$BIN}" exec bash "$ROOT/scripts/demo.sh"
}

load_nodes
case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  demo) cmd_demo ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
