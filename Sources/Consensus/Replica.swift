import ChainModel
import TotemCrypto

/// A PBFT replica (DESIGN.md, Consensus) as a deterministic value: `step(event)` changes its state and
/// returns what the runtime must do, in order. No I/O, clock, randomness or concurrency inside, and
/// no output that depends on Dictionary order (dictionaries are only looked up, never iterated
/// into output).
public struct Replica<Block: ConsensusBlock>: Sendable {
    public let config: ReplicaConfig
    let signer: any VoteSigner
    let verifier: any SignatureVerifier
    #if TOTEM_FAULT_INJECTION
    /// Test-only fault injection (see `InjectedBug`): not compiled into release builds.
    var bug: InjectedBug = .none
    #endif

    /// The crash-safe part of the state; see `SigningState`.
    public internal(set) var signing: SigningState<Block>
    /// Whether `signing` changed since the last `persistSigningState` action.
    var signingDirty = false
    /// The height whose view-0 prepare (or proposal) is sent without persisting first: the newest
    /// record persisted is the height before's with a commit vote, which a restart reads as "may
    /// also have prepared an unknown block in view 0 of the next height" (`SigningState.resumed`),
    /// so that prepare needs no record of its own and the height one sync less on its critical
    /// path (docs/consensus.md, "Durability"). Nil after any other record, and at start.
    var unsyncedPrepareHeight: UInt64?
    public internal(set) var parentHash: Bytes32
    /// The sets in force at `height` and `height + 1`.
    public internal(set) var validators: ValidatorSet
    public internal(set) var nextValidators: ValidatorSet
    /// Who leads each view (`LeaderRotation`), and its answer for this height.
    public internal(set) var rotation: LeaderRotation
    public internal(set) var leaders: [Bytes32]
    /// View 0 of this height is a probe of a benched validator (`LeaderRotation`): its timer is short.
    public internal(set) var probeTurn: Bool
    var round: Round<Block>
    var workPending = false
    var timerSequence: UInt64 = 0
    /// The commit certificate of `height - 1`, to answer replicas left behind.
    public internal(set) var lastDecided: QuorumCertificate?
    var future: [BufferedMessage<Block>] = []
    var catchUp = CatchUp<Block>()
    var evidenceLog = EvidenceLog()
    /// Output of the step in progress.
    var actions: [Action<Block>] = []
    /// The height up to which (inclusive) this replica signs and persists nothing (no prepare,
    /// commit, view change or proposal) and follows like an observer until each height is decided:
    /// the newest signing state of its start height may have been lost, with a vote it implied, or
    /// a signing state above the chain (a restored backup, lost blocks) says it may have voted up to
    /// there (docs/consensus.md, "Durability").
    public let abstainThroughHeight: UInt64?

    /// A replica at `position`, resuming from `restoring`, the newest signing state persisted
    /// (`SigningState.resumed(at:)`: one of the height before counts only for the view-0 prepare it
    /// may have been followed by; older ones are obsolete, their heights decided since).
    /// `abstainingThrough` is the height up to which it must not sign (see `abstainThroughHeight`).
    public init(config: ReplicaConfig, signer: any VoteSigner, verifier: any SignatureVerifier,
                position: ChainPosition, restoring: SigningState<Block>? = nil, abstainingThrough: UInt64? = nil) {
        precondition((restoring?.height ?? 0) <= position.height, "signing state is ahead of the chain")
        abstainThroughHeight = abstainingThrough
        self.config = config
        self.signer = signer
        self.verifier = verifier
        self.parentHash = position.parentHash
        self.lastDecided = position.parentCertificate
        self.validators = position.validators
        self.nextValidators = position.nextValidators
        self.rotation = position.rotation
        self.leaders = position.rotation.leaders(at: position.height, validators: position.validators)
        self.probeTurn = position.rotation.isProbe(at: position.height, validators: position.validators)
        signing = restoring?.resumed(at: position.height) ?? SigningState(height: position.height)
        round = Round(validatorCount: position.validators.count)
        round.viewChanges.moveWindow(to: signing.view)
        if let lock = signing.lock { round.remember(lock.block, keep: lock.block.hash) }
        // Having prepared in view v > 0 means a valid NewView for v was seen before the restart.
        round.viewConfirmed = signing.view > 0 && signing.prepare?.view == signing.view
    }

