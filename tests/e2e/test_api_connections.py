"""The HTTP API under slow and flooding clients, with real sockets against a real totemd (issue 11,
defect 6), and its graceful shutdown's log (issue 11, log hygiene).

A one-validator network of its own, with short limits in its config.toml `[api]` section, so that
the timeouts can be watched in seconds. Every loop is bounded by the limits plus a margin; times
are measured, never slept and assumed.
"""

from __future__ import annotations

import http.client
import json
import re
import selectors
import signal
import socket
import time

import pytest

import totem_client as tc
import totem_net
from totem_net import scaled, wait_until

HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 3.0
IDLE_TIMEOUT_S = 8.0  # longer than every read timeout plus the margin: a close seen is not the idle timer
MAX_CONNECTIONS = 120
LIMITS = {"header_timeout_ms": int(HEADER_TIMEOUT_S * 1000), "body_timeout_ms": int(BODY_TIMEOUT_S * 1000),
          "idle_timeout_ms": int(IDLE_TIMEOUT_S * 1000), "max_connections": MAX_CONNECTIONS,
          "requests_per_second": 10000, "burst": 10000}
MARGIN_S = scaled(1.5)
TRICKLE_INTERVAL_S = 0.25  # a byte per connection this often: far more often than any timeout
SLOW_CONNECTIONS = 50  # of each kind (header, body); together under the cap
FLOOD_CONNECTIONS = 200  # over the cap
ERROR_LINE = re.compile(r"^\S+ (error|critical) ", re.MULTILINE)


@pytest.fixture(scope="module")
def net(totemd, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("totem-api-limits") / "net")
    with totem_net.one_validator_network(totemd, directory, LIMITS) as n:
        yield n


@pytest.fixture(scope="module")
def node(net):
    return net.nodes[0]


def port_of(node) -> int:
    return int(node.api_url.rsplit(":", 1)[1])


def metric(node, name: str, client: "NormalClient | None" = None) -> float:
    text = client.get("/metrics").decode() if client is not None else node.client.metrics()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def log_text(node) -> str:
    with open(node.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def wait_open_connections_at_most(node, n: int) -> None:
    # Sockets closed by a previous test are released by the node a moment later.
    wait_until(f"at most {n} open API connections", lambda: metric(node, "totem_api_connections_open") <= n,
               scaled(10))


class Conn:
    """One client socket: what it sent, what it received, when the server closed it."""

    def __init__(self, port: int, first: bytes, trickle: bytes):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setblocking(False)
        self.trickle = trickle
        self.first_sent = bool(first)
        self.sent = 0
        self.received = b""
        self.closed_at: float | None = None
        # From the first byte sent (the connect, when nothing is sent first).
        self.started = time.monotonic()
        if first:
            self.sock.sendall(first)
            self.started = time.monotonic()

    def send_next(self) -> None:
        try:
            self.sock.send(self.trickle[self.sent % len(self.trickle):][:1])
            if self.sent == 0 and not self.first_sent:
                self.started = time.monotonic()
            self.sent += 1
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:  # reset or broken pipe: closed by the server
            self.mark_closed()

    def on_readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self.received += data
        else:
            self.mark_closed()

    def mark_closed(self) -> None:
        if self.closed_at is None:
            self.closed_at = time.monotonic()

    @property
    def lived_s(self) -> float | None:
        return None if self.closed_at is None else self.closed_at - self.started

    def close(self) -> None:
        self.sock.close()


def drive(conns: list[Conn], bound_s: float, trickle: bool, during=None) -> None:
    """Until every connection is closed by the server or `bound_s` has passed: send one byte on
    each open connection every TRICKLE_INTERVAL_S (if `trickle`), note closes as they happen, and
    call `during()` about every half second."""
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ, c)
    deadline = time.monotonic() + bound_s
    next_trickle = next_during = time.monotonic()
    try:
        while time.monotonic() < deadline and any(c.closed_at is None for c in conns):
            now = time.monotonic()
            if trickle and now >= next_trickle:
                for c in conns:
                    if c.closed_at is None:
                        c.send_next()
                next_trickle = now + TRICKLE_INTERVAL_S
            if during is not None and now >= next_during:
                during()
                next_during = now + 0.5
            for key, _ in sel.select(timeout=0.02):
                c = key.data
                c.on_readable()
                if c.closed_at is not None:
                    sel.unregister(c.sock)
    finally:
        sel.close()


