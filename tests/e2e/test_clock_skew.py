"""A validator whose wall clock is 30 s ahead says so itself in its log.

One validator of a 4-validator network runs under libfaketime (Debian's `faketime` package) with
`FAKETIME=+30s` and `DONT_FAKE_MONOTONIC=1`: only its wall clock is shifted, its timers (the
monotonic clock) are not. The node (ConsensusDriver `checkClock`) warns, at most once a minute,
"this node's clock seems off" when it commits another validator's block whose time is more than
half of the genesis `maxClockDriftMs` from its own clock, with `offsetMs` = its clock minus the
block's time, here about +30,000. The other validators refuse its own proposals
(`block_clock_drift`), so the chain is led by them and goes on: after its first missed turn the leader
rotation benches it (another validator leads view 0 of its turns), and it is tried again only on
probe turns, which end in a view change (docs/consensus.md, "Leader rotation").
"""

import base64
import contextlib
import glob
import os
import re
import subprocess
import sys
import time

import pytest

import totem_client as tc
import totem_net

VALIDATORS = 4
SKEWED = 2  # not node0, the anchor node the others dial
SKEW_S = 30
HEARTBEAT_MS = 500
CLOCK_WARNING = "this node's clock seems off"
# Heights committed by the healthy validators after the warning: at least 3 turns of the skewed one
# (round robin over 4), each benched or a failed probe.
MORE_BLOCKS = 12


