"""End-to-end: the explorer pages served by node0 (`[api] explorer = true`, which `totemd testnet`
writes for it) in headless Chromium, against a 4-validator network of this module's own whose data
the module writes first (registrar, identities, a work with an image code, a batch, a transfer, a
licence, a claim).

- test_every_page_renders: home, block, validators, tx (single and batch), work, account, image
  code, an API error and an unknown route, each with its key content checked against the API's
  answers, screenshotted at 1200x900, and at 400px wide without horizontal overflow; the search box
  is reachable with Tab and labelled.
- test_search_lands_on_each_kind: a height, a block hash, a tx hash, a content hash, a public key,
  an ISCC code and 16 hex digits typed into input#search (+ Enter) open the right page; an unknown
  hash and text of no known form show the not-found message, a refused query its error.
- test_block_committed_while_open_appears_live: a block committed while the home page is open is
  listed (and its registration in the feed) without a reload; the freshness badge follows it.
- test_signature_grid_matches_certificate: one validator stopped (SIGSTOP) so that the blocks
  committed meanwhile lack its commit vote; each block page's signed/absent grid equals the
  block's `commit.signatures`, with the stopped validator absent.
- test_freshness_badge_stale_disconnected_and_resumed: the badge says "stale" when the latest
  block is over 60 s old (the page's clock moved ahead), "disconnected" when node0 is killed; node0
  restarted, the stream resumes and the blocks committed meanwhile are listed once each, no gap.
- test_no_request_to_another_origin: every resource the pages loaded is from the node's origin.
"""

import base64
import os
import shutil
import signal
import time

import pytest

import browser
import totem_client as tc
import totem_net
from totem_net import Actor, scaled, submit_accepted, tx_committed

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
README_IMAGES = os.path.join(REPO_ROOT, "docs", "images")

W1_CODE = 0xF0E1D2C3B4A59687


def iscc(code: int) -> str:
    """docs/fingerprint.md: "ISCC:" + base32 (no padding) of the header 21 01 and the body."""
    return "ISCC:" + base64.b32encode(bytes([0x21, 0x01]) + code.to_bytes(8, "big")).decode().rstrip("=")


class Chain:
    """The module's network and what its setup wrote."""

    def __init__(self, net: totem_net.Network):
        self.net = net
        self.node = net.nodes[0]
        self.client = self.node.client
        self.base = self.node.api_url


def commit(chain: Chain, txs: list[tc.SignedTx]) -> list[dict]:
    submit_accepted(chain.client, txs)
    return [tx_committed(chain.client, t) for t in txs]


