import ChainModel
import TotemCrypto

/// The replica's working state for one height; replaced when the next height begins.
struct Round<Block: ConsensusBlock>: Sendable {
    var votes: VoteBook
    var viewChanges: ViewChangeBook
    /// Blocks seen at this height by hash (proposals, locked blocks), bounded; `blockOrder` is
    /// insertion order for eviction.
    var blocks: [Bytes32: Block] = [:]
    var blockOrder: [Bytes32] = []
    /// Per view, the block this replica accepted (checked and prepared, or proposed).
    var accepted: [UInt32: Bytes32] = [:]
    /// For `view > 0`: the replica has seen view changes for `view` or higher from q validators, or
    /// a valid NewView for `view`; only then does a timer expiry move it on.
    var viewConfirmed = false
    var viewTimerRunning = false
    /// Views in which this replica, as leader, asked for a block / proposed one.
    var proposalRequestedView: UInt32?
    var proposedView: UInt32?
    /// The certificate of the decision, once the block is handed to the node for applying.
    var decided: QuorumCertificate?
    /// A verified commit certificate whose block is not known yet.
    var certificateAwaitingBlock: QuorumCertificate?
    /// Laggards already answered for a vote at this height.
    var laggardsAnswered: [Bytes32] = []
    /// Proposals handed to the runtime with `checkProposal` whose answer has not come back, oldest
    /// first, bounded by `checksPendingMax`. Only a block listed here can be prepared on a `valid`
    /// answer.
    var checksPending: [PendingCheck<Block>] = []
    /// Messages for this height buffered while it was the next one, not yet stepped: set when the
    /// height begins, stepped one by one, and paused while a check is pending (so they are stepped
    /// in the same order, relative to the check's answer, as when the check was a function call).
    var replay: [BufferedMessage<Block>]?

    init(validatorCount: Int) {
        votes = VoteBook(validatorCount: validatorCount)
        viewChanges = ViewChangeBook(validatorCount: validatorCount)
    }

    /// Remembers `block`, evicting the oldest one other than `keep` when full.
    mutating func remember(_ block: Block, keep: Bytes32?) {
        let hash = block.hash
        guard blocks[hash] == nil else { return }
        if blockOrder.count >= ConsensusLimits.blocksPerHeightMax,
           let i = blockOrder.firstIndex(where: { $0 != keep && !accepted.values.contains($0) }) {
            blocks[blockOrder.remove(at: i)] = nil
        }
        guard blockOrder.count < ConsensusLimits.blocksPerHeightMax else { return }
        blocks[hash] = block
        blockOrder.append(hash)
    }
}

/// A proposal waiting for the runtime's `proposalChecked`: a view-0 proposal, or the block of a
/// NewView whose other parts verified (the NewView is kept to finish accepting it).
struct PendingCheck<Block: ConsensusBlock>: Sendable {
    var view: UInt32
    var block: Block
    var newView: NewView<Block>?
}

/// Catch-up progress: the highest verified commit certificate seen above the current height and
/// blocks received but not yet applicable.
struct CatchUp<Block: ConsensusBlock>: Sendable {
    var targetHeight: UInt64 = 0
    /// Peers that showed a commit certificate at or above the target (so hold the blocks), most
    /// recent last; requests rotate through them, since any one may be faulty.
    var peers: [Bytes32] = []
    var nextPeer = 0
    var requestedAtHeight: UInt64?
    /// Sorted by height, at most one per height, bounded by `catchUpBlocksMax`.
    var blocks: [CertifiedBlock<Block>] = []

    mutating func addPeer(_ p: Bytes32) {
        peers.removeAll { $0 == p }
        if peers.count == ConsensusLimits.catchUpPeersMax { peers.removeFirst() }
        peers.append(p)
    }

    /// The next peer to ask, round robin.
    mutating func pickPeer() -> Bytes32? {
        guard !peers.isEmpty else { return nil }
        defer { nextPeer += 1 }
        return peers[nextPeer % peers.count]
    }

    mutating func insert(_ b: CertifiedBlock<Block>) {
        guard !blocks.contains(where: { $0.block.height == b.block.height }) else { return }
        let i = blocks.firstIndex(where: { $0.block.height > b.block.height }) ?? blocks.count
        guard i < ConsensusLimits.catchUpBlocksMax else { return }
        blocks.insert(b, at: i)
        if blocks.count > ConsensusLimits.catchUpBlocksMax { blocks.removeLast() }
    }
}
