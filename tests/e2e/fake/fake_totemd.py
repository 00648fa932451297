#!/usr/bin/env python3
"""A FAKE `totemd`, only to check the end-to-end harness itself (process handling, waits, the
scenario's bookkeeping) while the real node is not built. It is not a Totem node: no consensus and
no P2P; the "nodes" of one network share their chain through files in the network folder (any
live node builds the next block under a file lock), and commit "signatures" are made with the node
keys it finds there. Passing the suite against it says nothing about `totemd`.

    TOTEMD=tests/e2e/fake/fake_totemd.py python3 -m pytest tests/e2e -q
"""

import argparse
import base64
import fcntl
import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import totem_client as tc  # noqa: E402

MAX_BODY = 16 << 20
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# ------------------------------------------------------------------------------------------------
# testnet

def cmd_testnet(a):
    os.makedirs(a.dir)
    total = a.validators + a.observers
    keys = [tc.KeyPair.generate() for _ in range(total)]
    root = tc.KeyPair.generate()
    tc.write_key_file(os.path.join(a.dir, "root_registrar.json"), root)
    genesis = {
        "chainId": a.chain_id, "genesisTimeMs": int(time.time() * 1000) - 1000,
        "rootRegistrar": root.hex, "registrars": [],
        "validators": [{"name": f"node{i}", "publicKey": keys[i].hex,
                        "p2pAddress": f"127.0.0.1:{a.p2p_base_port + i}"} for i in range(a.validators)],
        "params": {"maxBlockTxs": 5000, "maxBlockBytes": 8388608, "maxTxBytes": 65536,
                   "proposalTimeoutMs": 1000, "maxProposalTimeoutMs": 30000,
                   "emptyBlockIntervalMs": 1000, "maxClockDriftMs": 2000,
                   "validatorChangeTtlBlocks": 10000},
    }
    text = json.dumps(genesis, indent=2) + "\n"
    for i in range(total):
        name = f"node{i}" if i < a.validators else f"observer{i - a.validators}"
        home = os.path.join(a.dir, name)
        os.makedirs(home)
        tc.write_key_file(os.path.join(home, "node_key.json"), keys[i])
        with open(os.path.join(home, "genesis.json"), "w") as f:
            f.write(text)
        with open(os.path.join(home, "config.toml"), "w") as f:
            f.write(f'api_port = {a.api_base_port + i}\nrole = "{"validator" if i < a.validators else "observer"}"\n')
    for d in ("blocks", "mempool", "rejected"):
        os.makedirs(os.path.join(a.dir, ".fake", d))
    print(f"fake network in {a.dir}")


# ------------------------------------------------------------------------------------------------
# chain state (rebuilt by every process from the shared block files)

