import ChainModel
import ChainState
import Hummingbird
import P2P
import TotemCrypto

extension APIServer {
    /// `GET /v1/validators`: the set in force at the next height, adopted sets after it, every set
    /// since genesis (`history`, keys only, oldest first), the open tallies of validator changes
    /// (`pending`), and what this node knows of each validator in force: the last height whose
    /// stored certificate carries its commit (`lastSignedHeight`, from the heights in
    /// `participation`), the highest height of a vote it sent this node over their link since
    /// this node started (`lastVoteHeight`), and whether it has a P2P link to it (`connected`; not
    /// said of itself). `totemd validator vote` judges liveness from these
    /// (docs/ops/validator-changes.md).
    func validators() throws -> Response {
        let v = try queries.validators()
        let height = v.nextHeight
        func members(_ e: ValidatorEpoch) -> JSONValue {
            .array(e.members.map { .object([("publicKey", Self.h($0.key)), ("name", .string($0.name)),
                                             ("p2pAddress", .string($0.p2pAddress))]) })
        }
        let inForce = v.record.inForce(at: height)
        let later = v.record.epochs.filter { $0.fromHeight > height }
        let history: [JSONValue] = try queries.validatorHistory().map { e in
            .object([("fromHeight", Self.u(e.fromHeight)), ("validators", .array(e.set.keys.map(Self.h)))])
        }
        let peers = Set(node.network.peers().map(\.key))
        let own = node.key.publicKey
        let votes = node.driver.lastVoteHeights
        let live: [JSONValue] = inForce.members.map { m in
            var fields: [(key: String, value: JSONValue)] = [("publicKey", Self.h(m.key)), ("name", .string(m.name)),
                                                             ("p2pAddress", .string(m.p2pAddress))]
            if let signed = v.lastSigned[m.key] { fields.append(("lastSignedHeight", Self.u(signed))) }
            if let voted = votes[m.key] { fields.append(("lastVoteHeight", Self.u(voted))) }
            if m.key == own { fields.append(("self", .bool(true))) } else { fields.append(("connected", .bool(peers.contains(m.key)))) }
            return .object(fields)
        }
        var out: [(key: String, value: JSONValue)] = [
            ("height", Self.u(height)), ("validators", .array(live)),
            ("quorum", Self.u(UInt64(inForce.set.quorum))),
            ("adopted", .array(later.map { .object([("fromHeight", Self.u($0.fromHeight)), ("validators", members($0))]) })),
            ("history", .array(history)),
            ("pending", .array(v.tallies.map(Self.tallyJSON))),
        ]
        if let scanned = v.scanned {
            out.append(("participation", .object([("fromHeight", Self.u(scanned.lowerBound)),
                                                  ("toHeight", Self.u(scanned.upperBound))])))
        }
        return JSONResponse.make(.object(out))
    }

    static func tallyJSON(_ t: ValidatorTally) -> JSONValue {
        .object([("op", .string(t.op == .add ? "add" : "remove")), ("validator", h(t.validator)),
                 ("name", .string(t.name)), ("p2pAddress", .string(t.p2pAddress)),
                 ("firstHeight", u(t.firstHeight)), ("voters", .array(t.voters.map(h)))])
    }

    /// `GET /v1/peers`: the peers this node has a P2P link to, by key (at most `p2p.max_peers`):
    /// their role, committed height and who dialled. Remote addresses are not shown (the API may be
    /// public; a validator's address is on chain, an observer's is its own business).
    func peers() -> Response {
        let (inForce, _) = node.chain.validatorKeys()
        let items: [JSONValue] = node.network.peers().map { p in
            .object([("publicKey", Self.h(p.key)), ("role", .string(p.role.description)), ("height", Self.u(p.height)),
                     ("direction", .string(p.direction == .inbound ? "inbound" : "outbound")),
                     ("validator", .bool(inForce.contains(p.key)))])
        }
        return JSONResponse.make(.object([("nodeKey", Self.h(node.key.publicKey)), ("peers", .array(items))]))
    }
}
