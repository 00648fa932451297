"""End-to-end: a new node starts from a snapshot instead of replaying the chain (issue 14,
docs/state-sync.md).

A network of 4 validators with a checkpoint every CHECKPOINT blocks and small snapshot chunks
(many of them) builds state under `totemd bench` load, until its validators hold a certified
checkpoint. With the load still running, an observer with `[sync] state_sync = true` and an empty
store then:
- state-syncs: `/readyz` says `syncing`, `totem_state_sync_chunks{state="done"}` grows; each chunk
  is written slowly (a test-only fault variable) so it can be killed midway;
- is killed with SIGKILL midway through the chunks, restarted (at normal speed), and fetches only
  the chunks it lacked (its log's `state sync finished` line says how many it had and fetched);
- meets a validator that serves every chunk with a byte changed (`TOTEM_FAULT_CORRUPT_CHUNKS`):
  that peer is disconnected and not asked again, and the sync completes from the others;
- follows the chain from H + 1: its block and state root at a height after H equal the
  validators' (its own state computed H + 1's root: the end-to-end check of the snapshot);
- answers blocks below H with 404 `pruned_below`.
"""

import os
import re
import time

import pytest

import totem_net
from totem_net import metric_value as metric, scaled, wait_until

CHECKPOINT = 100
CHUNK_BYTES = 4096
HEARTBEAT_MS = 400
LOAD_RATE = int(os.environ.get("TOTEM_E2E_STATE_SYNC_RATE", "80"))
LOAD_S = 180  # stopped when the test is done
COMMITTED_TXS = 1000


