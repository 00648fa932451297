/// An RFC 6962 tree with every level kept, so each proof costs O(log n) after one O(n) build:
/// a node serving certificates for a 5000-tx block answers all 5000 from one tree.
///
/// Level 0 holds the leaf hashes; level l+1 hashes level l's nodes in pairs and carries a lone
/// last node up unchanged. That is exactly RFC 6962's tree (its left subtree is always the
/// largest perfect tree that fits), and it gives the invariant the proofs rely on: the node at
/// level l, index i is the root of leaves [i * 2^l, min((i + 1) * 2^l, size)).
public struct MerkleTree: Sendable {
    /// Number of leaves.
    public let size: Int
    /// All levels back to back, leaves first; the root is the last node.
    private let nodes: [Bytes32]
    /// Where each level starts in `nodes`.
    private let levelStart: [Int]

    /// Builds the tree over leaves whose leaf hashes (SHA-256(0x00 || data)) are known.
    public init(leafHashes: [Bytes32]) {
        size = leafHashes.count
        var nodes = leafHashes
        var levelStart = [0]
        // A tree of n leaves has fewer than 2n nodes in all.
        nodes.reserveCapacity(max(0, 2 * size - 1))
        var start = 0
        var count = size
        while count > 1 {
            let next = nodes.count
            for i in 0..<count / 2 {
                nodes.append(Merkle.nodeHash(nodes[start + 2 * i], nodes[start + 2 * i + 1]))
            }
            if count % 2 == 1 { nodes.append(nodes[start + count - 1]) }
            levelStart.append(next)
            start = next
            count = (count + 1) / 2
        }
        self.nodes = nodes
        self.levelStart = levelStart
    }

    /// Builds the tree over the leaves' bytes (e.g. a block's SignedTx encodings, in order).
    public init(leaves: [[UInt8]]) {
        self.init(leafHashes: leaves.map { Merkle.leafHash($0) })
    }

    /// The RFC 6962 root; `Merkle.emptyRoot` for no leaves.
    public var root: Bytes32 {
        nodes.last ?? Merkle.emptyRoot
    }

    /// The leaf hash at `index` (0 ..< size).
    public func leafHash(at index: Int) -> Bytes32 {
        precondition(index >= 0 && index < size, "leaf index out of range")
        return nodes[index]
    }

    /// The audit path of RFC 9162 section 2.1.3.1 for the leaf at `index`, from the leaf's
    /// sibling up to the root's child. Verified by `Merkle.verifyInclusion`.
    public func inclusionProof(index: Int) throws(MerkleError) -> [Bytes32] {
        guard index >= 0 && index < size else {
            throw MerkleError(.indexOutOfRange, "leaf index \(index) is not below tree size \(size)")
        }
        var proof = [Bytes32]()
        var i = index
        var count = size
        var level = 0
        while count > 1 {
            // A carried-up last node has no sibling on its level and adds nothing to the path.
            let sibling = i ^ 1
            if sibling < count { proof.append(nodes[levelStart[level] + sibling]) }
            i >>= 1
            count = (count + 1) / 2
            level += 1
        }
        return proof
    }

    /// The consistency proof of RFC 9162 section 2.1.4.1 that the tree of the first `oldSize`
    /// leaves is a prefix of this one (0 < oldSize <= size; empty when equal).
    /// Verified by `Merkle.verifyConsistency`.
    public func consistencyProof(oldSize: Int) throws(MerkleError) -> [Bytes32] {
        guard oldSize > 0 && oldSize <= size else {
            throw MerkleError(.invalidTreeSize,
                              "old tree size \(oldSize) must be in 1...\(size), the new tree size")
        }
        // SUBPROOF(m, D[start ..< start + n], complete), unrolled: each step records the sibling
        // subtree that the recursive definition appends after the inner subproof.
        var after = [Bytes32]()
        var start = 0
        var n = size
        var m = oldSize
        var complete = true
        while m != n {
            let k = Self.largestPowerOfTwo(below: n)
            if m <= k {
                after.append(subtreeRoot(start: start + k, count: n - k))
                n = k
            } else {
                after.append(subtreeRoot(start: start, count: k))
                start += k
                m -= k
                n -= k
                complete = false
            }
        }
        var proof = [Bytes32]()
        proof.reserveCapacity(after.count + 1)
        // The old tree's own root is left out only when it is a whole subtree the verifier has.
        if !complete { proof.append(subtreeRoot(start: start, count: n)) }
        proof.append(contentsOf: after.reversed())
        return proof
    }

    /// The root of leaves [start, start + count), for the ranges RFC 6962 proofs use: a perfect
    /// subtree aligned on its size, or a range that ends at the last leaf.
    private func subtreeRoot(start: Int, count: Int) -> Bytes32 {
        // ceil(log2(count)): the level where one node covers the whole range.
        let level = count <= 1 ? 0 : Int.bitWidth - (count - 1).leadingZeroBitCount
        precondition(start & ((1 << level) - 1) == 0 && (count == 1 << level || start + count == size),
                     "range \(start)..<\(start + count) is not a subtree of a tree of size \(size)")
        return nodes[levelStart[level] + (start >> level)]
    }

    /// The largest power of two strictly below `n` (n >= 2): where RFC 6962 splits a tree.
    static func largestPowerOfTwo(below n: Int) -> Int {
        1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
    }
}
