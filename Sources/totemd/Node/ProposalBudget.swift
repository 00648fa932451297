import ChainModel

/// How many transaction bytes this node puts in a proposal: as many as the genesis allows, unless
/// building such a block takes long. A proposal's time is stamped before its transactions are
/// applied (their records carry it), and voters refuse a time more than `maxClockDriftMs` from their
/// clocks when it reaches them; a block whose building takes a good part of that (a full block of
/// RegisterWorkBatch txs on a busy machine takes seconds) would be refused by every voter, in every
/// view, while the mempool stays full: the chain would stop. So the budget follows the measured
/// cost: a build that overruns `targetMs` shrinks it in proportion and is done again within it with
/// a fresh time, and the budget doubles back when builds are quick. (Shrinking at smaller overruns
/// cost a fifth of the single-tx throughput: blocks have a fixed cost each.)
/// Local policy: blocks stay valid for every other node whatever this one chooses.
///
/// Besides the bytes, a fixed cap on the works a proposal registers (`NodeLimits.proposalWorksMax`):
/// what a block costs every node (applying it, sorting and writing its state, the decided-block
/// log, the similarity index) grows with its works, not its bytes, and a block of RegisterWorkBatch
/// txs within a byte budget learnt from builds could still hold 30,000 or more works: on a busy
/// 2-core machine such a proposal reached voters more than `maxClockDriftMs` after its time, sent
/// whole behind the gossip on each link and decoded there, though its build took under the target.
struct ProposalBudget: Sendable, Equatable {
    let maxBytes: Int
    /// Never below one transaction of the largest size.
    let floorBytes: Int
    let targetMs: UInt64
    private(set) var bytes: Int

    init(maxBytes: Int, floorBytes: Int, targetMs: UInt64) {
        self.maxBytes = maxBytes
        self.floorBytes = min(floorBytes, maxBytes)
        self.targetMs = max(1, targetMs)
        bytes = maxBytes
    }

    /// Learns from one build of `blockBytes` bytes of `txCount` txs that took `elapsedMs`; true when
    /// that block should be built again within the (now smaller) budget.
    mutating func observe(blockBytes: Int, txCount: Int, elapsedMs: UInt64) -> Bool {
        if shrink(blockBytes: blockBytes, txCount: txCount, elapsedMs: elapsedMs) { return true }
        if elapsedMs < targetMs / 2, blockBytes * 2 >= bytes {
            bytes = min(maxBytes, bytes * 2)
        }
        return false
    }

    /// Learns from applying another leader's block of `blockBytes` bytes of `txCount` txs in
    /// `elapsedMs`: only ever shrinks (applying is building without the selection, so a quick apply
    /// says less about a build than a slow one does).
    mutating func observeApplied(blockBytes: Int, txCount: Int, elapsedMs: UInt64) {
        shrink(blockBytes: blockBytes, txCount: txCount, elapsedMs: elapsedMs)
    }

    /// After a block that took over `targetMs`: the budget becomes what would have fit in it, with a
    /// margin. Returns whether it was over.
    @discardableResult
    private mutating func shrink(blockBytes: Int, txCount: Int, elapsedMs: UInt64) -> Bool {
        guard elapsedMs > targetMs, txCount > 1 else { return false }
        let fitting = Double(blockBytes) * Double(targetMs) / Double(elapsedMs) * 0.8
        bytes = max(floorBytes, min(bytes, Int(fitting)))
        return true
    }
}

extension ProposalBudget {
    /// What a transaction counts against the works cap: its works, and 1 for any other payload
    /// (every transaction costs at least as much as a work to apply, store and index).
    static func workCount(_ tx: SignedTx) -> Int { max(1, tx.tx.payload.works.count) }

    /// The longest prefix of `txs` (a selection in the mempool's order: a prefix keeps each sender's
    /// nonces in order) that registers at most `maxWorks` works; never empty when `txs` is not, so a
    /// single transaction above the cap is still proposed alone.
    static func prefix(_ txs: [SignedTx], maxWorks: Int) -> [SignedTx] {
        var works = 0
        for (i, tx) in txs.enumerated() {
            works += workCount(tx)
            if works > maxWorks { return Array(txs[..<max(1, i)]) }
        }
        return txs
    }
}
