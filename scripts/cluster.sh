#!/usr/bin/env bash
# A Totem network run the way agencies deploy it: 4 validators + 1 observer, each a separate host in
# its own network namespace on one Linux bridge, listening on and dialing non-loopback addresses.
# For fault testing (partitions, bandwidth limits, crashes, frozen processes). Needs root.
#
#   scripts/cluster.sh up                    namespaces, veths, bridge; generate the network; start the
#                                            nodes; wait for height >= 1 on every node
#   scripts/cluster.sh down                  stop the nodes (SIGTERM, then SIGKILL after a timeout);
#                                            delete namespaces, veths, bridge, filter rules, limits
#   scripts/cluster.sh status                height, view, peers, catchingUp, process state, faults
#   scripts/cluster.sh rate [seconds]        blocks committed per second on every node (default 10 s)
#   scripts/cluster.sh partition A,B C,D     drop traffic between the groups (node0,node1 node2,node3)
#   scripts/cluster.sh isolate NODE          drop all traffic between NODE and every other node
#   scripts/cluster.sh loss PERCENT          drop PERCENT % of the packets between nodes, at random
#   scripts/cluster.sh heal                  remove every partition and loss rule
#   scripts/cluster.sh limit NODE RATE       tc tbf on NODE's link, both directions (e.g. 1mbit)
#   scripts/cluster.sh unlimit NODE          remove the limit
#   scripts/cluster.sh kill NODE             SIGKILL the node
#   scripts/cluster.sh stop NODE / cont NODE freeze (SIGSTOP) / resume (SIGCONT) the node
#   scripts/cluster.sh start NODE [VAR=VALUE ...] [-- ARG ...]
#                                            start a node that is not running (after kill), with
#                                            these variables added to its environment (e.g. libfaketime's)
#                                            and ARGs added to `totemd start` (e.g. --state-sync)
#   scripts/cluster.sh logs [NODE]           follow the nodes' logs
#
# NODE is node0..node3 or observer0. `up` removes what a previous run left behind (processes it
# started, namespaces, veths, bridge) and generates a fresh network; `down` twice is harmless.
#
# Environment:
#   TOTEM_BIN             totemd binary (default: .build/release/totemd of the repository)
#   TOTEM_CLUSTER_DIR     network folder (default: ./cluster under the repository, git-ignored)
#   TOTEM_CLUSTER_SUBNET  first three octets of the bridge network (default 10.77.0): the bridge is
#                         .1/24 in the root namespace, node i is .(10+i), observer0 follows node3
#   TOTEM_CLUSTER_BRIDGE  bridge name (default totembr0)
#   TOTEM_P2P_PORT        P2P port of every node (default 26601)
#   TOTEM_API_PORT        API port of every node (default 26701)
#   TOTEM_UP_TIMEOUT      seconds `up` waits for height >= 1 on every node (default 90)
#   TOTEM_STOP_TIMEOUT    seconds `down` waits after SIGTERM before SIGKILL (default 30)
#   TOTEM_TESTNET_ARGS    extra arguments for `totemd testnet`, e.g. "--proposal-timeout-ms 2000"
#   TOTEM_LOG_LEVEL       passed to `totemd start --log-level` when set
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${TOTEM_CLUSTER_DIR:-$ROOT/cluster}"
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
BIN="${TOTEM_BIN:-$ROOT/.build/release/totemd}"
case "$BIN" in /*) ;; */*) BIN="$PWD/$BIN" ;; esac
SUBNET="${TOTEM_CLUSTER_SUBNET:-10.77.0}"
BRIDGE="${TOTEM_CLUSTER_BRIDGE:-totembr0}"
P2P_PORT="${TOTEM_P2P_PORT:-26601}"
API_PORT="${TOTEM_API_PORT:-26701}"
UP_TIMEOUT="${TOTEM_UP_TIMEOUT:-90}"
STOP_TIMEOUT="${TOTEM_STOP_TIMEOUT:-30}"
VALIDATORS=4
OBSERVERS=1
# `totemd testnet` gets this host, then each node's config.toml is rewritten to the namespace
# addresses. genesis.json is kept as generated: its validators' p2pAddress fields keep this
# placeholder (a persistent_peers entry of config.toml wins over the genesis address of its key).
PLACEHOLDER="cluster.invalid"
CHAIN="TOTEM-CLUSTER"   # the iptables chain the script owns inside each namespace

