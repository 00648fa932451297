import ChainModel
import TotemCrypto

/// Who leads each view of a height (docs/consensus.md, "Leader rotation"): the base rotation
/// `V[(height + view) mod n]`, except that a validator that missed its recent turns is *benched*,
/// moved after the others, so that one failed validator costs the chain a view change only on
/// rare probe turns instead of at every height it would lead.
///
/// Decided the same way on every node from what the chain records: the `proposer` of each
/// committed header. A validator's *base turns* are the heights `h` with `h mod n` its index in the
/// set in force; it *missed* a base turn when that block's proposer is someone else (it failed to
/// propose in view 0, or it was benched). Its missed count at a height is the number of its base
/// turns before that height, newest first, that it missed in a row, looking back at most
/// `turnsLookedBack(n)` turns (`windowTurns`, fewer for large sets so that the window stays within
/// `windowHeightsMax` heights) and never before the first height of the set in force. So a node
/// needs the proposers of the last `turnsLookedBack(n) * n` heights only, and a node that restarts
/// (or caught up) reads exactly what a node that kept running knows.
///
/// At its own base turn a validator with a missed count `m >= 1` is benched unless the turn is a
/// probe: `m` is 15, 63 or 255 (one less than a power of four), or `m` is the turns looked back and
/// the turn is one in that many. A failed validator is thus tried again after growing intervals,
/// then once a window; one that proposes on a probe is back at once. A probe's view 0 waits an
/// eighth of the proposal timeout (`probeTimeoutMs`), so a probe that fails costs little. At other
/// heights a validator with `m >= 1` is ordered after those with none. Safety never depends on the
/// order: it only decides which proposal a view's replicas wait for.
public struct LeaderRotation: Sendable, Equatable {
    /// How many of a validator's base turns the missed count looks back over (at most).
    public static let windowTurns = 512
    /// The most heights a rotation reads: a large set looks back over fewer turns.
    public static let windowHeightsMax = 32_768

    /// The turns looked back over with `n` validators.
    public static func turnsLookedBack(validatorCount n: Int) -> Int {
        max(1, min(windowTurns, windowHeightsMax / max(1, n)))
    }

    /// The view-0 timeout of a probe turn, from the proposal timeout.
    public static func probeTimeoutMs(proposalTimeoutMs: UInt64) -> UInt64 {
        max(100, proposalTimeoutMs / 8)
    }

    /// The first height of the validator set in force: turns before it do not count.
    public private(set) var setFromHeight: UInt64
    /// Proposers of the committed heights `firstHeight ..< firstHeight + proposers.count`.
    private var firstHeight: UInt64
    private var proposers: [Bytes32]

    /// A rotation that knows the proposers of the consecutive heights from `firstHeight` (only
    /// those from `setFromHeight` on are used).
    public init(setFromHeight: UInt64, firstHeight: UInt64 = 1, proposers: [Bytes32] = []) {
        self.setFromHeight = max(1, setFromHeight)
        self.firstHeight = firstHeight
        self.proposers = proposers
    }

    /// The heights whose proposers a rotation for `height` needs, with `n` validators in force
    /// from `setFromHeight`: what a node reads from its store to build one.
    public static func neededHeights(before height: UInt64, validatorCount n: Int, setFromHeight: UInt64) -> Range<UInt64> {
        let window = UInt64(turnsLookedBack(validatorCount: n)) * UInt64(max(1, n))
        let lower = max(max(1, setFromHeight), height > window ? height - window : 1)
        return lower < height ? lower..<height : height..<height
    }

    /// Records the proposer of the committed block at `height` (the next height after those known;
    /// a gap restarts the record at `height`), and forgets heights no rotation will need.
    public mutating func record(height: UInt64, proposer: Bytes32, validatorCount n: Int) {
        if height != firstHeight + UInt64(proposers.count) {
            firstHeight = height
            proposers = []
        }
        proposers.append(proposer)
        let keep = Self.neededHeights(before: height + 1, validatorCount: n, setFromHeight: setFromHeight)
        if keep.lowerBound > firstHeight {
            let drop = Int(min(UInt64(proposers.count), keep.lowerBound - firstHeight))
            proposers.removeFirst(drop)
            firstHeight += UInt64(drop)
        }
    }

    /// A new validator set is in force from `height`: its members' turns start afresh.
    public mutating func newSet(from height: UInt64) {
        setFromHeight = max(1, height)
    }

    private func proposer(at height: UInt64) -> Bytes32? {
        guard height >= firstHeight, height - firstHeight < UInt64(proposers.count) else { return nil }
        return proposers[Int(height - firstHeight)]
    }

    /// How many of `validators.keys[index]`'s base turns before `height` it missed in a row.
    func missedTurns(index: Int, before height: UInt64, validators: ValidatorSet) -> Int {
        let n = UInt64(validators.count)
        let key = validators.keys[index]
        let lowest = Self.neededHeights(before: height, validatorCount: validators.count, setFromHeight: setFromHeight).lowerBound
        // The last base turn of `index` below `height`.
        let back = (height % n + n - UInt64(index)) % n
        guard height > (back == 0 ? n : back) else { return 0 }
        var turn = height - (back == 0 ? n : back)
        var missed = 0
        let most = Self.turnsLookedBack(validatorCount: validators.count)
        while turn >= lowest, missed < most, let p = proposer(at: turn), p != key {
            missed += 1
            guard turn > n else { break }
            turn -= n
        }
        return missed
    }

    /// Whether a validator with `missed` turns missed is tried at its base turn `height`.
    static func isProbe(missed: Int, height: UInt64, validatorCount n: Int) -> Bool {
        let most = turnsLookedBack(validatorCount: n)
        if missed == most { return (height / UInt64(max(1, n))) % UInt64(most) == 0 }
        return [15, 63, 255].contains(missed)
    }

    /// Whether view 0 of `height` is a probe: its leader missed its last turn and is tried again.
    public func isProbe(at height: UInt64, validators: ValidatorSet) -> Bool {
        let n = validators.count
        let index = Int(height % UInt64(n))
        let missed = missedTurns(index: index, before: height, validators: validators)
        return missed >= 1 && Self.isProbe(missed: missed, height: height, validatorCount: n)
    }

    /// The leaders of views `0 ..< n` at `height` (the order repeats for higher views).
    public func leaders(at height: UInt64, validators: ValidatorSet) -> [Bytes32] {
        let n = validators.count
        var ready: [Bytes32] = [], benched: [Bytes32] = []
        ready.reserveCapacity(n)
        for k in 0..<n {
            let index = Int((height % UInt64(n) + UInt64(k)) % UInt64(n))
            let missed = missedTurns(index: index, before: height, validators: validators)
            let bench = missed >= 1 && !(k == 0 && Self.isProbe(missed: missed, height: height, validatorCount: n))
            if bench { benched.append(validators.keys[index]) } else { ready.append(validators.keys[index]) }
        }
        return ready + benched
    }
}
