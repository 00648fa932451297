import ChainModel
import TotemCrypto

/// What a validator signed at one `(height, view)` in one phase.
public struct SignedSlot: Sendable, Hashable {
    public var view: UInt32
    public var blockHash: Bytes32
    public init(view: UInt32, blockHash: Bytes32) { self.view = view; self.blockHash = blockHash }

    /// The hash of "a block this replica may have prepared and no longer knows": no block hashes to
    /// it (a SHA-256 output), so a slot holding it allows no other prepare in its view.
    public static let unknownBlock = Bytes32.zero
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

    /// The height whose view-0 prepare this record covers without holding it: the next one, when it
    /// holds a commit vote. A replica sends that prepare before any record of its own is synced
    /// (`Replica.unsyncedPrepareHeight`), and a restart reads the record so (`resumed(at:)`).
    var viewZeroPrepareCoveredHeight: UInt64? { commit == nil ? nil : height + 1 }

    /// The state to resume at `height` from this record, the newest one persisted: itself at its own
    /// height; at the height whose view-0 prepare it covers, a state that may have prepared an
    /// unknown block in view 0; otherwise nothing signed there.
    func resumed(at height: UInt64) -> SigningState {
        if self.height == height { return self }
        if viewZeroPrepareCoveredHeight == height {
            return SigningState(height: height, prepare: SignedSlot(view: 0, blockHash: SignedSlot.unknownBlock))
        }
        return SigningState(height: height)
    }

    /// True if this record, the newest persisted, covers `vote` of this validator having been sent:
    /// it holds the vote, or the vote is the view-0 prepare it covers. The persist-before-send
    /// contract the tests check.
    func covers(_ vote: Vote) -> Bool {
        if vote.phase == .prepare, vote.view == 0, viewZeroPrepareCoveredHeight == vote.height { return true }
        let slot = vote.phase == .prepare ? prepare : commit
        return height == vote.height && slot == SignedSlot(view: vote.view, blockHash: vote.blockHash)
    }

    /// True if signing `phase` for `(view, hash)` cannot conflict with anything signed before.
    func maySign(_ phase: VotePhase, view v: UInt32, hash: Bytes32) -> Bool {
        guard v == view else { return false }
        let last = phase == .prepare ? prepare : commit
        guard let last, last.view == v else { return true }
        return last.blockHash == hash
    }
}
