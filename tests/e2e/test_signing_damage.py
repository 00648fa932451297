"""A validator whose newest signing-state record is damaged while it is stopped (issue 11, defect 4):
on restart it logs the damage at error level and abstains at the next height (no vote there, since
the lost record may have covered one), while the other validators decide that height and it follows
them, then votes again."""

import os
import struct

import totem_net

VALIDATORS = 4
HEARTBEAT_MS = 200
SLOT_HEADER_BYTES = 8 + 8 + 4 + 32  # magic | sequence u64 | length u32 | SHA-256 (SlotFile)
FLIPPED_BYTES = 4


def newest_slot(data_dir: str) -> tuple[str, int, int]:
    """The signing-state slot with the highest sequence, its payload's length and its sequence."""
    best = None
    for name in ("signing-state.a", "signing-state.b"):
        with open(os.path.join(data_dir, name), "rb") as f:
            header = f.read(SLOT_HEADER_BYTES)
        sequence, length = struct.unpack(">QI", header[8:20])
        if best is None or sequence > best[1]:
            best = (name, sequence, length)
    return os.path.join(data_dir, best[0]), best[2], best[1]


def test_a_damaged_newest_signing_state_is_reported_and_the_height_skipped(totemd, tmp_path, monkeypatch):
    monkeypatch.setenv("TOTEM_E2E_TESTNET_ARGS", f"--empty-block-interval-ms {HEARTBEAT_MS}")
    network = totem_net.Network(totemd, str(tmp_path / "net"), VALIDATORS, 0)
    network.create()
    try:
        network.start_all()
        network.wait_healthy(timeout_s=60)
        network.wait_height(2, timeout_s=60)
        damage_and_restart(network, network.validators[1])
    finally:
        network.stop()


def damage_and_restart(network, node):
    data_dir = os.path.join(node.home, "data")
    # The others can decide without it: wait until it has signed something itself.
    totem_net.wait_until("the validator to persist a signing state", lambda: newest_slot(data_dir)[1] >= FLIPPED_BYTES,
                         totem_net.scaled(30))
    network.kill(node, 15)
    path, length, sequence = newest_slot(data_dir)
    assert length >= FLIPPED_BYTES, "the validator has signed something since the network started"
    with open(path, "r+b") as f:
        f.seek(SLOT_HEADER_BYTES)
        payload = bytearray(f.read(FLIPPED_BYTES))
        f.seek(SLOT_HEADER_BYTES)
        f.write(bytes(b ^ 0xFF for b in payload))
    network.start(node)
    network.wait_healthy([node])
    start_height = node.client.status()["height"]

    def reported():
        lines = node.log_tail(80).splitlines()
        error = [l for l in lines if " error " in l and "the newest signing state may be lost" in l]
        starting = [l for l in lines if "consensus starting" in l and "abstaining=true" in l]
        return error and starting and os.path.basename(path) in error[-1]
    totem_net.wait_until("the damaged signing state to be reported", reported, totem_net.scaled(10),
                         describe=lambda: node.log_tail(10))
    # The others decide the height it abstains at; it follows, and later heights count it again.
    network.wait_height(start_height + 3, nodes=network.nodes, timeout_s=90)
    network.check_alive()
    # It signs (and so persists) again after that height: a newer record than the damaged one.
    totem_net.wait_until("the validator to sign again", lambda: newest_slot(data_dir)[2] > sequence,
                         totem_net.scaled(30))
