import TotemCrypto

/// RFC 6962 Merkle trees over a block's SignedTx byte strings, for certificates.
///
/// Temporary: TotemCrypto's `Merkle` (branch `crypto`) will provide the same functions; when it
/// lands on main, certificates switch to it and this file goes. Kept internal so nothing else
/// comes to depend on it.
enum CertificateMerkle {
    /// `SHA-256(0x00 || data)`.
    static func leafHash(_ data: [UInt8]) -> Bytes32 {
        var h = Hasher256()
        h.update(byte: 0x00)
        h.update(data)
        return h.finalize()
    }

    /// `SHA-256(0x01 || left || right)`.
    static func nodeHash(_ left: Bytes32, _ right: Bytes32) -> Bytes32 {
        var h = Hasher256()
        h.update(byte: 0x01)
        h.update(left)
        h.update(right)
        return h.finalize()
    }

    /// The tree hash of `leafHashes` (RFC 6962 §2.1 MTH); SHA-256("") for no leaves.
    static func root(leafHashes: ArraySlice<Bytes32>) -> Bytes32 {
        switch leafHashes.count {
        case 0: return SHA256.hash([UInt8]())
        case 1: return leafHashes[leafHashes.startIndex]
        default:
            let k = largestPowerOfTwo(below: leafHashes.count)
            let mid = leafHashes.startIndex + k
            return nodeHash(root(leafHashes: leafHashes[..<mid]), root(leafHashes: leafHashes[mid...]))
        }
    }

    /// The audit path of leaf `index` (RFC 6962 §2.1.1 PATH), leaf level first; nil when `index`
    /// is not a leaf.
    static func inclusionProof(index: Int, leafHashes: ArraySlice<Bytes32>) -> [Bytes32]? {
        guard index >= 0, index < leafHashes.count else { return nil }
        guard leafHashes.count > 1 else { return [] }
        let k = largestPowerOfTwo(below: leafHashes.count)
        let mid = leafHashes.startIndex + k
        if index < k {
            guard let below = inclusionProof(index: index, leafHashes: leafHashes[..<mid]) else { return nil }
            return below + [root(leafHashes: leafHashes[mid...])]
        }
        guard let below = inclusionProof(index: index - k, leafHashes: leafHashes[mid...]) else { return nil }
        return below + [root(leafHashes: leafHashes[..<mid])]
    }

    /// RFC 9162 §2.1.3.2: whether `proof` takes `leafHash` at `index` of a tree of `treeSize`
    /// leaves to `root`. Every proof hash must be used, so a proof one hash too long or short fails.
    static func verifyInclusion(leafHash: Bytes32, index: UInt64, treeSize: UInt64, proof: [Bytes32],
                                root: Bytes32) -> Bool {
        guard index < treeSize else { return false }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// The largest power of two strictly below `n` (n >= 2).
    private static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}
