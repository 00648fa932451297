import ChainModel
import TotemCrypto

/// The votes of one height, per view and phase, one slot per validator: the first vote a validator
/// casts at `(view, phase)` is kept, a second for another block is equivocation. Views are kept
/// only inside a window around the replica's view, so the book is bounded by
/// `(viewsBehindMax + viewsAheadMax + 1) * 2 * n` votes.
struct VoteBook: Sendable {
    struct Entry: Sendable, Hashable {
        var blockHash: Bytes32
        var signature: Bytes64
    }

    enum AddResult: Equatable {
        case added
        case duplicate
        case conflict(existing: Entry)
        case outsideWindow
    }

    let validatorCount: Int
    private var prepares: [UInt32: [Entry?]] = [:]
    private var commits: [UInt32: [Entry?]] = [:]

    init(validatorCount: Int) { self.validatorCount = validatorCount }

    static func window(around view: UInt32) -> ClosedRange<UInt32> {
        let low = view >= ConsensusLimits.viewsBehindMax ? view - ConsensusLimits.viewsBehindMax : 0
        let high = view <= ConsensusLimits.viewMax - ConsensusLimits.viewsAheadMax
            ? view + ConsensusLimits.viewsAheadMax : ConsensusLimits.viewMax
        return low...high
    }

    /// Adds the vote of validator `index` (already verified). `currentView` sets the window.
    mutating func add(_ vote: Vote, index: Int, currentView: UInt32) -> AddResult {
        precondition(index >= 0 && index < validatorCount)
        guard VoteBook.window(around: currentView).contains(vote.view) else { return .outsideWindow }
        let entry = Entry(blockHash: vote.blockHash, signature: vote.signature)
        var slots = (vote.phase == .prepare ? prepares[vote.view] : commits[vote.view])
            ?? [Entry?](repeating: nil, count: validatorCount)
        if let existing = slots[index] {
            return existing.blockHash == vote.blockHash ? .duplicate : .conflict(existing: existing)
        }
        slots[index] = entry
        if vote.phase == .prepare { prepares[vote.view] = slots } else { commits[vote.view] = slots }
        return .added
    }

    /// Drops views outside the window around `currentView`.
    mutating func prune(currentView: UInt32) {
        let window = VoteBook.window(around: currentView)
        prepares = prepares.filter { window.contains($0.key) }
        commits = commits.filter { window.contains($0.key) }
    }

    func entry(_ phase: VotePhase, view: UInt32, index: Int) -> Entry? {
        guard let slots = phase == .prepare ? prepares[view] : commits[view], index < slots.count else { return nil }
        return slots[index]
    }

    func count(_ phase: VotePhase, view: UInt32, hash: Bytes32) -> Int {
        guard let slots = phase == .prepare ? prepares[view] : commits[view] else { return 0 }
        return slots.reduce(0) { $0 + ($1?.blockHash == hash ? 1 : 0) }
    }

    /// Signatures for `(phase, view, hash)` in validator order (which is key order).
    func signatures(_ phase: VotePhase, view: UInt32, hash: Bytes32, set: ValidatorSet) -> [ValidatorSignature] {
        guard let slots = phase == .prepare ? prepares[view] : commits[view] else { return [] }
        var out = [ValidatorSignature]()
        for (i, slot) in slots.enumerated() where slot?.blockHash == hash {
            if let slot { out.append(ValidatorSignature(validator: set.keys[i], signature: slot.signature)) }
        }
        return out
    }

    /// Views holding commit votes, ascending, each with its block hashes in first-vote order.
    func commitCandidates() -> [(view: UInt32, hashes: [Bytes32])] {
        commits.keys.sorted().map { view in
            var hashes = [Bytes32]()
            for slot in commits[view] ?? [] {
                if let h = slot?.blockHash, !hashes.contains(h) { hashes.append(h) }
            }
            return (view, hashes)
        }
    }
}

/// The view changes of one height: the highest one per validator (for the f+1 join rule and the
/// timer rule), and for views in `[view, view + viewsAheadMax]` every one (for a NewView).
struct ViewChangeBook: Sendable {
    let validatorCount: Int
    private(set) var highest: [ViewChange?]
    private var byView: [UInt32: [ViewChange?]] = [:]

    init(validatorCount: Int) {
        self.validatorCount = validatorCount
        highest = [ViewChange?](repeating: nil, count: validatorCount)
    }

    /// Adds a verified view change of validator `index`; false if it added nothing.
    mutating func add(_ vc: ViewChange, index: Int, currentView: UInt32) -> Bool {
        precondition(index >= 0 && index < validatorCount)
        var added = false
        if (highest[index]?.view ?? 0) < vc.view || highest[index] == nil {
            highest[index] = vc
            added = true
        }
        if vc.view >= currentView, vc.view - currentView <= ConsensusLimits.viewsAheadMax {
            var slots = byView[vc.view] ?? [ViewChange?](repeating: nil, count: validatorCount)
            if slots[index] == nil {
                slots[index] = vc
                byView[vc.view] = slots
                added = true
            }
        }
        return added
    }

    /// Keeps the window `[currentView, currentView + viewsAheadMax]`, refilled from `highest`.
    mutating func moveWindow(to currentView: UInt32) {
        byView = byView.filter { $0.key >= currentView && $0.key - currentView <= ConsensusLimits.viewsAheadMax }
        for (i, vc) in highest.enumerated() {
            guard let vc, vc.view >= currentView, vc.view - currentView <= ConsensusLimits.viewsAheadMax else { continue }
            var slots = byView[vc.view] ?? [ViewChange?](repeating: nil, count: validatorCount)
            if slots[i] == nil { slots[i] = vc }
            byView[vc.view] = slots
        }
    }

    /// View changes for exactly `view`, in validator (key) order.
    func forView(_ view: UInt32) -> [ViewChange] { (byView[view] ?? []).compactMap { $0 } }

    /// Number of validators whose highest view change is for `view` or higher.
    func countAtOrAbove(_ view: UInt32) -> Int { highest.reduce(0) { $0 + (($1?.view ?? 0) >= view && $1 != nil ? 1 : 0) } }

    /// The highest view that at least `k` validators have sent view changes for, above `view`:
    /// the smallest view of the `k` highest, if `k` validators are above `view`.
    func joinTarget(above view: UInt32, k: Int) -> UInt32? {
        let above = highest.compactMap { $0?.view }.filter { $0 > view }.sorted(by: >)
        guard k > 0, above.count >= k else { return nil }
        return above[k - 1]
    }
}
