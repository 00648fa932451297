import ChainModel
import ChainState
import TotemCrypto

/// The events of `GET /v1/events` (docs/openapi.yaml): what one committed block tells a follower,
/// derived from the block alone (and the validator set it adopted), so every node gives the same
/// events with the same ids for the same chain, but for the block event's `signers` and
/// `commitView`, which come from the commit certificate this node holds.
///
/// Event ids are `<height>:<seq>`: `seq` 0 is the block itself, then 1, 2, … for the block's
/// transactions' events in block order (a RegisterWorkBatch gives one per item). A client that
/// reconnects with `Last-Event-ID` resumes right after the event it last saw.
struct ChainEvent: Sendable, Equatable {
    let height: UInt64
    let seq: Int
    /// The SSE `event:` field.
    let type: String
    let data: JSONValue

    var id: EventPosition { EventPosition(height: height, seq: seq) }

    /// One SSE message: `id:`, `event:`, one `data:` line (the JSON writer emits no newline).
    var sse: [UInt8] {
        var out = Array("id: \(height):\(seq)\nevent: \(type)\ndata: ".utf8)
        out += JSONWriter.write(data)
        out += Array("\n\n".utf8)
        return out
    }

    /// Every event of `block`, in order. `adopted` is the validator set the block adopted (in
    /// force from `height + 2`), if it adopted one.
    static func events(of block: Block, commit: CommitCertificate, adopted: ValidatorSet?) -> [ChainEvent] {
        let height = block.height
        var out: [ChainEvent] = []
        func add(_ type: String, _ members: [(key: String, value: JSONValue)]) {
            out.append(ChainEvent(height: height, seq: out.count, type: type,
                                  data: .object([("height", .integer(height))] + members)))
        }
        let header = block.header
        add("block", [("blockHash", h(block.hash)), ("timestampMs", .integer(header.timestampMs)),
                      ("txCount", .integer(UInt64(header.txCount))), ("proposer", h(header.proposer)),
                      ("view", .integer(UInt64(header.view))), ("commitView", .integer(UInt64(commit.view))),
                      ("signers", .array(commit.signatures.map { h($0.validator) }))])
        for tx in block.txs {
            let t = tx.tx, txHash = ("txHash", h(tx.hash))
            func registration(_ w: Work, batchIndex: Int?) {
                var members: [(key: String, value: JSONValue)] = [txHash, ("contentHash", h(w.contentHash)),
                                                                  ("registrant", h(t.sender)), ("title", .string(w.title))]
                if let batchIndex { members.append(("batchIndex", .integer(UInt64(batchIndex)))) }
                add("registration", members)
            }
            switch t.payload {
            case .registerWork(let w):
                registration(w, batchIndex: nil)
            case .registerWorkBatch(let works):
                for (i, w) in works.enumerated() { registration(w, batchIndex: i) }
            case .transferWork(let x):
                add("transfer", [txHash, ("contentHash", h(x.contentHash)), ("from", h(t.sender)), ("to", h(x.newOwner))])
            case .grantLicense(let x):
                add("licence", [txHash, ("contentHash", h(x.contentHash)), ("grantor", h(t.sender)),
                                ("licensee", h(x.licensee)), ("validUntilMs", .integer(x.validUntilMs))])
            case .fileClaim(let x):
                add("claim", [txHash, ("contentHash", h(x.contentHash)), ("claimant", h(t.sender))])
            case .validatorChange(let x):
                add("validatorChange", [txHash, ("sender", h(t.sender)), ("op", .string(x.op == .add ? "add" : "remove")),
                                        ("validator", h(x.validator)), ("name", .string(x.name))])
            case .submitEvidence(let x):
                add("evidence", [txHash, ("validator", h(x.validator)), ("phase", .string(x.phase == .prepare ? "prepare" : "commit")),
                                 ("evidenceHeight", .integer(x.height)), ("view", .integer(UInt64(x.view)))])
            case .registerIdentity(let x):
                add("identity", [txHash, ("kind", .string(t.kind.name)), ("subject", h(x.subject))])
            case .revokeIdentity(let x):
                add("identity", [txHash, ("kind", .string(t.kind.name)), ("subject", h(x.subject))])
            case .addRegistrar(let x):
                add("identity", [txHash, ("kind", .string(t.kind.name)), ("subject", h(x.subject))])
            case .removeRegistrar(let subject):
                add("identity", [txHash, ("kind", .string(t.kind.name)), ("subject", h(subject))])
            }
        }
        if let adopted {
            add("validatorSet", [("fromHeight", .integer(height + 2)), ("validators", .array(adopted.keys.map(h)))])
        }
        return out
    }

    private static func h(_ v: Bytes32) -> JSONValue { .string(v.hex) }
}

/// Where a follower of the event stream is: the next event it wants is the first one after
/// `(height, seq)` in stream order.
struct EventPosition: Sendable, Equatable, Comparable {
    let height: UInt64
    let seq: Int

    static func < (a: EventPosition, b: EventPosition) -> Bool {
        (a.height, a.seq) < (b.height, b.seq)
    }

    /// Parses an event id, `<height>:<seq>` in decimal digits (what `Last-Event-ID` carries).
    init?(id text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 20 && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }),
              let height = UInt64(parts[0]), height >= 1, let seq = Int(parts[1]) else { return nil }
        self.init(height: height, seq: seq)
    }

    init(height: UInt64, seq: Int) {
        self.height = height
        self.seq = seq
    }
}
