"""A fifth agency joins a running network and later leaves (issue 14), with real processes on
loopback and the commands of docs/ops/validator-changes.md.

Four validators and a candidate: the candidate's home is role = "validator" with a key no set holds
yet (every validator lists it in p2p.allowed_observers, as `totemd testnet` does for its observer),
so it follows the chain without voting. `totemd validator join` passes its preflight and writes the
signed request; three of the four validators `validator vote add` it; the set in force becomes five
and the candidate's commits appear in later certificates (with a validator then killed, the chain
needs the newcomer's commits to go on: 4 of 5). With that validator down, a vote that would leave
fewer than a quorum live (adding a sixth validator whose node nobody can reach) is refused, naming
the counts and the validator that is down, by `validator vote` and by `tx validator-change` alike. The validator comes back; a quorum votes the fifth out,
and the four commit on without it.
"""

import json
import os
import subprocess
import time

import totem_client as tc
import totem_net
from totem_net import scaled, wait_until

# Short blocks and timeouts, so the scenario's dozens of heights take seconds.
TESTNET_ARGS = ["--empty-block-interval-ms", "1000", "--proposal-timeout-ms", "2000"]


def totem(totemd: str, *args: str) -> subprocess.CompletedProcess:
    res = subprocess.run([totemd, *args], capture_output=True, text=True, timeout=scaled(90), check=False)
    print(f"[e2e] $ totemd {' '.join(args)}\n{res.stdout}{res.stderr}")
    return res


def validators_view(node) -> dict:
    return node.client.get_json("/v1/validators")


def member(node, key_hex: str) -> dict:
    """What `node` says of the validator in force with this key."""
    return next(v for v in validators_view(node)["validators"] if v["publicKey"] == key_hex)


def in_force(node) -> list[str]:
    return [v["publicKey"] for v in validators_view(node)["validators"]]


def candidate_to_validator(net) -> None:
    """observer0 becomes the candidate: its role is validator (it votes once its key is in force);
    the validators already admit its key (allowed_observers) and it dials them all."""
    path = os.path.join(net.nodes[-1].home, "config.toml")
    with open(path) as f:
        text = f.read()
    assert 'role = "observer"' in text, text
    with open(path, "w") as f:
        f.write(text.replace('role = "observer"', 'role = "validator"', 1))


def join_request(key: tc.KeyPair, genesis_hash: bytes, chain_id: str, name: str, address: str) -> dict:
    """A join request written here, from docs/ops/validator-changes.md alone (so the document and
    the Swift code are checked against each other)."""
    time_ms = int(time.time() * 1000)
    body = (tc.Writer().string(chain_id, 64).fixed(key.public_key, 32).string(name, 128)
            .string(address, 256).u64(time_ms).bytes())
    sig = key.sign(tc.signing_message("totem/join-request/v1", genesis_hash, body))
    return {"chainId": chain_id, "genesisHash": genesis_hash.hex(), "validator": key.hex, "name": name,
            "p2pAddress": address, "timeMs": time_ms, "signature": sig.hex()}


def signed_recently_by(node, key_hex: str, after_height: int) -> bool:
    """The key's commit is in a stored certificate above `after_height` on `node`."""
    for block in node.client.get_json("/v1/blocks/latest?limit=20")["blocks"]:
        if block["height"] > after_height and key_hex in [s["validator"] for s in block["commit"]["signatures"]]:
            return True
    return False