say() { printf 'cluster: %s\n' "$*"; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/stop-nodes.sh
. "$ROOT/scripts/lib/stop-nodes.sh"

# The node names, validators first; index i of this list is node i's host number 10 + i.
NAMES=()
for ((i = 0; i < VALIDATORS; i++)); do NAMES+=("node$i"); done
for ((i = 0; i < OBSERVERS; i++)); do NAMES+=("observer$i"); done

index_of() {
  local i
  for i in "${!NAMES[@]}"; do [[ "${NAMES[$i]}" == "$1" ]] && { echo "$i"; return 0; }; done
  die "unknown node '$1' (one of: ${NAMES[*]})"
}
ns_of() { printf 'totem-%s\n' "$1"; }
ip_of() { printf '%s.%s\n' "$SUBNET" $((10 + $(index_of "$1"))); }
veth_of() { printf 'tv-%s\n' "$1"; }   # the root-namespace end; the namespace end is eth0
api_url() { printf 'http://%s:%s\n' "$(ip_of "$1")" "$API_PORT"; }
in_ns() { local ns; ns="$(ns_of "$1")"; shift; ip netns exec "$ns" "$@"; }
ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

need_root() { [[ $EUID -eq 0 ]] || die "needs root (network namespaces, veths, iptables, tc)"; }
need_tools() {
  local t missing=()
  for t in ip tc iptables python3; do command -v "$t" >/dev/null || missing+=("$t"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  # On Debian, install them the way devnet.sh and test.sh install theirs.
  bash "$ROOT/scripts/install-deps.sh" iproute2 iptables || true
  missing=()
  for t in ip tc iptables python3; do command -v "$t" >/dev/null || missing+=("$t"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  die "missing: ${missing[*]} (Debian: apt-get install iproute2 iptables python3)"
}
need_bin() {
  [[ -x "$BIN" ]] && return 0
  die "no totemd at $BIN: build it with 'swift build -c release --product totemd' in $ROOT, or set TOTEM_BIN"
}

# The pid of a node we started, if that process is still a totemd; nothing otherwise.
live_pid() {
  local pidfile="$DIR/$1/node.pid" pid
  [[ -f "$pidfile" ]] || return 0
  pid="$(tr -dc '0-9' < "$pidfile")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q totemd; then
    printf '%s\n' "$pid"
  fi
}

# Process state letter of a pid (R, S, T for stopped, ...).
proc_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo -; }

# A node's /v1/status as "height view peers catchingUp genesisHash" ("-" for what is missing).
node_status() {
  python3 - "$1" <<'PY' 2>/dev/null || echo "- - - - -"
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/v1/status", timeout=2) as r:
        s = json.load(r)
    def f(k):
        v = s.get(k, "-")
        return str(v).lower() if isinstance(v, bool) else v
    print(*(f(k) for k in ("height", "view", "peers", "catchingUp", "genesisHash")))
except Exception:
    print("- - - - -")
PY
}

height_of() { local h; read -r h _ <<< "$(node_status "$(api_url "$1")")"; echo "$h"; }

# ---- network ---------------------------------------------------------------------------------

net_create() {
  local n ns veth
  ip link add "$BRIDGE" type bridge
  ip addr add "$SUBNET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  for n in "${NAMES[@]}"; do
    ns="$(ns_of "$n")"; veth="$(veth_of "$n")"
    ip netns add "$ns" || die "cannot create namespace $ns (root? leftovers: scripts/cluster.sh down)"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$BRIDGE"
    ip link set "$veth" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$(ip_of "$n")/24" dev eth0
    ip -n "$ns" link set eth0 up
    # The script's own filter chain, empty until partition/isolate; INPUT and OUTPUT jump to it.
    in_ns "$n" iptables -N "$CHAIN"
    in_ns "$n" iptables -I INPUT 1 -j "$CHAIN"
    in_ns "$n" iptables -I OUTPUT 1 -j "$CHAIN"
  done
}

# Removes namespaces, veths and the bridge (deleting a namespace takes its iptables rules and its
# end of the veth along; tc qdiscs on the root-namespace end go with the link).
net_delete() {
  local n ns veth removed=()
  # The veth first: deleting one end deletes the other, while a deleted namespace takes its end
  # of the pair along only some time later.
  for n in "${NAMES[@]}"; do
    ns="$(ns_of "$n")"; veth="$(veth_of "$n")"
    if ip link show "$veth" >/dev/null 2>&1; then ip link delete "$veth" 2>/dev/null || true; removed+=("$veth"); fi
    if ns_exists "$ns"; then ip netns delete "$ns"; removed+=("$ns"); fi
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE"; removed+=("$BRIDGE"); fi
  if [[ ${#removed[@]} -gt 0 ]]; then say "removed ${removed[*]}"; fi
}

# ---- processes -------------------------------------------------------------------------------

start_node() {
  local n="$1" d="$DIR/$1" pid args envs=() extra=() e
  shift
  while [[ $# -gt 0 && "$1" != "--" ]]; do envs+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift   # the "--": what follows goes to `totemd start`
  extra=("$@")
  for e in "${envs[@]}"; do [[ "$e" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "not VAR=VALUE: '$e'"; done
  pid="$(live_pid "$n")"
  if [[ -n "$pid" ]]; then say "$n already running (pid $pid)"; return 0; fi
  ns_exists "$(ns_of "$n")" || die "namespace $(ns_of "$n") is missing (scripts/cluster.sh up creates it)"
  args=(start --home "$d")
  [[ -n "${TOTEM_LOG_LEVEL:-}" ]] && args+=(--log-level "$TOTEM_LOG_LEVEL")
  args+=("${extra[@]}")
  printf '\n==== %s start %s%s%s\n' "$(date -u +%FT%TZ)" "$n" "${envs[*]:+ with ${envs[*]}}" \
    "${extra[*]:+ args ${extra[*]}}" >> "$d/node.log"
  # `ip netns exec` and `env` exec in place, so $! is the node's own pid.
  nohup ip netns exec "$(ns_of "$n")" env "${envs[@]}" "$BIN" "${args[@]}" >> "$d/node.log" 2>&1 < /dev/null &
  echo $! > "$d/node.pid"
  say "started $n in $(ns_of "$n") (pid $!, log $d/node.log)"
}

# SIGTERM every given node that runs, SIGKILL those still alive after STOP_TIMEOUT.
stop_nodes() {
  local n pid stopping=()
  for n in "$@"; do
    pid="$(live_pid "$n")"
    if [[ -z "$pid" ]]; then rm -f "$DIR/$n/node.pid"; continue; fi
    kill -CONT "$pid" 2>/dev/null || true   # a stopped process would not act on SIGTERM
    kill -TERM "$pid" 2>/dev/null || true
    stopping+=("$n=$pid")
  done
  wait_then_kill "$STOP_TIMEOUT" "${stopping[@]}"
  for n in "$@"; do rm -f "$DIR/$n/node.pid"; done
}

# Fails with the log tails unless every node reports height >= 1 within UP_TIMEOUT seconds.
wait_for_height() {
  local deadline=$((SECONDS + UP_TIMEOUT)) n ready height genesis ours
  ours="$(sha256sum "$DIR/genesis.json" | cut -d' ' -f1)"
  while :; do
    ready=1
    for n in "${NAMES[@]}"; do
      if [[ -z "$(live_pid "$n")" ]]; then
        say "$n exited; last lines of $DIR/$n/node.log:" >&2
        tail -n 30 "$DIR/$n/node.log" >&2
        die "$n is not running (scripts/cluster.sh down cleans up)"
      fi
      read -r height _ _ _ genesis <<< "$(node_status "$(api_url "$n")")"
      if [[ "$genesis" != "-" && "$genesis" != "$ours" ]]; then
        die "$(api_url "$n") answers for another network (genesis $genesis, ours $ours)"
      fi
      [[ "$height" =~ ^[0-9]+$ && "$height" -ge 1 ]] || ready=0
    done
    [[ $ready -eq 1 ]] && return 0
    if (( SECONDS >= deadline )); then
      for n in "${NAMES[@]}"; do
        printf '\n---- %s (height view peers catchingUp genesis: %s): last lines of %s\n' "$n" \
          "$(node_status "$(api_url "$n")")" "$DIR/$n/node.log" >&2
        tail -n 15 "$DIR/$n/node.log" >&2
      done
      die "not every node reached height 1 within ${UP_TIMEOUT}s (see the logs above; scripts/cluster.sh down cleans up)"
    fi
    sleep 0.5
  done
}

# ---- network generation ----------------------------------------------------------------------

generate() {
  local out extra=() n j from to
  read -r -a extra <<< "${TOTEM_TESTNET_ARGS:-}"
  say "generating $VALIDATORS validators + $OBSERVERS observer in $DIR"
  out="$("$BIN" testnet --dir "$DIR" --validators "$VALIDATORS" --observers "$OBSERVERS" \
    --host "$PLACEHOLDER" --p2p-base-port "$P2P_PORT" --api-base-port "$API_PORT" "${extra[@]}")" \
    || die "totemd testnet failed"
  printf '%s\n' "$out" > "$DIR/testnet.txt"
  # testnet gave node j the placeholder host with ports base + j; every node of the cluster is a
  # host of its own, so node j becomes <its address>:<base port> in every config.toml (its own
  # listen addresses and the others' persistent_peers entries).
  local sed_args=()
  for j in "${!NAMES[@]}"; do
    to="$(ip_of "${NAMES[$j]}")"
    from="$PLACEHOLDER:$((P2P_PORT + j))"; sed_args+=(-e "s/\"$from\"/\"$to:$P2P_PORT\"/g" -e "s/@$from\"/@$to:$P2P_PORT\"/g")
    from="$PLACEHOLDER:$((API_PORT + j))"; sed_args+=(-e "s/\"$from\"/\"$to:$API_PORT\"/g")
  done
  for n in "${NAMES[@]}"; do
    [[ -f "$DIR/$n/config.toml" ]] || die "totemd testnet wrote no $DIR/$n/config.toml"
    sed -i "${sed_args[@]}" "$DIR/$n/config.toml"
    if grep -q "$PLACEHOLDER" "$DIR/$n/config.toml"; then
      die "$DIR/$n/config.toml still names $PLACEHOLDER after the rewrite (config format changed?)"
    fi
  done
}

# ---- faults ----------------------------------------------------------------------------------

# Drops traffic between nodes a and b, both directions, in both namespaces.
drop_pair() {
  local a="$1" b="$2"
  in_ns "$a" iptables -A "$CHAIN" -s "$(ip_of "$b")" -j DROP
  in_ns "$a" iptables -A "$CHAIN" -d "$(ip_of "$b")" -j DROP
  in_ns "$b" iptables -A "$CHAIN" -s "$(ip_of "$a")" -j DROP
  in_ns "$b" iptables -A "$CHAIN" -d "$(ip_of "$a")" -j DROP
}

need_net() {
  local n
  for n in "${NAMES[@]}"; do
    ns_exists "$(ns_of "$n")" || die "namespace $(ns_of "$n") is missing (scripts/cluster.sh up creates it)"
  done
}

rule_count() { in_ns "$1" iptables -S "$CHAIN" 2>/dev/null | grep -c -- '-j DROP' || true; }

cmd_partition() {
  [[ $# -ge 2 ]] || die "usage: scripts/cluster.sh partition node0,node1 node2,node3 [more groups]"
  need_root; need_net
  local groups=("$@") g h a b seen=" " ga gb
  for g in "${groups[@]}"; do
    IFS=, read -r -a ga <<< "$g"
    for a in "${ga[@]}"; do
      index_of "$a" >/dev/null
      [[ "$seen" == *" $a "* ]] && die "$a is in more than one group"
      seen+="$a "
    done
  done
  for ((g = 0; g < ${#groups[@]}; g++)); do
    for ((h = g + 1; h < ${#groups[@]}; h++)); do
      IFS=, read -r -a ga <<< "${groups[$g]}"
      IFS=, read -r -a gb <<< "${groups[$h]}"
      for a in "${ga[@]}"; do for b in "${gb[@]}"; do drop_pair "$a" "$b"; done; done
    done
  done
  say "partitioned: ${groups[*]} (nodes in no group keep talking to everyone; heal removes the rules)"
}

cmd_isolate() {
  [[ $# -eq 1 ]] || die "usage: scripts/cluster.sh isolate NODE"
  need_root; need_net
  index_of "$1" >/dev/null
  local n
  for n in "${NAMES[@]}"; do [[ "$n" != "$1" ]] && drop_pair "$1" "$n"; done
  say "isolated $1 from every other node (its API stays reachable from the host; heal removes the rules)"
}

# Random loss on every link between nodes: each packet from one node to another passes two rules
# (the sender's OUTPUT and the receiver's INPUT both jump to the chain), so each rule drops with
# probability p = 1 - sqrt(1 - PERCENT/100) and a packet is lost with probability PERCENT/100.
# Traffic with the host (the bridge address: API requests) is never dropped.
cmd_loss() {
  [[ $# -eq 1 && "$1" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "usage: scripts/cluster.sh loss PERCENT (e.g. 5)"
  need_root; need_net
  local p n
  p="$(awk -v pct="$1" 'BEGIN { if (pct <= 0 || pct >= 100) exit 1; printf "%.6f", 1 - sqrt(1 - pct / 100) }')" \
    || die "PERCENT must be above 0 and below 100"
  for n in "${NAMES[@]}"; do
    in_ns "$n" iptables -A "$CHAIN" ! -s "$SUBNET.1" ! -d "$SUBNET.1" \
      -m statistic --mode random --probability "$p" -j DROP
  done
  say "dropping $1% of the packets between nodes (probability $p at each end; heal removes the rules)"
}

cmd_heal() {
  need_root
  local n ns count total=0
  for n in "${NAMES[@]}"; do
    ns="$(ns_of "$n")"
    ns_exists "$ns" || continue
    count="$(rule_count "$n")"
    in_ns "$n" iptables -F "$CHAIN"
    total=$((total + count))
  done
  say "healed: removed $total DROP rules"
}

cmd_limit() {
  [[ $# -eq 2 ]] || die "usage: scripts/cluster.sh limit NODE RATE (e.g. 1mbit, 500kbit)"
  need_root; need_net
  index_of "$1" >/dev/null
  local rate="$2"
  # tbf shapes what leaves an interface: the namespace's eth0 is what the node sends, the
  # root-namespace end of the veth what it receives. burst/latency sized for slow links.
  in_ns "$1" tc qdisc replace dev eth0 root tbf rate "$rate" burst 32kbit latency 400ms
  tc qdisc replace dev "$(veth_of "$1")" root tbf rate "$rate" burst 32kbit latency 400ms
  say "limited $1 to $rate each way (tc tbf on $(veth_of "$1") and on eth0 in $(ns_of "$1"))"
}

cmd_unlimit() {
  [[ $# -eq 1 ]] || die "usage: scripts/cluster.sh unlimit NODE"
  need_root; need_net
  index_of "$1" >/dev/null
  in_ns "$1" tc qdisc del dev eth0 root 2>/dev/null || true
  tc qdisc del dev "$(veth_of "$1")" root 2>/dev/null || true
  say "removed the limit on $1"
}

limit_of() {
  local r
  r="$(in_ns "$1" tc qdisc show dev eth0 2>/dev/null | awk '$2 == "tbf" { for (i = 1; i < NF; i++) if ($i == "rate") print $(i + 1) }')"
  echo "${r:--}"
}

signal_node() {
  local sig="$1" what="$2" n="$3" pid
  index_of "$n" >/dev/null
  pid="$(live_pid "$n")"
  [[ -n "$pid" ]] || die "$n is not running"
  kill "-$sig" "$pid"
  say "$what $n (pid $pid)"
}

cmd_kill() {
  [[ $# -eq 1 ]] || die "usage: scripts/cluster.sh kill NODE"
  local i pid
  pid="$(live_pid "$1")"
  signal_node KILL "sent SIGKILL to" "$1"
  # Until the process is gone or a zombie: an exiting process loses its cmdline (live_pid's test)
  # before it closes its files, and a `start` meanwhile finds the data directory still locked.
  for ((i = 0; i < 50; i++)); do
    [[ ! -e "/proc/$pid" || "$(proc_state "$pid")" == Z ]] && break
    sleep 0.1
  done
  rm -f "$DIR/$1/node.pid"
}

# ---- commands --------------------------------------------------------------------------------

cmd_up() {
  need_root; need_tools; need_bin
  # Leftovers of a previous run: its processes first, then its network and its folder.
  if [[ -d "$DIR" ]]; then
    stop_nodes "${NAMES[@]}" >/dev/null
  fi
  net_delete
  if [[ -d "$DIR" && -n "$(ls -A "$DIR")" && ! -f "$DIR/testnet.txt" ]]; then
    die "$DIR is not empty and holds no testnet.txt (not a cluster folder?); remove it or set TOTEM_CLUSTER_DIR"
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR"
  generate
  net_create
  say "bridge $BRIDGE $SUBNET.1/24; one namespace per node"
  local n
  for n in "${NAMES[@]}"; do start_node "$n"; done
  say "waiting for height >= 1 on every node (up to ${UP_TIMEOUT}s)"
  wait_for_height
  say "cluster is up:"
  printf '  %-10s %-16s %-13s %s\n' node namespace address api
  for n in "${NAMES[@]}"; do
    printf '  %-10s %-16s %-13s %s\n' "$n" "$(ns_of "$n")" "$(ip_of "$n")" "$(api_url "$n")"
  done
  say "root registrar key: $DIR/root_registrar.json"
}

cmd_down() {
  need_root
  stop_nodes "${NAMES[@]}"
  net_delete
}

cmd_status() {
  [[ -f "$DIR/genesis.json" ]] || die "no network in $DIR (scripts/cluster.sh up creates it)"
  local n pid state h v p c drops lim
  printf '%-10s %-8s %-5s %-26s %8s %6s %6s %10s %6s %8s\n' node pid state api height view peers catchingUp drops limit
  for n in "${NAMES[@]}"; do
    pid="$(live_pid "$n")"
    state=-; [[ -n "$pid" ]] && state="$(proc_state "$pid")"
    read -r h v p c _ <<< "$(node_status "$(api_url "$n")")"
    drops=-; lim=-
    if [[ $EUID -eq 0 ]] && ns_exists "$(ns_of "$n")"; then drops="$(rule_count "$n")"; lim="$(limit_of "$n")"; fi
    printf '%-10s %-8s %-5s %-26s %8s %6s %6s %10s %6s %8s\n' "$n" "${pid:-down}" "$state" "$(api_url "$n")" \
      "$h" "$v" "$p" "$c" "$drops" "$lim"
  done
}

# Blocks per second on every node over a window: height now and `seconds` later.
cmd_rate() {
  local secs="${1:-10}" n before=() after=() i
  [[ "$secs" =~ ^[0-9]+$ && "$secs" -ge 1 ]] || die "usage: scripts/cluster.sh rate [seconds]"
  for n in "${NAMES[@]}"; do before+=("$(height_of "$n")"); done
  sleep "$secs"
  for n in "${NAMES[@]}"; do after+=("$(height_of "$n")"); done
  printf '%-10s %8s %8s %8s\n' node from to blocks/s
  for i in "${!NAMES[@]}"; do
    if [[ "${before[$i]}" =~ ^[0-9]+$ && "${after[$i]}" =~ ^[0-9]+$ ]]; then
      printf '%-10s %8s %8s %8s\n' "${NAMES[$i]}" "${before[$i]}" "${after[$i]}" \
        "$(awk -v a="${before[$i]}" -v b="${after[$i]}" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) / s }')"
    else
      printf '%-10s %8s %8s %8s\n' "${NAMES[$i]}" "${before[$i]}" "${after[$i]}" -
    fi
  done
}

cmd_logs() {
  local files=() n
  for n in "${NAMES[@]}"; do
    if [[ -z "${1:-}" || "$n" == "$1" ]]; then
      [[ -f "$DIR/$n/node.log" ]] && files+=("$DIR/$n/node.log")
    fi
  done
  [[ ${#files[@]} -gt 0 ]] || die "no logs in $DIR${1:+ for $1}"
  exec tail -n "${TOTEM_LOG_LINES:-20}" -F "${files[@]}"
}

one_node() { [[ $# -eq 1 ]] || die "usage: scripts/cluster.sh $CMD NODE"; index_of "$1" >/dev/null; }

CMD="${1:-}"
[[ $# -gt 0 ]] && shift
case "$CMD" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  rate) cmd_rate "$@" ;;
  partition) cmd_partition "$@" ;;
  isolate) cmd_isolate "$@" ;;
  loss) cmd_loss "$@" ;;
  heal) cmd_heal ;;
  limit) cmd_limit "$@" ;;
  unlimit) cmd_unlimit "$@" ;;
  kill) one_node "$@"; cmd_kill "$1" ;;
  stop) one_node "$@"; signal_node STOP "sent SIGSTOP to" "$1" ;;
  cont) one_node "$@"; signal_node CONT "sent SIGCONT to" "$1" ;;
  start) [[ $# -ge 1 ]] || die "usage: scripts/cluster.sh start NODE [VAR=VALUE ...] [-- ARG ...]"
    index_of "$1" >/dev/null; need_root; need_bin; start_node "$@" ;;
  logs) cmd_logs "$@" ;;
  *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
