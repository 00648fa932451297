import ChainModel
import TotemCrypto

/// How `register-works` cuts an archive into RegisterWorkBatch transactions: in order, each batch as
/// large as the chain allows, at most `maxItems` works (PROTOCOL.md: 1 to 1,000) and at most
/// `maxTxBytes` bytes once signed (the genesis `maxTxBytes`).
enum WorkBatches {
    /// Bytes of a signed RegisterWorkBatch beyond its items' own encodings, for this chain and sender.
    /// The item count is a fixed-width field, so the overhead does not depend on the count.
    static func overhead(chainId: String, sender: Bytes32) -> Int {
        let probe = Work(contentHash: .zero, imageCode: nil, title: "", mediaType: "", width: 0, height: 0, license: "")
        let tx = Tx(chainId: chainId, sender: sender, nonce: UInt64.max, payload: .registerWorkBatch([probe]))
        return tx.encoded.count + Limits.signatureBytes - probe.encoded.count
    }

    /// Index ranges of `itemBytes` (each work's encoded size), one per batch. A single work that does
    /// not fit in a transaction on its own is its own batch (the node then refuses it, by name).
    static func cut(itemBytes: [Int], overhead: Int, maxTxBytes: Int, maxItems: Int) -> [Range<Int>] {
        var batches: [Range<Int>] = []
        var start = 0, bytes = overhead
        for (i, size) in itemBytes.enumerated() {
            if i > start && (bytes + size > maxTxBytes || i - start >= maxItems) {
                batches.append(start..<i)
                start = i
                bytes = overhead
            }
            bytes += size
        }
        if start < itemBytes.count { batches.append(start..<itemBytes.count) }
        return batches
    }
}
