import ChainModel
import TotemCrypto
@testable import Consensus

/// A Byzantine replica: an honest replica's outputs rewritten, plus messages of its own. It holds
/// only its own signer (never the keyring), so every honest signature it sends is one it received.
struct Byzantine: Sendable {
    enum Kind: CaseIterable, Sendable {
        /// Drops every message it would send.
        case silent
        /// As leader, sends a different block to each half of the validators.
        case equivocate
        /// Votes for a second block too, to some validators.
        case doubleVote
        /// Votes for blocks that do not exist.
        case unknownVotes
        /// NewViews with forged, too few or mismatched view changes, or the wrong block.
        case forgedNewView
        /// Random messages: bad signatures, wrong heights, bogus certificates and locks.
        case garbage
    }

    let signer: FakeSigner
    var kinds: [Kind]
    /// View changes seen, for forging NewViews from real parts (bounded).
    var seenViewChanges: [ViewChange] = []
    static let seenViewChangesMax = 32

    init(signer: FakeSigner, rng: inout PRNG) {
        self.signer = signer
        var kinds = Kind.allCases.filter { _ in rng.chance(permille: 450) }
        if kinds.isEmpty { kinds = [rng.pick(Kind.allCases)] }
        if kinds.contains(.silent) && kinds.count > 1 && rng.chance(permille: 500) { kinds.removeAll { $0 == .silent } }
        self.kinds = kinds
    }

    mutating func observe(_ m: Message<TestBlock>) {
        if case let .viewChange(vc, _) = m {
            if seenViewChanges.count == Self.seenViewChangesMax { seenViewChanges.removeFirst() }
            seenViewChanges.append(vc)
        }
    }

    func vote(_ phase: VotePhase, _ h: UInt64, _ v: UInt32, _ hash: Bytes32) -> Vote {
        Vote(phase: phase, height: h, view: v, blockHash: hash, validator: signer.publicKey,
             signature: signer.sign(phase.domain, body: SigningBody.vote(height: h, view: v, blockHash: hash)))
    }

    /// What validator `to` receives instead of `m`.
    func transform(_ m: Message<TestBlock>, to: Int, set: ValidatorSet, rng: inout PRNG) -> [Message<TestBlock>] {
        if kinds.contains(.silent) { return [] }
        switch m {
        case let .proposal(p) where kinds.contains(.equivocate) && to % 2 == 1:
            let twin = TestBlock(height: p.block.height, parentHash: p.block.parentHash, label: p.block.label &+ 1,
                                 proposer: p.block.proposer, timestampMs: p.block.timestampMs)
            return [.proposal(Proposal(block: twin, vote: vote(.prepare, p.vote.height, p.vote.view, twin.hash)))]
        case let .newView(nv) where kinds.contains(.equivocate) && to % 2 == 1:
            let b = nv.proposal.block
            let twin = TestBlock(height: b.height, parentHash: b.parentHash, label: b.label &+ 1, proposer: b.proposer,
                                 timestampMs: b.timestampMs)
            let body = SigningBody.newView(height: nv.height, view: nv.view, blockHash: twin.hash,
                                           signers: nv.viewChanges.map(\.validator))
            let p = Proposal(block: twin, vote: vote(.prepare, nv.height, nv.view, twin.hash))
            return [.newView(NewView(viewChanges: nv.viewChanges, proposal: p, signature: signer.sign(.consensus, body: body)))]
        case let .vote(v) where kinds.contains(.doubleVote) && rng.chance(permille: 500):
            let other = SHA256.hash(Array("double \(rng.next())".utf8))
            return rng.chance(permille: 500) ? [.vote(vote(v.phase, v.height, v.view, other))]
                : [m, .vote(vote(v.phase, v.height, v.view, other))]
        default:
            return [m]
        }
    }

    /// Messages of its own, sent every tick to chosen validators.
    mutating func tick(height h: UInt64, view v: UInt32, head: Bytes32, set: ValidatorSet, everyone: ValidatorSet,
                       rng: inout PRNG) -> [(Message<TestBlock>, Int)] {
        var out = [Message<TestBlock>]()
        if kinds.contains(.unknownVotes) {
            let unknown = SHA256.hash(Array("unknown \(rng.next())".utf8))
            out += [.vote(vote(.prepare, h, v, unknown)), .vote(vote(.commit, h, v, unknown))]
        }
        if kinds.contains(.forgedNewView), let nv = forgedNewView(h, v, head: head, set: set, rng: &rng) {
            out.append(.newView(nv))
        }
        if kinds.contains(.garbage) { out.append(garbage(h, v, head: head, set: set, rng: &rng)) }
        return out.flatMap { m in everyone.keys.indices.filter { everyone.keys[$0] != signer.publicKey }.map { (m, $0) } }
    }

