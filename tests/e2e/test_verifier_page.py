"""The certificate verifier page (Sources/totemd/Web/verify.html) in a real headless Chromium:

- every conformance certificate gives in the page the verdict and failing step that `totemd verify`
  gives and that expected.json names, file for file, and so do 180 seeded variants of the valid ones;
  the vectors' genesis files are accepted or refused as the vectors say;
- Wycheproof's Ed25519 vectors, plus edge cases built here (small-order and mixed-order keys,
  small-order R, S >= L, non-canonical keys), get the same accept/reject in the browser as from
  libsodium's crypto_sign_verify_detached (the real library, through ctypes);
- from file:// with the network off, through the file inputs: a valid and an invalid certificate,
  every step's result, an image that is not the work, a genesis pinned into the page and one chosen
  over it; a one-page print; labels, headings and keyboard use;
- on a real devnet: a registered picture's certificate with the picture itself (SHA-256 match), and
  node0's `GET /verify` with the node's genesis pinned.
"""

import base64
import ctypes
import ctypes.util
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

import browser
import totem_client as tc
from conftest import REPO_ROOT
from totem_net import Actor, submit_accepted, tx_committed

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

PAGE = os.path.join(REPO_ROOT, "Sources", "totemd", "Web", "verify.html")
CERTS = os.path.join(REPO_ROOT, "testdata", "totem", "certificates")
GENESIS = os.path.join(CERTS, "genesis.json")
WYCHEPROOF = os.path.join(REPO_ROOT, "testdata", "wycheproof", "ed25519_test.json")
STEPS = ["format", "genesis", "validatorSets", "header", "commit", "tx", "inclusion", "work"]
PAGE_MAX_BYTES = 300 * 1024
PINNED_ELEMENT = '<script type="application/octet-stream" id="pinned-genesis" data-encoding="base64"></script>'


def page_url(path: str = PAGE) -> str:
    return "file://" + os.path.abspath(path)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def driver():
    d = browser.chromium(offline=True)
    try:
        yield d
    finally:
        d.quit()


def load(d, url: str = None) -> None:
    d.get(url or page_url())
    browser.wait_for(d, lambda d: d.execute_script("return typeof window.totemVerify === 'function'"),
                     message="the page's script did not start")


def run_js(d, body: str, *args):
    """Runs an async function body in the page with `args` as `args`; returns its value."""
    script = ("const done = arguments[arguments.length - 1];"
              "const args = Array.prototype.slice.call(arguments, 0, -1);"
              f"(async () => {{ {body} }})().then(done, e => done({{__error: String(e && e.stack || e)}}));")
    out = d.execute_async_script(script, *args)
    if isinstance(out, dict) and "__error" in out:
        raise AssertionError(f"page script failed: {out['__error']}")
    return out


# -------------------------------------------------------------------------------------------------
# Size and self-containment


def test_page_is_small_self_contained_and_has_the_hooks():
    data = read(PAGE)
    assert len(data) < PAGE_MAX_BYTES, f"verify.html is {len(data)} bytes"
    text = data.decode("utf-8")
    assert text.count(PINNED_ELEMENT) == 1, "the empty pinned-genesis element must appear exactly once"
    assert text.count('id="pinned-genesis"') == 1
    # No external resource: no src/href to anything but the page itself, no fetch or XHR.
    assert not re.search(r'\b(src|href)\s*=\s*["\']?(https?:)?//', text, re.I), "an external resource"
    assert not re.search(r"\bfetch\s*\(|XMLHttpRequest|WebSocket|EventSource|import\s*\(", text)
    assert "<html lang=\"en\">" in text
    for hook in ('id="certificate"', 'id="genesis"', 'id="image"', 'id="verdict"'):
        assert hook in text, hook


# -------------------------------------------------------------------------------------------------
# Conformance certificates: the page against `totemd verify` and expected.json


def totemd_verify(totemd: str, path: str) -> str:
    """`totemd verify <file> --genesis genesis.json`: "valid" or the failing step's name."""
    res = subprocess.run([totemd, "verify", path, "--genesis", GENESIS], capture_output=True, text=True,
                         timeout=30)
    if res.returncode == 0:
        assert re.search(r"^VALID:", res.stdout, re.M), res.stdout
        return "valid"
    m = re.search(r"^FAIL\s+(\w+):", res.stdout, re.M)
    assert res.returncode == 1 and m, f"totemd verify {path}: exit {res.returncode}\n{res.stdout}{res.stderr}"
    return m.group(1)


