import ChainModel
import NIOCore
import NIOPosix
import P2PWire
import TotemCrypto

/// Decides which transactions received from peers enter this node (the mempool's admission, in
/// `ChainState`), and so which are forwarded. P2P calls it once per received batch, with only the
/// transactions this node has not seen before (within its seen-cache), in the order received.
public protocol TxAdmission: Sendable {
    /// Returns the transactions admitted, which P2P then forwards to the peers not known to have them.
    func admit(_ txs: [SignedTx], from peer: Bytes32) async -> [SignedTx]
}

/// The node keys allowed to connect: validators of the set in force, of an adopted set not yet in
/// force, and observers allowed by configuration. Changed with `P2PNode.setAllowList`.
public struct AllowList: Sendable, Hashable {
    public var validatorsInForce: Set<Bytes32>
    public var validatorsAdopted: Set<Bytes32>
    public var observers: Set<Bytes32>

    public init(validatorsInForce: Set<Bytes32>, validatorsAdopted: Set<Bytes32> = [], observers: Set<Bytes32> = []) {
        self.validatorsInForce = validatorsInForce
        self.validatorsAdopted = validatorsAdopted
        self.observers = observers
    }

    public func contains(_ key: Bytes32) -> Bool {
        validatorsInForce.contains(key) || validatorsAdopted.contains(key) || observers.contains(key)
    }

    public var all: Set<Bytes32> { validatorsInForce.union(validatorsAdopted).union(observers) }
}

/// A connected peer as the node sees it.
public struct PeerInfo: Sendable, Hashable, CustomStringConvertible {
    public var key: Bytes32
    public var connection: ConnectionID
    public var direction: ConnectionDirection
    /// The remote socket address.
    public var remote: String
    /// The peer's committed height, from its latest Status.
    public var height: UInt64
    public var role: PeerRole
    /// Transactions dropped for this peer because its outbound queue was full.
    public var txsDropped: Int
    /// Frames received on this connection (handshake excluded), and their bytes.
    public var messagesReceived: Int
    public var bytesReceived: Int
    /// Transactions received from this peer in `txBatch` messages.
    public var txsReceived: Int

    public var description: String {
        "peer=\(key.hex.prefix(16)) conn=\(connection) dir=\(direction) remote=\(remote) height=\(height) role=\(role)"
    }
}

/// What the node hears from the network, in order per peer.
public enum P2PEvent: Sendable {
    /// A peer finished its handshake and status exchange and is now its key's one connection.
    case peerUp(PeerInfo)
    /// A peer's connection closed and no other replaces it.
    case peerDown(Bytes32)
    /// A peer sent a new Status.
    case status(PeerInfo)
    /// A consensus message (opaque bytes the consensus module defines).
    case consensus(from: Bytes32, payload: [UInt8])
    /// Transactions received from a peer that the admission function admitted.
    case txBatch(from: Bytes32, txs: [SignedTx])
    case blockRequest(from: Bytes32, fromHeight: UInt64, count: UInt32)
    case blockResponse(from: Bytes32, fromHeight: UInt64, blocks: [[UInt8]])
    /// State sync (docs/state-sync.md): payloads opaque to P2P, limits in `P2PLimits`.
    case checkpointVote(from: Bytes32, payload: [UInt8])
    case snapshotQuery(from: Bytes32, height: UInt64)
    case snapshotOffer(from: Bytes32, payload: [UInt8])
    case chunkRequest(from: Bytes32, height: UInt64, index: UInt32)
    case chunkResponse(from: Bytes32, height: UInt64, index: UInt32, payload: [UInt8])
    /// A connection was refused in its handshake, or closed for a protocol reason (also logged).
    /// `peer` is the proven key once the handshake got that far.
    case connectionFailed(remote: String, peer: Bytes32?, error: P2PError)
}

/// A log line: level, message, and `key=value` fields (peer, conn, code), for swift-log or stderr.
public struct P2PLogger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public let sink: @Sendable (Level, String, [(String, String)]) -> Void

    public init(_ sink: @escaping @Sendable (Level, String, [(String, String)]) -> Void) { self.sink = sink }

    public static let none = P2PLogger { _, _, _ in }

    /// One line per event on standard error, at `minimum` and above.
    public static func stderr(minimum: Level = .info, label: String = "p2p") -> P2PLogger {
        P2PLogger { level, message, fields in
            guard level >= minimum else { return }
            let f = fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            var line = "\(label) \(level) \(message)\(f.isEmpty ? "" : " ")\(f)\n"
            line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        }
    }

    func callAsFunction(_ level: Level, _ message: String, _ fields: (String, String)...) {
        sink(level, message, fields)
    }
}

/// The configuration of a P2P node. Every field has a default except identity and chain.
public struct P2PConfig: Sendable {
    /// Where to listen; port 0 picks a free port (see `P2PNode.listeningPort()`).
    public var listenHost: String
    public var listenPort: Int
    /// The peers to dial and keep connected at start; `P2PNode.setTargets` replaces them.
    public var peers: [PeerAddress]
    public var nodeKey: SigningKey
    public var chainId: String
    public var genesisHash: Bytes32
    /// Announced in Status.
    public var role: PeerRole
    public var maxFrameBytes: Int = P2PLimits.frameMaxBytesDefault
    public var handshakeTimeoutMs: Int64 = P2PLimits.handshakeTimeoutMsDefault
    public var connectTimeoutMs: Int64 = P2PLimits.connectTimeoutMsDefault
    public var pingIntervalMs: Int64 = P2PLimits.pingIntervalMsDefault
    public var dialBackoffBaseMs: Int64 = P2PLimits.dialBackoffBaseMsDefault
    public var dialBackoffCapMs: Int64 = P2PLimits.dialBackoffCapMsDefault
    public var inboundRateLimit = RateLimit()
    public var outboundQueue = OutboundQueueLimits()
    /// Seeds the dial jitter; random by default, so nodes restarted together do not redial in step.
    public var rngSeed: UInt64 = .random(in: .min ... .max)
    public var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    public init(listenHost: String, listenPort: Int, peers: [PeerAddress], nodeKey: SigningKey, chainId: String,
                genesisHash: Bytes32, role: PeerRole) {
        self.listenHost = listenHost; self.listenPort = listenPort; self.peers = peers; self.nodeKey = nodeKey
        self.chainId = chainId; self.genesisHash = genesisHash; self.role = role
    }

    func validate() throws(P2PError) {
        guard maxFrameBytes >= P2PLimits.frameMaxBytesMin, maxFrameBytes <= Int(UInt32.max) else {
            throw P2PError(.invalidConfig, "maxFrameBytes must be between \(P2PLimits.frameMaxBytesMin) and 2^32-1")
        }
        guard handshakeTimeoutMs > 0, connectTimeoutMs > 0, pingIntervalMs > 0,
              dialBackoffBaseMs > 0, dialBackoffCapMs >= dialBackoffBaseMs else {
            throw P2PError(.invalidConfig, "timeouts and backoff must be positive, cap at least base")
        }
        guard inboundRateLimit.messagesPerSecond > 0, inboundRateLimit.bytesPerSecond > 0,
              inboundRateLimit.messagesBurst > 0, inboundRateLimit.bytesBurst > 0 else {
            throw P2PError(.invalidConfig, "rate limits must be positive")
        }
    }
}
