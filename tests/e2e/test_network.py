"""End-to-end: 4 validators + 1 observer as real `totemd` processes on loopback, driven only through
PROTOCOL.md's public HTTP API by the independent Python client (txs signed here).

- test_status_and_genesis: every node serves the same chain and genesis file.
- test_testnet_key_files: the key files written by `totemd testnet` have PROTOCOL.md's form.
- test_registration_scenario: registrar, identities, works (single and batch), transfer, licence,
  claim, a refused duplicate, and every answer of the public routes, then all nodes agree on every
  block hash and stateRoot.
- test_kill_one_validator_and_restart: kill -9 of a seeded choice of validator (the leader
  included), the chain keeps committing with 3 of 4, the node restarts, catches up, and no tx
  acknowledged as committed is lost on any node.
"""

import base64
import json
import os
import random
import re
import signal
import stat
import subprocess
import time

import pytest

import totem_client as tc
from totem_net import Actor, scaled, submit_accepted, tx_committed, tx_final, wait_until

ROLE_NAMES = {tc.ROLE_PHOTOGRAPHER: "photographer", tc.ROLE_AGENCY: "agency"}


def content(label: str) -> bytes:
    """A content hash: SHA-256 of a (made-up) file's bytes, unique per test session."""
    return tc.sha256(f"{label}/{os.getpid()}/{time.time_ns()}".encode())


def root_actor(network) -> Actor:
    key = tc.read_key_file(network.root_registrar_path, strict=False)
    root = Actor("root", key, network)
    network.settle()  # the root's last tx may have been committed through another node
    root.sync(network.nodes[0].client)
    return root


def check_block_answer(network, height: int, answer: dict) -> tc.Header:
    """GET /v1/blocks/{h}: its keys, header bytes, hash, height and commit signatures."""
    assert {"height", "blockHash", "header", "txHashes", "commit"} <= set(answer), answer
    assert answer["height"] == height
    assert tc.is_base64(answer["header"]), answer["header"]
    raw = base64.b64decode(answer["header"])
    header = tc.Header.decode(raw)
    assert tc.is_hex(answer["blockHash"], 32) and answer["blockHash"] == tc.sha256(raw).hex()
    assert header.height == height and header.chain_id == network.genesis["chainId"]
    assert header.tx_count == len(answer["txHashes"]), answer
    assert all(tc.is_hex(h, 32) for h in answer["txHashes"])
    keys = network.validator_keys
    assert header.validator_set_hash == tc.validator_set_hash(keys)
    commit = answer["commit"]
    assert commit["view"] >= header.view, (commit, header)
    msg = tc.vote_message("commit", network.genesis_hash, height, commit["view"], header.block_hash)
    signers = set()
    for s in commit["signatures"]:
        v = bytes.fromhex(s["validator"])
        assert v in keys, f"block {height}: signature by a non-validator {s['validator']}"
        assert tc.verify(v, msg, bytes.fromhex(s["signature"])), f"block {height}: bad commit signature"
        signers.add(v)
    assert len(signers) == len(commit["signatures"]) >= tc.quorum(len(keys)), commit
    return header


def test_status_and_genesis(network):
    g = network.genesis
    assert len(g["validators"]) == 4
    assert re.fullmatch(r"[a-z0-9-]{1,64}", g["chainId"])
    for node in network.nodes:
        with open(os.path.join(node.home, "genesis.json"), "rb") as f:
            assert f.read() == network.genesis_bytes, f"{node.name} has another genesis file"
        s = node.client.status()
        assert s["chainId"] == g["chainId"], (node.name, s)
        assert s["genesisHash"] == network.genesis_hash.hex(), (node.name, s)
        assert isinstance(s["height"], int) and s["height"] >= 1, (node.name, s)
        assert tc.is_hex(s["latestBlockHash"], 32), (node.name, s)
    # The validators' node keys are the genesis validators; the observer's is not one.
    assert sorted(n.public_key for n in network.validators) == sorted(network.validator_keys)
    assert network.nodes[-1].public_key not in network.validator_keys


def test_testnet_key_files(network):
    paths = [network.root_registrar_path] + [os.path.join(n.home, "node_key.json") for n in network.nodes]
    for p in paths:
        mode = stat.S_IMODE(os.stat(p).st_mode)
        assert mode & 0o077 == 0, f"{p} has mode {oct(mode)}"
        key = tc.read_key_file(p, strict=True)  # exactly algorithm, publicKey, seed
        assert key.public_key
    root = tc.read_key_file(network.root_registrar_path)
    assert root.hex == network.genesis["rootRegistrar"]
    assert root.public_key not in network.validator_keys


