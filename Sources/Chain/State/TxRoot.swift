import TotemCrypto

/// `txRoot` of PROTOCOL.md: the RFC 6962 Merkle tree hash over a block's SignedTx byte strings.
/// Local until TotemCrypto's `Merkle` lands on main; then this delegates to it.
enum TxRoot {
    static func compute(_ txs: [SignedTx]) -> Bytes32 {
        guard !txs.isEmpty else { return SHA256.hash([UInt8]()) }
        var level = txs.map { tx -> Bytes32 in
            var h = Hasher256()
            h.update(byte: 0)
            h.update(tx.bytes)
            return h.finalize()
        }
        // Pairing bottom-up and carrying an odd last node up unchanged gives RFC 6962's split at
        // the largest power of two below n: pairs never straddle that split.
        while level.count > 1 {
            var next = [Bytes32]()
            next.reserveCapacity((level.count + 1) / 2)
            var i = 0
            while i + 1 < level.count {
                var h = Hasher256()
                h.update(byte: 1)
                h.update(level[i])
                h.update(level[i + 1])
                next.append(h.finalize())
                i += 2
            }
            if i < level.count { next.append(level[i]) }
            level = next
        }
        return level[0]
    }
}
