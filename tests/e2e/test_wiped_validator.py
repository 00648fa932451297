"""A validator whose data directory is wiped rejoins by itself (issue 14): its home keeps only its key
file, config and genesis, so it starts with no signing state at all, while it may have voted at the
height the network was deciding when it died. It signs nothing until it has heard the other
validators' heights and caught up, then fences above the highest of them (a signing-state record
with nothing signed, written before it signs anything) and votes again above the fence, with no
manual step. A network that starts new, every validator without a signing state, needs no fence:
every height heard is 0, and it decides block 1 as before."""

import os
import re
import shutil

import totem_net

VALIDATORS = 4
HEARTBEAT_MS = 200
LOAD_RATE = 60
LOAD_S = 30
NEW_NETWORK = "every height heard is 0 (a new network)"
NO_SIGNING_STATE = "no signing state: this validator will not vote until it knows the network's height"
FENCED = re.compile(r"fenced at height (\d+)")


def last_run_log(node) -> str:
    """The node's whole log since its latest start (the tail of a loaded node's log is too short)."""
    with open(node.log_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    return text[text.rfind("===== e2e: start #"):]


def test_a_wiped_validator_fences_catches_up_and_votes_again(totemd, tmp_path):
    with totem_net.running_network(totemd, str(tmp_path / "net"), VALIDATORS, 0,
                                   testnet_args=["--empty-block-interval-ms", str(HEARTBEAT_MS)]) as network:
        network.wait_height(2, timeout_s=60)
        a_new_network_needs_no_fence(network)
        with totem_net.bench_load(totemd, network, tmp_path / "bench.log", LOAD_RATE, LOAD_S) as bench:
            wipe_and_rejoin(network, tmp_path, bench)


def a_new_network_needs_no_fence(network):
    """Every validator started without a signing state. Those that started together heard only
    height 0 and voted from block 1 (block 1 needs q = 3 of them); one that came late, after a block
    was decided, may have fenced instead, which is safe and only delays it."""
    said = {}
    for v in network.validators:
        def decided(v=v):
            log = last_run_log(v)
            if NEW_NETWORK in log:
                said[v.name] = "no fence"
            elif FENCED.search(log):
                said[v.name] = "fenced"
            return v.name in said
        totem_net.wait_until(f"{v.name} to decide whether it fences", decided, totem_net.scaled(30),
                             describe=lambda v=v: v.log_tail(15))
        assert NO_SIGNING_STATE in last_run_log(v), v.log_tail(40)
    assert list(said.values()).count("no fence") >= 3, said


def wipe_and_rejoin(network, tmp_path, bench):
    node = network.validators[3]
    others = network.validators[:3]
    v0 = others[0].client
    data_dir = os.path.join(node.home, "data")
    key = node.public_key.hex()
    bench_log = tmp_path / "bench.log"
    totem_net.wait_until("the bench's timed phase", lambda: "timed phase" in bench_log.read_text(),
                         totem_net.scaled(30), describe=lambda: bench_log.read_text()[-2000:])
    # It votes under load before it dies: blocks carry the bench's txs, and a signing state of a
    # recent height is on its disk.
    loaded_from = v0.status()["height"]
    totem_net.wait_until("txs under load to be committed",
                         lambda: any(v0.block(h).json.get("txHashes")
                                     for h in range(loaded_from + 1, v0.status()["height"] + 1)),
                         totem_net.scaled(30))
    totem_net.wait_until("the validator to vote under load",
                         lambda: totem_net.signing_height(data_dir) > loaded_from, totem_net.scaled(30))

    assert network.kill(node) == -9
    killed_at = max(n.client.status()["height"] for n in others)
    shutil.rmtree(data_dir)
    left = os.listdir(node.home)
    assert {"config.toml", "genesis.json", "node_key.json"} <= set(left) and "data" not in left, left
    # The others go on without it (3 of 4 are a quorum).
    network.wait_height(killed_at + 5, nodes=others, timeout_s=60)

    restarted_at = v0.status()["height"]
    network.start(node)
    network.wait_healthy([node], timeout_s=60)

    def fence_height():
        m = FENCED.search(last_run_log(node))
        return int(m.group(1)) if m else None
    totem_net.wait_until("the wiped validator to fence", lambda: fence_height() is not None, totem_net.scaled(60),
                         describe=lambda: node.log_tail(20))
    log = last_run_log(node)
    assert NO_SIGNING_STATE in log and " warning " in log.split(NO_SIGNING_STATE)[0].splitlines()[-1], log[:3000]
    assert FENCED.search(log).start() > log.index(NO_SIGNING_STATE)
    fence = fence_height()
    # Written and synced before the log line (a record at fence + 1 with nothing signed): a restart
    # from here abstains through the fence again.
    assert totem_net.signing_height(data_dir) >= fence + 1
    # Above the height it may have voted at before it died (the network's height then, plus one).
    assert fence > restarted_at + 1, f"fence {fence} not above the network's height {restarted_at} at restart"
    assert NEW_NETWORK not in log, "a network past block 1 is not new"

    # It catches up with the others and the chain goes on past the fence, all nodes agreeing.
    network.wait_height(fence + 3, nodes=network.validators, timeout_s=90)
    network.check_alive()
    top = min(n.client.status()["height"] for n in network.validators)
    for h in range(1, top + 1):
        hashes = {n.name: n.client.block(h).json["blockHash"] for n in network.validators}
        assert len(set(hashes.values())) == 1, f"block {h}: {hashes}"

    # Up to the fence it signed nothing since it died: no certificate anywhere carries its commit,
    # and it proposed no block (heights up to killed_at + 1 may hold votes it sent before).
    for h in range(killed_at + 2, fence + 1):
        for n in network.validators:
            block = n.client.block(h).json
            signers = [s["validator"] for s in block["commit"]["signatures"]]
            assert key not in signers, f"block {h} on {n.name} (at or below the fence {fence}) carries the wiped validator's commit"
            assert block["proposer"] != key, f"block {h} (at or below the fence {fence}) was proposed by the wiped validator"

    # Above the fence it votes again: its own certificates carry its commit, and it persists
    # signing states of later heights.
    def signed_above_fence():
        tip = node.client.status()["height"]
        return any(key in [s["validator"] for s in node.client.block(h).json["commit"]["signatures"]]
                   for h in range(fence + 1, tip + 1))
    totem_net.wait_until("the wiped validator to vote above the fence", signed_above_fence, totem_net.scaled(30))
    totem_net.wait_until("a signing state above the fence's own record",
                         lambda: totem_net.signing_height(data_dir) > fence + 1, totem_net.scaled(30))
    for n in network.validators:
        with open(n.log_path, encoding="utf-8", errors="replace") as f:
            assert "equivocation evidence submitted" not in f.read(), n.name
    assert bench.poll() is None or bench.returncode == 0, bench_log.read_text()[-3000:]


def abstaining_reason(node) -> str | None:
    """The `abstaining` reason of the node's /readyz, if it gives one."""
    r = node.client.request("GET", "/readyz")
    reasons = (r.json or {}).get("reasons", [])
    return next((x["message"] for x in reasons if x["code"] == "abstaining"), None)


def metric(node, name: str) -> float | None:
    m = re.search(rf"^{name} (\S+)$", node.client.metrics(), re.M)
    return float(m.group(1)) if m else None


def test_a_wiped_validator_waits_for_enough_validators_and_a_restart_keeps_its_fence(totemd, tmp_path):
    """Without load, step by step: with one other validator up it does not decide (it needs q - 1 =
    2), and says so in /readyz and /metrics; with two it fences, and since it is then silent with
    the fourth down, the chain waits below the fence (the documented cost); killed there and
    restarted, it keeps its fence (no second wait, no vote); with the fourth back the chain passes
    the fence and it votes again."""
    with totem_net.running_network(totemd, str(tmp_path / "net"), VALIDATORS, 0,
                                   testnet_args=["--empty-block-interval-ms", str(HEARTBEAT_MS)]) as network:
        network.wait_height(3, timeout_s=60)
        v0, v1, v2, node = network.validators
        data_dir = os.path.join(node.home, "data")
        key = node.public_key.hex()
        assert network.kill(node) == -9
        for v in (v1, v2):
            network.kill(v, 15)
        shutil.rmtree(data_dir)
        stalled_at = v0.client.status()["height"]

        # One other validator heard: it catches up to it, and still waits.
        network.start(node)
        network.wait_healthy([node], timeout_s=60)
        network.wait_height(stalled_at, nodes=[node], timeout_s=60)
        totem_net.wait_until("/readyz to say it waits for the network's height",
                             lambda: "not voting until the network's height is known" in (abstaining_reason(node) or ""),
                             totem_net.scaled(10), describe=lambda: node.client.request("GET", "/readyz").json)
        totem_net.wait_until("totem_abstaining 1", lambda: metric(node, "totem_abstaining") == 1, totem_net.scaled(10))
        assert NO_SIGNING_STATE in last_run_log(node) and not FENCED.search(last_run_log(node))

        # A second one: it fences above their height. Two of four vote now: nothing is decided.
        network.start(v1)
        totem_net.wait_until("the wiped validator to fence", lambda: FENCED.search(last_run_log(node)) is not None,
                             totem_net.scaled(60), describe=lambda: node.log_tail(20))
        fence = int(FENCED.search(last_run_log(node)).group(1))
        assert fence >= stalled_at + 3, (fence, stalled_at)
        assert totem_net.signing_height(data_dir) == fence + 1
        totem_net.wait_until("/readyz to name the fence",
                             lambda: f"abstaining (fenced through height {fence})" in (abstaining_reason(node) or ""),
                             totem_net.scaled(10), describe=lambda: node.client.request("GET", "/readyz").json)

        # Killed and restarted below its fence: it keeps it, and does not wait again.
        assert v0.client.status()["height"] < fence
        assert network.kill(node) == -9
        network.start(node)
        network.wait_healthy([node], timeout_s=60)
        totem_net.wait_until("the restarted validator to start its consensus",
                             lambda: "consensus starting" in last_run_log(node), totem_net.scaled(30))
        log = last_run_log(node)
        assert f"follows without voting through height {fence}" in log, log[-3000:]
        assert NO_SIGNING_STATE not in log, log[-3000:]
        assert totem_net.signing_height(data_dir) == fence + 1

        # The fourth is back: the chain passes the fence, and the wiped validator votes above it.
        network.start(v2)
        network.wait_height(fence + 3, nodes=network.validators, timeout_s=90)
        for h in range(stalled_at + 1, fence + 1):
            signers = [s["validator"] for s in v0.client.block(h).json["commit"]["signatures"]]
            assert key not in signers, f"block {h} (at or below the fence {fence}) carries the wiped validator's commit"
        totem_net.wait_until("a signing state above the fence's own record",
                             lambda: totem_net.signing_height(data_dir) > fence + 1, totem_net.scaled(30))
        totem_net.wait_until("/readyz without abstaining", lambda: abstaining_reason(node) is None, totem_net.scaled(10))
        totem_net.wait_until("totem_abstaining 0", lambda: metric(node, "totem_abstaining") == 0, totem_net.scaled(10))