def test_registration_scenario(network):
    n0, n1, n2, n3, obs = (node.client for node in network.nodes)
    chain_id = network.genesis["chainId"]
    root = root_actor(network)
    committed: dict[bytes, tuple[tc.SignedTx, dict]] = {}  # txHash -> (tx, status answer)

    def commit_all(client, txs):
        """Submit to `client`, follow there until committed, then let every node reach that
        height (the checks that follow read other nodes)."""
        submit_accepted(client, txs)
        for t in txs:
            committed[t.tx_hash] = (t, tx_committed(client, t))
        network.wait_height(max(committed[t.tx_hash][1]["height"] for t in txs), timeout_s=30)

    # --- The root registrar appoints a registrar (AddRegistrar).
    registrar = Actor("registrar", tc.KeyPair.generate(), network)
    acct = n0.account(registrar.public_key)
    assert acct == {**acct, "publicKey": registrar.public_key.hex(), "nextNonce": 1, "identity": None}
    add = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": registrar.public_key, "name": "Registro E2E — Ñandú"})
    commit_all(n0, [add])

    # --- The registrar registers a photographer and an agency (two txs in one POST, via node1).
    photographer = Actor("photographer", tc.KeyPair.generate(), network)
    agency = Actor("agency", tc.KeyPair.generate(), network)
    reg_p = registrar.tx(tc.KIND_REGISTER_IDENTITY, {
        "subject": photographer.public_key, "displayName": "Zoë Łukasiewicz 📷",
        "role": tc.ROLE_PHOTOGRAPHER, "kycDigest": tc.sha256(b"kyc photographer")})
    reg_a = registrar.tx(tc.KIND_REGISTER_IDENTITY, {
        "subject": agency.public_key, "displayName": "Agence Photo Élan",
        "role": tc.ROLE_AGENCY, "kycDigest": tc.sha256(b"kyc agency")})
    commit_all(n1, [reg_p, reg_a])
    for actor, role, name in [(photographer, "photographer", "Zoë Łukasiewicz 📷"),
                              (agency, "agency", "Agence Photo Élan")]:
        a = n2.account(actor.public_key)
        assert a["publicKey"] == actor.public_key.hex() and a["nextNonce"] == 1, a
        assert a["identity"] == {"displayName": name, "role": role,
                                 "registrar": registrar.public_key.hex(), "revoked": False}, a

    # --- The photographer registers a work and a batch of four (via node2).
    w1_code = 0xF0E1D2C3B4A59687
    w1 = tc.work(content("w1"), "Zoë im Schnee — ❄️ Série 1", image_code=w1_code,
                 media_type="image/png", width=6000, height=4000, license="© 2026 Zoë, all rights reserved")
    batch = [tc.work(content("w2"), "Harbour at dusk", image_code=w1_code ^ 0b111),  # distance 3
             tc.work(content("w3"), "Sans code"),                                      # no imageCode
             tc.work(content("w4"), "Far away", image_code=w1_code ^ 0xFFFF_FFFF),     # distance 32
             tc.work(content("w5"), "Harbour at night", image_code=w1_code ^ 0b111000)]  # distance 3
    reg_w1 = photographer.tx(tc.KIND_REGISTER_WORK, w1)
    reg_batch = photographer.tx(tc.KIND_REGISTER_WORK_BATCH, {"works": batch})
    commit_all(n2, [reg_w1, reg_batch])

    def check_work(client, w, tx, owner, batch_index=None):
        resp = client.work(w["contentHash"])
        assert resp.status == 200, resp.describe()
        ans = resp.json
        st = committed[tx.tx_hash][1]
        header = tc.Header.decode(base64.b64decode(client.block(st["height"]).json["header"]))
        expected = {"contentHash": w["contentHash"].hex(), "registrant": photographer.public_key.hex(),
                    "owner": owner.hex(), "title": w["title"],
                    "imageCode": None if w["imageCode"] is None else f"{w['imageCode']:016x}",
                    "registeredAtMs": header.timestamp_ms, "height": st["height"],
                    "txHash": tx.tx_hash.hex()}
        assert {k: ans.get(k) for k in expected} == expected, ans
        if batch_index is not None and "batchIndex" in ans:  # OpenAPI's optional extra
            assert ans["batchIndex"] == batch_index, ans

    check_work(n3, w1, reg_w1, photographer.public_key)
    for i, w in enumerate(batch):
        check_work(obs, w, reg_batch, photographer.public_key, i)
    missing = n0.work(content("never registered"))
    assert missing.status == 404 and missing.error_code() == "work_not_found", missing.describe()
    assert tc.check_error_body(missing) == []

    # --- Similarity search: nearest first, ties by contentHash, within maxDistance.
    sim = n0.similar(w1_code, max_distance=8)
    ties = sorted([batch[0]["contentHash"].hex(), batch[3]["contentHash"].hex()])
    assert [(m["contentHash"], m["distance"], m["owner"]) for m in sim["matches"]] == [
        (w1["contentHash"].hex(), 0, photographer.public_key.hex()),
        (ties[0], 3, photographer.public_key.hex()), (ties[1], 3, photographer.public_key.hex())], sim
    assert [m["contentHash"] for m in n0.similar(w1_code, max_distance=0)["matches"]] == \
        [w1["contentHash"].hex()]
    assert [m["contentHash"] for m in n0.similar(w1_code, max_distance=16, limit=1)["matches"]] == \
        [w1["contentHash"].hex()]
    assert [m["distance"] for m in n0.similar(w1_code ^ 0xFFFF_FFFF, max_distance=2)["matches"]] == [0]

    # --- Transfer of W2 to the agency, licence of W1 to the agency (via node3), then a claim by
    # the agency on W1 (FileClaim: the owner or an agency).
    transfer = photographer.tx(tc.KIND_TRANSFER_WORK, {"contentHash": batch[0]["contentHash"],
                                                        "newOwner": agency.public_key})
    licence = photographer.tx(tc.KIND_GRANT_LICENSE, {
        "contentHash": w1["contentHash"], "licensee": agency.public_key,
        "terms": "Editorial use, print and online — Lizenz für Ausgabe 3/2026", "validUntilMs": 0})
    commit_all(n3, [transfer, licence])
    claim = agency.tx(tc.KIND_FILE_CLAIM, {
        "contentHash": w1["contentHash"], "infringingDigest": tc.sha256(b"infringing copy"),
        "locator": "https://example.org/galerie/zoe-schnee.jpg", "note": "found without a licence"})
    commit_all(n0, [claim])
    check_work(n1, batch[0], reg_batch, agency.public_key, 0)  # registrant unchanged, owner moved
    check_work(n1, w1, reg_w1, photographer.public_key)

    # --- A second registration of W1's content is refused with work_already_registered, naming
    # the registrant and the height, at submission or when the block is built.
    w1_height = committed[reg_w1.tx_hash][1]["height"]
    dup = agency.tx(tc.KIND_REGISTER_WORK, tc.work(w1["contentHash"], "Stolen title"))
    [res] = n0.submit([dup])
    assert res["txHash"] == dup.tx_hash.hex(), res
    print(f"\n[e2e] duplicate registration: accepted={res['accepted']} at submission")
    if res["accepted"]:
        final = tx_final(n0, dup.tx_hash)
        assert final["status"] == "rejected", f"duplicate registration was {final}"
        err = final.get("error")
    else:
        err = res.get("error")
    assert isinstance(err, dict) and err.get("code") == "work_already_registered", (res, err)
    assert photographer.public_key.hex() in err["message"], f"registrant not named: {err}"
    assert re.search(rf"\b{w1_height}\b", err["message"]), f"height {w1_height} not named: {err}"
    # Rejected means without effect: the work is unchanged and the agency's nonce was not used.
    check_work(n0, w1, reg_w1, photographer.public_key)
    assert n0.account(agency.public_key)["nextNonce"] == 2
    agency.next_nonce = 2

    # --- Two registrations of new content in one POST: the first wins. The second is dropped at
    # block building with work_already_registered naming the winner and its height, or refused at
    # submission (the first being pending, PROTOCOL.md does not fix that code).
    w6 = tc.work(content("w6"), "Contested")
    first = photographer.tx(tc.KIND_REGISTER_WORK, w6)
    second = agency.tx(tc.KIND_REGISTER_WORK, tc.work(w6["contentHash"], "Contested, again"))
    r_first, r_second = n1.submit([first, second])
    assert r_first == {**r_first, "txHash": first.tx_hash.hex(), "accepted": True}, r_first
    assert r_second["txHash"] == second.tx_hash.hex(), r_second
    committed[first.tx_hash] = (first, tx_committed(n1, first))
    w6_height = committed[first.tx_hash][1]["height"]
    network.wait_height(w6_height, timeout_s=30)
    print(f"[e2e] same content twice in one POST: second accepted={r_second['accepted']} at submission")
    if r_second["accepted"]:
        final = tx_final(n1, second.tx_hash)
        assert final["status"] == "rejected", f"second registration of one content was {final}"
        err = final.get("error")
        print(f"[e2e] its error: {err}")
        assert isinstance(err, dict) and err.get("code") == "work_already_registered", final
        assert photographer.public_key.hex() in err["message"], f"registrant not named: {err}"
        assert re.search(rf"\b{w6_height}\b", err["message"]), f"height {w6_height} not named: {err}"
    else:
        assert tc.check_error_body(tc.Response(400, {}, b"", {"error": r_second.get("error")})) == [], r_second
    w6_answer = n0.work(w6["contentHash"]).json
    assert (w6_answer["registrant"], w6_answer["title"]) == (photographer.public_key.hex(), "Contested")
    assert n0.account(agency.public_key)["nextNonce"] == 2
    agency.next_nonce = 2

    # --- From here on, answers are compared across nodes: let every node reach the last commit.
    last = max(st["height"] for _, st in committed.values())
    network.wait_height(last, timeout_s=30)

    # --- Accounts: nextNonce from committed state.
    assert (registrar.next_nonce, photographer.next_nonce, agency.next_nonce) == (3, 6, 2)
    for actor in (root, registrar, photographer, agency):
        for client in (n0, obs):
            got = client.account(actor.public_key)["nextNonce"]
            assert got == actor.next_nonce, f"{actor.name} nextNonce {got} on {client.base_url}"
    assert n0.account(registrar.public_key)["identity"] is None  # a registrar, not an identity

    # --- Tx status answers, blocks and the tx's place in them.
    for h, (t, st) in committed.items():
        assert st["txHash"] == h.hex() and isinstance(st["height"], int) and isinstance(st["index"], int), st
        blk = n0.block(st["height"])
        assert blk.status == 200, blk.describe()
        header = check_block_answer(network, st["height"], blk.json)
        assert blk.json["txHashes"][st["index"]] == h.hex(), (st, blk.json)
        known = {x.hex(): committed[x][0] for x in committed}
        if all(x in known for x in blk.json["txHashes"]):  # we know every tx of the block
            assert tc.merkle_root([known[x].encode() for x in blk.json["txHashes"]]) == header.tx_root
    unknown = n0.tx_status(tc.sha256(b"no such tx"))
    assert unknown.status == 404 and unknown.error_code() == "tx_not_found", unknown.describe()
    top = n0.status()["height"]
    beyond = n0.block(top + 1000)
    assert beyond.status == 404 and tc.check_error_body(beyond) == [], beyond.describe()

    # --- Certificates: the documented keys; work for registrations (per batch item), not for a claim.
    def cert(tx, item=None, *, with_work, batch_doc=False):
        resp = obs.certificate(tx.tx_hash, item)
        assert resp.status == 200, resp.describe()
        doc = resp.json
        assert tc.check_certificate_shape(doc, with_work=with_work, batch=batch_doc) == [], doc
        assert base64.b64decode(doc["tx"]) == tx.encode()
        assert doc["txHash"] == tx.tx_hash.hex() and doc["chainId"] == chain_id
        assert doc["genesisHash"] == network.genesis_hash.hex()
        st = committed[tx.tx_hash][1]
        header = tc.Header.decode(base64.b64decode(doc["header"]))
        assert header.height == st["height"] == doc["commit"]["height"] and doc["leafIndex"] == st["index"]
        assert doc["treeSize"] == header.tx_count
        proof = [bytes.fromhex(x) for x in doc["inclusionProof"]]
        assert tc.merkle_root_from_inclusion(tc.merkle_leaf_hash(tx.encode()), doc["leafIndex"],
                                             doc["treeSize"], proof) == header.tx_root, "inclusion proof"
        c = doc["commit"]
        msg = tc.vote_message("commit", network.genesis_hash, header.height, c["view"], header.block_hash)
        signers = {s["validator"] for s in c["signatures"]
                   if tc.verify(bytes.fromhex(s["validator"]), msg, bytes.fromhex(s["signature"]))}
        assert c["view"] >= header.view and len(signers) == len(c["signatures"]) >= tc.quorum(4), c
        assert signers <= {k.hex() for k in network.validator_keys}, c
        assert doc["validatorSets"][0]["fromHeight"] == 1
        assert sorted(doc["validatorSets"][0]["validators"]) == sorted(k.hex() for k in network.validator_keys)
        # The certificate, as served, verifies offline against the genesis file alone.
        rc, out = network.verify_certificate(resp.body, f"cert-{tx.tx_hash.hex()[:16]}-{item}")
        assert rc == 0 and "VALID" in out, f"totemd verify refused a served certificate:\n{out}"
        return doc, header

    doc, header = cert(reg_w1, with_work=True)
    assert doc["work"] == {"contentHash": w1["contentHash"].hex(), "registrant": photographer.public_key.hex(),
                           "title": w1["title"], "registeredAtMs": header.timestamp_ms}
    doc, header = cert(reg_batch, 1, with_work=True, batch_doc=True)
    assert doc["work"] == {"contentHash": batch[1]["contentHash"].hex(), "title": batch[1]["title"],
                           "registrant": photographer.public_key.hex(),
                           "registeredAtMs": header.timestamp_ms, "batchIndex": 1}
    tampered = dict(doc, work=dict(doc["work"], title=doc["work"]["title"] + "!"))
    rc, out = network.verify_certificate(json.dumps(tampered).encode(), "cert-tampered-title")
    assert rc != 0 and "FAIL" in out and "work" in out, f"a changed title was not caught:\n{out}"
    cert(claim, with_work=False)
    cert(transfer, with_work=False)
    for item in (None, len(batch)):
        resp = obs.certificate(reg_batch.tx_hash, item)
        assert resp.status == 400 and tc.check_error_body(resp) == [], (item, resp.describe())
    resp = obs.certificate(tc.sha256(b"not a tx"))
    assert resp.status == 404 and tc.check_error_body(resp) == [], resp.describe()

    # --- Every node, the observer included, reports the same block hash and stateRoot at every height.
    for h in range(1, last + 1):
        seen = {}
        for node in network.nodes:
            b = node.client.block(h)
            assert b.status == 200, f"{node.name} block {h}: {b.describe()}"
            hdr = tc.Header.decode(base64.b64decode(b.json["header"]))
            seen[node.name] = (b.json["blockHash"], hdr.state_root.hex(), tuple(b.json["txHashes"]))
        assert len(set(seen.values())) == 1, f"nodes disagree at height {h}: {seen}"
    # ... and every tx we saw committed is committed at the same place on every node.
    for h, (t, st) in committed.items():
        for node in network.nodes:
            ans = node.client.tx_status(h).json
            assert (ans.get("status"), ans.get("height"), ans.get("index")) == \
                ("committed", st["height"], st["index"]), (node.name, ans)
    # Chain linkage from genesis.
    parent = network.genesis_hash
    for h in range(1, last + 1):
        hdr = tc.Header.decode(base64.b64decode(n0.block(h).json["header"]))
        assert hdr.parent_hash == parent, f"block {h} does not extend {parent.hex()}"
        parent = hdr.block_hash

    # --- The observer checked no tx signature (nothing was submitted through it): validators do
    # not gossip txs to it, and it applies blocks on their commit certificates. Every validator did.
    def signature_checks(node) -> float:
        for line in node.client.metrics().splitlines():
            if line.startswith("totem_tx_signature_checks_total "):
                return float(line.split()[1])
        return 0.0
    validators = [node for node in network.nodes if node.name.startswith("node")]
    wait_until("every validator counted its signature checks",
               lambda: all(signature_checks(node) > 0 for node in validators), 10)
    [observer] = [node for node in network.nodes if node.name.startswith("observer")]
    assert signature_checks(observer) == 0


