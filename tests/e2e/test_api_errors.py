"""The public API under malformed input, against a running node (node0, the anchor node).

Each bad request gets a 4xx answer whose body is exactly `{"error": {"code", "message"}}` (codes
stable snake_case), malformed transactions inside a well-formed batch get per-tx results, and the
node stays healthy (GET /healthz 200 on every node) afterwards.
"""

import http.client
import json
import urllib.parse

import pytest

import totem_client as tc
from totem_net import Actor, submit_accepted, tx_committed, tx_final

MiB = 1 << 20


@pytest.fixture(scope="module")
def api(network):
    return network.nodes[0].client


@pytest.fixture(scope="module")
def committed_tx(network, api):
    """One committed tx (an AddRegistrar by the root registrar), to query in the wrong forms."""
    root = Actor("root", tc.read_key_file(network.root_registrar_path, strict=False), network)
    network.settle()
    root.sync(api)
    t = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": tc.KeyPair.generate().public_key, "name": "api test"})
    submit_accepted(api, [t])
    tx_committed(api, t)
    return t


def expect_error(resp: tc.Response, status=None, code=None):
    assert 400 <= resp.status < 500, f"expected a 4xx, got {resp.describe()}"
    if status is not None:
        assert resp.status == status, resp.describe()
    assert tc.check_error_body(resp) == [], resp.describe()
    if code is not None:
        assert resp.error_code() == code, resp.describe()


def post_txs(api, body: bytes) -> tc.Response:
    return api.request("POST", "/v1/txs", body)


# --- POST /v1/txs: bodies of another shape are a 400

@pytest.mark.parametrize("body", [
    b'{"txs": [',                      # not JSON
    b"",                               # empty body
    b"\xff\xfe{}",                     # not UTF-8
    b"[]",                             # not an object
    b'"txs"',
    b"{}",                             # no txs
    b'{"tx": ["00"]}',                 # another key
    b'{"txs": "00"}',                  # not a list
    b'{"txs": [1]}',                   # items not strings
    b'{"txs": [null]}',
    b'{"txs": [["00"]]}',
    b'{"txs": []}',                    # 0 txs
], ids=["truncated-json", "empty-body", "not-utf8", "array", "string", "no-txs", "other-key",
        "txs-not-list", "item-number", "item-null", "item-list", "empty-list"])
def test_submit_body_of_another_shape_is_400(api, body):
    expect_error(post_txs(api, body), status=400)


def test_submit_with_extra_top_level_key_is_400(api):
    # OpenAPI: additionalProperties false on the POST /v1/txs body.
    expect_error(post_txs(api, json.dumps({"txs": ["00"], "extra": 1}).encode()), status=400)


def test_submit_1001_txs_is_400_and_1000_is_answered_per_tx(api):
    expect_error(post_txs(api, json.dumps({"txs": ["00"] * 1001}).encode()), status=400)
    resp = post_txs(api, json.dumps({"txs": ["00"] * 1000}).encode())
    assert resp.status == 200, resp.describe()
    results = resp.json["results"]
    assert len(results) == 1000
    h = tc.sha256(b"\x00").hex()
    assert all(r["accepted"] is False and r["txHash"] == h and r["error"]["code"] == "malformed_tx"
               for r in results), results[:3]


