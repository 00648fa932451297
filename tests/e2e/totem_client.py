"""An independent Totem client, written from docs/PROTOCOL.md (v1) alone.

It knows the canonical encoding (TCE) of every transaction kind, of block headers and of vote
bodies; signs with Ed25519 under PROTOCOL.md's signing domains; reads and writes key files; and
talks to a node's public HTTP API. It shares no code with the Swift node, so the end-to-end tests
that use it show that a third party can build against the published contract.

Binary values are `bytes` in Python and lowercase hex in JSON; the `from_json`/`to_json` helpers
convert between the two forms using the same field schemas as the codec.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# --------------------------------------------------------------------------------------------
# Constants of PROTOCOL.md

PROTOCOL_VERSION = 1
MAX_SIGNED_TX_BYTES = 65_536
MAX_CHAIN_ID_BYTES = 64
MAX_BATCH_WORKS = 1000

DOMAIN_TX = "totem/tx/v1"
DOMAIN_PREPARE = "totem/prepare/v1"
DOMAIN_COMMIT = "totem/commit/v1"
STATE_DOMAIN = "totem/state/v1"

KIND_REGISTER_IDENTITY = 1
KIND_REVOKE_IDENTITY = 2
KIND_REGISTER_WORK = 3
KIND_TRANSFER_WORK = 4
KIND_GRANT_LICENSE = 5
KIND_FILE_CLAIM = 6
KIND_ADD_REGISTRAR = 7
KIND_REMOVE_REGISTRAR = 8
KIND_VALIDATOR_CHANGE = 9
KIND_REGISTER_WORK_BATCH = 10
KIND_SUBMIT_EVIDENCE = 11

KIND_NAMES = {
    1: "RegisterIdentity", 2: "RevokeIdentity", 3: "RegisterWork", 4: "TransferWork",
    5: "GrantLicense", 6: "FileClaim", 7: "AddRegistrar", 8: "RemoveRegistrar",
    9: "ValidatorChange", 10: "RegisterWorkBatch", 11: "SubmitEvidence",
}

ROLE_PHOTOGRAPHER = 1
ROLE_AGENCY = 2


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --------------------------------------------------------------------------------------------
# TCE: writer and strict reader


class DecodeError(ValueError):
    """A TCE decoding failure. `reason` is one of truncated, trailing, limit, utf8, enum, optional,
    tooLarge, order; `field` names where a left-to-right decoder first failed (e.g.
    `payload.works[1].imageCode`, `(end)` for trailing bytes, `(size)` for an oversize input)."""

    def __init__(self, reason: str, field_name: str, detail: str = ""):
        super().__init__(f"{reason} at {field_name}" + (f": {detail}" if detail else ""))
        self.reason = reason
        self.field = field_name


class Writer:
    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, v: int) -> "Writer":
        self._parts.append(struct.pack(">B", v))
        return self

    def u16(self, v: int) -> "Writer":
        self._parts.append(struct.pack(">H", v))
        return self

    def u32(self, v: int) -> "Writer":
        self._parts.append(struct.pack(">I", v))
        return self

    def u64(self, v: int) -> "Writer":
        self._parts.append(struct.pack(">Q", v))
        return self

    def fixed(self, v: bytes, n: int) -> "Writer":
        if len(v) != n:
            raise ValueError(f"expected {n} bytes, got {len(v)}")
        self._parts.append(bytes(v))
        return self

    def string(self, v: str, limit: int) -> "Writer":
        raw = v.encode("utf-8")  # strict: lone surrogates raise
        if len(raw) > limit:
            raise ValueError(f"string of {len(raw)} bytes exceeds its limit of {limit}")
        self.u32(len(raw))
        self._parts.append(raw)
        return self

    def var_bytes(self, v: bytes) -> "Writer":
        self.u32(len(v))
        self._parts.append(bytes(v))
        return self

    def raw(self, v: bytes) -> "Writer":
        self._parts.append(bytes(v))
        return self

    def bytes(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, name: str) -> bytes:
        if n > self.remaining():
            raise DecodeError("truncated", name, f"need {n} bytes, {self.remaining()} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self, name: str) -> int:
        return self.take(1, name)[0]

    def u32(self, name: str) -> int:
        return struct.unpack(">I", self.take(4, name))[0]

    def u64(self, name: str) -> int:
        return struct.unpack(">Q", self.take(8, name))[0]

    def string(self, name: str, limit: int) -> str:
        n = self.u32(name)
        if n > limit:
            raise DecodeError("limit", name, f"{n} bytes > {limit}")
        raw = self.take(n, name)
        try:
            return raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            raise DecodeError("utf8", name, str(e)) from None

    def end(self) -> None:
        if self.remaining():
            raise DecodeError("trailing", "(end)", f"{self.remaining()} trailing bytes")


# --------------------------------------------------------------------------------------------
# Payload schemas. A field is (name, type, arg): types u8enum (arg: allowed values), u32, u64,
# b32, b64, str (arg: byte limit), optu64, work, works.

WORK_SCHEMA = [
    ("contentHash", "b32", None),
    ("imageCode", "optu64", None),
    ("title", "str", 256),
    ("mediaType", "str", 64),
    ("width", "u32", None),
    ("height", "u32", None),
    ("license", "str", 256),
]

PAYLOAD_SCHEMAS: dict[int, list[tuple[str, str, Any]]] = {
    KIND_REGISTER_IDENTITY: [("subject", "b32", None), ("displayName", "str", 128),
                             ("role", "u8enum", (1, 2)), ("kycDigest", "b32", None)],
    KIND_REVOKE_IDENTITY: [("subject", "b32", None), ("reason", "str", 256)],
    KIND_REGISTER_WORK: WORK_SCHEMA,
    KIND_TRANSFER_WORK: [("contentHash", "b32", None), ("newOwner", "b32", None)],
    KIND_GRANT_LICENSE: [("contentHash", "b32", None), ("licensee", "b32", None),
                         ("terms", "str", 512), ("validUntilMs", "u64", None)],
    KIND_FILE_CLAIM: [("contentHash", "b32", None), ("infringingDigest", "b32", None),
                      ("locator", "str", 512), ("note", "str", 1024)],
    KIND_ADD_REGISTRAR: [("subject", "b32", None), ("name", "str", 128)],
    KIND_REMOVE_REGISTRAR: [("subject", "b32", None)],
    KIND_VALIDATOR_CHANGE: [("op", "u8enum", (1, 2)), ("validator", "b32", None),
                            ("name", "str", 128), ("p2pAddress", "str", 256)],
    KIND_REGISTER_WORK_BATCH: [("works", "works", None)],
    KIND_SUBMIT_EVIDENCE: [("phase", "u8enum", (1, 2)), ("validator", "b32", None),
                           ("height", "u64", None), ("view", "u32", None),
                           ("blockHashA", "b32", None), ("signatureA", "b64", None),
                           ("blockHashB", "b32", None), ("signatureB", "b64", None)],
}


def _encode_fields(w: Writer, schema, values: dict) -> None:
    for name, typ, arg in schema:
        v = values[name]
        if typ == "u8enum":
            if v not in arg:
                raise ValueError(f"{name}: {v} is not one of {arg}")
            w.u8(v)
        elif typ == "u32":
            w.u32(v)
        elif typ == "u64":
            w.u64(v)
        elif typ == "b32":
            w.fixed(v, 32)
        elif typ == "b64":
            w.fixed(v, 64)
        elif typ == "str":
            w.string(v, arg)
        elif typ == "optu64":
            if v is None:
                w.u8(0)
            else:
                w.u8(1).u64(v)
        elif typ == "works":
            if not 1 <= len(v) <= MAX_BATCH_WORKS:
                raise ValueError(f"a batch holds 1 to {MAX_BATCH_WORKS} works, not {len(v)}")
            w.u32(len(v))
            for item in v:
                _encode_fields(w, WORK_SCHEMA, item)
        else:  # pragma: no cover - schema typo
            raise AssertionError(typ)


def _decode_fields(r: Reader, schema, prefix: str) -> dict:
    out: dict[str, Any] = {}
    for name, typ, arg in schema:
        path = f"{prefix}{name}"
        if typ == "u8enum":
            v = r.u8(path)
            if v not in arg:
                raise DecodeError("enum", path, f"tag {v}")
        elif typ == "u32":
            v = r.u32(path)
        elif typ == "u64":
            v = r.u64(path)
        elif typ == "b32":
            v = r.take(32, path)
        elif typ == "b64":
            v = r.take(64, path)
        elif typ == "str":
            v = r.string(path, arg)
        elif typ == "optu64":
            tag = r.u8(path)
            if tag == 0:
                v = None
            elif tag == 1:
                v = r.u64(path)
            else:
                raise DecodeError("optional", path, f"tag {tag}")
        elif typ == "works":
            n = r.u32(path)
            if not 1 <= n <= MAX_BATCH_WORKS:
                raise DecodeError("limit", path, f"{n} items")
            v = [_decode_fields(r, WORK_SCHEMA, f"{path}[{i}].") for i in range(n)]
        else:  # pragma: no cover
            raise AssertionError(typ)
        out[name] = v
        # One piece of evidence has one encoding: blockHashA < blockHashB, checked on decoding.
        if name == "blockHashB" and not out["blockHashA"] < v:
            raise DecodeError("order", path, "blockHashA must be bytewise below blockHashB")
    return out


def _fields_to_json(schema, values: dict) -> dict:
    out = {}
    for name, typ, _ in schema:
        v = values[name]
        if typ in ("b32", "b64"):
            v = v.hex()
        elif typ == "works":
            v = [_fields_to_json(WORK_SCHEMA, item) for item in v]
        out[name] = v
    return out


def _fields_from_json(schema, values: dict) -> dict:
    out = {}
    for name, typ, _ in schema:
        v = values[name]
        if typ in ("b32", "b64"):
            v = bytes.fromhex(v)
        elif typ == "works":
            v = [_fields_from_json(WORK_SCHEMA, item) for item in v]
        out[name] = v
    return out


def payload_from_json(kind: int, payload: dict) -> dict:
    """A payload with hex binary fields (as in vectors.json) to one with `bytes` fields."""
    return _fields_from_json(PAYLOAD_SCHEMAS[kind], payload)


def payload_to_json(kind: int, payload: dict) -> dict:
    return _fields_to_json(PAYLOAD_SCHEMAS[kind], payload)


def encode_payload(kind: int, payload: dict) -> bytes:
    w = Writer()
    _encode_fields(w, PAYLOAD_SCHEMAS[kind], payload)
    return w.bytes()


# --------------------------------------------------------------------------------------------
# Transactions


@dataclass(frozen=True)
class Tx:
    chain_id: str
    kind: int
    sender: bytes
    nonce: int
    payload: dict
    version: int = PROTOCOL_VERSION

    def encode(self) -> bytes:
        if self.kind not in PAYLOAD_SCHEMAS:
            raise ValueError(f"unknown kind {self.kind}")
        w = Writer().u8(self.version).string(self.chain_id, MAX_CHAIN_ID_BYTES)
        w.u8(self.kind).fixed(self.sender, 32).u64(self.nonce)
        _encode_fields(w, PAYLOAD_SCHEMAS[self.kind], self.payload)
        return w.bytes()

    def signing_message(self, genesis_hash: bytes) -> bytes:
        return signing_message(DOMAIN_TX, genesis_hash, self.encode())

    def sign(self, key: "KeyPair", genesis_hash: bytes) -> "SignedTx":
        if key.public_key != self.sender:
            raise ValueError("the key does not belong to the tx's sender")
        return SignedTx(self, key.sign(self.signing_message(genesis_hash)))


@dataclass(frozen=True)
class SignedTx:
    tx: Tx
    signature: bytes

    def encode(self) -> bytes:
        if len(self.signature) != 64:
            raise ValueError("signature must be 64 bytes")
        return self.tx.encode() + self.signature

    @property
    def tx_hash(self) -> bytes:
        return sha256(self.encode())

    def hex(self) -> str:
        return self.encode().hex()

    def verify(self, genesis_hash: bytes) -> bool:
        return verify(self.tx.sender, self.tx.signing_message(genesis_hash), self.signature)


def decode_tx_from(r: Reader) -> Tx:
    version = r.u8("version")
    if version != PROTOCOL_VERSION:
        raise DecodeError("enum", "version", f"version {version}")
    chain_id = r.string("chainId", MAX_CHAIN_ID_BYTES)
    kind = r.u8("kind")
    if kind not in PAYLOAD_SCHEMAS:
        raise DecodeError("enum", "kind", f"kind {kind}")
    sender = r.take(32, "sender")
    nonce = r.u64("nonce")
    payload = _decode_fields(r, PAYLOAD_SCHEMAS[kind], "payload.")
    return Tx(chain_id=chain_id, kind=kind, sender=sender, nonce=nonce, payload=payload,
              version=version)


def decode_signed_tx(data: bytes) -> SignedTx:
    """Strict decoding of a SignedTx: size limit first, then left to right, no trailing bytes."""
    if len(data) > MAX_SIGNED_TX_BYTES:
        raise DecodeError("tooLarge", "(size)", f"{len(data)} bytes > {MAX_SIGNED_TX_BYTES}")
    r = Reader(data)
    tx = decode_tx_from(r)
    signature = r.take(64, "signature")
    r.end()
    return SignedTx(tx, signature)


def tx_from_json(fields: dict) -> Tx:
    """A Tx from the JSON field form of vectors.json (`version`, `chainId`, `kind`, ...)."""
    kind = fields["kind"]
    return Tx(chain_id=fields["chainId"], kind=kind, sender=bytes.fromhex(fields["sender"]),
              nonce=fields["nonce"], payload=payload_from_json(kind, fields["payload"]),
              version=fields.get("version", PROTOCOL_VERSION))


def work(content_hash: bytes, title: str, *, image_code: int | None = None,
         media_type: str = "image/jpeg", width: int = 1, height: int = 1,
         license: str = "All rights reserved") -> dict:
    return {"contentHash": content_hash, "imageCode": image_code, "title": title,
            "mediaType": media_type, "width": width, "height": height, "license": license}


# --------------------------------------------------------------------------------------------
# Headers, votes, validator sets, Merkle


@dataclass(frozen=True)
class Header:
    chain_id: str
    height: int
    view: int
    timestamp_ms: int
    parent_hash: bytes
    tx_root: bytes
    tx_count: int
    state_root: bytes
    validator_set_hash: bytes
    next_validator_set_hash: bytes
    proposer: bytes
    version: int = PROTOCOL_VERSION

    def encode(self) -> bytes:
        w = Writer().u8(self.version).string(self.chain_id, MAX_CHAIN_ID_BYTES)
        w.u64(self.height).u32(self.view).u64(self.timestamp_ms)
        w.fixed(self.parent_hash, 32).fixed(self.tx_root, 32).u32(self.tx_count)
        w.fixed(self.state_root, 32).fixed(self.validator_set_hash, 32)
        w.fixed(self.next_validator_set_hash, 32).fixed(self.proposer, 32)
        return w.bytes()

    @property
    def block_hash(self) -> bytes:
        return sha256(self.encode())

    @staticmethod
    def decode(data: bytes) -> "Header":
        r = Reader(data)
        version = r.u8("version")
        if version != PROTOCOL_VERSION:
            raise DecodeError("enum", "version", f"version {version}")
        h = Header(
            version=version,
            chain_id=r.string("chainId", MAX_CHAIN_ID_BYTES),
            height=r.u64("height"),
            view=r.u32("view"),
            timestamp_ms=r.u64("timestampMs"),
            parent_hash=r.take(32, "parentHash"),
            tx_root=r.take(32, "txRoot"),
            tx_count=r.u32("txCount"),
            state_root=r.take(32, "stateRoot"),
            validator_set_hash=r.take(32, "validatorSetHash"),
            next_validator_set_hash=r.take(32, "nextValidatorSetHash"),
            proposer=r.take(32, "proposer"),
        )
        r.end()
        return h

    @staticmethod
    def from_json(f: dict) -> "Header":
        b = bytes.fromhex
        return Header(version=f.get("version", 1), chain_id=f["chainId"], height=f["height"],
                      view=f["view"], timestamp_ms=f["timestampMs"], parent_hash=b(f["parentHash"]),
                      tx_root=b(f["txRoot"]), tx_count=f["txCount"], state_root=b(f["stateRoot"]),
                      validator_set_hash=b(f["validatorSetHash"]),
                      next_validator_set_hash=b(f["nextValidatorSetHash"]),
                      proposer=b(f["proposer"]))


def vote_body(height: int, view: int, block_hash: bytes) -> bytes:
    return Writer().u64(height).u32(view).fixed(block_hash, 32).bytes()


def vote_message(phase: str, genesis_hash: bytes, height: int, view: int, block_hash: bytes) -> bytes:
    domain = {"prepare": DOMAIN_PREPARE, "commit": DOMAIN_COMMIT}[phase]
    return signing_message(domain, genesis_hash, vote_body(height, view, block_hash))


def validator_set_encoding(keys: list[bytes]) -> bytes:
    w = Writer().u32(len(keys))
    for k in sorted(keys):
        w.fixed(k, 32)
    return w.bytes()


def validator_set_hash(keys: list[bytes]) -> bytes:
    return sha256(validator_set_encoding(keys))


def quorum(n: int) -> int:
    return (2 * n) // 3 + 1


def leader(validators: list[bytes], height: int, view: int) -> bytes:
    """Leader of (height, view): validators sorted by key, index (height + view) mod n."""
    ordered = sorted(validators)
    return ordered[(height + view) % len(ordered)]


def merkle_leaf_hash(item: bytes) -> bytes:
    return sha256(b"\x00" + item)


def merkle_root(items: list[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash (MTH) over the byte strings."""
    if not items:
        return sha256(b"")
    if len(items) == 1:
        return merkle_leaf_hash(items[0])
    k = 1
    while k * 2 < len(items):
        k *= 2
    return sha256(b"\x01" + merkle_root(items[:k]) + merkle_root(items[k:]))


