#!/usr/bin/env bash
# The project's etcd baseline, carried from the team's shared bench folder (bench/etcd_bench.sh)
# unchanged apart from this note; scripts/compare-etcd.sh runs it beside totemd.
# etcd peer baseline: N-node etcd cluster on 127.0.0.1, fixed-duration closed-loop
# put load (250-byte values), prints ONE line:  etcd_puts_per_s=N p50_ms=X p99_ms=Y
# Env overrides: NODES (3) CLIENTS (64) DURATION (15s) RATE (0 = closed loop; N = open loop at N puts/s) VAL_SIZE (250) CONNS (0=min(clients,16))
#                BASE_PORT (32379) VERBOSE (0; 1 = extra diagnostics on stderr)
set -euo pipefail
NODES=${NODES:-3}; CLIENTS=${CLIENTS:-64}; DURATION=${DURATION:-15s}; RATE=${RATE:-0}
VAL_SIZE=${VAL_SIZE:-250}; CONNS=${CONNS:-0}; BASE_PORT=${BASE_PORT:-32379}; VERBOSE=${VERBOSE:-0}
ROOT=${ETCD_BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-bench}; mkdir -p "$ROOT"
log() { [ "$VERBOSE" = 1 ] && echo "[etcd_bench] $*" >&2 || true; }

# ---- install (etcd + Go toolchain + Debian's clientv3 sources for the load generator)
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ] || need+=(golang-etcd-server-dev)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1
fi

# ---- build load generator (Go, clientv3 3.4.23; modelled on etcd tools/benchmark put)
LOADGEN=$ROOT/etcdload-$(sed -n '/^package main/,/^EOF/p' "$0" | sha256sum | cut -c1-12)
if [ ! -x "$LOADGEN" ]; then
  log "building load generator"
  SRC=$ROOT/gopath/src/etcdload; mkdir -p "$SRC"
  cat > "$SRC/main.go" <<'EOF'
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	eps := flag.String("endpoints", "127.0.0.1:2379", "comma separated")
	clients := flag.Int("clients", 1, "concurrent closed-loop clients")
	conns := flag.Int("conns", 0, "grpc connections (0 = min(clients,16))")
	dur := flag.Duration("duration", 15*time.Second, "run time")
	valSize := flag.Int("val-size", 250, "value bytes")
	keySpace := flag.Int("key-space", 100000, "distinct keys")
	rate := flag.Float64("rate", 0, "open-loop puts/s (0 = closed loop); clients bounds puts in flight")
	flag.Parse()
	endpoints := strings.Split(*eps, ",")
	nc := *conns
	if nc <= 0 {
		nc = *clients
		if nc > 16 {
			nc = 16
		}
	}
	cs := make([]*clientv3.Client, nc)
	for i := range cs {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoints[i%len(endpoints)]}, DialTimeout: 5 * time.Second})
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			os.Exit(1)
		}
		cs[i] = c
	}
	val := strings.Repeat("v", *valSize)
	lats := make([][]time.Duration, *clients)
	errs := make([]int, *clients)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(*dur)
	if *rate > 0 {
		// Open loop: put i is due at start + i/rate; latency counts from when it was due (no coordinated omission).
		var mu sync.Mutex
		var l []time.Duration
		ne := 0
		slots := make(chan struct{}, *clients)
		r := rand.New(rand.NewSource(1))
		for i := 0; ; i++ {
			due := start.Add(time.Duration(float64(i) / *rate * float64(time.Second)))
			if due.After(deadline) {
				break
			}
			time.Sleep(time.Until(due))
			slots <- struct{}{}
			wg.Add(1)
			k := fmt.Sprintf("bench/%08d", r.Intn(*keySpace))
			go func(c *clientv3.Client, k string, due time.Time) {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := c.Put(ctx, k, val)
				cancel()
				mu.Lock()
				if err != nil {
					ne++
				} else {
					l = append(l, time.Since(due))
				}
				mu.Unlock()
				<-slots
			}(cs[i%nc], k, due)
		}
		wg.Wait()
		lats[0] = l
		errs[0] = ne
	}
	for w := 0; *rate == 0 && w < *clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(w)))
			c := cs[w%nc]
			l := make([]time.Duration, 0, 1<<16)
			for time.Now().Before(deadline) {
				k := fmt.Sprintf("bench/%08d", r.Intn(*keySpace))
				t0 := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := c.Put(ctx, k, val)
				cancel()
				if err != nil {
					errs[w]++
					continue
				}
				l = append(l, time.Since(t0))
			}
			lats[w] = l
		}(w)
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	ne := 0
	for w := range lats {
		all = append(all, lats[w]...)
		ne += errs[w]
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)-1))
		return float64(all[i].Microseconds()) / 1000.0
	}
	fmt.Printf("etcd_puts_per_s=%.0f p50_ms=%.2f p99_ms=%.2f ok=%d errors=%d elapsed_s=%.2f clients=%d conns=%d\n",
		float64(len(all))/el.Seconds(), pct(0.50), pct(0.99), len(all), ne, el.Seconds(), *clients, nc)
	for _, c := range cs {
		c.Close()
	}
}
EOF
  (cd "$SRC" && GO111MODULE=off GOPATH=$ROOT/gopath:/usr/share/gocode GOCACHE=$ROOT/gocache go build -o "$LOADGEN" .) >&2