class ApplyError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class State:
    def __init__(self, genesis, genesis_hash):
        self.genesis, self.genesis_hash = genesis, genesis_hash
        self.root = bytes.fromhex(genesis["rootRegistrar"])
        self.registrars = {bytes.fromhex(r["publicKey"]) for r in genesis["registrars"]}
        self.identities = {}   # key -> dict
        self.works = {}        # contentHash -> dict
        self.nonces = {}       # key -> next nonce
        self.blocks = []       # list of block dicts (index h-1)
        self.txs = {}          # txHash hex -> (height, index)
        self.evidence = set()

    def next_nonce(self, k):
        return self.nonces.get(k, 1)

    def check(self, st: tc.SignedTx, height, pending_works):
        tx, p = st.tx, st.tx.payload
        if tx.kind in (7, 8) and tx.sender != self.root:
            raise ApplyError("not_root", "only the root registrar")
        if tx.kind == 1:
            if tx.sender not in self.registrars and tx.sender != self.root:
                raise ApplyError("not_registrar", "sender is not a registrar")
        if tx.kind in (3, 10):
            ident = self.identities.get(tx.sender)
            if not ident or ident["revoked"]:
                raise ApplyError("not_identity", "sender is not a registered identity")
            items = [p] if tx.kind == 3 else p["works"]
            seen = set()
            for w in items:
                ch = w["contentHash"]
                old = self.works.get(ch)
                if old:
                    raise ApplyError("work_already_registered",
                                     f"work {ch.hex()} is already registered by {old['registrant'].hex()} "
                                     f"at height {old['height']}")
                if ch in seen:
                    raise ApplyError("work_already_registered", f"work {ch.hex()} twice in one batch")
                if ch in pending_works:
                    raise ApplyError("work_already_registered",
                                     f"work {ch.hex()} is already registered by {pending_works[ch].hex()} "
                                     f"at height {height}")
                seen.add(ch)
        vkeys = {bytes.fromhex(v["publicKey"]) for v in self.genesis["validators"]}
        if tx.kind in (9, 11) and tx.sender not in vkeys:
            raise ApplyError("not_validator", "sender is not a validator")
        if tx.kind == 11:
            dom = {1: "prepare", 2: "commit"}[p["phase"]]
            for hk, sk in (("blockHashA", "signatureA"), ("blockHashB", "signatureB")):
                m = tc.vote_message(dom, self.genesis_hash, p["height"], p["view"], p[hk])
                if not tc.verify(p["validator"], m, p[sk]):
                    raise ApplyError("invalid_evidence", "a signature does not verify")
            if (p["validator"], p["height"], p["view"], p["phase"]) in self.evidence:
                raise ApplyError("evidence_already_recorded", "recorded before")
        if tx.kind in (4, 5):
            w = self.works.get(p["contentHash"])
            if not w or w["owner"] != tx.sender:
                raise ApplyError("not_owner", "sender does not own the work")

    def apply_block(self, block):
        h = block["height"]
        header = tc.Header.decode(base64.b64decode(block["header"]))
        for i, hx in enumerate(block["txs"]):
            st = tc.decode_signed_tx(bytes.fromhex(hx))
            tx, p = st.tx, st.tx.payload
            self.nonces[tx.sender] = tx.nonce + 1
            self.txs[st.tx_hash.hex()] = (h, i)
            if tx.kind == 7:
                self.registrars.add(p["subject"])
            elif tx.kind == 8:
                self.registrars.discard(p["subject"])
            elif tx.kind == 1:
                self.identities[p["subject"]] = {"displayName": p["displayName"],
                                                 "role": "photographer" if p["role"] == 1 else "agency",
                                                 "registrar": tx.sender.hex(), "revoked": False}
            elif tx.kind == 2 and p["subject"] in self.identities:
                self.identities[p["subject"]]["revoked"] = True
            elif tx.kind in (3, 10):
                items = [p] if tx.kind == 3 else p["works"]
                for j, w in enumerate(items):
                    self.works[w["contentHash"]] = {
                        "work": w, "registrant": tx.sender, "owner": tx.sender, "height": h,
                        "txHash": st.tx_hash.hex(), "registeredAtMs": header.timestamp_ms,
                        "batchIndex": j if tx.kind == 10 else None}
            elif tx.kind == 4:
                self.works[p["contentHash"]]["owner"] = p["newOwner"]
            elif tx.kind == 11:
                self.evidence.add((p["validator"], p["height"], p["view"], p["phase"]))
        self.blocks.append(block)


