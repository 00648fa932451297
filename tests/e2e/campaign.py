#!/usr/bin/env python3
"""The fault campaign of issue 13: seeded, time-bounded faults on the namespace cluster
(scripts/cluster.sh), under a steady RegisterWork load, with one checker over the whole history.

Library (used by test_fault_campaign.py) and command line:

    sudo TOTEM_BIN=.build/release/totemd python3 tests/e2e/campaign.py --seed 7 --rounds 3

Each scenario prints what it expected and what it saw. The load generator records every tx that a
node reported committed (`GET /v1/txs/{hash}` status `committed`, with height and index): that is
the history the checker holds the chain to. The checker (after each scenario, and over the whole
history at the end):

- every tx reported committed is in the final chain of every node, at the height and index a node
  reported, and no two nodes reported it at different places;
- one block hash (and header, stateRoot, txHashes, parent link) per height on every node;
- "first registration wins": of the RegisterWork txs of one content hash at most one is committed,
  and `GET /v1/works/{contentHash}` on every node names its sender, height and tx (the load
  includes pairs of registrations of the same content by two identities, sent at once to two nodes);
- after each heal, the chain resumes (height rises on 3 of 4 validators) and every node is at the
  tip with `catchingUp` false, without a manual step, within the stated bound;
- with one validator unable to lead, the heights decided after a view change once the fault's
  first 10 heights are committed are those the leader rotation explains (the victim's first turn
  after it last proposed, and its probes), within VIEW_CHANGE_SLACK, read from the chain's headers
  and commit certificates.

Throughput and latency (submit → committed as polled, every 0.1 s) are measured per scenario and
compared with the healthy baseline, in the window after the first 10 heights of the fault.

Besides faults, `join` (issue 14): the observer becomes a validator and leaves again by the
operators' commands, each run on its node's host (`ip netns exec totem-<node> totemd validator
join|vote`), and with one validator stopped a removal that would leave fewer than a quorum live is
refused by `validator vote` and `tx validator-change`; see `Campaign.join_validator`. And
`state_sync` (issue 14): the observer, its data directory deleted, starts with `--state-sync` on its
host, fetches a certified checkpoint's snapshot from the validators over the namespace, is killed
with kill -9 midway through the chunks, resumes, and follows the chain with the validators'
stateRoot; see `Campaign.state_sync_start`. The cluster's genesis has a checkpoint every
CHECKPOINT_INTERVAL blocks and small chunks for it, under every scenario. From then on the checker
holds that node to 404 `pruned_below` for every block at or below its checkpoint and
`tx_not_found` naming the state sync for every tx there, and compares the rest of its chain with
the others' as for any node (`Checker.synced_from`).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import totem_client as tc  # noqa: E402
import totem_net  # noqa: E402
from totem_net import Actor, scaled  # noqa: E402

VALIDATORS = [f"node{i}" for i in range(4)]
NODES = VALIDATORS + ["observer0"]
JOINER = "observer0"   # the `join` scenario's candidate: the observer, on its own host
SYNCER = "observer0"   # the `state_sync` scenario's new node, on its own host
# The cluster's genesis has a checkpoint every CHECKPOINT_INTERVAL blocks (about 12 s at the load's
# 8 blocks/s: every node walks its state that often, under every scenario) and small snapshot
# chunks, so `state_sync` finds a certified snapshot within seconds, of enough chunks to be killed
# midway through them.
CHECKPOINT_INTERVAL = 100
SNAPSHOT_CHUNK_BYTES = 4096
CLUSTER_TESTNET_ARGS = ["--checkpoint-interval", str(CHECKPOINT_INTERVAL),
                        "--snapshot-chunk-bytes", str(SNAPSHOT_CHUNK_BYTES)]


def log(msg: str) -> None:
    print(f"[campaign {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


# ------------------------------------------------------------------------------------------------
# The cluster (scripts/cluster.sh)


class Cluster:
    def __init__(self, totemd: str, directory: str):
        self.totemd = os.path.abspath(totemd)
        self.dir = os.path.abspath(directory)
        self.script = os.path.join(REPO_ROOT, "scripts", "cluster.sh")
        self.subnet = os.environ.get("TOTEM_CLUSTER_SUBNET", "10.77.0")
        self.api_port = int(os.environ.get("TOTEM_API_PORT", "26701"))
        self.p2p_port = int(os.environ.get("TOTEM_P2P_PORT", "26601"))
        self.genesis: dict = {}
        self.genesis_hash = b""
        self.keys: dict[str, bytes] = {}   # node name -> public key
        self.mounts: list[str] = []         # tmpfs mounted under the folder (disk_full)

    def sh(self, *args: str, timeout_s: float = 240) -> str:
        # The caller's TOTEM_TESTNET_ARGS go after the campaign's genesis parameters.
        testnet_args = " ".join(CLUSTER_TESTNET_ARGS + os.environ.get("TOTEM_TESTNET_ARGS", "").split())
        env = {**os.environ, "TOTEM_BIN": self.totemd, "TOTEM_CLUSTER_DIR": self.dir,
               "TOTEM_TESTNET_ARGS": testnet_args}
        res = subprocess.run([self.script, *args], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
        out = res.stdout.decode("utf-8", "replace")
        if res.returncode != 0:
            raise RuntimeError(f"cluster.sh {' '.join(args)} exited {res.returncode}:\n{out}")
        return out

    def up(self) -> None:
        # A run that died left its tmpfs mounted: `up` could not remove the folder.
        self.unmount([m for m in mount_points() if m.startswith(self.dir + os.sep)])
        self.sh("up")
        with open(os.path.join(self.dir, "genesis.json"), "rb") as f:
            raw = f.read()
        self.genesis = json.loads(raw)
        self.genesis_hash = tc.sha256(raw)
        for n in NODES:
            with open(os.path.join(self.dir, n, "node_key.json")) as f:
                self.keys[n] = bytes.fromhex(json.load(f)["publicKey"])

    def down(self) -> None:
        try:
            self.sh("down")
        finally:
            self.unmount(self.mounts)

    def mount_tmpfs(self, path: str, size_bytes: int) -> None:
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", path], check=True)
        self.mounts.append(path)

    def unmount(self, paths: list[str]) -> None:
        for m in reversed(paths):
            subprocess.run(["umount", "-l", m], check=False)
            if m in self.mounts:
                self.mounts.remove(m)

    def host(self, name: str) -> str:
        return f"{self.subnet}.{10 + NODES.index(name)}"

    def url(self, name: str) -> str:
        return f"http://{self.host(name)}:{self.api_port}"

    def client(self, name: str, timeout_s: float = 3.0) -> tc.Client:
        return tc.Client(self.url(name), timeout_s=timeout_s, rate_limit_wait_s=5.0)

    def name_of(self, key: bytes) -> str:
        return next((n for n, k in self.keys.items() if k == key), key.hex()[:8])

    @property
    def root_registrar_path(self) -> str:
        return os.path.join(self.dir, "root_registrar.json")

    def status(self, name: str, timeout_s: float = 1.0) -> dict | None:
        try:
            return self.client(name, timeout_s).status()
        except (OSError, tc.ApiError, ValueError):
            return None

    def snapshot(self) -> dict[str, dict | None]:
        with ThreadPoolExecutor(len(NODES)) as ex:
            return dict(zip(NODES, ex.map(self.status, NODES)))


def mount_points() -> list[str]:
    with open("/proc/mounts") as f:
        return [line.split()[1].encode().decode("unicode_escape") for line in f]


def heights_of(snap: dict[str, dict | None]) -> dict[str, int | None]:
    return {n: (s["height"] if s else None) for n, s in snap.items()}


def majority_height(snap: dict[str, dict | None]) -> int | None:
    """The height that at least 3 of the 4 validators have reached (None if 2 do not answer)."""
    hs = sorted((snap[n]["height"] for n in VALIDATORS if snap[n]), reverse=True)
    return hs[2] if len(hs) >= 3 else None


# ------------------------------------------------------------------------------------------------
# History and load


@dataclass
class TxRecord:
    tx: tc.SignedTx
    kind: int
    sender: bytes
    content: bytes | None
    submitted_at: float
    dup_group: bytes | None = None       # content hash of a deliberate duplicate pair
    committed_at: float | None = None
    place: tuple[int, int] | None = None  # (height, index) as first reported
    reported_by: dict[str, tuple[int, int]] = field(default_factory=dict)
    rejected: dict[str, dict] = field(default_factory=dict)  # node -> error


class History:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.txs: dict[bytes, TxRecord] = {}
        self.anomalies: list[str] = []   # seen at observation time (e.g. two places for one tx)

    def add(self, rec: TxRecord) -> None:
        with self.lock:
            self.txs.setdefault(rec.tx.tx_hash, rec)

    def committed(self, txh: bytes, node: str, height: int, index: int, at: float) -> None:
        with self.lock:
            rec = self.txs[txh]
            place = (height, index)
            for other, p in rec.reported_by.items():
                if p != place:
                    self.anomalies.append(f"tx {txh.hex()} reported committed at {p} by {other} "
                                          f"and at {place} by {node}")
            rec.reported_by[node] = place
            if rec.rejected:
                self.anomalies.append(f"tx {txh.hex()} reported committed by {node} and rejected "
                                      f"by {sorted(rec.rejected)}: {rec.rejected}")
            if rec.place is None:
                rec.place, rec.committed_at = place, at

    def rejected(self, txh: bytes, node: str, error: dict) -> None:
        with self.lock:
            rec = self.txs[txh]
            rec.rejected[node] = error
            if rec.reported_by:
                self.anomalies.append(f"tx {txh.hex()} rejected by {node} ({error}) after being "
                                      f"reported committed by {sorted(rec.reported_by)}")

    def committed_records(self) -> list[TxRecord]:
        with self.lock:
            return [r for r in self.txs.values() if r.place is not None]

    def all_records(self) -> list[TxRecord]:
        with self.lock:
            return list(self.txs.values())


class ChainShim:
    """What totem_net.Actor needs of a network: the genesis and its hash."""

    def __init__(self, cluster: Cluster):
        self.genesis = cluster.genesis
        self.genesis_hash = cluster.genesis_hash


class Load:
    """A background load: `workers` identities each sending one RegisterWork at a time (a tx is
    followed to committed or rejected before the identity's next), paced so the total offered rate
    is at most `rate` tx/s, spread over the validators not marked avoided; plus one pair of
    identities registering the same content at once through two validators every `dup_every_s`.
    A tx not committed after `resubmit_s` is submitted again (the same signed tx) to another
    validator, as the API says to."""

    POLL_S = 0.1

    def __init__(self, cluster: Cluster, history: History, rng: random.Random, *, rate: float = 30,
                 workers: int = 12, dup_every_s: float = 2.0, resubmit_s: float = 8.0):
        self.cluster = cluster
        self.history = history
        self.rng = rng
        self.rng_lock = threading.Lock()
        self.rate = rate
        self.workers = workers
        self.dup_every_s = dup_every_s
        self.resubmit_s = resubmit_s
        self.avoid: set[str] = set()
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.actors: list[Actor] = []
        self.dup_actors: list[Actor] = []
        self.errors: list[str] = []
        self.counter = 0
        self.counter_lock = threading.Lock()
        self.label = f"{os.getpid()}-{time.time_ns()}"

    # -- setup: root registrar → AddRegistrar → RegisterIdentity for every load identity

    def setup(self) -> None:
        shim = ChainShim(self.cluster)
        c0 = self.cluster.client("node0", timeout_s=10)
        root = Actor("root", tc.read_key_file(self.cluster.root_registrar_path, strict=False), shim)
        root.sync(c0)
        with self.rng_lock:
            seeds = [self.rng.randbytes(32) for _ in range(self.workers + 3)]
        registrar = Actor("campaign-registrar", tc.KeyPair(seeds[0]), shim)
        self.registrar_key = registrar.public_key
        add = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": registrar.public_key, "name": "campaign registrar"})
        self._commit_now(c0, [add])
        self.actors = [Actor(f"load{i}", tc.KeyPair(seeds[1 + i]), shim) for i in range(self.workers)]
        self.dup_actors = [Actor(f"dup{i}", tc.KeyPair(seeds[1 + self.workers + i]), shim) for i in range(2)]
        idents = [registrar.tx(tc.KIND_REGISTER_IDENTITY, {
            "subject": a.public_key, "displayName": a.name, "role": tc.ROLE_PHOTOGRAPHER,
            "kycDigest": tc.sha256(a.name.encode())}) for a in self.actors + self.dup_actors]
        self._commit_now(c0, idents)

    def _commit_now(self, client: tc.Client, txs: list[tc.SignedTx]) -> None:
        now = time.monotonic()
        for t in txs:
            self.history.add(TxRecord(t, t.tx.kind, t.tx.sender, None, now))
        results = client.submit(txs)
        for t, r in zip(txs, results):
            if not r.get("accepted"):
                raise RuntimeError(f"setup tx {tc.KIND_NAMES[t.tx.kind]} refused: {r}")
        for t in txs:
            deadline = time.monotonic() + scaled(60)
            while True:
                resp = client.tx_status(t.tx_hash)
                if resp.status == 200 and resp.json.get("status") == "committed":
                    self.history.committed(t.tx_hash, "node0", resp.json["height"], resp.json["index"],
                                           time.monotonic())
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"setup tx {t.tx_hash.hex()} not committed: {resp.describe()}")
                time.sleep(0.1)

    # -- running

    def start(self) -> None:
        for i, a in enumerate(self.actors):
            th = threading.Thread(target=self._guard, args=(self._worker, a), name=f"load{i}", daemon=True)
            th.start()
            self.threads.append(th)
        th = threading.Thread(target=self._guard, args=(self._dup_worker,), name="dup", daemon=True)
        th.start()
        self.threads.append(th)

    def stop(self, timeout_s: float = 60) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + scaled(timeout_s)
        for th in self.threads:
            th.join(max(0.1, deadline - time.monotonic()))
        alive = [th.name for th in self.threads if th.is_alive()]
        if alive:
            self.errors.append(f"load threads still running after stop: {alive}")

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - reported by the campaign, never silent
            self.errors.append(f"{threading.current_thread().name}: {e!r}")
            log(f"load thread {threading.current_thread().name} died: {e!r}")

    def _pick(self, exclude: tuple[str, ...] = ()) -> str:
        choices = [n for n in VALIDATORS if n not in self.avoid and n not in exclude] or \
                  [n for n in VALIDATORS if n not in self.avoid] or VALIDATORS
        with self.rng_lock:
            return self.rng.choice(choices)

    def _content(self) -> bytes:
        with self.counter_lock:
            self.counter += 1
            n = self.counter
        return tc.sha256(f"campaign/{self.label}/{n}".encode())

    def _worker(self, actor: Actor) -> None:
        period = self.workers / self.rate
        next_start = time.monotonic()
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now < next_start:
                self.stop_event.wait(next_start - now)
                continue
            next_start = max(now, next_start + period)
            content = self._content()
            tx = actor.tx(tc.KIND_REGISTER_WORK, tc.work(content, f"{actor.name} work"))
            self.history.add(TxRecord(tx, tx.tx.kind, tx.tx.sender, content, time.monotonic()))
            outcome = self._follow(tx)
            if outcome != "committed":
                self._after_failure(actor, tx, outcome)

    def _after_failure(self, actor: Actor, tx: tc.SignedTx, outcome: str) -> None:
        if outcome in ("rejected", "refused"):
            # Its nonce was not used: the next tx takes it; after a nonce error, the next nonce
            # comes from committed state.
            actor.next_nonce = tx.tx.nonce
            with self.history.lock:
                errors = list(self.history.txs[tx.tx_hash].rejected.values())
            if any("nonce" in str(e.get("code")) for e in errors):
                for _ in range(50):
                    try:
                        actor.sync(self.cluster.client(self._pick()))
                        break
                    except (OSError, tc.ApiError, ValueError, http.client.HTTPException):
                        time.sleep(0.2)
        elif outcome == "abandoned":  # only at stop: leave it
            actor.next_nonce = tx.tx.nonce + 1

    def _dup_worker(self) -> None:
        a, b = self.dup_actors
        while not self.stop_event.wait(self.dup_every_s):
            content = self._content()
            ta = a.tx(tc.KIND_REGISTER_WORK, tc.work(content, "contested (dup0)"))
            tb = b.tx(tc.KIND_REGISTER_WORK, tc.work(content, "contested (dup1)"))
            now = time.monotonic()
            for t in (ta, tb):
                self.history.add(TxRecord(t, t.tx.kind, t.tx.sender, content, now, dup_group=content))
            na = self._pick()
            nb = self._pick(exclude=(na,))
            results: dict[str, str] = {}
            ths = [threading.Thread(target=lambda t=t, n=n, k=k: results.__setitem__(k, self._follow(t, n)))
                   for t, n, k in ((ta, na, "a"), (tb, nb, "b"))]
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            for actor, t, k in ((a, ta, "a"), (b, tb, "b")):
                if results.get(k) != "committed":
                    self._after_failure(actor, t, results.get(k, "abandoned"))

    def _follow(self, tx: tc.SignedTx, node: str | None = None) -> str:
        """Submit `tx` and follow it to committed / rejected / refused; resubmits as the API says.
        Returns the outcome; 'abandoned' only after stop was asked and 30 s passed."""
        h = tx.tx_hash
        node = node or self._pick()
        submitted = False
        accepted_at: str | None = None  # a node that accepted it: it may still commit from there
        last_submit = 0.0
        stop_deadline = None
        while True:
            now = time.monotonic()
            if self.stop_event.is_set():
                stop_deadline = stop_deadline or now + scaled(30)
                if now > stop_deadline:
                    return "abandoned"
            if not submitted or now - last_submit > self.resubmit_s:
                if submitted:
                    node = self._pick(exclude=(node,))
                try:
                    [res] = self.cluster.client(node).submit([tx])
                    last_submit = time.monotonic()
                    submitted = True
                    if res.get("accepted"):
                        accepted_at = node
                    else:
                        code = (res.get("error") or {}).get("code")
                        if accepted_at is not None and accepted_at != node:
                            # Refused on a resubmission (e.g. conflicting_nonce: this node holds
                            # another tx under the nonce) after another node accepted it: not
                            # final, it may still commit; follow it where it was accepted.
                            node = accepted_at
                            continue
                        if code == "work_already_registered" or "nonce" in str(code):
                            self.history.rejected(h, node, {"atSubmission": True, **(res.get("error") or {})})
                            return "refused"
                        # e.g. a full mempool: try again a bit later
                        last_submit = time.monotonic() - self.resubmit_s + 1.0
                except (OSError, tc.ApiError, ValueError, http.client.HTTPException):
                    node = self._pick(exclude=(node,))
                    time.sleep(self.POLL_S)
                    continue
            time.sleep(self.POLL_S)
            try:
                resp = self.cluster.client(node).tx_status(h)
            except (OSError, tc.ApiError, ValueError, http.client.HTTPException):
                node = self._pick(exclude=(node,))
                submitted = False  # resubmit there (safe: a duplicate is answered as such)
                continue
            if resp.status == 404:
                submitted = False  # lost (e.g. the node restarted): submit again
                continue
            st = resp.json.get("status")
            if st == "committed":
                self.history.committed(h, node, resp.json["height"], resp.json["index"], time.monotonic())
                return "committed"
            if st == "rejected":
                self.history.rejected(h, node, resp.json.get("error") or {})
                return "rejected"


# ------------------------------------------------------------------------------------------------
# The checker


class Checker:
    """Safety over the whole history; see the module docstring. Violations are collected as text."""

    def __init__(self, cluster: Cluster, history: History, rng: random.Random):
        self.cluster = cluster
        self.history = history
        self.rng = rng
        self.checked_to = 0
        self.violations: list[str] = []
        # Per height, as every node agreed: (proposer, header view, highest commit-certificate view
        # any node holds). What the leader rotation and the view-change count are read from.
        self.chain: dict[int, tuple[bytes, int, int]] = {}
        # A node started by state sync from the checkpoint of height H holds no block and no tx of
        # heights up to H: there it must answer 404 `pruned_below` (blocks) and `tx_not_found`
        # naming the state sync (txs), and the chain is compared among the nodes that hold it.
        self.synced_from: dict[str, int] = {}

    def _fetch_blocks(self, node: str, heights: range) -> dict[int, dict]:
        host, port = self.cluster.url(node).removeprefix("http://").split(":")
        out: dict[int, dict] = {}
        conn = None
        for h in heights:
            for attempt in range(5):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(host, int(port), timeout=10)
                    conn.request("GET", f"/v1/blocks/{h}", headers={"Accept": "application/json"})
                    r = conn.getresponse()
                    body = r.read()
                    if r.status == 429:
                        time.sleep(0.2)
                        continue
                    if r.status == 200:
                        out[h] = json.loads(body)
                    else:
                        try:
                            code = json.loads(body)["error"]["code"]
                        except (ValueError, KeyError, TypeError):
                            code = None
                        out[h] = {"error": r.status, "code": code}
                    break
                except (OSError, http.client.HTTPException, ValueError) as e:
                    if conn is not None:
                        conn.close()
                    conn = None
                    if attempt == 4:
                        out[h] = {"error": repr(e)}
                    time.sleep(0.2)
        if conn is not None:
            conn.close()
        return out

    def check(self, final: bool = False) -> dict:
        """Checks heights (all when `final`, else those not checked yet) up to the lowest tip, and
        every recorded tx and duplicate registration there. Returns a summary."""
        t0 = time.monotonic()
        snap = self.cluster.snapshot()
        missing = [n for n, s in snap.items() if s is None]
        if missing:
            self.violations.append(f"nodes not answering at the check: {missing}")
        tips = {n: s["height"] for n, s in snap.items() if s}
        common = min(tips.values()) if tips else 0
        start = 1 if final else self.checked_to + 1
        heights = range(start, common + 1)
        nodes = [n for n in NODES if n in tips]
        with ThreadPoolExecutor(len(nodes)) as ex:
            per_node = dict(zip(nodes, ex.map(lambda n: self._fetch_blocks(n, heights), nodes)))
        v = self.violations
        n_before = len(v)
        blocks: dict[int, tuple[str, tc.Header, list[str]]] = {}
        prev_hash = None
        pruned_answers = 0
        for h in heights:
            # A state-synced node at or below its checkpoint: it says it does not hold the block.
            for n in nodes:
                if h <= self.synced_from.get(n, 0):
                    a = per_node[n].get(h, {})
                    if (a.get("error"), a.get("code")) != (404, "pruned_below"):
                        v.append(f"height {h}: {n}, state-synced from the checkpoint of height "
                                 f"{self.synced_from[n]}, answers {a.get('error') or 200} "
                                 f"{a.get('code') or a.get('blockHash')}, not 404 pruned_below")
                    pruned_answers += 1
            holders = [n for n in nodes if h > self.synced_from.get(n, 0)]
            answers = {n: per_node[n].get(h, {}) for n in holders}
            hashes = {n: a.get("blockHash") for n, a in answers.items()}
            if None in hashes.values() or len(set(hashes.values())) != 1:
                v.append(f"height {h}: block hashes differ or missing: {hashes} "
                         f"{ {n: a.get('error') for n, a in answers.items() if 'error' in a} }")
                prev_hash = None
                continue
            first = answers[holders[0]]
            try:
                headers = {n: tc.Header.decode(base64.b64decode(a["header"])) for n, a in answers.items()}
            except (tc.DecodeError, KeyError, ValueError) as e:
                v.append(f"height {h}: header does not decode: {e!r}")
                continue
            hdr = headers[holders[0]]
            roots = {n: hd.state_root.hex() for n, hd in headers.items()}
            if len(set(roots.values())) != 1:
                v.append(f"height {h}: stateRoot differs: {roots}")
            if hdr.block_hash.hex() != first["blockHash"] or hdr.height != h:
                v.append(f"height {h}: header hash/height do not match the answer")
            if prev_hash is not None and hdr.parent_hash.hex() != prev_hash:
                v.append(f"height {h}: parentHash {hdr.parent_hash.hex()} is not block {h - 1}'s {prev_hash}")
            txl = {n: tuple(a.get("txHashes", ())) for n, a in answers.items()}
            if len(set(txl.values())) != 1:
                v.append(f"height {h}: txHashes differ between nodes")
            blocks[h] = (first["blockHash"], hdr, list(first.get("txHashes", ())))
            commit_view = max((a.get("commit") or {}).get("view", 0) for a in answers.values())
            self.chain[h] = (hdr.proposer, hdr.view, commit_view)
            prev_hash = first["blockHash"]

        # Every tx reported committed, at its reported place, in the chain of every node.
        records = self.history.committed_records()
        in_range = [r for r in records if start <= r.place[0] <= common]
        lost = 0
        for r in in_range:
            hgt, idx = r.place
            if hgt not in blocks:
                lost += 1  # that height's disagreement is reported above
                continue
            txs = blocks[hgt][2]
            if idx >= len(txs) or txs[idx] != r.tx.tx_hash.hex():
                lost += 1
                v.append(f"tx {r.tx.tx_hash.hex()} reported committed at {r.place} by "
                         f"{sorted(r.reported_by)} is not there in the final chain")
        if final:
            beyond = [r for r in records if r.place[0] > common]
            lost += len(beyond)
            if beyond:
                v.append(f"{len(beyond)} txs reported committed above the lowest tip {common} (tips {tips}), e.g. "
                         f"{beyond[0].tx.tx_hash.hex()} at {beyond[0].place}")
        with self.history.lock:
            for a in self.history.anomalies:
                if a not in v:
                    v.append(a)

        # The tx index of every node agrees (all duplicate pairs plus a sample of the others).
        dup = [r for r in in_range if r.dup_group is not None]
        others = [r for r in in_range if r.dup_group is None]
        sample = dup + self.rng.sample(others, min(len(others), 200 if final else 40))
        self._check_tx_index(sample, nodes)
        # First registration wins.
        works_checked = self._check_works(records, start, common, nodes, final)
        self.checked_to = max(self.checked_to, common)
        summary = {"heights": f"{start}..{common}", "heightsChecked": len(heights),
                   "prunedBelowAnswers": pruned_answers,
                   "txsInRange": len(in_range), "txsLost": lost, "txsReportedCommitted": len(records),
                   "txIndexSample": len(sample), "worksChecked": works_checked,
                   "newViolations": len(v) - n_before, "seconds": round(time.monotonic() - t0, 1)}
        return summary

    def _check_tx_index(self, sample: list[TxRecord], nodes: list[str]) -> None:
        def one(args):
            node, r = args
            try:
                resp = self.cluster.client(node, 5).tx_status(r.tx.tx_hash)
            except (OSError, tc.ApiError, ValueError) as e:
                return f"{node}: GET /v1/txs/{r.tx.tx_hash.hex()} failed: {e!r}"
            j = resp.json or {}
            if r.place[0] <= self.synced_from.get(node, 0):
                # Below its checkpoint: not in its index, and the answer says why.
                err = j.get("error") or {}
                if resp.status != 404 or err.get("code") != "tx_not_found" or "state sync" not in err.get("message", ""):
                    return (f"{node}: tx {r.tx.tx_hash.hex()} committed at {r.place}, at or below its state "
                            f"sync's checkpoint {self.synced_from[node]}, answers {resp.status} {j}")
                return None
            if resp.status != 200 or j.get("status") != "committed" or (j.get("height"), j.get("index")) != r.place:
                return (f"{node}: tx {r.tx.tx_hash.hex()} reported committed at {r.place} answers "
                        f"{resp.status} {j}")
            return None
        with ThreadPoolExecutor(8) as ex:
            for problem in ex.map(one, [(n, r) for r in sample for n in nodes]):
                if problem:
                    self.violations.append(problem)

    def _check_works(self, records, start, common, nodes, final) -> int:
        by_content: dict[bytes, list[TxRecord]] = {}
        for r in records:
            if r.kind == tc.KIND_REGISTER_WORK and r.content is not None:
                by_content.setdefault(r.content, []).append(r)
        todo = []
        for content, recs in by_content.items():
            winner = min(recs, key=lambda r: r.place)
            if not (start <= winner.place[0] <= common):
                continue
            if len(recs) > 1:
                self.violations.append(
                    f"content {content.hex()}: {len(recs)} registrations committed: "
                    + ", ".join(f"{r.tx.tx_hash.hex()[:16]} by {r.sender.hex()[:16]} at {r.place}" for r in recs))
            if recs[0].dup_group is not None or final or self.rng.random() < 0.05:
                todo.append((content, winner))

        def one(args):
            node, content, w = args
            try:
                resp = self.cluster.client(node, 5).work(content)
            except (OSError, tc.ApiError, ValueError) as e:
                return f"{node}: GET /v1/works/{content.hex()} failed: {e!r}"
            j = resp.json or {}
            want = (w.sender.hex(), w.place[0], w.tx.tx_hash.hex())
            got = (j.get("registrant"), j.get("height"), j.get("txHash"))
            if resp.status != 200 or got != want:
                return f"{node}: work {content.hex()}: first committed registration {want}, node says {resp.status} {got}"
            return None
        if final and len(todo) > 300:  # every duplicate pair, and a sample of the rest
            dups = [t for t in todo if t[1].dup_group is not None]
            rest = [t for t in todo if t[1].dup_group is None]
            todo = dups + self.rng.sample(rest, 300)
        with ThreadPoolExecutor(8) as ex:
            for problem in ex.map(one, [(n, c, w) for c, w in todo for n in nodes]):
                if problem:
                    self.violations.append(problem)
        return len(todo)


# ------------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Scenario:
    name: str
    promise: str
    liveness_target: bool = False   # issue 13's 1.5x / 3x target applies
    expect_stop: bool = False       # the chain must not advance during the fault
    # One validator cannot lead for the fault: the leader rotation benches it, so after the first
    # 10 heights view changes come only at its probe turns (docs/consensus.md, "Leader rotation").
    one_down: bool = False
    clock_offset_s: int = 0         # the victim restarted under libfaketime with this offset


def clock_scenario(name: str, offset_s: int, promise: str) -> Scenario:
    return Scenario(name, f"one validator restarted with its clock {describe_offset(offset_s)} "
                    f"(libfaketime): {promise}; it warns 'clock seems off'; the others keep "
                    f"committing; restarted with a true clock at heal", liveness_target=True,
                    one_down=True, clock_offset_s=offset_s)


def describe_offset(offset_s: int) -> str:
    amount = f"{abs(offset_s) // 3600} h" if abs(offset_s) % 3600 == 0 else f"{abs(offset_s)} s"
    return f"{amount} {'ahead' if offset_s > 0 else 'behind'}"


SCENARIOS = {
    "healthy": Scenario("healthy", "baseline: no fault"),
    "isolate_one": Scenario("isolate_one", "one validator isolated: the other 3 keep committing; "
                            "it catches up after heal", liveness_target=True, one_down=True),
    "isolate_leader": Scenario("isolate_leader", "the validator leading the next height isolated: "
                               "a view change, then the other 3 keep committing", liveness_target=True,
                               one_down=True),
    "split": Scenario("split", "2|2 split of the validators: no block commits (quorum is 3), the "
                      "chain resumes after heal", expect_stop=True),
    "flap": Scenario("flap", "one validator isolated and healed every 3 s: the chain keeps "
                     "committing, no node needs a manual step"),
    "loss": Scenario("loss", "5% random loss on every link between nodes: the chain keeps committing"),
    "limit": Scenario("limit", "one validator behind 1 Mbit/s each way: the others keep committing",
                      liveness_target=True),
    "kill": Scenario("kill", "kill -9 of one validator under load, `start` after the window: it "
                     "rejoins by itself", liveness_target=True, one_down=True),
    "sigstop": Scenario("sigstop", "SIGSTOP of one validator under load, SIGCONT after the window",
                        one_down=True),
    "clock_ahead": clock_scenario("clock_ahead", 30, "its proposals are refused (block_clock_drift)"),
    "clock_behind": clock_scenario(
        "clock_behind", -30, "its proposals carry its parent's time + 1 ms (a block's time never goes "
        "back), so the others accept them; it refuses theirs (block_clock_drift) and follows by "
        "their commit certificates"),
    "clock_far_ahead": clock_scenario("clock_far_ahead", 3600, "its proposals are refused (block_clock_drift)"),
    "disk_full": Scenario("disk_full", "one validator's data directory on a small tmpfs that its own "
                          "writes fill under load: it stops with an error naming the full disk "
                          "(path, bytes free) and leaves its store intact; the others keep committing; "
                          "with the space freed and the node started it rejoins by itself",
                          one_down=True),
    "backup_restore": Scenario("backup_restore", "a hot backup of one validator taken under load "
                               "(`totemd backup` while it commits) verifies; the validator is killed and "
                               "the backup restored over its home (`backup restore --replace`, which "
                               "keeps its own newer signing state); started, it rejoins by itself and "
                               "signs again", one_down=True),
    "wipe": Scenario("wipe", "one validator killed and its data directory deleted (key, config and "
                     "genesis kept), then started: it fences itself above the height its peers report, "
                     "signs nothing up to there (no commit of it in any certificate of those heights), "
                     "catches up and signs again, with no manual step", one_down=True),
    "join": Scenario("join", "the observer joins the validator set and leaves it under load, by the "
                     "operators' commands on their own hosts (`validator join` on its host, `validator vote "
                     "add` on 3 validators'): every node lists it, the validators dial it at the address on "
                     "the chain (it is in no persistent_peers), its /readyz is ready, its commits are in the "
                     "certificates from the height the change is in force; voted out (`vote remove`, 4 of 5), "
                     "no certificate holds its commit from the removal's height and the original 4 commit on; "
                     "with one validator stopped, removing a live one is refused naming the counts, by "
                     "`validator vote` and by `tx validator-change` alike; it is an observer again at heal"),
    "state_sync": Scenario("state_sync", "the observer stopped, its data directory deleted (key, config "
                           "and genesis kept) and started with `--state-sync` on its host: it fetches the "
                           "newest certified checkpoint's snapshot in chunks from the validators over the "
                           "namespace addresses (/readyz 503 syncing); killed with kill -9 midway through "
                           "the chunks and started again, it resumes with the chunks it had and fetches only "
                           "the others; then it follows the chain to the tip, /readyz ready, with the "
                           "validators' stateRoot above the checkpoint, and answers 404 pruned_below at or "
                           "below it (the checker holds it to that over the whole history)"),
    "damaged_store": Scenario("damaged_store", "a validator killed, its data.mdb damaged (every "
                              "record naming the campaign's registrar): the next start is refused "
                              "with 'refusing to start'; the operator moves the data directory away "
                              "and starts it, as the message says: it resyncs from its peers by itself",
                              one_down=True),
}
ALL = ["healthy", "isolate_one", "isolate_leader", "split", "flap", "loss", "limit", "kill", "sigstop",
       "clock_ahead", "clock_behind", "clock_far_ahead", "disk_full", "damaged_store", "backup_restore", "wipe",
       "state_sync", "join"]
# The faults of one validator, which the load stops sending to while they last.
ONE_VICTIM = ("isolate_one", "isolate_leader", "kill", "sigstop", "flap", "clock_ahead", "clock_behind",
              "clock_far_ahead", "disk_full", "damaged_store", "backup_restore", "wipe")


def flip_all(path: str, pattern: bytes, at: int) -> int:
    """Flips byte `at` of every occurrence of `pattern` in the file (as test_store_damage.py)."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    count, start = 0, 0
    while (i := data.find(pattern, start)) >= 0:
        data[i + at] ^= 0xFF
        count += 1
        start = i + 1
    with open(path, "wb") as f:
        f.write(data)
    return count


def libfaketime() -> str:
    """libfaketime.so.1: TOTEM_E2E_LIBFAKETIME, else Debian's path (as test_clock_skew.py)."""
    import glob
    env = os.environ.get("TOTEM_E2E_LIBFAKETIME")
    found = [env] if env else sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found or not os.path.isfile(found[0]):
        raise FileNotFoundError("libfaketime.so.1 not found (Debian: apt-get install libfaketime; "
                                "or set TOTEM_E2E_LIBFAKETIME)")
    return found[0]


def skew_env(seconds: int) -> list[str]:
    # As test_clock_skew.py: FAKETIME_SHARED names objects that do not exist, or libfaketime's own
    # setenv at load moves `environ` and totemd sees no arguments; monotonic time is not faked.
    missing = f"/totem_campaign_none_{os.getpid()}"
    return [f"LD_PRELOAD={libfaketime()}", f"FAKETIME={seconds:+d}s", "DONT_FAKE_MONOTONIC=1",
            f"FAKETIME_SHARED={missing} {missing}"]


# The leader rotation as docs/consensus.md states it (Sources/Consensus/LeaderRotation.swift), read
# from the proposers the chain records: at which of a validator's base turns it may fail.
ROTATION_WINDOW_TURNS = 512
ROTATION_PROBE_MISSED = (15, 63, 255)
# View changes in a steady window beyond the rotation's allowance that a busy machine may cause
# (a proposal late by a whole timeout); the CI test allows this many.
VIEW_CHANGE_SLACK = 2


def missed_turns(chain: dict[int, tuple[bytes, int, int]], key: bytes, index: int, n: int, height: int,
                 set_from: int = 1) -> int:
    """How many of the validator's base turns (the heights h with h mod n its index among the keys
    sorted) before `height` another validator proposed, newest first, in a row; over at most
    ROTATION_WINDOW_TURNS turns, and none before `set_from`, the first height of the set in force
    (as LeaderRotation: a new set's turns start afresh)."""
    turn = height - ((height - index) % n or n)
    lowest = max(1, set_from, height - ROTATION_WINDOW_TURNS * n)
    missed = 0
    while turn >= lowest and missed < ROTATION_WINDOW_TURNS and turn in chain and chain[turn][0] != key:
        missed += 1
        turn -= n
    return missed


def rotation_allowance(chain: dict[int, tuple[bytes, int, int]], keys: list[bytes], victim: bytes,
                       heights: range, set_from: int = 1) -> tuple[list[int], list[int]]:
    """The victim's base turns among `heights`, and those at which the rotation has it lead view 0
    (so a victim that is down costs a view change there): a turn after one it proposed (missed
    count 0) and its probes (missed count 15, 63, 255, or the whole window on one turn in 512)."""
    ordered = sorted(keys)
    n, index = len(ordered), ordered.index(victim)
    turns = [h for h in heights if h % n == index]
    allowed = []
    for h in turns:
        m = missed_turns(chain, victim, index, n, h, set_from)
        if m == 0 or m in ROTATION_PROBE_MISSED or (
                m == ROTATION_WINDOW_TURNS and (h // n) % ROTATION_WINDOW_TURNS == 0):
            allowed.append(h)
    return turns, allowed


# disk_full: the victim's data directory moves to a tmpfs of the data's size plus DISK_HEADROOM_BYTES
# (what the node writes for the rest of the campaign once the filler is gone); the filler then
# leaves DISK_MARGIN_BYTES free, which the node's own writes under load use up.
DISK_HEADROOM_BYTES = 256 << 20
DISK_MARGIN_BYTES = 256 << 10
DISK_FILL_CHUNK_BYTES = 1 << 20


def wait_for(predicate, timeout_s: float, interval_s: float = 0.25):
    """The first truthy value of `predicate` within `timeout_s`, else its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval_s)


def free_bytes(path: str) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill_leaving(path: str, margin: int) -> int:
    """Writes zeros to the file `path` until its file system has about `margin` bytes free;
    returns the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        while (room := free_bytes(os.path.dirname(path)) - margin) > 0:
            written += f.write(b"\0" * min(room, DISK_FILL_CHUNK_BYTES))
        os.fsync(f.fileno())
    return written


def tree_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


CI = ["healthy", "isolate_leader", "split", "kill", "sigstop"]


class ReadinessSampler(threading.Thread):
    """Polls a restarted node's `/readyz` every 0.1 s until it answers ready (then 1 s more) or the
    bound passes, recording each answer's status, reason codes and height with the validators'
    majority height read right after it."""

    def __init__(self, campaign: "Campaign", node: str, bound_s: float) -> None:
        super().__init__(daemon=True)
        self.campaign, self.node, self.bound_s = campaign, node, bound_s
        self.samples: list[dict] = []
        self.t0 = time.monotonic()
        self.start()

    def run(self) -> None:
        ready_at = None
        while time.monotonic() - self.t0 < self.bound_s:
            if ready_at is not None and time.monotonic() - ready_at > 1.0:
                return
            try:
                r = self.campaign.cluster.client(self.node, 3).request("GET", "/readyz")
            except (OSError, tc.ApiError, ValueError, http.client.HTTPException):
                time.sleep(0.1)
                continue
            body = r.json or {}
            validators = majority_height(self.campaign.cluster.snapshot()) if r.status == 200 else None
            self.samples.append({"s": round(time.monotonic() - self.t0, 1), "status": r.status,
                                 "codes": [x.get("code", "?") for x in body.get("reasons", ())],
                                 "height": body.get("height"), "validators": validators})
            if r.status == 200 and ready_at is None:
                ready_at = time.monotonic()
            time.sleep(0.1)

    def finish(self) -> list[dict]:
        self.join(timeout=self.bound_s + 10)
        return list(self.samples)


class Campaign:
    def __init__(self, cluster: Cluster, seed: int, *, rate: float = 30, workers: int = 12,
                 resume_bound_s: float = 30.0):
        self.cluster = cluster
        self.seed = seed
        self.rng = random.Random(seed)
        self.history = History()
        self.load = Load(cluster, self.history, random.Random(self.rng.randrange(2**32)),
                         rate=rate, workers=workers)
        self.checker = Checker(cluster, self.history, random.Random(self.rng.randrange(2**32)))
        self.resume_bound_s = resume_bound_s
        self.results: list[dict] = []
        self.baseline: dict | None = None
        self.failures: list[str] = []   # a resume bound or an expectation not met
        self.disk: str | None = None     # disk_full: the victim's tmpfs
        self.backup: str | None = None   # backup_restore: the victim's hot backup
        # The first height of the validator set in force (the original four's again after `join`).
        self.set_from = 1
        self.join: dict = {}             # join: what it saw, for the summary
        self.sync: dict = {}             # state_sync: what it saw, for the summary

    # -- measurements

    def window_stats(self, t_from: float, t_to: float) -> dict:
        recs = self.history.all_records()
        sub = [r for r in recs if t_from <= r.submitted_at < t_to and r.dup_group is None
               and r.kind == tc.KIND_REGISTER_WORK]
        lat = [r.committed_at - r.submitted_at for r in sub if r.committed_at is not None]
        done = [r for r in recs if r.committed_at is not None and t_from <= r.committed_at < t_to]
        span = max(0.001, t_to - t_from)
        return {"seconds": round(span, 1), "committedTxs": len(done),
                "txPerS": round(len(done) / span, 1), "submitted": len(sub),
                "p50Ms": round(1000 * percentile(lat, 50)) if lat else None,
                "p99Ms": round(1000 * percentile(lat, 99)) if lat else None}

    def wait_converged(self, what: str, timeout_s: float) -> tuple[float | None, dict]:
        """Seconds until every node answers, none is catching up and all heights are within 2 of
        each other (None if not within `timeout_s`), and the last snapshot."""
        t0 = time.monotonic()
        while True:
            snap = self.cluster.snapshot()
            hs = [s["height"] for s in snap.values() if s]
            if len(hs) == len(NODES) and not any(s["catchingUp"] for s in snap.values()) \
                    and max(hs) - min(hs) <= 2:
                return time.monotonic() - t0, snap
            if time.monotonic() - t0 > timeout_s:
                log(f"{what}: not converged after {timeout_s:.0f}s: {heights_of(snap)}")
                return None, snap
            time.sleep(0.1)

    def stop_node(self, node: str) -> None:
        """SIGTERM, as an operator's `systemctl stop` would; SIGKILL after 30 s (scaled)."""
        pid = self.node_pid(node)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + scaled(30)
            while self.node_pid(node) is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.node_pid(node) is not None:
                self.cluster.sh("kill", node)

    def node_pid(self, node: str) -> int | None:
        try:
            with open(os.path.join(self.cluster.dir, node, "node.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split()[2] == "Z":
                    return None
            return pid
        except (OSError, ValueError):
            return None

    def damage_store(self, victim: str) -> str:
        cs = self.cluster.sh
        cs("kill", victim)
        path = os.path.join(self.cluster.dir, victim, "data", "data.mdb")
        flipped = flip_all(path, self.load.registrar_key, 31)
        offset = self.log_size(victim)
        cs("start", victim)
        deadline = time.monotonic() + scaled(60)
        while self.node_pid(victim) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        exited = self.node_pid(victim) is None
        with open(os.path.join(self.cluster.dir, victim, "node.log"), "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        refused = "refusing to start" in text
        line = next((ln for ln in text.splitlines() if "refusing to start" in ln), "")
        if not (exited and refused):
            self.failures.append(f"damaged_store: {victim} with {flipped} damaged records "
                                 f"{'exited' if exited else 'kept running'} without 'refusing to start' "
                                 f"(log: {text[-600:]!r})")
        return (f" ({flipped} occurrences of the registrar key damaged; start "
                f"{'refused' if exited and refused else 'NOT refused'}: {line.strip()[:200]})")

    def log_size(self, node: str) -> int:
        try:
            return os.path.getsize(os.path.join(self.cluster.dir, node, "node.log"))
        except OSError:
            return 0

    def log_text(self, node: str, offset: int) -> str:
        try:
            with open(os.path.join(self.cluster.dir, node, "node.log"), "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_count(self, node: str, offset: int, needle: str) -> int:
        return self.log_text(node, offset).count(needle)

    # -- one scenario

    def run(self, name: str, duration_s: float) -> dict:
        sc = SCENARIOS[name]
        rng = random.Random(self.rng.randrange(2**32))
        conv, snap = self.wait_converged(f"before {name}", scaled(60))
        if conv is None:
            self.failures.append(f"{name}: the cluster was not converged before the scenario")
        victim = rng.choice(VALIDATORS)
        detail = ""
        if name in ONE_VICTIM:
            self.load.avoid = {victim}
        if name == "disk_full":
            # Preparation, not the fault: the victim restarted on its small disk, back at the tip.
            detail += self.disk_full_prepare(victim)
            _, snap = self.wait_converged(f"{victim} on its tmpfs", scaled(60))
        h0 = majority_height(snap) or 0
        cs = self.cluster.sh
        if name == "isolate_leader":
            keys = [self.cluster.keys[n] for n in VALIDATORS]
            base = self.cluster.name_of(tc.leader(keys, h0 + 1, 0))
            latest = self.cluster.client("node0").get_json("/v1/blocks/latest?limit=8")["blocks"]
            proposers = [self.cluster.name_of(bytes.fromhex(b["proposer"])) for b in latest]
            victim = base if base in proposers else proposers[0]
            self.load.avoid = {victim}
            detail = f" (base leader of height {h0 + 1}: {base}; proposers of the last 8 blocks: {proposers})"
        groups = None
        if name == "split":
            order = VALIDATORS[:]
            rng.shuffle(order)
            groups = (sorted(order[:2]), sorted(order[2:]))
            detail = f" ({','.join(groups[0])} | {','.join(groups[1])})"
        shown = {"healthy": "-", "split": "-", "loss": "all links", "join": JOINER,
                 "state_sync": SYNCER}.get(name, victim)
        log(f"--- {name}: victim {shown}{detail}, {duration_s:.0f} s, from height {h0}")
        log(f"    expect: {sc.promise}")
        log_offsets = {n: self.log_size(n) for n in VALIDATORS}
        t_fault = time.monotonic()
        if name in ("isolate_one", "isolate_leader"):
            cs("isolate", victim)
        elif name == "split":
            cs("partition", ",".join(groups[0]), ",".join(groups[1]))
        elif name == "loss":
            cs("loss", "5")
        elif name == "limit":
            cs("limit", victim, "1mbit")
        elif name == "kill":
            cs("kill", victim)
        elif name == "sigstop":
            cs("stop", victim)
        elif name == "damaged_store":
            detail += self.damage_store(victim)
        elif sc.clock_offset_s:
            cs("kill", victim)
            cs("start", victim, *skew_env(sc.clock_offset_s))
        elif name == "disk_full":
            detail += self.disk_full_fill(victim)
        elif name == "backup_restore":
            detail += self.take_backup(victim)
            cs("kill", victim)
        elif name == "wipe":
            cs("kill", victim)
            detail += self.wipe_data(victim)
        elif name == "join":
            self.join = {}
            detail += self.join_validator(victim, log_offsets)
        elif name == "state_sync":
            self.sync = {}
            detail += self.state_sync_start()
        during_fault = self.follow_fault(sc, victim, h0, t_fault, duration_s)
        # Heal.
        snap_end = during_fault["snapshot"]
        vheights_heal = {n: snap_end[n]["height"] for n in VALIDATORS if snap_end[n]}
        t_heal = time.monotonic()
        heal_offset = self.log_size(victim)
        if name in ("isolate_one", "isolate_leader", "split", "loss", "flap"):
            cs("heal")
        elif name == "limit":
            cs("unlimit", victim)
        elif name == "kill":
            cs("start", victim)
        elif name == "sigstop":
            cs("cont", victim)
        elif name == "damaged_store":
            # What the refusal says to do: move the data directory away (all of it: a data.mdb
            # moved alone leaves a signing state ahead of an empty store, which the node refuses).
            data = os.path.join(self.cluster.dir, victim, "data")
            aside = os.path.join(self.cluster.dir, victim, f"data.damaged-{int(time.time())}")
            os.rename(data, aside)
            log(f"    moved {victim}'s data directory to {aside}, starting it")
            cs("start", victim)
        elif sc.clock_offset_s:
            detail += self.clock_report(name, victim, sc.clock_offset_s, log_offsets)
            cs("kill", victim)
            cs("start", victim)
        elif name == "disk_full":
            detail += self.disk_full_heal(victim, log_offsets[victim], during_fault["victimExitedS"])
        elif name == "backup_restore":
            detail += self.restore_backup(victim)
            cs("start", victim)
            readiness = ReadinessSampler(self, victim, scaled(self.resume_bound_s) * 2)
        elif name == "wipe":
            cs("start", victim)
            readiness = ReadinessSampler(self, victim, scaled(self.resume_bound_s) * 2)
        elif name == "join":
            detail += self.leave_validator(victim)
            # The leave took a while and the chain went on meanwhile: resume is measured from its end.
            t_heal = time.monotonic()
            snap_end = self.cluster.snapshot()
            vheights_heal = {n: snap_end[n]["height"] for n in VALIDATORS if snap_end[n]}
        self.load.avoid = set()
        # Resume: height rises on 3 of 4 validators above what the highest had at heal.
        resume_s = None
        top_at_heal = max(vheights_heal.values(), default=0)
        while time.monotonic() - t_heal < scaled(self.resume_bound_s) * 2:
            s = self.cluster.snapshot()
            if sum(1 for n in VALIDATORS if s[n] and s[n]["height"] > top_at_heal) >= 3:
                resume_s = time.monotonic() - t_heal
                break
            time.sleep(0.1)
        conv_s, _ = self.wait_converged(f"after {name}", scaled(self.resume_bound_s) * 2)
        tip_s = None if conv_s is None else time.monotonic() - t_heal
        if name == "disk_full":
            detail += self.disk_full_rejoined(victim, heal_offset)
        if name in ("backup_restore", "wipe"):
            detail += self.signs_again(name, victim, heal_offset, top_at_heal)
            detail += self.judge_readiness(name, victim, readiness)
        if name == "state_sync":
            detail += self.state_sync_followed()
        check = self.checker.check()
        h_end = during_fault["heightEnd"]
        res = {"scenario": name, "victim": shown, "detail": detail.strip(), "durationS": duration_s,
               "heightStart": h0, "heightEnd": h_end, "heightsDuring": (h_end - h0) if h_end is not None else None,
               "windowAfter10Heights": during_fault["window"], "wholeFault": during_fault["whole"],
               "resumeS": None if resume_s is None else round(resume_s, 1),
               "allAtTipS": None if tip_s is None else round(tip_s, 1),
               "check": check, "flaps": during_fault["flaps"],
               "viewChanges": self.view_changes(victim if name in ONE_VICTIM else None, h0,
                                                during_fault["heightWindow"], h_end)}
        if name == "join":
            res["join"] = dict(self.join)
        if name == "state_sync":
            res["stateSync"] = dict(self.sync)
        self.judge(sc, res, during_fault, top_at_heal)
        self.results.append(res)
        return res

    def follow_fault(self, sc: Scenario, victim: str, h0: int, t_fault: float, duration_s: float) -> dict:
        """Follows heights until the fault's end (flapping the link for `flap`). The window of the
        liveness target starts once 10 more heights are committed on 3 of 4 validators."""
        cs = self.cluster.sh
        t_end = t_fault + duration_s
        t_window = h_window = None
        stop_from = stop_to = None
        victim_exited_s = None
        flaps = 0
        flap_next = t_fault + 3.0
        isolated = sc.name == "flap"
        if sc.name == "flap":
            cs("isolate", victim)
        while time.monotonic() < t_end or (sc.name == "disk_full" and victim_exited_s is None
                                               and time.monotonic() < t_fault + 3 * duration_s):
            now = time.monotonic()
            if sc.name == "flap" and now >= flap_next:
                cs("heal") if isolated else cs("isolate", victim)
                isolated = not isolated
                flaps += 1
                flap_next = now + 3.0
            if sc.name == "disk_full" and victim_exited_s is None and self.node_pid(victim) is None:
                victim_exited_s = now - t_fault
                # The others go on without it for a while: at least 10 s after it stopped.
                t_end = min(max(t_end, now + 10), t_fault + 3 * duration_s)
            s = self.cluster.snapshot()
            mh = majority_height(s)
            maxh = max((x["height"] for x in s.values() if x), default=None)
            if t_window is None and mh is not None and mh >= h0 + 10:
                t_window, h_window = time.monotonic(), mh
            if sc.expect_stop and now - t_fault >= 3.0 and maxh is not None:
                stop_from = maxh if stop_from is None else stop_from
                stop_to = maxh
            time.sleep(0.25)
        snap_end = self.cluster.snapshot()
        return {"snapshot": snap_end, "heightEnd": majority_height(snap_end), "heightWindow": h_window,
                "window": self.window_stats(t_window, time.monotonic()) if t_window else None,
                "whole": self.window_stats(t_fault, time.monotonic()),
                "stopFrom": stop_from, "stopTo": stop_to, "flaps": flaps, "victimExitedS": victim_exited_s}

    def judge(self, sc: Scenario, res: dict, during_fault: dict, top_at_heal: int) -> None:
        """Prints what the scenario saw against what it promised; records what was not met."""
        name, whole, during, check = sc.name, res["wholeFault"], res["windowAfter10Heights"], res["check"]
        saw = [res["detail"]] if res["detail"] and name not in ("isolate_leader", "split") else []
        if sc.expect_stop:
            stop_from, stop_to = during_fault["stopFrom"], during_fault["stopTo"]
            stopped = stop_from is not None and stop_to == stop_from
            res["stopped"] = stopped
            saw.append(f"height during the split (after 3 s): {stop_from} → {stop_to}"
                       f" ({'stopped' if stopped else 'DID NOT STOP'})")
            if not stopped:
                self.failures.append(f"{name}: the chain advanced during a 2|2 split ({stop_from} → {stop_to})")
        elif name != "healthy" and (res["heightsDuring"] or 0) < 10:
            self.failures.append(f"{name}: the others did not go on ({res['heightsDuring']} heights during the fault)")
        saw.append(f"{res['heightsDuring']} heights on 3 of 4 validators during the fault")
        saw.append(f"whole fault: {whole['txPerS']} tx/s, p50 {whole['p50Ms']} ms, p99 {whole['p99Ms']} ms")
        if during:
            saw.append(f"after the first 10 heights ({during['seconds']} s): {during['txPerS']} tx/s, "
                       f"p50 {during['p50Ms']} ms, p99 {during['p99Ms']} ms")
        elif name != "healthy":
            saw.append("fewer than 10 heights during the fault: no steady window")
        saw.append(self.judge_view_changes(sc, res["viewChanges"]))
        saw.append(f"resumed (3 of 4 validators above {top_at_heal}) {res['resumeS']} s after heal, "
                   f"every node at the tip, catchingUp false, {res['allAtTipS']} s after heal")
        saw.append(f"checker: heights {check['heights']}, {check['txsInRange']} txs reported committed "
                   f"there, {check['txsLost']} lost, {check['newViolations']} violations ({check['seconds']} s)")
        if name == "healthy":
            self.baseline = whole
        elif self.baseline and during and not sc.expect_stop:
            b = self.baseline
            ratios = {
                "throughput": (b["txPerS"] / during["txPerS"]) if during["txPerS"] else None,
                "p50": (during["p50Ms"] / b["p50Ms"]) if during["p50Ms"] and b["p50Ms"] else None,
                "p99": (during["p99Ms"] / b["p99Ms"]) if during["p99Ms"] and b["p99Ms"] else None}
            met = all(x is not None for x in ratios.values()) and ratios["throughput"] <= 1.5 \
                and ratios["p50"] <= 1.5 and ratios["p99"] <= 3.0
            res["vsHealthy"] = {k: None if x is None else round(x, 2) for k, x in ratios.items()}
            target = ""
            if sc.liveness_target:
                res["livenessTargetMet"] = met
                target = f": target (1.5x, 1.5x, 3x) {'met' if met else 'NOT met'}"
            saw.append(f"vs healthy: throughput {res['vsHealthy']['throughput']}x lower, p50 "
                       f"{res['vsHealthy']['p50']}x, p99 {res['vsHealthy']['p99']}x{target}")
        for line in saw:
            log(f"    saw: {line}")
        if name != "healthy":
            for key, label in (("resumeS", "resume"), ("allAtTipS", "every node at the tip")):
                if res[key] is None or res[key] > scaled(self.resume_bound_s):
                    self.failures.append(f"{name}: {label} took {res[key]} s (bound {scaled(self.resume_bound_s):g} s)")

    # -- the leader rotation, read from the chain

    def view_changes(self, victim: str | None, h0: int, h_window: int | None, h_end: int | None) -> dict:
        """The heights of the fault decided in a view above 0 (the header's or a commit
        certificate's view), and for a one-validator fault the rotation's allowance in the steady
        window (after the first 10 heights): the victim's base turns there, and those at which the
        rotation has it lead view 0 (see `rotation_allowance`)."""
        chain = self.checker.chain
        heights = range(h0 + 1, (h_end or h0) + 1)
        views = {h: max(chain[h][1], chain[h][2]) for h in heights if h in chain}
        changed = [(h, v) for h, v in views.items() if v > 0]
        out: dict = {"heights": len(heights), "atHeights": changed, "unknownHeights": len(heights) - len(views)}
        if victim is None or h_window is None or h_end is None:
            return out
        key = self.cluster.keys[victim]
        window = range(h_window + 1, h_end + 1)
        turns, allowed = rotation_allowance(chain, [self.cluster.keys[n] for n in VALIDATORS], key, window,
                                            self.set_from)
        out["window"] = {"from": window.start, "to": h_end, "victimTurns": len(turns), "allowedHeights": allowed,
                         "viewChanges": [h for h, _ in changed if h in window],
                         "victimProposed": sum(1 for h in window if h in chain and chain[h][0] == key)}
        return out

    def judge_view_changes(self, sc: Scenario, vc: dict) -> str:
        text = (f"view changes: {len(vc['atHeights'])} of {vc['heights']} heights"
                + (f" (height/view {', '.join(f'{h}/{v}' for h, v in vc['atHeights'][:12])}"
                   f"{' …' if len(vc['atHeights']) > 12 else ''})" if vc["atHeights"] else ""))
        w = vc.get("window")
        if w is None:
            return text
        seen, allowed = len(w["viewChanges"]), len(w["allowedHeights"])
        text += (f"; steady window {w['from']}..{w['to']}: the victim proposed {w['victimProposed']}; "
                 f"expected at most {allowed} (its first turn and probes, {w['allowedHeights'][:8]}, of its "
                 f"{w['victimTurns']} turns) + {VIEW_CHANGE_SLACK}, saw {seen} {w['viewChanges'][:12]}")
        if sc.one_down and seen > allowed + VIEW_CHANGE_SLACK:
            self.failures.append(f"{sc.name}: {seen} view changes in the steady window {w['from']}..{w['to']}, "
                                 f"the rotation allows {allowed} (+{VIEW_CHANGE_SLACK}): {w['viewChanges']}")
        # A clock ahead: none of its blocks may be committed (their time is off); behind: its
        # blocks carry the parent's time + 1 ms and are committed once it leads again (a probe).
        if sc.clock_offset_s > 0 and w["victimProposed"]:
            self.failures.append(f"{sc.name}: {w['victimProposed']} blocks proposed by the validator with "
                                 f"its clock {describe_offset(sc.clock_offset_s)} were committed")
        if sc.clock_offset_s < 0 and w["allowedHeights"] and not w["victimProposed"]:
            self.failures.append(f"{sc.name}: the validator with its clock behind led view 0 at "
                                 f"{w['allowedHeights'][:4]} and none of its blocks was committed")
        return text

    # -- clock and disk faults

    def clock_report(self, name: str, victim: str, offset_s: int, offsets: dict[str, int]) -> str:
        warned = self.log_count(victim, offsets[victim], "clock seems off")
        its_refusals = self.log_count(victim, offsets[victim], "block_clock_drift")
        refused = {n: self.log_count(n, offsets[n], "block_clock_drift") for n in VALIDATORS if n != victim}
        if warned < 1:
            self.failures.append(f"{name}: {victim} never logged that its clock seems off (faketime not in effect?)")
        return (f" (its log: 'clock seems off' x{warned}, it refused {its_refusals} proposals for "
                f"block_clock_drift; the others' block_clock_drift refusals: {refused})")

    def disk_full_prepare(self, victim: str) -> str:
        """Stops the victim (SIGTERM), moves its data directory to a tmpfs of its own (`data`
        becomes a link to it) and starts it again. Its data.mdb goes there compacted (`totemd
        backup` of the stopped node, which omits free pages): the free pages a store accumulates
        (each checkpoint's walk holds a read transaction, so the commits meanwhile take new pages)
        would let it commit for minutes without growing its file, and the fault is its writes
        filling the disk."""
        home = os.path.join(self.cluster.dir, victim)
        data = os.path.join(home, "data")
        self.stop_node(victim)
        compact = os.path.join(self.cluster.dir, f"compact-{victim}-{len(self.results)}")
        rc, out = self.totemd("backup", "--home", home, "--out", compact, host=victim)
        if rc != 0:
            self.failures.append(f"disk_full: `totemd backup` of the stopped {victim} exited {rc}: {out[-800:]}")
        compact_mdb = os.path.join(compact, "data.mdb")
        mdb = os.path.join(data, "data.mdb")
        used = tree_bytes(data) - os.path.getsize(mdb) + (os.path.getsize(compact_mdb) if rc == 0 else os.path.getsize(mdb))
        disk = os.path.join(home, f"disk-{len(self.cluster.mounts)}")
        self.cluster.mount_tmpfs(disk, used + DISK_HEADROOM_BYTES)
        shutil.copytree(data, os.path.join(disk, "data"), symlinks=True,
                        ignore=(lambda d, names: ["data.mdb"] if d == data and rc == 0 else []))
        if rc == 0:
            shutil.copy2(compact_mdb, os.path.join(disk, "data", "data.mdb"))  # its mode (0600) too
            shutil.rmtree(compact)
        if os.path.islink(data):
            os.remove(data)
        else:
            shutil.rmtree(data)
        os.symlink(os.path.join(disk, "data"), data)
        self.cluster.sh("start", victim)
        self.disk = disk
        log(f"    {victim}'s data ({used} bytes) moved to a tmpfs of {used + DISK_HEADROOM_BYTES} bytes at {disk}")
        return f" (data directory {used} bytes on a tmpfs of {used + DISK_HEADROOM_BYTES})"

    def disk_full_fill(self, victim: str) -> str:
        filler = os.path.join(self.disk, "filler")
        written = fill_leaving(filler, DISK_MARGIN_BYTES)
        return f"; filler of {written} bytes left {free_bytes(self.disk)} free"

    def disk_full_heal(self, victim: str, offset: int, exited_s: float | None) -> str:
        """Checks how the victim stopped, then frees the space and starts it (nothing else)."""
        text = self.log_text(victim, offset)
        home = os.path.join(self.cluster.dir, victim)
        named = [ln for ln in text.splitlines() if "disk full" in ln and home in ln
                 and re.search(r"\b\d+ bytes free of \d+", ln)]
        running = self.node_pid(victim) is not None
        free_at_heal = free_bytes(self.disk)
        if running:
            self.failures.append(f"disk_full: {victim} still ran at the end of the fault ({free_at_heal} bytes "
                                 f"free on its disk)")
        elif not named:
            self.failures.append(f"disk_full: {victim} stopped without an error naming its full disk: "
                                 f"{text[-800:]!r}")
        os.remove(os.path.join(self.disk, "filler"))
        self.cluster.sh("start", victim)
        how = (f"stopped {exited_s:.1f} s after the fill" if exited_s is not None else "DID NOT STOP")
        return f"; {how}, {free_at_heal} bytes free then; its error: {named[-1].strip()[:300] if named else '-'}"

    def disk_full_rejoined(self, victim: str, offset: int) -> str:
        """What the victim said when started again on the freed disk: it must not refuse."""
        text = self.log_text(victim, offset)
        notes = [ln.strip()[:200] for ln in text.splitlines()
                 if any(k in ln for k in ("refusing to start", "lost a record", "signing state may be lost",
                                          "corrupt", "store checked"))]
        if "refusing to start" in text or self.node_pid(victim) is None:
            self.failures.append(f"disk_full: {victim} did not start again on the freed disk: {text[-800:]!r}")
        return f"; started again: {notes}"

    # -- hot backup and restore, a wiped validator (issue 14, on the separate hosts)

    def totemd(self, *args: str, host: str | None = None, timeout_s: float = 120) -> tuple[int, str]:
        """Runs a totemd command, on a node's host (in its namespace) when `host` is given, as its
        operator would there (`backup restore` checks that the node's P2P address is free on that
        machine)."""
        prefix = ["ip", "netns", "exec", f"totem-{host}"] if host else []
        res = subprocess.run([*prefix, self.cluster.totemd, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=scaled(timeout_s), check=False)
        return res.returncode, res.stdout.decode("utf-8", "replace")

    def take_backup(self, victim: str) -> str:
        """`totemd backup` of the running victim on its host (as an operator's cron job would), then
        `backup verify` of the copy against the genesis file (anywhere: here on the test's host)."""
        home = os.path.join(self.cluster.dir, victim)
        out = os.path.join(self.cluster.dir, f"backup-{victim}-{len(self.results)}")
        rc, text = self.totemd("backup", "--home", home, "--out", out, host=victim)
        if rc != 0:
            self.failures.append(f"backup_restore: `totemd backup` of {victim} exited {rc}: {text[-800:]}")
            return " (backup FAILED)"
        m = re.search(r"at height (\d+)", text)
        rc, verified = self.totemd("backup", "verify", out, "--genesis", os.path.join(self.cluster.dir, "genesis.json"))
        if rc != 0 or "no problem found" not in verified:
            self.failures.append(f"backup_restore: the backup of {victim} did not verify: {verified[-800:]}")
        self.backup = out
        return f" (hot backup at height {m.group(1) if m else '?'}, verified: {rc == 0})"

    def restore_backup(self, victim: str) -> str:
        home = os.path.join(self.cluster.dir, victim)
        rc, text = self.totemd("backup", "restore", self.backup, "--home", home, "--replace", host=victim)
        if rc != 0:
            self.failures.append(f"backup_restore: the restore into {victim} exited {rc}: {text[-800:]}")
            return "; restore FAILED"
        kept = re.search(r"kept the home's own \(([^)]*)\)", text)
        if not kept:
            self.failures.append(f"backup_restore: the restore did not keep {victim}'s own newer signing state: "
                                 f"{text[-800:]}")
        return f"; restored, signing state: {kept.group(1) if kept else text.strip().splitlines()[-1][:200]}"

    def wipe_data(self, victim: str) -> str:
        """Deletes the node's data directory (and the tmpfs copy it links to after disk_full)."""
        data = os.path.join(self.cluster.dir, victim, "data")
        if os.path.islink(data):  # moved to a tmpfs by disk_full earlier: remove both
            target = os.path.realpath(data)
            os.remove(data)
            shutil.rmtree(target)
        else:
            shutil.rmtree(data)
        return " (data directory deleted; node_key.json, config.toml and genesis.json kept)"

    def signs_again(self, name: str, victim: str, offset: int, top_at_heal: int) -> str:
        """After the restart: the victim signs again (its signing state rises above the height at
        heal; for `wipe`, above F + 1, where the fence record itself stands); for `wipe`, it named
        its fence F and no certificate of a height up to F holds its commit (it may have voted at
        those heights before it lost its records)."""
        data = os.path.join(self.cluster.dir, victim, "data")
        fence = None
        if name == "wipe":
            found = wait_for(lambda: re.search(r"fenced at height (\d+)", self.log_text(victim, offset)),
                             scaled(self.resume_bound_s))
            if not found:
                self.failures.append(f"wipe: {victim} did not say where it fenced itself: "
                                     f"{self.log_text(victim, offset)[-800:]!r}")
                return "; NO FENCE in its log"
            fence = int(found.group(1))
        floor = top_at_heal + 2 if fence is None else fence + 1

        def height() -> int:
            try:
                return totem_net.signing_height(data)
            except OSError:
                return 0
        wait_for(lambda: height() > floor, scaled(self.resume_bound_s))
        signed = height()
        if signed <= floor:
            self.failures.append(f"{name}: {victim} did not sign again after its restart (signing state at "
                                 f"height {signed}, needed above {floor})")
        if fence is None:
            return f"; signs again (signing state at height {signed})"
        if fence <= top_at_heal:
            self.failures.append(f"wipe: {victim}'s fence {fence} is not above the height {top_at_heal} at heal")
        key = self.cluster.keys[victim].hex()
        client = self.cluster.client(next(n for n in VALIDATORS if n != victim))
        contradicting = []
        for h in range(top_at_heal + 1, fence + 1):
            block = client.get_json(f"/v1/blocks/{h}")
            if key in [sig["validator"] for sig in block["commit"]["signatures"]]:
                contradicting.append(h)
        if contradicting:
            self.failures.append(f"wipe: {victim} signed commits at heights {contradicting}, at or below its fence {fence}")
        return f"; fenced at height {fence} (heights {top_at_heal + 1}…{fence}: no commit of it), signs again at {signed}"

    # -- a validator joins and leaves (issue 14, on the separate hosts)

    def home(self, node: str) -> str:
        return os.path.join(self.cluster.dir, node)

    def set_role(self, node: str, role: str) -> None:
        """Sets `role` in the node's config.toml (the one role line `totemd testnet` writes)."""
        path = os.path.join(self.home(node), "config.toml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        text, n = re.subn(r'(?m)^role = "(observer|validator)"$', f'role = "{role}"', text)
        if n != 1:
            raise RuntimeError(f"{path}: not one role line ({n})")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def persistent_peers_of(self, node: str) -> str:
        with open(os.path.join(self.home(node), "config.toml"), encoding="utf-8") as f:
            return next((ln for ln in f if ln.startswith("persistent_peers")), "")

    def api_json(self, node: str, path: str) -> dict | None:
        try:
            return self.cluster.client(node, 3).get_json(path)
        except (OSError, tc.ApiError, ValueError, http.client.HTTPException):
            return None

    def set_keys(self, node: str) -> set[str] | None:
        """The keys of the validator set in force, as `node` says (None if it does not answer)."""
        v = self.api_json(node, "/v1/validators")
        return None if v is None else {m["publicKey"] for m in v["validators"]}

    def set_from_height(self, node: str, keys: set[str]) -> int | None:
        """The first height of the newest validator set of exactly `keys` that `node` knows, in
        force (`history`) or adopted and not yet in force (`adopted`)."""
        v = self.api_json(node, "/v1/validators") or {}
        sets = [(e["fromHeight"], set(e["validators"])) for e in v.get("history", ())]
        sets += [(e["fromHeight"], {m["publicKey"] for m in e["validators"]}) for e in v.get("adopted", ())]
        return max((f for f, ks in sets if ks == keys), default=None)

    def certificate_signers(self, heights: range) -> dict[int, set[str]]:
        """Per height, every key whose commit is in that height's certificate on any node (each
        node stores the first q commits it had, so one node's certificate may lack a validator)."""
        with ThreadPoolExecutor(len(NODES)) as ex:
            per_node = list(ex.map(lambda n: self.checker._fetch_blocks(n, heights), NODES))
        out: dict[int, set[str]] = {h: set() for h in heights}
        for blocks in per_node:
            for h, b in blocks.items():
                out[h] |= {sig["validator"] for sig in (b.get("commit") or {}).get("signatures", ())}
        return out

    def wait_majority(self, height: int, timeout_s: float) -> bool:
        return bool(wait_for(lambda: (majority_height(self.cluster.snapshot()) or 0) >= height, timeout_s))

    def vote(self, voter: str, *args: str) -> tuple[int, str]:
        """`totemd validator vote` on the voter's host with its home, as its operator would."""
        return self.totemd("validator", "vote", "--home", self.home(voter), *args, host=voter)

    def join_validator(self, victim: str, offsets: dict[str, int]) -> str:
        """The observer becomes a validator: role validator and a restart (it follows without
        voting), `validator join` on its host, `validator vote add` on three validators' hosts; then
        what every node says of it. Returns the detail; unmet expectations go to `failures`."""
        j, jr, fail = JOINER, self.join, self.failures.append
        t_join = time.monotonic()
        key = self.cluster.keys[j].hex()
        voters = [n for n in VALIDATORS if n != victim]
        jr["voters"] = voters
        # Peers can learn its address from the chain only: no config lists it to dial.
        jr["inPersistentPeers"] = [n for n in NODES if key in self.persistent_peers_of(n)]
        if jr["inPersistentPeers"]:
            fail(f"join: {j}'s key is in the persistent_peers of {jr['inPersistentPeers']}")
        self.set_role(j, "validator")
        self.stop_node(j)
        t0 = time.monotonic()
        self.cluster.sh("start", j)
        reasons: set[str] = set()

        def ready() -> bool:
            try:
                r = self.cluster.client(j, 3).request("GET", "/readyz")
            except (OSError, tc.ApiError, ValueError, http.client.HTTPException):
                return False
            body = r.json or {}
            reasons.update(x.get("code", "?") for x in body.get("reasons", ()))
            if r.status == 200 and body.get("ready") is True:
                # Ready means caught up: its height then (its chain's, GET /v1/status; /readyz's own
                # `height` field, the consensus driver's, is also kept), against the validators'.
                snap = self.cluster.snapshot()
                jr.setdefault("readyAtHeights", {"node": (snap[j] or {}).get("height"), "readyz": body.get("height"),
                                                 "validators": majority_height(snap)})
                return True
            return False
        bound = scaled(self.resume_bound_s)
        jr["readyAfterRestartS"] = round(time.monotonic() - t0, 1) if wait_for(ready, bound, 0.1) else None
        jr["notReadyReasonsSeen"] = sorted(reasons)
        if jr["readyAfterRestartS"] is None:
            fail(f"join: {j} restarted with role validator was not ready within {bound:.0f} s ({sorted(reasons)})")
        elif (jr["readyAtHeights"]["node"] or 0) + 3 < (jr["readyAtHeights"]["validators"] or 0):
            fail(f"join: {j}'s /readyz said ready while it was behind: {jr['readyAtHeights']}")
        # The preflight, on its host, until it passes (its links to the validators come back after
        # the restart, and "caught up" allows 3 blocks). Twice the bound: on a starved machine (load
        # average 18-22) the state-synced observer once stayed 3 to 11 blocks behind for 30 s while
        # the chain ran on; the preflight's verdict, not the catch-up speed, is what is tested here.
        request = os.path.join(self.cluster.dir, f"join-request-{len(self.results)}.json")
        deadline, attempts, failed = time.monotonic() + 2 * bound, 0, []
        while True:
            attempts += 1
            rc, out = self.totemd("validator", "join", "--home", self.home(j), "--api", self.cluster.url(voters[0]),
                                  "--out", request, host=j)
            if rc == 0 or time.monotonic() > deadline:
                break
            failed += [ln.strip() for ln in out.splitlines() if ln.startswith("FAIL")]
            time.sleep(1)
        jr["preflightFailedFirst"] = failed
        jr["preflight"] = [ln.strip() for ln in out.splitlines() if ln.startswith(("ok", "FAIL"))]
        jr["preflightAttempts"] = attempts
        if rc != 0:
            fail(f"join: `validator join` on {j}'s host exited {rc} after {attempts} attempts: {out[-800:]}")
            return f" (preflight FAILED: {jr['preflight']})"
        # Three of the four vote it in (q = 3 of 4), each on its own host.
        tallies = []
        for v in voters:
            rc, out = self.vote(v, "add", "--request", request)
            said = [ln.strip() for ln in out.splitlines() if ln.startswith(("ok    quorum", "tally:", "adopted:"))]
            tallies.append(said)
            if rc != 0 or "ok    quorum    after adding" not in out:
                fail(f"join: `validator vote add` on {v}'s host exited {rc}: {out[-800:]}")
                return f" (vote of {v} FAILED)"
        jr["votes"] = tallies
        # The vote that completes the tally says so (and from which height, while not yet in force).
        start = self.set_from_height(voters[-1], {self.cluster.keys[n].hex() for n in NODES})
        if "adopted: 5 validators" not in out or start is None:
            fail(f"join: the third vote did not adopt the change ({start}): {out[-800:]}")
            return " (NOT adopted)"
        jr["adoptedFrom"] = start
        # Every node lists it in the set in force.
        listing = wait_for(lambda: all(key in (self.set_keys(n) or ()) for n in NODES), bound)
        jr["listedByAll"] = bool(listing)
        if not listing:
            fail(f"join: not every node lists {j} in GET /v1/validators: "
                 f"{ {n: key in (self.set_keys(n) or ()) for n in NODES} }")
        members = (self.api_json(voters[0], "/v1/validators") or {}).get("validators", ())
        jr["addressOnChain"] = next((m["p2pAddress"] for m in members if m["publicKey"] == key), None)
        host = self.cluster.url(j).removeprefix("http://").split(":")[0]
        if not (jr["addressOnChain"] or "").startswith(host + ":"):
            fail(f"join: the chain's address of {j} is {jr['addressOnChain']}, not on its host {host}")
        # Its commits in the certificates from the height its key is in force, none before.
        self.wait_majority(start + 10, bound)
        signers = self.certificate_signers(range(max(1, start - 3), start + 10))
        jr["signedAt"] = [h for h, ks in signers.items() if key in ks]
        if not jr["signedAt"] or min(jr["signedAt"]) < start:
            fail(f"join: {j}'s commits in the certificates of heights {jr['signedAt']} "
                 f"(in force from {start}; heights {start - 3}..{start + 9} read on every node)")
        # The validators found it from the chain: each set its dial targets at the adoption (its
        # address is in no config) and links to it as a validator.
        jr["dialTargetsAdded"] = [n for n in VALIDATORS if any(
            "dial targets set" in ln and "added=1" in ln for ln in self.log_text(n, offsets[n]).splitlines())]

        def linked() -> list[str]:
            return [n for n in VALIDATORS if any(p.get("publicKey") == key and p.get("validator") is True
                                                 for p in (self.api_json(n, "/v1/peers") or {}).get("peers", ()))]
        wait_for(lambda: len(linked()) == len(VALIDATORS), bound)
        jr["linkedAsValidatorBy"] = linked()
        if jr["dialTargetsAdded"] != VALIDATORS or jr["linkedAsValidatorBy"] != VALIDATORS:
            fail(f"join: dial targets set with it by {jr['dialTargetsAdded']}, linked to it as a validator: "
                 f"{jr['linkedAsValidatorBy']} (expected every validator)")
        # Ready as a validator that votes (its reasons now include a quorum of validator peers).
        jr["readyAsValidator"] = bool(wait_for(ready, bound, 0.1))
        if not jr["readyAsValidator"]:
            fail(f"join: {j}'s /readyz not ready as a validator in force ({sorted(reasons)})")
        jr["joinS"] = round(time.monotonic() - t_join, 1)
        return (f" (preflight passed after {attempts} attempt(s); votes of {', '.join(voters)}: "
                f"{tallies[-1][-1] if tallies[-1] else '?'}; listed by every node: {jr['listedByAll']}; its commit "
                f"in the certificates of {len(jr['signedAt'])} of heights {start}..{start + 9}; dial targets "
                f"set by {len(jr['dialTargetsAdded'])} validators; /readyz ready "
                f"{jr['readyAfterRestartS']} s after its restart and as a validator: {jr['readyAsValidator']})")

    def leave_validator(self, victim: str) -> str:
        """The validators and the observer itself vote it out (4 of 5); then, with `victim` stopped,
        a removal that would leave fewer than a quorum live is refused by both voting commands; the
        observer is restarted as one."""
        j, jr, fail = JOINER, self.join, self.failures.append
        t_leave = time.monotonic()
        key = self.cluster.keys[j].hex()
        original = {self.cluster.keys[n].hex() for n in VALIDATORS}
        bound = scaled(self.resume_bound_s)
        detail = ""
        if "adoptedFrom" in jr:
            out = ""
            for v in jr["voters"] + [j]:
                rc, out = self.vote(v, "remove", "--validator", key)
                if rc != 0 or "ok    quorum    after removing" not in out:
                    fail(f"join: `validator vote remove` on {v}'s host exited {rc}: {out[-800:]}")
                    break
            end = self.set_from_height(j, original) if "adopted: 4 validators" in out else None
            if end is None:
                fail(f"join: the removal was not adopted: {out[-800:]}")
            else:
                jr["removedFrom"] = self.set_from = end
                back = wait_for(lambda: all(self.set_keys(n) == original for n in NODES), bound)
                if not back:
                    fail(f"join: not every node is back to the original set: "
                         f"{ {n: len(self.set_keys(n) or ()) for n in NODES} }")
                self.wait_majority(end + 10, bound)
                signers = self.certificate_signers(range(end, end + 10))
                jr["signedAfterRemoval"] = [h for h, ks in signers.items() if key in ks]
                jr["foreignSigners"] = sorted({k[:16] for ks in signers.values() for k in ks - original})
                short = [h for h, ks in signers.items() if len(ks) < 3]
                if jr["signedAfterRemoval"] or jr["foreignSigners"] or short:
                    fail(f"join: certificates of {end}..{end + 9}: its commit at {jr['signedAfterRemoval']}, "
                         f"signers outside the original set {jr['foreignSigners']}, fewer than 3 at {short}")
                detail += (f"; voted out (4 of 5), in force from {end}: no commit of it in the certificates of "
                           f"{end}..{end + 9}, the original 4 commit on")
        detail += self.refused_removal(victim, jr.get("voters") or [n for n in VALIDATORS if n != victim])
        self.set_role(j, "observer")
        self.stop_node(j)
        self.cluster.sh("start", j)
        status = wait_for(lambda: (self.cluster.status(j) or {}).get("role") == "observer", bound)
        jr["observerAgain"] = bool(status)
        if not status:
            fail(f"join: {j} did not come back as an observer")
        jr["leaveS"] = round(time.monotonic() - t_leave, 1)
        return detail + f"; {j} restarted as an observer"

    def refused_removal(self, victim: str, voters: list[str]) -> str:
        """With `victim` stopped (SIGSTOP), removing a live validator would leave 3 validators with
        2 live, under their quorum of 3: `validator vote remove` and `tx validator-change` refuse it
        with the counts, and nothing is sent."""
        jr, fail = self.join, self.failures.append
        voter, target = voters[0], voters[1]
        vkey, tkey = self.cluster.keys[victim].hex(), self.cluster.keys[target].hex()
        said: dict[str, str] = {}
        self.load.avoid = {victim}
        self.cluster.sh("stop", victim)
        try:
            def silent() -> bool:
                # As QuorumSafety judges (--live-within 20), with a margin: not linked, or nothing
                # from it in the last 25 heights.
                v = self.api_json(voter, "/v1/validators")
                if v is None:
                    return False
                m = next(x for x in v["validators"] if x["publicKey"] == vkey)
                last = max(m.get("lastSignedHeight") or 0, m.get("lastVoteHeight") or 0)
                return not m.get("connected") or last + 25 < v["height"]
            if not wait_for(silent, scaled(self.resume_bound_s)):
                # The commands would vote (the change would be safe as the voter sees it): no vote.
                fail(f"join: {voter} still saw {victim} live after it was stopped")
                return f"; {voter} still saw the stopped {victim} live: no refusal tried"
            expected = f"refused: after removing {target}, 3 validators need 3 live for a quorum; 2 are live"
            for label, args in (
                    ("validator vote", ("validator", "vote", "--home", self.home(voter), "remove", "--validator", tkey)),
                    ("tx validator-change", ("tx", "validator-change", "--key",
                                             os.path.join(self.home(voter), "node_key.json"), "--api",
                                             self.cluster.url(voter), "--op", "remove", "--validator", tkey))):
                rc, out = self.totemd(*args, host=voter)
                line = next((ln.strip() for ln in out.splitlines() if "refused" in ln), out.strip()[-300:])
                said[label] = line
                if rc == 0 or expected not in out or f"{victim} " not in out.split("not live:")[-1]:
                    fail(f"join: `{label}` removing {target} with {victim} stopped exited {rc} without the "
                         f"refusal ({expected!r}, naming {victim}): {out[:600]} … {out[-300:]}")
            jr["refusals"] = said
            pending = (self.api_json(voter, "/v1/validators") or {}).get("pending", [])
            if any(t.get("validator") == tkey for t in pending):
                fail(f"join: a refused removal of {target} was sent anyway: {pending}")
        finally:
            self.cluster.sh("cont", victim)
        return f"; with {victim} stopped: {said.get('validator vote', '-')[:240]}"

    # -- a new node starts from a certified snapshot (issue 14, on the separate hosts)

    def metrics_of(self, node: str) -> str:
        try:
            return self.cluster.client(node, 3).metrics()
        except (OSError, tc.ApiError, ValueError, http.client.HTTPException):
            return ""

    def metric_of(self, node: str, name: str, labels: str = "") -> float | None:
        return totem_net.metric_value(self.metrics_of(node), name, labels)

    def judge_readiness(self, name: str, victim: str, sampler: "ReadinessSampler") -> str:
        """What `/readyz` said from the victim's restart until it was ready (issue 14: the right
        reason in each state): never ready while more than 3 blocks behind the validators; for
        `wipe`, `abstaining` while it had no signing state and no fence yet."""
        samples = sampler.finish()
        codes = sorted({c for x in samples for c in x["codes"]})
        first_ready = next((x for x in samples if x["status"] == 200), None)
        if first_ready is None:
            self.failures.append(f"{name}: {victim}'s /readyz never answered ready after its restart "
                                 f"({len(samples)} answers, reasons {codes})")
        early = [x for x in samples if x["status"] == 200 and x["validators"] is not None
                 and (x["height"] or 0) + 3 < x["validators"]]
        if early:
            self.failures.append(f"{name}: {victim}'s /readyz said ready while behind: {early[:3]}")
        if name == "wipe" and "abstaining" not in codes:
            self.failures.append(f"{name}: {victim}'s /readyz never gave `abstaining` before its fence "
                                 f"(reasons seen {codes})")
        return (f"; /readyz after the restart: {len(samples)} answers, reasons {codes}, ready after "
                f"{first_ready['s'] if first_ready else None} s")

    def readyz(self, node: str) -> tuple[int | None, list[str]]:
        """`/readyz`'s status and its reasons' codes (None when the node does not answer)."""
        try:
            r = self.cluster.client(node, 3).request("GET", "/readyz")
        except (OSError, tc.ApiError, ValueError, http.client.HTTPException):
            return None, []
        return r.status, [x.get("code", "?") for x in (r.json or {}).get("reasons", ())]

    def links_of(self, node: str) -> list[str]:
        """The remote ends (address:port) of the node's established TCP connections, as `ss` sees
        them on its host."""
        res = subprocess.run(["ip", "netns", "exec", f"totem-{node}", "ss", "-Htn", "state", "established"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10, check=False)
        ends = [re.findall(r"\d+\.\d+\.\d+\.\d+:\d+", ln) for ln in res.stdout.decode("utf-8", "replace").splitlines()]
        return sorted(e[-1] for e in ends if len(e) >= 2)

    def state_sync_start(self) -> str:
        """Waits for a checkpoint certified on 3 validators above the one they held, so its snapshot
        outlives the kill and the restart (a node keeps its newest two, and a resuming node takes
        its checkpoint again only while a peer offers it); then SYNCER is stopped, its data directory
        deleted and it is started with `--state-sync` on its host, each chunk's write slowed
        (TOTEM_FAULT_CHUNK_APPLY_DELAY_MS) so it can be killed midway; killed with SIGKILL, it is
        started again at normal speed and must resume. Returns the detail; what is not met goes to
        `failures`, what it saw to `self.sync`."""
        s, sr, fail, cs = SYNCER, self.sync, self.failures.append, self.cluster.sh
        bound = scaled(self.resume_bound_s)
        metric = totem_net.metric_value

        def certified() -> int:  # the checkpoint height 3 of the 4 validators hold a certificate of
            return sorted((int(self.metric_of(n, "totem_checkpoint_height") or 0) for n in VALIDATORS),
                          reverse=True)[2]
        held = certified()
        # CHECKPOINT_INTERVAL blocks at the load's rate, with room for a slow machine.
        fresh = wait_for(lambda: certified() > held, scaled(3 * self.resume_bound_s), 0.2)
        sr["certifiedBefore"], sr["certified"] = held, certified()
        if not fresh:
            fail(f"state_sync: no checkpoint certified above height {held} by 3 validators "
                 f"(checkpoint every {CHECKPOINT_INTERVAL} blocks)")
            return f" (no new certified checkpoint above {held}: NOT run)"
        served = {n: self.metric_of(n, "totem_snapshot_chunks_served_total") or 0 for n in VALIDATORS}
        self.stop_node(s)
        self.wipe_data(s)
        offset = self.log_size(s)
        cs("start", s, "TOTEM_FAULT_CHUNK_APPLY_DELAY_MS=120", "--", "--state-sync")
        seen: dict = {}

        def midway():
            if self.node_pid(s) is None:
                return "exited"
            text = self.metrics_of(s)
            done = int(metric(text, "totem_state_sync_chunks", '{state="done"}') or 0)
            total = int(metric(text, "totem_state_sync_chunks", '{state="total"}') or 0)
            status, codes = self.readyz(s)
            fetching = re.search(r"state sync: fetching a snapshot.*", self.log_text(s, offset))
            seen.update(done=done, total=total, readyz=status, reasons=codes,
                        syncing=metric(text, "totem_state_syncing"), fetching=fetching and fetching.group(0))
            return bool(fetching) and total >= 8 and total // 4 <= done < total
        got = wait_for(midway, scaled(3 * self.resume_bound_s), 0.1)
        seen["links"] = self.links_of(s)
        sr["firstRun"] = dict(seen)
        if got is not True:
            fail(f"state_sync: {s} was not seen midway through the chunks ({'it exited' if got == 'exited' else seen}): "
                 f"{self.log_text(s, offset)[-1500:]!r}")
            if self.node_pid(s) is None:
                cs("start", s, "--", "--state-sync")
            return f" ({s} NOT seen midway through the chunks: {seen})"
        fields = dict(re.findall(r"(\w+)=(\S+)", seen["fetching"]))
        height, sources = int(fields.get("height", 0)), int(fields.get("peers", 0))
        sr["height"], sr["sources"] = height, sources
        # From the validators, over their namespace addresses: the node's TCP links on its host.
        p2p = {f"{self.cluster.host(n)}:{self.cluster.p2p_port}": n for n in VALIDATORS}
        via = sorted(p2p[e] for e in seen["links"] if e in p2p)
        sr["linkedTo"] = via
        if seen["readyz"] != 503 or "syncing" not in seen["reasons"] or seen["syncing"] != 1:
            fail(f"state_sync: midway, /readyz answered {seen['readyz']} {seen['reasons']} and "
                 f"totem_state_syncing {seen['syncing']} (expected 503 syncing, 1)")
        if height < sr["certified"] or sources < 2 or len(via) < 2:
            fail(f"state_sync: {s} fetches the snapshot of height {height} (validators certified "
                 f"{sr['certified']}) from {sources} peers, linked over the namespace to {via} "
                 f"(its links: {seen['links']})")
        cs("kill", s)
        at_kill, total = seen["done"], seen["total"]
        sr["doneAtKill"], sr["chunks"] = at_kill, total
        # Started again, at normal speed: it resumes from its progress record.
        offset = self.log_size(s)
        cs("start", s, "--", "--state-sync")
        finished = wait_for(lambda: re.search(r"state sync finished.*", self.log_text(s, offset)), bound, 0.2)
        text = self.log_text(s, offset)
        if not finished:
            fail(f"state_sync: {s} did not finish its state sync after the restart: {text[-1500:]!r}")
            return f" (restarted after kill -9 at {at_kill} of {total} chunks: NOT finished)"
        sr["finished"] = finished.group(0)
        done = dict(re.findall(r"(\w+)=(\S+)", finished.group(0)))
        resumed = re.search(r"state sync resuming.*", text)
        sr["resuming"] = resumed and resumed.group(0)
        before, fetched, chunks = int(done["doneBefore"]), int(done["fetched"]), int(done["chunks"])
        sr["doneBefore"], sr["fetched"] = before, fetched
        if int(done["height"]) != height or chunks != total or not resumed or f"height={height}" not in resumed.group(0):
            fail(f"state_sync: the restart did not resume the snapshot of height {height} ({total} chunks): "
                 f"{sr['resuming']} / {sr['finished']}")
        if not (before >= at_kill > 0 and fetched == chunks - before and before < chunks):
            fail(f"state_sync: killed with {at_kill} of {total} chunks written, the restart said {sr['finished']} "
                 f"(expected doneBefore >= {at_kill} and only the missing chunks fetched)")
        sr["servedBy"] = {n: int((self.metric_of(n, "totem_snapshot_chunks_served_total") or 0) - served[n])
                          for n in VALIDATORS}
        if sum(sr["servedBy"].values()) < before + fetched:
            fail(f"state_sync: the validators served {sr['servedBy']} chunks, fewer than the {before + fetched} "
                 f"it wrote")
        return (f" (checkpoint of height {height} certified; {s} stopped, data directory deleted, started with "
                f"--state-sync on its host: {total} chunks from {sources} peers, linked to {', '.join(via)} over "
                f"the namespace; /readyz {seen['readyz']} {seen['reasons']}; kill -9 at {at_kill} chunks done; "
                f"restarted: resumed with doneBefore={before}, fetched={fetched}; chunks served by the "
                f"validators {sr['servedBy']})")

    def state_sync_followed(self) -> str:
        """After the fault: the synced node follows the chain (the campaign waited for every node at
        the tip), /readyz is ready, its blocks above the checkpoint carry the validators' stateRoot
        (its own, computed from the synced state), and those at or below it answer 404
        pruned_below; from now on the checker holds it to that."""
        s, sr, fail = SYNCER, self.sync, self.failures.append
        height = sr.get("height")
        if not sr.get("finished") or not height:
            return ""
        self.checker.synced_from[s] = height
        status = wait_for(lambda: self.readyz(s)[0] == 200, scaled(self.resume_bound_s), 0.2)
        sr["ready"] = bool(status)
        if not status:
            fail(f"state_sync: {s}'s /readyz not ready after the sync: {self.readyz(s)}")
        tip = min(h for h in heights_of(self.cluster.snapshot()).values() if h is not None)
        compared = {}
        for h in sorted({height + 1, tip}):
            blocks = {n: self.api_json(n, f"/v1/blocks/{h}") or {} for n in NODES}
            ours = (blocks[s].get("blockHash"), blocks[s].get("stateRoot"))
            others = {n: (b.get("blockHash"), b.get("stateRoot")) for n, b in blocks.items() if n != s}
            compared[h] = ours[1]
            if ours[1] is None or any(o != ours for o in others.values()):
                fail(f"state_sync: block {h} on {s} {ours}, on the validators {others}")
        sr["stateRootsEqualAt"] = sorted(compared)
        pruned = {}
        for h in sorted({1, height - 1, height}):
            try:
                r = self.cluster.client(s, 3).block(h)
                pruned[h] = (r.status, ((r.json or {}).get("error") or {}).get("code"))
            except (OSError, tc.ApiError, ValueError, http.client.HTTPException) as e:
                pruned[h] = (None, repr(e))
        sr["prunedBelow"] = {h: list(p) for h, p in pruned.items()}
        if any(p != (404, "pruned_below") for p in pruned.values()):
            fail(f"state_sync: {s}'s blocks at or below the checkpoint {height}: {pruned} (expected 404 pruned_below)")
        return (f"; then at the tip, /readyz ready: {sr['ready']}; block hash and stateRoot equal to the "
                f"validators' at heights {sr['stateRootsEqualAt']}; heights {sorted(pruned)}: "
                f"{sorted(set(pruned.values()))}")

    # -- the whole campaign

    def execute(self, plan: list[tuple[str, float]]) -> dict:
        t0 = time.monotonic()
        log(f"seed {self.seed}; plan: {', '.join(f'{n} {d:.0f}s' for n, d in plan)}; load "
            f"{self.load.rate} tx/s offered by {self.load.workers} identities + a duplicate pair every "
            f"{self.load.dup_every_s} s")
        self.load.setup()
        self.load.start()
        try:
            time.sleep(3)  # let the load settle
            for name, dur in plan:
                self.run(name, dur)
        finally:
            self.load.stop()
        # Final sweep: the txs still followed at stop, then the whole-history check.
        self.wait_converged("at the end", scaled(60))
        # The final chain of every node must hold every tx reported committed: a node a block or two
        # behind (converged means within 2) gets there by the next block, a heartbeat at most once the
        # load stopped. Waited for (bounded) and logged, so a node that stays behind is a violation.
        top = max((r.place[0] for r in self.history.committed_records()), default=0)
        t_top = time.monotonic()
        behind = {n: h for n, h in heights_of(self.cluster.snapshot()).items() if h is None or h < top}
        if behind:
            wait_for(lambda: all(h is not None and h >= top for h in heights_of(self.cluster.snapshot()).values()),
                     scaled(30), 0.2)
            log(f"at the end: {behind} below height {top}, the highest a tx was reported committed at; "
                f"now {heights_of(self.cluster.snapshot())}, {time.monotonic() - t_top:.1f} s later")
        final = self.checker.check(final=True)
        recs = self.history.all_records()
        committed = [r for r in recs if r.place is not None]
        dups = {}
        for r in recs:
            if r.dup_group is not None:
                dups.setdefault(r.dup_group, []).append(r)
        dup_committed = sum(1 for rs in dups.values() if any(r.place for r in rs))

        def refused_only(r) -> bool:  # never entered a mempool: it did not compete
            return r.place is None and bool(r.rejected) and all(e.get("atSubmission") for e in r.rejected.values())
        # A pair whose both txs were refused at submission (e.g. conflicting_nonce: the loser of
        # an earlier pair still pending in that node's mempool under the same nonce) never competed.
        contested = [rs for rs in dups.values() if not all(refused_only(r) for r in rs)]
        codes: dict[str, int] = {}
        for r in recs:
            if r.rejected and r.place is None:
                key = ("duplicate pair: " if r.dup_group is not None else "load: ") + ", ".join(
                    sorted({str(e.get("code")) + (" at submission" if e.get("atSubmission") else "")
                            for e in r.rejected.values()}))
                codes[key] = codes.get(key, 0) + 1
        summary = {
            "seed": self.seed, "seconds": round(time.monotonic() - t0, 1),
            "txsSubmitted": len(recs), "txsReportedCommitted": len(committed),
            "txsRejected": sum(1 for r in recs if r.rejected and r.place is None),
            "txsUnresolved": sum(1 for r in recs if r.place is None and not r.rejected),
            "duplicatePairs": len(dups), "duplicatePairsWithAWinner": dup_committed,
            "duplicatePairsContested": len(contested),
            "contestedPairsWithAWinner": sum(1 for rs in contested if any(r.place for r in rs)),
            "rejectedByCode": codes,
            "finalCheck": final, "violations": list(self.checker.violations),
            "failures": list(self.failures), "loadErrors": list(self.load.errors),
            "scenarios": self.results}
        log(f"final check over heights {final['heights']}: {len(committed)} txs reported committed, "
            f"{final['txsInRange']} of them checked in every node's chain, {final['worksChecked']} works, "
            f"{len(self.checker.violations)} violations ({final['seconds']} s)")
        log(f"{len(dups)} duplicate pairs ({len(contested)} contested: not both refused at submission), "
            f"{dup_committed} with a winner; "
            f"{summary['txsRejected']} txs rejected {codes}, {summary['txsUnresolved']} unresolved")
        for v in self.checker.violations[:30]:
            log(f"VIOLATION: {v}")
        for f in self.failures:
            log(f"NOT MET: {f}")
        for e in self.load.errors:
            log(f"LOAD ERROR: {e}")
        return summary


def table(summary: dict) -> str:
    rows = ["| scenario | victim | heights during | resume s | all at tip s | txs committed | lost | tx/s | "
            "p50 ms | p99 ms | vs healthy (tput, p50, p99) | target | view changes (window: seen / allowed / "
            "victim turns) | violations |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["scenarios"]:
        w = r["windowAfter10Heights"] or r["wholeFault"]
        vs = r.get("vsHealthy")
        vs_text = f"{vs['throughput']}, {vs['p50']}, {vs['p99']}" if vs else ""
        target = {True: "met", False: "NOT met"}.get(r.get("livenessTargetMet"), "")
        vc = r["viewChanges"]
        vc_text = str(len(vc["atHeights"]))
        if "window" in vc:
            vw = vc["window"]
            vc_text += f" ({len(vw['viewChanges'])} / {len(vw['allowedHeights'])} / {vw['victimTurns']})"
        rows.append(f"| {r['scenario']} | {r['victim']} | {r['heightsDuring']} | {r['resumeS']} | "
                    f"{r['allAtTipS']} | {r['wholeFault']['committedTxs']} | {r['check']['txsLost']} | "
                    f"{w['txPerS']} | {w['p50Ms']} | {w['p99Ms']} | {vs_text} | {target} | {vc_text} | "
                    f"{r['check']['newViolations']} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=1, help="times every scenario is run (default 1)")
    ap.add_argument("--duration", type=float, default=30, help="seconds of each fault (default 30)")
    ap.add_argument("--scenarios", default=",".join(ALL), help=f"comma-separated, of {','.join(ALL)}")
    ap.add_argument("--rate", type=float, default=30, help="offered tx/s (default 30)")
    ap.add_argument("--bin", default=os.environ.get("TOTEM_BIN") or os.environ.get("TOTEMD")
                    or os.path.join(REPO_ROOT, ".build", "release", "totemd"))
    ap.add_argument("--dir", default=os.environ.get("TOTEM_CLUSTER_DIR") or os.path.join(REPO_ROOT, "cluster"))
    ap.add_argument("--json", default=None, help="write the summary here")
    ap.add_argument("--keep", action="store_true", help="leave the cluster up at the end")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("campaign.py needs root (scripts/cluster.sh: namespaces, iptables, tc)", file=sys.stderr)
        return 2
    seed = a.seed if a.seed is not None else random.randrange(2**32)
    names = [s for s in a.scenarios.split(",") if s]
    bad = [s for s in names if s not in SCENARIOS]
    if bad:
        ap.error(f"unknown scenarios {bad}")
    plan = [("healthy", a.duration)] if "healthy" in names else []
    rng = random.Random(seed)
    for _ in range(a.rounds):
        rest = [s for s in names if s != "healthy"]
        rng.shuffle(rest)
        plan += [(s, a.duration) for s in rest]
    cluster = Cluster(a.bin, a.dir)
    log(f"cluster in {cluster.dir} with {cluster.totemd} (replay: --seed {seed})")
    try:
        cluster.up()
        camp = Campaign(cluster, seed, rate=a.rate)
        summary = camp.execute(plan)
    finally:
        if not a.keep:
            cluster.down()
    print(table(summary))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1, default=str)
    ok = not summary["violations"] and not summary["failures"] and not summary["loadErrors"]
    log("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