@pytest.fixture(scope="module")
def chain(totemd, tmp_path_factory):
    net = totem_net.Network(totemd, str(tmp_path_factory.mktemp("explorer") / "net"), 4, 0)
    net.create()
    config = os.path.join(net.nodes[0].home, "config.toml")
    with open(config) as f:
        text = f.read()
    assert "explorer = true" in text, f"`totemd testnet` did not turn the explorer on for node0:\n{text}"
    try:
        net.start_all()
        net.wait_healthy(timeout_s=60)
        c = Chain(net)
        uid = f"{os.getpid()}/{time.time_ns()}"
        root = Actor("root", tc.read_key_file(net.root_registrar_path, strict=False), net)
        root.sync(c.client)
        c.registrar = Actor("registrar", tc.KeyPair.generate(), net)
        c.photographer = Actor("photographer", tc.KeyPair.generate(), net)
        c.agency = Actor("agency", tc.KeyPair.generate(), net)
        commit(c, [root.tx(tc.KIND_ADD_REGISTRAR, {"subject": c.registrar.public_key, "name": "Registro Explorer"})])
        commit(c, [
            c.registrar.tx(tc.KIND_REGISTER_IDENTITY, {
                "subject": c.photographer.public_key, "displayName": "Zoë Explorer", "role": tc.ROLE_PHOTOGRAPHER,
                "kycDigest": tc.sha256(b"kyc p")}),
            c.registrar.tx(tc.KIND_REGISTER_IDENTITY, {
                "subject": c.agency.public_key, "displayName": "Agence Élan", "role": tc.ROLE_AGENCY,
                "kycDigest": tc.sha256(b"kyc a")})])
        c.w1 = tc.work(tc.sha256(f"w1/{uid}".encode()), "Snow over the harbour", image_code=W1_CODE,
                       media_type="image/jpeg", width=4000, height=3000, license="Editorial use only")
        c.w1_tx = c.photographer.tx(tc.KIND_REGISTER_WORK, c.w1)
        c.w1_status = commit(c, [c.w1_tx])[0]
        c.batch = [tc.work(tc.sha256(f"b{i}/{uid}".encode()), f"Harbour variant {i}",
                           image_code=W1_CODE ^ (0b11 << (8 * i + 4))) for i in range(2)]
        c.batch_tx = c.photographer.tx(tc.KIND_REGISTER_WORK_BATCH, {"works": c.batch})
        commit(c, [c.batch_tx])
        c.transfer_tx = c.photographer.tx(tc.KIND_TRANSFER_WORK, {"contentHash": c.batch[0]["contentHash"],
                                                                  "newOwner": c.agency.public_key})
        c.licence_tx = c.photographer.tx(tc.KIND_GRANT_LICENSE, {"contentHash": c.w1["contentHash"],
                                                                 "licensee": c.agency.public_key,
                                                                 "terms": "Web, one year", "validUntilMs": 0})
        commit(c, [c.transfer_tx, c.licence_tx])
        c.claim_tx = c.agency.tx(tc.KIND_FILE_CLAIM, {"contentHash": c.w1["contentHash"],
                                                      "infringingDigest": tc.sha256(b"copy"),
                                                      "locator": "https://example.org/copy", "note": "found online"})
        commit(c, [c.claim_tx])
        # Enough works for a second page of the account's list; titles that look like markup.
        c.pages = [tc.work(tc.sha256(f"p{i}/{uid}".encode()), "Tom & Jerry <b>not bold</b>" if i == 0 else f"Archive print {i}")
                   for i in range(21)]
        commit(c, [c.photographer.tx(tc.KIND_REGISTER_WORK_BATCH, {"works": c.pages})])
        yield c
    finally:
        net.stop()


# The README's screenshots (docs/images) and the artifacts they are copied from.
README_SHOTS = {"explorer-home": "explorer-home-live", "explorer-block": "explorer-block-absent",
                "explorer-work": "explorer-work", "explorer-validators": "explorer-validators",
                "explorer-tx": "explorer-tx", "explorer-account": "explorer-account"}


@pytest.fixture(scope="module")
def driver(chain):
    d = browser.make_driver(1200, 900)
    assert d.execute_script("return [window.innerWidth, window.innerHeight]") == [1200, 900]
    yield d
    d.quit()
    if os.environ.get("TOTEM_E2E_README_SCREENSHOTS") == "1":
        os.makedirs(README_IMAGES, exist_ok=True)
        for name, artifact in README_SHOTS.items():
            shutil.copy(os.path.join(browser.ARTIFACTS, f"{artifact}.png"), os.path.join(README_IMAGES, f"{name}.png"))


# ------------------------------------------------------------------------------------------------
# Helpers


def open_page(driver, chain: Chain, route: str, timeout_s: float = 20):
    """Load /explorer<route> as a new document and wait until that route's page is done."""
    driver.get("about:blank")  # else a URL differing only in its fragment would not reload
    driver.get(chain.base + "/explorer" + route)
    return wait_route(driver, route or "#/", timeout_s)


def wait_route(driver, route: str, timeout_s: float = 20):
    def ready(d):
        return d.execute_script(
            "const m = document.getElementById('content');"
            "return m && m.dataset.route === arguments[0] && m.dataset.ready === 'true' ? m : null;", route)
    try:
        return WebDriverWait(driver, scaled(timeout_s), poll_frequency=0.1).until(ready)
    except Exception as e:
        main = driver.execute_script("const m = document.getElementById('content');"
                                     "return m ? [m.dataset.route, m.dataset.ready, m.innerText.slice(0, 500)] : null")
        raise AssertionError(f"page {route} not rendered within {timeout_s}s: {main!r} ({e!r})") from None


