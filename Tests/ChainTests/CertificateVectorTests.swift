import Foundation
import Testing
import TotemCrypto
@testable import Certificates
@testable import ChainModel

/// The certificate vectors: files, expectations and the genesis they verify against.
enum CertificateVectors {
    static let directory = "totem/certificates"

    static func genesis() throws -> Genesis {
        try Genesis.parse(fileBytes: [UInt8](try TestData.data("\(directory)/genesis.json")))
    }

    static func file(_ name: String) throws -> [UInt8] {
        [UInt8](try TestData.data("\(directory)/\(name)"))
    }

    /// expected.json: file name to `valid` or a step name.
    static let expected: [(file: String, verdict: String)] = {
        guard case .object(let d)? = try? TestData.json("\(directory)/expected.json") else { return [] }
        return d.keys.sorted().map { k in
            if case .string(let s)? = d[k] { (k, s) } else { (k, "<not a string>") }
        }
    }()

    static var validFiles: [String] { expected.filter { $0.verdict == "valid" }.map(\.file) }
}

@Suite("Certificate vectors")
struct CertificateVectorTests {
    @Test func everyFileHasAnExpectation() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TestData.root.appendingPathComponent(
            CertificateVectors.directory).path).filter { $0.hasSuffix(".json") && $0 != "expected.json" && $0 != "genesis.json" }
        #expect(CertificateVectors.expected.count == 98)
        #expect(Set(files) == Set(CertificateVectors.expected.map(\.file)))
        var counts = [String: Int]()
        for e in CertificateVectors.expected { counts[e.verdict, default: 0] += 1 }
        #expect(counts == ["valid": 5, "format": 15, "genesis": 2, "validatorSets": 25, "header": 8, "commit": 13,
                           "tx": 8, "inclusion": 7, "work": 15])
    }

    @Test(arguments: CertificateVectors.expected.map(\.file))
    func verdict(_ file: String) throws {
        let expected = try #require(CertificateVectors.expected.first { $0.file == file }).verdict
        let result = CertificateVerifier.verify(try CertificateVectors.file(file), genesis: try CertificateVectors.genesis())
        switch result {
        case .success:
            #expect(expected == "valid", "\(file) verified; expected \(expected)")
        case .failure(let f):
            #expect(f.step.rawValue == expected, "\(file): \(f)")
            #expect(f.code.hasPrefix(f.step.codePrefix + "_"))
            #expect(!f.message.isEmpty)
        }
    }

    /// Failure codes are part of the contract (courts' tools and the API show them).
    static let codes: [(String, String)] = [
        ("bad-format-version.json", "format_version"), ("bad-format-duplicate-key.json", "format_duplicate_key"),
        ("bad-genesis-hash.json", "genesis_hash"), ("bad-genesis-chainId.json", "genesis_chain_id"),
        ("bad-validatorSets-below-quorum.json", "validator_sets_commit_below_quorum"),
        ("bad-validatorSets-later-unsorted.json", "validator_sets_unsorted"),
        ("bad-header-set-above-height.json", "header_set_above_height"),
        ("bad-commit-below-quorum.json", "commit_below_quorum"),
        ("bad-commit-duplicate-signer.json", "commit_duplicate_signer"),
        ("bad-commit-non-member.json", "commit_non_member"), ("bad-tx-signature.json", "tx_signature"),
        ("bad-inclusion-treeSize.json", "inclusion_tree_size"), ("bad-work-title-nfd.json", "work_title"),
        ("bad-work-missing.json", "work_missing"), ("bad-work-present-for-fileclaim.json", "work_unexpected"),
    ]

    @Test(arguments: codes.indices)
    func failureCode(_ i: Int) throws {
        let (file, code) = Self.codes[i]
        let result = CertificateVerifier.verify(try CertificateVectors.file(file), genesis: try CertificateVectors.genesis())
        guard case .failure(let f) = result else {
            Issue.record("\(file) verified")
            return
        }
        #expect(f.code == code, "\(file): \(f)")
    }
}
