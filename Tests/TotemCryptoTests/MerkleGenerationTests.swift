import Foundation
import Testing
import TotemCrypto

/// Trees, roots and proofs made by `Merkle`/`MerkleTree`, checked against a naive transcription
/// of RFC 6962's recursive definitions and against the verifier.
@Suite struct MerkleGenerationTests {
    @Test func hashingPrimitives() {
        #expect(Merkle.emptyRoot.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Merkle.root(leaves: []) == Merkle.emptyRoot)
        #expect(Merkle.root(leafHashes: []) == Merkle.emptyRoot)
        #expect(MerkleTree(leafHashes: []).root == Merkle.emptyRoot)
        // RFC 6962's leaf hash of the empty string: SHA-256 of the single byte 0x00.
        #expect(Merkle.leafHash([]).hex == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        let a = Merkle.leafHash([1]), b = Merkle.leafHash([2])
        #expect(Merkle.nodeHash(a, b) == SHA256.hash([1] + a.bytes + b.bytes))
        #expect(Merkle.nodeHash(a, b) != Merkle.nodeHash(b, a))
        #expect(Merkle.leafHash([7, 8, 9][1...]) == Merkle.leafHash([8, 9]))
    }

    /// Every size 1...70 over random leaves: roots equal the reference, every inclusion proof
    /// equals the reference audit path and verifies, every consistency proof from every older
    /// size equals the reference and verifies.
    @Test(arguments: 1...70)
    func randomTree(size: Int) throws {
        var rng = SplitMix64(seed: UInt64(size))
        let leaves = (0..<size).map { _ in rng.bytes(count: Int(rng.next() % 40)) }
        let leafHashes = leaves.map { Merkle.leafHash($0) }
        let tree = MerkleTree(leafHashes: leafHashes)
        let root = Reference.mth(leaves[...])
        #expect(tree.root == root)
        #expect(MerkleTree(leaves: leaves).root == root)
        #expect(Merkle.root(leaves: leaves) == root)
        #expect(Merkle.root(leafHashes: leafHashes) == root)

        for index in 0..<size {
            let proof = try tree.inclusionProof(index: index)
            #expect(proof == Reference.path(index, leaves[...]), "size \(size) index \(index)")
            #expect(try Merkle.inclusionProof(index: index, leafHashes: leafHashes) == proof)
            #expect(Merkle.verifyInclusion(leafHash: leafHashes[index], index: UInt64(index),
                                           treeSize: UInt64(size), proof: proof, root: root))
        }
        for oldSize in 1...size {
            let proof = try tree.consistencyProof(oldSize: oldSize)
            #expect(proof == Reference.proof(oldSize, leaves[...]), "sizes \(oldSize) -> \(size)")
            #expect(try Merkle.consistencyProof(oldSize: oldSize, leafHashes: leafHashes) == proof)
            #expect(Merkle.verifyConsistency(oldSize: UInt64(oldSize), newSize: UInt64(size), proof: proof,
                                             oldRoot: Reference.mth(leaves[..<oldSize]), newRoot: root))
        }
    }

    /// Any single change to a valid proof's inputs is refused, with the reason.
    @Test(arguments: [1, 2, 3, 5, 8, 13, 31, 32, 33, 64])
    func tamperedProofsFail(size: Int) throws {
        var rng = SplitMix64(seed: 1000 + UInt64(size))
        let leafHashes = (0..<size).map { _ in Merkle.leafHash(rng.bytes(count: 8)) }
        let tree = MerkleTree(leafHashes: leafHashes)
        let n = UInt64(size)
        for index in 0..<size {
            let i = UInt64(index)
            let proof = try tree.inclusionProof(index: index)
            let other = Merkle.leafHash([0xff])
            expectInclusionFails(.rootMismatch, other, i, n, proof, tree.root)
            expectInclusionFails(.rootMismatch, leafHashes[index], i, n, proof, other)
            for k in proof.indices {
                var bad = proof
                bad[k] = flipBit(bad[k], k)
                expectInclusionFails(.rootMismatch, leafHashes[index], i, n, bad, tree.root)
            }
            expectInclusionFails(.wrongProofLength, leafHashes[index], i, n, proof + [other], tree.root)
            if !proof.isEmpty {
                expectInclusionFails(.wrongProofLength, leafHashes[index], i, n, Array(proof.dropLast()), tree.root)
            }
            expectInclusionFails(.indexOutOfRange, leafHashes[index], n, n, proof, tree.root)
            // Another index puts the leaf elsewhere. (Another tree size can have the same path
            // shape, e.g. leaf 0 of sizes 3 and 4: the size is bound by the signed header's
            // txCount, not by the proof.)
            if size > 1 {
                let j = (i + 1) % n
                #expect(!Merkle.verifyInclusion(leafHash: leafHashes[index], index: j, treeSize: n,
                                                proof: proof, root: tree.root))
            }
        }
        for oldSize in 1..<max(size, 1) {
            let proof = try tree.consistencyProof(oldSize: oldSize)
            let oldRoot = Merkle.root(leafHashes: Array(leafHashes[..<oldSize]))
            let m = UInt64(oldSize)
            for k in proof.indices {
                var bad = proof
                bad[k] = flipBit(bad[k], k)
                #expect(throws: MerkleError.self) {
                    try Merkle.checkConsistency(oldSize: m, newSize: n, proof: bad, oldRoot: oldRoot, newRoot: tree.root)
                }
                #expect(!Merkle.verifyConsistency(oldSize: m, newSize: n, proof: bad, oldRoot: oldRoot, newRoot: tree.root))
            }
            #expect(!Merkle.verifyConsistency(oldSize: m, newSize: n, proof: proof, oldRoot: tree.root, newRoot: tree.root))
            #expect(!Merkle.verifyConsistency(oldSize: m, newSize: n, proof: proof, oldRoot: oldRoot, newRoot: oldRoot))
            #expect(!Merkle.verifyConsistency(oldSize: m, newSize: n, proof: proof + [oldRoot],
                                              oldRoot: oldRoot, newRoot: tree.root))
            #expect(!Merkle.verifyConsistency(oldSize: n, newSize: m, proof: proof, oldRoot: tree.root, newRoot: oldRoot))
        }
    }

    @Test func generationRefusesBadArguments() {
        let tree = MerkleTree(leafHashes: [Merkle.leafHash([1]), Merkle.leafHash([2])])
        for index in [-1, 2, 3] {
            #expect(throws: MerkleError(.indexOutOfRange, "leaf index \(index) is not below tree size 2")) {
                try tree.inclusionProof(index: index)
            }
        }
        for oldSize in [-1, 0, 3] {
            #expect { try tree.consistencyProof(oldSize: oldSize) } throws: { error in
                (error as? MerkleError)?.code == .invalidTreeSize
            }
        }
        #expect((try? MerkleTree(leafHashes: []).inclusionProof(index: 0)) == nil)
        #expect((try? tree.consistencyProof(oldSize: 2)) == [])
    }

    /// Sizes around powers of two and a full 5000-transaction block against the reference.
    @Test(arguments: [127, 128, 129, 1023, 1024, 1025, 5000])
    func largeTreeRoots(size: Int) throws {
        var rng = SplitMix64(seed: 77 + UInt64(size))
        let leaves = (0..<size).map { _ in rng.bytes(count: 16) }
        let root = Reference.mth(leaves[...])
        #expect(Merkle.root(leaves: leaves) == root)
        let tree = MerkleTree(leaves: leaves)
        #expect(tree.root == root)
        for index in [0, size / 2, size - 1] {
            let proof = try tree.inclusionProof(index: index)
            #expect(proof == Reference.path(index, leaves[...]))
            #expect(Merkle.verifyInclusion(leafHash: tree.leafHash(at: index), index: UInt64(index),
                                           treeSize: UInt64(size), proof: proof, root: root))
        }
    }

    /// PROTOCOL.md's txRoot vectors: roots over SignedTx bytes, their leaf hashes and every
    /// inclusion proof, from the independent reference.
    @Test func totemTxRootVectors() throws {
        let vectors = try TestData.jsonObject("totem/vectors.json")
        guard let transactions = vectors["transactions"] as? [[String: Any]],
              let txRoots = vectors["txRoots"] as? [[String: Any]], !txRoots.isEmpty else {
            throw TestDataError("totem/vectors.json lacks transactions or txRoots")
        }
        var signedTxByName = [String: [UInt8]]()
        for tx in transactions {
            if let name = tx["name"] as? String, let hex = tx["signedTx"] as? String {
                signedTxByName[name] = try Decode.hex(hex)
            }
        }
        var checkedProofs = 0
        for v in txRoots {
            let names = v["leaves"] as? [String] ?? []
            let leaves = try names.map { name in
                guard let bytes = signedTxByName[name] else { throw TestDataError("no transaction \(name)") }
                return bytes
            }
            let leafHashes = try (v["leafHashes"] as? [String] ?? []).map(Decode.bytes32)
            let root = try Decode.bytes32(v["root"] as? String ?? "")
            #expect(leaves.map { Merkle.leafHash($0) } == leafHashes)
            #expect(Merkle.root(leaves: leaves) == root, "txRoot over \(names)")
            let tree = MerkleTree(leafHashes: leafHashes)
            #expect(tree.root == root)
            for p in v["inclusionProofs"] as? [[String: Any]] ?? [] {
                guard let index = p["leafIndex"] as? Int, leafHashes.indices.contains(index) else {
                    throw TestDataError("bad leafIndex in txRoots: \(p)")
                }
                let proof = try (p["proof"] as? [String] ?? []).map(Decode.bytes32)
                #expect(try tree.inclusionProof(index: index) == proof)
                #expect(Merkle.verifyInclusion(leafHash: leafHashes[index], index: UInt64(index),
                                               treeSize: UInt64(leaves.count), proof: proof, root: root))
                checkedProofs += 1
            }
        }
        #expect(txRoots.count == 5)
        #expect(checkedProofs >= 10)
    }

    private func expectInclusionFails(_ code: MerkleError.Code, _ leaf: Bytes32, _ index: UInt64, _ size: UInt64,
                                      _ proof: [Bytes32], _ root: Bytes32,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) {
            try Merkle.checkInclusion(leafHash: leaf, index: index, treeSize: size, proof: proof, root: root)
        } throws: { error in
            (error as? MerkleError)?.code == code
        }
        #expect(!Merkle.verifyInclusion(leafHash: leaf, index: index, treeSize: size, proof: proof, root: root),
                sourceLocation: sourceLocation)
    }

    private func flipBit(_ h: Bytes32, _ k: Int) -> Bytes32 {
        var bytes = h.bytes
        bytes[k % 32] ^= 1 << UInt8(k % 8)
        return Bytes32(bytes) ?? h
    }
}