def text_of(driver, css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, css).text


def no_error_box(driver, route: str):
    errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#content .error")]
    assert not errors, f"{route}: error shown: {errors}"


def overflow_px(driver) -> int:
    return driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")


# WCAG 2.x contrast of every visible text node against the first opaque background behind it.
CONTRAST_JS = """
const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
  const p = m[1].split(',').map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
const background = (el) => { for (let e = el; e; e = e.parentElement) {
  const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
const low = []; let checked = 0;
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const t = walker.currentNode, e = t.parentElement;
  if (!t.textContent.trim() || !e || e.getClientRects().length === 0) continue;
  const fg = parse(getComputedStyle(e).color), bg = background(e);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  const ratio = (a + 0.05) / (b + 0.05); checked++;
  if (ratio < 4.5) low.push([e.tagName, t.textContent.trim().slice(0, 40), getComputedStyle(e).color, ratio.toFixed(2)]);
}
return [checked, low];
"""


def assert_contrast(driver, route: str):
    checked, low = driver.execute_script(CONTRAST_JS)
    assert checked > 10, f"{route}: only {checked} text nodes checked"
    assert not low, f"{route}: text under WCAG AA contrast (4.5:1): {low}"


def grid_of(driver) -> dict[str, bool]:
    return {li.get_attribute("data-validator"): li.get_attribute("data-signed") == "true"
            for li in driver.find_elements(By.CSS_SELECTOR, "#signature-grid li")}


# ------------------------------------------------------------------------------------------------
# Tests