fi

# ---- start cluster
DATA=$(mktemp -d "$ROOT/etcd-data.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$DATA"
}
trap cleanup EXIT INT TERM
CLUSTER=""; EPS=""
for i in $(seq 1 "$NODES"); do
  cp=$((BASE_PORT + 10*i)); pp=$((cp + 1))
  CLUSTER+="${CLUSTER:+,}n$i=http://127.0.0.1:$pp"
  EPS+="${EPS:+,}127.0.0.1:$cp"
done
for i in $(seq 1 "$NODES"); do
  cp=$((BASE_PORT + 10*i)); pp=$((cp + 1))
  etcd --name "n$i" --data-dir "$DATA/n$i" \
    --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
    --initial-cluster "$CLUSTER" --initial-cluster-state new --initial-cluster-token "bench-$$" \
    --log-level error --logger zap >"$DATA/n$i.log" 2>&1 &
  PIDS+=($!)
done
log "etcd pids ${PIDS[*]} endpoints $EPS"
for _ in $(seq 1 100); do
  ETCDCTL_API=3 etcdctl --endpoints "$EPS" endpoint health >/dev/null 2>&1 && break; sleep 0.2
done
ETCDCTL_API=3 etcdctl --endpoints "$EPS" endpoint health >/dev/null 2>&1 || { echo "cluster failed to start" >&2; tail -5 "$DATA"/n*.log >&2; exit 1; }
[ "$VERBOSE" = 1 ] && ETCDCTL_API=3 etcdctl --endpoints "$EPS" endpoint status -w table >&2

# ---- load (CPU accounting from /proc for diagnostics)
cpu_total() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8, $5+$6}' /proc/stat; }
proc_ticks() { local s=0; for p in "${PIDS[@]}"; do s=$((s + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $s; }
read -r t0 i0 < <(cpu_total); e0=$(proc_ticks)
OUTL=$(timeout 120 "$LOADGEN" -endpoints "$EPS" -clients "$CLIENTS" -conns "$CONNS" -duration "$DURATION" -val-size "$VAL_SIZE" -rate "$RATE")
read -r t1 i1 < <(cpu_total); e1=$(proc_ticks)
busy=$(awk -v t=$((t1-t0)) -v i=$((i1-i0)) 'BEGIN{printf "%.0f", 100*(t-i)/t}')
etcdcpu=$(awk -v e=$((e1-e0)) -v t=$((t1-t0)) -v n=$(nproc) 'BEGIN{printf "%.0f", 100*e*n/t}')
log "$OUTL host_cpu_busy=${busy}% etcd_procs_cpu=${etcdcpu}%_of_one_core ncpu=$(nproc)"
[ "$VERBOSE" = 1 ] && ETCDCTL_API=3 etcdctl --endpoints "$EPS" endpoint status -w table >&2
echo "$OUTL" | awk '{print $1, $2, $3}'
