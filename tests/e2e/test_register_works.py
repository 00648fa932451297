"""`totemd tx register-works` over a folder of generated images, against the shared devnet: a run
killed with SIGKILL after its first committed batch, then the same command again, which resumes.
Every file ends up in the manifest exactly once with the chain's record of it, nothing is
registered twice, content another key registered first is reported and left alone, and every
certificate the manifest names is exported and verifies offline with `totemd verify`."""

import json
import os
import random
import signal
import struct
import subprocess
import zlib

from totem_net import scaled, wait_until

IMAGES = 240
BATCH = 8


def png(width: int, height: int, rng: random.Random) -> bytes:
    """An 8-bit greyscale PNG of smooth noise (a coarse random grid, interpolated), written here so
    the test needs no imaging library."""
    grid = [[rng.randrange(256) for _ in range(5)] for _ in range(5)]
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        gy = y * 4 / (height - 1)
        y0 = min(int(gy), 3)
        for x in range(width):
            gx = x * 4 / (width - 1)
            x0 = min(int(gx), 3)
            fx, fy = gx - x0, gy - y0
            top = grid[y0][x0] * (1 - fx) + grid[y0][x0 + 1] * fx
            bottom = grid[y0 + 1][x0] * (1 - fx) + grid[y0 + 1][x0 + 1] * fx
            rows.append(int(top * (1 - fy) + bottom * fy))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")


def run(totemd: str, *args: str, timeout: float = 120) -> str:
    res = subprocess.run([totemd, *args], capture_output=True, text=True, timeout=scaled(timeout), check=False)
    assert res.returncode == 0, f"totemd {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
    return res.stdout


def manifest_entries(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f.read().split("\n")[:-1] if line]  # a torn last line is not read


def test_register_works_resumes_and_every_certificate_verifies(network, totemd, tmp_path):
    api = network.nodes[0].api_url
    client = network.nodes[0].client
    rng = random.Random(15)
    archive = tmp_path / "archive"
    (archive / "2025" / "june").mkdir(parents=True)
    files = []
    for i in range(IMAGES):
        folder = archive / "2025" / ("june" if i % 2 else "")
        path = folder / f"picture-{i:04d}.png"
        path.write_bytes(png(48 + i % 17, 40 + i % 13, rng))
        files.append(str(path))
    duplicate = archive / "copy-of-picture-0003.PNG"
    duplicate.write_bytes((archive / "2025" / "june" / "picture-0003.png").read_bytes())
    not_an_image = archive / "notes.png"
    not_an_image.write_text("not a picture\n")
    (archive / "readme.txt").write_text("ignored: not an image file name\n")

    keys = tmp_path / "keys"
    keys.mkdir()
    registrar = run(totemd, "keygen", "--out", str(keys / "registrar.json")).strip()
    photographer = run(totemd, "keygen", "--out", str(keys / "photographer.json")).strip()
    other = run(totemd, "keygen", "--out", str(keys / "other.json")).strip()
    assert oct(os.stat(keys / "photographer.json").st_mode & 0o777) == "0o600"
    run(totemd, "tx", "add-registrar", "--key", network.root_registrar_path, "--subject", registrar,
        "--name", "Archive Registry", "--api", api)
    for name, key in (("Archive Photographer", photographer), ("Someone Else", other)):
        run(totemd, "tx", "register-identity", "--key", str(keys / "registrar.json"), "--subject", key,
            "--name", name, "--role", "photographer", "--api", api)
    # Another key registers picture 10 first: first registration wins, the run must leave it alone.
    taken = os.path.join(str(archive), "2025", "picture-0010.png")
    run(totemd, "tx", "register-work", "--key", str(keys / "other.json"), "--file", taken, "--title", "mine",
        "--force", "--api", api)

    manifest = str(tmp_path / "manifest.jsonl")
    cmd = [totemd, "tx", "register-works", str(archive), "--key", str(keys / "photographer.json"), "--api", api,
           "--manifest", manifest, "--batch-size", str(BATCH), "--license", "All rights reserved"]
    # Run 1, killed once a batch is committed and on record.
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until("a committed batch in the manifest",
                   lambda: any(e["status"] == "registered" for e in manifest_entries(manifest)), scaled(120))
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    recorded_at_kill = len(manifest_entries(manifest))
    expected_files = len(files) + 2  # the duplicate and notes.png; readme.txt is not an image name
    assert recorded_at_kill < expected_files, "the first run finished before it could be interrupted"

    # Run 2: the same command resumes.
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=scaled(600), check=False)
    assert second.returncode == 0, f"resumed run failed:\n{second.stdout}\n{second.stderr[-3000:]}"
    assert f"skipped as already in the manifest {recorded_at_kill}" in second.stdout, second.stdout
    assert "ETA" in second.stderr, "no progress shown"

    entries = manifest_entries(manifest)
    by_file = {}
    for e in entries:
        assert e["file"] not in by_file, f"{e['file']} recorded twice"
        by_file[e["file"]] = e
    assert set(by_file) == set(files) | {str(duplicate), str(not_an_image)}
    assert by_file[str(not_an_image)]["status"] == "not-an-image" and by_file[str(not_an_image)]["error"]
    dup = by_file[str(duplicate)]
    assert dup["status"] == "duplicate" and dup["duplicateOf"].endswith("picture-0003.png"), dup
    theirs = by_file[taken]
    assert theirs["status"] == "registered-by-another" and theirs["registrant"] == other, theirs

    ours = [e for e in entries if e["status"] in ("registered", "already-registered")]
    assert len(ours) == len(files) - 1
    tx_items = set()
    for e in ours:
        work = client.work(bytes.fromhex(e["contentHash"])).json
        assert work["registrant"] == photographer and work["txHash"] == e["txHash"], (e, work)
        assert work["height"] == e["height"] and work.get("batchIndex") == e["item"], (e, work)
        assert work["title"] == os.path.splitext(os.path.basename(e["file"]))[0]
        assert (e["txHash"], e["item"]) not in tx_items
        tx_items.add((e["txHash"], e["item"]))
    batches = {e["txHash"] for e in ours}
    assert len(batches) >= (len(files) - 1) // BATCH, "batches larger than --batch-size"

    # Every certificate, exported from the manifest, verifies offline against the genesis alone.
    certs = tmp_path / "certs"
    out = run(totemd, "export-certificates", manifest, "--out", str(certs), "--api", api)
    assert f"wrote {len(ours)} certificates" in out, out
    genesis = os.path.join(network.nodes[-1].home, "genesis.json")
    sample = sorted(os.listdir(certs))
    assert len(sample) == len(ours)
    for name in rng.sample(sample, 24):
        doc = json.loads((certs / name).read_text())
        assert doc["work"]["contentHash"] == name[:-len(".json")]
        res = subprocess.run([totemd, "verify", str(certs / name), "--genesis", genesis],
                             capture_output=True, text=True, timeout=scaled(60), check=False)
        assert res.returncode == 0, f"{name}: {res.stdout}{res.stderr}"
