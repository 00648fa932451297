"""The Python client against testdata/totem/vectors.json: no node needed.

Passing these shows the independent client encodes, decodes, signs and hashes exactly as
PROTOCOL.md says (the vectors come from a third implementation), so what the network tests
submit is what any conforming client would submit.
"""

import base64
import json
import os
import stat

import pytest

import totem_client as tc
from conftest import VECTORS_DIR

with open(os.path.join(VECTORS_DIR, "vectors.json"), "rb") as _f:
    V = json.loads(_f.read())

GENESIS_HASH = bytes.fromhex(V["genesisHash"])
SEEDS = {k["index"]: bytes.fromhex(k["seed"]) for k in V["keys"]}
TX_BY_NAME = {t["name"]: t for t in V["transactions"]}


def ids(items, key="name"):
    return [i[key] for i in items]


def test_genesis_hash_is_sha256_of_the_genesis_file_bytes():
    with open(os.path.join(VECTORS_DIR, "certificates", "genesis.json"), "rb") as f:
        assert tc.sha256(f.read()) == GENESIS_HASH


def test_domains_are_ascii_then_a_zero_byte():
    assert bytes.fromhex(V["domains"]["tx"]) == tc.DOMAIN_TX.encode() + b"\x00"
    assert bytes.fromhex(V["domains"]["prepare"]) == tc.DOMAIN_PREPARE.encode() + b"\x00"
    assert bytes.fromhex(V["domains"]["commit"]) == tc.DOMAIN_COMMIT.encode() + b"\x00"


@pytest.mark.parametrize("k", V["keys"], ids=ids(V["keys"]))
def test_key_derivation(k):
    seed = tc.sha256(k["seedText"].encode())
    assert seed.hex() == k["seed"]
    assert tc.KeyPair(seed).hex == k["publicKey"]


def test_all_eleven_kinds_are_covered():
    assert {t["kind"] for t in V["transactions"]} == set(range(1, 12))


@pytest.mark.parametrize("t", V["transactions"], ids=ids(V["transactions"]))
def test_transaction(t):
    tx = tc.tx_from_json(t["fields"])
    assert tx.kind == t["kind"] and tc.KIND_NAMES[tx.kind] == t["kindName"]
    # Encoding of the Tx and of the signing message.
    assert tx.encode().hex() == t["tx"]
    assert tx.signing_message(GENESIS_HASH).hex() == t["signingMessage"]
    # Ed25519 is deterministic: signing with the vector's key gives the vector's signature.
    key = tc.KeyPair(SEEDS[t["signerSeedIndex"]])
    assert key.public_key == tx.sender
    signed = tx.sign(key, GENESIS_HASH)
    assert signed.signature.hex() == t["signature"]
    assert signed.hex() == t["signedTx"]
    assert signed.tx_hash.hex() == t["txHash"]
    assert signed.verify(GENESIS_HASH)
    # The decoder inverts the encoder, and the JSON form round-trips.
    decoded = tc.decode_signed_tx(bytes.fromhex(t["signedTx"]))
    assert decoded == signed
    assert tc.payload_to_json(tx.kind, decoded.tx.payload) == t["fields"]["payload"]


@pytest.mark.parametrize("t", V["transactions"], ids=ids(V["transactions"]))
def test_signature_is_bound_to_genesis_and_domain(t):
    signed = tc.decode_signed_tx(bytes.fromhex(t["signedTx"]))
    body = signed.tx.encode()
    other_genesis = bytes(32)
    assert not tc.verify(signed.tx.sender, tc.signing_message(tc.DOMAIN_TX, other_genesis, body),
                         signed.signature)
    assert not tc.verify(signed.tx.sender, tc.signing_message(tc.DOMAIN_COMMIT, GENESIS_HASH, body),
                         signed.signature)
    assert not tc.verify(signed.tx.sender, body, signed.signature)


