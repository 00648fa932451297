"""Hot backups (issue 14): `totemd backup` of a validator while the chain runs under load, `backup
verify` of the copy (and of a copy with one flipped byte), and the restore drill: the backup goes back
into the validator's home, first over its own data directory (its newer signing state is kept), then
into the wiped home (a fence from a running node's height: it votes at no height up to there), and
each time the node starts, catches up to the others and holds their blocks."""

import base64
import hashlib
import os
import re
import shutil
import stat
import subprocess

import totem_net

VALIDATORS = 4
HEARTBEAT_MS = 200
LOAD_RATE = 80
LOAD_S = 40


def run(network, *args, ok=True):
    res = subprocess.run([network.totemd, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=totem_net.scaled(60), check=False)
    out = res.stdout.decode("utf-8", "replace")
    if ok:
        assert res.returncode == 0, f"totemd {' '.join(args)} exited {res.returncode}:\n{out}"
    else:
        assert res.returncode != 0, f"totemd {' '.join(args)} should have failed:\n{out}"
    return out


def position(text: str, pattern: str) -> tuple[int, int]:
    m = re.search(pattern + r"\s*height (\d+) view (\d+)", text)
    assert m, f"no signing-state position ({pattern}) in:\n{text}"
    return int(m.group(1)), int(m.group(2))


def test_backup_under_load_verifies_and_restores(totemd, tmp_path):
    with totem_net.running_network(totemd, str(tmp_path / "net"), VALIDATORS, 0,
                                   testnet_args=["--empty-block-interval-ms", str(HEARTBEAT_MS)]) as network:
        network.wait_height(2, timeout_s=60)
        with totem_net.bench_load(totemd, network, tmp_path / "bench.log", LOAD_RATE, LOAD_S) as bench:
            drill(network, tmp_path, bench)


def drill(network, tmp_path, bench):
    node = network.validators[3]
    others = network.validators[:3]
    v0 = others[0].client
    data_dir = os.path.join(node.home, "data")
    # Under load: the bench's timed phase runs and its txs are being committed.
    bench_log = tmp_path / "bench.log"
    totem_net.wait_until("the bench's timed phase", lambda: "timed phase" in bench_log.read_text(),
                         totem_net.scaled(30), describe=lambda: bench_log.read_text()[-2000:])
    loaded_from = v0.status()["height"]
    totem_net.wait_until("txs under load to be committed",
                         lambda: any(v0.block(h).json.get("txHashes")
                                     for h in range(loaded_from + 1, v0.status()["height"] + 1)),
                         totem_net.scaled(30), interval_s=0.2)
    backup = str(tmp_path / "backup")
    out = run(network, "backup", "--home", node.home, "--out", backup)
    assert bench.poll() is None, "the load ended before the backup"
    backed_up = position(out, "signing state at")
    m = re.search(r"at height (\d+)", out)
    backup_height = int(m.group(1))
    assert backup_height >= 2, out
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o700
    for name in os.listdir(backup):
        assert stat.S_IMODE(os.stat(os.path.join(backup, name)).st_mode) == 0o600, name
    assert "lock.mdb" not in os.listdir(backup)
    # A directory that is not empty is refused.
    refused = run(network, "backup", "--home", node.home, "--out", backup, ok=False)
    assert "not empty" in refused, refused

    genesis = os.path.join(node.home, "genesis.json")
    before = file_digests(backup)
    verified = run(network, "backup", "verify", backup, "--genesis", genesis)
    assert "backup verify: no problem found" in verified and f"blocks 1…{backup_height}" in verified, verified
    # Checking a backup leaves it as it was (no lock file, no slot file, no write) ...
    assert file_digests(backup) == before, "backup verify changed the backup it checked"
    # ... and works where it cannot write: the same copy through a read-only bind mount.
    verified_read_only(network, backup, genesis, tmp_path)

    tampered_backup_fails(network, backup, genesis, v0, backup_height, tmp_path)

    # Restore over the validator's own data directory: its signing state is newer than the backup's.
    network.kill(node, 15)
    refused = run(network, "backup", "restore", backup, "--home", node.home, ok=False)
    assert "not empty" in refused and "--replace" in refused, refused
    out = run(network, "backup", "restore", backup, "--home", node.home, "--replace")
    kept = position(out, r"kept the home's own \(")
    assert kept >= backed_up, f"the restore rolled the signing state back: {kept} < {backed_up}\n{out}"
    rejoins(network, node, others)

    # Restore into the wiped home: without its signing state the restore needs a fence.
    network.kill(node, 15)
    shutil.rmtree(data_dir)
    refused = run(network, "backup", "restore", backup, "--home", node.home, ok=False)
    assert "no signing state" in refused and "--api" in refused, refused
    others_height = v0.status()["height"]
    out = run(network, "backup", "restore", backup, "--home", node.home, "--api", others[0].api_url)
    m = re.search(r"a fence at height (\d+)", out)
    assert m, out
    fence = int(m.group(1))
    assert fence > others_height + 1, f"fence {fence} not above the network's height {others_height}\n{out}"
    started_at = v0.status()["height"]
    rejoins(network, node, others, min_height=fence + 2)
    # Up to the fence it signed nothing: no certificate of a height decided since it started holds
    # its commit (heights before were decided while it still had its own signing state).
    key = node.public_key.hex()
    for h in range(started_at + 1, fence):
        signers = [s["validator"] for s in v0.block(h).json["commit"]["signatures"]]
        assert key not in signers, f"block {h} (below the fence {fence}) carries a commit of the restored validator"
    # Above it, it votes again: it persists a signing state of a later height.
    totem_net.wait_until("the restored validator to sign above the fence",
                         lambda: totem_net.signing_height(data_dir) > fence, totem_net.scaled(30))
    assert bench.poll() is None or bench.returncode == 0, (tmp_path / "bench.log").read_text()[-3000:]


def file_digests(directory: str) -> dict[str, str]:
    return {name: hashlib.sha256(open(os.path.join(directory, name), "rb").read()).hexdigest()
            for name in sorted(os.listdir(directory))}


def verified_read_only(network, backup, genesis, tmp_path):
    """`backup verify` of a backup on read-only media (an archive, a court's copy): root mounts the
    backup read-only elsewhere (the e2e suite runs as root, as the fault campaign needs)."""
    mounted = tmp_path / "backup-read-only"
    mounted.mkdir()
    subprocess.run(["mount", "--bind", backup, str(mounted)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mounted)], check=True)
        denied = subprocess.run(["touch", str(mounted / "probe")], capture_output=True, check=False)
        assert denied.returncode != 0, "the bind mount is writable: the test would prove nothing"
        out = run(network, "backup", "verify", str(mounted), "--genesis", genesis)
        assert "backup verify: no problem found" in out, out
    finally:
        subprocess.run(["umount", str(mounted)], check=True)


