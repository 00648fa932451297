import ChainModel
import TotemCrypto
@testable import Consensus

struct TranscriptError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Drives one real replica (Ed25519 signatures) with commands of the transcript format and renders
/// its actions as text. Other validators' messages are built and signed by the harness.
struct TranscriptHarness {
    let keys = TestKeys(count: 8)
    var me = "r0"
    var config = ReplicaConfig(proposalTimeoutMs: 1000, maxProposalTimeoutMs: 8000, emptyBlockIntervalMs: 30000)
    var replica: Replica<TestBlock>?
    var chainHeight: UInt64 = 0
    var parent = TestKeys.genesisHash
    var setNow: ValidatorSet?
    var setNext: ValidatorSet?
    var blocks: [String: TestBlock] = [:]
    var blockNames: [Bytes32: String] = [:]
    var persisted: SigningState<TestBlock>?
    /// The record before `persisted`: what survives when the newest one is damaged.
    var persistedBefore: SigningState<TestBlock>?
    var lastViewTimeout: Timeout?
    var lastHeartbeat: Timeout?
    var lastCommit: (TestBlock, QuorumCertificate)?
    let nowMs: UInt64 = 1_000_000
    /// Whether `checkProposal` is answered at once (`checks mode=auto`, the default) or waits for a
    /// `checked` command (`checks mode=manual`).
    var answerChecks = true

    // MARK: commands

