import TotemCrypto

/// A block header (PROTOCOL.md "Blocks"); `blockHash = SHA-256(encoded header)`.
public struct Header: Sendable, Equatable, TCEEncodable {
    public var chainId: String
    public var height: UInt64
    /// The view in which the block was first proposed.
    public var view: UInt32
    public var timestampMs: UInt64
    public var parentHash: Bytes32
    public var txRoot: Bytes32
    public var txCount: UInt32
    public var stateRoot: Bytes32
    public var validatorSetHash: Bytes32
    public var nextValidatorSetHash: Bytes32
    /// The leader of `view` at `height`.
    public var proposer: Bytes32

    public init(chainId: String, height: UInt64, view: UInt32, timestampMs: UInt64, parentHash: Bytes32,
                txRoot: Bytes32, txCount: UInt32, stateRoot: Bytes32, validatorSetHash: Bytes32,
                nextValidatorSetHash: Bytes32, proposer: Bytes32) {
        self.chainId = chainId; self.height = height; self.view = view; self.timestampMs = timestampMs
        self.parentHash = parentHash; self.txRoot = txRoot; self.txCount = txCount; self.stateRoot = stateRoot
        self.validatorSetHash = validatorSetHash; self.nextValidatorSetHash = nextValidatorSetHash
        self.proposer = proposer
    }

    public static func == (a: Header, b: Header) -> Bool { a.encoded == b.encoded }

    public var hash: Bytes32 { SHA256.hash(encoded) }

    public func encode(to w: inout TCEWriter) {
        w.u8(Limits.protocolVersion)
        w.string(chainId)
        w.u64(height)
        w.u32(view)
        w.u64(timestampMs)
        w.bytes32(parentHash)
        w.bytes32(txRoot)
        w.u32(txCount)
        w.bytes32(stateRoot)
        w.bytes32(validatorSetHash)
        w.bytes32(nextValidatorSetHash)
        w.bytes32(proposer)
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> Header {
        guard try r.u8("version") == Limits.protocolVersion else { throw DecodeError(.enum, field: "version") }
        return Header(chainId: try r.string(maxBytes: Limits.chainIdMaxBytes, "chainId"),
                      height: try r.u64("height"), view: try r.u32("view"),
                      timestampMs: try r.u64("timestampMs"), parentHash: try r.bytes32("parentHash"),
                      txRoot: try r.bytes32("txRoot"), txCount: try r.u32("txCount"),
                      stateRoot: try r.bytes32("stateRoot"), validatorSetHash: try r.bytes32("validatorSetHash"),
                      nextValidatorSetHash: try r.bytes32("nextValidatorSetHash"),
                      proposer: try r.bytes32("proposer"))
    }

    /// Decodes a whole header, refusing trailing bytes.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Header {
        var r = TCEReader(bytes)
        let h = try decode(from: &r)
        try r.finish()
        return h
    }
}