def test_every_page_renders(chain, driver):
    api = chain.client
    vals = api.get_json("/v1/validators")
    names = {v["publicKey"]: v["name"] for v in vals["validators"]}
    w1_hash = chain.w1["contentHash"].hex()
    ph = chain.photographer.public_key.hex()
    h1 = chain.w1_status["height"]

    # Home: the latest blocks as the API lists them, the badge with a height.
    open_page(driver, chain, "#/")
    latest = api.get_json("/v1/blocks/latest?limit=20")["blocks"]
    rows = driver.find_elements(By.CSS_SELECTOR, "#latest-blocks tr[data-height]")
    shown = [int(r.get_attribute("data-height")) for r in rows]
    assert min(20, latest[0]["height"]) - 1 <= len(rows) <= min(20, latest[0]["height"]), (len(rows), latest[0]["height"])
    assert shown == sorted(shown, reverse=True), shown
    assert latest[-1]["height"] in shown and shown[0] >= latest[0]["height"], (shown, latest[0]["height"])
    WebDriverWait(driver, scaled(10)).until(
        lambda d: d.find_element(By.ID, "freshness").get_attribute("data-state") == "fresh")
    assert text_of(driver, "#freshness").startswith("Height "), text_of(driver, "#freshness")
    no_error_box(driver, "#/")
    assert_contrast(driver, "explorer-home")
    browser.screenshot(driver, "explorer-home")

    # Block: header fields decoded in the page, the txs with kind and sender, the grid.
    block = api.get_json(f"/v1/blocks/{h1}")
    header = tc.Header.decode(base64.b64decode(block["header"]))
    open_page(driver, chain, f"#/block/{h1}")
    fields = text_of(driver, "#header-fields")
    for value in (block["blockHash"], header.chain_id, header.tx_root.hex(), header.state_root.hex(),
                  header.parent_hash.hex(), header.validator_set_hash.hex(),
                  header.next_validator_set_hash.hex(), header.proposer.hex()):
        assert value in fields, f"{value} not in the header fields:\n{fields}"
    txs = text_of(driver, "#block-txs")
    assert "RegisterWork" in txs and "Zoë Explorer" in txs, txs
    assert set(grid_of(driver)) == set(vals["validators"][i]["publicKey"] for i in range(4))
    assert driver.find_element(By.CSS_SELECTOR, "a[rel=prev]").get_attribute("href").endswith(f"#/block/{h1 - 1}")
    assert driver.find_element(By.CSS_SELECTOR, "a[rel=next]").get_attribute("href").endswith(f"#/block/{h1 + 1}")
    no_error_box(driver, "block")
    assert_contrast(driver, "explorer-block")
    browser.screenshot(driver, "explorer-block")

    # The latest block's page gets its "next" link once the next block is committed.
    tip = api.status()["height"]
    open_page(driver, chain, f"#/block/{tip}")
    if not driver.find_elements(By.CSS_SELECTOR, "a[rel=next]"):
        assert "Latest block" in text_of(driver, ".pager")
        commit(chain, [chain.agency.tx(tc.KIND_REGISTER_WORK, tc.work(tc.sha256(f"next/{time.time_ns()}".encode()), "Next"))])
        WebDriverWait(driver, scaled(15)).until(lambda d: d.find_elements(By.CSS_SELECTOR, "a[rel=next]"))
    assert driver.find_element(By.CSS_SELECTOR, "a[rel=next]").get_attribute("href").endswith(f"#/block/{tip + 1}")

    # Validators: names, keys, addresses, uptime over the stated window, the set history.
    open_page(driver, chain, "#/validators")
    window = api.get_json("/v1/blocks/latest?limit=100")["blocks"]
    table = driver.find_element(By.ID, "validators")
    cells = table.find_elements(By.CSS_SELECTOR, "span[data-signed]")
    assert len(cells) == 4
    for v in vals["validators"]:
        row = table.find_element(By.XPATH, f".//tr[.//code[text()='{v['publicKey']}']]")
        assert v["name"] in row.text and v["p2pAddress"] in row.text, row.text
        signed = sum(1 for b in window if any(s["validator"] == v["publicKey"] for s in b["commit"]["signatures"]))
        uptime = row.find_element(By.CSS_SELECTOR, "span[data-signed]")
        n, m = int(uptime.get_attribute("data-signed")), int(uptime.get_attribute("data-window"))
        # A block may be committed between the page's read and ours.
        assert len(window) - 1 <= m <= len(window), (m, len(window))
        assert abs(n - signed) <= 1 and f"signed {n} of the last {m} blocks" in uptime.text, (uptime.text, signed)
    assert "last" in text_of(driver, "#uptime-window") and "blocks" in text_of(driver, "#uptime-window")
    history = text_of(driver, "#history")
    assert "1" in history and all(n in history for n in names.values()), history
    no_error_box(driver, "validators")
    assert_contrast(driver, "explorer-validators")
    browser.screenshot(driver, "explorer-validators")

    # Tx (single): status, block link, kind, sender, payload, certificate link, /verify link.
    txh = chain.w1_tx.tx_hash.hex()
    open_page(driver, chain, f"#/tx/{txh}")
    assert text_of(driver, "#tx-status") == "committed"
    assert text_of(driver, "#tx-kind") == "RegisterWork"
    assert f"height {h1}" in text_of(driver, "#tx-fields") and ph in text_of(driver, "#tx-fields")
    payload = text_of(driver, "#payload")
    assert w1_hash in payload and "Snow over the harbour" in payload and iscc(W1_CODE) in payload, payload
    assert driver.find_element(By.ID, "certificate-link").get_attribute("href") == f"{chain.base}/v1/certificates/{txh}"
    assert driver.find_elements(By.CSS_SELECTOR, "#content a[href='/verify']")
    no_error_box(driver, "tx")
    assert_contrast(driver, "explorer-tx")
    browser.screenshot(driver, "explorer-tx")

    # Tx (batch): one certificate per item.
    bh = chain.batch_tx.tx_hash.hex()
    open_page(driver, chain, f"#/tx/{bh}")
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#batch-works a[download]")]
    assert links == [f"{chain.base}/v1/certificates/{bh}?item={i}" for i in range(2)], links
    assert "Harbour variant 1" in text_of(driver, "#batch-works")
    assert_contrast(driver, "explorer-tx-batch")
    browser.screenshot(driver, "explorer-tx-batch")

    # Work: registrant with identity name, owner, fields, image code in hex and ISCC, history, similar.
    open_page(driver, chain, f"#/work/{w1_hash}")
    work = text_of(driver, "#work-fields")
    for value in ("Snow over the harbour", "Zoë Explorer", ph, "image/jpeg", "4000 × 3000", "Editorial use only",
                  f"height {h1}", txh, f"{W1_CODE:016x}", iscc(W1_CODE)):
        assert value in work, f"{value} not in the work's fields:\n{work}"
    w = api.get_json(f"/v1/works/{w1_hash}")
    registered = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(w["registeredAtMs"] // 1000))
    assert registered in work, (registered, work)
    assert "Agence Élan" in text_of(driver, "#licences") and "Web, one year" in text_of(driver, "#licences")
    assert "https://example.org/copy" in text_of(driver, "#claims")
    similar = api.similar(W1_CODE, max_distance=8)
    rows = driver.find_elements(By.CSS_SELECTOR, "#similar tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows] == [str(m["distance"]) for m in similar["matches"]]
    assert "Harbour variant 0" in text_of(driver, "#similar") and len(rows) == 3, text_of(driver, "#similar")
    assert driver.find_element(By.ID, "certificate-link").get_attribute("href") == f"{chain.base}/v1/certificates/{txh}"
    no_error_box(driver, "work")
    assert_contrast(driver, "explorer-work")
    browser.screenshot(driver, "explorer-work")

    # A transferred batch item: owner the agency, registrant the photographer, the transfer listed.
    b0 = chain.batch[0]["contentHash"].hex()
    open_page(driver, chain, f"#/work/{b0}")
    assert "Agence Élan" in text_of(driver, "#work-fields") and "(item 0 of a batch)" in text_of(driver, "#work-fields")
    assert "Zoë Explorer" in text_of(driver, "#transfers") and "Agence Élan" in text_of(driver, "#transfers")
    assert driver.find_element(By.ID, "certificate-link").get_attribute("href").endswith(f"/v1/certificates/{bh}?item=0")

    # Account: identity, registrar's name, nonce, works owned, not a validator.
    open_page(driver, chain, f"#/account/{ph}")
    acct = text_of(driver, "#account-fields")
    nonce = api.account(chain.photographer.public_key)["nextNonce"]
    for value in ("Zoë Explorer", "photographer", "Registro Explorer", str(nonce)):
        assert value in acct, f"{value} not in the account's fields:\n{acct}"
    owned = text_of(driver, "#owned-works")
    assert "Snow over the harbour" in owned and "Harbour variant 1" in owned and "Harbour variant 0" not in owned, owned
    # Paged with `next`: 20, then the rest (2 + 21 owned); titles shown as text, never as markup.
    assert len(driver.find_elements(By.CSS_SELECTOR, "#owned-works tr")) == 20
    more = driver.find_element(By.CSS_SELECTOR, "#content section button")
    assert more.is_displayed() and "more" in more.text
    more.click()
    WebDriverWait(driver, scaled(10)).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#owned-works tr")) == 23)
    assert not more.is_displayed()
    assert "Archive print 20" in text_of(driver, "#owned-works")
    assert "Tom & Jerry <b>not bold</b>" in text_of(driver, "#owned-works")
    assert not driver.find_elements(By.CSS_SELECTOR, "#owned-works b")
    no_error_box(driver, "account")
    assert_contrast(driver, "explorer-account")
    browser.screenshot(driver, "explorer-account")
    # A validator's account says so.
    v0 = vals["validators"][0]
    open_page(driver, chain, f"#/account/{v0['publicKey']}")
    assert f"yes: {v0['name']}" in text_of(driver, "#account-fields")

    # Image code: hex, ISCC, similar works.
    open_page(driver, chain, f"#/imagecode/{W1_CODE:016x}")
    assert iscc(W1_CODE) in text_of(driver, "#imagecode-fields")
    assert "Snow over the harbour" in text_of(driver, "#similar")
    no_error_box(driver, "imagecode")
    assert_contrast(driver, "explorer-imagecode")
    browser.screenshot(driver, "explorer-imagecode")

    # API errors and unknown routes are readable messages, never a blank page.
    open_page(driver, chain, "#/block/987654321")
    err = text_of(driver, "#content .error")
    assert "block_not_found" in err and "987654321" in err, err
    open_page(driver, chain, "#/work/" + "ab" * 32)
    assert "work_not_found" in text_of(driver, "#content .error")
    open_page(driver, chain, "#/nowhere")
    assert "no page" in text_of(driver, "#content .error")
    assert_contrast(driver, "explorer-error")
    browser.screenshot(driver, "explorer-error")

    # Keyboard: the search box is labelled and reached with Tab from the top of the page.
    open_page(driver, chain, "#/")
    assert driver.find_element(By.CSS_SELECTOR, "label[for=search]").text == "Search"
    def tab():
        ActionChains(driver).send_keys(Keys.TAB).perform()
    tab()
    assert "skip" in driver.switch_to.active_element.get_attribute("class")
    for _ in range(8):  # brand, 3 nav links, then the search box
        tab()
        if driver.switch_to.active_element.get_attribute("id") == "search":
            break
    assert driver.switch_to.active_element.get_attribute("id") == "search"
    outline = driver.execute_script("const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]")
    assert outline[0] != "none" and outline[1] != "0px", f"no visible focus on the search box: {outline}"
    # Tab goes on to the button, then into the page's links.
    tab()
    assert driver.switch_to.active_element.tag_name == "button"
    tab()
    first = driver.switch_to.active_element
    assert first.tag_name == "a" and first.get_attribute("href").endswith("#/block/" + first.text), first.text
    # The skip link (Enter) moves focus to the page's heading, leaving the route as it is.
    driver.execute_script("document.querySelector('a.skip').focus()")
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    assert driver.switch_to.active_element.tag_name == "h1"
    assert driver.execute_script("return location.hash") == "#/"

    # 400px wide: no page is wider than the window.
    browser.set_viewport(driver, 400, 900)
    try:
        for route in ("#/", f"#/block/{h1}", "#/validators", f"#/tx/{txh}", f"#/work/{w1_hash}",
                      f"#/account/{ph}", f"#/imagecode/{W1_CODE:016x}"):
            open_page(driver, chain, route)
            assert overflow_px(driver) <= 0, f"{route} overflows 400px by {overflow_px(driver)}px"
        browser.screenshot(driver, "explorer-work-400")
    finally:
        browser.set_viewport(driver, 1200, 900)



def test_search_lands_on_each_kind(chain, driver):
    api = chain.client
    h1 = chain.w1_status["height"]
    block_hash = api.get_json(f"/v1/blocks/{h1}")["blockHash"]
    w1_hash = chain.w1["contentHash"].hex()
    cases = [
        (str(h1), f"#/block/{h1}"),
        (block_hash, f"#/block/{h1}"),
        (chain.w1_tx.tx_hash.hex(), f"#/tx/{chain.w1_tx.tx_hash.hex()}"),
        (w1_hash, f"#/work/{w1_hash}"),
        (chain.photographer.public_key.hex(), f"#/account/{chain.photographer.public_key.hex()}"),
        (iscc(W1_CODE), f"#/imagecode/{W1_CODE:016x}"),
        (f"{W1_CODE:016x}", f"#/imagecode/{W1_CODE:016x}"),
    ]
    open_page(driver, chain, "#/validators")
    for query, route in cases:
        box = driver.find_element(By.ID, "search")
        box.clear()
        box.send_keys(query, Keys.ENTER)
        wait_route(driver, route)
        no_error_box(driver, f"search {query}")
        assert driver.find_element(By.CSS_SELECTOR, "#content h1").text, route
    unknown = "cd" * 32
    box = driver.find_element(By.ID, "search")
    box.clear()
    box.send_keys(unknown, Keys.ENTER)
    wait_route(driver, "#/notfound/" + unknown)
    msg = text_of(driver, "#not-found")
    assert "Nothing on this chain matches" in msg and unknown in msg, msg
    browser.screenshot(driver, "explorer-not-found")
    # Text of no form the node knows: not found, with the node's explanation.
    box = driver.find_element(By.ID, "search")
    box.clear()
    box.send_keys("ISCC:EEA!", Keys.ENTER)
    wait_route(driver, "#/notfound/ISCC%3AEEA!")
    assert "ISCC:EEA!" in text_of(driver, "#not-found")
    assert "search takes" in text_of(driver, "#not-found-detail"), text_of(driver, "#not-found-detail")
    # A query the node refuses (over 256 characters): its message on the page, the route unchanged.
    box = driver.find_element(By.ID, "search")
    box.clear()
    box.send_keys("9" * 257, Keys.ENTER)
    WebDriverWait(driver, scaled(10)).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#content .error"))
    err = text_of(driver, "#content .error")
    assert "failed" in err and "HTTP 400, bad_parameter" in err, err
    assert driver.execute_script("return location.hash") == "#/notfound/ISCC%3AEEA!"


def test_block_committed_while_open_appears_live(chain, driver):
    open_page(driver, chain, "#/")
    driver.execute_script("window.__sameDocument = true;")
    WebDriverWait(driver, scaled(15)).until(
        lambda d: d.find_element(By.ID, "freshness").get_attribute("data-state") == "fresh")
    work = tc.work(tc.sha256(f"live/{time.time_ns()}".encode()), "Live registration", image_code=None)
    tx = chain.photographer.tx(tc.KIND_REGISTER_WORK, work)
    height = commit(chain, [tx])[0]["height"]
    WebDriverWait(driver, scaled(20), poll_frequency=0.2).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f"#latest-blocks tr[data-height='{height}']"),
        f"block {height} did not appear on the open home page")
    row = driver.find_element(By.CSS_SELECTOR, f"#latest-blocks tr[data-height='{height}']")
    assert row.find_elements(By.TAG_NAME, "td")[2].text == "1", row.text
    WebDriverWait(driver, scaled(10), poll_frequency=0.2).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f"#registrations li[data-content-hash='{work['contentHash'].hex()}']"),
        "the registration did not appear in the feed")
    assert "Live registration" in text_of(driver, "#registrations")
    # The registrant's display name replaces the bare key once looked up.
    WebDriverWait(driver, scaled(10), poll_frequency=0.2).until(
        lambda d: "Zoë Explorer" in text_of(d, f"#registrations li[data-content-hash='{work['contentHash'].hex()}']"))
    browser.screenshot(driver, "explorer-home-live")
    assert driver.execute_script("return window.__sameDocument === true"), "the page was reloaded"
    assert int(driver.find_element(By.ID, "freshness").get_attribute("data-height")) >= height
    # The list stays the newest blocks, without gaps, at most 20.
    shown = [int(r.get_attribute("data-height")) for r in driver.find_elements(By.CSS_SELECTOR, "#latest-blocks tr[data-height]")]
    assert shown == list(range(shown[0], shown[0] - min(20, shown[0]), -1)), shown