def test_every_conformance_certificate_matches_totemd_verify(driver, totemd):
    with open(os.path.join(CERTS, "expected.json")) as f:
        expected = json.load(f)
    files = sorted(expected)
    assert len(files) >= 98 and {"valid"} < set(expected.values())
    load(driver)
    started = time.monotonic()
    results = run_js(driver, """
        const [certs, genesis] = args, B = window.totemBytes, out = {};
        for (const [name, c] of Object.entries(certs)) out[name] = await window.totemVerify(B.fromBase64(c), B.fromBase64(genesis));
        return out;""", {name: b64(read(os.path.join(CERTS, name))) for name in files}, b64(read(GENESIS)))
    page_s = time.monotonic() - started
    with ThreadPoolExecutor(max_workers=4) as pool:
        cli_by_name = dict(zip(files, pool.map(lambda n: totemd_verify(totemd, os.path.join(CERTS, n)), files)))
    mismatches = []
    for name in files:
        r = results[name]
        page = "valid" if r["verdict"] == "valid" else r["failedStep"]
        cli = cli_by_name[name]
        # The page's own checklist is consistent: ok up to the failing step, skipped after it.
        results_by_step = [s["result"] for s in r["steps"]]
        assert [s["step"] for s in r["steps"]] == STEPS
        if r["verdict"] == "valid":
            assert results_by_step == ["ok"] * 8 and r["failedStep"] is None, (name, r)
        else:
            i = STEPS.index(r["failedStep"])
            assert r["verdict"] == "invalid" and r["reason"], (name, r)
            assert results_by_step == ["ok"] * i + ["failed"] + ["skipped"] * (7 - i), (name, r)
        if not (page == cli == expected[name]):
            mismatches.append(f"{name}: expected {expected[name]}, page {page} ({r['reason']}), totemd {cli}")
    assert not mismatches, "\n".join(mismatches)
    print(f"\n[verifier] {len(files)} certificates agree (page {page_s:.2f} s)")


def test_genesis_files_of_the_vectors_are_accepted_or_refused_as_the_vectors_say(driver):
    """The trust root is parsed as strictly as by the node: the vectors' 20 genesis files."""
    with open(os.path.join(REPO_ROOT, "testdata", "totem", "vectors.json")) as f:
        cases = json.load(f)["genesisFiles"]
    assert len(cases) >= 20
    load(driver)
    results = run_js(driver, """
        const out = [];
        for (const text of args[0]) {
          try { out.push(await window.totemGenesis(text)); } catch (e) { out.push({refused: String(e.message)}); }
        }
        return out;""", [c["file"] for c in cases])
    wrong = []
    for c, r in zip(cases, results):
        accept = c["accept"] in (True, "True", "true")
        if accept != ("refused" not in r) or (accept and r["genesisHash"] != c["genesisHash"]):
            wrong.append(f"{c['name']}: vectors say accept={accept}, page {r}")
    assert not wrong, "\n".join(wrong)


def mutations(seed: int, count: int) -> list[tuple[str, bytes]]:
    """Seeded variants of the valid certificates: bits flipped in the text, and tx or header bytes
    changed with txHash or blockHash recomputed (so decoding is reached), JSON values changed,
    keys removed or added, signature entries repeated or reordered."""
    import random
    rng = random.Random(seed)
    valid = sorted(n for n in os.listdir(CERTS) if n.startswith("valid-"))
    out = []

    def mutate_bytes(b: bytes) -> bytes:
        b = bytearray(b)
        kind = rng.randrange(5)
        if kind == 0 and b:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif kind == 1 and b:
            del b[rng.randrange(len(b)):]
        elif kind == 2:
            b.insert(rng.randrange(len(b) + 1), rng.randrange(256))
        elif kind == 3 and len(b) > 4:
            i = rng.randrange(len(b) - 4)
            b[i:i + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x00\x00\x01", b"\x00\x00\x04\x01"])
        elif b:
            b[rng.randrange(len(b))] = rng.choice([0, 1, 2, 12, 0x80, 0xc0, 0xff])
        return bytes(b)

    def walk(v, path=()):
        yield path, v
        if isinstance(v, dict):
            for k, x in v.items():
                yield from walk(x, path + (k,))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                yield from walk(x, path + (i,))

    def parent(doc, path):
        for p in path[:-1]:
            doc = doc[p]
        return doc

    for i in range(count):
        name = rng.choice(valid)
        text = read(os.path.join(CERTS, name))
        doc = json.loads(text)
        kind = i % 6
        label = f"{name} #{i}"
        if kind == 0:
            b = bytearray(text)
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            out.append((label + " text bit", bytes(b)))
            continue
        if kind == 1:
            tx = mutate_bytes(base64.b64decode(doc["tx"]))
            doc["tx"], doc["txHash"] = b64(tx), hashlib.sha256(tx).hexdigest()
            label += " tx bytes"
        elif kind == 2:
            h = mutate_bytes(base64.b64decode(doc["header"]))
            doc["header"], doc["blockHash"] = b64(h), hashlib.sha256(h).hexdigest()
            label += " header bytes"
        elif kind == 3:
            ints = [(p, v) for p, v in walk(doc) if isinstance(v, int) and not isinstance(v, bool)]
            p, v = rng.choice(ints)
            parent(doc, p)[p[-1]] = rng.choice([v + 1, max(v - 1, 0), 0, 2**32, 2**53 - 1, 2**53, -1, float(v), str(v)])
            label += f" {'.'.join(map(str, p))}"
        elif kind == 4:
            keyed = [(p, v) for p, v in walk(doc) if p and isinstance(p[-1], str)]
            p, _ = rng.choice(keyed)
            if rng.random() < 0.5:
                del parent(doc, p)[p[-1]]
                label += f" without {'.'.join(map(str, p))}"
            else:
                parent(doc, p)["extra"] = 1
                label += f" extra key beside {'.'.join(map(str, p))}"
        else:
            sig_lists = [(p, v) for p, v in walk(doc) if p and p[-1] == "signatures" and v]
            p, sigs = rng.choice(sig_lists)
            if rng.random() < 0.5:
                rng.shuffle(sigs)
                label += f" {'.'.join(map(str, p))} reordered"
            else:
                sigs.append(dict(rng.choice(sigs)))
                label += f" {'.'.join(map(str, p))} entry repeated"
        out.append((label, json.dumps(doc, indent=rng.choice([None, 2]), ensure_ascii=rng.random() < 0.5).encode()))
    return out


def test_mutated_certificates_get_the_same_verdict_as_totemd_verify(driver, totemd, tmp_path):
    """A differential check beyond the fixed vectors: 180 seeded variants of the valid
    certificates, each through the page and `totemd verify`."""
    seed = int(os.environ.get("TOTEM_E2E_VERIFIER_SEED", "20261203"))
    cases = mutations(seed, 180)
    paths = []
    for i, (_, data) in enumerate(cases):
        path = tmp_path / f"m{i:03d}.json"
        path.write_bytes(data)
        paths.append(str(path))
    with ThreadPoolExecutor(max_workers=4) as pool:
        cli = list(pool.map(lambda p: totemd_verify(totemd, p), paths))
    load(driver)
    page = run_js(driver, """
        const [certs, genesis] = args, B = window.totemBytes, out = [];
        for (const c of certs) { const r = await window.totemVerify(B.fromBase64(c), B.fromBase64(genesis));
                                 out.push(r.verdict === "valid" ? "valid" : r.failedStep); }
        return out;""", [b64(data) for _, data in cases], b64(read(GENESIS)))
    wrong = [f"{label}: totemd {c}, page {p}" for (label, _), c, p in zip(cases, cli, page) if c != p]
    assert not wrong, f"seed {seed}:\n" + "\n".join(wrong)
    outcomes = sorted(set(cli))
    assert "valid" in outcomes and len(outcomes) >= 6, outcomes  # the variants reach many steps
    print(f"\n[verifier] {len(cases)} mutated certificates agree (seed {seed}): "
          + ", ".join(f"{o} {cli.count(o)}" for o in outcomes))


# -------------------------------------------------------------------------------------------------
# Ed25519: the page against libsodium


def libsodium():
    name = "libsodium.so.23"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        found = ctypes.util.find_library("sodium")
        if not found:
            pytest.fail("libsodium not found (Debian: libsodium23, installed with libsodium-dev)", pytrace=False)
        lib = ctypes.CDLL(found)
    assert lib.sodium_init() >= 0
    f = lib.crypto_sign_verify_detached
    f.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_char_p]
    f.restype = ctypes.c_int
    v = lib.sodium_version_string
    v.restype = ctypes.c_char_p
    return f, v().decode()


