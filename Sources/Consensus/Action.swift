import ChainModel
import TotemCrypto

/// What the replica asks its runtime to do. The runtime performs the actions of one step in order:
/// `persistSigningState` is synced to disk before any later action of the same step is performed
/// (that order is a contract: it comes before every message that depends on it).
public enum Action<Block: ConsensusBlock>: Sendable {
    case persistSigningState(SigningState<Block>)
    /// Send to every validator of the sets in force at the current and next height, except self.
    case broadcast(Message<Block>)
    case send(Message<Block>, to: Bytes32)
    /// Fire `.timeout(timeout)` after `afterMs` milliseconds. Earlier timers need not be cancelled.
    case scheduleTimeout(Timeout, afterMs: UInt64)
    /// Build a block on `parentHash` for `(height, view)` and answer with `.proposalBuilt`.
    case requestProposal(height: UInt64, view: UInt32, parentHash: Bytes32)
    /// Check a proposed `block` of `view` against the state after its parent (header fields, time
    /// within the allowed clock drift of `nowMs` unless `reproposal`, every transaction applies,
    /// state root) and answer with `.proposalChecked`. The replica's height and parent are already
    /// checked. `reproposal` is true for a block re-proposed from a prepared certificate: its time
    /// was checked when it was first proposed (PROTOCOL.md), so only the clock-drift check is
    /// skipped. The replica prepares the block only after a `valid` answer.
    case checkProposal(Block, view: UInt32, reproposal: Bool, nowMs: UInt64)
    /// Apply and store `block` with its commit certificate in one transaction, then answer with
    /// `.blockApplied`. Blocks come in height order, one at a time.
    case commit(Block, QuorumCertificate)
    /// Ask `peer` for blocks with their commit certificates from `fromHeight` on; answer with
    /// `.blocksReceived`. `seenHeight` is the highest height a verified commit certificate showed
    /// decided: the node is at least that far behind (its catch-up state and `/readyz` say so).
    case requestBlocks(fromHeight: UInt64, seenHeight: UInt64, peer: Bytes32)
    /// Equivocation seen: submit it as a SubmitEvidence transaction.
    case reportEvidence(Evidence)
}
