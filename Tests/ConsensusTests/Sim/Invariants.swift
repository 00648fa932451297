import TotemCrypto
@testable import Consensus

/// The safety invariants, checked as each action of an honest replica is performed.
extension Simulator {
    /// Agreement and validity: one block per height across honest replicas, each extending the
    /// replica's chain, valid, and carrying a commit certificate of q valid signatures.
    mutating func checkCommit(_ i: Int, _ block: TestBlock, _ cert: QuorumCertificate) {
        log("r\(i) COMMIT h=\(block.height) \(short(block.hash)) v=\(cert.view)")
        guard nodes[i].isHonest else { return }
        let h = block.height
        if h != UInt64(nodes[i].chain.count + 1) || block.parentHash != nodes[i].head {
            violation = "r\(i) committed h=\(h) not extending its chain of \(nodes[i].chain.count)"
        } else if !block.valid {
            violation = "r\(i) committed an invalid block at h=\(h)"
        } else if cert.phase != .commit || cert.height != h || cert.blockHash != block.hash
                    || !cert.verify(against: validators(at: h), verifier) {
            violation = "r\(i) committed h=\(h) without a valid commit certificate"
        } else if let other = decided[h], other != block.hash {
            violation = "agreement: r\(i) committed \(short(block.hash)) at h=\(h), another honest replica \(short(other))"
        } else if let broken = checkTime(block, parentTimeMs: parentTimeMs(i)) {
            violation = "r\(i) committed h=\(h) \(short(block.hash)): \(broken)"
        } else {
            decided[h] = block.hash
        }
    }

    /// PROTOCOL.md's certificate-time guarantee, with clocks: a committed block's time is after its
    /// parent's, and at least q - b - c honest validators with a correct clock prepared it after
    /// checking its time against that clock (or, its proposer, building it from that clock), within
    /// `maxClockDriftMs`, where b validators of the set are Byzantine and c honest ones have a clock
    /// beyond the bound: so q - f of them while at most f validators are faulty.
    func checkTime(_ block: TestBlock, parentTimeMs: UInt64) -> String? {
        guard options.faults.clocks else { return nil }
        if block.timestampMs <= parentTimeMs { return "its time \(block.timestampMs) is not after its parent's \(parentTimeMs)" }
        let set = validators(at: block.height)
        let members = nodes.indices.filter { set.index(of: everyone.keys[$0]) != nil }
        let faulty = members.filter { !nodes[$0].isHonest || nodes[$0].farClock }.count
        let checkers = (timeCheckedBy[block.hash] ?? []).filter { set.index(of: everyone.keys[$0]) != nil && !nodes[$0].farClock }
        guard checkers.count >= set.quorum - faulty else {
            return "its time \(block.timestampMs) was checked by the correct clocks of \(checkers.sorted()) only, "
                + "wanted \(set.quorum - faulty) (q - \(faulty) Byzantine or far off)"
        }
        return nil
    }

    /// No honest replica double-signs, and none sends a vote its persisted signing state does not
    /// cover (the persist-before-send contract, across crashes).
    mutating func checkOutgoing(_ i: Int, _ m: Message<TestBlock>) {
        guard nodes[i].isHonest else { return }
        let own = nodes[i].signer.publicKey
        var votes = [Vote]()
        switch m {
        case let .vote(v): votes = [v]
        case let .proposal(p): votes = [p.vote]
        case let .newView(nv): votes = [nv.proposal.vote]
        case let .viewChange(vc, _):
            if options.checkPersistCover, vc.validator == own, (nodes[i].persisted?.view ?? 0) < vc.view || nodes[i].persisted?.height != vc.height {
                violation = "r\(i) sent a view change for v=\(vc.view) before persisting that view"
            }
        case .certificate: break
        }
        for v in votes where v.validator == own {
            let key = SlotKey(validator: i, height: v.height, view: v.view, phase: v.phase)
            if let earlier = signedVotes[key], earlier != v.blockHash {
                violation = "r\(i) double-signed \(v.phase) at h=\(v.height) v=\(v.view): \(short(earlier)) and \(short(v.blockHash))"
                return
            }
            signedVotes[key] = v.blockHash
            if v.phase == .prepare, timeChecks.contains(TimeCheck(node: i, block: v.blockHash)) {
                timeCheckedBy[v.blockHash, default: []].insert(i)
            }
            guard options.checkPersistCover else { continue }
            if !(nodes[i].persisted?.covers(v) ?? false) {
                violation = "r\(i) sent \(v.phase) h=\(v.height) v=\(v.view) before persisting it"
            }
        }
    }

    func short(_ h: Bytes32) -> String { String(h.hex.prefix(6)) }

    func render(_ m: Message<TestBlock>) -> String {
        switch m {
        case let .proposal(p): "proposal h=\(p.vote.height) v=\(p.vote.view) \(short(p.block.hash)) by \(name(p.vote.validator))"
        case let .vote(v): "\(v.phase) h=\(v.height) v=\(v.view) \(short(v.blockHash)) by \(name(v.validator))"
        case let .viewChange(vc, _):
            "viewchange h=\(vc.height) v=\(vc.view) by \(name(vc.validator))"
                + (vc.lock.map { " lock=\(short($0.blockHash))@\($0.view)" } ?? "")
        case let .newView(nv):
            "newview h=\(nv.height) v=\(nv.view) \(short(nv.proposal.block.hash)) by \(name(nv.leader)) vcs=\(nv.viewChanges.map { name($0.validator) })"
        case let .certificate(c): "certificate h=\(c.height) v=\(c.view) \(short(c.blockHash))"
        }
    }
}
