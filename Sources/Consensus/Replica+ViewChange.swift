import ChainModel
import TotemCrypto

/// View changes, NewView, and the rules that move a replica between views.
extension Replica {
    mutating func onViewChange(_ vc: ViewChange, lockedBlock: Block?) {
        guard vc.view > 0, vc.view <= ConsensusLimits.viewMax, let index = validators.index(of: vc.validator),
              round.viewChanges.highest[index] != vc else { return }
        guard vc.verify(against: validators, verifier) else { return }
        if let lock = vc.lock {
            // A lock is useful to a new leader only with its block.
            guard let block = lockedBlock, block.hash == lock.blockHash, block.height == height,
                  block.parentHash == parentHash else { return }
            round.remember(block, keep: signing.lock?.certificate.blockHash)
        }
        guard round.viewChanges.add(vc, index: index, currentView: view) else { return }
        checkViewRules()
        checkProgress()
    }

    /// The f+1 rule (join the smallest of the higher views that f+1 validators moved to) and the
    /// timer rule (for view > 0, the timer restarts afresh once q validators are at this view or
    /// higher; only then does an expiry move the replica on).
    mutating func checkViewRules() {
        if let target = round.viewChanges.joinTarget(above: view, k: validators.maxFaulty + 1) {
            return moveToView(target)  // moveToView checks the rules again
        }
        if view > 0, !round.viewConfirmed, round.viewChanges.countAtOrAbove(view) >= validators.quorum {
            round.viewConfirmed = true
            scheduleViewTimer()
        }
    }

    /// Moves to view `w` and announces it with a view change carrying the lock. Persisted first:
    /// from now on no prepare or commit below `w` is signed.
    mutating func moveToView(_ w: UInt32, announce: Bool = true) {
        precondition(w > view && w <= ConsensusLimits.viewMax)
        signing.view = w
        signingDirty = true
        round.viewConfirmed = false
        round.votes.prune(currentView: w)
        let window = VoteBook.window(around: w)
        round.accepted = round.accepted.filter { window.contains($0.key) }
        round.viewChanges.moveWindow(to: w)
        if announce, let me = myIndex {
            let vc = makeViewChange()
            _ = round.viewChanges.add(vc, index: me, currentView: w)
            broadcast(.viewChange(vc, lockedBlock: vc.lock == nil ? nil : signing.lock?.block))
        }
        // The timer restarts afresh when the view is confirmed; if it already is, start it once.
        if round.viewChanges.countAtOrAbove(w) >= validators.quorum { round.viewConfirmed = true }
        scheduleViewTimer()
        if announce { checkViewRules() }
    }

    /// `ViewChange(height, view, lock)` for the current view, signed.
    func makeViewChange() -> ViewChange {
        var lock = signing.lock?.certificate
        #if TOTEM_FAULT_INJECTION
        if bug == .forgetLock { lock = nil }
        #endif
        // A lock from the current view would make the view change invalid: a replica that locked in
        // its view has accepted a NewView (or proposed) there, so its view is confirmed and moves on.
        precondition((lock?.view).map { $0 < view } ?? true, "view change would carry a lock from its own view")
        let body = SigningBody.viewChange(height: height, view: view, lock: lock)
        return ViewChange(height: height, view: view, lock: lock, validator: publicKey,
                          signature: signer.sign(.consensus, body: body))
    }

    /// The locks of the highest view among `vcs` (several only if more than f are faulty).
    static func highestLocks(_ vcs: [ViewChange]) -> [QuorumCertificate] {
        let locks = vcs.compactMap(\.lock)
        guard let top = locks.map(\.view).max() else { return [] }
        return locks.filter { $0.view == top }
    }

    /// As leader of the current view: NewView with `chosen` (q view changes for exactly this view)
    /// and `block`, whose prepare vote is signed (and persisted) first.
    mutating func proposeNewView(_ chosen: [ViewChange], block: Block) {
        let v = view
        let hash = block.hash
        guard signing.maySign(.prepare, view: v, hash: hash), let me = myIndex else { return }
        round.proposedView = v
        let vote = signVote(.prepare, view: v, hash: hash)
        _ = record(vote, index: me)
        round.remember(block, keep: hash)
        round.accepted[v] = hash
        round.viewConfirmed = true
        let proposal = Proposal(block: block, vote: vote)
        let body = SigningBody.newView(height: height, view: v, blockHash: hash, signers: chosen.map(\.validator))
        let nv = NewView(viewChanges: chosen, proposal: proposal, signature: signer.sign(.consensus, body: body))
        broadcast(.newView(nv))
        checkProgress()
    }

    /// A NewView whose signatures and block rule hold is accepted once the runtime has checked its
    /// block (`checkProposal`, answered by `proposalChecked`, which calls `acceptNewView`).
    mutating func onNewView(_ nv: NewView<Block>, nowMs: UInt64) {
        let v = nv.view
        guard v > 0, v >= view, v <= ConsensusLimits.viewMax, round.accepted[v] == nil else { return }
        guard let reproposal = checkNewView(nv) else { return }
        _ = requestCheck(PendingCheck(view: v, block: nv.proposal.block, newView: nv), reproposal: reproposal, nowMs: nowMs)
    }

    /// The rest of `onNewView` after its block was checked valid: records the leader's vote (its
    /// equivocation is evidence, and then nothing is prepared), moves to the view and prepares.
    mutating func acceptNewView(_ nv: NewView<Block>) {
        let v = nv.view
        // The replica may have moved on, or accepted another NewView, while the check was pending.
        guard v > 0, v >= view, round.accepted[v] == nil else { return }
        let vote = nv.proposal.vote
        guard let index = validators.index(of: vote.validator) else { return }
        if let held = round.votes.entry(.prepare, view: v, index: index), held.blockHash != vote.blockHash {
            _ = record(vote, index: index)  // the leader equivocated: evidence, and no prepare
            return
        }
        _ = record(vote, index: index)
        if v > view { moveToView(v, announce: false) }
        round.viewConfirmed = true
        scheduleViewTimer()
        accept(nv.proposal.block, view: v)
        checkProgress()
    }

    /// A NewView is valid iff it is the leader's, its q view changes for exactly its view verify,
    /// and its block is that of the highest-view lock among them (or any valid block if none has
    /// one). The replica's own lock plays no part. Checks everything but the block's validity,
    /// which the runtime checks (`checkProposal`): nil if the NewView is invalid, else whether its
    /// block is a re-proposal (from a lock, so its time is not checked again).
    func checkNewView(_ nv: NewView<Block>) -> Bool? {
        let v = nv.view
        let vote = nv.proposal.vote
        let block = nv.proposal.block
        guard vote.phase == .prepare, vote.height == height, nv.leader == leader(view: v),
              block.height == height, block.parentHash == parentHash, block.hash == vote.blockHash,
              nv.viewChanges.count >= validators.quorum, nv.viewChanges.count <= validators.count else { return nil }
        var previous: Bytes32?
        for vc in nv.viewChanges {
            if let p = previous, !(p < vc.validator) { return nil }  // distinct, canonical order
            guard vc.height == height, vc.view == v else { return nil }
            previous = vc.validator
        }
        guard verifier.verify(nv.signature, .consensus, body: nv.body, publicKey: nv.leader), vote.verify(verifier)
        else { return nil }
        for vc in nv.viewChanges where !vc.verify(against: validators, verifier) { return nil }
        let locks = Self.highestLocks(nv.viewChanges)
        if locks.isEmpty { return false }
        return locks.contains { $0.blockHash == block.hash } ? true : nil
    }
}
