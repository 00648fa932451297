// Totem explorer: a single page over this node's HTTP API (docs/openapi.yaml), same origin only.
// Routes are URL hashes (#/block/12, #/tx/<hash>, …); live data comes from GET /v1/events (SSE).
// Every value from the API reaches the page through textContent or attributes, never as HTML.
"use strict";
(function () {
  const STALE_AFTER_MS = 60000;     // the badge says "stale" when no block is newer than this
  const LATEST_BLOCKS = 20;         // rows on the home page
  const FEED_MAX = 20;              // registrations kept in the home page's feed
  const BLOCK_TXS_SHOWN = 100;      // txs of a block looked up one by one; the rest are counted
  const UPTIME_WINDOW = 100;        // blocks whose certificates make up a validator's uptime
  const SIMILAR_MAX_DISTANCE = 8;
  const SEEN_BLOCKS_KEPT = 1000;    // heights remembered to ignore a replayed block event
  const HEX64 = /^[0-9a-f]{64}$/;
  const HEX16 = /^[0-9a-f]{16}$/;

  // ---------------------------------------------------------------------------------------------
  // DOM and formatting helpers

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const short = (hex) => (hex && hex.length > 16 ? hex.slice(0, 8) + "…" + hex.slice(-6) : hex);
  const code = (text, cls) => el("code", { class: cls || "hex" }, text);

  function utc(ms) {
    if (typeof ms !== "number" || !isFinite(ms)) return "—";
    return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function ago(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 90) return s + " s ago";
    if (s < 5400) return Math.round(s / 60) + " min ago";
    if (s < 172800) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " days ago";
  }

  const link = (href, text, attrs) => el("a", Object.assign({ href }, attrs || {}), text);
  const blockLink = (h) => link("#/block/" + h, String(h));
  const txLink = (hash, full) => link("#/tx/" + hash, full ? code(hash) : code(short(hash)), { title: hash });
  const workLink = (hash, label) => link("#/work/" + hash, label || code(short(hash)), { title: hash });
  function accountLink(key, full) {
    const name = names.get(key);
    const text = full ? code(key) : code(short(key));
    return link("#/account/" + key, name ? [name + " ", el("span", { class: "muted" }, text)] : text, { title: key });
  }

  // A table with a caption, column headers and rows (arrays of cells); wrapped so that a wide
  // table scrolls by itself on a narrow screen instead of widening the page.
  function table(caption, headers, rows, attrs) {
    return el("div", { class: "table-wrap" },
      el("table", attrs || {},
        caption ? el("caption", {}, caption) : null,
        el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))));
  }

  // Label/value pairs as a description list.
  function fields(pairs, attrs) {
    return el("dl", Object.assign({ class: "fields" }, attrs || {}),
      pairs.filter(Boolean).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  }

  const section = (title, ...body) => el("section", {}, el("h2", {}, title), ...body);

  // ---------------------------------------------------------------------------------------------
  // The API

  class ApiError extends Error {
    constructor(status, codeName, message, path) {
      super(message);
      this.status = status;
      this.code = codeName;
      this.path = path;
    }
    describe() {
      if (this.status === 0) return this.message;
      return `${this.message} (HTTP ${this.status}${this.code ? ", " + this.code : ""}, ${this.path})`;
    }
  }

  async function api(path) {
    let resp;
    try {
      resp = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, "network", `The node could not be reached (${path}): ${e.message}`, path);
    }
    let body = null;
    try {
      body = await resp.json();
    } catch (e) {
      if (resp.ok) throw new ApiError(resp.status, "bad_answer", "The node's answer is not JSON", path);
    }
    if (!resp.ok) {
      const err = body && body.error;
      throw new ApiError(resp.status, err && err.code, (err && err.message) || resp.statusText || "request failed", path);
    }
    return body;
  }

  // Runs `f` over `items` with at most `limit` requests in flight; results in order.
  async function mapLimited(items, limit, f) {
    const out = new Array(items.length);
    let next = 0;
    async function worker() {
      while (next < items.length) {
        const i = next++;
        try { out[i] = { ok: await f(items[i]) }; } catch (e) { out[i] = { error: e }; }
      }
    }
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return out;
  }

  function errorBox(e, what) {
    const msg = e instanceof ApiError ? e.describe() : (e && e.message) || String(e);
    return el("div", { class: "error", role: "alert" }, el("strong", {}, what ? what + ": " : "Error: "), msg);
  }

  // Validator names by key, from GET /v1/validators (the set in force and adopted sets).
  const names = new Map();
  let validatorsCache = null;
  async function loadValidators(force) {
    if (validatorsCache && !force) return validatorsCache;
    const v = await api("/v1/validators");
    for (const m of (v.validators || []).concat(...(v.adopted || []).map((a) => a.validators || []))) {
      if (m.name) names.set(m.publicKey, m.name);
    }
    // Until a node serves `history`, the set in force is the only one known.
    if (!Array.isArray(v.history) || v.history.length === 0) {
      v.history = [{ fromHeight: 1, validators: v.validators.map((m) => m.publicKey), assumed: true }];
    }
    validatorsCache = v;
    return v;
  }

  function setInForce(history, height) {
    let found = null;
    for (const s of history) if (s.fromHeight <= height) found = s;
    return found;
  }

  // ---------------------------------------------------------------------------------------------
  // Decoding (PROTOCOL.md)

  function fromBase64(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

  // Header = version:u8 | chainId:string(<=64) | height:u64 | view:u32 | timestampMs:u64
  //        | parentHash | txRoot | txCount:u32 | stateRoot | validatorSetHash | nextValidatorSetHash | proposer
  function decodeHeader(bytes) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    const need = (n, what) => {
      if (at + n > bytes.length) throw new Error(`header too short at ${what}`);
    };
    const u8 = (w) => { need(1, w); return bytes[at++]; };
    const u32 = (w) => { need(4, w); const v = dv.getUint32(at); at += 4; return v; };
    const u64 = (w) => { need(8, w); const v = dv.getBigUint64(at); at += 8; return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString(); };
    const b32 = (w) => { need(32, w); const v = toHex(bytes.subarray(at, at + 32)); at += 32; return v; };
    const h = {};
    h.version = u8("version");
    if (h.version !== 1) throw new Error(`header version ${h.version}, not 1`);
    const len = u32("chainId");
    if (len > 64) throw new Error("chainId longer than 64 bytes");
    need(len, "chainId");
    h.chainId = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(at, at + len));
    at += len;
    h.height = u64("height");
    h.view = u32("view");
    h.timestampMs = u64("timestampMs");
    h.parentHash = b32("parentHash");
    h.txRoot = b32("txRoot");
    h.txCount = u32("txCount");
    h.stateRoot = b32("stateRoot");
    h.validatorSetHash = b32("validatorSetHash");
    h.nextValidatorSetHash = b32("nextValidatorSetHash");
    h.proposer = b32("proposer");
    if (at !== bytes.length) throw new Error("trailing bytes after the header");
    return h;
  }

  // ISCC display form of a 64-bit Image-Code (docs/fingerprint.md): "ISCC:" + base32 (RFC 4648,
  // no padding) of the header 21 01 and the 8 body bytes.
  const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  function isccOf(hex16) {
    const bytes = [0x21, 0x01];
    for (let i = 0; i < 16; i += 2) bytes.push(parseInt(hex16.slice(i, i + 2), 16));
    let bits = 0, value = 0, out = "";
    for (const b of bytes) {
      value = (value << 8) | b;
      bits += 8;
      while (bits >= 5) {
        out += B32[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
      value &= (1 << bits) - 1;
    }
    if (bits > 0) out += B32[(value << (5 - bits)) & 31];
    return "ISCC:" + out;
  }

  // ---------------------------------------------------------------------------------------------
  // Live state: the latest block seen and the event stream

  const live = {
    height: null, timeMs: null, connected: false, everConnected: false,
    listeners: new Set(),       // (type, data) => void, for the page on screen
    seenBlocks: new Set(),      // heights whose block event was handled (replays are ignored)
    registrations: [],          // the newest FEED_MAX registration events, oldest first
  };

  function noteBlock(height, timeMs) {
    if (live.height === null || height > live.height) {
      live.height = height;
      live.timeMs = timeMs;
    }
    renderBadge();
  }

  function renderBadge() {
    const badge = document.getElementById("freshness");
    if (!badge) return;
    let state, text;
    if (live.height === null) {
      state = "loading";
      text = "Waiting for the node…";
    } else {
      const age = Date.now() - live.timeMs;
      text = `Height ${live.height} · latest block ${ago(live.timeMs)}`;
      state = age > STALE_AFTER_MS ? "stale" : "fresh";
      if (state === "stale") text += ` · stale: no block for over ${Math.round(STALE_AFTER_MS / 1000)} s`;
    }
    if (!live.connected) {
      state = live.height === null ? state : "disconnected";
      text += live.everConnected ? " · live updates disconnected, reconnecting" : " · live updates not connected";
    } else {
      text += " · live";
    }
    badge.dataset.state = state;
    badge.dataset.height = live.height === null ? "" : String(live.height);
    if (badge.textContent !== text) badge.textContent = text;
  }

  const EVENT_TYPES = ["block", "registration", "transfer", "licence", "claim", "validatorChange",
    "validatorSet", "evidence", "identity"];

  function openStream(fromHeight) {
    if (typeof EventSource === "undefined") return;
    const url = "/v1/events" + (fromHeight ? "?fromHeight=" + fromHeight : "");
    const es = new EventSource(url);
    live.stream = es;
    es.onopen = () => { live.connected = true; live.everConnected = true; renderBadge(); };
    es.onerror = () => {
      live.connected = es.readyState === EventSource.OPEN;
      renderBadge();
      // EventSource retries by itself (with Last-Event-ID) unless the answer was not a stream.
      if (es.readyState === EventSource.CLOSED && live.stream === es) {
        setTimeout(() => { if (live.stream === es) openStream(live.height ? live.height + 1 : null); }, 5000);
      }
    };
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        if (type === "block") {
          if (live.seenBlocks.has(data.height)) return;
          live.seenBlocks.add(data.height);
          if (live.seenBlocks.size > 2 * SEEN_BLOCKS_KEPT) {  // a page left open for days stays small
            for (const h of live.seenBlocks) if (h < data.height - SEEN_BLOCKS_KEPT) live.seenBlocks.delete(h);
          }
          noteBlock(data.height, data.timestampMs);
        }
        if (type === "validatorSet" || type === "validatorChange") validatorsCache = null;
        if (type === "registration") {
          live.registrations.push(data);
          if (live.registrations.length > FEED_MAX) live.registrations.shift();
        }
        for (const f of live.listeners) {
          try { f(type, data); } catch (e) { console.error(e); }
        }
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Pages

  async function pageHome(main) {
    main.append(el("h1", { tabindex: "-1" }, "Latest blocks"));
    const blocksBody = el("tbody", { id: "latest-blocks" });
    const blocksTable = el("div", { class: "table-wrap" },
      el("table", { class: "blocks" },
        el("caption", {}, `The ${LATEST_BLOCKS} newest blocks; new ones appear as they are committed.`),
        el("thead", {}, el("tr", {}, ["Height", "Time (UTC)", "Txs", "Signatures", "Proposer", "Block hash"]
          .map((h, i) => el("th", { scope: "col", class: i >= 4 ? "opt" : null }, h)))),
        blocksBody));
    const feed = el("ol", { id: "registrations", class: "feed" });
    const feedEmpty = el("p", { class: "muted", id: "registrations-empty" }, "No registration since this page opened.");
    main.append(el("div", { class: "home" },
      el("section", { class: "wide" }, blocksTable),
      el("section", { "aria-labelledby": "feed-title" },
        el("h2", { id: "feed-title" }, "Recent registrations"),
        el("p", { class: "muted small" }, "Works registered in blocks committed since this page opened (and the few before it)."),
        feedEmpty, feed)));

    const vset = loadValidators().catch(() => null);
    function row(b) {
      const tr = el("tr", { "data-height": b.height },
        el("td", {}, blockLink(b.height)),
        el("td", { class: "nowrap" }, utc(b.timestampMs).replace(" UTC", "")),
        el("td", {}, String(b.txCount)),
        el("td", {}, String(b.signers)),
        el("td", { class: "opt" }, b.proposer ? accountLink(b.proposer) : "—"),
        el("td", { class: "opt" }, link("#/block/" + b.height, code(short(b.blockHash)), { title: b.blockHash })));
      return tr;
    }
    function insert(b) {
      if (blocksBody.querySelector(`tr[data-height="${b.height}"]`)) return;
      const rows = Array.from(blocksBody.children);
      const after = rows.find((r) => Number(r.dataset.height) < b.height);
      const tr = row(b);
      if (after) blocksBody.insertBefore(tr, after); else blocksBody.append(tr);
      while (blocksBody.children.length > LATEST_BLOCKS) blocksBody.lastElementChild.remove();
    }
    function addRegistration(r) {
      feedEmpty.hidden = true;
      const who = el("span", {}, accountLink(r.registrant));
      const item = el("li", { "data-content-hash": r.contentHash },
        workLink(r.contentHash, r.title || "(untitled)"), " ",
        el("span", { class: "muted" }, "by "), who, " ",
        el("span", { class: "muted" }, "in block "), blockLink(r.height));
      feed.prepend(item);
      while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
      // The registrant's display name, once known (one lookup per key).
      if (!names.has(r.registrant)) {
        if (!pendingNames.has(r.registrant)) pendingNames.set(r.registrant, displayName(r.registrant));
        pendingNames.get(r.registrant).then((n) => { if (n) who.replaceChildren(accountLink(r.registrant)); });
      }
    }
    const onEvent = (type, d) => {
      if (type === "block") {
        insert({ height: d.height, blockHash: d.blockHash, timestampMs: d.timestampMs, txCount: d.txCount,
          signers: (d.signers || []).length, proposer: d.proposer });
      } else if (type === "registration") {
        addRegistration(d);
      }
    };
    for (const r of live.registrations) addRegistration(r);
    live.listeners.add(onEvent);
    main.cleanup = () => live.listeners.delete(onEvent);

    try {
      const latest = await api(`/v1/blocks/latest?limit=${LATEST_BLOCKS}`);
      await vset;
      for (const b of latest.blocks) {
        insert({ height: b.height, blockHash: b.blockHash, timestampMs: b.timestampMs, txCount: b.txHashes.length,
          signers: b.commit.signatures.length, proposer: b.proposer });
        live.seenBlocks.add(b.height);
        noteBlock(b.height, b.timestampMs);
      }
      if (latest.blocks.length === 0) blocksBody.append(el("tr", {}, el("td", { colspan: 6 }, "No block yet.")));
    } catch (e) {
      main.insertBefore(errorBox(e, "Could not load the latest blocks"), main.children[1]);
    }
  }

  async function pageBlock(main, heightText) {
    const height = /^[0-9]{1,16}$/.test(heightText) ? Number(heightText) : NaN;
    if (!Number.isSafeInteger(height) || height < 1) throw new Error(`“${heightText}” is not a block height this page can show`);
    main.append(el("h1", { tabindex: "-1" }, `Block ${height}`));
    const [b, vs] = await Promise.all([api("/v1/blocks/" + height), loadValidators().catch((e) => e)]);
    let h = null, headerError = null;
    try { h = decodeHeader(fromBase64(b.header)); } catch (e) { headerError = e; }
    const tip = live.height;
    const nextLink = () => link("#/block/" + (height + 1), "Block " + (height + 1) + " →", { rel: "next" });
    const next = tip === null || height < tip ? nextLink() : el("span", { class: "muted" }, "Latest block");
    main.append(el("nav", { class: "pager", "aria-label": "Neighbouring blocks" },
      height > 1 ? link("#/block/" + (height - 1), "← Block " + (height - 1), { rel: "prev" }) : el("span", {}, "First block"),
      next));
    if (next.tagName !== "A") {
      // The latest block so far: its successor's link appears once that block is committed.
      const onEvent = (type, d) => {
        if (type === "block" && d.height > height && next.isConnected) {
          next.replaceWith(nextLink());
          live.listeners.delete(onEvent);
        }
      };
      live.listeners.add(onEvent);
      main.cleanup = () => live.listeners.delete(onEvent);
    }
    const cols = el("div", { class: "cols" });
    main.append(cols);
    cols.append(section("Header",
      headerError ? errorBox(headerError, "The header does not decode") : null,
      fields([
        ["Block hash", code(b.blockHash)],
        h && ["Version", String(h.version)],
        h && ["Chain", h.chainId],
        h && ["Height", String(h.height)],
        h && ["View", String(h.view)],
        h && ["Time", `${utc(h.timestampMs)} (${h.timestampMs} ms)`],
        h && ["Parent hash", height > 1 ? link("#/block/" + (height - 1), code(h.parentHash)) : [code(h.parentHash), " (the genesis hash)"]],
        h && ["Tx root", code(h.txRoot)],
        h && ["Tx count", String(h.txCount)],
        h && ["State root", code(h.stateRoot)],
        h && ["Validator set hash", code(h.validatorSetHash)],
        h && ["Next validator set hash", [code(h.nextValidatorSetHash),
          h.nextValidatorSetHash !== h.validatorSetHash ? el("strong", {}, " (the set changes after this block)") : null]],
        h && ["Proposer", accountLink(h.proposer, true)],
      ], { id: "header-fields" })));

    // Signed / absent grid: the set in force at this height against the certificate's signers.
    const signers = new Set(b.commit.signatures.map((s) => s.validator));
    const grid = el("section", { "aria-labelledby": "grid-title", id: "commit-certificate" }, el("h2", { id: "grid-title" }, "Commit certificate"));
    if (vs instanceof Error) {
      grid.append(errorBox(vs, "Could not load the validator sets"));
    } else {
      const set = setInForce(vs.history, height);
      const members = set ? set.validators : [];
      const extra = [...signers].filter((k) => !members.includes(k));
      grid.append(el("p", {},
        `Committed in view ${b.commit.view} with ${signers.size} of ${members.length} validators' commit votes`,
        set ? ` (the set in force from height ${set.fromHeight}${set.assumed ? "; this node gives no set history, so the current set is shown" : ""}).` : "."));
      const cells = members.concat(extra).map((k) => {
        const signed = signers.has(k);
        return el("li", { class: signed ? "signed" : "absent", "data-validator": k, "data-signed": signed ? "true" : "false" },
          el("span", { class: "mark", "aria-hidden": "true" }, signed ? "✓" : "✗"),
          el("span", { class: "who" }, accountLink(k)),
          el("span", { class: "state" }, signed ? "signed" : "absent"),
          members.includes(k) ? null : el("span", { class: "state" }, " (not in the set)"));
      });
      grid.append(el("ul", { class: "grid", id: "signature-grid", "data-commit-view": b.commit.view }, cells));
    }
    cols.append(grid);

    // Transactions: the first BLOCK_TXS_SHOWN looked up, the rest counted.
    const txs = el("section", {}, el("h2", {}, `Transactions (${b.txHashes.length})`));
    main.append(txs);
    if (b.txHashes.length === 0) {
      txs.append(el("p", { class: "muted" }, "No transaction: a heartbeat block."));
    } else {
      const shown = b.txHashes.slice(0, BLOCK_TXS_SHOWN);
      const answers = await mapLimited(shown, 6, (hash) => api("/v1/txs/" + hash));
      await learnNames(answers.filter((a) => a.ok && a.ok.tx).map((a) => a.ok.tx.sender));
      const rows = shown.map((hash, i) => {
        const a = answers[i];
        if (a.error) return [String(i), txLink(hash), el("span", { class: "error-inline" }, a.error.message), "—"];
        const t = a.ok.tx || {};
        return [String(i), txLink(hash), t.kind || "—", t.sender ? accountLink(t.sender) : "—"];
      });
      txs.append(table(null, ["#", "Tx hash", "Kind", "Sender"], rows, { id: "block-txs" }));
      if (b.txHashes.length > shown.length) {
        txs.append(el("p", {}, `… and ${b.txHashes.length - shown.length} more transactions not listed here.`));
      }
    }
  }

  async function pageValidators(main) {
    main.append(el("h1", { tabindex: "-1" }, "Validators"));
    const [vs, latest] = await Promise.all([loadValidators(true), api(`/v1/blocks/latest?limit=${UPTIME_WINDOW}`)]);
    const blocks = latest.blocks;
    const signedCount = new Map();
    for (const b of blocks) for (const s of b.commit.signatures) signedCount.set(s.validator, (signedCount.get(s.validator) || 0) + 1);
    const windowText = blocks.length ? `heights ${blocks[blocks.length - 1].height} to ${blocks[0].height}` : "no block yet";
    main.append(section(`The set in force (${vs.validators.length} validators, quorum ${vs.quorum})`,
      el("p", { id: "uptime-window" },
        `Uptime is the share of the last ${blocks.length} blocks' commit certificates (${windowText}) that carry the validator's commit vote; `
        + `a certificate needs only a quorum, so a live validator can be missing from some.`),
      table(null, ["Agency", "Public key", "P2P address", "Uptime"], vs.validators.map((v) => {
        const n = signedCount.get(v.publicKey) || 0;
        const pct = blocks.length ? Math.round((100 * n) / blocks.length) : 0;
        return [v.name || "—", link("#/account/" + v.publicKey, code(v.publicKey)), code(v.p2pAddress, "addr"),
          el("span", { "data-signed": n, "data-window": blocks.length }, `${pct} % — signed ${n} of the last ${blocks.length} blocks`)];
      }), { id: "validators" })));
    if ((vs.adopted || []).length) {
      main.append(section("Adopted sets, not yet in force",
        table(null, ["From height", "Validators"], vs.adopted.map((a) => [String(a.fromHeight),
          el("ul", { class: "plain" }, a.validators.map((m) => el("li", {}, accountLink(m.publicKey))))]))));
    }
    main.append(section("Validator-set history",
      vs.history.some((s) => s.assumed) ? el("p", { class: "muted" }, "This node does not give the set history; only the current set is shown.") : null,
      table(null, ["From height", "Validators"], vs.history.map((s) => [blockLink(s.fromHeight),
        el("ul", { class: "plain" }, s.validators.map((k) => el("li", {}, accountLink(k))))]), { id: "history" })));
  }

  function payloadValue(key, value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "string" && HEX64.test(value)) {
      if (key === "contentHash") return workLink(value, code(value));
      if (["subject", "newOwner", "licensee", "validator"].includes(key)) return accountLink(value, true);
      if (key === "blockHashA" || key === "blockHashB") return code(value);
      return code(value);
    }
    if (key === "imageCode" && typeof value === "string" && HEX16.test(value)) {
      return [link("#/imagecode/" + value, code(value)), " ", code(isccOf(value), "iscc")];
    }
    if (key === "validUntilMs") return value === 0 ? "perpetual" : `${utc(value)} (${value})`;
    if (typeof value === "string" && /^[0-9a-f]{128}$/.test(value)) return code(short(value));
    return String(value);
  }

  async function pageTx(main, hash) {
    if (!HEX64.test(hash)) throw new Error(`“${hash}” is not a transaction hash (64 lowercase hex digits)`);
    main.append(el("h1", { tabindex: "-1" }, "Transaction"));
    const a = await api("/v1/txs/" + hash);
    const t = a.tx || {};
    const committed = a.status === "committed";
    main.append(fields([
      ["Tx hash", code(hash)],
      ["Status", el("span", { class: "status-" + a.status, id: "tx-status" }, a.status)],
      committed && ["Block", [link("#/block/" + a.height, `height ${a.height}`), `, index ${a.index}`]],
      a.error && ["Error", `${a.error.message} (${a.error.code})`],
      ["Kind", el("span", { id: "tx-kind" }, t.kind || "—")],
      t.sender && ["Sender", accountLink(t.sender, true)],
      t.nonce !== undefined && ["Nonce", String(t.nonce)],
      t.chainId && ["Chain", t.chainId],
    ], { id: "tx-fields" }));
    const p = t.payload || {};
    if (t.kind === "RegisterWorkBatch") {
      const works = p.works || [];
      main.append(section(`Works (${works.length})`, table(null, ["#", "Title", "Content hash", "Image code", "Media, size, licence", "Certificate"],
        works.map((w, i) => [String(i), workLink(w.contentHash, w.title || "(untitled)"), workLink(w.contentHash, code(w.contentHash)),
          w.imageCode ? payloadValue("imageCode", w.imageCode) : "—",
          `${w.mediaType || "—"}, ${w.width} × ${w.height} px, ${w.license || "—"}`,
          committed ? link(`/v1/certificates/${hash}?item=${i}`, `certificate ${i}`, { download: `certificate-${hash.slice(0, 12)}-${i}.json` }) : "—"]),
        { id: "batch-works" })));
    } else if (t.payload) {
      main.append(section("Payload", fields(Object.entries(p).map(([k, v]) => [k, payloadValue(k, v)]), { id: "payload" })));
      if (t.kind === "RegisterWork" && p.contentHash) {
        main.append(el("p", {}, "The registered work: ", workLink(p.contentHash, p.title || p.contentHash)));
      }
    }
    if (committed && t.kind !== "RegisterWorkBatch") {
      main.append(section("Certificate",
        el("p", {}, link("/v1/certificates/" + hash, "Download the certificate (JSON)", { download: `certificate-${hash.slice(0, 12)}.json`, id: "certificate-link" })),
        el("p", {}, "Check it without trusting this node: ", link("/verify", "open the certificate verifier"), ".")));
    } else if (committed) {
      main.append(el("p", {}, "Each work of the batch has its own certificate (above). Check one without trusting this node: ",
        link("/verify", "open the certificate verifier"), "."));
    } else {
      main.append(el("p", { class: "muted" }, "A certificate exists once the transaction is committed."));
    }
  }

  // An account's display name (identity, else registrar name), remembered for the links.
  async function displayName(key) {
    try {
      const acct = await api("/v1/accounts/" + key);
      const n = acct.identity ? acct.identity.displayName : acct.registrar ? acct.registrar.name : null;
      if (n && !names.has(key)) names.set(key, n);
      return n;
    } catch (e) { /* the key itself is shown */ }
    return null;
  }
  const pendingNames = new Map();  // key -> promise of its display name (the home page's feed)
  const learnNames = (keys) => mapLimited([...new Set(keys)].filter((k) => !names.has(k)), 6, displayName);

  async function party(key) {
    await displayName(key);
    return accountLink(key, true);
  }

  async function pageWork(main, hash) {
    if (!HEX64.test(hash)) throw new Error(`“${hash}” is not a content hash (64 lowercase hex digits)`);
    main.append(el("h1", { tabindex: "-1" }, "Work"));
    const [w, hist] = await Promise.all([api("/v1/works/" + hash), api(`/v1/works/${hash}/history`).catch((e) => e)]);
    main.querySelector("h1").textContent = "Work: " + (w.title || "(untitled)");
    const [registrant, owner] = await Promise.all([party(w.registrant), party(w.owner)]);
    const certHref = "/v1/certificates/" + w.txHash + (w.batchIndex !== undefined ? "?item=" + w.batchIndex : "");
    main.append(fields([
      ["Title", w.title],
      ["Content hash", code(w.contentHash)],
      ["Registrant", registrant],
      ["Owner", owner],
      ["Media type", w.mediaType || "—"],
      ["Size", w.widthPx !== undefined ? `${w.widthPx} × ${w.heightPx} px` : "—"],
      ["Licence", w.license || "—"],
      ["Registered", utc(w.registeredAtMs)],
      ["Block", link("#/block/" + w.height, `height ${w.height}`)],
      ["Transaction", [txLink(w.txHash, true), w.batchIndex !== undefined ? ` (item ${w.batchIndex} of a batch)` : ""]],
      ["Image code", w.imageCode ? [link("#/imagecode/" + w.imageCode, code(w.imageCode)), " ", el("span", {}, "ISCC "), code(isccOf(w.imageCode), "iscc")] : "none"],
      ["Certificate", [link(certHref, "Download (JSON)", { download: `certificate-${w.txHash.slice(0, 12)}.json`, id: "certificate-link" }),
        " · ", link("/verify", "verify it")]],
    ], { id: "work-fields" }));

    if (!(hist instanceof Error)) {
      await learnNames(hist.transfers.flatMap((t) => [t.from, t.to]).concat(hist.licences.map((l) => l.licensee), hist.claims.map((c) => c.claimant)));
    }
    if (hist instanceof Error) {
      main.append(errorBox(hist, "Could not load the work's history"));
    } else {
      main.append(section(`Transfers (${hist.transfers.length})`, hist.transfers.length ? table(null, ["Time (UTC)", "From", "To", "Tx"],
        hist.transfers.map((t) => [utc(t.atMs), accountLink(t.from), accountLink(t.to), txLink(t.txHash)]), { id: "transfers" })
        : el("p", { class: "muted" }, "None.")));
      main.append(section(`Licences (${hist.licences.length})`, hist.licences.length ? table(null, ["Granted (UTC)", "Licensee", "Terms", "Valid until", "Active", "Tx"],
        hist.licences.map((l) => [utc(l.grantedAtMs), accountLink(l.licensee), l.terms, l.validUntilMs === 0 ? "perpetual" : utc(l.validUntilMs),
          l.active ? "yes" : "no", txLink(l.txHash)]), { id: "licences" })
        : el("p", { class: "muted" }, "None.")));
      main.append(section(`Claims (${hist.claims.length})`, hist.claims.length ? table(null, ["Filed (UTC)", "Claimant", "Infringing digest", "Locator", "Note", "Tx"],
        hist.claims.map((c) => [utc(c.filedAtMs), accountLink(c.claimant), code(short(c.infringingDigest)), c.locator, c.note, txLink(c.txHash)]), { id: "claims" })
        : el("p", { class: "muted" }, "None.")));
    }
    if (w.imageCode) {
      const s = section("Similar registered works");
      main.append(s);
      await similarInto(s, w.imageCode, w.contentHash);
    }
  }

  async function similarInto(container, imageCode, self) {
    try {
      const r = await api(`/v1/works/similar?imageCode=${imageCode}&maxDistance=${SIMILAR_MAX_DISTANCE}&limit=20`);
      const matches = r.matches;
      container.append(el("p", { class: "muted" }, `Works whose image code differs in at most ${SIMILAR_MAX_DISTANCE} of 64 bits, nearest first.`));
      if (!matches.length) {
        container.append(el("p", { id: "similar-none" }, "No registered work is that close."));
        return;
      }
      const titles = await mapLimited(matches, 6, (m) => api("/v1/works/" + m.contentHash));
      container.append(table(null, ["Distance", "Work", "Content hash", "Owner"], matches.map((m, i) => [
        String(m.distance),
        workLink(m.contentHash, titles[i].ok ? titles[i].ok.title || "(untitled)" : "(unknown)"),
        [workLink(m.contentHash), m.contentHash === self ? " (this work)" : ""],
        m.owner ? accountLink(m.owner) : "—"]), { id: "similar" }));
    } catch (e) {
      container.append(errorBox(e, "Could not look up similar works"));
    }
  }

  async function pageAccount(main, key) {
    if (!HEX64.test(key)) throw new Error(`“${key}” is not a public key (64 lowercase hex digits)`);
    main.append(el("h1", { tabindex: "-1" }, "Account"));
    const [a, vs] = await Promise.all([api("/v1/accounts/" + key), loadValidators().catch(() => null)]);
    const id = a.identity;
    if (id) main.querySelector("h1").textContent = "Account: " + id.displayName;
    let registrarName = null;
    if (id) registrarName = await displayName(id.registrar);
    names.delete(key);  // this page shows the account's own name as such
    const current = vs && vs.validators.find((v) => v.publicKey === key);
    const past = vs && vs.history.filter((s) => s.validators.includes(key)).map((s) => s.fromHeight);
    main.append(fields([
      ["Public key", code(key)],
      ["Identity", id ? el("span", { id: "identity-name" }, id.displayName) : "none registered"],
      id && ["Role", id.role],
      id && ["Registered by", accountLink(id.registrar, true)],
      id && ["Revoked", id.revoked ? el("strong", {}, "yes") : "no"],
      ["Registrar", a.registrar ? `yes: ${a.registrar.name}` : (a.rootRegistrar ? "the root registrar" : "no")],
      ["Next nonce", String(a.nextNonce)],
      ["Validator", current ? `yes: ${current.name}, in the set in force` :
        (past && past.length ? `was in the sets from height ${past.join(", ")}` : "no")],
    ], { id: "account-fields" }));
    const s = section("Works owned");
    main.append(s);
    const tbody = el("tbody", { id: "owned-works" });
    const more = el("button", { type: "button", hidden: true }, "Show more works");
    s.append(el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Title", "Content hash", "Registered (UTC)", "Block"].map((h) => el("th", { scope: "col" }, h)))), tbody)), more);
    let next = null;
    async function page() {
      more.disabled = true;
      try {
        const r = await api(`/v1/owners/${key}/works?limit=20` + (next ? "&after=" + next : ""));
        for (const w of r.works) {
          tbody.append(el("tr", {}, el("td", {}, workLink(w.contentHash, w.title || "(untitled)")), el("td", {}, workLink(w.contentHash)),
            el("td", {}, utc(w.registeredAtMs)), el("td", {}, blockLink(w.height))));
        }
        if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: 4 }, "None.")));
        next = r.next;
        more.hidden = !next;
      } catch (e) {
        s.append(errorBox(e, "Could not load the works owned"));
      }
      more.disabled = false;
    }
    more.addEventListener("click", page);
    await page();
  }

  async function pageImageCode(main, hex) {
    if (!HEX16.test(hex)) throw new Error(`“${hex}” is not an image code (16 lowercase hex digits)`);
    main.append(el("h1", { tabindex: "-1" }, "Image code"));
    main.append(fields([["Hex", code(hex)], ["ISCC", code(isccOf(hex), "iscc")]], { id: "imagecode-fields" }));
    const s = section("Registered works with a similar image code");
    main.append(s);
    await similarInto(s, hex, null);
  }

  // What the node said about the last search that found nothing, shown on the not-found page.
  const searchMisses = new Map();

  function pageNotFound(main, query) {
    main.append(el("h1", { tabindex: "-1" }, "Nothing found"));
    main.append(el("p", { class: "notice", role: "alert", id: "not-found" },
      `Nothing on this chain matches “${query}”: no block of that height or hash, no transaction, work or account with that key, and no such image code.`));
    const said = searchMisses.get(query);
    // Only when it says more than "nothing matches" (e.g. which forms the search takes).
    if (said && !/^nothing on this chain matches/i.test(said)) main.append(el("p", { id: "not-found-detail" }, "The node says: ", said));
  }

  // ---------------------------------------------------------------------------------------------
  // Router and search

  const ROUTES = [
    [/^#?\/?$/, pageHome],
    [/^#\/block\/([^/]+)$/, pageBlock],
    [/^#\/validators$/, pageValidators],
    [/^#\/tx\/([^/]+)$/, pageTx],
    [/^#\/work\/([^/]+)$/, pageWork],
    [/^#\/account\/([^/]+)$/, pageAccount],
    [/^#\/imagecode\/([^/]+)$/, pageImageCode],
    [/^#\/notfound\/(.*)$/, (main, q) => pageNotFound(main, decodeURIComponent(q))],
  ];

  let current = null;
  let routeSerial = 0;
  async function route() {
    const hash = location.hash || "#/";
    if (hash === "#content") return;  // the skip link
    const serial = ++routeSerial;
    const old = document.getElementById("content");
    if (old && old.cleanup) old.cleanup();
    const main = el("main", { id: "content", tabindex: "-1", "aria-busy": "true", "data-route": hash });
    old.replaceWith(main);
    current = main;
    const match = ROUTES.map(([re, f]) => [hash.match(re), f]).find(([m]) => m);
    try {
      if (!match) throw new Error(`There is no page “${hash}” here.`);
      const [m, f] = match;
      await f(main, ...m.slice(1));
    } catch (e) {
      if (serial !== routeSerial) return;
      if (!main.querySelector("h1")) main.append(el("h1", { tabindex: "-1" }, "Error"));
      main.append(errorBox(e, e instanceof ApiError && e.status === 404 ? "Not found" : "Could not show this page"));
    } finally {
      main.removeAttribute("aria-busy");
      main.dataset.ready = "true";
    }
    const h1 = main.querySelector("h1");
    if (h1) document.title = h1.textContent + " — Totem explorer";
  }

  const KIND_ROUTES = { block: "block", tx: "tx", work: "work", account: "account", imageCode: "imagecode" };

  async function search(ev) {
    ev.preventDefault();
    const input = document.getElementById("search");
    const q = input.value.trim();
    if (!q) { input.focus(); return; }
    try {
      const r = await api("/v1/search?q=" + encodeURIComponent(q));
      const target = KIND_ROUTES[r.kind];
      if (!target) throw new ApiError(200, "unknown_kind", `The node answered a kind this page does not know: ${r.kind}`, "/v1/search");
      location.hash = `#/${target}/${r.key}`;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        searchMisses.clear();
        searchMisses.set(q, e.message);
        location.hash = "#/notfound/" + encodeURIComponent(q);
      } else {
        const main = document.getElementById("content");
        main.prepend(errorBox(e, `Search for “${q}” failed`));
      }
    }
  }

  // A page left for another (or kept in the back/forward cache) must not keep its stream open:
  // the browser allows few connections per host, and a held one would stall the next page's requests.
  window.addEventListener("pagehide", () => {
    if (live.stream) live.stream.close();
    live.stream = null;
    live.connected = false;
  });
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted && !live.stream) openStream(live.height ? live.height + 1 : null);
  });

  function start() {
    document.getElementById("search-form").addEventListener("submit", search);
    // The skip link moves focus to the page's content without changing the route in the URL.
    document.querySelector("a.skip").addEventListener("click", (ev) => {
      ev.preventDefault();
      const main = document.getElementById("content");
      const h1 = main.querySelector("h1");
      (h1 || main).focus();
    });
    window.addEventListener("hashchange", () => {
      route().then(() => {
        const h1 = document.querySelector("#content h1");
        if (h1 && document.activeElement === document.body) h1.focus();
      });
    });
    route();
    renderBadge();
    setInterval(renderBadge, 1000);
    // The badge starts from the node's status; the stream then keeps it current. The stream starts
    // a few blocks back so that the home page's feed has the latest registrations.
    api("/v1/status").then((s) => {
      if (s.height > 0) noteBlock(s.height, s.latestBlockTimeMs);
      openStream(s.height > 0 ? Math.max(1, s.height - 9) : null);
    }).catch((e) => {
      const badge = document.getElementById("freshness");
      badge.dataset.state = "error";
      badge.textContent = "Node status unavailable: " + (e.describe ? e.describe() : e.message);
      openStream(null);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
