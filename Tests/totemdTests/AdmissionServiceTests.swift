import ChainModel
import ChainState
import Consensus
import Foundation
import Logging
import P2P
import Testing
import TotemCrypto
@testable import totemd

/// Transactions from every origin enter the node through one `AdmissionService`, over a real
/// `ChainService` (LMDB in a temporary directory), a real `P2PNode` (not started) and a real
/// `ConsensusDriver` (not running: its inbox shows whether it was woken).
@Suite struct AdmissionServiceTests {
    let keys = TestChain.validatorKeys("admission validator")
    let genesis: Genesis

    init() throws {
        genesis = try TestChain.genesis(chainId: "totem-admission-test", keys: keys)
    }

    /// A node's admission path with its parts, on a fresh store in `dir`.
    struct Parts {
        let chain: ChainService
        let metrics: NodeMetrics
        let admission: AdmissionService
        let driver: ConsensusDriver
        let network: P2PNode
    }

    func parts(_ dir: String, mempoolLimits: MempoolLimits = MempoolLimits()) throws -> Parts {
        let metrics = NodeMetrics()
        let logger = Logger(label: "test")
        let chain = try ChainService(genesis: genesis, dataDir: dir, mempoolLimits: mempoolLimits, initialMapBytes: 8 << 20,
                                     metrics: metrics, logger: logger)
        let admission = AdmissionService(chain: chain, metrics: metrics, logger: logger)
        let p2p = P2PConfig(listenHost: "127.0.0.1", listenPort: 0, peers: [], nodeKey: keys[1], chainId: genesis.chainId,
                            genesisHash: genesis.genesisHash, role: .validator)
        let network = P2PNode(config: p2p, allowList: AllowList(validatorsInForce: Set(keys.map(\.publicKey)), validatorsAdopted: [],
                                                                observers: []),
                              admission: GossipAdmission(admission: admission, ownKey: keys[1].publicKey))
        let peering = Peering(configured: .init(observers: [], peers: []), chain: chain, localKey: keys[1].publicKey,
                              logger: logger)
        let driver = try ConsensusDriver(chain: chain, network: network, key: keys[1], peering: peering, isValidatorRole: true,
                                         commits: CommitFeed(),
                                         metrics: metrics, logger: logger, admission: admission, onCommit: { _ in })
        admission.connect(network: network, consensus: driver)
        return Parts(chain: chain, metrics: metrics, admission: admission, driver: driver, network: network)
    }

    /// Evidence that validator 0 signed prepares for two blocks at height 1, view 0, sent by `sender`.
    func evidenceTx(sender: SigningKey, nonce: UInt64 = 1) -> SignedTx {
        let hashes = ["block a", "block b"].map { SHA256.hash(Array($0.utf8)) }.sorted()
        let accused = keys[0]
        let signatures = hashes.map {
            accused.sign(VotePhase.prepare.domain, genesisHash: genesis.genesisHash,
                         body: SigningBody.vote(height: 1, view: 0, blockHash: $0))
        }
        let evidence = SubmitEvidence(phase: .prepare, validator: accused.publicKey, height: 1, view: 0,
                                      blockHashA: hashes[0], signatureA: signatures[0], blockHashB: hashes[1], signatureB: signatures[1])
        return Tx(chainId: genesis.chainId, sender: sender.publicKey, nonce: nonce, payload: .submitEvidence(evidence))
            .signed(by: sender, genesisHash: genesis.genesisHash)
    }

