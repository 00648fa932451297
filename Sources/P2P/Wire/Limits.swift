import ChainModel

/// Every limit of P2P and its wire format (targets P2P and P2PWire), in one place (STYLE.md §4).
/// Units are last in each name.
/// Values named `...Default` are configuration defaults (`P2PConfig`); the others are protocol
/// limits that every node must agree on.
public enum P2PLimits {
    // MARK: Protocol

    /// The P2P protocol version carried in the handshake Hello; peers with another version are refused.
    public static let protocolVersion: UInt8 = 1
    /// The ASCII magic that opens every Hello, so a stray client (HTTP, TLS) is refused at once.
    public static let helloMagic: [UInt8] = Array("TOTEMP2P".utf8)
    /// A Hello frame: magic, version, chainId (<= 64 bytes and its length), genesis hash, static key,
    /// ephemeral key.
    public static let helloMaxBytes = 8 + 1 + 4 + 64 + 32 + 32 + 32
    /// The encrypted Auth frame: a 64-byte signature and the 16-byte Poly1305 tag.
    public static let authFrameBytes = 64 + 16
    /// The Poly1305 tag that follows every ciphertext.
    public static let aeadTagBytes = 16
    /// A direction's nonce counter must stay below this; the connection is closed before it would
    /// wrap, so no (key, nonce) pair is ever used twice.
    public static let nonceCounterMax: UInt64 = .max

    // MARK: Frames and messages

    /// Default maximum frame size (`u32` length excluded): a block response of this size fits.
    public static let frameMaxBytesDefault = 16 * 1024 * 1024
    /// The smallest `maxFrameBytes` a node accepts in its configuration (a full tx batch fits).
    public static let frameMaxBytesMin = 1024 * 1024 + 64 * 1024
    /// Transactions per `txBatch` message.
    public static let txBatchMaxCount = 1_000
    /// Bytes of the SignedTx strings of one `txBatch` (the writer cuts batches at this size).
    public static let txBatchMaxBytes = 1024 * 1024
    /// Transaction batches of one connection waiting to be admitted (`GossipInbox`); the reader
    /// drops the next ones while this many wait, and goes on to the consensus messages behind them.
    public static let gossipBatchesPendingMax = 16
    /// Bytes (the txs' encodings) of the batches of one connection waiting to be admitted; the
    /// reader drops the next batch while this much waits. A decoded batch holds its encoding and
    /// the decoded fields beside it, at least twice its bytes: 16 full batches came to 32 MiB or
    /// more per peer under batch load. 4 MiB is still seconds of admission, so gossip flows.
    public static let gossipPendingMaxBytes = 4 * 1024 * 1024
    /// One consensus envelope (a proposal carries a whole block).
    public static let consensusMessageMaxBytes = 12 * 1024 * 1024
    /// Blocks asked for in one `blockRequest`.
    public static let blockRequestMaxCount: UInt32 = 64
    /// Blocks in one `blockResponse`.
    public static let blockResponseMaxCount = 64
    /// One block (with its certificate) in a `blockResponse`; the response as a whole must also
    /// fit in the frame.
    public static let blockResponseItemMaxBytes = 12 * 1024 * 1024
    /// A checkpoint signature: the checkpoint (at most 64 + 84 bytes), a key and a signature.
    public static let checkpointVoteMaxBytes = 512
    /// A snapshot offer: the checkpoint certificate (up to `Limits.validatorsMaxCount` signatures)
    /// and a header, a commit certificate and a key list per validator-set change since genesis.
    public static let snapshotOfferMaxBytes = 8 * 1024 * 1024
    /// A chunk response: a chunk (4 MiB at most by genesis rules, or one record over it, up to
    /// 8 MiB) and its audit path (at most 64 hashes).
    public static let chunkResponseMaxBytes = 9 * 1024 * 1024

    // MARK: Handshake and connections

