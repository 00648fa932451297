import ChainModel
import ChainState
import Consensus
import Foundation
import Logging
import Testing
import TotemCrypto
@testable import totemd

/// Blocks from catch-up are committed in runs, one LMDB write per run, each block only if its
/// commit certificate verifies against the set in force at its height and its state root checks.
@Suite struct CatchUpRunTests {
    let keys = TestChain.validatorKeys("catch-up validator")
    let genesis: Genesis

    init() throws {
        genesis = try TestChain.genesis(chainId: "totem-catchup-test", keys: keys)
    }

    func open(_ dir: String) throws -> ChainService {
        try ChainService(genesis: genesis, dataDir: dir, mempoolLimits: MempoolLimits(), initialMapBytes: 8 << 20,
                         metrics: NodeMetrics(), logger: Logger(label: "test"))
    }

    /// A commit certificate signed by the first `signers` validators (or by `impostors`).
    func certificate(_ block: Block, signers: [SigningKey]) -> CommitCertificate {
        let body = SigningBody.vote(height: block.height, view: 0, blockHash: block.hash)
        let sigs = signers.map {
            ValidatorSignature(validator: $0.publicKey, signature: $0.sign(VotePhase.commit.domain, genesisHash: genesis.genesisHash, body: body))
        }.sorted { $0.validator < $1.validator }
        return CommitCertificate(height: block.height, view: 0, signatures: sigs)
    }

    /// Builds `count` blocks on a source chain, each committed there with a quorum certificate.
    func sourceChain(_ count: Int, dir: String) async throws -> [(block: Block, certificate: CommitCertificate)] {
        let source = try open(dir)
        var out: [(block: Block, certificate: CommitCertificate)] = []
        for h in 1...count {
            let leader = genesis.validatorSet.keys[h % 4]
            let block = try source.buildProposal(view: 0, proposer: leader, nowMs: genesis.genesisTimeMs + UInt64(h) * 1000)
            let cert = certificate(block, signers: Array(keys.prefix(3)))
            _ = try await source.commit(block, certificate: cert)
            try await source.waitForStoredBlocks()
            out.append((block, cert))
        }
        await source.store.shutdown()
        return out
    }

    @Test func aRunIsCommittedUpToTheFirstBlockWhoseCertificateFails() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("totem-catchup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let blocks = try await sourceChain(6, dir: base + "/source")
        let chain = try open(base + "/target")
        let verifier = Ed25519SignatureVerifier(genesisHash: genesis.genesisHash)
        let verifies: @Sendable (CommitCertificate, Block, ValidatorSet) -> Bool = { cert, block, set in
            cert.height == block.height && QuorumCertificate(cert, blockHash: block.hash).verify(against: set, verifier)
        }

        let first = try await chain.commitRun(Array(blocks.prefix(3)), certificateVerifies: verifies)
        #expect(first.blocks.map(\.height) == [1, 2, 3] && first.stoppedAt == nil)
        #expect(try chain.tip().height == 3)

        // Block 5 comes with a certificate of strangers' keys, and only two signatures: refused,
        // block 4 before it is committed, nothing after it.
        let strangers = (1...3).map { SigningKey(seed: SHA256.hash(Array("stranger \($0)".utf8))) }
        var tampered = Array(blocks[3...5])
        tampered[1].certificate = certificate(tampered[1].block, signers: strangers)
        let second = try await chain.commitRun(tampered, certificateVerifies: verifies)
        #expect(second.blocks.map(\.height) == [4])
        #expect(second.stoppedAt?.height == 5)
        #expect(try chain.tip().height == 4)
        var short = Array(blocks[4...5])
        short[0].certificate = certificate(short[0].block, signers: Array(keys.prefix(2)))
        #expect(try await chain.commitRun(short, certificateVerifies: verifies).blocks.isEmpty)

        // A block that does not extend the tip is refused before anything is applied.
        let gap = try await chain.commitRun([blocks[5]], certificateVerifies: verifies)
        #expect(gap.blocks.isEmpty && gap.stoppedAt?.height == 6)

        let last = try await chain.commitRun(Array(blocks[4...5]), certificateVerifies: verifies)
        #expect(last.blocks.map(\.height) == [5, 6])
        let tip = try chain.tip()
        #expect(tip.height == 6 && tip.lastBlockHash == blocks[5].block.hash && tip.stateRoot == blocks[5].block.header.stateRoot)
        #expect(try chain.store.certificate(at: 5) == blocks[4].certificate)
        await chain.store.shutdown()
    }
}
