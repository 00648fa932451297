import ChainModel
import TotemCrypto

/// What a node is to its peers, as it says in its Status.
public enum PeerRole: UInt8, Sendable, Hashable, CustomStringConvertible {
    case validator = 1
    case observer = 2

    public var description: String { self == .validator ? "validator" : "observer" }
}

/// Why a side closes a connection on purpose (sent in `disconnect`).
public enum DisconnectReason: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// The node is shutting down.
    case shutdown = 1
    /// Another connection with this peer won the tie-break.
    case duplicate = 2
    /// The peer is no longer in the allow-list.
    case notAllowed = 3
    /// The peer broke the protocol (bad message, limits).
    case misbehaving = 4
    /// The peer did not drain its outbound queue.
    case tooSlow = 5

    public var description: String {
        switch self {
        case .shutdown: "shutdown"
        case .duplicate: "duplicate connection"
        case .notAllowed: "not allowed"
        case .misbehaving: "misbehaving"
        case .tooSlow: "too slow"
        }
    }
}

/// The messages of an established session, one per encrypted frame (docs/p2p.md, "Messages").
/// `tag:u8 | body` in TCE; every list and byte string has a limit in `P2PLimits`.
public enum Message: Sendable, Equatable {
    /// `height:u64 | role:u8`: the sender's committed height and role; the first message each way.
    case status(height: UInt64, role: PeerRole)
    /// `txs:list<bytes>` (1 to `txBatchMaxCount`, each a SignedTx of at most 65,536 bytes).
    case txBatch([[UInt8]])
    /// `payload:bytes`: opaque to P2P; the consensus module defines its contents.
    case consensus([UInt8])
    /// `fromHeight:u64 | count:u32` (1 to `blockRequestMaxCount`).
    case blockRequest(fromHeight: UInt64, count: UInt32)
    /// `fromHeight:u64 | blocks:list<bytes>` (0 to `blockResponseMaxCount`): opaque blocks with
    /// their certificates, as the chain module encodes them; empty when the sender has none.
    case blockResponse(fromHeight: UInt64, blocks: [[UInt8]])
    /// `nonce:u64`
    case ping(UInt64)
    /// `nonce:u64`, echoing a ping.
    case pong(UInt64)
    /// `reason:u8`: the sender closes the connection after this.
    case disconnect(DisconnectReason)
    /// `payload:bytes` (at most `checkpointVoteMaxBytes`): a validator's signature on a checkpoint,
    /// as the node encodes it (docs/state-sync.md); opaque here.
    case checkpointVote([UInt8])
    /// `height:u64`: asks the peer for its certified snapshot of `height` if it holds one, else its
    /// newest (0: the newest): a node resuming a state sync asks for the checkpoint it began.
    case snapshotQuery(height: UInt64)
    /// `payload:bytes` (at most `snapshotOfferMaxBytes`): the answer to `snapshotQuery`, opaque
    /// here (the checkpoint certificate and the proofs that let a node check it from genesis);
    /// empty when the sender has none.
    case snapshotOffer([UInt8])
    /// `height:u64 | index:u32`: asks for one chunk of the snapshot of `height`.
    case chunkRequest(height: UInt64, index: UInt32)
    /// `height:u64 | index:u32 | payload:bytes` (at most `chunkResponseMaxBytes`): the chunk with
    /// its audit path, opaque here; empty when the sender does not hold it.
    case chunkResponse(height: UInt64, index: UInt32, payload: [UInt8])

    public enum Tag: UInt8, Sendable {
        case status = 1, txBatch = 2, consensus = 3, blockRequest = 4, blockResponse = 5
        case ping = 6, pong = 7, disconnect = 8
        case checkpointVote = 9, snapshotQuery = 10, snapshotOffer = 11, chunkRequest = 12, chunkResponse = 13
    }

    public var tag: Tag {
        switch self {
        case .status: .status
        case .txBatch: .txBatch
        case .consensus: .consensus
        case .blockRequest: .blockRequest
        case .blockResponse: .blockResponse
        case .ping: .ping
        case .pong: .pong
        case .disconnect: .disconnect
        case .checkpointVote: .checkpointVote
        case .snapshotQuery: .snapshotQuery
        case .snapshotOffer: .snapshotOffer
        case .chunkRequest: .chunkRequest
        case .chunkResponse: .chunkResponse
        }
    }

