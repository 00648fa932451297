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