# A minimal edwards25519 (affine-free, extended coordinates) to build edge cases; test use only.
FQ = 2**255 - 19
ORDER = 2**252 + 27742317777372353535851937790883648493
CURVE_D = -121665 * pow(121666, FQ - 2, FQ) % FQ
SQRT_M1 = pow(2, (FQ - 1) // 4, FQ)
IDENTITY = (0, 1, 1, 0)


def pt_add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % FQ
    b = (y1 + x1) * (y2 + x2) % FQ
    c = 2 * CURVE_D * t1 * t2 % FQ
    dd = 2 * z1 * z2 % FQ
    e, f, g, h = b - a, dd - c, dd + c, b + a
    return (e * f % FQ, g * h % FQ, f * g % FQ, e * h % FQ)


def pt_mul(s, p):
    r = IDENTITY
    while s:
        if s & 1:
            r = pt_add(r, p)
        p = pt_add(p, p)
        s >>= 1
    return r


def pt_encode(p) -> bytes:
    x, y, z, _ = p
    zi = pow(z, FQ - 2, FQ)
    x, y = x * zi % FQ, y * zi % FQ
    return (y | (x & 1) << 255).to_bytes(32, "little")


def pt_decode(b: bytes):
    """The point with this encoding (y may be non-canonical, reduced mod p), or None."""
    v = int.from_bytes(b, "little")
    sign, y = v >> 255, (v & (2**255 - 1)) % FQ
    xx = (y * y - 1) * pow(CURVE_D * y * y + 1, FQ - 2, FQ) % FQ
    x = pow(xx, (FQ + 3) // 8, FQ)
    if (x * x - xx) % FQ:
        x = x * SQRT_M1 % FQ
    if (x * x - xx) % FQ:
        return None
    if x & 1 != sign:
        x = (FQ - x) % FQ
    return (x, y, 1, x * y % FQ)


BASE = pt_decode(bytes.fromhex("58" + "66" * 31))


def h_scalar(r: bytes, a: bytes, m: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r + a + m).digest(), "little") % ORDER


def edge_cases() -> list[tuple[str, bytes, bytes, bytes]]:
    """(name, publicKey, message, signature) cases at the edges of libsodium's rules."""
    a = int.from_bytes(hashlib.sha256(b"totem verifier test scalar").digest(), "little") % ORDER
    r = int.from_bytes(hashlib.sha256(b"totem verifier test nonce").digest(), "little") % ORDER
    A = pt_encode(pt_mul(a, BASE))
    R = pt_encode(pt_mul(r, BASE))
    cases = []

    def sign(pk: bytes, m: bytes, scalar: int) -> bytes:
        return R + ((r + h_scalar(R, pk, m) * scalar) % ORDER).to_bytes(32, "little")

    m = b"edge"
    good = sign(A, m, a)
    s = int.from_bytes(good[32:], "little")
    cases += [("valid", A, m, good),
              ("S + L (non-canonical S)", A, m, R + (s + ORDER).to_bytes(32, "little")),
              ("S + 2L", A, m, R + (s + 2 * ORDER).to_bytes(32, "little")),
              ("S = L", A, m, R + ORDER.to_bytes(32, "little")),
              ("S = L - 1, wrong", A, m, R + (ORDER - 1).to_bytes(32, "little")),
              ("flipped message", A, b"edgf", good)]
    # Small-order points: y in {1, -1, 0, y8, -y8}, both signs, and y + p where that fits.
    y8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022
    small = []
    for y in (0, 1, FQ - 1, y8, FQ - y8, FQ, FQ + 1):
        for sign_bit in (0, 1):
            small.append((y | sign_bit << 255).to_bytes(32, "little"))
    ident = (1).to_bytes(32, "little")
    for enc in small:
        point = pt_decode(enc)
        # A small-order key, R = identity, S = 0: the cofactorless equation holds when [h]A = O.
        for i in range(64):
            msg = b"small-order key %d" % i
            if point is not None and pt_encode(pt_mul(h_scalar(ident, enc, msg), point)) == pt_encode(IDENTITY):
                cases.append((f"small-order key {enc.hex()} (equation holds)", enc, msg, ident + bytes(32)))
                break
        cases.append((f"small-order key {enc.hex()}", enc, m, good))
    # A small-order R with a valid equation: R = identity, S = h*a.
    h = h_scalar(ident, A, m)
    cases.append(("small-order R (identity), equation holds", A, m, ident + (h * a % ORDER).to_bytes(32, "little")))
    # R = the order-2 point: S = h*a, R + [h]A != [S]B, but check it is refused either way.
    for enc in small:
        cases.append((f"small-order R {enc.hex()}", A, m, enc + (h_scalar(enc, A, m) * a % ORDER).to_bytes(32, "little")))
    # A mixed-order key aB + T (T of order 8): libsodium accepts it when [h]T = O, i.e. h = 0 mod 8.
    t8 = pt_decode(y8.to_bytes(32, "little"))
    mixed = pt_encode(pt_add(pt_mul(a, BASE), t8))
    found = {0: 0, 1: 0}
    for i in range(200):
        msg = b"mixed-order key %d" % i
        zero = h_scalar(R, mixed, msg) % 8 == 0
        if found[zero] < 2:
            found[zero] += 1
            cases.append((f"mixed-order key, h mod 8 {'= 0' if zero else '!= 0'}", mixed, msg, sign(mixed, msg, a)))
    # Non-canonical keys y + p (y < 19): refused whatever the signature.
    for y in range(2, 19):
        enc = (y + FQ).to_bytes(32, "little")
        if pt_decode(enc) is not None:
            cases.append((f"non-canonical key y = {y} + p", enc, m, good))
            cases.append((f"canonical key y = {y}", y.to_bytes(32, "little"), m, good))
    # R not canonical: a y + p form of R (only possible when y < 19) never equals the computed R.
    cases.append(("R with the top bit flipped", A, m, bytes(good[:31]) + bytes([good[31] ^ 0x80]) + good[32:]))
    return cases


def test_wycheproof_ed25519_matches_libsodium(driver):
    verify, version = libsodium()
    with open(WYCHEPROOF) as f:
        groups = json.load(f)["testGroups"]
    cases = []
    for g in groups:
        for t in g["tests"]:
            cases.append((f"wycheproof {t['tcId']} ({t['comment']})", bytes.fromhex(g["publicKey"]["pk"]),
                          bytes.fromhex(t["msg"]), bytes.fromhex(t["sig"]), t["result"]))
    n_wycheproof = len(cases)
    assert n_wycheproof >= 150
    cases += [(name, pk, msg, sig, None) for name, pk, msg, sig in edge_cases()]
    load(driver)
    page = run_js(driver, """
        const B = window.totemBytes, out = [];
        for (const [pk, m, s] of args[0]) out.push(await window.totemEd25519Verify(B.fromHex(pk), B.fromHex(m), B.fromHex(s)));
        return out;""", [[pk.hex(), msg.hex(), sig.hex()] for _, pk, msg, sig, _ in cases])
    assert len(page) == len(cases)
    disagreements, other_length, accepted = [], 0, 0
    for (name, pk, msg, sig, wycheproof), in_page in zip(cases, page):
        if len(sig) != 64 or len(pk) != 32:
            # crypto_sign_verify_detached reads exactly 64 signature bytes; another length cannot
            # be asked of it, and the page refuses it.
            other_length += 1
            lib = False
        else:
            lib = verify(sig, msg, len(msg), pk) == 0
        accepted += lib
        if in_page is not lib:
            disagreements.append(f"{name}: libsodium {lib}, page {in_page}")
        if wycheproof is not None and lib != (wycheproof == "valid"):
            disagreements.append(f"{name}: libsodium {lib} but Wycheproof says {wycheproof}")
    assert not disagreements, "\n".join(disagreements)
    # The edge cases exercise both answers, the refusals WebCrypto alone would not make included.
    edge = {name: ok for (name, *_), ok in zip(cases[n_wycheproof:], page[n_wycheproof:])}
    assert edge["valid"] is True and edge["S + L (non-canonical S)"] is False
    assert edge["small-order R (identity), equation holds"] is False
    assert any(k.startswith("small-order key") and "equation holds" in k for k in edge)
    assert edge["mixed-order key, h mod 8 = 0"] is True and edge["mixed-order key, h mod 8 != 0"] is False
    print(f"\n[verifier] Ed25519: {len(cases)} cases ({n_wycheproof} Wycheproof, {other_length} of another "
          f"length), {accepted} accepted, page = libsodium {version}")


def test_webcrypto_alone_would_accept_what_libsodium_refuses(driver):
    """The page's own checks matter: Chromium's WebCrypto accepts a small-order R (identity) with
    a valid equation, which libsodium refuses, so the page must refuse it before WebCrypto."""
    a = int.from_bytes(hashlib.sha256(b"totem verifier test scalar").digest(), "little") % ORDER
    A = pt_encode(pt_mul(a, BASE))
    ident = (1).to_bytes(32, "little")
    m = b"edge"
    sig = ident + (h_scalar(ident, A, m) * a % ORDER).to_bytes(32, "little")
    load(driver)
    raw, strict = run_js(driver, """
        const [pk, m, s] = args[0].map(window.totemBytes.fromHex);
        const key = await crypto.subtle.importKey("raw", pk, {name: "Ed25519"}, false, ["verify"]);
        return [await crypto.subtle.verify({name: "Ed25519"}, key, s, m), await window.totemEd25519Verify(pk, m, s)];""",
                         [A.hex(), m.hex(), sig.hex()])
    assert strict is False
    # If WebCrypto refuses it too, the page's rule is still right; record which it is.
    print(f"\n[verifier] WebCrypto alone on a small-order R: {'accepts' if raw else 'refuses'}")


# -------------------------------------------------------------------------------------------------
# The file inputs, from file:// with the network off


def verdict_done(d):
    v = d.find_element(By.ID, "verdict").get_attribute("data-verdict")
    return v if v in ("valid", "invalid") else None


def step_results(d) -> dict:
    return {li.get_attribute("data-step"): li.get_attribute("data-result")
            for li in d.find_elements(By.CSS_SELECTOR, "#checklist [data-step]")}


def choose(d, input_id: str, path: str) -> None:
    d.find_element(By.ID, input_id).send_keys(os.path.abspath(path))


def requested_urls(d) -> list[str]:
    urls = []
    for entry in d.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def test_file_inputs_offline_valid_invalid_and_image(driver, tmp_path):
    d = driver
    d.get_log("performance")  # drop what earlier tests logged
    load(d)
    assert d.execute_script("return location.protocol") == "file:"
    assert d.execute_script("return navigator.onLine") is False, "the network should be off for this test"
    assert d.find_element(By.ID, "verdict").get_attribute("data-verdict") is None

    # A valid RegisterWork certificate and its genesis file.
    choose(d, "certificate", os.path.join(CERTS, "valid-registerwork.json"))
    assert verdict_done(d) is None  # no genesis yet: nothing decided
    assert "genesis" in d.find_element(By.ID, "status").text.lower()
    choose(d, "genesis", GENESIS)
    assert browser.wait_for(d, verdict_done, message="no verdict") == "valid"
    assert step_results(d) == {s: "ok" for s in STEPS}
    verdict = d.find_element(By.ID, "verdict").text
    assert "Valid" in verdict and "does not prove" in verdict
    # PROTOCOL.md's time guarantee, with this genesis's maxClockDriftMs and the 5-key set (q 4, f 1).
    drift = json.loads(read(GENESIS))["params"]["maxClockDriftMs"]
    assert f"within {drift} ms of the clocks of at least 3 honest validators" in verdict, verdict
    assert "at most 1 of the 5 validators are faulty" in verdict, verdict
    work = d.find_element(By.ID, "work-section").text
    assert "Zoë im Schnee — ❄️ Série 1" in work
    assert "403db84b5ac2724d6b9e61c40eaa486fa046167665c2b307777803a31f39e853" in work
    assert "08d686a6bbe0017b961ce68f2c85f0affbd8c3ec180dba52032e3c283127269f" in work  # registrant
    assert "2025-11-24 16:00:06.500 UTC" in work  # registeredAtMs 1764000006500
    assert "2246051d27f5916e9cc9379a1e3134361b8cb75d7e3a2085b2d1b72e36a87902" in work  # block hash
    assert re.search(r"Height\s*6\b", work)
    trust = d.find_element(By.ID, "trust-facts").text
    assert "f021dc0e99890070c60796946c395c5bf8ec12c732858f0b2cd568cbd60631ea" in trust
    d.execute_script("document.getElementById('verify-button').scrollIntoView()")
    shot = browser.screenshot(d, "verifier-valid")

    # An image that is not the work: SHA-256 mismatch, the certificate stays valid.
    other = tmp_path / "not-the-work.jpg"
    other.write_bytes(b"\xff\xd8\xff\xe0 some other picture")
    choose(d, "image", str(other))
    browser.wait_for(d, lambda d: d.find_element(By.ID, "image-check").get_attribute("data-image-result"),
                     message="no image result")
    check = d.find_element(By.ID, "image-check")
    assert check.get_attribute("data-image-result") == "mismatch", check.text
    assert hashlib.sha256(other.read_bytes()).hexdigest() in check.text
    assert verdict_done(d) == "valid"

    # An invalid certificate: the commit step fails (one signature bit flipped), the rest skipped.
    load(d)
    choose(d, "genesis", GENESIS)
    choose(d, "certificate", os.path.join(CERTS, "bad-commit-signature.json"))
    assert browser.wait_for(d, verdict_done, message="no verdict") == "invalid"
    assert step_results(d) == {"format": "ok", "genesis": "ok", "validatorSets": "ok", "header": "ok",
                               "commit": "failed", "tx": "skipped", "inclusion": "skipped", "work": "skipped"}
    verdict = d.find_element(By.ID, "verdict").text
    assert "Invalid" in verdict and "commit" in verdict and "does not verify" in verdict
    assert not d.find_element(By.ID, "work-section").is_displayed()
    d.execute_script("document.getElementById('verify-button').scrollIntoView()")
    browser.screenshot(d, "verifier-invalid")
    # An image beside an invalid certificate is not compared.
    choose(d, "image", str(other))
    browser.wait_for(d, lambda d: verdict_done(d) and
                     d.find_element(By.ID, "image-check").get_attribute("data-image-result"))
    check = d.find_element(By.ID, "image-check")
    assert check.get_attribute("data-image-result") == "not-applicable" and "not valid" in check.text
    assert verdict_done(d) == "invalid"

    # A FileClaim certificate with an image: valid, and the image is not compared (no content hash).
    load(d)
    choose(d, "genesis", GENESIS)
    choose(d, "image", str(other))
    choose(d, "certificate", os.path.join(CERTS, "valid-fileclaim.json"))
    assert browser.wait_for(d, verdict_done, message="no verdict") == "valid"
    check = d.find_element(By.ID, "image-check")
    assert check.get_attribute("data-image-result") == "not-applicable"
    assert "FileClaim" in check.text

    # A truncated certificate fails at format, everything after it skipped.
    load(d)
    choose(d, "certificate", os.path.join(CERTS, "bad-format-truncated-json.json"))
    choose(d, "genesis", GENESIS)
    assert browser.wait_for(d, verdict_done) == "invalid"
    assert step_results(d) == {"format": "failed", **{s: "skipped" for s in STEPS[1:]}}

    # Nothing but the page's own file was requested.
    urls = requested_urls(d)
    assert urls and all(u.startswith("file://") for u in urls), urls

    # The README's screenshot, refreshed on request (it is committed).
    if os.environ.get("TOTEM_E2E_README_SCREENSHOTS") == "1":
        os.makedirs(os.path.join(REPO_ROOT, "docs", "images"), exist_ok=True)
        readme_image = os.path.join(REPO_ROOT, "docs", "images", "verifier.png")
        if shutil.which("vips"):  # libvips-tools (install-deps.sh): a 256-colour PNG, a third of the size
            subprocess.run(["vips", "copy", shot, readme_image + "[palette,Q=90,compression=9]"], check=True,
                           timeout=60)
        else:
            shutil.copyfile(shot, readme_image)


def pinned_copy(tmp_path, genesis_bytes: bytes, name="verify-pinned.html") -> str:
    text = read(PAGE).decode("utf-8")
    filled = PINNED_ELEMENT.replace("></script>", f">{b64(genesis_bytes)}</script>")
    path = tmp_path / name
    path.write_text(text.replace(PINNED_ELEMENT, filled), encoding="utf-8")
    return str(path)


def test_pinned_genesis_and_a_chosen_one_overriding_it(driver, tmp_path):
    d = driver
    genesis = read(GENESIS)
    load(d, page_url(pinned_copy(tmp_path, genesis)))
    note = d.find_element(By.ID, "genesis-source").text
    assert "pinned" in note and "totem-devnet" in note
    assert hashlib.sha256(genesis).hexdigest() in note
    assert "Optional" in d.find_element(By.ID, "genesis-hint").text
    # No genesis chosen: the pinned one is used.
    choose(d, "certificate", os.path.join(CERTS, "valid-registerworkbatch.json"))
    assert browser.wait_for(d, verdict_done) == "valid"
    assert step_results(d) == {s: "ok" for s in STEPS}
    assert "pinned" in d.find_element(By.ID, "trust-facts").text
    # The JS API without a genesis uses the pinned one too.
    r = run_js(d, "return await window.totemVerify(window.totemBytes.fromBase64(args[0]));",
               b64(read(os.path.join(CERTS, "valid-submitevidence.json"))))
    assert r["verdict"] == "valid", r
    # A chosen genesis file overrides it: the same chain's file re-indented has another hash.
    other = tmp_path / "other-genesis.json"
    other.write_bytes(json.dumps(json.loads(genesis), indent=1, ensure_ascii=False).encode())
    choose(d, "genesis", str(other))
    browser.wait_for(d, lambda d: verdict_done(d) and "other-genesis.json" in
                     d.find_element(By.ID, "trust-facts").text)
    assert verdict_done(d) == "invalid"
    assert step_results(d)["genesis"] == "failed"
    assert hashlib.sha256(other.read_bytes()).hexdigest() in d.find_element(By.ID, "trust-facts").text

    # A page without a pinned genesis and without a chosen one decides nothing.
    load(d)
    assert "No genesis" in d.find_element(By.ID, "genesis-source").text
    choose(d, "certificate", os.path.join(CERTS, "valid-registerwork.json"))
    time.sleep(0.3)
    assert verdict_done(d) is None
    # A genesis file that is not a valid genesis is reported, not taken as a certificate verdict.
    bad = tmp_path / "bad-genesis.json"
    bad.write_bytes(genesis.replace(b'"chainId"', b'"chainID"', 1))
    choose(d, "genesis", str(bad))
    browser.wait_for(d, lambda d: "cannot be used" in d.find_element(By.ID, "status").text)
    assert verdict_done(d) is None


def test_prints_as_one_page_and_is_keyboard_usable(driver, tmp_path):
    d = driver
    load(d)
    image = tmp_path / "photo.webp"
    image.write_bytes(b"RIFF\x00\x00\x00\x00WEBP not the registered one")
    choose(d, "image", str(image))
    choose(d, "genesis", GENESIS)
    choose(d, "certificate", os.path.join(CERTS, "valid-registerworkbatch.json"))
    assert browser.wait_for(d, verdict_done) == "valid"
    # Print: the inputs and buttons disappear, the verdict, work and checklist stay, on one page.
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not d.find_element(By.ID, "inputs").is_displayed()
        assert d.find_element(By.ID, "verdict").is_displayed()
        assert d.find_element(By.ID, "work-section").is_displayed()
        assert d.find_element(By.ID, "checklist").is_displayed()
        assert d.find_element(By.ID, "image-check").is_displayed()
        when = d.find_element(By.ID, "print-when")
        assert when.is_displayed() and "f021dc0e99890070c60796946c395c5bf8ec12c732858f0b2cd568cbd60631ea" in when.text
    finally:
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = base64.b64decode(d.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1, f"the printed report has {pages} pages"
    assert d.find_element(By.ID, "print-button").text.lower().startswith("print")

    # Accessibility: lang, one h1 and h2s, a label for every input, the verdict announced.
    assert d.execute_script("return document.documentElement.lang") == "en"
    assert len(d.find_elements(By.TAG_NAME, "h1")) == 1 and len(d.find_elements(By.TAG_NAME, "h2")) >= 3
    for input_id in ("certificate", "genesis", "image"):
        labels = d.find_elements(By.CSS_SELECTOR, f"label[for={input_id}]")
        assert len(labels) == 1 and labels[0].text.strip(), input_id
    assert d.find_element(By.ID, "verdict").get_attribute("aria-live") == "polite"
    # Keyboard: Tab reaches the three inputs and both buttons, in order.
    d.execute_script("document.activeElement && document.activeElement.blur(); window.focus();")
    # (Keys go through the keyboard, not send_keys on an element: on a file input that means a path.)
    order = []
    for _ in range(8):
        ActionChains(d).send_keys(Keys.TAB).perform()
        order.append(d.execute_script("return document.activeElement.id"))
    want = ["certificate", "genesis", "image", "verify-button", "print-button"]
    assert [i for i in order if i in want][:5] == want, order
    # Enter on the focused "Verify again" button runs the checks again.
    d.execute_script("document.getElementById('verdict').removeAttribute('data-verdict');"
                     "document.getElementById('verify-button').focus()")
    ActionChains(d).send_keys(Keys.ENTER).perform()
    assert browser.wait_for(d, verdict_done) == "valid"
    # Contrast: text and the result colours against their backgrounds meet WCAG AA (4.5:1).
    ratios = d.execute_script("""
        function lum(c) { const v = c.match(/[0-9.]+/g).slice(0, 3).map(Number).map(x => x / 255)
          .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
          return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; }
        function bg(e) { while (e) { const c = getComputedStyle(e).backgroundColor;
          if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c; e = e.parentElement; } return 'rgb(255,255,255)'; }
        const out = {};
        for (const sel of ['body', 'li[data-result] .mark', '#verdict p', '.hint', 'label', 'button']) {
          const e = document.querySelector(sel); const a = lum(getComputedStyle(e).color), b = lum(bg(e));
          out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }
        return out;""")
    low = {k: round(v, 2) for k, v in ratios.items() if v < 4.5}
    assert not low, f"contrast below 4.5:1: {low}"


def test_a_browser_without_webcrypto_gets_no_verdict_but_the_reason():
    """Outside a secure context (a page served over plain HTTP from another host) a browser gives
    no crypto.subtle: the page says so and decides nothing, rather than calling certificates invalid."""
    d = browser.chromium(offline=True)
    try:
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
            "source": "Object.defineProperty(window, 'crypto', {value: {getRandomValues: a => a}, configurable: true});"})
        load(d)
        problem = d.find_element(By.ID, "browser-problem")
        browser.wait_for(d, lambda d: problem.is_displayed())
        assert "WebCrypto" in problem.text and problem.get_attribute("role") == "alert"
        choose(d, "genesis", GENESIS)
        choose(d, "certificate", os.path.join(CERTS, "valid-registerwork.json"))
        browser.wait_for(d, lambda d: "secure context" in d.find_element(By.ID, "status").text)
        time.sleep(0.3)
        assert verdict_done(d) is None
        assert all(r is None for r in step_results(d).values())
    finally:
        d.quit()


