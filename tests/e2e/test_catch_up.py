"""End-to-end: a node far behind catches up while the chain is under load (issue 11, defect 2).

Found by fault testing: a node behind asked for 32 blocks only when a peer's status arrived (at most
once a second), so under 250 tx/s an observer gained 30 blocks/s while the chain made 74/s and never
caught up; it logged nothing and reported `catchingUp: false` while hundreds of blocks behind.

Here the observer is killed, `totemd bench` loads the validators, the observer restarts hundreds of
blocks behind while the load goes on, and must reach the tip during the load, saying so: `catchingUp`
true while behind, progress lines with rate and ETA in its log, `totem_catchup_blocks_behind` in its
metrics, then the same blocks as the validators. Rates are the benchmark's business
(docs/consensus.md, "Catch-up"); this test asserts the mechanism.
"""

import os
import re
import subprocess
import time

import pytest

from totem_net import scaled

LOAD_RATE = int(os.environ.get("TOTEM_E2E_CATCHUP_RATE", "150"))
OUTAGE_S = float(os.environ.get("TOTEM_E2E_CATCHUP_OUTAGE_S", "25"))
LOAD_S = OUTAGE_S + 60


@pytest.mark.disruptive
def test_observer_far_behind_catches_up_under_load(network, tmp_path):
    network.ensure_running()
    observer = network.nodes[-1]
    assert not observer.validator
    validators = network.validators
    v0 = validators[0].client
    network.wait_healthy([observer])
    height_at_kill = observer.client.status()["height"]
    assert network.kill(observer) == -9

    bench_log = tmp_path / "bench.log"
    cmd = [network.totemd, "bench", "--root-key", network.root_registrar_path, "--rate", str(LOAD_RATE),
           "--duration", str(LOAD_S), "--identities", "40", "--presign", str(int(LOAD_RATE * LOAD_S) + 1000),
           "--batch", "50", "--drain", "10", "--no-image-code"]
    for v in validators:
        cmd += ["--api", v.api_url]
    with open(bench_log, "wb") as log:
        bench = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        run_catch_up(network, observer, v0, bench, bench_log, height_at_kill)
    finally:
        if bench.poll() is None:
            bench.kill()
        bench.wait()
        if not observer.running():
            network.start(observer)


def run_catch_up(network, observer, v0, bench, bench_log, height_at_kill):
    # Let the chain run ahead under load while the observer is down.
    start_height = v0.status()["height"]
    deadline = time.monotonic() + scaled(OUTAGE_S + 60)
    while time.monotonic() < deadline:
        assert bench.poll() is None, f"bench ended early:\n{bench_log.read_text()[-3000:]}"
        if v0.status()["height"] >= start_height + 300 and time.monotonic() >= deadline - scaled(60):
            break
        time.sleep(0.5)
    behind_at_restart = v0.status()["height"] - height_at_kill
    assert behind_at_restart >= 200, f"the chain made too few blocks under load: {behind_at_restart}\n" \
                                     f"{bench_log.read_text()[-3000:]}"

    network.start(observer)
    network.wait_healthy([observer], timeout_s=60)
    samples = []  # (observer height, catchingUp, validator height)
    readiness = []  # (observer height, /readyz status, reason codes, validator height)
    caught_up_at = None
    deadline = time.monotonic() + scaled(120)
    while time.monotonic() < deadline and bench.poll() is None:
        s = observer.client.status()
        r = observer.client.request("GET", "/readyz")
        top = v0.status()["height"]
        samples.append((s["height"], s.get("catchingUp"), top))
        readiness.append((s["height"], r.status, [x["code"] for x in (r.json or {}).get("reasons", [])], top))
        if top - s["height"] <= 2:
            caught_up_at = len(samples)
            break
        time.sleep(0.25)
    assert caught_up_at is not None, \
        f"the observer did not reach the tip while the load ran ({behind_at_restart} behind at restart); " \
        f"last samples {samples[-5:]}\n{observer.log_tail(30)}"
    assert bench.poll() is None, "the load ended before the observer caught up: nothing was shown"

    far = [(h, c, t) for h, c, t in samples if t - h > 50]
    assert far, f"no sample while far behind: {samples[:5]}"
    assert all(c is True for _, c, _ in far), f"catchingUp false while far behind: {[x for x in far if x[1] is not True][:5]}"
    # /readyz says the same: 503 with `catching_up` while far behind.
    far_ready = [(h, st, codes) for h, st, codes, t in readiness if t - h > 50]
    assert far_ready and all(st == 503 and "catching_up" in codes for _, st, codes in far_ready), far_ready[:5]

    log = read_log_since_last_start(observer)
    progress = [l for l in log.splitlines() if "catching up" in l]
    assert progress, f"no catch-up progress in the log:\n{log[-3000:]}"
    # Each catch-up says where it starts, then every 5 s its rate and ETA, until "caught up". (Under
    # load an observer at the tip falls a few blocks behind and catches up again: short episodes
    # of one line. The loop above samples until it is within 2 of the tip, which may take longer
    # than the catch-up itself, so its length says nothing about how many lines to expect.)
    episodes, current = [], []  # (its "catching up" lines, the seconds its "caught up" line gives)
    for line in log.splitlines():
        if "caught up" in line and current:
            took = re.search(r"seconds=([0-9.]+)", line)
            episodes.append((current, float(took.group(1)) if took else None))
            current = []
        elif "catching up" in line:
            current.append(line)
    later = [l for lines, _ in episodes for l in lines[1:]] + current[1:]
    assert all("blocksPerSecond=" in l and "eta=" in l for l in later), \
        "a progress line after an episode's first without rate and ETA:\n" + "\n".join(progress)
    assert all(len(lines) >= 2 for lines, took in episodes if took is not None and took >= 5.5), \
        "a catch-up of more than 5 s with no line giving its rate:\n" + "\n".join(progress)
    wait_for_log(observer, "caught up")
    metrics = observer.client.metrics()
    assert re.search(r"^totem_catchup_blocks_behind \d+", metrics, re.M), metrics[:2000]
    assert re.search(r"^totem_catchup_requests_total [1-9]", metrics, re.M), metrics[:2000]

    # Its blocks are the validators' blocks.
    top = observer.client.status()["height"]
    for h in sorted({1, top // 3, top // 2, top - 1, top} - {0}):
        a = observer.client.block(h).json.get("blockHash")
        b = v0.block(h).json.get("blockHash")
        assert a == b, f"block {h}: observer {a}, validator {b}"
    print(f"\n[e2e] observer restarted {behind_at_restart} blocks behind under {LOAD_RATE} tx/s; "
          f"reached the tip after {len(samples)} samples (~{len(samples) * 0.25:.1f} s); progress lines:\n"
          + "\n".join(progress[-3:]))


def read_log_since_last_start(node) -> str:
    with open(node.log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    marker = f"===== e2e: start #{node.starts} of {node.name}"
    i = text.rfind(marker)
    return text[i:] if i >= 0 else text


def wait_for_log(node, needle: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + scaled(timeout_s)
    while time.monotonic() < deadline:
        if needle in read_log_since_last_start(node):
            return
        time.sleep(0.2)
    raise AssertionError(f"{node.name} never logged {needle!r}:\n{node.log_tail(30)}")
