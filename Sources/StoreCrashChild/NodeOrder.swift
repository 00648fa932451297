import Benchmarks
import ChainModel
import ChainState
import Consensus
import Storage
import TotemCrypto

/// The `node` mode of the crash child: the store, the signing-state file and the decided-block log
/// written together, in the order the node writes them (ConsensusDriver, ChainService), with a
/// report line for each promise the moment the node would make it.
///
///   totem-store-crash-child node <data directory> <report file> <target height> [transactions per block]
///
/// At start it does what a starting node does: stores the logged blocks above the tip and takes
/// the signing state back if it is at the height being decided (then it votes only in later
/// views). Per height h, with the block B the harness builds there:
///
///   every third height, in view 0: persist a prepare for another block, report it sent, then
///   persist the move to view 1 (a view that decides nothing);
///   persist the prepare for B, report "vote prepare h v B";
///   persist the commit for B with the lock, report "vote commit h v B";
///   log B decided (synced), report "committed h B" (the node answers clients here);
///   start B's LMDB commit and go on to height h + 1 without waiting for it: the votes of h + 1
///   are persisted while it runs, as the node's are (ChainService.commit).
///
/// The blocks of the heights between two catch-up runs are built ahead, in one aborted write
/// transaction, so building them needs no LMDB state of a block whose write is still under way.
///
/// The power-cut test (Tests/ChainTests/PowerCutTests.swift) journals it and checks every power
/// cut it could suffer against these reports.
enum NodeOrder {
    /// Large enough for any harness block (the decoder's bound on a locked block's txs).
    static let lockedBlockTxsMax = 10_000
    /// Small, so the map grows while the child runs.
    static let initialMapSizeBytes = 1 << 20
    /// Blocks per catch-up run (every seventh height starts one).
    static let catchUpRunBlocks: UInt64 = 3

    static func run(directory: String, report fd: Int32, target: UInt64, transactionsPerBlock: Int) async throws {
        let source = try ChainBlockSource(directory: directory, transactionsPerBlock: transactionsPerBlock,
                                          options: .init(initialMapSizeBytes: initialMapSizeBytes))
        let store = source.store
        try source.storeLoggedBlocks()
        var tip = try store.tip()
        var view: UInt32 = 0
        if let bytes = try store.signingState() {
            let s = try ConsensusCodec.decodeSigningState(bytes, maxBlockTxs: lockedBlockTxsMax)
            guard s.height <= tip.height + 1 else {
                fail("the signing state is at height \(s.height) but the store ends at \(tip.height)", status: 4)
            }
            // The replica restored at this height sends nothing more in views it may have voted in.
            if s.height == tip.height + 1 { view = s.view + 1 }
        }
        report(fd, "open \(tip.height)")
        var height = tip.height
        /// The LMDB write of the last decided block, under way.
        var storing: Task<Void, any Error>?
        /// Blocks built ahead, from `height + 1` on.
        var ahead: [(block: Block, certificate: CommitCertificate, changes: StateChanges)] = []
        while height < target {
            let h = height + 1
            if h % 7 == 0 && h + catchUpRunBlocks - 1 <= target {
                // Blocks decided elsewhere, fetched by catch-up: one run, reported once it returns.
                // The node waits for the last decided block's write before a run.
                try await storing?.value
                let run = try blocks(from: h, count: catchUpRunBlocks, source)
                tip = try await store.commitRun(run.map { ($0.block, $0.certificate, $0.changes, nil) })
                for item in run { report(fd, "committed \(item.block.height) \(item.block.hash.hex)") }
                height = tip.height
                view = 0
                continue
            }
            if ahead.isEmpty {
                try await storing?.value
                let nextRun = (h / 7 + 1) * 7
                ahead = try blocks(from: h, count: min(nextRun, target + 1) - h, source)
            }
            let made = ahead.removeFirst()
            let hash = made.block.hash
            if h % 3 == 0 && view == 0 {
                let other = SHA256.hash(Array("another block at \(h)".utf8))
                try await persist(SigningState(height: h, view: view, prepare: SignedSlot(view: view, blockHash: other)), store)
                report(fd, "vote prepare \(h) \(view) \(other.hex)")
                view += 1
                try await persist(SigningState(height: h, view: view), store)
            }
            var signing = SigningState<Block>(height: h, view: view, prepare: SignedSlot(view: view, blockHash: hash))
            try await persist(signing, store)
            report(fd, "vote prepare \(h) \(view) \(hash.hex)")
            // The prepared certificate stands in with the commit certificate's signatures: nothing
            // verifies them here, and the lock makes the record as large as the node's.
            signing.lock = Lock(certificate: QuorumCertificate(phase: .prepare, height: h, view: view, blockHash: hash,
                                                               signatures: made.certificate.signatures),
                                block: made.block)
            signing.commit = SignedSlot(view: view, blockHash: hash)
            try await persist(signing, store)
            report(fd, "vote commit \(h) \(view) \(hash.hex)")
            try await store.logDecided(made.block, certificate: made.certificate, changes: made.changes)
            report(fd, "committed \(h) \(hash.hex)")
            storing = Task { try await store.commit(made.block, certificate: made.certificate, changes: made.changes) }
            height = h
            view = 0
        }
        try await storing?.value
        await store.shutdown()
    }

    /// Blocks `from ..< from + count`, each built on the one before (in a write transaction that
    /// is then aborted: nothing is stored).
    private static func blocks(from height: UInt64, count: UInt64, _ source: ChainBlockSource) throws
        -> [(block: Block, certificate: CommitCertificate, changes: StateChanges)] {
        struct Built: Error { let blocks: [(block: Block, certificate: CommitCertificate, changes: StateChanges)] }
        do {
            try source.store.environment.write { txn in
                var made: [(block: Block, certificate: CommitCertificate, changes: StateChanges)] = []
                for h in height..<(height + count) {
                    made.append(try source.block(height: h, on: txn))
                    try source.store.write(made[made.count - 1].block, certificate: made[made.count - 1].certificate,
                                           changes: made[made.count - 1].changes, into: txn)
                }
                throw Built(blocks: made)
            }
        } catch let built as Built {
            return built.blocks
        }
        preconditionFailure("the run's transaction always ends by throwing its blocks")
    }

    private static func persist(_ state: SigningState<Block>, _ store: ChainStore) async throws {
        try await store.persistSigningState(ConsensusCodec.encode(state))
    }
}