def log_since_last_start(node) -> str:
    with open(node.log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return text[text.rfind("===== e2e: start #"):]


def enable_state_sync(home: str) -> None:
    with open(os.path.join(home, "config.toml"), "a") as f:
        f.write("\n[sync]\nstate_sync = true\n")


@pytest.mark.disruptive
def test_a_new_node_state_syncs_resumes_after_kill_and_drops_a_bad_peer(totemd, tmp_path):
    net = totem_net.Network(totemd, str(tmp_path / "net"), validators=4, observers=1)
    net.testnet_args = ["--checkpoint-interval", str(CHECKPOINT), "--snapshot-chunk-bytes", str(CHUNK_BYTES),
                        "--empty-block-interval-ms", str(HEARTBEAT_MS), "--proposal-timeout-ms", "1000"]
    net.create()
    observer = net.nodes[-1]
    assert not observer.validator
    enable_state_sync(observer.home)
    bad = net.validators[-1]
    bad.env = {"TOTEM_FAULT_CORRUPT_CHUNKS": "1"}
    try:
        for v in net.validators:
            net.start(v)
        net.wait_healthy(net.validators, timeout_s=60)
        v0 = net.validators[0].client
        with totem_net.bench_load(totemd, net, tmp_path / "bench.log", LOAD_RATE, LOAD_S) as bench:
            # The load commits, then a checkpoint is certified: the snapshot holds the state it built.
            wait_until(f"the load to commit {COMMITTED_TXS} txs",
                       lambda: bench.poll() is None and (metric(v0.metrics(), "totem_committed_txs_total") or 0) >= COMMITTED_TXS,
                       scaled(150), describe=lambda: (net.heights(net.validators), bench.poll()))
            target = (v0.status()["height"] // CHECKPOINT + 1) * CHECKPOINT
            wait_until(f"a checkpoint certified at height >= {target}",
                       lambda: (metric(v0.metrics(), "totem_checkpoint_height") or 0) >= target, scaled(120),
                       describe=lambda: net.heights(net.validators))
            run_state_sync(net, observer, bad)
            assert bench.poll() is None, "the load ended before the state sync did: it did not run under load"
    finally:
        net.stop()


def run_state_sync(net, observer, bad):
    v0 = net.validators[0].client
    # First run: slow chunk writes, killed midway.
    observer.env = {"TOTEM_FAULT_CHUNK_APPLY_DELAY_MS": "120"}
    net.start(observer)
    net.wait_healthy([observer], timeout_s=60)
    seen = {}

    def midway():
        net.check_alive([observer])
        text = observer.client.metrics()
        done = metric(text, "totem_state_sync_chunks", '{state="done"}') or 0
        total = metric(text, "totem_state_sync_chunks", '{state="total"}') or 0
        r = observer.client.request("GET", "/readyz")
        codes = [x["code"] for x in (r.json or {}).get("reasons", [])]
        progress = [l for l in log_since_last_start(observer).splitlines() if "state sync progress" in l]
        seen.update(done=done, total=total, status=r.status, codes=codes, progress=progress[-1:])
        return total >= 8 and total / 4 <= done <= total / 2 and progress
    wait_until("the observer midway through the snapshot's chunks", midway, scaled(120), interval_s=0.1,
               describe=lambda: seen)
    assert seen["status"] == 503 and "syncing" in seen["codes"], seen
    # The progress line every 2 s: chunks done, bytes/s and ETA.
    assert re.search(r"done=\d+ .*eta=", seen["progress"][0]) and "bytesPerSecond=" in seen["progress"][0], seen
    assert net.kill(observer) == -9
    done_at_kill, total = int(seen["done"]), int(seen["total"])

    # Second run: normal speed; it resumes from the progress record.
    observer.env = {}
    net.start(observer)
    wait_until("the observer's state sync to finish", lambda: "state sync finished" in log_since_last_start(observer),
               scaled(120), describe=lambda: observer.log_tail(10))
    log = log_since_last_start(observer)
    assert "state sync resuming" in log, log[-3000:]
    finished = re.search(r"state sync finished.*", log).group(0)
    fields = dict(re.findall(r"(\w+)=(\S+)", finished))
    chunks, fetched, before = int(fields["chunks"]), int(fields["fetched"]), int(fields["doneBefore"])
    height = int(fields["height"])
    assert chunks == total, (finished, total)
    assert before >= done_at_kill > 0, f"the restart did not keep the chunks written before the kill: {finished}"
    assert fetched == chunks - before, f"the restart fetched chunks it already had: {finished}"

    # The peer serving damaged chunks was dropped, in one run or the other, and not asked again.
    whole = open(observer.log_path, encoding="utf-8", errors="replace").read()
    dropped = [l for l in whole.splitlines() if "fails its proof" in l]
    assert dropped and all(bad.public_key.hex()[:16] in l for l in dropped), dropped[:3] or whole[-3000:]

    # It follows the chain from H + 1: same blocks and state roots as the validators.
    after = height + 3
    net.wait_height(after, nodes=[observer], timeout_s=60)
    a, b = observer.client.block(after).json, v0.block(after).json
    assert a["blockHash"] == b["blockHash"] and a["stateRoot"] == b["stateRoot"], (a, b)
    ready = observer.client.request("GET", "/readyz")
    assert "syncing" not in [x["code"] for x in (ready.json or {}).get("reasons", [])], ready.json
    # Blocks below the checkpoint are not held, and the API says so.
    r = observer.client.block(height - 1)
    assert r.status == 404 and r.json["error"]["code"] == "pruned_below", (r.status, r.json)
    # A transaction of those blocks: still tx_not_found (clients poll on it), saying why.
    old = next(h for b in range(height, 0, -1) for h in v0.block(b).json["txHashes"])
    r = observer.client.request("GET", f"/v1/txs/{old}")
    assert r.status == 404 and r.json["error"]["code"] == "tx_not_found" and "state sync" in r.json["error"]["message"], r.json
    assert v0.request("GET", f"/v1/txs/{old}").status == 200
    print(f"\n[e2e] state sync of {chunks} chunks at height {height}: killed at {done_at_kill}, "
          f"resumed with {before} and fetched {fetched}; {len(dropped)} damaged chunk(s) refused from {bad.name}")