    static func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("totem-admission-\(UUID().uuidString)").path
    }

    /// The events the (not running) driver was sent, in order.
    static func drained(_ driver: ConsensusDriver) async -> [String] {
        driver.inbox.close()  // queued control events are still handed out, then nil
        var events: [String] = []
        while let e = await driver.inbox.next() { events.append("\(e)") }
        return events
    }

    static func metric(_ m: NodeMetrics, _ line: String) -> Bool {
        String(decoding: m.render(), as: UTF8.self).split(separator: "\n").contains { $0 == line }
    }

    @Test func evidenceIsAdmittedCountedAndWakesConsensus() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try parts(dir)
        let tx = evidenceTx(sender: keys[1])
        let outcomes = try p.admission.submit([tx], from: .evidence)
        #expect(outcomes == [.accepted])
        #expect(p.chain.mempool.withPool { $0.tx(tx.hash) } != nil, "the evidence is in the mempool")
        #expect(Self.metric(p.metrics, "totem_txs_accepted_total{origin=\"evidence\"} 1"))
        #expect(await Self.drained(p.driver) == ["workPending"])
        await p.chain.store.shutdown()
    }

    @Test func aRefusedTxNeitherCountsAsAcceptedNorWakesConsensus() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try parts(dir)
        let outsider = SigningKey(seed: SHA256.hash(Array("not a validator".utf8)))
        let outcomes = try p.admission.submit([evidenceTx(sender: outsider)], from: .api)
        guard case .rejected = outcomes.first else {
            Issue.record("evidence from a key that is not a validator was not refused: \(outcomes)")
            return
        }
        #expect(Self.metric(p.metrics, "totem_txs_rejected_total 1"))
        #expect(!Self.metric(p.metrics, "totem_txs_accepted_total{origin=\"api\"} 1"))
        #expect(await Self.drained(p.driver) == [])
        await p.chain.store.shutdown()
    }

    @Test func gossipAdmitsWakesConsensusAndReturnsTheAcceptedForP2PToForward() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try parts(dir)
        let good = evidenceTx(sender: keys[2])
        let bad = evidenceTx(sender: keys[3], nonce: 1_000)  // far outside the nonce window
        let admitted = await GossipAdmission(admission: p.admission, ownKey: keys[1].publicKey).admit([good, bad], from: keys[2].publicKey)
        #expect(admitted.map(\.hash) == [good.hash])
        #expect(Self.metric(p.metrics, "totem_txs_accepted_total{origin=\"peer\"} 1"))
        #expect(await Self.drained(p.driver) == ["workPending"])
        await p.chain.store.shutdown()
    }

    /// An observer (a key in no validator set) leaves validators' gossip to the validators: no
    /// signature check, nothing in its mempool, nothing to forward. Gossip from another observer
    /// it still admits and forwards, as a validator admits gossip from anyone.
    @Test func anObserverLeavesValidatorsGossipToTheValidators() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try parts(dir)
        let observer = SigningKey(seed: SHA256.hash(Array("an observer".utf8))).publicKey
        let otherObserver = SigningKey(seed: SHA256.hash(Array("another observer".utf8))).publicKey
        let fromValidator = evidenceTx(sender: keys[2])
        let fromObserver = evidenceTx(sender: keys[3])
        #expect(await GossipAdmission(admission: p.admission, ownKey: observer).admit([fromValidator], from: keys[2].publicKey).isEmpty)
        #expect(p.chain.mempool.count == 0)
        let forwarded = await GossipAdmission(admission: p.admission, ownKey: observer).admit([fromObserver], from: otherObserver)
        #expect(forwarded.map(\.hash) == [fromObserver.hash])
        // A validator admits gossip from a validator.
        let admitted = await GossipAdmission(admission: p.admission, ownKey: keys[1].publicKey).admit([fromValidator], from: keys[2].publicKey)
        #expect(admitted.map(\.hash) == [fromValidator.hash])
        #expect(p.chain.mempool.count == 2)
        // A node whose key is in an adopted set (a joining validator) admits it too.
        let joining = ChainService.ValidatorKeys(inForce: Set(keys.map(\.publicKey)), adopted: [observer])
        #expect(!GossipAdmission.leavesToValidators(own: observer, peer: keys[2].publicKey, keys: joining))
        #expect(GossipAdmission.leavesToValidators(own: observer, peer: keys[2].publicKey,
                                                   keys: (inForce: Set(keys.map(\.publicKey)), adopted: [])))
        await p.chain.store.shutdown()
    }

    /// A peer's tx refused for the moment (here: a nonce beyond the window, which the sender's
    /// earlier txs may bring in) is forgotten by the seen-cache, so a peer's regossip is admitted
    /// later; one refused for good (a bad signature) stays seen.
    @Test func gossipRefusedForTheMomentIsForgottenSoARegossipIsOfferedAgain() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try parts(dir)
        let early = evidenceTx(sender: keys[3], nonce: 1_000)
        let good = evidenceTx(sender: keys[2])
        let forged = try SignedTx.decode(Array(good.txBytes) + early.signature.bytes)
        p.network.gossip([early, forged])  // marks them seen, as receiving them does
        #expect(p.network.hasSeen(early.hash) && p.network.hasSeen(forged.hash))
        _ = try p.admission.submit([early, forged], from: .peer)
        #expect(!p.network.hasSeen(early.hash), "nonce_too_high is for the moment: forgotten")
        #expect(p.network.hasSeen(forged.hash), "bad_signature is for good: still seen")
        await p.chain.store.shutdown()
    }

    /// A tx the pool evicts to make room (held behind a nonce gap) is forgotten by the seen-cache
    /// too: the gap may close, and then a peer's regossip must be admitted here (at a million works
    /// three such txs waited on one benched validator for minutes, every other pool without them).
    @Test func evictedTxsAreForgottenSoARegossipIsOfferedAgain() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try parts(dir, mempoolLimits: MempoolLimits(maxTxCount: 2))
        let gapped = [evidenceTx(sender: keys[2], nonce: 2), evidenceTx(sender: keys[2], nonce: 3)]
        p.network.gossip(gapped)  // marks them seen, as receiving them does
        #expect(try p.admission.submit(gapped, from: .peer).allSatisfy { $0 == .accepted })
        // The pool is full; a proposable tx evicts the newest gapped one.
        #expect(try p.admission.submit([evidenceTx(sender: keys[3])], from: .api) == [.accepted])
        #expect(p.chain.mempool.evictedCount == 1)
        #expect(!p.network.hasSeen(gapped[1].hash), "evicted: forgotten, so a regossip is admitted again")
        #expect(p.network.hasSeen(gapped[0].hash), "still held: still seen")
        await p.chain.store.shutdown()
    }

    /// A pending tx is gossiped again once it was proposable at two rounds in a row.
    @Test func regossipSendsWhatWaitedARound() {
        let a = evidenceTx(sender: keys[1]), b = evidenceTx(sender: keys[2])
        var r = Regossip()
        var rounds: [[Bytes32]?] = []
        for second in 1...(3 * NodeLimits.regossipIntervalSeconds) {
            let now = second <= NodeLimits.regossipIntervalSeconds ? [a] : [a, b]
            if let due = r.tick(now) { rounds.append(due.map(\.hash)) } else if second % NodeLimits.regossipIntervalSeconds == 0 { rounds.append(nil) }
        }
        // Round 1: nothing waited yet. Round 2: a (seen at round 1). Round 3: a and b.
        #expect(rounds == [nil, [a.hash], [a.hash, b.hash]])
    }

    @Test func aStoreFailureIsCountedAndThrownNotSwallowed() async throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try parts(dir)
        let tx = evidenceTx(sender: keys[1])
        // A tx-index entry of the wrong length: admission's committed-tx check cannot read it.
        let store = p.chain.store
        try store.environment.write { txn in try txn.put(store.databases.txIndex, key: tx.hash.bytes, value: [1, 2, 3]) }
        #expect(throws: (any Error).self) { try p.admission.submit([tx], from: .api) }
        #expect(Self.metric(p.metrics, "totem_store_read_failures_total 1"))
        // From gossip (which cannot throw to P2P) it is counted as well, and nothing is forwarded.
        let admitted = await GossipAdmission(admission: p.admission, ownKey: keys[1].publicKey).admit([tx], from: keys[2].publicKey)
        #expect(admitted.isEmpty)
        #expect(Self.metric(p.metrics, "totem_store_read_failures_total 2"))
        #expect(await Self.drained(p.driver) == [])
        await store.shutdown()
    }

    /// The API's batches on their way through admission are bounded in bytes: one passes alone
    /// whatever its size, others only while the bound holds, and room comes back as each ends.
    @Test func theAPIAdmissionBudgetRefusesABatchOverTheBoundWhileOthersAreUnderWay() {
        var budget = ByteBudget(maxBytes: 100)
        let big = budget.reserve(250)
        #expect(big == 250, "alone, a batch over the bound passes")
        #expect(budget.reserve(1) == nil, "nothing more while it is under way")
        budget.release(250)
        #expect(budget.bytes == 0)
        let a = budget.reserve(60), b = budget.reserve(40)
        #expect(a == 60 && b == 40, "up to the bound")
        #expect(budget.reserve(1) == nil)
        budget.release(40)
        #expect(budget.reserve(41) == nil, "60 + 41 passes the bound")
        #expect(budget.reserve(40) == 40)
    }
}
