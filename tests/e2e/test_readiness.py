"""`/livez` and `/readyz` on a 4-validator network of its own (issue 14: health that means something).

All four ready; two validators killed: the other two answer 503 with `no_quorum_of_peers` (each
hears one other validator: 2 of the 3 needed) while `/livez` stays 200; the two restarted: every
node ready again, without a manual step. (`catching_up` is checked in test_catch_up.py, while an
observer is hundreds of blocks behind; the other reasons with values in ReadinessTests.)
"""

import signal
import subprocess

import pytest

import totem_net
from totem_net import scaled, wait_until


@pytest.fixture(scope="module")
def net(totemd, tmp_path_factory):
    with totem_net.running_network(totemd, str(tmp_path_factory.mktemp("totem-readiness") / "net"), 4, 0) as n:
        yield n


def readyz(node):
    r = node.client.request("GET", "/readyz")
    return r.status, r.json or {}


def test_ready_then_not_ready_without_a_quorum_then_ready_again(net):
    nodes = net.validators
    for n in nodes:
        wait_until(f"{n.name} ready", lambda n=n: readyz(n)[0] == 200, scaled(30),
                   describe=lambda n=n: readyz(n))
        status, body = readyz(n)
        assert body["ready"] is True and body["reasons"] == [], body
        assert n.client.request("GET", "/livez").status == 200

    down = nodes[2:]
    for n in down:
        net.kill(n, signal.SIGKILL)
    up = nodes[:2]
    for n in up:
        wait_until(f"{n.name} says it has no quorum of peers",
                   lambda n=n: "no_quorum_of_peers" in [r["code"] for r in readyz(n)[1].get("reasons", [])],
                   scaled(30), describe=lambda n=n: readyz(n))
        status, body = readyz(n)
        assert status == 503 and body["ready"] is False, body
        [reason] = [r for r in body["reasons"] if r["code"] == "no_quorum_of_peers"]
        assert "connected to 1 of the 3 other validators" in reason["message"], reason
        assert n.client.request("GET", "/livez").status == 200

    for n in down:
        net.start(n)
    height = max(n.client.status()["height"] for n in up)
    net.wait_height(height + 1, timeout_s=90)
    for n in nodes:
        wait_until(f"{n.name} ready again", lambda n=n: readyz(n)[0] == 200, scaled(60),
                   describe=lambda n=n: readyz(n))


def test_a_second_node_on_the_same_home_is_refused_and_the_first_keeps_going(net):
    """Two `totemd start` on one home would both open the store and the signing-state files: the
    second is refused at once, naming the data directory, and the first keeps committing."""
    node = net.validators[0]
    net.ensure_running()
    before = net.heights([node])[node.name]
    second = subprocess.run([net.totemd, "start", "--home", node.home], capture_output=True, text=True,
                            timeout=scaled(30))
    said = second.stdout + second.stderr
    assert second.returncode != 0, said
    assert "in use by another process" in said, said
    assert node.running(), node.log_tail()
    net.wait_height(before + 2, [node], timeout_s=scaled(30))
