/// Bounds of the node's own caches and queues (the chain's and the network's are in their modules).
enum NodeLimits {
    /// Checked or built proposals whose outcome is kept until the next commit.
    static let outcomeCacheEntriesMax = 16
    /// Builds of one proposal, each smaller than the last when the one before took too long
    /// (`ProposalBudget`); the last is proposed whatever it took.
    static let proposalBuildAttemptsMax = 4
    /// Works one proposal registers at most (`ProposalBudget.prefix`; a transaction other than a
    /// registration counts as one). Measured on the 4 + 1 devnet on 2 cores under
    /// `bench --works-per-tx 100`: docs/consensus.md.
    static let proposalWorksMax = 15_000
    /// Jobs waiting for the chain thread (`ChainService.offload`): the consensus driver runs one at a
    /// time, so more than a few waiting means a caller outside it; beyond this they wait for room.
    static let chainWorkerQueueMax = 8
    /// Batches waiting for the admission thread (`AdmissionService.submitOffPool`): one per peer
    /// link and API request in flight; beyond this they wait for room (the peer's reader then waits,
    /// and TCP slows the peer down).
    static let admissionQueueMax = 16
    /// Bytes (tx encodings) of API batches admitted or waiting for the admission thread at once. A
    /// request that would pass it while others wait is refused whole with `overloaded` (retry
    /// shortly): 16 requests of 500-work batches held hundreds of MiB decoded (docs/devnet-and-bench.md,
    /// "Memory"). Peers' batches are bounded by their gossip inboxes (`P2PLimits.gossipPendingMaxBytes`).
    static let apiAdmissionPendingMaxBytes = 16 << 20
    /// Rejected-after-acceptance transactions remembered for `GET /v1/txs/{hash}`.
    static let rejectedTxCacheEntriesMax = 100_000
    /// Consensus network messages waiting for the replica (beyond it the newest are dropped; the
    /// control lane holds at most `ControlLane.capacity` events by construction).
    static let consensusEventQueueMax = 10_000
    /// Transactions in one `POST /v1/txs`.
    static let submitMaxTxs = 1000
    /// Times a submission is checked again when a block was committed while it was being checked.
    static let admissionRetryMaxCount = 3
    /// Blocks sent in one catch-up answer (the P2P limit of a block response).
    static let catchUpBlocksPerResponse = 64
}

extension NodeLimits {
    /// Bytes of blocks in one catch-up answer (at least one block is always sent).
    static let catchUpResponseMaxBytes = 8 << 20
}

extension NodeLimits {
    /// A clock found off is reported at most this often.
    static let clockWarningIntervalMs: UInt64 = 60_000
    /// Committed blocks in a row whose time is far from this node's clock before it says its clock
    /// seems off.
    static let clockOffBlocksBeforeWarning = 3
    /// Blocks from catch-up committed in one LMDB write (one sync for the run).
    static let catchUpRunMaxBlocks = 64
    /// How often the node gossips again the txs it could propose that have waited since the last
    /// time (`P2PNode.regossip`), and at most how many bytes of them.
    static let regossipIntervalSeconds = 3
    static let regossipMaxBytes = 2 << 20
    /// ...and at most this many works, past its first block (a transaction other than a
    /// registration counts as one): LMDB keeps every page a write transaction dirtied on a free
    /// list for good (`me_dpages` in mdb.c), so a run of 64 full blocks of batches (nearly a
    /// million works) would leave a node holding hundreds of MiB after catching up. As large as
    /// a proposal may be, so a run's write dirties no more than a block's.
    static let catchUpRunMaxWorks = proposalWorksMax
    /// How often catch-up expires lost requests, and reports progress (`BlockSync`).
    static let catchUpTickMs: UInt64 = 250
    /// Failed P2P sends of the consensus runtime are logged at most this often (each is counted).
    static let sendFailureReportIntervalMs: Int64 = 10_000
}

extension NodeLimits {
    /// Freed heap memory is given back to the system (`MemoryTrim`) when the process's anonymous
    /// memory is above this, at most this often.
    static let memoryTrimAboveBytes: UInt64 = 256 << 20
    static let memoryTrimIntervalSeconds = 30
    /// ...and once the anonymous memory grew this much since the last trim (`TrimPolicy`).
    static let memoryTrimRegrowthBytes: UInt64 = 64 << 20
    /// ...or once this long passed since the last trim.
    static let memoryTrimQuietSeconds = 120
}

extension NodeLimits {
    /// Transfers, licences or claims listed for one work.
    static let historyEntriesMax = 1000
    /// API requests waiting at once for a height (`waitMs`), and the longest wait one may ask for.
    static let heightWaitersMax = 256
    static let heightWaitMaxMs = 10_000
}

extension NodeLimits {
    /// Free space of the data directory's file system under which the node warns (config
    /// `store.min_free_mib`), and the least time between two such warnings.
    static let diskFreeMinMiBDefault = 1024
    static let lowDiskWarningIntervalSeconds = 60

    /// `GET /v1/events` streams open at once; one more is answered 503 `too_many_streams`.
    static let eventStreamsMax = 64
    /// A stream with nothing to send writes a comment line this often (proxies and clients see
    /// the connection alive).
    static let eventKeepaliveMs = 15_000
    /// How long a stream waits for the next block before it looks at a graceful shutdown again.
    static let eventWaitSliceMs = 1_000
    /// The SSE `retry:` the stream asks clients to wait before reconnecting.
    static let eventRetryMs = 2_000
    /// A block's events are written in chunks of about this many bytes.
    static let eventWriteChunkBytes = 256 << 10
    /// Longest `q` of `GET /v1/search`, in Unicode scalars (JSON Schema's `maxLength`).
    static let searchQueryMaxCharacters = 256
    /// Stored certificates `GET /v1/validators` reads, from the tip down, for each validator's
    /// `lastSignedHeight` (a bounded read per request, whatever the chain's length).
    static let participationScanHeights: UInt64 = 100
    /// Peers whose last vote height the consensus runtime keeps (`ConsensusDriver.lastVoteHeights`):
    /// only peers allowed by the allow list can send votes, and `p2p.max_peers` of them at once.
    static let voteHeightKeysMax = 1024
}
