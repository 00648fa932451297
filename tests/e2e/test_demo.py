"""The devnet demo (scripts/devnet.sh demo, i.e. scripts/demo.sh) runs end to end against the shared
network: identities, generated pictures registered, a transfer, a licence, a claim, and a
certificate that `totemd verify` accepts offline."""

import json
import os
import subprocess

from conftest import REPO_ROOT


def test_demo_runs_end_to_end(network, totemd):
    env = dict(os.environ, TOTEM_DEVNET_DIR=network.dir, TOTEMD=totemd)
    run = subprocess.run(["bash", os.path.join(REPO_ROOT, "scripts", "demo.sh")], env=env, cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"demo failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    out = run.stdout
    assert "VALID:" in out and "FAIL" not in out
    cert_path = os.path.join(network.dir, "demo", "certificate-picture1.json")
    with open(cert_path, encoding="utf-8") as f:
        cert = json.load(f)
    assert cert["format"] == "totem-certificate/1"
    assert cert["work"]["title"] == "Demo picture 1"
    # The demo's history shows the claim filed by the agency on picture 1.
    assert '"claims"' in out and "stolen/picture1.jpg" in out
    # The certificate verifies with the network's genesis and fails with a tampered title.
    code, text = network.verify_certificate(json.dumps(cert).encode(), "demo-ok")
    assert code == 0, text
    cert["work"]["title"] = "Demo picture 9"
    code, text = network.verify_certificate(json.dumps(cert).encode(), "demo-tampered")
    assert code != 0 and "work" in text