def find_libfaketime() -> str:
    """libfaketime.so.1: TOTEM_E2E_LIBFAKETIME, else where dpkg says the package put it, else the
    usual multiarch and plain locations. Fails (never skips) when it is not installed."""
    env = os.environ.get("TOTEM_E2E_LIBFAKETIME")
    if env:
        if not os.path.isfile(env):
            pytest.fail(f"TOTEM_E2E_LIBFAKETIME={env} is not a file", pytrace=False)
        return env
    candidates = []
    for package in ("libfaketime", "faketime"):
        try:
            res = subprocess.run(["dpkg", "-L", package], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        candidates += [l for l in res.stdout.decode("utf-8", "replace").splitlines()
                       if l.endswith("/libfaketime.so.1")]
    candidates += sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    candidates += ["/usr/lib/faketime/libfaketime.so.1", "/usr/local/lib/faketime/libfaketime.so.1"]
    for path in candidates:
        if os.path.isfile(path):
            return path
    pytest.fail("libfaketime.so.1 not found: install Debian's `faketime` package (scripts/test.sh "
                "does), or set TOTEM_E2E_LIBFAKETIME to the library's path", pytrace=False)


def skew_env(library: str) -> dict[str, str]:
    # FAKETIME_SHARED names a semaphore and shared memory that do not exist: libfaketime then creates
    # its own and *replaces* this variable. Without it, libfaketime adds the variable from its
    # constructor (setenv of a new name moves the `environ` array to the heap) and the Swift runtime,
    # which finds argv from `environ` on Linux, sees no arguments: totemd printed its top-level usage.
    # (The `faketime` wrapper sets the variable before exec for the same reason.)
    missing = f"/totem_e2e_none_{os.getpid()}"
    return {"LD_PRELOAD": library, "FAKETIME": f"+{SKEW_S}s", "DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_SHARED": f"{missing} {missing}"}


def check_skew_works(totemd: str, env: dict[str, str]) -> None:
    """The environment shifts a process's wall clock by about SKEW_S, and not its monotonic clock,
    and totemd under it still gets its arguments."""
    res = subprocess.run([totemd, "testnet", "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env={**os.environ, **env}, timeout=totem_net.scaled(30), check=False)
    out = res.stdout.decode("utf-8", "replace")
    assert res.returncode == 0 and "--empty-block-interval-ms" in out, \
        f"`totemd testnet --help` under {env} did not get its arguments (status {res.returncode}):\n{out}"
    code = "import time; print(time.time(), time.monotonic())"
    before_wall, before_mono = time.time(), time.monotonic()
    res = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env={**os.environ, **env}, timeout=totem_net.scaled(30), check=False)
    out = res.stdout.decode("utf-8", "replace")
    assert res.returncode == 0, f"a process under {env} failed: {out}"
    wall, mono = (float(x) for x in out.split()[-2:])
    after_wall, after_mono = time.time(), time.monotonic()
    assert before_wall + SKEW_S - 1 <= wall <= after_wall + SKEW_S + 1, \
        f"libfaketime did not shift the wall clock by {SKEW_S} s: {wall} (here {before_wall}..{after_wall})"
    assert before_mono - 1 <= mono <= after_mono + 1, \
        f"the monotonic clock was shifted too ({mono}, here {before_mono}..{after_mono})"


def warnings_in(node) -> list[str]:
    with open(node.log_path, "rb") as f:
        return [l for l in f.read().decode("utf-8", "replace").splitlines() if CLOCK_WARNING in l]


def log_lines(node, needle: str) -> list[str]:
    with open(node.log_path, "rb") as f:
        return [l for l in f.read().decode("utf-8", "replace").splitlines() if needle in l]


def remove_faketime_shm(pid: int) -> None:
    """libfaketime in process `pid` made /faketime_sem_<pid> and /faketime_shm_<pid>; it removes them
    when the process exits normally, not when it is killed."""
    for name in (f"sem.faketime_sem_{pid}", f"faketime_shm_{pid}"):
        with contextlib.suppress(OSError):
            os.unlink(os.path.join("/dev/shm", name))


def test_a_validator_with_a_skewed_clock_says_so_and_the_chain_goes_on(totemd, tmp_path, monkeypatch):
    env = skew_env(find_libfaketime())
    check_skew_works(totemd, env)
    monkeypatch.setenv("TOTEM_E2E_TESTNET_ARGS", f"--empty-block-interval-ms {HEARTBEAT_MS}")
    net = totem_net.Network(totemd, str(tmp_path / "net"), VALIDATORS, 0)
    net.create()
    limit_ms = net.genesis["params"]["maxClockDriftMs"]
    assert limit_ms / 2 < SKEW_S * 1000 - 5000, f"maxClockDriftMs {limit_ms}: a {SKEW_S} s skew is not 'off'"
    skewed = net.validators[SKEWED]
    healthy = [n for n in net.validators if n is not skewed]
    skewed.env = env
    started = time.monotonic()
    try:
        net.start_all()
        net.wait_healthy(timeout_s=60)
        net.wait_height(2, nodes=healthy, timeout_s=90)

        # The skewed validator warns once it commits another's fresh block (not while catching up).
        lines = totem_net.wait_until(f"the clock warning in {skewed.name}'s log", lambda: warnings_in(skewed),
                                     totem_net.scaled(60), interval_s=0.5, describe=lambda: skewed.log_tail(15))
        first = lines[0]
        assert " warning " in first, first
        offset = re.search(r"\boffsetMs=(-?\d+)", first)
        assert offset, first
        # offsetMs is its clock minus the block's time: about +30 s (plus the commit's latency).
        assert SKEW_S * 1000 - 3000 <= int(offset.group(1)) <= SKEW_S * 1000 + 10000, first
        assert re.search(rf"\blimitMs={limit_ms}\b", first), first
        proposer = re.search(r"\bproposer=([0-9a-f]{16})\b", first)
        assert proposer, first
        assert proposer.group(1) in [n.public_key.hex()[:16] for n in healthy], first

        # The chain goes on, led by the others: their heights advance past several of its turns,
        # and it follows them.
        start = max(n.client.status()["height"] for n in healthy)
        net.wait_height(start + MORE_BLOCKS, nodes=healthy, timeout_s=120)
        net.wait_height(start + MORE_BLOCKS, nodes=[skewed], timeout_s=60)
        net.check_alive()
        end = min(n.client.status()["height"] for n in healthy)
        headers = []
        for height in range(start + 1, end + 1):
            answer = healthy[0].client.block(height)
            assert answer.status == 200, answer.describe()
            headers.append(tc.Header.decode(base64.b64decode(answer.json["header"])))
        print(f"\n[e2e] {skewed.name} warned: {first}\n[e2e] heights {start + 1}..{end}: "
              + ", ".join(f"{h.height}:{net.node_by_key(h.proposer).name}/v{h.view}" for h in headers))
        assert all(h.proposer != skewed.public_key for h in headers), \
            f"a block proposed by the skewed validator was committed between heights {start + 1} and {end}"
        # Its turns (the base rule gives it view 0 of every 4th height: V[(height + view) mod n], keys
        # sorted) went to the next validator: at view 0 when it was benched, at a later view after a
        # failed probe. At the other heights the base rule's leader proposed.
        keys = sorted(net.validator_keys)
        def leader(height, view):
            return keys[(height + view) % len(keys)]
        its_turns = [h for h in headers if leader(h.height, 0) == skewed.public_key]
        turns = [(h.height, h.view, net.node_by_key(h.proposer).name) for h in its_turns]
        assert len(its_turns) >= MORE_BLOCKS // len(keys) - 1, turns
        benched = [h for h in its_turns if h.view == 0 and h.proposer == leader(h.height, 1)]
        probes = [h for h in its_turns if h.view > 0 and h.proposer == leader(h.height, h.view)]
        assert len(benched) + len(probes) == len(its_turns), turns
        assert benched, f"the skewed validator was never benched at its turns: {turns}"
        others = [h for h in headers if leader(h.height, 0) != skewed.public_key]
        assert all(h.proposer == leader(h.height, h.view) for h in others), \
            [(h.height, h.view, h.proposer.hex()[:16]) for h in others]

        # The others refused its proposals for their time.
        prefix = f"proposer={skewed.public_key.hex()[:16]}"
        for n in healthy:
            refused = [l for l in log_lines(n, "refused proposal") if "block_clock_drift" in l]
            assert any(prefix in l for l in refused), f"{n.name} refused: {refused}"

        # Only the skewed validator warns, and at most once a minute.
        for n in healthy:
            assert not warnings_in(n), f"{n.name} (clock not skewed) warned: {warnings_in(n)}"
        warned = warnings_in(skewed)
        assert len(warned) <= 1 + int((time.monotonic() - started) / 60), warned
    finally:
        pid = skewed.proc.pid if skewed.proc is not None else None
        net.stop()
        if pid is not None:
            remove_faketime_shm(pid)