class NormalClient:
    """A well-behaved client asking GET /v1/status; every answer's status is kept."""

    def __init__(self, node, keep_alive: bool):
        self.port = port_of(node)
        self.keep_alive = keep_alive
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=scaled(5)) if keep_alive else None
        self.statuses: list[object] = []

    def ask(self) -> None:
        conn = self.conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=scaled(5))
        try:
            conn.request("GET", "/v1/status")
            r = conn.getresponse()
            body = r.read()
            ok = r.status == 200 and "height" in json.loads(body)
            self.statuses.append(r.status if ok else (r.status, body[:200]))
        except (OSError, http.client.HTTPException) as e:
            self.statuses.append(repr(e))
        finally:
            if not self.keep_alive:
                conn.close()

    def get(self, path: str) -> bytes:
        assert self.conn is not None
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        body = r.read()
        assert r.status == 200, (path, r.status, body[:200])
        return body

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def test_slow_headers_and_bodies_are_closed_in_time_while_others_are_served(node):
    """SLOW_CONNECTIONS connections trickle a header block a byte at a time, as many trickle a body
    (headers sent whole, Content-Length far beyond what they send): each is closed by the server
    within its read timeout (from its first byte, for headers; from the end of the header, for
    bodies) plus a margin, though bytes kept coming until then; a late header gets a 408 JSON error.
    Meanwhile a new client connection gets its answers."""
    wait_open_connections_at_most(node, 2)
    port = port_of(node)
    timed_out_before = metric(node, "totem_api_connections_timed_out_total")
    log_before = len(log_text(node))
    header = b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
    heads = [Conn(port, b"", header) for _ in range(SLOW_CONNECTIONS)]
    body_head = b"POST /v1/txs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    bodies = [Conn(port, body_head, b'{"txs": ["' + b"00" * 40000) for _ in range(SLOW_CONNECTIONS)]
    client = NormalClient(node, keep_alive=False)
    try:
        drive(heads + bodies, BODY_TIMEOUT_S + MARGIN_S + 1, trickle=True, during=client.ask)
    finally:
        for c in heads + bodies:
            c.close()
    still_open = [c for c in heads + bodies if c.closed_at is None]
    assert not still_open, f"{len(still_open)} slow connections still open after {BODY_TIMEOUT_S + MARGIN_S + 1:.1f} s"
    for kind, conns, timeout in (("headers", heads, HEADER_TIMEOUT_S), ("bodies", bodies, BODY_TIMEOUT_S)):
        lived = sorted(c.lived_s for c in conns)
        print(f"[e2e] slow {kind}: closed after {lived[0]:.2f}..{lived[-1]:.2f} s (timeout {timeout} s); "
              f"bytes trickled per connection {min(c.sent for c in conns)}..{max(c.sent for c in conns)}")
        # Not before the timeout (it is that timer, not another), not long after it.
        assert timeout - 0.05 <= lived[0] and lived[-1] <= timeout + MARGIN_S, (kind, lived)
        assert min(c.sent for c in conns) >= int(timeout / TRICKLE_INTERVAL_S) - 2, "bytes kept coming until the close"
    for c in heads:
        status_line, _, rest = c.received.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 408 Request Timeout", c.received[:300]
        assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_timeout", c.received
    assert len(client.statuses) >= 3 and all(s == 200 for s in client.statuses), client.statuses
    assert metric(node, "totem_api_connections_timed_out_total") - timed_out_before >= 2 * SLOW_CONNECTIONS
    # 100 closes, a log line or two (one per 10 s at most), not one per connection.
    lines = log_text(node)[log_before:].count("API connections closed")
    assert 1 <= lines <= 2, log_text(node)[log_before:]


