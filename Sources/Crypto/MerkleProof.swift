/// Making and checking RFC 6962 / RFC 9162 inclusion and consistency proofs.
///
/// Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2. Before hashing anything it checks
/// that the proof has exactly the number of hashes the sizes call for, so a wrong-length proof is
/// reported as such and costs no work. Sizes and indices are `UInt64` because they come from
/// untrusted documents (certificates); generation takes `Int` because it indexes arrays.
extension Merkle {
    // MARK: Generation

    /// The audit path for the leaf at `index` in the tree over `leafHashes`. For many proofs over
    /// one tree, build a `MerkleTree` once instead.
    public static func inclusionProof(index: Int, leafHashes: [Bytes32]) throws(MerkleError) -> [Bytes32] {
        try MerkleTree(leafHashes: leafHashes).inclusionProof(index: index)
    }

    /// The proof that the tree over the first `oldSize` of `leafHashes` is a prefix of the tree
    /// over all of them (0 < oldSize <= count).
    public static func consistencyProof(oldSize: Int, leafHashes: [Bytes32]) throws(MerkleError) -> [Bytes32] {
        try MerkleTree(leafHashes: leafHashes).consistencyProof(oldSize: oldSize)
    }

    // MARK: Inclusion

    /// Whether `proof` takes `leafHash` at `index` to `root` in a tree of `treeSize` leaves.
    public static func verifyInclusion(leafHash: Bytes32, index: UInt64, treeSize: UInt64,
                                       proof: [Bytes32], root: Bytes32) -> Bool {
        do {
            try checkInclusion(leafHash: leafHash, index: index, treeSize: treeSize, proof: proof, root: root)
            return true
        } catch {
            return false
        }
    }

    /// As `verifyInclusion`, but says why a proof fails.
    public static func checkInclusion(leafHash: Bytes32, index: UInt64, treeSize: UInt64,
                                      proof: [Bytes32], root: Bytes32) throws(MerkleError) {
        guard index < treeSize else {
            throw MerkleError(.indexOutOfRange, "leaf index \(index) is not below tree size \(treeSize)")
        }
        let expected = pathLength(index: index, lastIndex: treeSize - 1)
        guard proof.count == expected else {
            throw MerkleError(.wrongProofLength, "an inclusion proof for leaf \(index) of a tree of size "
                              + "\(treeSize) has \(expected) hashes, not \(proof.count)")
        }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            r = climb(&fn, &sn) ? nodeHash(p, r) : nodeHash(r, p)
        }
        guard r == root else {
            throw MerkleError(.rootMismatch, "the inclusion proof for leaf \(index) of a tree of size "
                              + "\(treeSize) leads to root \(r.hex), not \(root.hex)")
        }
    }

    // MARK: Consistency

    /// Whether `proof` shows that the tree of `oldSize` leaves with `oldRoot` is a prefix of the
    /// tree of `newSize` leaves with `newRoot`. An `oldSize` of 0 is rejected: RFC 9162 defines
    /// consistency proofs for 0 < oldSize <= newSize, and one from the empty tree proves nothing.
    public static func verifyConsistency(oldSize: UInt64, newSize: UInt64, proof: [Bytes32],
                                         oldRoot: Bytes32, newRoot: Bytes32) -> Bool {
        do {
            try checkConsistency(oldSize: oldSize, newSize: newSize, proof: proof, oldRoot: oldRoot, newRoot: newRoot)
            return true
        } catch {
            return false
        }
    }

    /// As `verifyConsistency`, but says why a proof fails.
    public static func checkConsistency(oldSize: UInt64, newSize: UInt64, proof: [Bytes32],
                                        oldRoot: Bytes32, newRoot: Bytes32) throws(MerkleError) {
        guard oldSize > 0 && oldSize <= newSize else {
            throw MerkleError(.invalidTreeSize, "no consistency proof exists from tree size \(oldSize) "
                              + "to \(newSize): the old size must be in 1...\(newSize)")
        }
        if oldSize == newSize {
            guard proof.isEmpty else {
                throw MerkleError(.wrongProofLength, "a consistency proof between equal sizes is empty, "
                                  + "not \(proof.count) hashes")
            }
            guard oldRoot == newRoot else {
                throw MerkleError(.rootMismatch, "trees of equal size \(oldSize) have different roots "
                                  + "\(oldRoot.hex) and \(newRoot.hex)")
            }
            return
        }
        // The walk starts at the old tree's last leaf, above the levels where it is a right child
        // (those hashes are inside the old tree's subtrees and need no proof hash).
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        // When the old size is a power of two, the old tree is a whole subtree of the new one and
        // its root, which the verifier has, starts the path; otherwise the proof's first hash does.
        let oldIsSubtree = oldSize & (oldSize - 1) == 0
        let expected = (oldIsSubtree ? 0 : 1) + pathLength(index: fn, lastIndex: sn)
        guard proof.count == expected else {
            throw MerkleError(.wrongProofLength, "a consistency proof from tree size \(oldSize) to \(newSize) "
                              + "has \(expected) hashes, not \(proof.count)")
        }
        var rest = proof[...]
        let seed = oldIsSubtree ? oldRoot : rest.removeFirst()
        var fr = seed
        var sr = seed
        for c in rest {
            if climb(&fn, &sn) {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
            } else {
                sr = nodeHash(sr, c)
            }
        }
        guard fr == oldRoot else {
            throw MerkleError(.rootMismatch, "the consistency proof leads to old root \(fr.hex), "
                              + "not \(oldRoot.hex) (size \(oldSize))")
        }
        guard sr == newRoot else {
            throw MerkleError(.rootMismatch, "the consistency proof leads to new root \(sr.hex), "
                              + "not \(newRoot.hex) (size \(newSize))")
        }
    }

    // MARK: The walk shared by both proofs

    /// One step of RFC 9162's walk from node `fn` on a level whose last node is `sn` to its parent.
    /// Returns whether the proof hash for this step is the left sibling.
    @inline(__always)
    private static func climb(_ fn: inout UInt64, _ sn: inout UInt64) -> Bool {
        let siblingIsLeft = fn & 1 == 1 || fn == sn
        if fn & 1 == 0 && fn == sn {
            // A lone last node is carried up unchanged until it is some node's right child.
            while fn & 1 == 0 && fn != 0 {
                fn >>= 1
                sn >>= 1
            }
        }
        fn >>= 1
        sn >>= 1
        return siblingIsLeft
    }

    /// How many proof hashes the walk from `index` to the root consumes (at most 64: every step
    /// halves `lastIndex`).
    private static func pathLength(index: UInt64, lastIndex: UInt64) -> Int {
        var fn = index
        var sn = lastIndex
        var steps = 0
        while sn != 0 {
            _ = climb(&fn, &sn)
            steps += 1
        }
        return steps
    }
}
