import Testing
import TotemCrypto
@testable import Chain

@Suite("Certificate RFC 6962 inclusion proofs")
struct CertificateMerkleTests {
    static func signedTx(named name: String) -> [UInt8]? {
        TestData.section("transactions").first { $0.string("name") == name }.map { $0.bytes("signedTx") }
    }

    @Test(arguments: TestData.section("txRoots"))
    func rootsAndProofsMatchTheVectors(_ v: JSONFields) throws {
        let leaves = try v.strings("leaves").map { name in try #require(Self.signedTx(named: name), "tx \(name)") }
        let hashes = leaves.map(CertificateMerkle.leafHash)
        #expect(hashes.map(\.hex) == v.strings("leafHashes"))
        let root = CertificateMerkle.root(leafHashes: hashes[...])
        #expect(root.hex == v.string("root"))
        let size = UInt64(hashes.count)
        for p in v.list("inclusionProofs") {
            let index = Int(p.u64("leafIndex"))
            let proof = try #require(CertificateMerkle.inclusionProof(index: index, leafHashes: hashes[...]))
            #expect(proof.map(\.hex) == p.strings("proof"), "size \(size) leaf \(index)")
            #expect(CertificateMerkle.verifyInclusion(leafHash: hashes[index], index: UInt64(index), treeSize: size,
                                                      proof: proof, root: root))
        }
        if size == 1 {
            #expect(CertificateMerkle.inclusionProof(index: 0, leafHashes: hashes[...]) == [])
            #expect(CertificateMerkle.verifyInclusion(leafHash: hashes[0], index: 0, treeSize: 1, proof: [], root: root))
        }
    }

    /// Every proof of trees of 1 to 17 leaves verifies, and no neighbouring claim does. (A proof
    /// does not bind the tree size except through the root, which is why step `inclusion` checks
    /// `treeSize = txCount` on its own.)
    @Test(arguments: 1...17)
    func proofsVerifyOnlyForTheirOwnClaim(_ n: Int) throws {
        let hashes = (0..<n).map { CertificateMerkle.leafHash([UInt8(truncatingIfNeeded: $0), 0x42]) }
        let root = CertificateMerkle.root(leafHashes: hashes[...])
        let size = UInt64(n)
        for i in 0..<n {
            let proof = try #require(CertificateMerkle.inclusionProof(index: i, leafHashes: hashes[...]))
            let idx = UInt64(i)
            #expect(CertificateMerkle.verifyInclusion(leafHash: hashes[i], index: idx, treeSize: size, proof: proof, root: root))
            #expect(!CertificateMerkle.verifyInclusion(leafHash: hashes[i], index: idx, treeSize: size, proof: proof,
                                                       root: CertificateMerkle.nodeHash(root, root)))
            #expect(!CertificateMerkle.verifyInclusion(leafHash: hashes[i], index: idx, treeSize: size,
                                                       proof: proof + [root], root: root))
            if !proof.isEmpty {
                #expect(!CertificateMerkle.verifyInclusion(leafHash: hashes[i], index: idx, treeSize: size,
                                                           proof: Array(proof.dropLast()), root: root))
            }
            if i + 1 < n {
                #expect(!CertificateMerkle.verifyInclusion(leafHash: hashes[i], index: idx + 1, treeSize: size,
                                                           proof: proof, root: root))
            }
        }
        #expect(!CertificateMerkle.verifyInclusion(leafHash: hashes[0], index: size, treeSize: size, proof: [], root: root))
        #expect(CertificateMerkle.inclusionProof(index: n, leafHashes: hashes[...]) == nil)
        #expect(CertificateMerkle.inclusionProof(index: -1, leafHashes: hashes[...]) == nil)
    }

    @Test func emptyTreeRootIsTheHashOfNothing() {
        #expect(CertificateMerkle.root(leafHashes: []) == SHA256.hash([UInt8]()))
        #expect(CertificateMerkle.inclusionProof(index: 0, leafHashes: []) == nil)
    }
}
