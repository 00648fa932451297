import ChainModel
import ChainState
import Consensus
import Foundation
import Logging
import Testing
import TotemCrypto
@testable import totemd

/// The API's reads, through `QueryService` over a real `ChainService` (LMDB in a temporary directory).
@Suite struct QueryServiceTests {
    let admissionTests: AdmissionServiceTests

    init() throws { admissionTests = try AdmissionServiceTests() }

    /// A committed evidence tx: block 1 holds it, with a commit certificate of three validators.
    func committedEvidence(_ p: AdmissionServiceTests.Parts) async throws -> SignedTx {
        let t = admissionTests
        let tx = t.evidenceTx(sender: t.keys[1])
        #expect(try p.admission.submit([tx], from: .evidence) == [.accepted])
        let leader = t.genesis.validatorSet.keys[1]  // the leader of (height 1, view 0)
        let block = try p.chain.buildProposal(view: 0, proposer: leader, nowMs: t.genesis.genesisTimeMs + 1000)
        let body = SigningBody.vote(height: 1, view: 0, blockHash: block.hash)
        let signatures = t.keys.prefix(3).map {
            ValidatorSignature(validator: $0.publicKey, signature: $0.sign(VotePhase.commit.domain, genesisHash: t.genesis.genesisHash,
                                                                          body: body))
        }.sorted { $0.validator < $1.validator }
        _ = try await p.chain.commit(block, certificate: CommitCertificate(height: 1, view: 0, signatures: signatures))
        return tx
    }

    @Test func aCommittedTxsStatusAndCertificatePartsAgree() async throws {
        let dir = AdmissionServiceTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try admissionTests.parts(dir)
        let queries = QueryService(chain: p.chain, similarity: try SimilarityService(store: p.chain.store), metrics: p.metrics,
                                   logger: Logger(label: "test"))
        let tx = try await committedEvidence(p)
        guard case .committed(let location, let stored) = try queries.txStatus(tx.hash) else {
            Issue.record("the committed tx is not reported committed")
            return
        }
        #expect(location.height == 1)
        #expect(stored == tx)
        let parts = try #require(try queries.certificateParts(tx.hash))
        #expect(parts.tx == tx)
        #expect(parts.block.height == 1)
        #expect(parts.commit.height == 1)
        #expect(parts.history.map(\.fromHeight) == [1])
        #expect(try queries.tip().tip.height == 1)
        #expect(try queries.certificateParts(SHA256.hash(Array("no such tx".utf8))) == nil)
        await p.chain.store.shutdown()
    }

    @Test func aFailedReadIsCountedAndThrown() async throws {
        let dir = AdmissionServiceTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try admissionTests.parts(dir)
        let queries = QueryService(chain: p.chain, similarity: try SimilarityService(store: p.chain.store), metrics: p.metrics,
                                   logger: Logger(label: "test"))
        let hash = SHA256.hash(Array("a tx".utf8))
        let store = p.chain.store
        try store.environment.write { txn in try txn.put(store.databases.txIndex, key: hash.bytes, value: [9]) }
        #expect(throws: (any Error).self) { try queries.txStatus(hash) }
        #expect(AdmissionServiceTests.metric(p.metrics, "totem_store_read_failures_total 1"))
        await store.shutdown()
    }
}
