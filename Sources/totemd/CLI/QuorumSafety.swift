import ChainModel
import TotemCrypto

/// The check `totemd validator vote` and `totemd tx validator-change` make before they vote
/// (`QuorumCheckOptions`): would the validator set after the change still have a quorum of live
/// validators? A change that leaves fewer than `q'` live stops
/// the chain the moment it is in force (nothing commits until enough of them come back), so the
/// vote is refused with the counts and who is not live, unless the operator forces it.
///
/// Liveness is what the voting node knows (`GET /v1/validators`): a validator is live when it is
/// this node, or when this node has a P2P link to it *and* it signed within the last `window`
/// heights (its commit in a stored certificate, or a vote it sent this node). Both, because either
/// alone misleads: a validator killed a moment ago still has recent signatures, and a connected
/// one may not be voting (a stuck or abstaining node). Votes count besides certificates because a
/// certificate holds only the first `q` commits this node had: a live validator farther away than
/// the others may be in none of them.
enum QuorumSafety {
    /// One validator as the voting node sees it.
    struct Member: Sendable, Equatable {
        var key: Bytes32
        var name: String
        /// The highest recent height whose certificate carries its commit, if any.
        var lastSignedHeight: UInt64?
        /// The highest height of a vote it sent the voting node, if any (late commits included,
        /// which no certificate of that node holds).
        var lastVoteHeight: UInt64? = nil
        /// Whether the voting node has a P2P link to it (ignored for `isSelf`).
        var connected: Bool
        /// The voting node itself: live, since it is the one answering.
        var isSelf: Bool = false
    }

    enum Change: Sendable, Equatable {
        /// Add `key` (named `name`); `reachable`: the voting node has a P2P link to the candidate's
        /// node, the one sign of life a validator not yet voting can give.
        case add(key: Bytes32, name: String, reachable: Bool)
        case remove(key: Bytes32)
    }

    struct Verdict: Sendable, Equatable {
        /// Validators after the change, the quorum they need, and how many of them are live.
        let countAfter: Int
        let quorumAfter: Int
        let liveAfter: Int
        /// One line: the counts, who is live and who is not, and why.
        let explanation: String
        var safe: Bool { liveAfter >= quorumAfter }
    }

    /// Why a member is not live, or nil when it is.
    static func notLive(_ m: Member, tipHeight: UInt64, window: UInt64) -> String? {
        if m.isSelf { return nil }
        let last = [m.lastSignedHeight, m.lastVoteHeight].compactMap { $0 }.max()
        let recent = last.map { tipHeight < window || $0 > tipHeight - window } ?? false
        let signed = last.map { "silent since height \($0)" } ?? "no commit or vote in the heights this node read"
        switch (m.connected, recent) {
        case (true, true): return nil
        case (true, false): return signed
        case (false, true): return "not connected to this node"
        case (false, false): return "\(signed), not connected to this node"
        }
    }

    /// Judges `change` to `members` (the set in force) at `tipHeight`, liveness over the last
    /// `window` heights.
    static func judge(_ change: Change, members: [Member], tipHeight: UInt64, window: UInt64) -> Verdict {
        var after = members
        var candidate: (name: String, live: Bool)?
        let verb: String
        switch change {
        case .add(let key, let name, let reachable):
            verb = "adding \(name)"
            if !after.contains(where: { $0.key == key }) { candidate = (name, reachable) }
        case .remove(let key):
            let name = members.first { $0.key == key }?.name ?? String(key.hex.prefix(16))
            verb = "removing \(name)"
            after.removeAll { $0.key == key }
        }
        var live: [String] = [], selfName: String?, dead: [String] = []
        for m in after {
            if m.isSelf { selfName = m.name; continue }
            if let why = notLive(m, tipHeight: tipHeight, window: window) { dead.append("\(m.name) \(why)") } else { live.append(m.name) }
        }
        var candidateLive: String?
        if let c = candidate {
            if c.live { candidateLive = "\(c.name) (the candidate) connected" } else { dead.append("\(c.name) (the candidate) not connected to this node") }
        }
        let count = after.count + (candidate == nil ? 0 : 1)
        let quorum = ValidatorSet.quorum(of: count)
        let liveCount = live.count + (selfName == nil ? 0 : 1) + (candidateLive == nil ? 0 : 1)
        var parts: [String] = []
        if let selfName { parts.append("\(selfName) (this node)") }
        if !live.isEmpty { parts.append("\(live.joined(separator: ", ")) signed in the last \(window) heights") }
        if let candidateLive { parts.append(candidateLive) }
        var text = "after \(verb), \(count) validators need \(quorum) live for a quorum; \(liveCount) "
            + "\(liveCount == 1 ? "is" : "are") live"
        if !parts.isEmpty { text += " (\(parts.joined(separator: "; ")))" }
        if !dead.isEmpty { text += "; not live: \(dead.joined(separator: "; "))" }
        return Verdict(countAfter: count, quorumAfter: quorum, liveAfter: liveCount, explanation: text)
    }

    /// What a voting command does with a verdict: the line it prints before voting (`ok`, or
    /// `warn` when only `force` lets an unsafe change through), or the refusal it fails with.
    static func gate(_ verdict: Verdict, force: Bool) throws(CommandFailure) -> String {
        if verdict.safe { return "ok    quorum    \(verdict.explanation)" }
        guard force else {
            throw CommandFailure("refused: \(verdict.explanation). Bring validators back first, or vote with --force")
        }
        return "warn  quorum    \(verdict.explanation); voting anyway (--force)"
    }
}