def refused(client, tx, what) -> dict:
    """Submit `tx`, which must not take effect: refused at submission, or rejected after it.
    Returns the error object."""
    [r] = client.submit([tx])
    assert r["txHash"] == tx.tx_hash.hex(), r
    if r["accepted"]:
        final = tx_final(client, tx.tx_hash)
        assert final["status"] == "rejected", f"{what} was {final}"
        err = final.get("error")
    else:
        err = r.get("error")
    assert isinstance(err, dict) and isinstance(err.get("code"), str) and isinstance(err.get("message"), str), \
        f"{what}: {r}"
    print(f"[e2e] {what}: refused {'after' if r['accepted'] else 'at'} submission with {err['code']}")
    return err


def test_revocation_removal_validator_change_and_evidence(network):
    """The kinds the scenario does not send: RevokeIdentity, RemoveRegistrar, ValidatorChange (one
    vote, so no change) and SubmitEvidence, with their effects seen through the API."""
    c0, c1, c2, c3, obs = (node.client for node in network.nodes)
    root = root_actor(network)
    registrar = Actor("registrar2", tc.KeyPair.generate(), network)
    ident = Actor("to-revoke", tc.KeyPair.generate(), network)
    add = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": registrar.public_key, "name": "short-lived registrar"})
    submit_accepted(c0, [add])
    tx_committed(c0, add)
    reg = registrar.tx(tc.KIND_REGISTER_IDENTITY, {"subject": ident.public_key, "displayName": "Q",
                                                   "role": tc.ROLE_PHOTOGRAPHER, "kycDigest": bytes(32)})
    submit_accepted(c1, [reg])
    tx_committed(c1, reg)
    # The identity can register a work until it is revoked.
    ok_work = ident.tx(tc.KIND_REGISTER_WORK, tc.work(content("before revocation"), "before"))
    submit_accepted(c1, [ok_work])
    tx_committed(c1, ok_work)

    revoke = registrar.tx(tc.KIND_REVOKE_IDENTITY, {"subject": ident.public_key, "reason": "on request — auf Antrag"})
    submit_accepted(c2, [revoke])
    network.wait_height(tx_committed(c2, revoke)["height"], timeout_s=30)
    assert obs.account(ident.public_key)["identity"] == {
        "displayName": "Q", "role": "photographer", "registrar": registrar.public_key.hex(), "revoked": True}
    late = ident.tx(tc.KIND_REGISTER_WORK, tc.work(content("after revocation"), "after"))
    refused(c2, late, "RegisterWork by a revoked identity")
    assert c2.work(late.tx.payload["contentHash"]).status == 404

    remove = root.tx(tc.KIND_REMOVE_REGISTRAR, {"subject": registrar.public_key})
    submit_accepted(c3, [remove])
    tx_committed(c3, remove)
    orphan = Actor("never-registered", tc.KeyPair.generate(), network)
    late_reg = registrar.tx(tc.KIND_REGISTER_IDENTITY, {"subject": orphan.public_key, "displayName": "R",
                                                        "role": tc.ROLE_AGENCY, "kycDigest": bytes(32)})
    refused(c3, late_reg, "RegisterIdentity by a removed registrar")
    assert c3.account(orphan.public_key)["identity"] is None
    bad_root = Actor("not-root", tc.KeyPair.generate(), network)
    refused(c0, bad_root.tx(tc.KIND_ADD_REGISTRAR, {"subject": orphan.public_key, "name": "x"}),
            "AddRegistrar not by the root")

    # One validator's vote for adding a key: tallied, not adopted (q = 3 of 4).
    v_keys = [tc.read_key_file(os.path.join(n.home, "node_key.json"), strict=False) for n in network.validators]
    voter = Actor("node1", v_keys[1], network)
    voter.sync(c1)
    vote = voter.tx(tc.KIND_VALIDATOR_CHANGE, {"op": 1, "validator": tc.KeyPair.generate().public_key,
                                                "name": "candidate", "p2pAddress": "127.0.0.1:1"})
    submit_accepted(c1, [vote])
    vote_height = tx_committed(c1, vote)["height"]
    refused(c1, Actor("outsider", tc.KeyPair.generate(), network).tx(
        tc.KIND_VALIDATOR_CHANGE, {"op": 2, "validator": network.validator_keys[0], "name": "", "p2pAddress": ""}),
        "ValidatorChange by a non-validator")

    # Equivocation evidence against node3: two prepares at one (height, view) for two block hashes.
    accused = v_keys[3]
    h, view = 1, 7
    a, b = sorted([tc.sha256(b"block A"), tc.sha256(b"block B")])
    sig = lambda bh: accused.sign(tc.vote_message("prepare", network.genesis_hash, h, view, bh))  # noqa: E731
    evidence = {"phase": 1, "validator": accused.public_key, "height": h, "view": view,
                "blockHashA": a, "signatureA": sig(a), "blockHashB": b, "signatureB": sig(b)}
    reporter = Actor("node0", v_keys[0], network)
    reporter.sync(c0)
    ev = reporter.tx(tc.KIND_SUBMIT_EVIDENCE, evidence)
    submit_accepted(c0, [ev])
    tx_committed(c0, ev)
    # Evidence that would not apply is refused at submission, with the state machine's code.
    [r] = c0.submit([reporter.tx(tc.KIND_SUBMIT_EVIDENCE, evidence)])
    assert not r["accepted"] and r["error"]["code"] == "evidence_duplicate", r
    reporter.sync(c0)
    # Another (height, view), so only the signature is wrong: signature B is over block A.
    sig8 = lambda bh: accused.sign(tc.vote_message("prepare", network.genesis_hash, h, view + 1, bh))  # noqa: E731
    forged = dict(evidence, view=view + 1, signatureA=sig8(a), signatureB=sig8(a))
    [r] = c0.submit([reporter.tx(tc.KIND_SUBMIT_EVIDENCE, forged)])
    assert not r["accepted"] and r["error"]["code"] == "evidence_bad_signature", r

    # The set in force did not change: every later header names the genesis set, now and next.
    top = c0.status()["height"]
    set_hash = tc.validator_set_hash(network.validator_keys)
    for height in range(vote_height, top + 1):
        hdr = tc.Header.decode(base64.b64decode(c0.block(height).json["header"]))
        assert (hdr.validator_set_hash, hdr.next_validator_set_hash) == (set_hash, set_hash), height