def test_signature_grid_matches_certificate(chain, driver):
    net, api = chain.net, chain.client
    victim = net.nodes[3]
    victim_key = victim.public_key.hex()
    victim.proc.send_signal(signal.SIGSTOP)
    try:
        stopped_heights = []
        for i in range(2):
            tx = chain.photographer.tx(tc.KIND_REGISTER_WORK, tc.work(tc.sha256(f"grid{i}/{time.time_ns()}".encode()),
                                                                      f"While node3 sleeps {i}"))
            stopped_heights.append(commit(chain, [tx])[0]["height"])
    finally:
        victim.proc.send_signal(signal.SIGCONT)
    checked_absent = 0
    for h in [1, 2] + stopped_heights:
        block = api.get_json(f"/v1/blocks/{h}")
        signers = {s["validator"] for s in block["commit"]["signatures"]}
        open_page(driver, chain, f"#/block/{h}")
        grid = grid_of(driver)
        assert len(grid) == 4, grid
        assert {k for k, signed in grid.items() if signed} == signers, (h, grid, signers)
        assert driver.find_element(By.ID, "signature-grid").get_attribute("data-commit-view") == str(block["commit"]["view"])
        assert f"view {block['commit']['view']}" in text_of(driver, "#commit-certificate")
        if h in stopped_heights:
            assert grid[victim_key] is False and victim_key not in signers
            li = driver.find_element(By.CSS_SELECTOR, f"#signature-grid li[data-validator='{victim_key}']")
            assert "absent" in li.text, li.text
            checked_absent += 1
    assert checked_absent == 2
    browser.screenshot(driver, "explorer-block-absent")
    net.wait_height(max(stopped_heights), timeout_s=60)  # node3 catches up before the next test