@pytest.mark.parametrize("h", V["headers"], ids=ids(V["headers"]))
def test_header(h):
    header = tc.Header.from_json(h["fields"])
    assert header.encode().hex() == h["encoding"]
    assert header.block_hash.hex() == h["blockHash"]
    assert tc.Header.decode(bytes.fromhex(h["encoding"])) == header
    # The block's txRoot is the RFC 6962 root over its SignedTx bytes, in block order.
    txs = [bytes.fromhex(TX_BY_NAME[n]["signedTx"]) for n in h["txs"]]
    assert len(txs) == header.tx_count
    assert tc.merkle_root(txs) == header.tx_root
    # Its commit: every signature over totem/commit/v1 (height, view, blockHash) verifies.
    c = h["commit"]
    assert c["height"] == header.height and c["view"] >= header.view
    msg = tc.vote_message("commit", GENESIS_HASH, c["height"], c["view"], header.block_hash)
    assert msg.hex() == c["message"]
    for s in c["signatures"]:
        assert tc.verify(bytes.fromhex(s["validator"]), msg, bytes.fromhex(s["signature"]))


def test_headers_chain_and_state_root_rule():
    prev_hash, prev_state = GENESIS_HASH, GENESIS_HASH
    for h in V["headers"]:
        header = tc.Header.from_json(h["fields"])
        assert header.parent_hash == prev_hash
        expected_state = tc.sha256(tc.STATE_DOMAIN.encode() + b"\x00" + prev_state
                                   + bytes.fromhex(h["changesHash"]))
        assert header.state_root == expected_state
        prev_hash, prev_state = header.block_hash, header.state_root


@pytest.mark.parametrize("v", V["votes"], ids=[f"{v['phase']}-{v['validator']}-{v['blockHash'][:8]}" for v in V["votes"]])
def test_vote(v):
    key = tc.KeyPair(SEEDS[v["validatorSeedIndex"]])
    assert key.hex == v["validatorPublicKey"]
    msg = tc.vote_message(v["phase"], bytes.fromhex(v["genesisHash"]), v["height"], v["view"],
                          bytes.fromhex(v["blockHash"]))
    assert msg.hex() == v["message"]
    assert key.sign(msg).hex() == v["signature"]
    other = "prepare" if v["phase"] == "commit" else "commit"
    other_msg = tc.vote_message(other, bytes.fromhex(v["genesisHash"]), v["height"], v["view"],
                                bytes.fromhex(v["blockHash"]))
    assert not tc.verify(key.public_key, other_msg, bytes.fromhex(v["signature"]))


@pytest.mark.parametrize("s", V["validatorSets"], ids=ids(V["validatorSets"]))
def test_validator_set(s):
    keys = [bytes.fromhex(k) for k in s["keys"]]
    assert [k.hex() for k in sorted(keys)] == s["sortedKeys"]
    assert tc.validator_set_encoding(keys).hex() == s["encoding"]
    assert tc.validator_set_hash(keys).hex() == s["hash"]
    assert tc.quorum(len(keys)) == s["quorum"]


def test_quorum_table():
    assert {str(n): tc.quorum(n) for n in range(1, 11)} == V["quorum"]


@pytest.mark.parametrize("r", V["txRoots"], ids=[f"size-{r['size']}" for r in V["txRoots"]])
def test_tx_root(r):
    items = [bytes.fromhex(TX_BY_NAME[n]["signedTx"]) for n in r["leaves"]]
    assert [tc.merkle_leaf_hash(i).hex() for i in items] == r["leafHashes"]
    assert tc.merkle_root(items).hex() == r["root"]
    for p in r.get("inclusionProofs", []):
        assert [x.hex() for x in tc.merkle_inclusion_proof(items, p["leafIndex"])] == p["proof"]
        proof = [bytes.fromhex(x) for x in p["proof"]]
        leaf = tc.merkle_leaf_hash(items[p["leafIndex"]])
        assert tc.merkle_root_from_inclusion(leaf, p["leafIndex"], len(items), proof).hex() == r["root"]
        if proof:  # a proof one hash short or long leads nowhere
            assert tc.merkle_root_from_inclusion(leaf, p["leafIndex"], len(items), proof[:-1]) != tc.merkle_root(items)
            assert tc.merkle_root_from_inclusion(leaf, p["leafIndex"], len(items), proof + proof[:1]) is None


@pytest.mark.parametrize("b", V["boundaries"], ids=ids(V["boundaries"]))
def test_boundary_tx_decodes_verifies_and_reencodes(b):
    raw = bytes.fromhex(b["signedTx"])
    assert len(raw) == b["length"]
    signed = tc.decode_signed_tx(raw)
    assert signed.encode() == raw
    assert signed.tx_hash.hex() == b["txHash"]
    assert signed.verify(GENESIS_HASH)