@pytest.mark.disruptive
def test_kill_one_validator_and_restart(network):
    network.ensure_running()
    seed = int(os.environ.get("TOTEM_E2E_SEED", random.randrange(2**32)))
    print(f"\n[e2e] fault test seed {seed} (replay with TOTEM_E2E_SEED={seed})")
    rng = random.Random(seed)
    network.wait_healthy()
    root = root_actor(network)
    registrar = Actor("fault-registrar", tc.KeyPair(rng.randbytes(32)), network)
    sender = Actor("fault-photographer", tc.KeyPair(rng.randbytes(32)), network)
    c0 = network.nodes[0].client
    setup = [root.tx(tc.KIND_ADD_REGISTRAR, {"subject": registrar.public_key, "name": "fault registrar"})]
    submit_accepted(c0, setup)
    tx_committed(c0, setup[0])
    ident = registrar.tx(tc.KIND_REGISTER_IDENTITY, {
        "subject": sender.public_key, "displayName": "Fault Photographer", "role": tc.ROLE_PHOTOGRAPHER,
        "kycDigest": tc.sha256(b"kyc")})
    submit_accepted(c0, [ident])
    tx_committed(c0, ident)

    acknowledged: dict[bytes, int] = {}  # txHash -> height, every tx a node said was committed

    def register_round(clients, label, count=2):
        """Submit `count` RegisterWork txs to a seeded choice of live node, follow them there."""
        client = rng.choice(clients)
        txs = [sender.tx(tc.KIND_REGISTER_WORK, tc.work(content(f"{label}-{i}"), f"{label} #{i}"))
               for i in range(count)]
        submit_accepted(client, txs)
        for t in txs:
            acknowledged[t.tx_hash] = tx_committed(client, t, timeout_s=60)["height"]

    validators = network.validators
    register_round([v.client for v in validators], "before")

    rounds = int(os.environ.get("TOTEM_E2E_FAULT_ROUNDS", "1"))
    for round_no in range(rounds):
        kill_one_and_restart(network, rng, sender, validators, register_round, acknowledged, round_no)

    # Everybody agrees: same height reached, same block hashes, every acknowledged tx committed.
    final = max(acknowledged.values())
    network.wait_height(final, timeout_s=60)
    for h in range(1, final + 1):
        hashes = {n.name: n.client.block(h).json.get("blockHash") for n in network.nodes}
        assert len(set(hashes.values())) == 1, f"block {h} differs: {hashes}"
    for txh, height in acknowledged.items():
        for node in network.nodes:
            ans = node.client.tx_status(txh)
            assert ans.status == 200 and ans.json.get("status") == "committed" \
                and ans.json.get("height") == height, f"{node.name} lost tx {txh.hex()}: {ans.describe()}"
    print(f"[e2e] {len(acknowledged)} acknowledged txs committed on all {len(network.nodes)} nodes, "
          f"final height {final}")