def test_a_flood_over_the_cap_is_refused_at_once_while_admitted_clients_are_served(node):
    """With a client's keep-alive connection open, FLOOD_CONNECTIONS more connections are opened at
    once: the ones over MAX_CONNECTIONS are closed by the server at once (well before any timeout),
    the others stay open, the client keeps getting answers on its connection throughout, refusals
    are counted and logged once (not once per connection), and once the flood ends new
    connections are served again."""
    wait_open_connections_at_most(node, 1)
    refused_before = metric(node, "totem_api_connections_refused_total")
    log_before = len(log_text(node))
    client = NormalClient(node, keep_alive=True)
    client.ask()
    port = port_of(node)
    flood: list[Conn] = []
    try:
        for _ in range(FLOOD_CONNECTIONS):
            flood.append(Conn(port, b"", b"-"))
            if len(flood) % 20 == 0:
                client.ask()
        at_once_s = min(HEADER_TIMEOUT_S, BODY_TIMEOUT_S) / 2  # far less than any timeout
        drive(flood, scaled(at_once_s), trickle=False, during=client.ask)
        refused = [c for c in flood if c.closed_at is not None]
        admitted = FLOOD_CONNECTIONS - len(refused)
        print(f"[e2e] flood of {FLOOD_CONNECTIONS}: {len(refused)} closed at once (after at most "
              f"{max((c.lived_s for c in refused), default=0):.3f} s), {admitted} admitted; client answers {client.statuses}")
        # The client's connection holds one place; at most two more places may still be held by
        # connections of the check above, released a moment late.
        over = FLOOD_CONNECTIONS - (MAX_CONNECTIONS - 1)
        assert over <= len(refused) <= over + 2, (len(refused), over)
        assert all(c.received == b"" for c in flood), "a refused connection is closed without an answer"
        for _ in range(3):
            client.ask()
        assert len(client.statuses) >= 10 and all(s == 200 for s in client.statuses), client.statuses
        # Asked on the client's connection: a new one would be refused while the flood holds every place.
        assert metric(node, "totem_api_connections_refused_total", client) - refused_before == len(refused)
        lines = log_text(node)[log_before:].count("API connections refused")
        assert lines == 1, log_text(node)[log_before:]
    finally:
        for c in flood:
            c.close()
        client.close()
    # Places are given back when connections close: a new client is served again.
    wait_open_connections_at_most(node, 1)
    assert node.client.status()["chainId"]


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(node):
    """A connection that asked once and then says nothing is closed after idle_timeout_ms."""
    c = Conn(port_of(node), b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"-")
    try:
        drive([c], IDLE_TIMEOUT_S + MARGIN_S, trickle=False)
    finally:
        c.close()
    assert c.received.startswith(b"HTTP/1.1 200 OK"), c.received[:200]
    assert c.lived_s is not None and IDLE_TIMEOUT_S - 0.05 <= c.lived_s <= IDLE_TIMEOUT_S + MARGIN_S, c.lived_s


def test_a_request_that_is_not_http_gets_a_400_json_error(node):
    c = Conn(port_of(node), b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\x01: x\r\n\r\n", b"-")
    try:
        drive([c], scaled(5), trickle=False)
    finally:
        c.close()
    head, _, body = c.received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), c.received[:300]
    resp = tc.Response(400, {}, body)
    resp.json = json.loads(body)
    assert tc.check_error_body(resp) == [] and resp.json["error"]["code"] == "malformed_http", c.received


def test_a_graceful_shutdown_logs_no_error(net, node):
    """SIGTERM while connections are open (one idle, one mid-header, one waiting for a block that
    will not come): the node exits 0 by itself, and its log has no error or critical line."""
    port = port_of(node)
    waiting = Conn(port, b"GET /v1/blocks/1000000?waitMs=10000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"-")
    idle = Conn(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"-")
    mid_header = Conn(port, b"GET /v1/status HTTP/1.1\r\nHost: 127", b"-")
    try:
        wait_until("the three connections to be open", lambda: metric(node, "totem_api_connections_open") >= 4, scaled(5))
        rc = net.kill(node, signal.SIGTERM)
    finally:
        for c in (waiting, idle, mid_header):
            c.close()
    log = log_text(node)
    start = log.rfind("===== e2e: start")
    assert rc == 0, f"exit status {rc}:\n{log[start:][-3000:]}"
    assert "node stopped" in log[start:], log[start:][-3000:]
    assert ERROR_LINE.findall(log[start:]) == [], "\n".join(
        ln for ln in log[start:].splitlines() if ERROR_LINE.match(ln + "\n"))