# -------------------------------------------------------------------------------------------------
# A real devnet: a registered picture, its certificate, and GET /verify when the node serves it


def make_picture(path: str) -> bytes:
    """A small PNG (a gradient), generated here: the picture whose SHA-256 is registered (unique
    per call: its text chunk names the time)."""
    import struct
    import zlib
    w, h = 64, 48
    raw = b"".join(b"\x00" + b"".join(bytes(((x * 4) % 256, (y * 5) % 256, (x * y + os.getpid()) % 256))
                                      for x in range(w)) for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"tEXt", b"Comment\x00totem verifier test " + str(time.time_ns()).encode())
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)
    return png


def registered_work(network, tmp_path, title="Gradient — verifier page test"):
    """Registers a generated picture on the devnet (root registrar -> registrar -> photographer ->
    RegisterWork of its SHA-256); returns the committed RegisterWork tx and the picture's path."""
    n0 = network.nodes[0].client
    picture_path = str(tmp_path / "picture.png")
    picture = make_picture(picture_path)
    root = Actor("root", tc.read_key_file(network.root_registrar_path, strict=False), network)
    network.settle()
    root.sync(n0)
    registrar = Actor("registrar", tc.KeyPair.generate(), network)
    photographer = Actor("photographer", tc.KeyPair.generate(), network)
    steps = [root.tx(tc.KIND_ADD_REGISTRAR, {"subject": registrar.public_key, "name": "Verifier page test"}),
             registrar.tx(tc.KIND_REGISTER_IDENTITY, {"subject": photographer.public_key,
                                                       "displayName": "Page tester", "role": tc.ROLE_PHOTOGRAPHER,
                                                       "kycDigest": tc.sha256(b"kyc page tester")}),
             photographer.tx(tc.KIND_REGISTER_WORK, tc.work(tc.sha256(picture), title,
                                                            media_type="image/png", width=64, height=48))]
    for t in steps:
        submit_accepted(n0, [t])
        tx_committed(n0, t)
    return steps[-1], picture_path


