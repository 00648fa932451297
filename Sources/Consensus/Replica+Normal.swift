import ChainModel
import TotemCrypto

/// The normal case: proposal, prepare, commit, decide.
extension Replica {
    /// A view-0 proposal. In a later view a proposal is valid only inside a NewView; a view-0
    /// proposal is still remembered after the replica moved on, since view-0 commits may decide it.
    mutating func onProposal(_ p: Proposal<Block>, nowMs: UInt64) {
        let vote = p.vote
        guard vote.phase == .prepare, vote.view == 0, vote.validator == leader(view: 0),
              p.block.height == height, p.block.parentHash == parentHash, p.block.hash == vote.blockHash
        else { return }
        guard let index = validators.index(of: vote.validator) else { return }
        if round.votes.contains(vote, index: index) {
            // The leader's vote is held (a duplicate, or the vote came alone): only its block may be new.
            guard round.blocks[vote.blockHash] == nil else { return }
        } else {
            guard vote.verify(verifier), record(vote, index: index) else { return }
        }
        round.remember(p.block, keep: signing.lock?.certificate.blockHash)
        // Prepared only once the runtime has checked it: the rest of this step waits for the answer.
        if view == 0, round.accepted[0] == nil,
           requestCheck(PendingCheck(view: 0, block: p.block), reproposal: false, nowMs: nowMs) { return }
        checkProgress()
    }

    /// Hands `check` to the runtime (`checkProposal`) unless the same block of the same view is
    /// already being checked; returns whether the action was emitted. The caller emits nothing
    /// after it in the same step, so a runtime that answers at once sees the replica act exactly as
    /// if the check were a function call.
    ///
    /// A replica that signs nothing (an observer, or a validator while it abstains) asks for no
    /// check: a block's validity matters to it only once a commit certificate decides it, and that
    /// certificate is a quorum's word that the block was checked (the runtime then applies it as
    /// certified, without checking its signatures again). It takes the block as checked valid at
    /// once, so it still follows views through NewViews and keeps the block for the decision.
    mutating func requestCheck(_ check: PendingCheck<Block>, reproposal: Bool, nowMs: UInt64) -> Bool {
        guard myIndex != nil else {
            guard round.decided == nil else { return true }
            if let nv = check.newView {
                acceptNewView(nv)
            } else {
                if view == 0, round.accepted[0] == nil { accept(check.block, view: 0) }
                checkProgress()
            }
            return true
        }
        let hash = check.block.hash
        guard !round.checksPending.contains(where: { $0.view == check.view && $0.block.hash == hash }) else { return false }
        if round.checksPending.count >= ConsensusLimits.checksPendingMax { round.checksPending.removeFirst() }
        round.checksPending.append(check)
        emit(.checkProposal(check.block, view: check.view, reproposal: reproposal, nowMs: nowMs))
        return true
    }

    /// The runtime's answer to `checkProposal`. Ignored unless the replica still waits for exactly
    /// that check; a block is accepted (prepared) only on a `valid` answer and only if it still can
    /// be (same height, still in that view, nothing accepted there, not decided).
    mutating func onProposalChecked(height h: UInt64, view v: UInt32, blockHash: Bytes32, valid: Bool) {
        guard h == height, let i = round.checksPending.firstIndex(where: { $0.view == v && $0.block.hash == blockHash })
        else { return }
        let check = round.checksPending.remove(at: i)
        if round.decided == nil {
            if let nv = check.newView {
                if valid { acceptNewView(nv) }
            } else {
                if valid, view == 0, round.accepted[0] == nil { accept(check.block, view: 0) }
                checkProgress()
            }
        }
        if round.checksPending.isEmpty { continueReplay() }
    }

    mutating func onVote(_ vote: Vote) {
        guard let index = validators.index(of: vote.validator), !round.votes.contains(vote, index: index),
              VoteBook.window(around: view).contains(vote.view), vote.verify(verifier) else { return }
        guard record(vote, index: index) else { return }
        checkProgress()
    }

    /// Adds a verified vote to the book; reports equivocation. True if the vote was new.
    mutating func record(_ vote: Vote, index: Int) -> Bool {
        switch round.votes.add(vote, index: index, currentView: view) {
        case .added: return true
        case .duplicate, .outsideWindow: return false
        case let .conflict(existing):
            var other = vote
            other.blockHash = existing.blockHash
            other.signature = existing.signature
            if let e = Evidence(vote, other), evidenceLog.record(e) { emit(.reportEvidence(e)) }
            return false
        }
    }

    /// The replica accepts `block` as the proposal of `view` (its current view) and prepares it.
    mutating func accept(_ block: Block, view v: UInt32) {
        precondition(v == view && round.accepted[v] == nil)
        let hash = block.hash
        // Signed another block here before a restart: this one can be neither prepared nor locked.
        guard myIndex == nil || signing.maySign(.prepare, view: v, hash: hash) else { return }
        round.accepted[v] = hash
        round.remember(block, keep: hash)
        if v > 0 { round.viewConfirmed = true }  // accepted only from a valid NewView
        if !workPending {
            workPending = true
            if !round.viewTimerRunning { scheduleViewTimer() }
        }
        guard myIndex != nil else { return }
        let vote = signVote(.prepare, view: v, hash: hash)
        _ = record(vote, index: myIndex ?? 0)
        broadcastPrepare(.vote(vote), view: v)
    }

