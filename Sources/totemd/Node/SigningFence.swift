import ChainModel

/// Where a validator that starts with no signing state at all (a wiped data directory, a home
/// rebuilt from its key file) may vote again, as a pure function of what it has heard
/// (docs/consensus.md, "A validator without a signing state").
///
/// Such a validator may have voted before it lost its data, at any height up to the one the network
/// was deciding then; voting there again could contradict a vote it sent (a double sign). It has no
/// record of those votes, so it signs nothing until it knows where the network is, then fences:
/// through a height F at or above every height it may have voted at, it follows without voting
/// (`Replica.abstainThroughHeight`); it writes a signing-state record at F + 1 with nothing signed,
/// like a validator restored by `totemd backup restore`, so a restart keeps the fence.
///
/// It knows where the network is once it has heard the height of `q - 1` other validators of the
/// set in force (with them its votes could make a quorum: these are the validators whose heights
/// matter) and has caught up with every height reported to it, each block checked against its
/// commit certificate. The fence is then above the highest height heard: a peer that reports a
/// height it does not have is asked for the blocks, and the node cannot be caught up past blocks
/// nobody sends, so the fence is at most `marginHeights + 2` above a height this node has checked.
/// A network where every report is height 0, with nothing stored here, has decided nothing: no
/// fence, or validators of a new network, all started without a signing state, would never decide
/// block 1.
enum SigningFence {
    /// Heights above the highest reported one that the fence adds: a peer heard may be a block or
    /// two behind the network's newest decided height, which this validator may have voted above.
    static let marginHeights: UInt64 = 2

    struct Inputs: Sendable, Equatable {
        /// Validators of the set in force at the node's height, and whether this node is one.
        var validatorCount: Int
        var isMember: Bool
        /// Validators of that set, other than this node, whose height it has heard.
        var validatorsHeard: Int
        /// Behind the highest height a peer reported, or not yet told any (`BlockSync`).
        var catchingUp: Bool
        /// The height stored here, and the highest height any peer reported.
        var storedHeight: UInt64
        var highestReported: UInt64
    }

    enum Decision: Sendable, Equatable {
        /// Not yet known where the network is: sign nothing.
        case wait
        /// Vote from the current height on, without a fence.
        case noFence(Reason)
        /// Sign nothing at or below `through`.
        case fence(through: UInt64)
    }

    enum Reason: Sendable, Equatable {
        /// Every height heard, and the one stored, is 0: nothing was ever decided.
        case nothingDecided
        /// The other validators cannot make a quorum without this one (n <= 3: f = 0), so a fence
        /// would stop the chain for good rather than delay this validator.
        case othersCannotDecide
    }

    /// Validators other than this node it must hear before it decides.
    static func validatorsNeeded(validatorCount n: Int) -> Int { max(ValidatorSet.quorum(of: n) - 1, 0) }

    static func decide(_ i: Inputs) -> Decision {
        let others = i.validatorCount - (i.isMember ? 1 : 0)
        if i.isMember, others < ValidatorSet.quorum(of: i.validatorCount) {
            return i.storedHeight == 0 && i.highestReported == 0 ? .noFence(.nothingDecided) : .noFence(.othersCannotDecide)
        }
        guard i.validatorsHeard >= validatorsNeeded(validatorCount: i.validatorCount), !i.catchingUp else { return .wait }
        let highest = max(i.storedHeight, i.highestReported)
        guard highest > 0 else { return .noFence(.nothingDecided) }
        // Saturating: a height near the top of UInt64 fences at the top (it never votes again).
        let (fence, overflow) = highest.addingReportingOverflow(1 + marginHeights)
        return .fence(through: overflow ? .max : fence)
    }
}
