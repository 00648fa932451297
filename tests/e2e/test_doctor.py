"""`totemd doctor --home DIR` names each seeded misconfiguration of a node home: a healthy home
passes, and each fault fails the check it belongs to with a message that says what to do. Against
the running shared network (--api), it checks the chain, the key's membership in force and the clock."""

import os
import re
import shutil
import socket
import subprocess

from totem_net import scaled


def doctor(totemd: str, home: str, *api: str) -> tuple[int, dict[str, tuple[str, str]]]:
    args = [totemd, "doctor", "--home", home]
    for url in api:
        args += ["--api", url]
    res = subprocess.run(args, capture_output=True, text=True, timeout=scaled(60), check=False)
    checks: dict[str, tuple[str, str]] = {}
    for line in res.stdout.splitlines():  # "LEVL  check-name  detail": fixed columns 0-4, 6-16, 17-
        level = line[:4].strip()
        if level in ("ok", "warn", "FAIL"):
            checks[line[6:16].strip()] = (level, line[17:].strip())
    return res.returncode, checks


def set_config(home: str, old: str, new: str, file: str = "config.toml") -> None:
    path = os.path.join(home, file)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert old in text, (old, text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, 1))


def write(home: str, name: str, text: str, mode: str = "w") -> None:
    with open(os.path.join(home, name), mode, encoding="utf-8") as f:
        f.write(text)


def test_doctor_names_each_seeded_misconfiguration(totemd, tmp_path):
    net = tmp_path / "net"
    subprocess.run([totemd, "testnet", "--dir", str(net), "--validators", "4", "--observers", "1",
                    "--p2p-base-port", "29601", "--api-base-port", "29701"],
                   check=True, capture_output=True, timeout=scaled(60))
    pristine = net / "node1"

    def fresh(name: str) -> str:
        home = tmp_path / name
        shutil.copytree(pristine, home)
        return str(home)

    code, checks = doctor(totemd, fresh("healthy"))
    assert code == 0, checks
    assert {k: v[0] for k, v in checks.items()} == {
        "config": "ok", "genesis": "ok", "key file": "ok", "membership": "ok", "peers": "ok",
        "p2p port": "ok", "api port": "ok", "disk": "ok"}, checks

    # Key file readable by others.
    home = fresh("key-mode")
    os.chmod(os.path.join(home, "node_key.json"), 0o644)
    code, checks = doctor(totemd, home)
    assert code == 1 and checks["key file"][0] == "FAIL" and "chmod 600" in checks["key file"][1], checks

    # A key that is not a validator of the chain, in a validator's home.
    home = fresh("not-member")
    shutil.copy(net / "observer0" / "node_key.json", os.path.join(home, "node_key.json"))
    code, checks = doctor(totemd, home)
    assert code == 1 and checks["membership"][0] == "FAIL" and "not in the genesis validator set" in checks["membership"][1]

    # The genesis file missing, then damaged.
    home = fresh("no-genesis")
    os.remove(os.path.join(home, "genesis.json"))
    code, checks = doctor(totemd, home)
    assert code == 1 and checks["genesis"][0] == "FAIL" and "genesis.json" in checks["genesis"][1], checks
    home = fresh("bad-genesis")
    write(home, "genesis.json", '{"chainId": 5}')
    code, checks = doctor(totemd, home)
    assert code == 1 and checks["genesis"][0] == "FAIL", checks

    # No peer list is needed (the genesis addresses are dialled), but a genesis address that cannot be
    # dialled is named, unless persistent_peers overrides it.
    home = fresh("no-peers")
    with open(os.path.join(home, "config.toml"), encoding="utf-8") as f:
        text = f.read()
    text, n = re.subn(r"(?m)^persistent_peers = \[.*\]$", "persistent_peers = []", text)
    assert n == 1, text
    write(home, "config.toml", text)
    code, checks = doctor(totemd, home)
    assert code == 0 and checks["peers"] == ("ok", "3 genesis validators at their p2pAddress, 0 persistent peers"), checks
    set_config(home, '"p2pAddress": "127.0.0.1:29603"', '"p2pAddress": "[::1:29603"', file="genesis.json")
    code, checks = doctor(totemd, home)
    assert code == 0 and checks["peers"][0] == "warn" and "node2" in checks["peers"][1], checks
    assert "2 genesis validators at their p2pAddress" in checks["peers"][1], checks

    # Its P2P port taken by another program.
    home = fresh("port")
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 29602))
        s.listen(1)
        code, checks = doctor(totemd, home)
    assert code == 1 and checks["p2p port"][0] == "FAIL" and "in use" in checks["p2p port"][1], checks
    assert checks["api port"][0] == "ok"

    # A listen address that is not this machine's.
    home = fresh("address")
    set_config(home, 'listen = "127.0.0.1:29702"', 'listen = "192.0.2.7:29702"')
    code, checks = doctor(totemd, home)
    assert code == 1 and checks["api port"][0] == "FAIL" and "not an address of this machine" in checks["api port"][1]

    # The data directory is a file; then a disk reserve larger than the disk.
    home = fresh("data-file")
    write(home, "data", "not a folder")
    code, checks = doctor(totemd, home)
    assert code == 1 and checks["data dir"][0] == "FAIL" and "not a folder" in checks["data dir"][1], checks
    home = fresh("disk")
    write(home, "config.toml", "\n[store]\nmin_free_mib = 1000000000\n", mode="a")
    code, checks = doctor(totemd, home)
    assert code == 1 and checks["disk"][0] == "FAIL" and "min_free_mib" in checks["disk"][1], checks

    # A config setting that does not parse stops everything else with the setting named.
    home = fresh("config")
    set_config(home, 'role = "validator"', 'role = "leader"')
    code, checks = doctor(totemd, home)
    assert code == 1 and checks["config"][0] == "FAIL" and "role" in checks["config"][1], checks


def test_doctor_against_the_running_chain(network, totemd, tmp_path):
    """A validator's home checked against the shared network: same chain, in force, clock agrees;
    another chain's home is named as such."""
    node = network.nodes[1]
    home = tmp_path / "copy"
    shutil.copytree(node.home, home, ignore=shutil.ignore_patterns("data", "*.log", "*.pid"))
    # The running node holds its ports: listen elsewhere in the copy.
    with open(home / "config.toml", encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r'listen = "127\.0\.0\.1:\d+"', 'listen = "127.0.0.1:0"', text)
    with open(home / "config.toml", "w", encoding="utf-8") as f:
        f.write(text)
    code, checks = doctor(totemd, str(home), network.nodes[0].api_url)
    assert code == 0, checks
    assert checks["chain"][0] == "ok" and checks["on chain"][0] == "ok" and checks["clock"][0] == "ok", checks

    other = tmp_path / "other"
    subprocess.run([totemd, "testnet", "--dir", str(other), "--validators", "1", "--observers", "0",
                    "--p2p-base-port", "29801", "--api-base-port", "29901"],
                   check=True, capture_output=True, timeout=scaled(60))
    code, checks = doctor(totemd, str(other / "node0"), network.nodes[0].api_url)
    assert code == 1 and checks["chain"][0] == "FAIL" and "runs genesis" in checks["chain"][1], checks