    /// After any new input: prepare/lock and commit, decide, and the leader's duties.
    mutating func checkProgress() {
        guard round.decided == nil else { return }
        tryLockAndCommit()
        if tryDecide() { return }
        leaderDuties()
    }

    /// Prepared: q prepares (the proposal included) for the accepted block of the current view.
    /// Lock it, persist, then broadcast the commit vote.
    mutating func tryLockAndCommit() {
        let v = view
        guard let hash = round.accepted[v], let block = round.blocks[hash], signing.commit?.view != v,
              (signing.lock?.certificate.view).map({ $0 < v }) ?? true,
              round.votes.count(.prepare, view: v, hash: hash) >= threshold else { return }
        let sigs = round.votes.signatures(.prepare, view: v, hash: hash, set: validators)
        let cert = QuorumCertificate(phase: .prepare, height: height, view: v, blockHash: hash, signatures: sigs)
        signing.lock = Lock(certificate: cert, block: block)
        signingDirty = true
        guard let me = myIndex, signing.maySign(.commit, view: v, hash: hash) else { return persistIfNeeded() }
        let vote = signVote(.commit, view: v, hash: hash)
        _ = record(vote, index: me)
        broadcast(.vote(vote))
    }

    /// Decided: q commits for one `(height, view, hash)` (views never add up). Returns true if the
    /// block was handed to the node.
    mutating func tryDecide() -> Bool {
        if let cert = round.certificateAwaitingBlock, let block = round.blocks[cert.blockHash] {
            decide(block, cert)
            return true
        }
        for (v, hashes) in round.votes.commitCandidates() {
            for hash in hashes where round.votes.count(.commit, view: v, hash: hash) >= threshold {
                let sigs = round.votes.signatures(.commit, view: v, hash: hash, set: validators)
                let cert = QuorumCertificate(phase: .commit, height: height, view: v, blockHash: hash, signatures: sigs)
                guard let block = round.blocks[hash] else {
                    awaitBlock(for: cert, from: sigs.first { $0.validator != publicKey }?.validator)
                    return false
                }
                decide(block, cert)
                return true
            }
        }
        return false
    }

    /// Hands the decided block to the node; the replica waits for `blockApplied`.
    mutating func decide(_ block: Block, _ cert: QuorumCertificate) {
        precondition(round.decided == nil && block.hash == cert.blockHash && cert.height == height)
        round.decided = cert
        timerSequence += 1  // cancels the view timer
        round.viewTimerRunning = false
        emit(.commit(block, cert))
    }

    /// The leader of the current view proposes: in view 0 once work is pending, in a later view
    /// once it holds q view changes for exactly that view.
    mutating func leaderDuties() {
        let v = view
        guard myIndex != nil, leader(view: v) == publicKey, round.proposedView != v else { return }
        if v == 0 {
            guard workPending, round.proposalRequestedView != 0 else { return }
            round.proposalRequestedView = 0
            emit(.requestProposal(height: height, view: 0, parentHash: parentHash))
            return
        }
        let vcs = round.viewChanges.forView(v)
        guard vcs.count >= validators.quorum else { return }
        let chosen = Array(vcs.prefix(validators.quorum))
        if let locked = Self.highestLocks(chosen).first {
            guard let block = round.blocks[locked.blockHash] else { return }
            proposeNewView(chosen, block: block)
        } else if round.proposalRequestedView != v {
            round.proposalRequestedView = v
            emit(.requestProposal(height: height, view: v, parentHash: parentHash))
        }
    }

    mutating func onProposalBuilt(_ block: Block, view v: UInt32) {
        guard myIndex != nil, round.decided == nil, v == view, block.height == height, block.parentHash == parentHash,
              leader(view: v) == publicKey, round.proposedView != v,
              signing.maySign(.prepare, view: v, hash: block.hash) else { return }
        if v > 0 {
            let vcs = round.viewChanges.forView(v)
            guard vcs.count >= validators.quorum else { return }
            let chosen = Array(vcs.prefix(validators.quorum))
            // A lock that arrived since the request takes precedence over the fresh block.
            if let locked = Self.highestLocks(chosen).first {
                guard let lockedBlock = round.blocks[locked.blockHash] else { return }
                return proposeNewView(chosen, block: lockedBlock)
            }
            return proposeNewView(chosen, block: block)
        }
        round.proposedView = 0
        let vote = signVote(.prepare, view: 0, hash: block.hash)
        _ = record(vote, index: myIndex ?? 0)
        round.remember(block, keep: block.hash)
        round.accepted[0] = block.hash
        broadcastPrepare(.proposal(Proposal(block: block, vote: vote)), view: 0)
        checkProgress()
    }
}

extension VoteBook {
    /// True if exactly this vote is already held (cheap check before verifying a signature).
    func contains(_ vote: Vote, index: Int) -> Bool {
        entry(vote.phase, view: vote.view, index: index) == Entry(blockHash: vote.blockHash, signature: vote.signature)
    }
}