class Node:
    def __init__(self, home):
        self.home = home
        self.net = os.path.dirname(os.path.abspath(home))
        self.fake = os.path.join(self.net, ".fake")
        with open(os.path.join(home, "genesis.json"), "rb") as f:
            self.genesis_bytes = f.read()
        self.genesis = json.loads(self.genesis_bytes)
        self.genesis_hash = hashlib.sha256(self.genesis_bytes).digest()
        cfg = open(os.path.join(home, "config.toml")).read()
        self.port = int(re.search(r"api_port = (\d+)", cfg).group(1))
        self.validator = '"validator"' in cfg
        self.key = tc.read_key_file(os.path.join(home, "node_key.json"))
        self.state = State(self.genesis, self.genesis_hash)
        self.lock = threading.RLock()
        self.vkeys = [bytes.fromhex(v["publicKey"]) for v in self.genesis["validators"]]

    # -- shared files

    def sync(self):
        with self.lock:
            while True:
                p = os.path.join(self.fake, "blocks", f"{len(self.state.blocks) + 1}.json")
                if not os.path.exists(p):
                    return
                with open(p) as f:
                    self.state.apply_block(json.load(f))

    def signers(self):
        keys = []
        for name in sorted(os.listdir(self.net)):
            p = os.path.join(self.net, name, "node_key.json")
            if name.startswith("node") and os.path.exists(p):
                keys.append(tc.read_key_file(p))
        return keys

    def build(self):
        lockf = open(os.path.join(self.fake, "lock"), "w")
        try:
            fcntl.flock(lockf, fcntl.LOCK_EX)
            self.sync()
            s = self.state
            mp = os.path.join(self.fake, "mempool")
            names = sorted(os.listdir(mp))
            last_ms = 0
            if s.blocks:
                last_ms = tc.Header.decode(base64.b64decode(s.blocks[-1]["header"])).timestamp_ms
            if not names and time.time() * 1000 - last_ms < 1000:
                return
            height = len(s.blocks) + 1
            chosen, pending_works, nonces = [], {}, {}
            for name in names:
                with open(os.path.join(mp, name)) as f:
                    hx = f.read()
                st = tc.decode_signed_tx(bytes.fromhex(hx))
                want = nonces.get(st.tx.sender, s.next_nonce(st.tx.sender))
                if st.tx.nonce > want:
                    continue  # held back
                try:
                    if st.tx.nonce < want:
                        raise ApplyError("nonce_too_low", "nonce already used")
                    s.check(st, height, pending_works)
                except ApplyError as e:
                    with open(os.path.join(self.fake, "rejected", st.tx_hash.hex()), "w") as f:
                        json.dump({"code": e.code, "message": e.message}, f)
                    os.unlink(os.path.join(mp, name))
                    continue
                if st.tx.kind in (3, 10):
                    items = [st.tx.payload] if st.tx.kind == 3 else st.tx.payload["works"]
                    pending_works.update({w["contentHash"]: st.tx.sender for w in items})
                nonces[st.tx.sender] = st.tx.nonce + 1
                chosen.append((name, st))
            raw = [st.encode() for _, st in chosen]
            parent = s.blocks[-1]["blockHash"] if s.blocks else self.genesis_hash.hex()
            prev_state = tc.Header.decode(base64.b64decode(s.blocks[-1]["header"])).state_root \
                if s.blocks else self.genesis_hash
            changes = hashlib.sha256(b"".join(raw)).digest()
            vsh = tc.validator_set_hash(self.vkeys)
            header = tc.Header(chain_id=self.genesis["chainId"], height=height, view=0,
                               timestamp_ms=max(int(time.time() * 1000), last_ms + 1),
                               parent_hash=bytes.fromhex(parent), tx_root=tc.merkle_root(raw),
                               tx_count=len(raw),
                               state_root=hashlib.sha256(b"totem/state/v1\x00" + prev_state + changes).digest(),
                               validator_set_hash=vsh, next_validator_set_hash=vsh,
                               proposer=tc.leader(self.vkeys, height, 0))
            msg = tc.vote_message("commit", self.genesis_hash, height, 0, header.block_hash)
            sigs = [{"validator": k.hex, "signature": k.sign(msg).hex()}
                    for k in self.signers()[:tc.quorum(len(self.vkeys))]]
            block = {"height": height, "blockHash": header.block_hash.hex(),
                     "header": base64.b64encode(header.encode()).decode(),
                     "txs": [r.hex() for r in raw], "commit": {"view": 0, "signatures": sigs}}
            tmp = os.path.join(self.fake, f"tmp-{os.getpid()}")
            with open(tmp, "w") as f:
                json.dump(block, f)
            os.rename(tmp, os.path.join(self.fake, "blocks", f"{height}.json"))
            for name, _ in chosen:
                os.unlink(os.path.join(mp, name))
            self.sync()
        finally:
            fcntl.flock(lockf, fcntl.LOCK_UN)
            lockf.close()

    def loop(self):
        while True:
            try:
                if self.validator:
                    self.build()
                else:
                    self.sync()
            except Exception as e:  # noqa: BLE001
                print(f"fake: build error {e!r}", flush=True)
            time.sleep(0.1)

    # -- admission

    def admit(self, item):
        if not isinstance(item, str) or not re.fullmatch(r"(?:[0-9a-f]{2})*", item):
            return {"txHash": None, "accepted": False, "error": {"code": "malformed_tx", "message": "not hex"}}
        raw = bytes.fromhex(item)
        h = hashlib.sha256(raw).hexdigest()
        try:
            st = tc.decode_signed_tx(raw)
        except tc.DecodeError as e:
            return {"txHash": h, "accepted": False, "error": {"code": "malformed_tx", "message": str(e)}}

        def refuse(code, msg):
            return {"txHash": h, "accepted": False, "error": {"code": code, "message": msg}}
        if st.tx.chain_id != self.genesis["chainId"]:
            return refuse("wrong_chain", "another chainId")
        if not st.verify(self.genesis_hash):
            return refuse("bad_signature", "signature does not verify")
        with self.lock:
            if st.tx.nonce < self.state.next_nonce(st.tx.sender):
                return refuse("nonce_too_low", "nonce already used")
            if st.tx.kind in (3, 10):
                try:
                    self.state.check(st, 0, {})
                except ApplyError as e:
                    if e.code == "work_already_registered":
                        return refuse(e.code, e.message)
        with open(os.path.join(self.fake, "mempool", f"{time.time_ns()}-{h}"), "w") as f:
            f.write(item)
        return {"txHash": h, "accepted": True}


