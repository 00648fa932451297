"""End-to-end: the API the explorer stands on, on the shared network (issue 16).

- the event stream `GET /v1/events` (Server-Sent Events): every committed block exactly once, in
  order, across a reconnect with `Last-Event-ID` while blocks kept being committed; each block
  event agrees with `GET /v1/blocks/{h}`; the tx events say what the txs did (registration, one
  per batch item, transfer, licence, claim, identity); another node gives the same ids and data
  (but for the commit certificate it holds);
  a bad id is a 400, and the 65th stream at once a 503;
- `GET /v1/search`: a height, a block hash (either case), a tx hash, a content hash, a public key,
  an ISCC code and 16 hex digits each name the right kind and key; unknown values and other text
  are 404, a missing, empty or over-long q 400;
- `GET /v1/validators` `history`, and the pages' routes: on node0 (api.explorer on) `/` redirects
  to `/explorer` and `/verify` carries the genesis file pinned; on node1 (off) they are 404.
"""

import base64
import http.client
import json
import os
import socket
import time
import urllib.parse

import pytest

import totem_client as tc
from conftest import VECTORS_DIR
from totem_net import registered, scaled, submit_accepted, tx_committed


def content(label: str) -> bytes:
    return tc.sha256(f"events/{label}/{os.getpid()}/{time.time_ns()}".encode())


class EventStream:
    """A raw SSE client (no EventSource): reads `id`/`event`/`data` messages from one connection."""

    def __init__(self, api_url: str, *, from_height: int | None = None, last_id: str | None = None):
        u = urllib.parse.urlparse(api_url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=scaled(20))
        path = "/v1/events" + (f"?fromHeight={from_height}" if from_height is not None else "")
        headers = {"Last-Event-ID": last_id} if last_id is not None else {}
        self.conn.request("GET", path, headers=headers)
        self.resp = self.conn.getresponse()
        self.comments = 0

    @property
    def status(self) -> int:
        return self.resp.status

    def next(self) -> dict:
        """The next message: {"id", "event", "data"} (data parsed); comments are counted."""
        msg: dict = {}
        while True:
            line = self.resp.fp.readline()
            if not line:
                raise EOFError("the stream ended")
            line = line.decode("utf-8").rstrip("\n")
            if line == "":
                if "event" in msg:
                    return msg
                msg = {}
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            field, _, value = line.partition(": ")
            if field == "data":
                msg["data"] = json.loads(value)
            elif field in ("id", "event", "retry"):
                msg[field] = value

    def until(self, predicate, timeout_s: float) -> list[dict]:
        """Messages up to and including the first that satisfies `predicate`."""
        deadline = time.monotonic() + scaled(timeout_s)
        out = []
        while time.monotonic() < deadline:
            m = self.next()
            out.append(m)
            if predicate(m):
                return out
        raise AssertionError(f"no matching event within {timeout_s} s; last: {out[-3:]}")

    def close(self) -> None:
        self.conn.close()


def header(resp: tc.Response, name: str) -> str:
    return next((v for k, v in resp.headers.items() if k.lower() == name.lower()), "")


def block_height_at_least(h: int):
    return lambda m: m["event"] == "block" and m["data"]["height"] >= h


def pos(m: dict) -> tuple[int, int]:
    h, s = m["id"].split(":")
    return int(h), int(s)


def check_order(events: list[dict], first_height: int, last_height: int) -> None:
    """Ids strictly increase; each height in range has one block event at seq 0 and its tx events
    after it with contiguous seqs: every event once, none missing between blocks."""
    ids = [pos(m) for m in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), f"ids out of order or repeated: {ids}"
    blocks = [m for m in events if m["event"] == "block"]
    assert [m["data"]["height"] for m in blocks] == list(range(first_height, last_height + 1)), \
        [m["id"] for m in blocks]
    for m in events:
        assert m["data"]["height"] == pos(m)[0], m
    expected = None
    for h, s in ids:
        if s == 0:
            expected = (h, 1)
            continue
        assert (h, s) == expected, f"event {h}:{s} after {expected}: a gap or a repeat"
        expected = (h, s + 1)