@pytest.mark.parametrize("m", V["malformed"], ids=ids(V["malformed"]))
def test_malformed_tx_is_rejected_with_reason_and_field(m):
    with pytest.raises(tc.DecodeError) as e:
        tc.decode_signed_tx(bytes.fromhex(m["signedTx"]))
    assert e.value.reason in m["reasons"], str(e.value)
    assert e.value.field == m["field"], str(e.value)


@pytest.mark.parametrize("h", V["boundaryHeaders"], ids=ids(V["boundaryHeaders"]))
def test_boundary_header(h):
    raw = bytes.fromhex(h["header"])
    header = tc.Header.decode(raw)
    assert header == tc.Header.from_json(h["fields"])
    assert header.encode() == raw
    assert header.block_hash.hex() == h["blockHash"]


@pytest.mark.parametrize("h", V["malformedHeaders"], ids=ids(V["malformedHeaders"]))
def test_malformed_header(h):
    with pytest.raises(tc.DecodeError) as e:
        tc.Header.decode(bytes.fromhex(h["header"]))
    assert e.value.reason in h["reasons"], str(e.value)
    assert e.value.field == h["field"], str(e.value)


@pytest.mark.parametrize("c", V["imageCodes"], ids=ids(V["imageCodes"]))
def test_image_code(c):
    # The ISCC display form is base32 of header || body; imageCode is the body as a big-endian u64.
    raw = base64.b32decode(c["iscc"].removeprefix("ISCC:") + "=" * (-len(c["iscc"][5:]) % 8))
    assert raw.hex() == c["header"] + c["body"]
    assert int.from_bytes(bytes.fromhex(c["body"]), "big") == c["imageCode"]
    w = tc.Writer()
    tc._encode_fields(w, [("imageCode", "optu64", None)], {"imageCode": c["imageCode"]})
    assert w.bytes().hex() == c["encoding"]


@pytest.mark.parametrize("g", [g for g in V["genesisFiles"] if g["accept"]],
                         ids=ids([g for g in V["genesisFiles"] if g["accept"]]))
def test_genesis_hash_of_accepted_files(g):
    assert tc.sha256(g["file"].encode("utf-8")).hex() == g["genesisHash"]


def test_encoder_refuses_values_the_decoder_would_refuse():
    base = tc.tx_from_json(TX_BY_NAME["RegisterWork-W1"]["fields"])
    too_long = dict(base.payload, title="x" * 257)
    with pytest.raises(ValueError):
        tc.Tx(base.chain_id, base.kind, base.sender, base.nonce, too_long).encode()
    with pytest.raises(ValueError):
        tc.Tx(base.chain_id, tc.KIND_REGISTER_WORK_BATCH, base.sender, 1, {"works": []}).encode()
    with pytest.raises(ValueError):
        tc.Tx(base.chain_id, 12, base.sender, 1, {}).encode()


def test_key_file_round_trip_and_permissions(tmp_path):
    key = tc.KeyPair(SEEDS[2])
    path = str(tmp_path / "key.json")
    tc.write_key_file(path, key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        assert json.load(f) == {"algorithm": "ed25519", "publicKey": key.hex, "seed": key.seed.hex()}
    assert tc.read_key_file(path).public_key == key.public_key
    os.chmod(path, 0o640)
    with pytest.raises(tc.KeyFileError, match="readable"):
        tc.read_key_file(path)
    os.chmod(path, 0o604)
    with pytest.raises(tc.KeyFileError, match="readable"):
        tc.read_key_file(path)
    # A public key that is not the seed's is refused.
    bad = str(tmp_path / "bad.json")
    fd = os.open(bad, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"algorithm": "ed25519", "publicKey": tc.KeyPair(SEEDS[3]).hex,
                   "seed": key.seed.hex()}, f)
    with pytest.raises(tc.KeyFileError, match="does not match"):
        tc.read_key_file(bad)


def test_leader_rule():
    keys = [bytes.fromhex(k) for k in V["validatorSets"][0]["keys"]]
    ordered = sorted(keys)
    assert [tc.leader(keys, h, v) for h, v in [(1, 0), (2, 0), (1, 1), (4, 3)]] == \
        [ordered[1], ordered[2], ordered[2], ordered[3]]
    # Block proposers in the vectors follow the rule for their header's view (genesis set).
    for h in V["headers"][:4]:
        f = h["fields"]
        assert tc.leader(keys, f["height"], f["view"]).hex() == f["proposer"], h["name"]
