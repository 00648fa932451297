"""A stopped validator's data.mdb damaged in its data pages (issue 11, defect 3), end to end: a read
of a damaged record answers 500 `store_corrupted` (never a wrong 200) and is logged at error level
naming the file; damage to what the node signs on (state, recent blocks) stops the next start with
what to do. Runs its own one-validator network (a heartbeat block every 200 ms)."""

import os
import struct

import totem_client as tc
import totem_net
from totem_net import Actor, submit_accepted, tx_committed

HEARTBEAT_MS = 200


def flip_all(path: str, pattern: bytes, at: int) -> int:
    """Flips byte `at` of every occurrence of `pattern` in the file; returns how many."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    count, start = 0, 0
    while (i := data.find(pattern, start)) >= 0:
        data[i + at] ^= 0xFF
        count += 1
        start = i + 1
    with open(path, "wb") as f:
        f.write(data)
    return count


def test_damaged_records_are_errors_and_damaged_state_stops_the_start(totemd, tmp_path, monkeypatch):
    monkeypatch.setenv("TOTEM_E2E_TESTNET_ARGS", f"--empty-block-interval-ms {HEARTBEAT_MS}")
    net = totem_net.Network(totemd, str(tmp_path / "net"), 1, 0)
    net.create()
    node = net.nodes[0]
    data = os.path.join(node.home, "data", "data.mdb")
    try:
        net.start(node)
        net.wait_healthy(timeout_s=60)
        root = Actor("root", tc.read_key_file(net.root_registrar_path, strict=False), net)
        root.sync(node.client)
        subject = tc.KeyPair.generate().public_key
        t = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": subject, "name": "damage test"})
        submit_accepted(node.client, [t])
        where = tx_committed(node.client, t)
        net.kill(node, 15)

        # The tx index entry: key txHash, value height:u64 | index:u32 (then its checksum).
        location = struct.pack(">QI", where["height"], where["index"])
        assert flip_all(data, t.tx_hash + location, len(t.tx_hash) + 5) >= 1
        net.start(node)
        net.wait_healthy(timeout_s=60)
        resp = node.client.request("GET", f"/v1/txs/{t.tx_hash.hex()}")
        assert resp.status == 500, resp.describe()
        assert resp.error_code() == "store_corrupted", resp.describe()
        assert tc.check_error_body(resp) == [], resp.describe()
        totem_net.wait_until("the damage logged", lambda: any(
            " error " in line and "data.mdb" in line and "txIndex" in line for line in node.log_tail(50).splitlines()),
            totem_net.scaled(5), describe=lambda: node.log_tail(5))
        net.kill(node, 15)

        # The registrar's record (and the block holding its tx): the start-up check refuses.
        assert flip_all(data, subject, 31) >= 1
        net.start(node)
        totem_net.wait_until("the node to refuse to start", lambda: not node.running(), totem_net.scaled(60),
                             describe=lambda: node.log_tail(5))
        assert node.proc.returncode != 0
        log = node.log_tail(20)
        assert "refusing to start" in log and "data.mdb is damaged" in log, log
        assert "restore the data directory" in log, log
    finally:
        net.stop()