    /// A NewView for a view this replica leads, justified badly in one of several ways.
    func forgedNewView(_ h: UInt64, _ v: UInt32, head: Bytes32, set: ValidatorSet, rng: inout PRNG) -> NewView<TestBlock>? {
        guard let w = (v...(v + UInt32(set.count))).first(where: { $0 > 0 && set.leader(height: h, view: $0) == signer.publicKey })
        else { return nil }
        let block = TestBlock(height: h, parentHash: head, label: rng.next(), proposer: signer.publicKey)
        var vcs = seenViewChanges.filter { $0.height == h }
        switch rng.int(0...3) {
        case 0:  // real view changes of other views relabelled (their signatures no longer match)
            vcs = vcs.map { var x = $0; x.view = w; return x }
        case 1:  // fabricated view changes of honest validators, with garbage signatures
            vcs = set.keys.map { k in ViewChange(height: h, view: w, lock: nil, validator: k,
                                                 signature: Bytes64(high: SHA256.hash(Array("sig \(rng.next())".utf8)), low: .zero)) }
        case 2:  // too few
            vcs = Array(vcs.filter { $0.view == w }.prefix(set.quorum - 1))
        default:  // real ones for w, if any, but a fresh block ignoring their locks
            vcs = vcs.filter { $0.view == w }
        }
        var distinct = [ViewChange]()
        for vc in vcs.sorted(by: { $0.validator < $1.validator }) where distinct.last?.validator != vc.validator {
            distinct.append(vc)
        }
        let p = Proposal(block: block, vote: vote(.prepare, h, w, block.hash))
        let body = SigningBody.newView(height: h, view: w, blockHash: block.hash, signers: distinct.map(\.validator))
        return NewView(viewChanges: distinct, proposal: p, signature: signer.sign(.consensus, body: body))
    }

    /// A block served for catch-up with another block in its place or a certificate that fails.
    func corrupt(_ b: CertifiedBlock<TestBlock>, rng: inout PRNG) -> CertifiedBlock<TestBlock> {
        var out = b
        if rng.chance(permille: 500) {
            out.block = TestBlock(height: b.block.height, parentHash: b.block.parentHash, label: rng.next())
        } else if !out.certificate.signatures.isEmpty {
            out.certificate.signatures[0].signature = Bytes64(high: SHA256.hash(Array("bad \(rng.next())".utf8)), low: .zero)
        }
        return out
    }

    func garbage(_ h: UInt64, _ v: UInt32, head: Bytes32, set: ValidatorSet, rng: inout PRNG) -> Message<TestBlock> {
        let victim = rng.pick(set.keys)
        let junk = Bytes64(high: SHA256.hash(Array("junk \(rng.next())".utf8)), low: .zero)
        let hash = SHA256.hash(Array("hash \(rng.next())".utf8))
        let height = h + UInt64(rng.int(0...3))
        switch rng.int(0...4) {
        case 0:
            return .vote(Vote(phase: rng.chance(permille: 500) ? .prepare : .commit, height: height, view: v,
                              blockHash: hash, validator: victim, signature: junk))
        case 1:
            let sigs = set.keys.map { ValidatorSignature(validator: $0, signature: junk) }
            return .certificate(QuorumCertificate(phase: .commit, height: height + 1, view: v, blockHash: hash, signatures: sigs))
        case 2:
            let sigs = set.keys.prefix(set.quorum).map { ValidatorSignature(validator: $0, signature: junk) }
            let lock = QuorumCertificate(phase: .prepare, height: h, view: v, blockHash: hash, signatures: sigs)
            let body = SigningBody.viewChange(height: h, view: v + 1, lock: lock)
            let vc = ViewChange(height: h, view: v + 1, lock: lock, validator: signer.publicKey,
                                signature: signer.sign(.consensus, body: body))
            return .viewChange(vc, lockedBlock: TestBlock(height: h, parentHash: head, label: rng.next()))
        case 3:  // a proposal whose block does not match its vote
            let b = TestBlock(height: h, parentHash: head, label: rng.next())
            return .proposal(Proposal(block: b, vote: vote(.prepare, h, 0, hash)))
        default:  // a view change claiming a huge view
            let big = UInt32.max - UInt32(rng.int(0...2))
            let body = SigningBody.viewChange(height: h, view: big, lock: nil)
            return .viewChange(ViewChange(height: h, view: big, lock: nil, validator: signer.publicKey,
                                          signature: signer.sign(.consensus, body: body)), lockedBlock: nil)
        }
    }
}
