"""Peers from the chain, and observer admission without a restart (issue 14), on a 4-validator +
1-observer network of its own whose configs list no peers at all.

- With `persistent_peers = []` everywhere, the validators dial each other at the genesis
  `p2pAddress`: each is connected to the 3 others and a transaction commits.
- The observer (also with no peer list) dials the validators at their genesis addresses, but no
  validator allows it: it is refused (`refused_by_peer` in its log, `peer_not_allowed` in theirs) and
  stays at height 0 while the chain advances.
- A config that does not parse, reloaded with SIGHUP, is logged at error and changes nothing.
- Its key added to one validator's `allowed_observers` and SIGHUP sent to that validator (no
  restart): the observer connects and follows the chain. Its key removed and SIGHUP again: the
  validator disconnects it.
- The observer's key voted in as a validator at its P2P address: every validator adds it to its dial
  targets at the adoption (no config edited) and it is connected to all four.
"""

import json
import os
import re
import signal

import pytest

import totem_client as tc
import totem_net
from totem_net import Actor, scaled, submit_accepted, tx_committed, wait_until


def rewrite(home: str, setting: str, value: str) -> None:
    """Sets `setting = value` in the [p2p] section of a home's config.toml (the line must exist)."""
    path = os.path.join(home, "config.toml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text, n = re.subn(rf"(?m)^{setting} = \[.*\]$", f"{setting} = {value}", text)
    assert n == 1, f"no single {setting} line in {path}:\n{text}"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def log_text(node) -> str:
    with open(node.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def no_peer_lists(net) -> None:
    """Every config without persistent_peers, and no validator allowing the observer."""
    for node in net.nodes:
        rewrite(node.home, "persistent_peers", "[]")
        if node.validator:
            rewrite(node.home, "allowed_observers", "[]")


@pytest.fixture(scope="module")
def net(totemd, tmp_path_factory):
    with totem_net.running_network(totemd, str(tmp_path_factory.mktemp("totem-peers") / "net"), 4, 1,
                                   configure=no_peer_lists, observers_follow=False) as n:
        yield n


def test_validators_form_their_mesh_from_the_genesis_addresses_and_commit(net):
    for v in net.validators:
        wait_until(f"{v.name} connected to the 3 other validators", lambda v=v: v.client.status()["peers"] == 3,
                   scaled(60), describe=lambda v=v: v.client.status())
    client = net.validators[1].client
    root = Actor("root", tc.read_key_file(net.root_registrar_path, strict=False), net)
    root.sync(client)
    add = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": tc.KeyPair.generate().public_key, "name": "peers registrar"})
    submit_accepted(client, [add])
    committed = tx_committed(client, add)
    net.wait_height(committed["height"], nodes=net.validators, timeout_s=30)


def test_an_observer_is_admitted_by_sighup_without_a_restart(net):
    observer = net.nodes[-1]
    host = net.validators[1]
    key = observer.public_key.hex()

    # Refused: it dials the validators (their genesis addresses) and none lets it in.
    wait_until("the observer to be refused by a validator", lambda: "refused_by_peer" in log_text(observer),
               scaled(30), describe=lambda: observer.log_tail(10))
    assert any("peer_not_allowed" in log_text(v) for v in net.validators), net.logs_summary(10)
    top = max(v.client.status()["height"] for v in net.validators)
    net.wait_height(top + 2, nodes=net.validators, timeout_s=60)
    status = observer.client.status()
    assert status["height"] == 0 and status["peers"] == 0, status

    # A config that does not parse changes nothing: logged at error, the node keeps running.
    path = os.path.join(host.home, "config.toml")
    with open(path, encoding="utf-8") as f:
        good = f.read()
    rewrite(host.home, "allowed_observers", '["not a key"]')
    host.proc.send_signal(signal.SIGHUP)
    wait_until(f"{host.name} to refuse the broken config", lambda: "config reload failed" in log_text(host),
               scaled(15), describe=lambda: host.log_tail(10))
    [line] = [ln for ln in log_text(host).splitlines() if "config reload failed" in ln]
    assert "error" in line and "allowed_observers" in line, line
    with open(path, "w", encoding="utf-8") as f:
        f.write(good)
    net.check_alive()

    # Admitted by one validator: edit its config, SIGHUP, and the observer follows the chain.
    rewrite(host.home, "allowed_observers", json.dumps([key]))
    host.proc.send_signal(signal.SIGHUP)
    wait_until(f"{host.name} to log the observer allowed",
               lambda: f"config reload: observer allowed: {key}" in log_text(host),
               scaled(15), describe=lambda: host.log_tail(10))
    wait_until("the observer connected", lambda: observer.client.status()["peers"] == 1, scaled(60),
               describe=lambda: (observer.client.status(), observer.log_tail(10)))
    top = max(v.client.status()["height"] for v in net.validators)
    net.wait_height(top + 1, nodes=[observer], timeout_s=60)
    before = observer.client.status()["height"]
    net.wait_height(before + 2, nodes=[observer], timeout_s=60)
    assert host.proc.poll() is None and host.starts == 1, "the validator was not restarted"

    # Removed again: the reload closes its connection.
    rewrite(host.home, "allowed_observers", "[]")
    host.proc.send_signal(signal.SIGHUP)
    wait_until(f"{host.name} to log the observer no longer allowed",
               lambda: f"config reload: observer no longer allowed: {key}" in log_text(host),
               scaled(15), describe=lambda: host.log_tail(10))
    wait_until("the observer disconnected", lambda: observer.client.status()["peers"] == 0, scaled(30),
               describe=lambda: observer.client.status())
    net.check_alive()


def test_dial_targets_follow_an_adopted_validator_change(net):
    """The observer's key voted in as a validator, at its P2P address: from the adoption every
    validator allows it and dials it (no config edited, no restart), and it connects to all four.
    (It keeps role = observer and does not vote: 4 of the 5 still make the quorum of 4.)"""
    joiner = net.nodes[-1]
    assert joiner.client.status()["peers"] == 0  # left out by the previous test
    address = f"127.0.0.1:{net.p2p_base + joiner.index}"
    change = {"op": 1, "validator": joiner.public_key, "name": "joiner", "p2pAddress": address}
    heights = []
    for v in net.validators[:3]:
        voter = Actor(v.name, tc.read_key_file(os.path.join(v.home, "node_key.json"), strict=False), net)
        voter.sync(v.client)
        vote = voter.tx(tc.KIND_VALIDATOR_CHANGE, change)
        submit_accepted(v.client, [vote])
        heights.append(tx_committed(v.client, vote)["height"])
    net.wait_height(max(heights) + 2, nodes=net.validators, timeout_s=60)
    members = {m["publicKey"]: m for m in net.validators[0].client.request("GET", "/v1/validators").json["validators"]}
    assert members[joiner.public_key.hex()]["p2pAddress"] == address, members

    for v in net.validators:
        wait_until(f"{v.name} to add the new validator to its dial targets",
                   lambda v=v: any("dial targets set" in ln and "added=1" in ln for ln in log_text(v).splitlines()),
                   scaled(30), describe=lambda v=v: v.log_tail(10))
    wait_until("the new validator connected to all four", lambda: joiner.client.status()["peers"] == 4, scaled(60),
               describe=lambda: (joiner.client.status(), joiner.log_tail(10)))
    top = max(v.client.status()["height"] for v in net.validators)
    net.wait_height(top + 1, timeout_s=60)
