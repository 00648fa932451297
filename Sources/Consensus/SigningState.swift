import ChainModel
import TotemCrypto

/// What a validator signed at one `(height, view)` in one phase.
public struct SignedSlot: Sendable, Hashable {
    public var view: UInt32
    public var blockHash: Bytes32
    public init(view: UInt32, blockHash: Bytes32) { self.view = view; self.blockHash = blockHash }
}

/// The lock: the highest prepared certificate at the current height, with its block.
public struct Lock<Block: ConsensusBlock>: Sendable {
    public var certificate: QuorumCertificate
    public var block: Block
    public init(certificate: QuorumCertificate, block: Block) {
        precondition(certificate.phase == .prepare && certificate.blockHash == block.hash, "lock must match its block")
        self.certificate = certificate
        self.block = block
    }
}

/// The crash-safe signing state. The runtime writes it to LMDB and syncs *before* performing any
/// action that follows a `persistSigningState` in the same `[Action]`; a replica restarted from it
/// never signs a conflicting vote and still reports its lock in view changes.
///
/// Invariants: `prepare`/`commit` views are at most `view`; `lock`'s view is at most `view`.
public struct SigningState<Block: ConsensusBlock>: Sendable {
    /// The height being decided and the replica's view at it. The replica sends no prepare or
    /// commit for a view below `view`.
    public var height: UInt64
    public var view: UInt32
    /// The last prepare signed at `height` (a leader's proposal is its prepare).
    public var prepare: SignedSlot?
    /// The last commit signed at `height`.
    public var commit: SignedSlot?
    public var lock: Lock<Block>?

    public init(height: UInt64, view: UInt32 = 0, prepare: SignedSlot? = nil, commit: SignedSlot? = nil,
                lock: Lock<Block>? = nil) {
        self.height = height; self.view = view; self.prepare = prepare; self.commit = commit; self.lock = lock
    }

    /// True if signing `phase` for `(view, hash)` cannot conflict with anything signed before.
    func maySign(_ phase: VotePhase, view v: UInt32, hash: Bytes32) -> Bool {
        guard v == view else { return false }
        let last = phase == .prepare ? prepare : commit
        guard let last, last.view == v else { return true }
        return last.blockHash == hash
    }
}