# ------------------------------------------------------------------------------------------------
# HTTP

def make_handler(node: Node):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def send(self, status, obj, ctype="application/json"):
            body = obj.encode() if isinstance(obj, str) else json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def err(self, status, code, msg):
            self.send(status, {"error": {"code": code, "message": msg}})

        def do_POST(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts, size = [], 0
                while True:
                    n = int(self.rfile.readline().split(b";")[0], 16)
                    size += n
                    if size > MAX_BODY:
                        self.close_connection = True
                        return self.err(413, "body_too_large", "body over 16 MiB")
                    parts.append(self.rfile.read(n))
                    self.rfile.readline()
                    if n == 0:
                        break
                body = b"".join(parts)
            else:
                n = int(self.headers.get("Content-Length") or 0)
                if n > MAX_BODY:
                    self.close_connection = True
                    return self.err(413, "body_too_large", "body over 16 MiB")
                body = self.rfile.read(n)
            if self.path != "/v1/txs":
                return self.err(404, "not_found", "no such route")
            try:
                doc = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return self.err(400, "bad_json", "body is not JSON")
            if not isinstance(doc, dict) or set(doc) != {"txs"} or not isinstance(doc["txs"], list) \
                    or not 1 <= len(doc["txs"]) <= 1000 or not all(isinstance(x, str) for x in doc["txs"]):
                return self.err(400, "bad_request", "expected {\"txs\": [1 to 1000 hex strings]}")
            self.send(200, {"results": [node.admit(x) for x in doc["txs"]]})

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(u.query)
            parts = u.path.strip("/").split("/")
            node.sync()
            s = node.state
            with node.lock:
                return self.route(u.path, parts, q, s)

        def route(self, path, parts, q, s):
            if path == "/healthz":
                return self.send(200, "ok\n", "text/plain")
            if path == "/metrics":
                return self.send(200, f"# TYPE totem_height gauge\ntotem_height {len(s.blocks)}\n", "text/plain")
            if path == "/v1/status":
                last = s.blocks[-1] if s.blocks else None
                return self.send(200, {"chainId": node.genesis["chainId"], "genesisHash": node.genesis_hash.hex(),
                                       "height": len(s.blocks),
                                       "latestBlockHash": last["blockHash"] if last else node.genesis_hash.hex(),
                                       "view": 0, "role": "validator" if node.validator else "observer",
                                       "nodeKey": node.key.hex})
            if path == "/v1/works/similar":
                return self.similar(q, s)
            if len(parts) != 3 or parts[0] != "v1":
                return self.err(404, "not_found", "no such route")
            _, what, arg = parts
            if what == "blocks":
                if not re.fullmatch(r"[1-9][0-9]{0,18}", arg):
                    return self.err(400, "bad_height", "height is a positive integer")
                h = int(arg)
                if h > len(s.blocks):
                    return self.err(404, "block_not_found", "no such block")
                b = s.blocks[h - 1]
                return self.send(200, {"height": h, "blockHash": b["blockHash"], "header": b["header"],
                                       "txHashes": [hashlib.sha256(bytes.fromhex(x)).hexdigest() for x in b["txs"]],
                                       "commit": b["commit"]})
            if what not in ("txs", "works", "accounts", "certificates"):
                return self.err(404, "not_found", "no such route")
            if not HEX64.match(arg):
                return self.err(400, "bad_hex", "expected 64 lowercase hex digits")
            if what == "txs":
                # Mempool first, then the blocks: a tx leaves the mempool only after its block exists.
                in_mempool = any(n.endswith(arg) for n in os.listdir(os.path.join(node.fake, "mempool")))
                node.sync()
                if arg in s.txs:
                    h, i = s.txs[arg]
                    return self.send(200, {"txHash": arg, "status": "committed", "height": h, "index": i})
                rej = os.path.join(node.fake, "rejected", arg)
                if os.path.exists(rej):
                    return self.send(200, {"txHash": arg, "status": "rejected", "error": json.load(open(rej))})
                if in_mempool:
                    return self.send(200, {"txHash": arg, "status": "pending"})
                return self.err(404, "tx_not_found", "unknown tx")
            key = bytes.fromhex(arg)
            if what == "accounts":
                return self.send(200, {"publicKey": arg, "nextNonce": s.next_nonce(key),
                                       "identity": s.identities.get(key)})
            if what == "works":
                w = s.works.get(key)
                if not w:
                    return self.err(404, "work_not_found", "no such work")
                return self.send(200, self.work_answer(key, w))
            return self.certificate(arg, q, s)

        def work_answer(self, key, w):
            code = w["work"]["imageCode"]
            return {"contentHash": key.hex(), "registrant": w["registrant"].hex(), "owner": w["owner"].hex(),
                    "title": w["work"]["title"], "imageCode": None if code is None else f"{code:016x}",
                    "registeredAtMs": w["registeredAtMs"], "height": w["height"], "txHash": w["txHash"]}

        def similar(self, q, s):
            try:
                code = q["imageCode"][0]
                if not re.fullmatch(r"[0-9a-f]{16}", code):
                    raise ValueError
                md = q.get("maxDistance", ["8"])[0]
                lim = q.get("limit", ["20"])[0]
                if not re.fullmatch(r"[0-9]+", md) or not re.fullmatch(r"[0-9]+", lim):
                    raise ValueError
                md, lim = int(md), int(lim)
                if not (0 <= md <= 16 and 1 <= lim <= 100):
                    raise ValueError
            except (KeyError, ValueError):
                return self.err(400, "bad_query", "imageCode, maxDistance 0..16, limit 1..100")
            c = int(code, 16)
            m = sorted((bin(w["work"]["imageCode"] ^ c).count("1"), k.hex(), w["owner"].hex())
                       for k, w in s.works.items() if w["work"]["imageCode"] is not None)
            m = [x for x in m if x[0] <= md][:lim]
            return self.send(200, {"matches": [{"contentHash": k, "distance": d, "owner": o} for d, k, o in m]})

        def certificate(self, arg, q, s):
            if arg not in s.txs:
                return self.err(404, "tx_not_found", "not committed")
            h, i = s.txs[arg]
            b = s.blocks[h - 1]
            raws = [bytes.fromhex(x) for x in b["txs"]]
            st = tc.decode_signed_tx(raws[i])
            doc = {"format": "totem-certificate/1", "chainId": node.genesis["chainId"],
                   "genesisHash": node.genesis_hash.hex(), "tx": base64.b64encode(raws[i]).decode(),
                   "txHash": arg, "leafIndex": i, "treeSize": len(raws),
                   "inclusionProof": [x.hex() for x in tc.merkle_inclusion_proof(raws, i)],
                   "header": b["header"], "blockHash": b["blockHash"],
                   "commit": {"height": h, **b["commit"]},
                   "validatorSets": [{"fromHeight": 1, "validators": [k.hex() for k in node.vkeys]}]}
            header = tc.Header.decode(base64.b64decode(b["header"]))
            if st.tx.kind == 3:
                w = st.tx.payload
                doc["work"] = {"contentHash": w["contentHash"].hex(), "registrant": st.tx.sender.hex(),
                               "title": w["title"], "registeredAtMs": header.timestamp_ms}
            elif st.tx.kind == 10:
                items = st.tx.payload["works"]
                item = q.get("item", [None])[0]
                if item is None or not re.fullmatch(r"[0-9]+", item) or int(item) >= len(items):
                    return self.err(400, "bad_item", "a batch needs item 0..n-1")
                w = items[int(item)]
                doc["work"] = {"contentHash": w["contentHash"].hex(), "registrant": st.tx.sender.hex(),
                               "title": w["title"], "registeredAtMs": header.timestamp_ms,
                               "batchIndex": int(item)}
            return self.send(200, doc)
    return H


def cmd_start(a):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    node = Node(a.home)
    threading.Thread(target=node.loop, daemon=True).start()
    srv = ThreadingHTTPServer(("127.0.0.1", node.port), make_handler(node))
    print(f"fake node {a.home} serving on {node.port}", flush=True)
    srv.serve_forever()


def cmd_verify(a):
    """Not a verifier: the fake only compares the certificate's work summary with its tx."""
    doc = json.load(open(a.certificate))
    st = tc.decode_signed_tx(base64.b64decode(doc["tx"]))
    if "work" in doc:
        p = st.tx.payload
        w = p if st.tx.kind == 3 else p["works"][doc["work"].get("batchIndex", 0)]
        if doc["work"]["title"] != w["title"] or doc["work"]["contentHash"] != w["contentHash"].hex():
            print("FAIL  work: the summary is not the tx's work")
            sys.exit(1)
    print("VALID (fake check)")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("testnet")
    t.add_argument("--dir", required=True)
    t.add_argument("--validators", type=int, default=4)
    t.add_argument("--observers", type=int, default=1)
    t.add_argument("--p2p-base-port", type=int, default=26601)
    t.add_argument("--api-base-port", type=int, default=26701)
    t.add_argument("--chain-id", default="totem-devnet")
    s = sub.add_parser("start")
    s.add_argument("--home", required=True)
    v = sub.add_parser("verify")
    v.add_argument("certificate")
    v.add_argument("--genesis", required=True)
    a = p.parse_args()
    {"testnet": cmd_testnet, "start": cmd_start, "verify": cmd_verify}[a.cmd](a)


if __name__ == "__main__":
    main()
