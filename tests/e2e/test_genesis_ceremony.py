"""The genesis ceremony of docs/ops/genesis-ceremony.md with real `totemd` commands: four agencies
each make a home with `totemd init` (own addresses) and publish their validator entry; the operator
assembles the genesis with `totemd genesis new / add-validator / add-registrar`, validates it and
publishes its hash; each home installs it (`totemd genesis install --hash`); the four validators and
an observer start from those homes and commit blocks, and a transaction of the genesis registrar
commits. Then the refusals: a duplicate validator key and unusable addresses are named by field,
a wrong hash is refused, and init never replaces a key."""

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess

import totem_client as tc
from totem_net import PORTS, Actor, Network, scaled, submit_accepted, tx_committed

AGENCIES = ["agency-a", "agency-b", "agency-c", "agency-d"]


def totem(totemd: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([totemd, *args], capture_output=True, text=True, timeout=scaled(60), check=False)
    if ok:
        assert res.returncode == 0, f"totemd {' '.join(args)} failed ({res.returncode}):\n{res.stdout}{res.stderr}"
    else:
        assert res.returncode != 0, f"totemd {' '.join(args)} should have failed:\n{res.stdout}"
    return res


def public_key(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return json.load(f)["publicKey"]


def test_ceremony_assembles_a_genesis_that_four_separate_homes_run(totemd, tmp_path):
    base = PORTS.take(2 * (len(AGENCIES) + 1))
    p2p = {name: base + i for i, name in enumerate(AGENCIES + ["observer"])}
    api = {name: base + len(p2p) + i for i, name in enumerate(AGENCIES + ["observer"])}
    # Each host has its own folder; only published files (entries, genesis) travel between them.
    hosts = {name: tmp_path / name for name in AGENCIES + ["observer", "operator"]}
    for h in hosts.values():
        h.mkdir()
    homes = {name: str(hosts[name] / "node") for name in AGENCIES + ["observer"]}

    # The observer's owner starts first, so the agencies can admit its key.
    totem(totemd, "init", "--home", homes["observer"], "--role", "observer", "--moniker", "observer",
          "--p2p-listen", f"127.0.0.1:{p2p['observer']}", "--api-listen", f"127.0.0.1:{api['observer']}")
    observer_key = public_key(os.path.join(homes["observer"], "node_key.json"))

    entries = []
    for name in AGENCIES:
        out = totem(totemd, "init", "--home", homes[name], "--moniker", name,
                    "--p2p-listen", f"127.0.0.1:{p2p[name]}", "--api-listen", f"127.0.0.1:{api[name]}",
                    "--allow-observer", observer_key).stdout
        key_path = os.path.join(homes[name], "node_key.json")
        assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
        assert f"node key {public_key(key_path)}" in out, out
        entry = str(hosts[name] / f"{name}.entry.json")
        if name == "agency-a":  # the address from the config (p2p.listen) ...
            totem(totemd, "genesis", "validator-entry", "--home", homes[name], "--out", entry)
        else:  # ... or given, printed to stdout
            printed = totem(totemd, "genesis", "validator-entry", "--home", homes[name],
                            "--p2p-address", f"127.0.0.1:{p2p[name]}").stdout
            with open(entry, "w", encoding="utf-8") as f:
                f.write(printed)
        with open(entry, encoding="utf-8") as f:
            published = json.load(f)
        assert published == {"name": name, "publicKey": public_key(key_path), "p2pAddress": f"127.0.0.1:{p2p[name]}"}
        assert "seed" not in open(entry, encoding="utf-8").read()
        entries.append(shutil.copy(entry, hosts["operator"]))  # published to the operator

    # The operator: root registrar and a genesis registrar (keys stay on the operator's host).
    op = hosts["operator"]
    root_pk = totem(totemd, "keygen", "--out", str(op / "root_registrar.json")).stdout.strip()
    registrar_pk = totem(totemd, "keygen", "--out", str(op / "registrar.json")).stdout.strip()
    genesis = str(op / "genesis.json")
    totem(totemd, "genesis", "new", "--out", genesis, "--chain-id", "totem-ceremony", "--root-registrar", root_pk,
          "--proposal-timeout-ms", "1000", "--empty-block-interval-ms", "1000")
    draft = totem(totemd, "genesis", "validate", genesis, ok=False)
    assert "genesis_bad_validators" in draft.stderr and "validators" in draft.stderr, draft.stderr
    totem(totemd, "genesis", "add-validator", genesis, *entries[:1])
    totem(totemd, "genesis", "add-validator", genesis, *entries[1:])
    totem(totemd, "genesis", "add-registrar", genesis, "--name", "Agency A registrar", "--public-key", registrar_pk)
    report = totem(totemd, "genesis", "validate", genesis).stdout
    with open(genesis, "rb") as f:
        genesis_bytes = f.read()
    published_hash = hashlib.sha256(genesis_bytes).hexdigest()
    assert re.search(rf"^hash +{published_hash}$", report, re.M), report
    assert re.search(r"^chain id +totem-ceremony$", report, re.M), report
    assert re.search(r"^quorum +3 of 4 validators", report, re.M), report
    for name in AGENCIES:
        assert re.search(rf"^validator +[0-9a-f]{{64}} 127\.0\.0\.1:{p2p[name]} {name}$", report, re.M), report
    assert totem(totemd, "genesis", "hash", genesis).stdout.strip() == published_hash

    # Distribution: each host gets the file and checks it against the published hash.
    for name in AGENCIES + ["observer"]:
        copy = shutil.copy(genesis, hosts[name] / "genesis.json")
        out = totem(totemd, "genesis", "install", copy, "--home", homes[name], "--hash", published_hash).stdout
        assert published_hash in out, out
        with open(os.path.join(homes[name], "genesis.json"), "rb") as f:
            assert f.read() == genesis_bytes
        doctor = subprocess.run([totemd, "doctor", "--home", homes[name]], capture_output=True, text=True,
                                timeout=scaled(60), check=False)
        assert doctor.returncode == 0, doctor.stdout
        # No peer list: the node dials the other validators at their genesis p2pAddress.
        others = 4 if name == "observer" else 3
        assert re.search(rf"^ok +peers +{others} genesis validators at their p2pAddress, 0 persistent peers$",
                         doctor.stdout, re.M), doctor.stdout

    shutil.copy(op / "root_registrar.json", tmp_path / "root_registrar.json")
    net = Network.from_homes(totemd, str(tmp_path), [(n, homes[n], api[n], n != "observer") for n in AGENCIES + ["observer"]])
    try:
        net.start_all()
        net.wait_healthy(timeout_s=60)
        net.wait_height(2, timeout_s=60)
        status = net.nodes[1].client.status()
        assert status["genesisHash"] == published_hash and status["chainId"] == "totem-ceremony", status

        # The genesis registrar may register an identity in the chain's first blocks.
        registrar = Actor("registrar", tc.read_key_file(str(op / "registrar.json"), strict=False), net)
        subject = tc.KeyPair.generate()
        tx = registrar.tx(tc.KIND_REGISTER_IDENTITY, {"subject": subject.public_key, "displayName": "Zoë",
                                                        "role": 1, "kycDigest": bytes(32)})
        submit_accepted(net.nodes[2].client, [tx])
        committed = tx_committed(net.nodes[2].client, tx)
        net.wait_height(committed["height"], timeout_s=30)
        observer = net.nodes[-1].client
        assert observer.account(subject.public_key)["identity"]["registrar"] == registrar.public_key.hex()
    finally:
        net.stop()


def test_ceremony_refusals(totemd, tmp_path):
    homes = [str(tmp_path / f"h{i}") for i in range(2)]
    for i, home in enumerate(homes):
        totem(totemd, "init", "--home", home, "--moniker", f"v{i}", "--p2p-listen", f"0.0.0.0:{30001 + i}")

    # init never replaces a key (nor a config), and names a bad flag.
    key_path = os.path.join(homes[0], "node_key.json")
    with open(key_path, "rb") as f:
        key_before = f.read()
    again = totem(totemd, "init", "--home", homes[0], ok=False)
    assert "already exists" in again.stderr and "node_key.json" in again.stderr, again.stderr
    with open(key_path, "rb") as f:
        assert f.read() == key_before
    config_path = os.path.join(homes[0], "config.toml")
    os.rename(config_path, config_path + ".saved")
    again = totem(totemd, "init", "--home", homes[0], ok=False)
    assert "node_key.json already exists" in again.stderr, again.stderr
    with open(key_path, "rb") as f:
        assert f.read() == key_before
    assert not os.path.exists(config_path)
    os.rename(config_path + ".saved", config_path)
    for flag, value in [("--p2p-listen", "127.0.0.1"), ("--api-listen", "host:99999"), ("--peer", "abc@127.0.0.1:1"),
                        ("--role", "leader"), ("--allow-observer", "XYZ")]:
        res = totem(totemd, "init", "--home", str(tmp_path / "fresh"), flag, value, ok=False)
        assert f"{flag}:" in res.stderr, (flag, res.stderr)
        assert not os.path.exists(tmp_path / "fresh" / "node_key.json"), flag

    # A listen-on-all address is not one peers can dial: the entry needs --p2p-address.
    res = totem(totemd, "genesis", "validator-entry", "--home", homes[0], ok=False)
    assert "--p2p-address" in res.stderr and "0.0.0.0:30001" in res.stderr, res.stderr
    res = totem(totemd, "genesis", "validator-entry", "--home", homes[0], "--p2p-address", "node-a.example", ok=False)
    assert "--p2p-address" in res.stderr and "is not host:port" in res.stderr, res.stderr
    entries = []
    for i, home in enumerate(homes):
        entries.append(str(tmp_path / f"e{i}.json"))
        totem(totemd, "genesis", "validator-entry", "--home", home, "--p2p-address", f"10.0.0.{i + 1}:26601",
              "--out", entries[-1])

    genesis = str(tmp_path / "genesis.json")
    root = "11" * 32
    bad_id = totem(totemd, "genesis", "new", "--out", genesis, "--chain-id", "Totem", "--root-registrar", root, ok=False)
    assert "chainId" in bad_id.stderr and not os.path.exists(genesis), bad_id.stderr
    bad_param = totem(totemd, "genesis", "new", "--out", genesis, "--chain-id", "t", "--root-registrar", root,
                      "--proposal-timeout-ms", "50", ok=False)
    assert "params.proposalTimeoutMs" in bad_param.stderr, bad_param.stderr
    totem(totemd, "genesis", "new", "--out", genesis, "--chain-id", "t", "--root-registrar", root)
    assert "already exists" in totem(totemd, "genesis", "new", "--out", genesis, "--chain-id", "t",
                                     "--root-registrar", root, ok=False).stderr
    totem(totemd, "genesis", "add-validator", genesis, *entries)
    dup = totem(totemd, "genesis", "add-validator", genesis, entries[0], ok=False)
    assert "already in" in dup.stderr and "v0" in dup.stderr, dup.stderr
    good = totem(totemd, "genesis", "hash", genesis).stdout.strip()

    with open(genesis, encoding="utf-8") as f:
        text = f.read()
    doc = json.loads(text)
    cases = {
        "duplicate key": (lambda d: d["validators"][1].update(publicKey=d["validators"][0]["publicKey"]),
                          "genesis_duplicate_validator: validators[1].publicKey"),
        "no port": (lambda d: d["validators"][1].update(p2pAddress="10.0.0.2"),
                    "validators[1].p2pAddress: \"10.0.0.2\" is not host:port"),
        "wildcard": (lambda d: d["validators"][0].update(p2pAddress="0.0.0.0:26601"),
                     "validators[0].p2pAddress: \"0.0.0.0:26601\" is a listen-on-all address"),
        "same address": (lambda d: d["validators"][1].update(p2pAddress="10.0.0.1:26601"),
                         "validators[1].p2pAddress: 10.0.0.1:26601 is also the address of validators[0]"),
        "bad param": (lambda d: d["params"].update(maxTxBytes=70000), "genesis_bad_param: params.maxTxBytes"),
    }
    for name, (mutate, expected) in cases.items():
        d = json.loads(text)
        mutate(d)
        path = str(tmp_path / f"bad-{name.replace(' ', '-')}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(d, f, indent=2)
        res = totem(totemd, "genesis", "validate", path, ok=False)
        assert expected in res.stderr, (name, res.stderr)
        assert totem(totemd, "genesis", "hash", path, ok=False).stdout == ""
    assert doc["validators"][0]["p2pAddress"] == "10.0.0.1:26601"

    # A file that is not the published one (a byte changed) fails --hash, in validate and install.
    with open(str(tmp_path / "edited.json"), "w", encoding="utf-8") as f:
        f.write(text.replace('"chainId": "t"', '"chainId": "u"'))
    res = totem(totemd, "genesis", "validate", str(tmp_path / "edited.json"), "--hash", good, ok=False)
    assert f"not the expected {good}" in res.stderr, res.stderr
    res = totem(totemd, "genesis", "install", str(tmp_path / "edited.json"), "--home", homes[0], "--hash", good, ok=False)
    assert "not the expected" in res.stderr and not os.path.exists(os.path.join(homes[0], "genesis.json"))

    # init --genesis (a node joining a known chain): checked as the node checks it, copied byte for byte.
    res = totem(totemd, "init", "--home", str(tmp_path / "joiner"), "--genesis", str(tmp_path / "bad-duplicate-key.json"),
                ok=False)
    assert "--genesis:" in res.stderr and "validators[1].publicKey" in res.stderr, res.stderr
    assert not os.path.exists(tmp_path / "joiner" / "node_key.json")
    totem(totemd, "init", "--home", str(tmp_path / "joiner"), "--role", "observer", "--genesis", genesis)
    with open(tmp_path / "joiner" / "genesis.json", "rb") as f, open(genesis, "rb") as g:
        assert f.read() == g.read()

    # A validator home whose key is not in the genesis does not take it.
    other = str(tmp_path / "other")
    totem(totemd, "init", "--home", other)
    res = totem(totemd, "genesis", "install", genesis, "--home", other, ok=False)
    assert "is not a validator of" in res.stderr, res.stderr
    assert not os.path.exists(os.path.join(other, "genesis.json"))
