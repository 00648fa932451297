import ChainModel
import TotemCrypto

/// Heights: applying decided blocks, answering replicas left behind, catching up from commit
/// certificates, and messages for the next height.
extension Replica {
    /// The node applied the decided block: move to the next height.
    mutating func onBlockApplied(_ a: AppliedBlock) {
        guard let cert = round.decided else { preconditionFailure("blockApplied without a decided block") }
        precondition(a.height == height && a.blockHash == cert.blockHash, "applied a block the replica did not decide")
        lastDecided = cert
        parentHash = a.blockHash
        rotation.record(height: a.height, proposer: a.proposer, validatorCount: validators.count)
        if nextValidators != validators { rotation.newSet(from: a.height + 1) }
        validators = nextValidators
        nextValidators = a.validatorsAtHeightPlus2
        leaders = rotation.leaders(at: a.height + 1, validators: validators)
        probeTurn = rotation.isProbe(at: a.height + 1, validators: validators)
        signing = SigningState(height: height + 1)
        signingDirty = true
        round = Round(validatorCount: validators.count)
        workPending = a.workPending
        if workPending { scheduleViewTimer() } else { scheduleHeartbeat() }
        round.replay = future.filter { $0.message.height == height }
        future = []
        continueReplay()
    }

    /// Steps the messages buffered for this height, in arrival order, then catch-up and progress.
    /// Pauses while a proposal check is pending (`proposalChecked` resumes it), so that the
    /// messages after a proposal are stepped after its check's answer, as they were when the check
    /// was a function call. Does nothing when no replay is under way.
    mutating func continueReplay() {
        guard var replay = round.replay, round.checksPending.isEmpty else { return }
        guard round.decided == nil else {
            round.replay = nil  // decided meanwhile: the rest are answered by the commit certificate
            return
        }
        while !replay.isEmpty {
            let b = replay.removeFirst()
            round.replay = replay
            onMessage(b.message, from: b.from, nowMs: b.nowMs)
            if round.decided != nil {
                round.replay = nil
                return
            }
            if !round.checksPending.isEmpty { return }
        }
        round.replay = nil
        drainCatchUp()
        if round.decided == nil { checkProgress() }
    }

    /// A commit certificate: decides the current height if the block is known, or starts catch-up
    /// if it is for a higher height. An unverifiable claim changes nothing.
    mutating func onCertificate(_ cert: QuorumCertificate, from: Bytes32) {
        guard cert.phase == .commit, cert.height >= height, round.decided == nil else { return }
        if cert.height == height {
            if let awaiting = round.certificateAwaitingBlock {
                // Another holder of the block we wait for: one more peer to ask.
                if cert.blockHash == awaiting.blockHash { catchUp.addPeer(from) }
                return
            }
            guard cert.verify(against: validators, verifier) else { return }
            if let block = round.blocks[cert.blockHash] { return decide(block, cert) }
            awaitBlock(for: cert, from: from)
            return
        }
        // The set in force above height + 1 is not known yet; the latest known one is the best check.
        guard cert.height >= catchUp.targetHeight, cert.verify(against: nextValidators, verifier) else { return }
        catchUp.targetHeight = cert.height
        catchUp.addPeer(from)
        if catchUp.requestedAtHeight != height { requestBlocks(from: from) }
    }

    /// A quorum decided a block this replica has not seen: fetch it.
    mutating func awaitBlock(for cert: QuorumCertificate, from peer: Bytes32?) {
        guard round.certificateAwaitingBlock == nil else { return }
        round.certificateAwaitingBlock = cert
        catchUp.targetHeight = max(catchUp.targetHeight, cert.height)
        if let peer { catchUp.addPeer(peer) }
        if catchUp.requestedAtHeight != height, let peer = catchUp.pickPeer() { requestBlocks(from: peer) }
    }

    mutating func onBlocksReceived(_ blocks: [CertifiedBlock<Block>], from: Bytes32) {
        for b in blocks.prefix(ConsensusLimits.catchUpBlocksMax) where b.block.height >= height {
            catchUp.insert(b)
        }
        drainCatchUp()
    }

    /// Decides the current height from a received block whose certificate verifies against the set
    /// in force at that height; the rest waits for `blockApplied`.
    mutating func drainCatchUp() {
        guard round.decided == nil else { return }
        while let first = catchUp.blocks.first, first.block.height <= height {
            catchUp.blocks.removeFirst()
            guard first.block.height == height else { continue }
            let cert = first.certificate
            let block = first.block
            guard cert.phase == .commit, cert.height == height, cert.blockHash == block.hash,
                  block.parentHash == parentHash, cert.verify(against: validators, verifier) else { continue }
            return decide(block, cert)
        }
        if catchUp.targetHeight >= height, catchUp.requestedAtHeight != height, let peer = catchUp.pickPeer() {
            requestBlocks(from: peer)
        }
    }

    /// On a view timer expiry while behind: ask again (the answer may have been lost).
    mutating func retryCatchUp() {
        guard catchUp.targetHeight >= height, let peer = catchUp.pickPeer() else { return }
        requestBlocks(from: peer)
    }

    /// Asks `peer` for the blocks from this height on, saying how far up a certificate was seen.
    private mutating func requestBlocks(from peer: Bytes32) {
        catchUp.requestedAtHeight = height
        emit(.requestBlocks(fromHeight: height, seenHeight: catchUp.targetHeight, peer: peer))
    }

    /// A message about a height this replica decided: answer with the commit certificate, so the
    /// sender can finish it or catch up. A late commit vote is not answered: its sender has
    /// prepared and gets the same commits this replica got (if some were lost, its timer expires and
    /// its view change is answered). Prepare votes are answered once per sender and height.
    mutating func answerLaggard(_ m: Message<Block>, from: Bytes32) {
        guard let cert = round.decided ?? lastDecided, from != publicKey else { return }
        if case let .vote(v) = m {
            guard v.phase == .prepare else { return }
            guard !round.laggardsAnswered.contains(from),
                  round.laggardsAnswered.count < ConsensusLimits.laggardVoteAnswersMax else { return }
            round.laggardsAnswered.append(from)
        }
        emit(.send(.certificate(cert), to: from))
    }

    /// Keeps a message for the next height, bounded in total and per peer.
    mutating func bufferFuture(_ m: Message<Block>, from: Bytes32, nowMs: UInt64) {
        guard future.count < ConsensusLimits.futureMessagesMax,
              future.reduce(0, { $0 + ($1.from == from ? 1 : 0) }) < ConsensusLimits.futureMessagesPerPeerMax
        else { return }
        future.append(BufferedMessage(message: m, from: from, nowMs: nowMs))
    }
}
