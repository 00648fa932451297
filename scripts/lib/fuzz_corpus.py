"""Seeds the corpus of each libFuzzer target (scripts/fuzz.sh) from the conformance data in
testdata/: the protocol's own vectors and certificates, so the fuzzer starts from inputs that reach
deep into each decoder. Usage: python3 scripts/lib/fuzz_corpus.py <corpus dir> (one folder per
target; existing files are kept, seeds are named by their SHA-256)."""

import hashlib
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOTEM = os.path.join(ROOT, "testdata", "totem")


def main(out: str) -> None:
    v = json.load(open(os.path.join(TOTEM, "vectors.json")))
    seeds: dict[str, list[bytes]] = {t: [] for t in [
        "tx", "block", "header", "consensus", "signing-state", "p2p-message", "hello", "json", "genesis",
        "key-file", "certificate", "image-code", "snapshot"]}
    txs = {t["name"]: bytes.fromhex(t["signedTx"]) for t in v["transactions"]}
    seeds["tx"] += list(txs.values())
    seeds["tx"] += [bytes.fromhex(b["signedTx"]) for b in v["boundaries"] if len(b["signedTx"]) <= 20000]
    seeds["tx"] += [bytes.fromhex(m["signedTx"]) for m in v["malformed"]]
    for h in v["headers"]:
        header = bytes.fromhex(h["encoding"])
        seeds["header"].append(header)
        body = [txs[name] for name in h["txs"]]
        block = header + struct.pack(">I", len(body)) + b"".join(struct.pack(">I", len(t)) + t for t in body)
        seeds["block"].append(block)
        # A consensus certificate-like message and a p2p frame body built from real parts.
        seeds["consensus"].append(bytes([1]) + block)
        seeds["p2p-message"].append(bytes([2]) + struct.pack(">I", len(body)) + b"".join(struct.pack(">I", len(t)) + t for t in body))
    # State-sync payloads (first byte: 0 vote, 1 offer, 2 chunk payload, 3 checkpoint certificate):
    # a checkpoint of chain "test" at height 40 with 3 chunks, unsigned parts zero.
    checkpoint = struct.pack(">I", 4) + b"test" + struct.pack(">Q", 40) + bytes(64) + struct.pack(">I", 3)
    seeds["snapshot"] += [bytes([0]) + checkpoint + bytes(96), bytes([3]) + checkpoint + struct.pack(">I", 0),
                          bytes([2]) + struct.pack(">I", 1) + bytes(32) + struct.pack(">I", 2) + b"\x00\x01"]
    # State-sync messages: checkpoint vote, snapshot query and offer, chunk request and response.
    seeds["p2p-message"] += [bytes([9]) + struct.pack(">I", 3) + b"abc", bytes([10]) + struct.pack(">Q", 0), bytes([11]) + struct.pack(">I", 0),
                             bytes([12]) + struct.pack(">QI", 20, 1),
                             bytes([13]) + struct.pack(">QII", 20, 1, 2) + b"\x00\x01"]
    seeds["header"] += [bytes.fromhex(h["header"]) for h in v["boundaryHeaders"] + v["malformedHeaders"]]
    for g in v["genesisFiles"]:
        seeds["genesis"].append(g["file"].encode())
        seeds["json"].append(g["file"].encode())
    cert_dir = os.path.join(TOTEM, "certificates")
    for name in sorted(os.listdir(cert_dir)):
        data = open(os.path.join(cert_dir, name), "rb").read()
        seeds["json"].append(data)
        if name.endswith(".json") and name not in ("expected.json", "genesis.json"):
            seeds["certificate"].append(data)
    seeds["genesis"].append(open(os.path.join(cert_dir, "genesis.json"), "rb").read())
    for k in v["keys"][:3]:
        seed = k["seed"] if isinstance(k, dict) else k
        pub = k.get("publicKey", "00" * 32) if isinstance(k, dict) else "00" * 32
        seeds["key-file"].append(json.dumps({"algorithm": "ed25519", "publicKey": pub, "seed": seed}).encode())
    seeds["image-code"] += [c["iscc"].encode() for c in v["imageCodes"]]
    for vote in v["votes"]:
        seeds["consensus"].append(bytes([2]) + bytes.fromhex(vote["message"][-88:]))
    seeds["hello"].append(bytes(100))
    seeds["signing-state"].append(bytes([1]) + bytes(40))
    for target, items in seeds.items():
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for item in items:
            with open(os.path.join(folder, hashlib.sha256(item).hexdigest()), "wb") as f:
                f.write(item)
        print(f"fuzz corpus: {target}: {len(items)} seeds")


if __name__ == "__main__":
    main(sys.argv[1])