    mutating func run(_ line: String) throws -> [String] {
        let words = line.split(separator: " ").map(String.init)
        guard let verb = words.first else { return [] }
        var args: [String: String] = [:]
        for w in words.dropFirst() {
            let kv = w.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw TranscriptError("bad argument \(w)") }
            args[kv[0]] = kv[1]
        }
        if verb == "setup" { return try setup(args) }
        guard replica != nil, let set = setNow else { throw TranscriptError("setup first") }
        let h = try args["h"].map { try uint($0) } ?? chainHeight + 1
        let v = try UInt32(args["v"].map { try uint($0) } ?? 0)
        switch verb {
        case "start": return try step(.start)
        case "work": return try step(.workPending)
        case "timeout":
            guard let t = lastViewTimeout else { throw TranscriptError("no view timer scheduled") }
            return try step(.timeout(t))
        case "heartbeat":
            guard let t = lastHeartbeat else { throw TranscriptError("no heartbeat scheduled") }
            return try step(.timeout(t))
        case "propose":
            let from = try one(args["from"])
            let block = try self.block(try one(args["block"]))
            let vote = try self.vote(.prepare, by: from, h: h, v: v, block.hash)
            return try deliver(.proposal(Proposal(block: block, vote: vote)), from: from)
        case "prepare", "commit":
            let phase: VotePhase = verb == "prepare" ? .prepare : .commit
            let block = try self.block(try one(args["block"]))
            var out = [String]()
            for from in try list(args["from"]) {
                out += try deliver(.vote(try vote(phase, by: from, h: h, v: v, block.hash)), from: from)
            }
            return out
        case "viewchange":
            var out = [String]()
            let lock = try args["lock"].map { try lockCertificate($0, h: h, set: set) }
            for from in try list(args["from"]) {
                let vc = try viewChange(by: from, h: h, v: v, lock: lock?.0)
                out += try deliver(.viewChange(vc, lockedBlock: lock?.1), from: from)
            }
            return out
        case "newview": return try newView(args, h: h, v: v, set: set)
        case "built":
            let block = try self.block(try one(args["block"]))
            return try step(.proposalBuilt(block, view: replica?.view ?? 0))
        case "applied": return try applied(args)
        case "restart": return restart()
        case "restart-damaged": return restartDamaged()
        case "restart-fenced": return try restartFenced(through: try uint(try one(args["through"])))
        case "certificate":
            let block = try self.block(try one(args["block"]))
            var cert = try certificate(.commit, h: block.height, v: v, block.hash, signers: try list(args["signers"]))
            if let forged = args["forge"] { try forge(&cert, forged) }
            return try deliver(.certificate(cert), from: try one(args["from"]))
        case "blocks":
            let from = try one(args["from"])
            var certified = [CertifiedBlock<TestBlock>]()
            for name in try list(args["list"]) {
                let b = try block(name)
                let signers = set.keys.prefix(set.quorum).map { keys.name(of: $0) }
                certified.append(CertifiedBlock(block: b, certificate: try certificate(.commit, h: b.height, v: 0, b.hash, signers: signers)))
            }
            return try step(.blocksReceived(certified, from: try pub(from)))
        case "state": return [state()]
        case "checks":
            guard let mode = args["mode"], mode == "auto" || mode == "manual" else { throw TranscriptError("mode=auto|manual") }
            answerChecks = mode == "auto"
            return []
        case "checked":
            // A runtime's answer, possibly stale: `checked block=B1 v=0 valid=yes [h=1]`.
            let block = try self.block(try one(args["block"]))
            let valid = try one(args["valid"]) == "yes"
            return try step(.proposalChecked(height: h, view: v, blockHash: block.hash, valid: valid))
        default: throw TranscriptError("unknown command \(verb)")
        }
    }

    mutating func setup(_ args: [String: String]) throws -> [String] {
        self = TranscriptHarness()
        let n = try Int(uint(args["n"] ?? "4"))
        me = args["me"] ?? "r0"
        if let t = args["timeout"], let m = args["max"] {
            config = ReplicaConfig(proposalTimeoutMs: try uint(t), maxProposalTimeoutMs: try uint(m),
                                   emptyBlockIntervalMs: 30000)
        }
        guard let set = keys.set((0..<n).map { "r\($0)" }) else { throw TranscriptError("bad n") }
        setNow = set
        setNext = set
        build(restoring: nil)
        return []
    }

    mutating func build(restoring: SigningState<TestBlock>?, abstainingAt: UInt64? = nil) {
        guard let signer = keys.signer(me), let setNow, let setNext else { return }
        let position = ChainPosition(height: chainHeight + 1, parentHash: parent,
                                     parentCertificate: nil, validators: setNow, nextValidators: setNext)
        replica = Replica(config: config, signer: signer, verifier: Ed25519SignatureVerifier(genesisHash: TestKeys.genesisHash),
                          position: position, restoring: restoring, abstainingThrough: abstainingAt)
        lastViewTimeout = nil
        lastHeartbeat = nil
    }

    mutating func restart() -> [String] {
        build(restoring: persisted)
        return ["(restarted \(me) from persisted signing state: \(persisted.map(render) ?? "none"))"]
    }

    /// A restart whose newest signing-state record is damaged: the one before it survives, and the
    /// node restores it and abstains at the next height (as `ConsensusDriver.makeReplica` does).
    mutating func restartDamaged() -> [String] {
        let survivor = persistedBefore?.height == chainHeight + 1 ? persistedBefore : nil
        build(restoring: survivor, abstainingAt: chainHeight + 1)
        return ["(restarted \(me) from the record before the damaged one: \(survivor.map(render) ?? "none"); "
                + "abstaining at h=\(chainHeight + 1))"]
    }

    /// A restart from a restored backup whose signing state is a fence above the chain (`totemd
    /// backup restore`): no record to resume, and no signing up to `through` (as
    /// `ConsensusDriver.makeReplica` does for a signing state above the stored chain).
    mutating func restartFenced(through: UInt64) throws -> [String] {
        build(restoring: nil, abstainingAt: through)
        return ["(restarted \(me) without a signing state to resume; abstaining through h=\(through))"]
    }

    mutating func applied(_ args: [String: String]) throws -> [String] {
        guard let (block, _) = lastCommit, let setNext else { throw TranscriptError("nothing committed") }
        let after = try args["next"].map { s -> ValidatorSet in
            guard let set = keys.set(try list(s)) else { throw TranscriptError("bad set \(s)") }
            return set
        } ?? setNext
        // The base rotation's view-0 leader as proposer: transcripts keep the base rotation.
        let a = AppliedBlock(height: block.height, blockHash: block.hash,
                             proposer: setNow?.leader(height: block.height, view: 0) ?? .zero, validatorsAtHeightPlus2: after,
                             workPending: args["work"] != "no")
        chainHeight = block.height
        parent = block.hash
        setNow = setNext
        self.setNext = after
        lastCommit = nil
        return try step(.blockApplied(a))
    }

    mutating func newView(_ args: [String: String], h: UInt64, v: UInt32, set: ValidatorSet) throws -> [String] {
        let from = try one(args["from"])
        let block = try self.block(try one(args["block"]))
        var locks: [String: QuorumCertificate] = [:]
        for item in try args["lock"].map({ try list($0) }) ?? [] {
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw TranscriptError("lock is name:block@view") }
            locks[parts[0]] = try lockCertificate(parts[1], h: h, set: set).0
        }
        var vcs = [ViewChange]()
        for name in try list(args["vcs"]) {
            var vc = try viewChange(by: name, h: h, v: v, lock: locks[name])
            if args["forge"] == name { vc.signature = Bytes64(high: vc.signature.low, low: vc.signature.high) }
            vcs.append(vc)
        }
        vcs.sort { $0.validator < $1.validator }
        let vote = try self.vote(.prepare, by: from, h: h, v: v, block.hash)
        guard let signer = keys.signer(from) else { throw TranscriptError("unknown \(from)") }
        let body = SigningBody.newView(height: h, view: v, blockHash: block.hash, signers: vcs.map(\.validator))
        let nv = NewView(viewChanges: vcs, proposal: Proposal(block: block, vote: vote),
                         signature: signer.sign(.consensus, body: body))
        return try deliver(.newView(nv), from: from)
    }

    // MARK: building signed messages

    func vote(_ phase: VotePhase, by name: String, h: UInt64, v: UInt32, _ hash: Bytes32) throws -> Vote {
        guard let s = keys.signer(name) else { throw TranscriptError("unknown validator \(name)") }
        let sig = s.sign(phase.domain, body: SigningBody.vote(height: h, view: v, blockHash: hash))
        return Vote(phase: phase, height: h, view: v, blockHash: hash, validator: s.publicKey, signature: sig)
    }

    func certificate(_ phase: VotePhase, h: UInt64, v: UInt32, _ hash: Bytes32, signers: [String]) throws -> QuorumCertificate {
        let sigs = try signers.map { n -> ValidatorSignature in
            let vt = try vote(phase, by: n, h: h, v: v, hash)
            return ValidatorSignature(validator: vt.validator, signature: vt.signature)
        }.sorted { $0.validator < $1.validator }
        return QuorumCertificate(phase: phase, height: h, view: v, blockHash: hash, signatures: sigs)
    }

    func forge(_ cert: inout QuorumCertificate, _ name: String) throws {
        let k = try pub(name)
        guard let i = cert.signatures.firstIndex(where: { $0.validator == k }) else { throw TranscriptError("\(name) did not sign") }
        let s = cert.signatures[i].signature
        cert.signatures[i].signature = Bytes64(high: s.low, low: s.high)
    }

    /// `B1@0`: a prepared certificate for block B1 in view 0, signed by the first q validators.
    mutating func lockCertificate(_ spec: String, h: UInt64, set: ValidatorSet) throws -> (QuorumCertificate, TestBlock) {
        let parts = spec.split(separator: "@").map(String.init)
        guard parts.count == 2 else { throw TranscriptError("lock is block@view") }
        let block = try self.block(parts[0])
        let signers = set.keys.prefix(set.quorum).map { keys.name(of: $0) }
        let cert = try certificate(.prepare, h: h, v: UInt32(try uint(parts[1])), block.hash, signers: signers)
        return (cert, block)
    }

    func viewChange(by name: String, h: UInt64, v: UInt32, lock: QuorumCertificate?) throws -> ViewChange {
        guard let s = keys.signer(name) else { throw TranscriptError("unknown validator \(name)") }
        let sig = s.sign(.consensus, body: SigningBody.viewChange(height: h, view: v, lock: lock))
        return ViewChange(height: h, view: v, lock: lock, validator: s.publicKey, signature: sig)
    }

    /// Blocks are named `<letters><height>`, a trailing `!` making them invalid; the parent is the
    /// chain head at the next height, else the same-letter block one height below.
    mutating func block(_ name: String) throws -> TestBlock {
        if let b = blocks[name] { return b }
        let valid = !name.hasSuffix("!")
        let core = valid ? name : String(name.dropLast())
        let letters = core.prefix { $0.isLetter }
        guard let height = UInt64(core.dropFirst(letters.count)), !letters.isEmpty else {
            throw TranscriptError("block names look like B1 or X2!")
        }
        let parentHash: Bytes32
        if height == chainHeight + 1 {
            parentHash = parent
        } else if height > chainHeight + 1 {
            parentHash = try block("\(letters)\(height - 1)").hash
        } else {
            throw TranscriptError("block \(name) is below the chain head")
        }
        let label = name.utf8.reduce(UInt64(14695981039346656037)) { ($0 ^ UInt64($1)) &* 1099511628211 }
        let b = TestBlock(height: height, parentHash: parentHash, label: label, valid: valid)
        blocks[name] = b
        blockNames[b.hash] = name
        return b
    }

    // MARK: stepping and rendering

    func pub(_ name: String) throws -> Bytes32 {
        guard let k = keys.key(name) else { throw TranscriptError("unknown validator \(name)") }
        return k.publicKey
    }

    mutating func deliver(_ m: Message<TestBlock>, from: String) throws -> [String] {
        try step(.message(m, from: try pub(from), nowMs: nowMs))
    }

    /// Steps the replica and renders its actions. A `checkProposal` is answered at once with the
    /// test block's validity bit (the runtime's check), and the answer's actions follow its line.
    mutating func step(_ e: Event<TestBlock>) throws -> [String] {
        guard var r = replica else { throw TranscriptError("setup first") }
        let actions = r.step(e)
        replica = r
        var out = [String]()
        for a in actions {
            try checkPersistedBefore(a)
            out.append(render(a))
            switch a {
            case let .persistSigningState(s):
                persistedBefore = persisted
                persisted = s
            case let .scheduleTimeout(t, _): if t.kind == .view { lastViewTimeout = t } else { lastHeartbeat = t }
            case let .commit(b, c): lastCommit = (b, c)
            case let .checkProposal(b, v, _, _) where answerChecks:
                out += try step(.proposalChecked(height: b.height, view: v, blockHash: b.hash, valid: b.valid))
            default: break
            }
        }
        return out
    }

    /// The action-order contract: a vote, view change or proposal of this replica leaves only after
    /// a signing state covering it was persisted.
    func checkPersistedBefore(_ a: Action<TestBlock>) throws {
        let m: Message<TestBlock>
        switch a {
        case let .broadcast(x), let .send(x, _): m = x
        default: return
        }
        let p = persisted
        func covered(_ vote: Vote) -> Bool {
            (p?.covers(vote) ?? false) && (vote.phase == .prepare || p?.lock?.certificate.blockHash == vote.blockHash)
        }
        let ok: Bool
        switch m {
        case let .vote(v): ok = covered(v)
        case let .proposal(pr): ok = covered(pr.vote)
        case let .newView(nv): ok = covered(nv.proposal.vote)
        case let .viewChange(vc, _): ok = p?.height == vc.height && (p?.view ?? 0) >= vc.view
            && p?.lock?.certificate.view == vc.lock?.view
        case .certificate: ok = true
        }
        if !ok { throw TranscriptError("sent before persisting: \(render(a))") }
    }

    func name(_ hash: Bytes32) -> String { blockNames[hash] ?? "#" + hash.hex.prefix(8) }
    func names(_ sigs: [ValidatorSignature]) -> String { sigs.map { keys.name(of: $0.validator) }.joined(separator: ",") }

    func render(_ s: SigningState<TestBlock>) -> String {
        func slot(_ x: SignedSlot?) -> String { x.map { "\(name($0.blockHash))@\($0.view)" } ?? "-" }
        let lock = s.lock.map { "\(name($0.certificate.blockHash))@\($0.certificate.view)" } ?? "-"
        return "h=\(s.height) v=\(s.view) prepare=\(slot(s.prepare)) commit=\(slot(s.commit)) lock=\(lock)"
    }

    func render(_ m: Message<TestBlock>) -> String {
        switch m {
        case let .proposal(p): return "proposal h=\(p.vote.height) v=\(p.vote.view) \(name(p.block.hash)) by \(keys.name(of: p.vote.validator))"
        case let .vote(v):
            return "\(v.phase == .prepare ? "prepare" : "commit") h=\(v.height) v=\(v.view) \(name(v.blockHash)) by \(keys.name(of: v.validator))"
        case let .viewChange(vc, b):
            let lock = vc.lock.map { " lock=\(name($0.blockHash))@\($0.view)" + (b == nil ? "(no block)" : "") } ?? ""
            return "viewchange h=\(vc.height) v=\(vc.view) by \(keys.name(of: vc.validator))\(lock)"
        case let .newView(nv):
            let vcs = nv.viewChanges.map { keys.name(of: $0.validator) }.joined(separator: ",")
            return "newview h=\(nv.height) v=\(nv.view) \(name(nv.proposal.block.hash)) by \(keys.name(of: nv.leader)) vcs=\(vcs)"
        case let .certificate(c): return "certificate h=\(c.height) v=\(c.view) \(name(c.blockHash)) signers=\(names(c.signatures))"
        }
    }

    func render(_ a: Action<TestBlock>) -> String {
        switch a {
        case let .persistSigningState(s): return "persist " + render(s)
        case let .broadcast(m): return "broadcast " + render(m)
        case let .send(m, to): return "send \(render(m)) to=\(keys.name(of: to))"
        case let .scheduleTimeout(t, after):
            return t.kind == .view ? "timer view h=\(t.height) v=\(t.view) after=\(after)ms" : "timer heartbeat h=\(t.height) after=\(after)ms"
        case let .requestProposal(h, v, _): return "request-proposal h=\(h) v=\(v)"
        case let .checkProposal(b, v, reproposal, _):
            let answer = answerChecks ? " -> \(b.valid ? "valid" : "invalid")" : ""
            return "check-proposal h=\(b.height) v=\(v) \(name(b.hash))\(reproposal ? " reproposal" : "")\(answer)"
        case let .commit(b, c): return "commit h=\(b.height) \(name(b.hash)) v=\(c.view) signers=\(names(c.signatures))"
        case let .requestBlocks(from, seen, peer): return "request-blocks from=\(from) seen=\(seen) peer=\(keys.name(of: peer))"
        case let .reportEvidence(e):
            return "evidence \(e.phase == .prepare ? "prepare" : "commit") \(keys.name(of: e.validator)) h=\(e.height) v=\(e.view) \(name(e.blockHashA)) \(name(e.blockHashB))"
        }
    }

    func state() -> String {
        guard let r = replica else { return "state none" }
        let lock = r.lock.map { "\(name($0.certificate.blockHash))@\($0.certificate.view)" } ?? "-"
        return "state h=\(r.height) v=\(r.view) lock=\(lock) decided=\(r.isDecided) evidence=\(r.evidence.count)"
    }

    func uint(_ s: String) throws -> UInt64 {
        guard let x = UInt64(s) else { throw TranscriptError("not a number: \(s)") }
        return x
    }
    func one(_ s: String?) throws -> String {
        guard let s else { throw TranscriptError("missing argument") }
        return s
    }
    func list(_ s: String?) throws -> [String] { try one(s).split(separator: ",").map(String.init) }
}
