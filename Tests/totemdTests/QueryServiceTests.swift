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
        try await p.chain.waitForStoredBlocks()
        return tx
    }

    /// Runs `body` with a node's parts in a fresh temporary directory, block 1 committed with one
    /// evidence tx, and a `QueryService` over them; shuts the store down after.
    func withCommittedEvidence(_ body: (AdmissionServiceTests.Parts, QueryService, SignedTx) async throws -> Void) async throws {
        let dir = AdmissionServiceTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try admissionTests.parts(dir)
        let queries = QueryService(chain: p.chain, similarity: try SimilarityService(store: p.chain.store), metrics: p.metrics,
                                   logger: Logger(label: "test"))
        let tx = try await committedEvidence(p)
        try await body(p, queries, tx)
        await p.chain.store.shutdown()
    }

    @Test func aCommittedTxsStatusAndCertificatePartsAgree() async throws {
        try await withCommittedEvidence { _, queries, tx in
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
        }
    }

    @Test func theEventsOfABlockAndWhatASearchFinds() async throws {
        try await withCommittedEvidence { _, queries, tx in
            let found = try #require(try queries.blockForEvents(at: 1))
            #expect(try queries.blockForEvents(at: 2) == nil)
            #expect(found.adopted == nil)
            let events = ChainEvent.events(of: found.block, commit: found.commit, adopted: found.adopted)
            #expect(events.map(\.type) == ["block", "evidence"])
            #expect(events.map(\.id) == [EventPosition(height: 1, seq: 0), EventPosition(height: 1, seq: 1)])
            let text = String(decoding: events[1].sse, as: UTF8.self)
            #expect(text.hasPrefix("id: 1:1\nevent: evidence\ndata: {\"height\":1,\"txHash\":\"\(tx.hash.hex)\","))
            #expect(text.hasSuffix("}\n\n") && text.filter { $0 == "\n" }.count == 4)
            let blockText = String(decoding: events[0].sse, as: UTF8.self)
            for s in found.commit.signatures { #expect(blockText.contains(s.validator.hex)) }
            // A set adopted in the block is its last event.
            let adopted = ValidatorSet(admissionTests.keys.prefix(2).map(\.publicKey))!
            let withSet = ChainEvent.events(of: found.block, commit: found.commit, adopted: adopted)
            #expect(withSet.map(\.type) == ["block", "evidence", "validatorSet"] && withSet[2].seq == 2)

            let root = admissionTests.genesis.rootRegistrar
            #expect(try queries.find(height: 1) == .block(height: 1))
            #expect(try queries.find(height: 2) == nil)
            #expect(try queries.find(found.block.hash, rootRegistrar: root) == .block(height: 1))
            #expect(try queries.find(tx.hash, rootRegistrar: root) == .tx(tx.hash))
            #expect(try queries.find(tx.tx.sender, rootRegistrar: root) == .account(tx.tx.sender))
            #expect(try queries.find(root, rootRegistrar: root) == .account(root))
            #expect(try queries.find(SHA256.hash(Array("nothing".utf8)), rootRegistrar: root) == nil)
            #expect(try queries.validatorHistory().map(\.fromHeight) == [1])
        }
    }

    @Test(arguments: [("7:0", EventPosition(height: 7, seq: 0)), ("18446744073709551615:3", EventPosition(height: .max, seq: 3))])
    func eventIdsParse(_ text: String, _ expected: EventPosition) {
        #expect(EventPosition(id: text) == expected)
    }

    @Test(arguments: ["", "7", "7:", ":0", "0:0", "-1:0", "7:-1", "7:0:1", " 7:0", "7:0 ", "a:b", "18446744073709551616:0", "+7:0"])
    func otherEventIdsAreRefused(_ text: String) {
        #expect(EventPosition(id: text) == nil)
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
