"""A validator whose newest signing-state record is damaged while it is stopped (issue 11, defect 4):
on restart it logs the damage at error level and abstains at the next height (no vote there, since
the lost record may have covered one), while the other validators decide that height and it follows
them, then votes again."""

import os
import struct

import pytest

import totem_net

SLOT_HEADER_BYTES = 8 + 8 + 4 + 32  # magic | sequence u64 | length u32 | SHA-256 (SlotFile)
FLIPPED_BYTES = 4


def newest_slot(data_dir: str) -> tuple[str, int]:
    """The signing-state slot with the highest sequence, and the length of its payload."""
    best = None
    for name in ("signing-state.a", "signing-state.b"):
        with open(os.path.join(data_dir, name), "rb") as f:
            header = f.read(SLOT_HEADER_BYTES)
        sequence, length = struct.unpack(">QI", header[8:20])
        if best is None or sequence > best[1]:
            best = (name, sequence, length)
    return os.path.join(data_dir, best[0]), best[2]


@pytest.mark.disruptive
def test_a_damaged_newest_signing_state_is_reported_and_the_height_skipped(network):
    network.ensure_running()
    network.wait_healthy()
    node = network.validators[1]
    network.kill(node, 15)
    path, length = newest_slot(os.path.join(node.home, "data"))
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