def test_event_stream_every_block_once_across_a_reconnect(network):
    n0 = network.nodes[0]
    c0 = n0.client
    start = c0.status()["height"] + 1
    stream = EventStream(n0.api_url, from_height=start)
    assert stream.status == 200 and stream.resp.getheader("Content-Type") == "text/event-stream"

    registrar, owner, buyer = registered(network, c0, "events", [tc.ROLE_PHOTOGRAPHER, tc.ROLE_AGENCY])
    single = tc.work(content("single"), "Single — événement", image_code=0x0123456789ABCDEF)
    batch = [tc.work(content(f"batch{i}"), f"Batch item {i}") for i in range(3)]
    reg = owner.tx(tc.KIND_REGISTER_WORK, single)
    reg_batch = owner.tx(tc.KIND_REGISTER_WORK_BATCH, {"works": batch})
    submit_accepted(c0, [reg, reg_batch])
    reg_height = max(tx_committed(c0, t)["height"] for t in (reg, reg_batch))

    # Read up to the registration's block, then stop in the middle of that block's events.
    first = stream.until(block_height_at_least(reg_height), timeout_s=30)
    more = stream.until(lambda m: m["event"] == "registration" and m["data"]["txHash"] == reg.tx_hash.hex(),
                        timeout_s=10)
    seen = first + more
    last_id = seen[-1]["id"]
    stream.close()

    # Blocks committed while nobody listens.
    transfer = owner.tx(tc.KIND_TRANSFER_WORK, {"contentHash": batch[0]["contentHash"], "newOwner": buyer.public_key})
    licence = owner.tx(tc.KIND_GRANT_LICENSE, {"contentHash": single["contentHash"], "licensee": buyer.public_key,
                                               "terms": "editorial, EU", "validUntilMs": 0})
    claim = buyer.tx(tc.KIND_FILE_CLAIM, {"contentHash": batch[0]["contentHash"], "infringingDigest": tc.sha256(b"copy"),
                                          "locator": "https://example.org/copy", "note": "seen online"})
    submit_accepted(c0, [transfer, licence])
    end = max(tx_committed(c0, t)["height"] for t in (transfer, licence))
    submit_accepted(c0, [claim])
    end = max(end, tx_committed(c0, claim)["height"])
    network.wait_height(end + 1, nodes=[n0], timeout_s=60)

    resumed = EventStream(n0.api_url, last_id=last_id)
    assert resumed.status == 200
    rest = resumed.until(block_height_at_least(end + 1), timeout_s=30)
    resumed.close()
    events = seen + rest
    check_order(events, start, end + 1)

    # Each block event is the block the API serves.
    for m in (m for m in events if m["event"] == "block"):
        d = m["data"]
        b = c0.block(d["height"]).json
        assert d["blockHash"] == b["blockHash"] and d["txCount"] == len(b["txHashes"]), (d, b)
        assert d["commitView"] == b["commit"]["view"] and d["proposer"] == b["proposer"], (d, b)
        assert sorted(d["signers"]) == sorted(s["validator"] for s in b["commit"]["signatures"]), (d, b)

    by_tx: dict[str, list[dict]] = {}
    for m in events:
        if "txHash" in m["data"]:
            by_tx.setdefault(m["data"]["txHash"], []).append(m)
    [r] = by_tx[reg.tx_hash.hex()]
    assert r["event"] == "registration" and r["data"]["contentHash"] == single["contentHash"].hex()
    assert r["data"]["registrant"] == owner.public_key.hex() and r["data"]["title"] == single["title"]
    assert "batchIndex" not in r["data"]
    items = by_tx[reg_batch.tx_hash.hex()]
    assert [(m["event"], m["data"]["batchIndex"], m["data"]["contentHash"]) for m in items] == \
        [("registration", i, w["contentHash"].hex()) for i, w in enumerate(batch)]
    [t] = by_tx[transfer.tx_hash.hex()]
    assert t["event"] == "transfer" and t["data"]["from"] == owner.public_key.hex() and t["data"]["to"] == buyer.public_key.hex()
    [lic] = by_tx[licence.tx_hash.hex()]
    assert lic["event"] == "licence" and lic["data"]["licensee"] == buyer.public_key.hex()
    [cl] = by_tx[claim.tx_hash.hex()]
    assert cl["event"] == "claim" and cl["data"]["claimant"] == buyer.public_key.hex()
    kinds = {m["data"]["subject"]: m["data"]["kind"] for m in events if m["event"] == "identity"}
    assert kinds == {registrar.public_key.hex(): "AddRegistrar", owner.public_key.hex(): "RegisterIdentity",
                     buyer.public_key.hex(): "RegisterIdentity"}, kinds

    # The observer gives the same events with the same ids; only the commit certificate behind
    # `signers` and `commitView` is its own (any quorum of commit votes certifies a block).
    obs = network.nodes[-1]
    network.wait_height(end + 1, nodes=[obs], timeout_s=60)
    other = EventStream(obs.api_url, from_height=start)
    theirs = other.until(block_height_at_least(end + 1), timeout_s=30)
    other.close()

    def chain_part(m):
        return m["id"], m["event"], {k: v for k, v in m["data"].items() if k not in ("signers", "commitView")}
    assert [chain_part(m) for m in theirs] == [chain_part(m) for m in events]
    assert all(len(m["data"]["signers"]) >= tc.quorum(len(network.validator_keys)) for m in theirs if m["event"] == "block")