    public var publicKey: Bytes32 { signer.publicKey }
    /// The leader of view `v` at this height.
    public func leader(view v: UInt32) -> Bytes32 {
        #if TOTEM_FAULT_INJECTION
        if bug == .baseRotation { return validators.leader(height: height, view: v) }
        #endif
        return leaders[Int(v % UInt32(leaders.count))]
    }
    public var height: UInt64 { signing.height }
    public var view: UInt32 { signing.view }
    public var lock: Lock<Block>? { signing.lock }
    /// True between deciding the current height and `blockApplied`.
    public var isDecided: Bool { round.decided != nil }
    public var evidence: [Evidence] { evidenceLog.items }
    /// This replica's index in the set in force; nil for an observer, and while it abstains.
    var myIndex: Int? { abstaining ? nil : validators.index(of: signer.publicKey) }
    /// True at heights up to `abstainThroughHeight`.
    var abstaining: Bool { abstainThroughHeight.map { height <= $0 } ?? false }

    /// Feeds one event; returns the actions to perform in order.
    public mutating func step(_ event: Event<Block>) -> [Action<Block>] {
        precondition(actions.isEmpty, "step is not reentrant")
        switch event {
        case .start: onStart()
        case let .message(m, from, nowMs): onMessage(m, from: from, nowMs: nowMs)
        case let .timeout(t): onTimeout(t)
        case .workPending: onWorkPending()
        case let .proposalBuilt(block, view): onProposalBuilt(block, view: view)
        case let .proposalChecked(h, view, hash, valid): onProposalChecked(height: h, view: view, blockHash: hash, valid: valid)
        case let .blockApplied(applied): onBlockApplied(applied)
        case let .blocksReceived(blocks, from): onBlocksReceived(blocks, from: from)
        }
        defer { actions.removeAll() }
        return actions
    }

    mutating func emit(_ action: Action<Block>) { actions.append(action) }

    /// Emits the signing state if it changed: called before every message that depends on it.
    mutating func persistIfNeeded() {
        // While abstaining nothing is signed, so there is nothing to persist; and not writing keeps
        // the record (or the damaged slot) that caused the abstention, so a restart before those
        // heights are decided abstains again.
        guard signingDirty, !abstaining else { return }
        emit(.persistSigningState(signing))
        signingDirty = false
        unsyncedPrepareHeight = signing.viewZeroPrepareCoveredHeight
    }

    mutating func broadcast(_ m: Message<Block>) {
        persistIfNeeded()
        emit(.broadcast(m))
    }

    /// Broadcasts a prepare (a vote, or the proposal carrying it) signed in view `v`: persisted
    /// first unless the newest record already covers it (`unsyncedPrepareHeight`); the next record
    /// written, at the commit vote or a view change, includes it.
    mutating func broadcastPrepare(_ m: Message<Block>, view v: UInt32) {
        guard v == 0, unsyncedPrepareHeight == height else { return broadcast(m) }
        emit(.broadcast(m))
    }

    /// Signs a vote after recording it in the signing state. Never signs two blocks at one
    /// `(height, view, phase)` nor below the current view.
    mutating func signVote(_ phase: VotePhase, view v: UInt32, hash: Bytes32) -> Vote {
        precondition(signing.maySign(phase, view: v, hash: hash), "would sign a conflicting vote")
        let slot = SignedSlot(view: v, blockHash: hash)
        if phase == .prepare { signing.prepare = slot } else { signing.commit = slot }
        signingDirty = true
        let body = SigningBody.vote(height: height, view: v, blockHash: hash)
        return Vote(phase: phase, height: height, view: v, blockHash: hash, validator: signer.publicKey,
                    signature: signer.sign(phase.domain, body: body))
    }

    /// Votes needed to prepare and to decide: q (or f+1 with the injected bug).
    var threshold: Int {
        #if TOTEM_FAULT_INJECTION
        if bug == .weakQuorum { return validators.maxFaulty + 1 }
        #endif
        return validators.quorum
    }

    mutating func onMessage(_ m: Message<Block>, from: Bytes32, nowMs: UInt64) {
        if case let .certificate(cert) = m { return onCertificate(cert, from: from) }
        let h = m.height
        if h == height && round.decided == nil {
            switch m {
            case let .proposal(p): onProposal(p, nowMs: nowMs)
            case let .vote(v): onVote(v)
            case let .viewChange(vc, block): onViewChange(vc, lockedBlock: block)
            case let .newView(nv): onNewView(nv, nowMs: nowMs)
            case .certificate: break
            }
        } else if h <= height {
            answerLaggard(m, from: from)
        } else if h == height + 1 {
            bufferFuture(m, from: from, nowMs: nowMs)
        }
    }
}

extension Message {
    /// The height a message is about.
    public var height: UInt64 {
        switch self {
        case let .proposal(p): p.vote.height
        case let .vote(v): v.height
        case let .viewChange(vc, _): vc.height
        case let .newView(nv): nv.height
        case let .certificate(c): c.height
        }
    }
}

/// A message for the next height, kept until the replica gets there.
struct BufferedMessage<Block: ConsensusBlock>: Sendable {
    var message: Message<Block>
    var from: Bytes32
    var nowMs: UInt64
}
