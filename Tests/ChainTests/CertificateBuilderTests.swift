import Testing
import TotemCrypto
@testable import Certificates
@testable import ChainModel

/// Node-side data for the vectors' 7-block chain, taken from vectors.json (not from the
/// certificate files), so rebuilding a certificate checks the builder independently.
enum VectorChain {
    static func signedTx(hash: Bytes32) throws -> SignedTx {
        let v = try #require(TestData.section("transactions").first { $0.string("txHash") == hash.hex }, "tx \(hash)")
        return try SignedTx.decode(v.bytes("signedTx"))
    }

    static func signedTx(named name: String) throws -> SignedTx {
        let v = try #require(TestData.section("transactions").first { $0.string("name") == name }, "tx \(name)")
        return try SignedTx.decode(v.bytes("signedTx"))
    }

    static func block(height: Int) throws -> (header: Header, txs: [SignedTx], commit: CommitCertificate) {
        let v = try #require(TestData.section("headers").first { $0.string("name") == "block-\(height)" })
        let header = try Header.decode(v.bytes("encoding"))
        let txs = try v.strings("txs").map { try signedTx(named: $0) }
        let c = v.sub("commit")
        let commit = CommitCertificate(height: c.u64("height"), view: c.u32("view"), signatures: c.list("signatures").map {
            ValidatorSignature(validator: $0.b32("validator"), signature: $0.b64("signature"))
        })
        return (header, txs, commit)
    }

    /// The genesis set from height 1, validator4 added from height 5 (certified by block 4).
    static func history(genesis: Genesis) throws -> [CertifiedValidatorSet] {
        let block4 = try block(height: 4)
        let keys = TestData.section("validatorSets").map { $0.strings("keys").count }
        let five = try #require(TestData.section("validatorSets").first { $0.strings("keys").count == 5 }, "sets \(keys)")
        let newSet = try #require(ValidatorSet(five.strings("keys").compactMap { Bytes32(hex: $0) }))
        return [CertifiedValidatorSet(fromHeight: 1, validators: genesis.validatorSet, certifiedBy: nil),
                CertifiedValidatorSet(fromHeight: 5, validators: newSet,
                                   certifiedBy: CertifiedHeader(header: block4.header, commit: block4.commit))]
    }
}

func buildError(_ body: () throws(CertificateBuildError) -> Void) -> CertificateBuildError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

@Suite("Certificate builder")
struct CertificateBuilderTests {
    /// Rebuilding each valid vector from the node's records gives the same document (the genesis
    /// entry's key order aside: the builder lists it in genesis-file order).
    @Test(arguments: CertificateVectors.validFiles)
    func rebuildsTheValidVectors(_ file: String) throws {
        let genesis = try CertificateVectors.genesis()
        let expected = try Certificate.parse(try CertificateVectors.file(file))
        let header = try Header.decode(expected.header)
        let block = try VectorChain.block(height: Int(header.height))
        #expect(block.header == header)
        var built = try CertificateBuilder.build(
            genesis: genesis, tx: try VectorChain.signedTx(hash: expected.txHash), header: block.header,
            commit: expected.commit, blockTxs: block.txs, history: try VectorChain.history(genesis: genesis),
            batchIndex: expected.work?.batchIndex.map { Int($0) })
        #expect(built.validatorSets.count == expected.validatorSets.count)
        #expect(Set(built.validatorSets[0].validators) == Set(expected.validatorSets[0].validators))
        #expect(built.validatorSets[0].validators == genesis.validators.map(\.publicKey))
        built.validatorSets[0].validators = expected.validatorSets[0].validators
        #expect(built == expected)
        #expect(throws: Never.self) { try CertificateVerifier.verify(built, genesis: genesis).get() }
    }

    @Test func exportedDocumentsParseBackAndVerify() throws {
        let genesis = try CertificateVectors.genesis()
        for file in CertificateVectors.validFiles {
            let c = try Certificate.parse(try CertificateVectors.file(file))
            for style in [JSONWriter.Style.compact, .pretty(indent: 2)] {
                let text = c.jsonBytes(style: style)
                #expect(try Certificate.parse(text) == c)
                let verified = try CertificateVerifier.verify(text, genesis: genesis).get()
                #expect(verified.certificate == c)
            }
        }
    }

    @Test func refusesPartsThatDoNotFit() throws {
        let genesis = try CertificateVectors.genesis()
        let history = try VectorChain.history(genesis: genesis)
        let b6 = try VectorChain.block(height: 6)
        let b2 = try VectorChain.block(height: 2)
        let batch = try VectorChain.signedTx(named: "RegisterWorkBatch-W2-W4")
        let single = try VectorChain.signedTx(named: "RegisterWork-W1")
        func build(tx: SignedTx, txs: [SignedTx]? = nil, commit: CommitCertificate? = nil,
                   history h: [CertifiedValidatorSet]? = nil, batchIndex: Int? = nil) -> String? {
            buildError { () throws(CertificateBuildError) in
                _ = try CertificateBuilder.build(genesis: genesis, tx: tx, header: b6.header, commit: commit ?? b6.commit,
                                                 blockTxs: txs ?? b6.txs, history: h ?? history, batchIndex: batchIndex)
            }?.codeName
        }
        #expect(build(tx: single) == nil)
        #expect(build(tx: batch, batchIndex: 2) == nil)
        #expect(build(tx: batch) == "batch_index_required")
        #expect(build(tx: batch, batchIndex: 3) == "batch_index_out_of_range")
        #expect(build(tx: batch, batchIndex: -1) == "batch_index_out_of_range")
        #expect(build(tx: single, batchIndex: 0) == "batch_index_not_allowed")
        #expect(build(tx: b2.txs[2]) == "tx_not_in_block")
        #expect(build(tx: single, txs: Array(b6.txs.dropLast())) == "tx_count_mismatch")
        #expect(build(tx: single, txs: b6.txs.reversed()) == "tx_root_mismatch")
        #expect(build(tx: single, commit: b2.commit) == "commit_height_mismatch")
        #expect(build(tx: single, history: Array(history.dropFirst())) == "history_invalid")
        var uncertified = history
        uncertified[1].certifiedBy = nil
        #expect(build(tx: single, history: uncertified) == "history_invalid")
    }

    /// Sets that take force after the block are left out, so an old block's certificate built
    /// from today's history still verifies.
    @Test func leavesOutLaterValidatorSets() throws {
        let genesis = try CertificateVectors.genesis()
        let b4 = try VectorChain.block(height: 4)
        let c = try CertificateBuilder.build(genesis: genesis, tx: b4.txs[0], header: b4.header, commit: b4.commit,
                                             blockTxs: b4.txs, history: try VectorChain.history(genesis: genesis))
        #expect(c.validatorSets.count == 1)
        #expect(c.work == nil)
        #expect(throws: Never.self) { try CertificateVerifier.verify(c, genesis: genesis).get() }
    }
}