def stream_gauge(node) -> int:
    for line in node.client.metrics().splitlines():
        if line.startswith("totem_event_streams_open "):
            return int(float(line.split()[1]))
    raise AssertionError("no totem_event_streams_open in /metrics")


def test_event_stream_refuses_bad_ids_and_caps_streams(network):
    n0 = network.nodes[0]
    for headers, path in [({"Last-Event-ID": "abc"}, "/v1/events"), ({"Last-Event-ID": "5:-1"}, "/v1/events"),
                          ({}, "/v1/events?fromHeight=0"), ({}, "/v1/events?fromHeight=x")]:
        r = n0.client.request("GET", path, headers=headers)
        assert r.status == 400 and tc.check_error_body(r) == [], (path, headers, r.describe())
    # A stream whose client went away is let go at its next write (a keepalive within 15 s).
    deadline = time.monotonic() + scaled(30)
    while (open_now := stream_gauge(n0)) > 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert open_now == 0, f"{open_now} streams still open 30 s after their clients closed them"
    # The cap: 64 streams at once on this node; the 65th is refused, and one closing frees a slot.
    streams = [EventStream(n0.api_url) for _ in range(64)]
    try:
        assert all(s.status == 200 for s in streams)
        r = n0.client.request("GET", "/v1/events")
        assert r.status == 503 and r.error_code() == "too_many_streams", r.describe()
        streams.pop().close()
        deadline = time.monotonic() + scaled(10)
        while True:
            again = EventStream(n0.api_url)
            if again.status == 200 or time.monotonic() > deadline:
                break
            again.close()
            time.sleep(0.2)
        assert again.status == 200
        streams.append(again)
    finally:
        for s in streams:
            s.close()


