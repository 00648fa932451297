import TotemCrypto

/// A block: its header and its transactions in order.
public struct Block: Sendable, Equatable {
    public var header: Header
    public var txs: [SignedTx]

    public init(header: Header, txs: [SignedTx]) { self.header = header; self.txs = txs }

    public var height: UInt64 { header.height }
    public var hash: Bytes32 { header.hash }

    /// RFC 6962 tree hash over the SignedTx byte strings, in block order.
    public static func txRoot(_ txs: [SignedTx]) -> Bytes32 {
        Merkle.root(leafHashes: txs.map { Merkle.leafHash($0.bytes) })
    }

    /// Encoding for storage and transport: `header | list<bytes SignedTx>`.
    public var encoded: [UInt8] {
        var w = TCEWriter(capacity: 256 + txs.reduce(0) { $0 + 4 + $1.bytes.count })
        header.encode(to: &w)
        w.list(txs) { $0.varBytes($1.bytes) }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8], maxTxs: Int) throws(DecodeError) -> Block {
        var r = TCEReader(bytes)
        let header = try Header.decode(from: &r)
        let txs = try r.list(counts: 0...maxTxs, "txs") { (r: inout TCEReader, _: Int) throws(DecodeError) in
            try SignedTx.decode(try r.varBytes(maxBytes: Limits.signedTxMaxBytes, "txs"))
        }
        try r.finish()
        return Block(header: header, txs: txs)
    }
}