    public func encode(to w: inout TCEWriter) {
        w.u8(tag.rawValue)
        switch self {
        case .status(let height, let role): w.u64(height); w.u8(role.rawValue)
        case .txBatch(let txs): w.list(txs) { $0.varBytes($1) }
        case .consensus(let payload): w.varBytes(payload)
        case .blockRequest(let from, let count): w.u64(from); w.u32(count)
        case .blockResponse(let from, let blocks): w.u64(from); w.list(blocks) { $0.varBytes($1) }
        case .ping(let n), .pong(let n): w.u64(n)
        case .disconnect(let reason): w.u8(reason.rawValue)
        case .checkpointVote(let payload), .snapshotOffer(let payload): w.varBytes(payload)
        case .snapshotQuery(let height): w.u64(height)
        case .chunkRequest(let height, let index): w.u64(height); w.u32(index)
        case .chunkResponse(let height, let index, let payload): w.u64(height); w.u32(index); w.varBytes(payload)
        }
    }

    public var encoded: [UInt8] {
        var w = TCEWriter(capacity: encodedSizeHint)
        encode(to: &w)
        return w.bytes
    }

    private var encodedSizeHint: Int {
        switch self {
        case .txBatch(let txs): 5 + txs.reduce(0) { $0 + 4 + $1.count }
        case .consensus(let p): 5 + p.count
        case .blockResponse(_, let blocks): 13 + blocks.reduce(0) { $0 + 4 + $1.count }
        case .checkpointVote(let p), .snapshotOffer(let p): 5 + p.count
        case .chunkResponse(_, _, let p): 17 + p.count
        default: 16
        }
    }

    /// Decodes one message; any error is a protocol violation by the peer.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Message {
        var r = TCEReader(bytes)
        guard let tag = Tag(rawValue: try r.u8("tag")) else { throw DecodeError(.enum, field: "tag") }
        let message: Message
        switch tag {
        case .status:
            let height = try r.u64("height")
            guard let role = PeerRole(rawValue: try r.u8("role")) else { throw DecodeError(.enum, field: "role") }
            message = .status(height: height, role: role)
        case .txBatch:
            let txs = try r.list(counts: 1...P2PLimits.txBatchMaxCount, "txs") {
                (r: inout TCEReader, i: Int) throws(DecodeError) in
                try r.varBytes(maxBytes: Limits.signedTxMaxBytes, "txs[\(i)]")
            }
            message = .txBatch(txs)
        case .consensus:
            message = .consensus(try r.varBytes(maxBytes: P2PLimits.consensusMessageMaxBytes, "payload"))
        case .blockRequest:
            let from = try r.u64("fromHeight")
            let count = try r.u32("count")
            guard (1...P2PLimits.blockRequestMaxCount).contains(count) else { throw DecodeError(.limit, field: "count") }
            message = .blockRequest(fromHeight: from, count: count)
        case .blockResponse:
            let from = try r.u64("fromHeight")
            let blocks = try r.list(counts: 0...P2PLimits.blockResponseMaxCount, "blocks") {
                (r: inout TCEReader, i: Int) throws(DecodeError) in
                try r.varBytes(maxBytes: P2PLimits.blockResponseItemMaxBytes, "blocks[\(i)]")
            }
            message = .blockResponse(fromHeight: from, blocks: blocks)
        case .ping: message = .ping(try r.u64("nonce"))
        case .pong: message = .pong(try r.u64("nonce"))
        case .disconnect:
            guard let reason = DisconnectReason(rawValue: try r.u8("reason")) else {
                throw DecodeError(.enum, field: "reason")
            }
            message = .disconnect(reason)
        case .checkpointVote:
            message = .checkpointVote(try r.varBytes(maxBytes: P2PLimits.checkpointVoteMaxBytes, "payload"))
        case .snapshotQuery:
            message = .snapshotQuery(height: try r.u64("height"))
        case .snapshotOffer:
            message = .snapshotOffer(try r.varBytes(maxBytes: P2PLimits.snapshotOfferMaxBytes, "payload"))
        case .chunkRequest:
            message = .chunkRequest(height: try r.u64("height"), index: try r.u32("index"))
        case .chunkResponse:
            let height = try r.u64("height")
            let index = try r.u32("index")
            message = .chunkResponse(height: height, index: index,
                                     payload: try r.varBytes(maxBytes: P2PLimits.chunkResponseMaxBytes, "payload"))
        }
        try r.finish()
        return message
    }
}