def test_devnet_certificate_with_its_picture(driver, network, tmp_path):
    d = driver
    n0 = network.nodes[0].client
    reg, picture_path = registered_work(network, tmp_path)
    picture = read(picture_path)
    resp = n0.certificate(reg.tx_hash)
    assert resp.status == 200, resp.describe()
    cert_path = str(tmp_path / "certificate.json")
    with open(cert_path, "wb") as f:
        f.write(resp.body)
    genesis_path = os.path.join(network.nodes[0].home, "genesis.json")
    code, out = network.verify_certificate(resp.body, "page-devnet-cert")
    assert code == 0, out

    # The page, offline from file://, with the certificate, the genesis and the picture: a match.
    load(d)
    choose(d, "certificate", cert_path)
    choose(d, "genesis", genesis_path)
    choose(d, "image", picture_path)
    browser.wait_for(d, lambda d: verdict_done(d) and
                     d.find_element(By.ID, "image-check").get_attribute("data-image-result"))
    assert verdict_done(d) == "valid"
    assert step_results(d) == {s: "ok" for s in STEPS}
    check = d.find_element(By.ID, "image-check")
    assert check.get_attribute("data-image-result") == "match", check.text
    assert "Gradient — verifier page test" in d.find_element(By.ID, "work-section").text
    d.execute_script("window.scrollTo(0, 0)")
    browser.screenshot(d, "verifier-devnet-image-match")
    # One changed byte of the picture is another picture.
    changed = tmp_path / "picture-changed.png"
    changed.write_bytes(picture[:-1] + bytes([picture[-1] ^ 1]))
    choose(d, "image", str(changed))
    browser.wait_for(d, lambda d: d.find_element(By.ID, "image-check").get_attribute("data-image-result") == "mismatch")