def test_a_fifth_agency_joins_then_leaves(totemd, tmp_path):
    with totem_net.running_network(totemd, str(tmp_path / "net"), 4, 1, testnet_args=TESTNET_ARGS,
                                   configure=candidate_to_validator) as net:
        a, b, c, d = net.nodes[:4]
        cand = net.nodes[4]
        cand_hex = cand.public_key.hex()
        chain_id = net.genesis["chainId"]

        # The candidate follows without voting, linked to every validator.
        status = cand.client.status()
        assert status["role"] == "validator", status
        assert cand_hex not in in_force(a)
        wait_until("the candidate linked to the four validators",
                   lambda: {p["publicKey"] for p in cand.client.get_json("/v1/peers")["peers"] if p["validator"]}
                   == {n.public_key.hex() for n in (a, b, c, d)}, scaled(30),
                   describe=lambda: cand.client.get_json("/v1/peers"))
        # Some history first: liveness is read from the certificates of recent heights, and each
        # holds only the first q commits its node had.
        net.wait_height(8, timeout_s=45)
        net.wait_height(a.client.status()["height"], nodes=[cand], timeout_s=30)

        # Preflight and the signed request.
        request_path = str(tmp_path / "request.json")
        res = totem(totemd, "validator", "join", "--home", cand.home, "--api", a.api_url, "--out", request_path)
        assert res.returncode == 0, res.stdout + res.stderr
        for check in ("chain", "node key", "caught up", "reachable", "admitted", "key proof"):
            assert any(line.startswith("ok") and f" {check} " in line + " " for line in res.stdout.splitlines()), \
                f"{check}: {res.stdout}"
        with open(request_path) as f:
            request = json.load(f)
        assert request["validator"] == cand_hex and request["chainId"] == chain_id
        body = (tc.Writer().string(chain_id, 64).fixed(cand.public_key, 32).string(request["name"], 128)
                .string(request["p2pAddress"], 256).u64(request["timeMs"]).bytes())
        assert tc.verify(cand.public_key, tc.signing_message("totem/join-request/v1", net.genesis_hash, body),
                         bytes.fromhex(request["signature"])), "the request's signature, checked as the doc says"

        # Refusals before anything is sent: a preflight that fails writes no request (node0 is a
        # validator already), and a request changed after signing does not verify.
        not_written = str(tmp_path / "not-written.json")
        res = totem(totemd, "validator", "join", "--home", a.home, "--api", b.api_url, "--out", not_written)
        assert res.returncode == 1 and "FAIL  membership" in res.stdout, res.stdout + res.stderr
        assert not os.path.exists(not_written)
        tampered = str(tmp_path / "tampered.json")
        with open(tampered, "w") as f:
            json.dump({**request, "p2pAddress": "127.0.0.1:1"}, f)
        res = totem(totemd, "validator", "vote", "--home", a.home, "add", "--request", tampered)
        assert res.returncode != 0 and "the signature does not verify" in res.stdout + res.stderr, res.stdout + res.stderr

        # Three of the four vote it in (q = 3): tally, then adoption.
        outputs = []
        for voter in (a, b, c):
            res = totem(totemd, "validator", "vote", "--home", voter.home, "add", "--request", request_path)
            assert res.returncode == 0, res.stdout + res.stderr
            assert "ok    quorum    after adding" in res.stdout, res.stdout
            outputs.append(res.stdout)
        assert "tally: 1 of 3 votes" in outputs[0], outputs[0]
        assert "tally: 2 of 3 votes" in outputs[1], outputs[1]
        assert "adopted: 5 validators" in outputs[2], outputs[2]

        wait_until("the set in force has five validators", lambda: len(in_force(a)) == 5, scaled(30),
                   describe=lambda: validators_view(a))
        joined_at = a.client.status()["height"]
        wait_until("the newcomer's commit in a later certificate",
                   lambda: any(signed_recently_by(n, cand_hex, joined_at) for n in (a, b, c, d, cand)),
                   scaled(30), describe=lambda: net.heights())
        # ... and in what GET /v1/validators says of it (a certificate holds q = 4 of the 5 commits,
        # so some node's, not necessarily node0's).
        wait_until("a node reports the newcomer's lastSignedHeight", lambda: any(
            (member(n, cand_hex).get("lastSignedHeight") or 0) > joined_at for n in (a, b, c, d, cand)),
            scaled(30), describe=lambda: [member(n, cand_hex) for n in (a, b, c, d, cand)])
        assert member(cand, cand_hex).get("self") is True and "connected" not in member(cand, cand_hex)
        assert member(a, cand_hex)["connected"] is True
        view = validators_view(a)
        assert view["participation"]["toHeight"] == view["height"] - 1, view
        assert member(a, cand_hex).get("lastVoteHeight", 0) > joined_at - 3, "votes the newcomer sent node0"

        # One validator down: 4 of 5 make the quorum only with the newcomer voting.
        net.kill(d)
        wait_until("node0 sees node3 gone", lambda: member(a, d.public_key.hex())["connected"] is False,
                   scaled(20), describe=lambda: validators_view(a))
        h = a.client.status()["height"]
        live = [a, b, c, cand]
        net.wait_height(h + 3, nodes=live, timeout_s=45)

        # A sixth validator nobody can reach would need 5 live of 6: refused, with the reason.
        sixth = tc.KeyPair.generate()
        sixth_path = str(tmp_path / "sixth.json")
        with open(sixth_path, "w") as f:
            json.dump(join_request(sixth, net.genesis_hash, chain_id, "agency-f", "127.0.0.1:9"), f)
        res = totem(totemd, "validator", "vote", "--home", a.home, "add", "--request", sixth_path)
        said = res.stdout + res.stderr
        assert res.returncode != 0, said
        assert "refused: after adding agency-f, 6 validators need 5 live for a quorum; 4 are live" in said, said
        assert "node3" in said and "not connected to this node" in said, said
        assert "agency-f (the candidate) not connected to this node" in said, said
        # A vote built by hand with `tx validator-change` gets the same check (the same code): refused
        # with the same counts, nothing sent.
        res = totem(totemd, "tx", "validator-change", "--key", os.path.join(a.home, "node_key.json"), "--api", a.api_url,
                    "--op", "add", "--validator", sixth.hex, "--name", "agency-f", "--p2p-address", "127.0.0.1:9")
        said = res.stdout + res.stderr
        assert res.returncode != 0, said
        assert "refused: after adding agency-f, 6 validators need 5 live for a quorum; 4 are live" in said, said
        assert "vote with --force" in said and "txHash" not in said, said
        assert sixth.hex not in [t["validator"] for t in validators_view(a)["pending"]], "no vote was sent"

        # node3 back; then the fifth leaves: 4 of the 5 vote it out (the leaver's own vote counts).
        net.start(d)
        wait_until("node3 commits again", lambda: signed_recently_by(a, d.public_key.hex(), a.client.status()["height"] - 3),
                   scaled(45), describe=lambda: validators_view(a))
        for voter in (a, b, c, cand):
            res = totem(totemd, "validator", "vote", "--home", voter.home, "remove", "--validator", cand_hex)
            assert res.returncode == 0, res.stdout + res.stderr
            assert "ok    quorum    after removing" in res.stdout, res.stdout
        assert "adopted: 4 validators" in res.stdout, res.stdout
        wait_until("the set in force is the four again", lambda: sorted(in_force(a)) == sorted(
            n.public_key.hex() for n in (a, b, c, d)), scaled(30), describe=lambda: validators_view(a))

        # The four commit on; certificates carry only their commits.
        left_at = a.client.status()["height"]
        net.wait_height(left_at + 3, nodes=[a, b, c, d], timeout_s=45)
        four = {n.public_key.hex() for n in (a, b, c, d)}
        for height in range(left_at + 1, left_at + 4):
            block = a.client.get_json(f"/v1/blocks/{height}")
            assert {s["validator"] for s in block["commit"]["signatures"]} <= four, block
        # Removing it again is refused before anything is sent: it is no validator now.
        res = totem(totemd, "validator", "vote", "--home", a.home, "remove", "--validator", cand_hex)
        assert res.returncode != 0 and "is not a validator" in res.stdout + res.stderr, res.stdout + res.stderr
        net.check_alive([a, b, c, d, cand])