def merkle_inclusion_proof(items: list[bytes], index: int) -> list[bytes]:
    """RFC 6962 PATH(m, D[n])."""
    n = len(items)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if index < k:
        return merkle_inclusion_proof(items[:k], index) + [merkle_root(items[k:])]
    return merkle_inclusion_proof(items[k:], index - k) + [merkle_root(items[:k])]


def merkle_root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: list[bytes]) -> bytes | None:
    """The root an RFC 6962 inclusion proof leads to (RFC 9162 2.1.3.2), or None if the proof's
    length does not fit (index, size)."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


# --------------------------------------------------------------------------------------------
# Signing and keys


def signing_message(domain: str, genesis_hash: bytes, body: bytes) -> bytes:
    if len(genesis_hash) != 32:
        raise ValueError("genesisHash must be 32 bytes")
    if not domain.startswith("totem/"):
        raise ValueError("Totem domains start with totem/")
    return domain.encode("ascii") + b"\x00" + genesis_hash + body


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


class KeyPair:
    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self.seed = bytes(seed)
        self._sk = Ed25519PrivateKey.from_private_bytes(self.seed)
        self.public_key = self._sk.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @staticmethod
    def generate() -> "KeyPair":
        return KeyPair(os.urandom(32))

    @staticmethod
    def from_text(text: str) -> "KeyPair":
        """A deterministic key for tests: seed = SHA-256(text)."""
        return KeyPair(sha256(text.encode()))

    def sign(self, message: bytes) -> bytes:
        return self._sk.sign(message)

    @property
    def hex(self) -> str:
        return self.public_key.hex()


KEY_FILE_KEYS = {"algorithm", "publicKey", "seed"}
HEX_RE = re.compile(r"^(?:[0-9a-f]{2})*$")


def is_hex(s: Any, nbytes: int | None = None) -> bool:
    """Canonical JSON hex: a string of lowercase hex digits (of exactly nbytes bytes if given)."""
    if not isinstance(s, str) or not HEX_RE.match(s):
        return False
    return nbytes is None or len(s) == 2 * nbytes


def is_base64(s: Any) -> bool:
    """Standard alphabet, padded, canonical (re-encoding gives the same text)."""
    if not isinstance(s, str):
        return False
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return False
    return base64.b64encode(raw).decode() == s


def write_key_file(path: str, key: KeyPair) -> None:
    """Write a PROTOCOL.md key file, created with mode 0600 (never readable by others, even briefly)."""
    text = json.dumps({"algorithm": "ed25519", "publicKey": key.hex, "seed": key.seed.hex()})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class KeyFileError(ValueError):
    pass


def read_key_file(path: str, *, strict: bool = True) -> KeyPair:
    """Read a PROTOCOL.md key file. Refused when group- or world-readable, when a field is missing
    or not lowercase hex of 32 bytes, or when publicKey is not the seed's; `strict` also refuses
    keys other than algorithm, publicKey and seed."""
    mode = os.stat(path).st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        raise KeyFileError(f"{path}: mode {oct(mode & 0o777)} is group- or world-readable")
    with open(path, "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
    if not isinstance(doc, dict):
        raise KeyFileError(f"{path}: not a JSON object")
    missing = KEY_FILE_KEYS - doc.keys()
    if missing:
        raise KeyFileError(f"{path}: missing {sorted(missing)}")
    if strict and doc.keys() != KEY_FILE_KEYS:
        raise KeyFileError(f"{path}: unexpected keys {sorted(doc.keys() - KEY_FILE_KEYS)}")
    if doc["algorithm"] != "ed25519":
        raise KeyFileError(f"{path}: algorithm {doc['algorithm']!r}")
    for k in ("publicKey", "seed"):
        if not is_hex(doc[k], 32):
            raise KeyFileError(f"{path}: {k} is not lowercase hex of 32 bytes")
    key = KeyPair(bytes.fromhex(doc["seed"]))
    if key.hex != doc["publicKey"]:
        raise KeyFileError(f"{path}: publicKey does not match the seed")
    return key


# --------------------------------------------------------------------------------------------
# HTTP API client


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    json: Any = None
    json_error: str | None = None

    def error_code(self) -> str | None:
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("code")
        return None

    def describe(self) -> str:
        text = self.body[:600].decode("utf-8", "replace")
        return f"HTTP {self.status} {text}"


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, resp: Response):
        super().__init__(f"{method} {path}: {resp.describe()}")
        self.response = resp


class Client:
    """A client of one node's public API (PROTOCOL.md's table). `request` is the raw form used by
    the robustness tests; the other methods check the status and return the decoded JSON."""

    def __init__(self, base_url: str, timeout_s: float = 10.0, rate_limit_wait_s: float = 20.0):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.rate_limit_wait_s = rate_limit_wait_s

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None, timeout_s: float | None = None) -> Response:
        """One request; a 429 `rate_limited` (documented in the OpenAPI file) is waited out and
        retried for at most `rate_limit_wait_s`, so callers see the answer to their request."""
        deadline = time.monotonic() + self.rate_limit_wait_s
        while True:
            resp = self._request_once(method, path, body, headers, timeout_s)
            if resp.status != 429 or time.monotonic() > deadline:
                return resp
            try:
                delay = float(resp.headers.get("Retry-After", "0.2"))
            except ValueError:
                delay = 0.2
            time.sleep(min(max(delay, 0.05), 2.0))

    def _request_once(self, method, path, body, headers, timeout_s) -> Response:
        hdrs = {"Accept": "application/json"}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout_s or self.timeout_s) as r:
                resp = Response(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            resp = Response(e.code, dict(e.headers or {}), e.read() if e.fp else b"")
        if resp.body:
            try:
                resp.json = json.loads(resp.body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                resp.json_error = str(e)
        return resp

    def _call(self, method: str, path: str, body: bytes | None = None,
              ok: tuple[int, ...] = (200,)) -> Response:
        resp = self.request(method, path, body)
        if resp.status not in ok or resp.json is None:
            raise ApiError(method, path, resp)
        return resp

    def get_json(self, path: str) -> Any:
        return self._call("GET", path).json

    # Public routes of PROTOCOL.md

    def status(self) -> dict:
        return self.get_json("/v1/status")

    def healthz(self) -> int:
        return self.request("GET", "/healthz", timeout_s=2.0).status

    def metrics(self) -> str:
        resp = self.request("GET", "/metrics")
        if resp.status != 200:
            raise ApiError("GET", "/metrics", resp)
        return resp.body.decode("utf-8")

    def submit_hex(self, hex_txs: list[str]) -> list[dict]:
        body = json.dumps({"txs": hex_txs}).encode()
        return self._call("POST", "/v1/txs", body).json["results"]

    def submit(self, txs: list[SignedTx]) -> list[dict]:
        return self.submit_hex([t.hex() for t in txs])

    def tx_status(self, tx_hash: bytes | str) -> Response:
        """GET /v1/txs/{hash}, raw: a 404 `tx_not_found` is a normal answer here."""
        h = tx_hash.hex() if isinstance(tx_hash, bytes) else tx_hash
        return self._call("GET", f"/v1/txs/{h}", ok=(200, 404))

    def account(self, public_key: bytes) -> dict:
        return self.get_json(f"/v1/accounts/{public_key.hex()}")

    def work(self, content_hash: bytes) -> Response:
        return self._call("GET", f"/v1/works/{content_hash.hex()}", ok=(200, 404))

    def similar(self, image_code: int, max_distance: int | None = None,
                limit: int | None = None) -> dict:
        q = {"imageCode": f"{image_code:016x}"}
        if max_distance is not None:
            q["maxDistance"] = str(max_distance)
        if limit is not None:
            q["limit"] = str(limit)
        return self.get_json("/v1/works/similar?" + urllib.parse.urlencode(q))

    def certificate(self, tx_hash: bytes, item: int | None = None) -> Response:
        path = f"/v1/certificates/{tx_hash.hex()}"
        if item is not None:
            path += f"?item={item}"
        return self._call("GET", path, ok=(200, 400, 404))

    def block(self, height: int) -> Response:
        return self._call("GET", f"/v1/blocks/{height}", ok=(200, 404))


# --------------------------------------------------------------------------------------------
# Answer shapes (PROTOCOL.md's table), as checks returning a list of problems


def check_error_body(resp: Response) -> list[str]:
    """An error answer: 4xx/5xx and exactly {"error": {"code": snake_case, "message": str}}."""
    problems = []
    if resp.status < 400:
        problems.append(f"status {resp.status} is not an error status")
    j = resp.json
    if not isinstance(j, dict) or set(j.keys()) != {"error"} or not isinstance(j["error"], dict):
        return problems + [f"body is not {{\"error\": {{...}}}}: {resp.body[:300]!r}"]
    e = j["error"]
    if not isinstance(e.get("code"), str) or not re.match(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$", e["code"]):
        problems.append(f"error.code is not snake_case: {e.get('code')!r}")
    if not isinstance(e.get("message"), str) or not e["message"]:
        problems.append(f"error.message is not a non-empty string: {e.get('message')!r}")
    return problems


CERTIFICATE_KEYS = {"format", "chainId", "genesisHash", "tx", "txHash", "leafIndex", "treeSize",
                    "inclusionProof", "header", "blockHash", "commit", "validatorSets"}


def check_certificate_shape(doc: Any, *, with_work: bool, batch: bool) -> list[str]:
    """The keys and JSON types of a totem-certificate/1 document (not a verification)."""
    p: list[str] = []
    if not isinstance(doc, dict):
        return ["certificate is not an object"]
    expected = CERTIFICATE_KEYS | ({"work"} if with_work else set())
    if set(doc.keys()) != expected:
        p.append(f"keys {sorted(doc.keys())} != {sorted(expected)}")
    if doc.get("format") != "totem-certificate/1":
        p.append(f"format {doc.get('format')!r}")
    for k in ("genesisHash", "txHash", "blockHash"):
        if not is_hex(doc.get(k), 32):
            p.append(f"{k} is not lowercase hex of 32 bytes")
    for k in ("tx", "header"):
        if not is_base64(doc.get(k)):
            p.append(f"{k} is not canonical base64")
    for k in ("leafIndex", "treeSize"):
        if not isinstance(doc.get(k), int) or isinstance(doc.get(k), bool):
            p.append(f"{k} is not an integer")
    proof = doc.get("inclusionProof")
    if not isinstance(proof, list) or not all(is_hex(x, 32) for x in proof):
        p.append("inclusionProof is not a list of 32-byte hex")
    commit = doc.get("commit")
    if not isinstance(commit, dict) or set(commit.keys()) != {"height", "view", "signatures"}:
        p.append(f"commit keys: {commit!r:.200}")
    else:
        for s in commit["signatures"]:
            if not isinstance(s, dict) or set(s.keys()) != {"validator", "signature"} \
                    or not is_hex(s.get("validator"), 32) or not is_hex(s.get("signature"), 64):
                p.append(f"commit signature entry {s!r:.200}")
    sets = doc.get("validatorSets")
    if not isinstance(sets, list) or not sets:
        p.append("validatorSets is not a non-empty list")
    else:
        for i, entry in enumerate(sets):
            keys = {"fromHeight", "validators"} | ({"certifiedBy"} if i else set())
            if not isinstance(entry, dict) or set(entry.keys()) != keys:
                p.append(f"validatorSets[{i}] keys {sorted(entry) if isinstance(entry, dict) else entry!r}")
        if isinstance(sets[0], dict) and sets[0].get("fromHeight") != 1:
            p.append("validatorSets[0].fromHeight is not 1")
    if with_work:
        w = doc.get("work")
        wkeys = {"contentHash", "registrant", "title", "registeredAtMs"} | ({"batchIndex"} if batch else set())
        if not isinstance(w, dict) or set(w.keys()) != wkeys:
            p.append(f"work keys {sorted(w) if isinstance(w, dict) else w!r} != {sorted(wkeys)}")
    # Cross-checks a client can do without a verifier.
    if is_base64(doc.get("tx")) and is_hex(doc.get("txHash"), 32):
        if sha256(base64.b64decode(doc["tx"])).hex() != doc["txHash"]:
            p.append("txHash is not SHA-256 of tx")
    if is_base64(doc.get("header")) and is_hex(doc.get("blockHash"), 32):
        if sha256(base64.b64decode(doc["header"])).hex() != doc["blockHash"]:
            p.append("blockHash is not SHA-256 of header")
    return p