def raw_post(api, body: bytes, chunked: bool) -> tc.Response:
    """POST /v1/txs with http.client, tolerating a server that answers and closes before reading
    the whole body; either with Content-Length or with chunked transfer encoding."""
    u = urllib.parse.urlsplit(api.base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.putrequest("POST", "/v1/txs")
        conn.putheader("Content-Type", "application/json")
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        else:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        try:
            for i in range(0, len(body), MiB):
                piece = body[i:i + MiB]
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading it all; read its answer
        try:
            r = conn.getresponse()
            resp = tc.Response(r.status, dict(r.getheaders()), r.read())
        except (ConnectionError, http.client.HTTPException) as e:
            raise AssertionError(f"the server closed the connection without an answer we could read "
                                 f"({e!r}); a 413 needs a lingering close (RFC 9112 9.6)") from None
    finally:
        conn.close()
    try:
        resp.json = json.loads(resp.body) if resp.body else None
    except ValueError as e:
        resp.json_error = str(e)
    return resp


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversize_body_is_413_body_too_large(api, chunked):
    body = b'{"txs": ["' + b"00" * (8 * MiB + 1024) + b'"]}'  # just over 16 MiB
    assert len(body) > 16 * MiB
    expect_error(raw_post(api, body, chunked), status=413, code="body_too_large")


def test_body_of_exactly_16_mib_is_not_too_large(api):
    prefix, suffix = b'{"txs": [ "', b'"]}'
    tx = b"\x00" * ((16 * MiB - len(prefix) - len(suffix)) // 2)
    body = prefix + tx.hex().encode() + suffix
    assert len(body) == 16 * MiB
    resp = raw_post(api, body, chunked=False)
    assert resp.status == 200, f"a 16 MiB body is within the limit: {resp.describe()}"
    [r] = resp.json["results"]
    assert r == {**r, "accepted": False, "txHash": tc.sha256(tx).hex()}, r
    assert r["error"]["code"] == "malformed_tx", r


# --- POST /v1/txs: per-tx results for strings that are not a decodable SignedTx

def submit_one(api, item: str) -> dict:
    resp = post_txs(api, json.dumps({"txs": [item]}).encode())
    assert resp.status == 200, resp.describe()
    [r] = resp.json["results"]
    return r


def assert_refused(r: dict, code=None, tx_hash="any"):
    assert r["accepted"] is False, r
    assert isinstance(r.get("error"), dict) and isinstance(r["error"].get("code"), str) \
        and isinstance(r["error"].get("message"), str), r
    if code is not None:
        assert r["error"]["code"] == code, r
    if tx_hash != "any":
        assert r["txHash"] == tx_hash, r


@pytest.mark.parametrize("item", ["zz", "0g", "abc", " 00", "0x00", "00\n"],
                         ids=["non-hex", "non-hex-digit", "odd-length", "leading-space", "0x-prefix",
                              "trailing-newline"])
def test_tx_string_that_is_not_hex_is_malformed_with_null_hash(api, item):
    assert_refused(submit_one(api, item), code="malformed_tx", tx_hash=None)


def test_tx_in_uppercase_hex_is_malformed(api, network):
    t = Actor("x", tc.KeyPair.generate(), network).tx(
        tc.KIND_REGISTER_WORK, tc.work(tc.sha256(b"upper"), "upper"))
    # JSON hex is lowercase; any other form is refused (PROTOCOL.md: one value, one JSON text).
    assert_refused(submit_one(api, t.hex().upper()), code="malformed_tx", tx_hash=None)


def _signed(network, kind=tc.KIND_REGISTER_WORK, **tx_fields):
    key = tc.KeyPair.generate()
    tx = tc.Tx(chain_id=network.genesis["chainId"], kind=kind, sender=key.public_key, nonce=1,
               payload=tc.work(tc.sha256(key.public_key), "t"))
    if tx_fields:
        tx = tc.Tx(**{**tx.__dict__, **tx_fields})
    return tx.sign(key, network.genesis_hash)


def test_empty_tx_string_is_malformed_with_null_hash(api):
    # Zero bytes hold no transaction, so there is no tx hash to report (issue 11: not the SHA-256
    # of the empty string, which names no tx).
    assert_refused(submit_one(api, ""), code="malformed_tx", tx_hash=None)


@pytest.mark.parametrize("mutation", ["zero-byte", "truncated", "trailing-byte", "kind-12",
                                      "version-2", "oversize"])
def test_tx_that_does_not_decode_is_malformed_with_its_hash(api, network, mutation):
    raw = _signed(network).encode()
    bad = {
        "zero-byte": b"\x00",
        "truncated": raw[:-1],
        "trailing-byte": raw + b"\x00",
        "kind-12": raw[:1 + 4 + len(network.genesis["chainId"])] + b"\x0c" + raw[2 + 4 + len(network.genesis["chainId"]):],
        "version-2": b"\x02" + raw[1:],
        "oversize": raw + b"\x00" * (65_537 - len(raw)),
    }[mutation]
    assert len(bad) != len(raw) or bad != raw
    assert_refused(submit_one(api, bad.hex()), code="malformed_tx", tx_hash=tc.sha256(bad).hex())


def test_invalid_signatures_are_refused_and_never_committed(api, network):
    root = Actor("root", tc.read_key_file(network.root_registrar_path, strict=False), network)
    network.settle()
    root.sync(api)
    # The root registrar's next AddRegistrar passes every cheap check; only the signature is wrong.
    good = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": tc.KeyPair.generate().public_key, "name": "sig"})
    flipped = tc.SignedTx(good.tx, bytes([good.signature[0] ^ 1]) + good.signature[1:])
    other_genesis = tc.SignedTx(good.tx, root.key.sign(tc.signing_message(tc.DOMAIN_TX, bytes(32), good.tx.encode())))
    no_domain = tc.SignedTx(good.tx, root.key.sign(good.tx.encode()))
    by_other_key = tc.SignedTx(good.tx, tc.KeyPair.generate().sign(good.tx.signing_message(network.genesis_hash)))
    bad = [flipped, other_genesis, no_domain, by_other_key]
    resp = post_txs(api, json.dumps({"txs": [t.hex() for t in bad]}).encode())
    assert resp.status == 200, resp.describe()
    results = resp.json["results"]
    assert len(results) == len(bad)
    for t, r in zip(bad, results):
        assert_refused(r, tx_hash=t.tx_hash.hex())
        assert r["error"]["code"] != "malformed_tx", r  # it decodes; the signature is what is wrong
        status = api.tx_status(t.tx_hash)
        assert status.status == 404 and status.error_code() == "tx_not_found", status.describe()
    print("[e2e] invalid signature codes:", sorted({r["error"]["code"] for r in results}))


def test_results_are_one_per_tx_in_order(api, network):
    """A batch mixing a valid tx with refused strings: one result per tx, in order, and the valid
    one is accepted and commits."""
    root = Actor("root", tc.read_key_file(network.root_registrar_path, strict=False), network)
    network.settle()
    root.sync(api)
    good = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": tc.KeyPair.generate().public_key, "name": "mixed"})
    resp = post_txs(api, json.dumps({"txs": ["zz", good.hex(), "00", good.hex()[:-2]]}).encode())
    assert resp.status == 200, resp.describe()
    r = resp.json["results"]
    assert len(r) == 4, r
    assert_refused(r[0], code="malformed_tx", tx_hash=None)
    assert r[1] == {**r[1], "txHash": good.tx_hash.hex(), "accepted": True}, r[1]
    assert_refused(r[2], code="malformed_tx", tx_hash=tc.sha256(b"\x00").hex())
    assert_refused(r[3], code="malformed_tx", tx_hash=tc.sha256(good.encode()[:-1]).hex())
    tx_committed(api, good)


def test_a_used_nonce_never_commits(api, network, committed_tx):
    """A different tx reusing a committed nonce of its sender is refused at submission or
    rejected after it; it never commits."""
    root = tc.read_key_file(network.root_registrar_path, strict=False)
    reuse = tc.Tx(chain_id=network.genesis["chainId"], kind=tc.KIND_ADD_REGISTRAR, sender=root.public_key,
                  nonce=committed_tx.tx.nonce,
                  payload={"subject": tc.KeyPair.generate().public_key, "name": "replayed nonce"}
                  ).sign(root, network.genesis_hash)
    [r] = api.submit([reuse])
    assert r["txHash"] == reuse.tx_hash.hex(), r
    if r["accepted"]:
        final = tx_final(api, reuse.tx_hash)
        assert final["status"] == "rejected", f"a tx reusing nonce {reuse.tx.nonce} was {final}"
    else:
        assert_refused(r)


def test_tx_for_another_chain_is_refused(api, network):
    t = _signed(network, chain_id="totem-other-chain")
    assert_refused(submit_one(api, t.hex()), tx_hash=t.tx_hash.hex())


# --- Paths and query parameters

HASH_ROUTES = ["/v1/txs/{}", "/v1/works/{}", "/v1/accounts/{}", "/v1/certificates/{}"]
BAD_HEX = {
    "uppercase": lambda h: h.upper(),
    "non-hex": lambda h: "zz" + h[2:],
    "odd-length": lambda h: h[:-1],
    "short": lambda h: h[:-2],
    "long": lambda h: h + "00",
    "0x-prefix": lambda h: "0x" + h[2:],
}


@pytest.mark.parametrize("route", HASH_ROUTES)
@pytest.mark.parametrize("form", list(BAD_HEX))
def test_bad_hex_in_path_is_a_4xx_json_error(api, committed_tx, route, form):
    # The hash of a real, committed tx (and its sender's key), so only the form is wrong.
    value = committed_tx.tx.sender.hex() if "accounts" in route else committed_tx.tx_hash.hex()
    resp = api.request("GET", route.format(BAD_HEX[form](value)))
    expect_error(resp)


def test_the_lowercase_forms_answer(api, committed_tx):
    # The control of the test above: the same values in canonical form are found.
    assert api.tx_status(committed_tx.tx_hash).json["status"] == "committed"
    assert api.account(committed_tx.tx.sender)["publicKey"] == committed_tx.tx.sender.hex()
    assert api.certificate(committed_tx.tx_hash).status == 200


@pytest.mark.parametrize("path", ["/v1/nope", "/v2/status", "/v1/txs/" + "00" * 32 + "/extra",
                                  "/v1/status/extra", "/healthz/x"])
def test_unknown_route_is_404_json(api, path):
    expect_error(api.request("GET", path), status=404)


@pytest.mark.parametrize("method,path,allow", [
    ("TRACE", "/v1/status", "GET, HEAD"),
    ("DELETE", "/v1/txs/" + "00" * 32, "GET, HEAD"),
    ("GET", "/v1/txs/json", "POST"),
    ("PUT", "/v1/txs", "POST"),
    ("POST", "/v1/works/similar", "GET, HEAD"),
    ("PATCH", "/v1/blocks/1", "GET, HEAD"),
    ("OPTIONS", "/healthz", "GET, HEAD"),
])
def test_a_known_path_with_another_method_is_405_with_allow(api, method, path, allow):
    # RFC 9110 15.5.6 (issue 11: TRACE answered 404): the path exists, the method does not.
    resp = api.request(method, path)
    expect_error(resp, status=405, code="method_not_allowed")
    assert resp.headers.get("Allow") == allow, resp.headers


def test_head_answers_as_get_without_a_body(api):
    """RFC 9110 9.3.2: HEAD has GET's status and headers and no body, so the next answer on the
    same keep-alive connection is read intact."""
    u = urllib.parse.urlsplit(api.base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        answers = []
        for method, path in [("HEAD", "/healthz"), ("HEAD", "/v1/nope"), ("HEAD", "/v1/txs"), ("GET", "/healthz")]:
            conn.request(method, path)
            r = conn.getresponse()
            answers.append((r.status, r.getheader("Content-Length"), r.getheader("Allow"), r.read()))
    finally:
        conn.close()
    ok, unknown, post_only, get = answers
    assert ok[:2] == (200, get[1]) and ok[3] == b"" and get[3] == b'{"status":"ok"}\n', answers
    assert unknown[0] == 404 and unknown[3] == b"", answers
    assert post_only[0] == 405 and post_only[2] == "POST" and post_only[3] == b"", answers


@pytest.mark.parametrize("path", ["/v1/blocks/0", "/v1/blocks/-1", "/v1/blocks/abc", "/v1/blocks/1.5",
                                  "/v1/blocks/+1", "/v1/blocks/99999999999999999999999"])
def test_bad_block_height_is_a_4xx_json_error(api, path):
    expect_error(api.request("GET", path))


CODE = "f0e1d2c3b4a59687"


@pytest.mark.parametrize("query", [
    {"imageCode": CODE, "maxDistance": "17"},
    {"imageCode": CODE, "maxDistance": "-1"},
    {"imageCode": CODE, "maxDistance": "x"},
    {"imageCode": CODE, "limit": "0"},
    {"imageCode": CODE, "limit": "101"},
    {"imageCode": CODE, "limit": "1e2"},
    {},
    {"imageCode": CODE[:-1]},
    {"imageCode": CODE + "0"},
    {"imageCode": CODE.upper()},
    {"imageCode": "zz" + CODE[2:]},
], ids=["maxDistance-17", "maxDistance-neg", "maxDistance-nan", "limit-0", "limit-101", "limit-exp",
        "no-imageCode", "imageCode-15-digits", "imageCode-17-digits", "imageCode-uppercase",
        "imageCode-non-hex"])
def test_similar_out_of_range_is_400(api, query):
    expect_error(api.request("GET", "/v1/works/similar?" + urllib.parse.urlencode(query)), status=400)


@pytest.mark.parametrize("query", [{"maxDistance": "0", "limit": "1"}, {"maxDistance": "16", "limit": "100"}, {}])
def test_similar_in_range_answers(api, query):
    resp = api.request("GET", "/v1/works/similar?" + urllib.parse.urlencode({"imageCode": CODE, **query}))
    assert resp.status == 200 and isinstance(resp.json.get("matches"), list), resp.describe()


def test_not_found_answers(api):
    h = tc.sha256(b"nothing").hex()
    expect_error(api.request("GET", f"/v1/txs/{h}"), status=404, code="tx_not_found")
    expect_error(api.request("GET", f"/v1/works/{h}"), status=404, code="work_not_found")
    expect_error(api.request("GET", f"/v1/certificates/{h}"), status=404)
    fresh = api.request("GET", f"/v1/accounts/{h}")
    assert fresh.status == 200 and fresh.json["nextNonce"] == 1 and fresh.json["identity"] is None, fresh.describe()


def test_status_and_metrics_answer(api):
    s = api.status()
    assert {"chainId", "genesisHash", "height", "latestBlockHash"} <= set(s), s
    text = api.metrics()
    samples = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert samples and all(len(ln.split()) >= 2 for ln in samples), text[:500]


def test_nodes_stay_healthy_after_bad_input(network):
    # Runs after the tests above (file order): every node still serves and the chain still commits.
    network.check_alive()
    for node in network.nodes:
        assert node.client.healthz() == 200, node.name
    root = Actor("root", tc.read_key_file(network.root_registrar_path, strict=False), network)
    c = network.nodes[1].client
    network.settle()
    root.sync(c)
    t = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": tc.KeyPair.generate().public_key, "name": "after"})
    submit_accepted(c, [t])
    tx_committed(c, t)


# --- GET /v1/blocks/{height}?waitMs=: waits for a block not committed yet (a project extension)

@pytest.mark.parametrize("wait", ["-1", "10001", "x", "1.5"])
def test_bad_block_wait_is_a_4xx_json_error(api, wait):
    height = api.status()["height"]
    expect_error(api.request("GET", f"/v1/blocks/{height}?waitMs={wait}"), status=400, code="bad_parameter")


def test_a_block_request_with_waitms_returns_when_the_block_is_committed(network, api):
    import threading
    import time
    root = Actor("root", tc.read_key_file(network.root_registrar_path, strict=False), network)
    network.settle()
    root.sync(api)
    # A height far ahead is not reached: the wait ends at its timeout with the usual 404.
    far = api.status()["height"] + 1_000_000
    started = time.monotonic()
    expect_error(api.request("GET", f"/v1/blocks/{far}?waitMs=300"), status=404, code="block_not_found")
    assert time.monotonic() - started >= 0.25
    # The next block: a tx submitted while the request waits makes it, and the answer is that block.
    next_height = api.status()["height"] + 1
    answer = {}

    def wait_for_block():
        answer["resp"] = api.request("GET", f"/v1/blocks/{next_height}?waitMs=10000", timeout_s=15)
        answer["at"] = time.monotonic()

    waiter = threading.Thread(target=wait_for_block)
    waiter.start()
    time.sleep(0.2)
    t = root.tx(tc.KIND_ADD_REGISTRAR, {"subject": tc.KeyPair.generate().public_key, "name": "wait test"})
    submit_accepted(api, [t])
    tx_committed(api, t)
    committed_at = time.monotonic()
    waiter.join(15)
    resp = answer["resp"]
    assert resp.status == 200, resp.describe()
    assert resp.json["height"] == next_height
    # Answered when the block was committed, not at the end of the 10 s wait.
    assert answer["at"] - committed_at < 5