def test_get_verify_serves_the_page_with_the_genesis_pinned(driver, network, tmp_path):
    """GET /verify: the same page with the node's genesis file pinned (its exact bytes); with no
    genesis chosen it verifies a certificate the node serves."""
    n0 = network.nodes[0].client
    cert_path = str(tmp_path / "certificate.json")
    reg, _ = registered_work(network, tmp_path, "Served page test")
    resp = n0.certificate(reg.tx_hash)
    assert resp.status == 200, resp.describe()
    with open(cert_path, "wb") as f:
        f.write(resp.body)
    url = network.nodes[0].api_url + "/verify"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            served, status, ctype = r.read(), r.status, r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        served, status, ctype = b"", e.code, ""
    assert status == 200 and ctype.startswith("text/html"), (
        f"GET /verify on node0 answered {status} {ctype!r}: this totemd does not serve the verifier page "
        f"(built before GET /verify, or its Totem_totemd.resources bundle is not beside it)")
    assert len(served) < PAGE_MAX_BYTES
    m = re.search(rb'<script type="application/octet-stream" id="pinned-genesis" data-encoding="base64">([^<]*)</script>',
                  served)
    assert m, "the served page has no pinned-genesis element"
    assert base64.b64decode(m.group(1).strip()) == network.genesis_bytes, "the pinned genesis is not the node's file"
    online = browser.chromium(offline=False)
    try:
        online.get(url)
        browser.wait_for(online, lambda o: o.execute_script("return typeof window.totemVerify === 'function'"))
        assert network.genesis_hash.hex() in online.find_element(By.ID, "genesis-source").text
        choose(online, "certificate", cert_path)
        assert browser.wait_for(online, verdict_done) == "valid"
        assert step_results(online) == {s: "ok" for s in STEPS}
        assert "pinned" in online.find_element(By.ID, "trust-facts").text
        browser.screenshot(online, "verifier-served-pinned")
    finally:
        online.quit()
