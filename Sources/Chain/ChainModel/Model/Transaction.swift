import TotemCrypto

/// An unsigned transaction: `version:u8 (=1) | chainId | kind:u8 | sender | nonce:u64 | payload`.
public struct Tx: Sendable, Equatable, TCEEncodable {
    public var chainId: String
    public var sender: Bytes32
    /// The sender's sequence number: 1 for its first tx, then +1 each.
    public var nonce: UInt64
    public var payload: Payload

    public var kind: TxKind { payload.kind }

    public init(chainId: String, sender: Bytes32, nonce: UInt64, payload: Payload) {
        self.chainId = chainId; self.sender = sender; self.nonce = nonce; self.payload = payload
    }

    /// Equal when the encodings are equal (strings compare as bytes).
    public static func == (a: Tx, b: Tx) -> Bool { a.encoded == b.encoded }

    public func encode(to w: inout TCEWriter) {
        w.u8(Limits.protocolVersion)
        w.string(chainId)
        w.u8(kind.rawValue)
        w.bytes32(sender)
        w.u64(nonce)
        payload.encode(to: &w)
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> Tx {
        guard try r.u8("version") == Limits.protocolVersion else { throw DecodeError(.enum, field: "version") }
        let chainId = try r.string(maxBytes: Limits.chainIdMaxBytes, "chainId")
        guard let kind = TxKind(rawValue: try r.u8("kind")) else { throw DecodeError(.enum, field: "kind") }
        let sender = try r.bytes32("sender")
        let nonce = try r.u64("nonce")
        let payload = try Payload.decode(kind: kind, from: &r)
        return Tx(chainId: chainId, sender: sender, nonce: nonce, payload: payload)
    }

    /// Signs this tx as its sender on the chain with `genesisHash`.
    public func signed(by key: SigningKey, genesisHash: Bytes32) -> SignedTx {
        let body = encoded
        let signature = key.sign(.tx, genesisHash: genesisHash, body: body)
        return SignedTx(tx: self, txBytes: body, signature: signature)
    }
}

/// `Tx | signature:bytes64`, with its exact bytes and hash kept: they are what txRoot, txHash,
/// certificates and the store use, so they are computed once.
public struct SignedTx: Sendable, Equatable {
    public let tx: Tx
    public let signature: Bytes64
    /// The encoded SignedTx.
    public let bytes: [UInt8]
    /// SHA-256 of `bytes`.
    public let hash: Bytes32

    init(tx: Tx, txBytes: [UInt8], signature: Bytes64) {
        var all = txBytes
        signature.append(to: &all)
        self.tx = tx
        self.signature = signature
        self.bytes = all
        self.hash = SHA256.hash(all)
    }

    public static func == (a: SignedTx, b: SignedTx) -> Bool { a.bytes == b.bytes }

    /// The encoded Tx (what the sender signed, without its domain prefix).
    public var txBytes: ArraySlice<UInt8> { bytes.dropLast(Limits.signatureBytes) }

    /// Decodes a SignedTx, refusing anything over `Limits.signedTxMaxBytes` before reading it.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> SignedTx {
        guard bytes.count <= Limits.signedTxMaxBytes else { throw DecodeError(.tooLarge, field: "(size)") }
        var r = TCEReader(bytes)
        let tx = try Tx.decode(from: &r)
        let signature = try r.bytes64("signature")
        try r.finish()
        return SignedTx(decoded: tx, bytes: bytes, signature: signature)
    }

    private init(decoded tx: Tx, bytes: [UInt8], signature: Bytes64) {
        self.tx = tx
        self.signature = signature
        self.bytes = bytes
        self.hash = SHA256.hash(bytes)
    }

    /// Strict Ed25519 check of the sender's signature over the tx on the chain with `genesisHash`.
    public func verifySignature(genesisHash: Bytes32) -> Bool {
        Ed25519.verify(signature, .tx, genesisHash: genesisHash, body: txBytes, publicKey: tx.sender)
    }
}