def kill_one_and_restart(network, rng, sender, validators, register_round, acknowledged, round_no):
    # Choose the victim among all 4 validators; log whether it leads the height being decided.
    status = validators[0].client.status()
    pending_height, view = status["height"] + 1, status.get("view", 0)
    leader_key = tc.leader(network.validator_keys, pending_height, view)
    choice = os.environ.get("TOTEM_E2E_VICTIM")  # "leader" or a node index, to force a case
    if choice == "leader":
        victim = network.node_by_key(leader_key)
    elif choice is not None:
        victim = validators[int(choice)]
    else:
        victim = rng.choice(validators)
    print(f"[e2e] round {round_no}: killing {victim.name} (kill -9) at height {status['height']}, view {view}; "
          f"leader of ({pending_height}, {view}) is {network.node_by_key(leader_key).name}"
          f"{' = the victim' if victim.public_key == leader_key else ''}")
    live = [v for v in validators if v is not victim]
    live_clients = [v.client for v in live]
    # Kill while a round is in progress: txs just accepted by a live validator, not yet committed.
    in_flight_client = rng.choice(live_clients)
    in_flight = [sender.tx(tc.KIND_REGISTER_WORK, tc.work(content(f"in-flight-{i}"), f"in flight #{i}"))
                 for i in range(4)]
    submit_accepted(in_flight_client, in_flight)
    assert network.kill(victim) == -9, f"{victim.name} was not ended by SIGKILL"
    height_at_kill = max(v.client.status()["height"] for v in live)
    for t in in_flight:  # accepted by a live node: they must still commit
        acknowledged[t.tx_hash] = tx_committed(in_flight_client, t, timeout_s=60)["height"]

    # The chain keeps committing with 3 of 4 (the victim leads every 4th height: view changes).
    for r in range(6):
        register_round(live_clients, f"r{round_no}-outage-{r}")
    network.wait_height(height_at_kill + 4, nodes=live, timeout_s=60)
    print(f"[e2e] with {victim.name} down: heights {network.heights(live)}")

    # Restart with the same home; it must catch up and rejoin.
    network.start(victim)
    network.wait_healthy([victim], timeout_s=60)
    target = max(v.client.status()["height"] for v in live)
    network.wait_height(target, nodes=[victim], timeout_s=90)
    restarted_at = victim.client.status()["height"]
    for r in range(3):
        register_round([v.client for v in validators], f"r{round_no}-after-{r}")
    # Informational: whether its commit votes appear again in the certificates of later blocks.
    top = validators[0].client.status()["height"]
    signed = sum(1 for h in range(restarted_at + 1, top + 1)
                 if victim.public_key.hex() in {s["validator"] for s in
                                                 validators[0].client.block(h).json["commit"]["signatures"]})
    print(f"[e2e] {victim.name} caught up to {target}; its commit vote is in {signed} of the "
          f"{top - restarted_at} blocks since")