    /// Default time allowed from TCP connect to the peer's Status message.
    public static let handshakeTimeoutMsDefault: Int64 = 5_000
    /// Default time to connect a TCP socket when dialling.
    public static let connectTimeoutMsDefault: Int64 = 3_000
    /// Maximum simultaneous inbound connections that have not finished their handshake; more are
    /// closed on accept.
    public static let pendingInboundMaxCount = 64
    /// Connections refused at accept are logged (with their count) at most this often.
    public static let refusalReportIntervalMs: Int64 = 10_000
    /// Default interval between pings on a connection.
    public static let pingIntervalMsDefault: Int64 = 2_000

    // MARK: Peer manager

    /// Default first redial delay after a failure; doubled per failure.
    public static let dialBackoffBaseMsDefault: Int64 = 200
    /// Default cap of the redial delay.
    public static let dialBackoffCapMsDefault: Int64 = 10_000
    /// Exponent cap, so `base << attempts` never overflows.
    public static let dialBackoffMaxDoublings = 20
    /// The peer manager's tick, which fires due dials.
    public static let managerTickMs: Int64 = 50
    /// Peers a node dials at most: the validators of the set in force and of adopted sets (each
    /// set at most `Limits.validatorsMaxCount`, and they mostly overlap) and the configured peers.
    public static let dialTargetsMaxCount = 2 * Limits.validatorsMaxCount
    /// Status (this node's height) goes to the peers at most this often; at one block every
    /// ~10 ms a status per block was a quarter of all frames.
    public static let statusMinIntervalMs: Int64 = 100

    // MARK: Gossip and queues

    /// Transaction hashes this node has processed (admitted or refused); older ones are forgotten.
    public static let seenCacheMaxCount = 262_144
    /// Transaction hashes remembered per peer as known to it (sent to it or received from it).
    public static let peerKnownCacheMaxCount = 131_072
    /// Default per-peer outbound queue of transactions waiting to be batched; newer ones are dropped.
    public static let outboundTxQueueMaxCountDefault = 20_000
    /// Default per-peer outbound queue of transaction bytes.
    public static let outboundTxQueueMaxBytesDefault = 16 * 1024 * 1024
    /// Default per-peer outbound queue of other messages; a peer that lets it fill is disconnected.
    public static let outboundMessageQueueMaxCountDefault = 1_024
    /// Default per-peer outbound queue of other messages' bytes.
    public static let outboundMessageQueueMaxBytesDefault = 64 * 1024 * 1024
    /// Decoded frames that may wait for a connection's reader; at this many NIO stops reading the
    /// socket (TCP flow control then holds the peer back) ...
    public static let inboundFramesBufferedMaxCount = 4
    /// ... until the reader has taken them down to this many.
    public static let inboundFramesBufferedResumeCount = 2
    /// Frames handed to the socket in one write.
    public static let writeBatchMaxFrames = 16
    /// Events buffered in the node's inbound event stream; events beyond it are dropped and counted.
    public static let eventBufferMaxCount = 16_384
    /// Bytes held by buffered events (payloads); events beyond it are dropped and counted.
    public static let eventBufferMaxBytes = 256 * 1024 * 1024

    // MARK: Inbound rate limits (defaults, per peer)

    /// Messages per second a peer may send us, sustained.
    public static let inboundMessagesPerSecondDefault = 2_000
    /// Burst of messages above the sustained rate.
    public static let inboundMessagesBurstDefault = 4_000
    /// Bytes per second a peer may send us, sustained.
    public static let inboundBytesPerSecondDefault = 32 * 1024 * 1024
    /// Burst of bytes above the sustained rate.
    public static let inboundBytesBurstDefault = 32 * 1024 * 1024
}

extension P2PLimits {
    /// After sending `disconnect`, how long a side waits for the peer to close before closing itself.
    public static let disconnectGraceMs: Int64 = 1_000
    /// A peer silent for this many ping intervals is disconnected.
    public static let silentPingIntervalsMax: Int64 = 3
    /// How long a graceful shutdown waits for peers to close before cancelling their tasks.
    public static let shutdownGraceMs: Int64 = 2_000
}
