import ChainModel
import TotemCrypto

/// What the replica needs to know of a block. The chain's `Block` conforms (its hash is the
/// header hash); the simulator uses a small fake.
public protocol ConsensusBlock: Sendable {
    /// The block hash that votes sign. Must be a function of the block: one block, one hash.
    var hash: Bytes32 { get }
    var height: UInt64 { get }
    var parentHash: Bytes32 { get }
}

/// Checks a proposed block against the state after its parent. Injected so the replica stays pure:
/// the node implements it with the chain state machine (time, every tx applies, state root), the
/// simulator with a cheap fake. Height and parent hash are already checked by the replica.
///
/// `reproposal` is true for a block re-proposed from a prepared certificate: its time was checked
/// when it was first proposed (PROTOCOL.md), so only the clock-drift check is skipped.
public protocol ProposalValidator<Block>: Sendable {
    associatedtype Block: ConsensusBlock
    func isValid(_ block: Block, nowMs: UInt64, reproposal: Bool) -> Bool
}
