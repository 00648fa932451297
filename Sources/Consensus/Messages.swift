import ChainModel
import TotemCrypto

/// A signed prepare or commit vote: `phase` domain over `height:u64 | view:u32 | blockHash:bytes32`.
public struct Vote: Sendable, Hashable {
    public var phase: VotePhase
    public var height: UInt64
    public var view: UInt32
    public var blockHash: Bytes32
    public var validator: Bytes32
    public var signature: Bytes64

    public init(phase: VotePhase, height: UInt64, view: UInt32, blockHash: Bytes32,
                validator: Bytes32, signature: Bytes64) {
        self.phase = phase; self.height = height; self.view = view; self.blockHash = blockHash
        self.validator = validator; self.signature = signature
    }

    public var body: [UInt8] { SigningBody.vote(height: height, view: view, blockHash: blockHash) }

    public func verify(_ verifier: any SignatureVerifier) -> Bool {
        verifier.verify(signature, phase.domain, body: body, publicKey: validator)
    }
}

/// `q` votes of one phase for one `(height, view, blockHash)`: a prepared certificate (phase
/// prepare) or a commit certificate (phase commit, PROTOCOL.md). Signatures are sorted by
/// validator key, strictly ascending, so distinct signers are checked in one pass and one
/// certificate has one form.
public struct QuorumCertificate: Sendable, Hashable {
    public var phase: VotePhase
    public var height: UInt64
    public var view: UInt32
    public var blockHash: Bytes32
    public var signatures: [ValidatorSignature]

    public init(phase: VotePhase, height: UInt64, view: UInt32, blockHash: Bytes32, signatures: [ValidatorSignature]) {
        self.phase = phase; self.height = height; self.view = view; self.blockHash = blockHash
        self.signatures = signatures
    }

    /// True iff there are at least `q` signatures by distinct members of `set`, sorted, all valid.
    public func verify(against set: ValidatorSet, _ verifier: any SignatureVerifier) -> Bool {
        guard signatures.count >= set.quorum, signatures.count <= set.count else { return false }
        let body = SigningBody.vote(height: height, view: view, blockHash: blockHash)
        var previous: Bytes32?
        for s in signatures {
            if let p = previous, !(p < s.validator) { return false }
            guard set.contains(s.validator),
                  verifier.verify(s.signature, phase.domain, body: body, publicKey: s.validator) else { return false }
            previous = s.validator
        }
        return true
    }
}

/// A leader's proposal: the block and the leader's prepare vote for it (the proposal counts as the
/// leader's prepare, so its signature is that vote's).
public struct Proposal<Block: ConsensusBlock>: Sendable {
    public var block: Block
    public var vote: Vote
    public init(block: Block, vote: Vote) { self.block = block; self.vote = vote }
}

/// `ViewChange(h, v, lock)`, signed in `totem/consensus/v1`. `lock` is the sender's highest
/// prepared certificate at `h`, from a view below `v`.
public struct ViewChange: Sendable, Hashable {
    public var height: UInt64
    public var view: UInt32
    public var lock: QuorumCertificate?
    public var validator: Bytes32
    public var signature: Bytes64

    public init(height: UInt64, view: UInt32, lock: QuorumCertificate?, validator: Bytes32, signature: Bytes64) {
        self.height = height; self.view = view; self.lock = lock; self.validator = validator; self.signature = signature
    }

    public var body: [UInt8] { SigningBody.viewChange(height: height, view: view, lock: lock) }

    /// Signature and (if any) lock certificate check out for `set`, the set in force at `height`.
    public func verify(against set: ValidatorSet, _ verifier: any SignatureVerifier) -> Bool {
        guard set.contains(validator),
              verifier.verify(signature, .consensus, body: body, publicKey: validator) else { return false }
        guard let lock else { return true }
        return lock.phase == .prepare && lock.height == height && lock.view < view
            && lock.verify(against: set, verifier)
    }
}

/// `NewView(h, v)`: `q` view changes for exactly `v` and the new leader's proposal, signed by that
/// leader in `totem/consensus/v1` over the height, view, block hash and the view changes' signers.
public struct NewView<Block: ConsensusBlock>: Sendable {
    public var viewChanges: [ViewChange]
    public var proposal: Proposal<Block>
    public var signature: Bytes64

    public init(viewChanges: [ViewChange], proposal: Proposal<Block>, signature: Bytes64) {
        self.viewChanges = viewChanges; self.proposal = proposal; self.signature = signature
    }

    public var height: UInt64 { proposal.vote.height }
    public var view: UInt32 { proposal.vote.view }
    public var leader: Bytes32 { proposal.vote.validator }
    public var body: [UInt8] {
        SigningBody.newView(height: height, view: view, blockHash: proposal.vote.blockHash,
                            signers: viewChanges.map(\.validator))
    }
}

/// Every message replicas exchange. The node's P2P layer carries them; `from` of the receiving
/// event is the authenticated peer, used only to answer, never instead of a signature.
public enum Message<Block: ConsensusBlock>: Sendable {
    /// A view-0 proposal (in a later view a proposal is valid only inside a NewView).
    case proposal(Proposal<Block>)
    case vote(Vote)
    /// A view change and, when it carries a lock, the locked block.
    case viewChange(ViewChange, lockedBlock: Block?)
    case newView(NewView<Block>)
    /// A commit certificate, sent to a replica still working on a decided height.
    case certificate(QuorumCertificate)
}

/// A block with the commit certificate that decided it: catch-up data.
public struct CertifiedBlock<Block: ConsensusBlock>: Sendable {
    public var block: Block
    public var certificate: QuorumCertificate
    public init(block: Block, certificate: QuorumCertificate) { self.block = block; self.certificate = certificate }
}