/// RFC 6962 section 2.1 and RFC 9162 section 2.1.3/2.1.4, transcribed as literally as possible
/// (recursion on slices, hashing with SHA-256 directly), to check the efficient code against.
enum Reference {
    static func hash(_ bytes: [UInt8]) -> Bytes32 { SHA256.hash(bytes) }

    /// MTH(D[n]).
    static func mth(_ d: ArraySlice<[UInt8]>) -> Bytes32 {
        switch d.count {
        case 0: return hash([])
        case 1: return hash([0] + d[d.startIndex])
        default:
            let k = split(d.count)
            let left = mth(d.prefix(k)), right = mth(d.dropFirst(k))
            return hash([1] + left.bytes + right.bytes)
        }
    }

    /// PATH(m, D[n]).
    static func path(_ m: Int, _ d: ArraySlice<[UInt8]>) -> [Bytes32] {
        guard d.count > 1 else { return [] }
        let k = split(d.count)
        if m < k { return path(m, d.prefix(k)) + [mth(d.dropFirst(k))] }
        return path(m - k, d.dropFirst(k)) + [mth(d.prefix(k))]
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
    static func proof(_ m: Int, _ d: ArraySlice<[UInt8]>) -> [Bytes32] { subproof(m, d, true) }

    static func subproof(_ m: Int, _ d: ArraySlice<[UInt8]>, _ b: Bool) -> [Bytes32] {
        let n = d.count
        if m == n { return b ? [] : [mth(d)] }
        let k = split(n)
        if m <= k { return subproof(m, d.prefix(k), b) + [mth(d.dropFirst(k))] }
        return subproof(m - k, d.dropFirst(k), false) + [mth(d.prefix(k))]
    }

    /// The largest power of two smaller than n (n > 1).
    static func split(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }
}

/// A tiny seeded generator, so every run builds the same trees.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
