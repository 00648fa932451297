"""A local Totem network of real `totemd` processes on loopback, for the end-to-end tests.

`totemd testnet` writes the network (genesis, keys, configs); each node then runs as its own
process, logging to a file. Every wait is bounded and says what it waited for; every process
started here is killed and reaped by `Network.stop` (and, as a last resort, at interpreter exit
or when the test process dies, through PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import re
import shlex
import signal
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field

import totem_client as tc

TIMEOUT_SCALE = float(os.environ.get("TOTEM_E2E_TIMEOUT_SCALE", "1"))


def scaled(seconds: float) -> float:
    return seconds * TIMEOUT_SCALE


class WaitTimeout(AssertionError):
    pass


def wait_until(what: str, predicate, timeout_s: float, interval_s: float = 0.2, describe=None):
    """Poll `predicate` until it returns a truthy value (returned), or fail after `timeout_s`
    saying what was awaited and, if given, `describe()` of the last state seen."""
    deadline = time.monotonic() + timeout_s
    last_exc = None
    while True:
        try:
            v = predicate()
            if v:
                return v
        except (OSError, tc.ApiError) as e:  # a node not yet (or no longer) serving
            last_exc = e
        if time.monotonic() >= deadline:
            detail = ""
            if describe is not None:
                try:
                    detail = f"\nlast state: {describe()}"
                except Exception as e:  # noqa: BLE001 - best effort diagnostics
                    detail = f"\nlast state unavailable: {e!r}"
            if last_exc is not None:
                detail += f"\nlast error: {last_exc!r}"
            raise WaitTimeout(f"timed out after {timeout_s:.0f}s waiting for {what}{detail}")
        time.sleep(interval_s)


# ------------------------------------------------------------------------------------------------
# Ports


SLOT_HEADER_BYTES = 8 + 8 + 4 + 32  # magic | sequence u64 | length u32 | SHA-256 (SlotFile)


def metric_value(text: str, name: str, labels: str = "") -> float | None:
    """The value of one sample (`name` with `labels` exactly, e.g. '{state="done"}') in a
    Prometheus text page, None when absent."""
    m = re.search(r"^" + re.escape(name + labels) + r" ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else None


def signing_height(data_dir: str) -> int:
    """The height of the newest signing-state record in a node's data directory (SlotFile: magic,
    sequence u64, length u32, SHA-256, then the payload, whose first bytes are version u8 and
    height u64); 0 when it never signed."""
    best = (-1, 0)
    for name in ("signing-state.a", "signing-state.b"):
        with open(os.path.join(data_dir, name), "rb") as f:
            record = f.read(SLOT_HEADER_BYTES + 9)
        sequence, length = struct.unpack(">QI", record[8:20])
        height = struct.unpack(">Q", record[SLOT_HEADER_BYTES + 1:])[0] if length >= 9 else 0
        best = max(best, (sequence, height))
    return best[1]


def port_free(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class PortAllocator:
    """Hands out ranges of consecutive free loopback ports, never the same range twice in a
    session. The start is TOTEM_E2E_PORT_BASE, else derived from the pid (so two sessions on one
    machine are unlikely to collide; a collision is caught by the free-port check anyway)."""

    def __init__(self) -> None:
        # Below Linux's ephemeral range (32768-60999): a node restarted on its port must not find
        # it taken by some process's outgoing connection (seen under bench load).
        base = os.environ.get("TOTEM_E2E_PORT_BASE")
        self.next = int(base) if base else 10000 + (os.getpid() * 37) % 20000
        self.limit = 32700

    def take(self, count: int) -> int:
        for _ in range(200):
            start = self.next
            if start + count > self.limit:
                start = self.next = 10000
            self.next = start + count
            if all(port_free(p) for p in range(start, start + count)):
                return start
        raise RuntimeError(f"no range of {count} free loopback ports found")


PORTS = PortAllocator()

# ------------------------------------------------------------------------------------------------
# Processes

_LIVE: dict[int, subprocess.Popen] = {}


def _kill_leftovers() -> None:
    for proc in list(_LIVE.values()):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    _LIVE.clear()


atexit.register(_kill_leftovers)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def find_totemd(repo_root: str) -> str:
    """TOTEMD, else <repo>/.build/release/totemd, else <repo>/.build/debug/totemd. Raises with
    a message saying how to build when none is there."""
    env = os.environ.get("TOTEMD")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise FileNotFoundError(f"TOTEMD={env} is not an executable file")
        return env
    tried = []
    for conf in ("release", "debug"):
        p = os.path.join(repo_root, ".build", conf, "totemd")
        tried.append(p)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise FileNotFoundError(
        "totemd binary not found (tried " + ", ".join(tried) + "). Build it first with "
        "`swift build -c release` in the repository root, or point TOTEMD at a built binary.")


@dataclass
class Node:
    index: int
    name: str
    home: str
    api_url: str
    validator: bool
    public_key: bytes
    log_path: str
    client: tc.Client
    proc: subprocess.Popen | None = None
    starts: int = 0
    # Extra environment variables of this node's process (added to the test's own environment at
    # every start; empty: the process inherits the test's environment unchanged).
    env: dict[str, str] = field(default_factory=dict)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 64 * 1024))
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            return f"(no log: {e})"
        return "\n".join(text.splitlines()[-lines:])


class Network:
    def __init__(self, totemd: str, directory: str, validators: int = 4, observers: int = 1):
        self.totemd = totemd
        self.dir = directory
        self.n_validators = validators
        self.n_observers = observers
        total = validators + observers
        self.p2p_base = PORTS.take(2 * total)
        self.api_base = self.p2p_base + total
        self.nodes: list[Node] = []
        # Extra `totemd testnet` arguments (genesis parameters), before TOTEM_E2E_TESTNET_ARGS.
        self.testnet_args: list[str] = []
        self.genesis: dict = {}
        self.genesis_bytes = b""
        self.genesis_hash = b""

    # -- creation

    def create(self) -> None:
        total = self.n_validators + self.n_observers
        cmd = [self.totemd, "testnet", "--dir", self.dir, "--validators", str(self.n_validators),
               "--observers", str(self.n_observers), "--p2p-base-port", str(self.p2p_base),
               "--api-base-port", str(self.api_base)]
        cmd += self.testnet_args + shlex.split(os.environ.get("TOTEM_E2E_TESTNET_ARGS", ""))
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=scaled(60), check=False)
        out = res.stdout.decode("utf-8", "replace")
        with open(os.path.join(os.path.dirname(self.dir.rstrip("/")) or ".", "testnet.log"), "a") as f:
            f.write(f"$ {shlex.join(cmd)}\n{out}\n")
        if res.returncode != 0:
            raise RuntimeError(f"`{shlex.join(cmd)}` exited with {res.returncode}:\n{out}")
        names = [f"node{i}" for i in range(self.n_validators)] + \
                [f"observer{i}" for i in range(self.n_observers)]
        for i, name in enumerate(names):
            home = os.path.join(self.dir, name)
            for f in ("config.toml", "node_key.json", "genesis.json"):
                if not os.path.isfile(os.path.join(home, f)):
                    raise RuntimeError(f"`totemd testnet` did not write {home}/{f}:\n{out}")
            self._add_node(name, home, self.api_base + i, i < self.n_validators)
        self._read_genesis()
        assert len(self.nodes) == total
        # These tests use loopback addresses only.
        for v in self.genesis["validators"]:
            if not v["p2pAddress"].startswith("127.0.0.1:"):
                raise RuntimeError(f"`totemd testnet` wrote a non-loopback address: {v}")

    @classmethod
    def from_homes(cls, totemd: str, directory: str, homes: list[tuple[str, str, int, bool]]) -> "Network":
        """A network of homes made without `totemd testnet` (by `totemd init` and the genesis
        ceremony): (name, home, API port on 127.0.0.1, validator?) each, the genesis already in
        every home; the root registrar's key, if a test needs it, at <directory>/root_registrar.json."""
        net = cls.__new__(cls)
        net.totemd, net.dir, net.nodes = totemd, directory, []
        net.n_validators = sum(1 for h in homes if h[3])
        net.n_observers = len(homes) - net.n_validators
        for name, home, api_port, validator in homes:
            net._add_node(name, home, api_port, validator)
        net._read_genesis()
        return net

    def _add_node(self, name: str, home: str, api_port: int, validator: bool) -> None:
        with open(os.path.join(home, "node_key.json"), "rb") as f:
            pk = bytes.fromhex(json.loads(f.read())["publicKey"])
        url = f"http://127.0.0.1:{api_port}"
        self.nodes.append(Node(index=len(self.nodes), name=name, home=home, api_url=url, validator=validator,
                               public_key=pk,
                               log_path=os.path.join(os.path.dirname(self.dir.rstrip("/")), f"{name}.log"),
                               client=tc.Client(url)))

    def _read_genesis(self) -> None:
        with open(os.path.join(self.nodes[0].home, "genesis.json"), "rb") as f:
            self.genesis_bytes = f.read()
        self.genesis = json.loads(self.genesis_bytes)
        self.genesis_hash = tc.sha256(self.genesis_bytes)

    @property
    def root_registrar_path(self) -> str:
        return os.path.join(self.dir, "root_registrar.json")

    @property
    def validator_keys(self) -> list[bytes]:
        return [bytes.fromhex(v["publicKey"]) for v in self.genesis["validators"]]

    @property
    def validators(self) -> list[Node]:
        return [n for n in self.nodes if n.validator]

    def node_by_key(self, key: bytes) -> Node:
        return next(n for n in self.nodes if n.public_key == key)

    # -- processes

    def start(self, node: Node) -> None:
        assert not node.running(), f"{node.name} is already running"
        node.starts += 1
        with open(node.log_path, "ab") as log:
            extra = "".join(f" {k}={v}" for k, v in sorted(node.env.items()))
            log.write(f"\n===== e2e: start #{node.starts} of {node.name} at {time.time():.3f}"
                      f"{' with' + extra if extra else ''} =====\n".encode())
            log.flush()
            env = {**os.environ, **node.env} if node.env else None
            node.proc = subprocess.Popen([self.totemd, "start", "--home", node.home],
                                         stdin=subprocess.DEVNULL, stdout=log, env=env,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        _LIVE[node.proc.pid] = node.proc

    def start_all(self) -> None:
        for node in self.nodes:
            self.start(node)

    def kill(self, node: Node, sig: int = signal.SIGKILL) -> int:
        """Send `sig` to the node's process (by pid) and reap it; returns its exit status."""
        assert node.proc is not None
        proc = node.proc
        was_running = proc.poll() is None
        if was_running:
            proc.send_signal(sig)
        try:
            rc = proc.wait(timeout=scaled(15))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        _LIVE.pop(proc.pid, None)
        with open(node.log_path, "ab") as log:
            how = f"sent signal {sig}" if was_running else "had already exited"
            log.write(f"\n===== e2e: {node.name} {how}; exit status {rc} =====\n".encode())
        return rc

    def stop(self) -> None:
        """Stop every node: SIGTERM, then SIGKILL after a grace period; always reaped."""
        for node in self.nodes:
            if node.running():
                node.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + scaled(10)
        for node in self.nodes:
            if node.proc is None:
                continue
            try:
                node.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
            _LIVE.pop(node.proc.pid, None)

    def verify_certificate(self, cert_bytes: bytes, name: str) -> tuple[int, str]:
        """`totemd verify <file> --genesis <genesis.json>` on a certificate; (exit status, output)."""
        path = os.path.join(os.path.dirname(self.dir.rstrip("/")), f"{name}.json")
        with open(path, "wb") as f:
            f.write(cert_bytes)
        res = subprocess.run([self.totemd, "verify", path, "--genesis",
                              os.path.join(self.nodes[-1].home, "genesis.json")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=scaled(60), check=False)
        return res.returncode, res.stdout.decode("utf-8", "replace")

    # -- observation

    def check_alive(self, nodes=None) -> None:
        for node in nodes or self.nodes:
            if node.proc is not None and node.proc.poll() is not None:
                raise AssertionError(f"{node.name} exited with status {node.proc.returncode}; "
                                     f"log tail:\n{node.log_tail()}")

    def heights(self, nodes=None) -> dict[str, object]:
        out = {}
        for node in nodes or self.nodes:
            try:
                out[node.name] = node.client.status()["height"]
            except (OSError, tc.ApiError, KeyError) as e:
                out[node.name] = f"error: {e}"
        return out

    def wait_healthy(self, nodes=None, timeout_s: float = 60) -> None:
        for node in nodes or self.nodes:
            def ok(node=node):
                self.check_alive([node])
                return node.client.healthz() == 200
            try:
                wait_until(f"{node.name} /healthz = 200 at {node.api_url}", ok, scaled(timeout_s))
            except WaitTimeout as e:
                raise WaitTimeout(f"{e}\n{node.name} log tail:\n{node.log_tail()}") from None

    def wait_height(self, height: int, nodes=None, timeout_s: float = 90) -> None:
        nodes = nodes or self.nodes

        def reached():
            self.check_alive(nodes)
            return all(n.client.status()["height"] >= height for n in nodes)
        try:
            wait_until(f"height >= {height} on {[n.name for n in nodes]}", reached,
                       scaled(timeout_s), interval_s=0.3, describe=lambda: self.heights(nodes))
        except WaitTimeout as e:
            tails = "\n".join(f"--- {n.name}:\n{n.log_tail(25)}" for n in nodes)
            raise WaitTimeout(f"{e}\n{tails}") from None

    def ensure_running(self) -> None:
        """Start any node a previous (failed) test left stopped, and wait until all serve, so one
        failure does not cascade into the tests after it."""
        for node in self.nodes:
            if not node.running():
                if node.proc is not None:
                    self.kill(node)  # reap
                self.start(node)
        self.wait_healthy()

    def settle(self, nodes=None, timeout_s: float = 30) -> int:
        """Wait until every node (running ones, by default) has reached the highest height any of
        them reports now; returns that height. Reads of committed state then agree across nodes."""
        nodes = nodes or [n for n in self.nodes if n.running()]
        top = max(n.client.status()["height"] for n in nodes)
        self.wait_height(top, nodes=nodes, timeout_s=timeout_s)
        return top

    def logs_summary(self, lines: int = 30) -> str:
        return "\n".join(f"----- {n.name} ({n.log_path}) -----\n{n.log_tail(lines)}" for n in self.nodes)


@contextlib.contextmanager
def bench_load(totemd: str, network, log_path, rate: int, duration_s: int):
    """`totemd bench` at `rate` tx/s for `duration_s` on the network's first three validators, in
    the background while the block runs (its output in `log_path`); killed if still running at the
    end. Yields the process."""
    cmd = [totemd, "bench", "--root-key", network.root_registrar_path, "--rate", str(rate),
           "--duration", str(duration_s), "--identities", "8", "--presign", str(rate * duration_s + 500),
           "--batch", "20", "--drain", "2", "--no-image-code"]
    for v in network.validators[:3]:
        cmd += ["--api", v.api_url]
    with open(log_path, "wb") as log:
        bench = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield bench
    finally:
        if bench.poll() is None:
            bench.kill()
        bench.wait()


@contextlib.contextmanager
def running_network(totemd: str, directory: str, validators: int, observers: int, configure=None,
                    observers_follow: bool = True, testnet_args: list[str] | None = None):
    """A network of its own, running, healthy and past height 1 while the block runs (an idle
    chain makes a heartbeat block every emptyBlockIntervalMs). Stopped (and reaped) at the end.
    `configure(net)`, if given, edits the homes before the start; with `observers_follow` False
    only the validators are waited for (observers a test keeps out on purpose). `testnet_args` go
    to `totemd testnet` (e.g. genesis parameters)."""
    net = Network(totemd, directory, validators, observers)
    net.testnet_args = list(testnet_args or [])
    net.create()
    if configure:
        configure(net)
    try:
        net.start_all()
        net.wait_healthy(timeout_s=60)
        net.wait_height(1, nodes=None if observers_follow else net.validators, timeout_s=90)
        yield net
    finally:
        net.stop()


@contextlib.contextmanager
def one_validator_network(totemd: str, directory: str, api_settings: dict | None = None):
    """A network of one validator of its own, running and serving while the block runs; its
    config.toml `[api]` section gets `api_settings` first. Stopped (and reaped) at the end."""
    net = Network(totemd, directory, validators=1, observers=0)
    net.create()
    if api_settings:
        path = os.path.join(net.nodes[0].home, "config.toml")
        with open(path) as f:
            text = f.read()
        assert "\n[api]\n" in text, text
        lines = "".join(f"{k} = {v}\n" for k, v in api_settings.items())
        with open(path, "w") as f:
            f.write(text.replace("\n[api]\n", "\n[api]\n" + lines, 1))
    try:
        net.start_all()
        net.wait_healthy(timeout_s=60)
        yield net
    finally:
        net.stop()


# ------------------------------------------------------------------------------------------------
# Senders and transaction follow-up


class Actor:
    """A key that sends transactions, with its own nonce counter (PROTOCOL.md: first tx 1, +1)."""

    def __init__(self, name: str, key: tc.KeyPair, net: Network, next_nonce: int = 1):
        self.name = name
        self.key = key
        self.net = net
        self.next_nonce = next_nonce

    @property
    def public_key(self) -> bytes:
        return self.key.public_key

    def sync(self, client: tc.Client) -> int:
        """Take the next nonce from committed state (only right when none of ours is pending)."""
        self.next_nonce = client.account(self.public_key)["nextNonce"]
        return self.next_nonce

    def tx(self, kind: int, payload: dict) -> tc.SignedTx:
        t = tc.Tx(chain_id=self.net.genesis["chainId"], kind=kind, sender=self.public_key,
                  nonce=self.next_nonce, payload=payload)
        self.next_nonce += 1
        return t.sign(self.key, self.net.genesis_hash)


def submit_accepted(client: tc.Client, txs: list[tc.SignedTx]) -> None:
    """POST /v1/txs and require one result per tx, in order, each accepted with our txHash."""
    results = client.submit(txs)
    assert isinstance(results, list) and len(results) == len(txs), results
    for t, r in zip(txs, results):
        assert r.get("txHash") == t.tx_hash.hex(), f"txHash of {tc.KIND_NAMES[t.tx.kind]}: {r}"
        assert r.get("accepted") is True, f"{tc.KIND_NAMES[t.tx.kind]} nonce {t.tx.nonce} refused: {r}"


def tx_final(client: tc.Client, tx_hash: bytes, timeout_s: float = 30, *,
             allow_not_found: bool = False) -> dict:
    """Follow GET /v1/txs/{hash} until it is committed or rejected; returns that answer."""
    last: dict = {}

    def done():
        resp = client.tx_status(tx_hash)
        if resp.status == 404:
            last["answer"] = resp.json
            if not allow_not_found:
                raise AssertionError(f"tx {tx_hash.hex()} unknown to {client.base_url} "
                                     f"after it was accepted: {resp.describe()}")
            return None
        last["answer"] = resp.json
        return resp.json if resp.json.get("status") in ("committed", "rejected") else None
    return wait_until(f"tx {tx_hash.hex()} to be committed or rejected at {client.base_url}",
                      done, scaled(timeout_s), interval_s=0.1, describe=lambda: last.get("answer"))


def tx_committed(client: tc.Client, tx: tc.SignedTx, timeout_s: float = 30, **kw) -> dict:
    ans = tx_final(client, tx.tx_hash, timeout_s, **kw)
    assert ans["status"] == "committed", \
        f"{tc.KIND_NAMES[tx.tx.kind]} nonce {tx.tx.nonce} was not committed: {ans}"
    return ans


def registered(network, client: tc.Client, label: str, roles: list[int]) -> list[Actor]:
    """A registrar appointed by the root, and one registered identity per role (committed)."""
    key = tc.read_key_file(network.root_registrar_path, strict=False)
    network.settle()
    root = Actor("root", key, network)
    root.sync(client)
    registrar = Actor(f"{label}-registrar", tc.KeyPair.generate(), network)
    add = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": registrar.public_key, "name": f"{label} registrar"})
    submit_accepted(client, [add])
    tx_committed(client, add)
    actors = [Actor(f"{label}-{i}", tc.KeyPair.generate(), network) for i in range(len(roles))]
    idents = [registrar.tx(tc.KIND_REGISTER_IDENTITY, {"subject": a.public_key, "displayName": a.name, "role": role,
                                                         "kycDigest": bytes(32)})
              for a, role in zip(actors, roles)]
    submit_accepted(client, idents)
    for t in idents:
        tx_committed(client, t)
    return [registrar] + actors
