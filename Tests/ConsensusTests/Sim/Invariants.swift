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
        } else {
            decided[h] = block.hash
        }
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
            if vc.validator == own, (nodes[i].persisted?.view ?? 0) < vc.view || nodes[i].persisted?.height != vc.height {
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
            let p = nodes[i].persisted
            let slot = v.phase == .prepare ? p?.prepare : p?.commit
            if p?.height != v.height || slot != SignedSlot(view: v.view, blockHash: v.blockHash) {
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
