import Foundation
import Testing
import TotemCrypto

/// The RFC 6962 proof vectors of transparency-dev/merkle: valid proofs and tampered ones
/// (`wantErr`), each checked with Totem's verifier.
@Suite struct MerkleVectorTests {
    @Test(arguments: try TestData.jsonFiles(under: "rfc6962/inclusion"))
    func inclusionVector(file: String) throws {
        let v = try JSONDecoder().decode(InclusionVector.self, from: TestData.data(file))
        // A leaf hash or proof entry that is not 32 bytes cannot even be expressed in the API
        // (RFC 9162 verifiers reject it by length): that is its rejection.
        guard let leafHash = Bytes32(try Decode.base64(v.leafHash)),
              let proof = try hashes(v.proof) else {
            #expect(v.wantErr, "\(file): a valid vector has a hash that is not 32 bytes")
            return
        }
        let root = try rootValue(v.root)
        let accepted = Merkle.verifyInclusion(leafHash: leafHash, index: v.leafIdx, treeSize: v.treeSize,
                                              proof: proof, root: root)
        #expect(accepted == !v.wantErr, "\(file): \(v.desc)")
    }

    @Test(arguments: try TestData.jsonFiles(under: "rfc6962/consistency"))
    func consistencyVector(file: String) throws {
        let v = try JSONDecoder().decode(ConsistencyVector.self, from: TestData.data(file))
        guard let proof = try hashes(v.proof) else {
            #expect(v.wantErr, "\(file): a valid vector has a proof hash that is not 32 bytes")
            return
        }
        let accepted = Merkle.verifyConsistency(oldSize: v.size1, newSize: v.size2, proof: proof,
                                                oldRoot: try rootValue(v.root1), newRoot: try rootValue(v.root2))
        #expect(accepted == !v.wantErr, "\(file): \(v.desc)")
    }

    /// Both folders hold valid and tampered vectors; a loader that found only one kind, or few
    /// files, would make the tests above weak without failing them.
    @Test func vectorSetsAreComplete() throws {
        for folder in ["rfc6962/inclusion", "rfc6962/consistency"] {
            let files = try TestData.jsonFiles(under: folder)
            #expect(files.count >= 90, "\(folder) has only \(files.count) vectors")
            var kinds = Set<Bool>()
            for file in files {
                let object = try JSONSerialization.jsonObject(with: TestData.data(file)) as? [String: Any]
                if let wantErr = object?["wantErr"] as? Bool { kinds.insert(wantErr) }
            }
            #expect(kinds == [true, false], "\(folder) lacks valid or tampered vectors")
        }
    }

    /// Proof entries as Bytes32; nil when one is not 32 bytes.
    private func hashes(_ proof: [String]?) throws -> [Bytes32]? {
        var out = [Bytes32]()
        for entry in proof ?? [] {
            guard let h = Bytes32(try Decode.base64(entry)) else { return nil }
            out.append(h)
        }
        return out
    }

    /// A root as Bytes32. Some vectors use placeholder roots that are not 32 bytes ("don't care"
    /// values for cases decided by sizes alone, and one valid case that only compares two equal
    /// roots); they map to a hash of a tagged copy, which keeps equal placeholders equal and can
    /// never equal a real tree root.
    private func rootValue(_ base64: String) throws -> Bytes32 {
        let bytes = try Decode.base64(base64)
        return Bytes32(bytes) ?? SHA256.hash(Array("placeholder root:".utf8) + bytes)
    }
}

private struct InclusionVector: Decodable {
    let leafIdx: UInt64
    let treeSize: UInt64
    let root: String
    let leafHash: String
    let proof: [String]?
    let desc: String
    let wantErr: Bool
}

private struct ConsistencyVector: Decodable {
    let size1: UInt64
    let size2: UInt64
    let root1: String
    let root2: String
    let proof: [String]?
    let desc: String
    let wantErr: Bool
}
