"""A validator whose data directory's disk fills up (issue 11, defect 5): /metrics reports the free
bytes of that file system, the node warns when they fall under `store.min_free_mib`, and the write
that finds the disk full stops the node with an error line that says so, naming the file system's
path and its free bytes, instead of a bare `Input/output error`.

Runs its own one-validator network (a heartbeat block every 200 ms) with the data directory on a
small tmpfs mounted here (root only) and unmounted at the end, whatever happens."""

import os
import re
import subprocess

import pytest

import totem_net

TMPFS_BYTES = 16 << 20
HEARTBEAT_MS = 200
FILL_CHUNK_BYTES = 64 << 10
FILL_CHUNKS_MAX = TMPFS_BYTES // FILL_CHUNK_BYTES + 1


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(mount)], check=True)
    try:
        yield str(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: str) -> int:
    """Write zeros to `path` until the file system is full; returns the bytes written."""
    written = 0
    chunk = b"\0" * FILL_CHUNK_BYTES
    with open(path, "wb", buffering=0) as f:
        for _ in range(FILL_CHUNKS_MAX):
            try:
                written += f.write(chunk)
            except OSError:
                break
    return written


def free_bytes_metric(text: str):
    m = re.search(r"^totem_data_dir_free_bytes\s+([0-9.e+]+)\s*$", text, re.M)
    return float(m.group(1)) if m else None


def test_a_full_disk_is_named_before_the_node_stops(totemd, tmp_path, small_disk, monkeypatch):
    monkeypatch.setenv("TOTEM_E2E_TESTNET_ARGS", f"--empty-block-interval-ms {HEARTBEAT_MS}")
    net = totem_net.Network(totemd, str(tmp_path / "net"), 1, 0)
    net.create()
    node = net.nodes[0]
    data_dir = os.path.join(small_disk, "data")
    config = os.path.join(node.home, "config.toml")
    with open(config) as f:
        text = f.read()
    assert 'data_dir = "data"' in text, text
    # Every free byte of a 16 MiB disk is under the 1 GiB default threshold: the warning is due.
    text = text.replace('data_dir = "data"', f'data_dir = "{data_dir}"')
    with open(config, "w") as f:
        f.write(text)
    try:
        net.start(node)
        net.wait_healthy(timeout_s=60)
        net.wait_height(2, timeout_s=60)

        free = totem_net.wait_until("the free-bytes gauge", lambda: free_bytes_metric(node.client.metrics()),
                                    totem_net.scaled(10))
        assert 0 < free <= TMPFS_BYTES, free
        totem_net.wait_until("the low-disk warning", lambda: "disk is nearly full" in node.log_tail(200),
                             totem_net.scaled(10))

        assert fill(os.path.join(small_disk, "filler")) > 0
        totem_net.wait_until("the node to stop on the full disk", lambda: not node.running(),
                             totem_net.scaled(120), describe=lambda: node.log_tail(5))
        assert node.proc.returncode != 0
        log = node.log_tail(400)
        lines = [l for l in log.splitlines() if "disk full" in l]
        assert lines, log
        error_lines = [l for l in lines if " error " in f" {l} " or l.startswith("Error:")]
        assert error_lines, lines
        assert any(small_disk in l and re.search(r"\b\d+ bytes free of \d+", l) for l in error_lines), lines
        assert "Input/output error" not in log.splitlines()[-1], log.splitlines()[-1]
    finally:
        net.stop()