def badge_state(driver) -> str:
    return driver.find_element(By.ID, "freshness").get_attribute("data-state")


def test_freshness_badge_stale_disconnected_and_resumed(chain, driver):
    net = chain.net
    open_page(driver, chain, "#/")
    driver.execute_script("window.__sameDocument = true;")
    WebDriverWait(driver, scaled(15)).until(lambda d: badge_state(d) == "fresh")
    # Stale: the page's clock two minutes ahead makes the latest block older than 60 s.
    driver.execute_script("window.__realNow = Date.now; Date.now = () => window.__realNow() + 120000;")
    WebDriverWait(driver, scaled(5)).until(lambda d: badge_state(d) == "stale")
    assert "stale: no block for over 60 s" in text_of(driver, "#freshness"), text_of(driver, "#freshness")
    driver.execute_script("Date.now = window.__realNow;")
    WebDriverWait(driver, scaled(5)).until(lambda d: badge_state(d) == "fresh")

    # Disconnected: node0, which serves the page and its stream, is killed; the others go on.
    before = int(driver.find_element(By.ID, "freshness").get_attribute("data-height"))
    net.kill(chain.node)
    try:
        WebDriverWait(driver, scaled(15)).until(lambda d: badge_state(d) == "disconnected")
        assert "live updates disconnected" in text_of(driver, "#freshness"), text_of(driver, "#freshness")
        client1 = net.nodes[1].client
        tx = chain.photographer.tx(tc.KIND_REGISTER_WORK, tc.work(tc.sha256(f"offline/{time.time_ns()}".encode()),
                                                                  "Registered while node0 was down"))
        submit_accepted(client1, [tx])
        missed = tx_committed(client1, tx)["height"]
    finally:
        net.start(chain.node)
    net.wait_healthy([chain.node])
    # Resumed (Last-Event-ID): the blocks committed meanwhile arrive, each listed once, no gap.
    WebDriverWait(driver, scaled(30), poll_frequency=0.2).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f"#latest-blocks tr[data-height='{missed}']"),
        f"block {missed}, committed while node0 was down, did not appear after the stream resumed")
    WebDriverWait(driver, scaled(10)).until(lambda d: badge_state(d) == "fresh")
    assert "Registered while node0 was down" in text_of(driver, "#registrations")
    shown = [int(r.get_attribute("data-height")) for r in driver.find_elements(By.CSS_SELECTOR, "#latest-blocks tr[data-height]")]
    assert shown == list(range(shown[0], shown[0] - min(20, shown[0]), -1)) and shown[0] > before, shown
    assert driver.execute_script("return window.__sameDocument === true"), "the page was reloaded"


def test_no_request_to_another_origin(chain, driver):
    origin = chain.base
    open_page(driver, chain, "#/")
    for route in ("#/validators", f"#/work/{chain.w1['contentHash'].hex()}", f"#/tx/{chain.batch_tx.tx_hash.hex()}",
                  f"#/account/{chain.agency.public_key.hex()}", f"#/imagecode/{W1_CODE:016x}",
                  f"#/block/{chain.w1_status['height']}"):
        driver.execute_script("location.hash = arguments[0]", route)
        wait_route(driver, route)
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    urls += [driver.execute_script("return location.href")]
    assert len(urls) > 10, urls
    foreign = [u for u in urls if not u.startswith(origin + "/")]
    assert not foreign, f"requests to another origin: {foreign}"
    assert any("/v1/works/similar" in u for u in urls) and any("/explorer/explorer.js" in u for u in urls), urls
