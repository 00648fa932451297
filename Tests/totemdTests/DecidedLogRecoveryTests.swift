import ChainModel
import ChainState
import Foundation
import Logging
import Testing
@testable import totemd

/// A crash between a decided block's log record and its LMDB write: the next start stores it.
@Suite struct DecidedLogRecoveryTests {
    static func open(_ genesis: Genesis, _ dir: String) throws -> ChainService {
        try ChainService(genesis: genesis, dataDir: dir, mempoolLimits: MempoolLimits(maxTxBytes: genesis.params.maxTxBytes),
                         initialMapBytes: 8 << 20, metrics: NodeMetrics(), logger: Logger(label: "test"))
    }

    @Test func aBlockLoggedButNotStoredIsStoredAtTheNextStart() async throws {
        let bytes = try Data(contentsOf: ConfigTests.repo.appendingPathComponent("config/genesis.sample.json"))
        let genesis = try Genesis.parse(fileBytes: Array(bytes))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("totem-decided-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logged: Block
        do {
            let chain = try Self.open(genesis, dir)
            let proposer = genesis.validatorSet.keys[1]  // the leader of (height 1, view 0): keys[(1 + 0) mod 4]
            let block = try chain.buildProposal(view: 0, proposer: proposer, nowMs: UInt64(Date().timeIntervalSince1970 * 1000))
            let parent = try chain.parent()
            let applied = try chain.store.withState { chain.machine.apply(block, parent: parent, state: $0, signatures: .alreadyVerified) }
            guard case .success(let outcome) = applied else { Issue.record("the built block does not apply"); return }
            try await chain.store.logDecided(block, certificate: CommitCertificate(height: 1, view: 0, signatures: []),
                                             changes: outcome.changes)
            #expect(try chain.tip().height == 0)
            await chain.store.shutdown()
            logged = block
        }
        let chain = try Self.open(genesis, dir)
        let tip = try chain.tip()
        #expect(tip.height == 1)
        #expect(tip.lastBlockHash == logged.hash)
        #expect(tip.stateRoot == logged.header.stateRoot, "the logged block was applied to the stored state")
        #expect(try chain.store.certificate(at: 1)?.height == 1)
        await chain.store.shutdown()
    }
}