def test_search_names_each_kind(network):
    n0, n1 = network.nodes[0].client, network.nodes[1].client
    registrar, owner = registered(network, n0, "search", [tc.ROLE_PHOTOGRAPHER])
    vector = json.load(open(os.path.join(VECTORS_DIR, "vectors.json")))["imageCodes"][2]
    code = int(vector["imageCode"])
    w = tc.work(content("searched"), "searched", image_code=code)
    reg = owner.tx(tc.KIND_REGISTER_WORK, w)
    submit_accepted(n0, [reg])
    height = tx_committed(n0, reg)["height"]
    network.wait_height(height, timeout_s=30)
    block_hash = n0.block(height).json["blockHash"]

    def search(client, q):
        return client.request("GET", "/v1/search?q=" + urllib.parse.quote(q, safe=""))

    cases = [(str(height), "block", str(height)), (block_hash, "block", str(height)),
             (block_hash.upper(), "block", str(height)), (f"  {reg.tx_hash.hex()} ", "tx", reg.tx_hash.hex()),
             (w["contentHash"].hex(), "work", w["contentHash"].hex()),
             (owner.public_key.hex(), "account", owner.public_key.hex()),
             (registrar.public_key.hex(), "account", registrar.public_key.hex()),
             (network.validator_keys[2].hex(), "account", network.validator_keys[2].hex()),
             (vector["iscc"], "imageCode", f"{code:016x}"), (f"{code:016x}", "imageCode", f"{code:016x}")]
    for client in (n0, n1):
        for q, kind, k in cases:
            r = search(client, q)
            assert r.status == 200, (q, r.describe())
            assert r.json == {"query": q, "kind": kind, "key": k}, (q, r.json)
    # A search box sent as an HTML form: spaces arrive as "+".
    r = n0.request("GET", f"/v1/search?q=+{reg.tx_hash.hex()}++")
    assert r.status == 200 and r.json == {"query": f" {reg.tx_hash.hex()}  ", "kind": "tx", "key": reg.tx_hash.hex()}, r.describe()
    # Values it does not find and text of no form it knows: 404, saying what it takes.
    for q in [tc.sha256(b"nothing of this chain").hex(), str(10**12), "hello", "ISCC:KACYPXW445FTYNJ3",
              "0x" + "ab" * 32, "é" * 256]:
        r = search(n0, q)
        assert r.status == 404 and r.error_code() == "not_found", (q, r.describe())
    for q in ["", "1" * 257, "é" * 257]:
        r = search(n0, q)
        assert r.status == 400 and r.error_code() == "bad_parameter", (q, r.describe())
    assert n0.request("GET", "/v1/search").status == 400


def test_validator_history_and_the_pages_routes(network):
    n0, n1 = network.nodes[0], network.nodes[1]
    v = n0.client.request("GET", "/v1/validators").json
    history = v["history"]
    assert history[0] == {"fromHeight": 1, "validators": sorted(k.hex() for k in network.validator_keys)}, history
    assert [e["fromHeight"] for e in history] == sorted({e["fromHeight"] for e in history})

    # node0 (the anchor) serves the pages; node1 does not.
    u = urllib.parse.urlparse(n0.api_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", "/")
    r = conn.getresponse()
    assert r.status == 302 and r.getheader("Location") == "/explorer", r.status
    conn.close()
    page = n0.client.request("GET", "/verify")
    assert page.status == 200 and header(page, "Content-Type").startswith("text/html"), page.describe()
    text = page.body.decode("utf-8")
    genesis_bytes = open(os.path.join(n0.home, "genesis.json"), "rb").read()
    pinned = f'id="pinned-genesis" data-encoding="base64">{base64.b64encode(genesis_bytes).decode()}</script>'
    assert pinned in text, "the verifier page does not carry this chain's genesis file"
    explorer = n0.client.request("GET", "/explorer")
    assert explorer.status == 200 and header(explorer, "Content-Type").startswith("text/html")
    for path in ["/explorer", "/verify", "/explorer/explorer.js"]:
        r = n1.client.request("GET", path)
        assert r.status == 404 and tc.check_error_body(r) == [], (path, r.describe())
    for path in ["/explorer/..%2Fverify.html", "/explorer/nothing.js"]:
        r = n0.client.request("GET", path)
        assert r.status == 404 and tc.check_error_body(r) == [], (path, r.describe())