def tampered_backup_fails(network, backup, genesis, v0, backup_height, tmp_path):
    """One flipped byte inside a block's header in the copy: verify names that block and fails."""
    tampered = str(tmp_path / "tampered")
    shutil.copytree(backup, tampered)
    data = bytearray(open(os.path.join(tampered, "data.mdb"), "rb").read())
    height = max(1, backup_height // 2)
    header = base64.b64decode(v0.block(height).json["header"])
    at = data.find(header)
    assert at >= 0, f"block {height}'s header is not in the copy"
    data[at + len(header) - 40] ^= 0x01  # inside stateRoot/validator-set hashes of the header
    with open(os.path.join(tampered, "data.mdb"), "wb") as f:
        f.write(data)
    out = run(network, "backup", "verify", tampered, "--genesis", genesis, ok=False)
    assert "FAIL  files" in out and "data.mdb differs from the manifest" in out, out
    assert f"block {height}" in out, out


def rejoins(network, node, others, min_height=0):
    network.start(node)
    network.wait_healthy([node], timeout_s=60)
    target = max(min_height, others[0].client.status()["height"])
    network.wait_height(target, nodes=[node], timeout_s=60)
    network.check_alive()
    top = node.client.status()["height"]
    for h in sorted({1, top // 2, top - 1, top} - {0}):
        a = node.client.block(h).json.get("blockHash")
        b = others[0].client.block(h).json.get("blockHash")
        assert a == b, f"block {h}: restored {a}, others {b}"