@pytest.mark.disruptive
def test_sigterm_stops_a_node_gracefully_and_it_rejoins(network):
    """SIGTERM (graceful shutdown, issue 6): a validator and the observer exit by themselves with
    status 0 within 15 s, restart from their homes, and catch up."""
    network.ensure_running()
    nodes = [network.validators[-1], network.nodes[-1]]
    for node in nodes:
        node.proc.send_signal(signal.SIGTERM)
    statuses = {}
    for node in nodes:
        try:
            statuses[node.name] = node.proc.wait(timeout=scaled(15))
        except subprocess.TimeoutExpired:
            statuses[node.name] = None
        tail = node.log_tail(8)
        network.kill(node)  # reaps; SIGKILL if it is still running
        statuses[node.name] = (statuses[node.name], tail)
    target = network.settle()
    for node in nodes:
        network.start(node)
    network.wait_healthy(nodes)
    for name, (rc, tail) in statuses.items():
        assert rc == 0, f"{name} did not exit by itself with status 0 within 15 s of SIGTERM " \
                        f"(status {rc}; None = still running); its log ended:\n{tail}"
    network.wait_height(target + 1, timeout_s=60)
    for h in range(1, target + 1):
        hashes = {n.name: n.client.block(h).json.get("blockHash") for n in network.nodes}
        assert len(set(hashes.values())) == 1, f"block {h} differs: {hashes}"


