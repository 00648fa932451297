import ChainModel
import TotemCrypto

/// Identifies one scheduled timer. The replica ignores a firing whose `sequence` is not its latest,
/// so the runtime never needs to cancel timers.
public struct Timeout: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The view timer of `(height, view)`.
        case view
        /// No work was pending for `emptyBlockIntervalMs`: time for a heartbeat block.
        case heartbeat
    }
    public var kind: Kind
    public var height: UInt64
    public var view: UInt32
    public var sequence: UInt64
}

/// What the node tells the replica once it has applied and stored a committed block.
public struct AppliedBlock: Sendable {
    public var height: UInt64
    public var blockHash: Bytes32
    /// The proposer the block's header names (the leader rotation reads it: `LeaderRotation`).
    public var proposer: Bytes32
    /// The validator set in force at `height + 2` (a change adopted in `height` takes effect there).
    public var validatorsAtHeightPlus2: ValidatorSet
    /// Whether the mempool still holds transactions.
    public var workPending: Bool

    public init(height: UInt64, blockHash: Bytes32, proposer: Bytes32, validatorsAtHeightPlus2: ValidatorSet, workPending: Bool) {
        self.height = height; self.blockHash = blockHash; self.proposer = proposer
        self.validatorsAtHeightPlus2 = validatorsAtHeightPlus2; self.workPending = workPending
    }
}

/// Everything that can happen to a replica. Time is a value carried by the events that need it.
public enum Event<Block: ConsensusBlock>: Sendable {
    /// Once after construction (fresh or restored): re-announces a view change, arms timers.
    case start
    /// A message from the authenticated peer `from`, received at `nowMs` (wall clock, for the
    /// proposal-time check).
    case message(Message<Block>, from: Bytes32, nowMs: UInt64)
    /// A timer scheduled by `scheduleTimeout` fired.
    case timeout(Timeout)
    /// The mempool holds transactions.
    case workPending
    /// The block the node built after `requestProposal(height, view, ...)`.
    case proposalBuilt(Block, view: UInt32)
    /// The answer to `checkProposal` for the block `blockHash` of `(height, view)`. An answer the
    /// replica no longer waits for (another height or view, a block already decided) is ignored.
    case proposalChecked(height: UInt64, view: UInt32, blockHash: Bytes32, valid: Bool)
    /// The node applied and stored the block of the last `commit` action.
    case blockApplied(AppliedBlock)
    /// Blocks with commit certificates answering `requestBlocks`.
    case blocksReceived([CertifiedBlock<Block>], from: Bytes32)
}
