"""Full blocks of RegisterWorkBatch txs keep the chain going. A proposal's time is stamped before its
txs are applied, and voters refuse a time more than maxClockDriftMs from their clocks; when
building a block took longer than that, every voter refused every such proposal, in every view,
while the mempool stayed full: the chain stopped (found by `totemd bench --works-per-tx 100`). The
proposer now sizes its proposals by how long builds take (ProposalBudget). Here: far more works
than a block can take in time, on the debug build, must all commit, with no proposal refused for
its time.

The session's nodes start with a 1 MiB LMDB map (conftest.py): these blocks are written across
several map growths, with admission reading the state all along."""

import os
import re
import subprocess

import totem_client as tc
from totem_net import registered, scaled, submit_accepted, tx_final, wait_until

SENDERS = 4
TXS_PER_SENDER = 40
WORKS_PER_TX = 200


def drift_refusals(network) -> int:
    count = 0
    for node in network.nodes:
        with open(node.log_path, "rb") as f:
            count += f.read().count(b"block_clock_drift")
    return count


def test_full_blocks_of_batches_commit_without_stale_proposals(network):
    client = network.nodes[0].client
    senders = registered(network, client, "heavy", [tc.ROLE_AGENCY] * SENDERS)[1:]
    refusals_before = drift_refusals(network)
    start_height = client.status()["height"]

    txs = []
    for s, sender in enumerate(senders):
        for k in range(TXS_PER_SENDER):
            works = [tc.work(os.urandom(32), f"heavy {s}/{k}/{i}", image_code=int.from_bytes(os.urandom(8), "big"))
                     for i in range(WORKS_PER_TX)]
            txs.append(sender.tx(tc.KIND_REGISTER_WORK_BATCH, {"works": works}))
    # Every sender's txs at once, spread over the validators: the mempools fill before a block is built.
    for i in range(0, len(txs), 20):
        submit_accepted(network.nodes[(i // 20) % 4].client, txs[i:i + 20])

    def last_ones_final():  # each sender's last tx: committed only after all its earlier ones
        return all(client.tx_status(t.tx_hash).json.get("status") in ("committed", "rejected")
                   for t in (txs[(s + 1) * TXS_PER_SENDER - 1] for s in range(SENDERS))) or None
    wait_until("every sender's last batch final", last_ones_final, scaled(300), interval_s=1,
               describe=lambda: client.status())
    for t in txs:
        assert tx_final(client, t.tx_hash, timeout_s=30)["status"] == "committed", t.tx_hash.hex()
    heights = client.status()["height"] - start_height
    assert heights >= 2, "the works fit in one block: the test did not fill blocks"
    assert drift_refusals(network) == refusals_before, "a proposal was refused for its time"
    for node in network.nodes:
        grown = map_bytes(node)
        assert grown >= 8 << 20, f"{node.name}: the LMDB map is {grown} bytes; it was to grow from 1 MiB"


def map_bytes(node) -> int:
    for line in node.client.metrics().splitlines():
        if line.startswith("totem_lmdb_map_bytes "):
            return int(float(line.split()[1]))
    raise AssertionError(f"{node.name}: no totem_lmdb_map_bytes in /metrics")


def test_bench_refuses_batches_over_the_chains_tx_size_at_once(network, totemd):
    """1000 works per tx exceed maxTxBytes: the bench ran on, every tx refused, and reported 0 tx/s.
    It now stops before the load, naming the size, the limit and a --works-per-tx that fits."""
    node = network.nodes[0]
    out = subprocess.run([totemd, "bench", "--api", node.api_url, "--root-key", network.root_registrar_path,
                          "--identities", "1", "--works-per-tx", "1000", "--duration", "1", "--drain", "0"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=scaled(120))
    said = out.stdout + out.stderr
    assert out.returncode != 0, said
    limit = node.client.status()["maxTxBytes"]
    assert f"over the chain's maxTxBytes of {limit}" in said, said
    fits = int(re.search(r"use --works-per-tx (\d+) or less", said).group(1))
    assert 1 <= fits < 1000, said
    assert "timed phase" not in said, "the load started"