@pytest.mark.disruptive
def test_kill_all_validators_at_once_and_restart(network):
    """A crash of the whole network right after commits: kill -9 every validator (and the observer)
    at once, restart them from their homes; every tx acknowledged as committed is still committed
    at the same height on every node, and the chain commits again."""
    network.ensure_running()
    root = root_actor(network)
    c = network.nodes[2].client
    registrar = Actor("crash-registrar", tc.KeyPair.generate(), network)
    add = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": registrar.public_key, "name": "before the crash"})
    ident = Actor("crash-photographer", tc.KeyPair.generate(), network)
    reg = registrar.tx(tc.KIND_REGISTER_IDENTITY, {"subject": ident.public_key, "displayName": "C",
                                                   "role": tc.ROLE_PHOTOGRAPHER, "kycDigest": bytes(32)})
    submit_accepted(c, [add])
    acknowledged = {add.tx_hash: tx_committed(c, add)["height"]}
    submit_accepted(c, [reg])
    acknowledged[reg.tx_hash] = tx_committed(c, reg)["height"]
    works = [ident.tx(tc.KIND_REGISTER_WORK, tc.work(content(f"crash-{i}"), f"crash #{i}")) for i in range(3)]
    submit_accepted(c, works)
    for t in works:
        acknowledged[t.tx_hash] = tx_committed(c, t)["height"]
    # Kill everything the moment the last commit was acknowledged.
    for node in network.nodes:
        assert network.kill(node) == -9, f"{node.name} was not ended by SIGKILL"
    top = max(acknowledged.values())
    print(f"\n[e2e] killed all {len(network.nodes)} nodes right after height {top} was acknowledged")

    network.start_all()
    network.wait_healthy(timeout_s=60)
    network.wait_height(top, timeout_s=60)
    for txh, height in acknowledged.items():
        for node in network.nodes:
            ans = node.client.tx_status(txh)
            assert ans.status == 200 and ans.json.get("status") == "committed" \
                and ans.json.get("height") == height, f"{node.name} lost tx {txh.hex()}: {ans.describe()}"
    # The chain goes on: a new tx commits and every node agrees on every block.
    after = ident.tx(tc.KIND_REGISTER_WORK, tc.work(content("after-crash"), "after the crash"))
    c0 = network.nodes[0].client
    submit_accepted(c0, [after])
    final = tx_committed(c0, after, timeout_s=60)["height"]
    network.wait_height(final, timeout_s=60)
    for h in range(1, final + 1):
        hashes = {n.name: n.client.block(h).json.get("blockHash") for n in network.nodes}
        assert len(set(hashes.values())) == 1, f"block {h} differs: {hashes}"
