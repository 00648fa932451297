import ChainModel
import CoreMetrics
import Metrics
import Prometheus
import Storage
import Synchronization
import TotemCrypto

/// The node's Prometheus metrics (`GET /metrics`).
struct NodeMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let height: CoreMetrics.Gauge
    let view: CoreMetrics.Gauge
    let viewChanges: CoreMetrics.Counter
    let committedTxs: CoreMetrics.Counter
    let mempoolTxs: CoreMetrics.Gauge
    let mempoolBytes: CoreMetrics.Gauge
    /// Transactions a full mempool evicted (they waited behind a nonce gap) to take one a proposal
    /// could take (`totem_mempool_evictions_total`).
    let mempoolEvictions: TotalCounter
    /// Transaction signatures checked, at admission and in proposals; each tx's once per node at
    /// most while its hash is remembered (`totem_tx_signature_checks_total`).
    let txSignatureChecks: TotalCounter
    /// Pending txs gossiped again because they waited (`Regossip`; `totem_txs_regossiped_total`).
    let txsRegossiped: CoreMetrics.Counter
    let peers: CoreMetrics.Gauge
    let commitLatency: CoreMetrics.Timer
    let signingPersist: CoreMetrics.Timer
    /// The synced LMDB write of a block alone (part of `commitLatency`).
    let lmdbBlockWrite: CoreMetrics.Timer
    /// Blocks applied at commit because no earlier check cached their outcome (catch-up).
    let blocksAppliedAtCommit: CoreMetrics.Counter
    let p2pBytesReceived: CoreMetrics.Gauge
    /// `totem_p2p_gossip_txs_dropped_total{direction}`: the P2P layer's counts, copied in by `update`.
    let gossipDrops: GossipDropCounters
    let lmdbMapBytes: CoreMetrics.Gauge
    /// Reopens of the LMDB environment that gave its write buffers back (`releaseWriteBuffers`).
    let lmdbReopens: TotalCounter
    /// Syncs to disk by kind (`totem_disk_syncs_total{kind}`, `DiskSyncs`), brought up to date
    /// every second.
    let diskSyncs: DiskSyncCounters
    /// Free bytes of the file system holding the data directory (`statvfs`).
    let dataDirFreeBytes: CoreMetrics.Gauge
    let apiRequests: CoreMetrics.Counter
    /// API answers by status class (`totem_api_responses_total{class="2xx"|"3xx"|"4xx"|"5xx"}`).
    let apiResponses: APIResponses
    /// Transactions submitted through the API, and those of them refused.
    let txsSubmitted: CoreMetrics.Counter
    let txsRejected: CoreMetrics.Counter
    /// Transactions that entered the mempool, by where they came from (`totem_txs_accepted_total{origin}`).
    let txsAccepted: TxsAccepted
    /// Store reads and writes that failed (each is also logged): a damaged record, an I/O error,
    /// a full disk.
    let storeReadFailures: CoreMetrics.Counter
    let storeWriteFailures: CoreMetrics.Counter
    /// Catch-up, as `BlockSync` judges it (the same figures as `/readyz`): the highest height a peer
    /// reported, blocks between this node and it, whether the node counts as catching up (1) or
    /// not (0), and block requests sent.
    let catchUpTargetHeight: CoreMetrics.Gauge
    let catchUpBlocksBehind: CoreMetrics.Gauge
    let catchingUp: CoreMetrics.Gauge
    let catchUpRequests: CoreMetrics.Counter
    /// Commits of each validator of the set in force missing from the certificates of the blocks
    /// this node decided, and the last height it signed (`ValidatorCommits`).
    let validatorCommits: ValidatorCommits
    /// What `GET /readyz` judges (`Readiness.Inputs`), sampled every second: ready (1) or not (0),
    /// the set in force's size and quorum, whether this node votes (1) or not (0), whether it
    /// abstains at its height (1: no signing state yet, a fence, a damaged record), connected peers
    /// that are validators of that set, this node's clock minus the time of the last block another
    /// validator proposed and the genesis bound on it, and the configured minimum of free disk.
    let ready: CoreMetrics.Gauge
    let validators: CoreMetrics.Gauge
    let quorum: CoreMetrics.Gauge
    let voting: CoreMetrics.Gauge
    let abstaining: CoreMetrics.Gauge
    let validatorPeers: CoreMetrics.Gauge
    let clockOffsetSeconds: CoreMetrics.Gauge
    let clockMaxDriftSeconds: CoreMetrics.Gauge
    let dataDirMinFreeBytes: CoreMetrics.Gauge
    /// The mempool's configured bounds (`mempool.max_txs`, `mempool.max_bytes`).
    let mempoolMaxTxs: CoreMetrics.Gauge
    let mempoolMaxBytes: CoreMetrics.Gauge
    /// The process's resident memory (`/proc/self/statm`).
    let residentMemoryBytes: CoreMetrics.Gauge
    let anonymousMemoryBytes: CoreMetrics.Gauge
    let memoryTrims: CoreMetrics.Counter
    /// How long each trim took (`totem_memory_trim_seconds`): `malloc_trim` holds the heap's locks.
    let memoryTrimDuration: CoreMetrics.Timer
    /// Messages to a peer that could not be queued (peer gone, queue full).
    let sendFailures: CoreMetrics.Counter
    let apiConnectionsOpen: CoreMetrics.Gauge
    /// API connections closed at once because `api.max_connections` were open.
    let apiConnectionsRefused: CoreMetrics.Counter
    /// API connections closed because a request was not read, or answered, in time.
    let apiConnectionsTimedOut: CoreMetrics.Counter
    /// Events written to `GET /v1/events` streams, and the streams open.
    let eventsSent: CoreMetrics.Counter
    let eventStreamsOpen: CoreMetrics.Gauge
    /// Checkpoints (docs/state-sync.md): snapshots written at checkpoint heights, the newest
    /// height with a certificate, chunks served to syncing peers.
    let snapshotsWritten: CoreMetrics.Counter
    let checkpointHeight: CoreMetrics.Gauge
    let snapshotChunksServed: CoreMetrics.Counter
    /// A state sync: whether one is under way (1) or not (0), the snapshot's chunks in the store
    /// and in all (`totem_state_sync_chunks{state="done"|"total"}`), chunk bytes applied, and
    /// peers dropped for a chunk or offer that failed its check.
    let stateSyncing: CoreMetrics.Gauge
    let stateSyncChunksDone: CoreMetrics.Gauge
    let stateSyncChunksTotal: CoreMetrics.Gauge
    let stateSyncBytes: CoreMetrics.Counter
    let stateSyncPeersDropped: CoreMetrics.Counter

    init() {
        registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        height = CoreMetrics.Gauge(label: "totem_height", factory: factory)
        view = CoreMetrics.Gauge(label: "totem_view", factory: factory)
        viewChanges = CoreMetrics.Counter(label: "totem_view_changes_total", factory: factory)
        committedTxs = CoreMetrics.Counter(label: "totem_committed_txs_total", factory: factory)
        mempoolTxs = CoreMetrics.Gauge(label: "totem_mempool_txs", factory: factory)
        mempoolBytes = CoreMetrics.Gauge(label: "totem_mempool_bytes", factory: factory)
        mempoolEvictions = TotalCounter(CoreMetrics.Counter(label: "totem_mempool_evictions_total", factory: factory))
        txSignatureChecks = TotalCounter(CoreMetrics.Counter(label: "totem_tx_signature_checks_total", factory: factory))
        txsRegossiped = CoreMetrics.Counter(label: "totem_txs_regossiped_total", factory: factory)
        peers = CoreMetrics.Gauge(label: "totem_peers", factory: factory)
        commitLatency = CoreMetrics.Timer(label: "totem_block_commit_seconds", factory: factory)
        signingPersist = CoreMetrics.Timer(label: "totem_signing_state_persist_seconds", factory: factory)
        lmdbBlockWrite = CoreMetrics.Timer(label: "totem_lmdb_block_write_seconds", factory: factory)
        blocksAppliedAtCommit = CoreMetrics.Counter(label: "totem_blocks_applied_at_commit_total", factory: factory)
        p2pBytesReceived = CoreMetrics.Gauge(label: "totem_p2p_bytes_received", factory: factory)
        gossipDrops = GossipDropCounters(factory: factory)
        lmdbMapBytes = CoreMetrics.Gauge(label: "totem_lmdb_map_bytes", factory: factory)
        lmdbReopens = TotalCounter(CoreMetrics.Counter(label: "totem_lmdb_reopens_total", factory: factory))
        dataDirFreeBytes = CoreMetrics.Gauge(label: "totem_data_dir_free_bytes", factory: factory)
        apiRequests = CoreMetrics.Counter(label: "totem_api_requests_total", factory: factory)
        apiResponses = APIResponses(factory: factory)
        diskSyncs = DiskSyncCounters(factory: factory)
        txsSubmitted = CoreMetrics.Counter(label: "totem_txs_submitted_total", factory: factory)
        txsRejected = CoreMetrics.Counter(label: "totem_txs_rejected_total", factory: factory)
        txsAccepted = TxsAccepted(factory: factory)
        storeReadFailures = CoreMetrics.Counter(label: "totem_store_read_failures_total", factory: factory)
        storeWriteFailures = CoreMetrics.Counter(label: "totem_store_write_failures_total", factory: factory)
        catchUpTargetHeight = CoreMetrics.Gauge(label: "totem_catchup_target_height", factory: factory)
        catchUpBlocksBehind = CoreMetrics.Gauge(label: "totem_catchup_blocks_behind", factory: factory)
        catchingUp = CoreMetrics.Gauge(label: "totem_catching_up", factory: factory)
        catchUpRequests = CoreMetrics.Counter(label: "totem_catchup_requests_total", factory: factory)
        validatorCommits = ValidatorCommits(factory: factory)
        ready = CoreMetrics.Gauge(label: "totem_ready", factory: factory)
        validators = CoreMetrics.Gauge(label: "totem_validators", factory: factory)
        quorum = CoreMetrics.Gauge(label: "totem_quorum", factory: factory)
        voting = CoreMetrics.Gauge(label: "totem_voting", factory: factory)
        abstaining = CoreMetrics.Gauge(label: "totem_abstaining", factory: factory)
        validatorPeers = CoreMetrics.Gauge(label: "totem_validator_peers", factory: factory)
        clockOffsetSeconds = CoreMetrics.Gauge(label: "totem_clock_offset_seconds", factory: factory)
        clockMaxDriftSeconds = CoreMetrics.Gauge(label: "totem_clock_max_drift_seconds", factory: factory)
        dataDirMinFreeBytes = CoreMetrics.Gauge(label: "totem_data_dir_min_free_bytes", factory: factory)
        mempoolMaxTxs = CoreMetrics.Gauge(label: "totem_mempool_max_txs", factory: factory)
        mempoolMaxBytes = CoreMetrics.Gauge(label: "totem_mempool_max_bytes", factory: factory)
        residentMemoryBytes = CoreMetrics.Gauge(label: "totem_process_resident_memory_bytes", factory: factory)
        anonymousMemoryBytes = CoreMetrics.Gauge(label: "totem_process_anonymous_memory_bytes", factory: factory)
        memoryTrims = CoreMetrics.Counter(label: "totem_memory_trims_total", factory: factory)
        memoryTrimDuration = CoreMetrics.Timer(label: "totem_memory_trim_seconds", factory: factory)
        sendFailures = CoreMetrics.Counter(label: "totem_p2p_send_failures_total", factory: factory)
        apiConnectionsOpen = CoreMetrics.Gauge(label: "totem_api_connections_open", factory: factory)
        apiConnectionsRefused = CoreMetrics.Counter(label: "totem_api_connections_refused_total", factory: factory)
        apiConnectionsTimedOut = CoreMetrics.Counter(label: "totem_api_connections_timed_out_total", factory: factory)
        eventsSent = CoreMetrics.Counter(label: "totem_events_sent_total", factory: factory)
        eventStreamsOpen = CoreMetrics.Gauge(label: "totem_event_streams_open", factory: factory)
        snapshotsWritten = CoreMetrics.Counter(label: "totem_snapshots_written_total", factory: factory)
        checkpointHeight = CoreMetrics.Gauge(label: "totem_checkpoint_height", factory: factory)
        snapshotChunksServed = CoreMetrics.Counter(label: "totem_snapshot_chunks_served_total", factory: factory)
        stateSyncing = CoreMetrics.Gauge(label: "totem_state_syncing", factory: factory)
        stateSyncChunksDone = CoreMetrics.Gauge(label: "totem_state_sync_chunks", dimensions: [("state", "done")], factory: factory)
        stateSyncChunksTotal = CoreMetrics.Gauge(label: "totem_state_sync_chunks", dimensions: [("state", "total")], factory: factory)
        stateSyncBytes = CoreMetrics.Counter(label: "totem_state_sync_bytes_total", factory: factory)
        stateSyncPeersDropped = CoreMetrics.Counter(label: "totem_state_sync_peers_dropped_total", factory: factory)
    }

    /// `totem_txs_accepted_total`, one series per `AdmissionService.Origin`.
    struct TxsAccepted: Sendable {
        private let api, peer, evidence: CoreMetrics.Counter

        init(factory: PrometheusMetricsFactory) {
            func counter(_ origin: AdmissionService.Origin) -> CoreMetrics.Counter {
                CoreMetrics.Counter(label: "totem_txs_accepted_total", dimensions: [("origin", origin.rawValue)], factory: factory)
            }
            api = counter(.api)
            peer = counter(.peer)
            evidence = counter(.evidence)
        }

        subscript(_ origin: AdmissionService.Origin) -> CoreMetrics.Counter {
            switch origin {
            case .api: api
            case .peer: peer
            case .evidence: evidence
            }
        }
    }

    /// `totem_api_responses_total`, one series per status class (1xx counts with 2xx).
    /// `totem_p2p_gossip_txs_dropped_total{direction}`: gossiped txs dropped at a bound, `in` (a
    /// peer's batches waiting for admission were at `gossipBatchesPendingMax` or `gossipPendingMaxBytes`) and `out` (a peer's
    /// outbound tx queue was full).
    final class GossipDropCounters: Sendable {
        private let inbound: TotalCounter
        private let outbound: TotalCounter

        init(factory: PrometheusMetricsFactory) {
            inbound = TotalCounter(CoreMetrics.Counter(label: "totem_p2p_gossip_txs_dropped_total",
                                                       dimensions: [("direction", "in")], factory: factory))
            outbound = TotalCounter(CoreMetrics.Counter(label: "totem_p2p_gossip_txs_dropped_total",
                                                        dimensions: [("direction", "out")], factory: factory))
        }

        /// Adds the drops counted since the last call (`totals` only grow).
        func update(_ totals: (inbound: Int, outbound: Int)) {
            inbound.update(total: totals.inbound)
            outbound.update(total: totals.outbound)
        }
    }

    /// A counter fed a running total kept elsewhere (a component's own count since the start):
    /// `update` adds what the total grew by since the last call.
    final class TotalCounter: Sendable {
        private let counter: CoreMetrics.Counter
        private let reported = Mutex(0)

        init(_ counter: CoreMetrics.Counter) { self.counter = counter }

        func update(total: Int) {
            reported.withLock { r in
                if total > r { counter.increment(by: total - r); r = total }
            }
        }
    }

    /// `totem_disk_syncs_total{kind}`: the process's `DiskSyncs`, copied in by `update()`.
    final class DiskSyncCounters: Sendable {
        private let counters: [(kind: DiskSyncs.Kind, counter: TotalCounter)]

        init(factory: PrometheusMetricsFactory) {
            counters = DiskSyncs.Kind.allCases.map {
                ($0, TotalCounter(CoreMetrics.Counter(label: "totem_disk_syncs_total", dimensions: [("kind", $0.label)],
                                                      factory: factory)))
            }
        }

        /// Adds the syncs made since the last call.
        func update() {
            for (kind, counter) in counters { counter.update(total: Int(clamping: DiskSyncs.total(kind))) }
        }
    }

    struct APIResponses: Sendable {
        private let byClass: [CoreMetrics.Counter]

        init(factory: PrometheusMetricsFactory) {
            byClass = ["2xx", "3xx", "4xx", "5xx"].map {
                CoreMetrics.Counter(label: "totem_api_responses_total", dimensions: [("class", $0)], factory: factory)
            }
        }

        func count(status: Int) {
            byClass[min(max(status / 100, 2), 5) - 2].increment()
        }
    }

    /// Per validator of the set in force (label `validator`, `CommitParticipation.label`):
    /// `totem_validator_missed_commits_total`, its commits missing from the certificates of the
    /// blocks this node decided (blocks from catch-up are history and are not counted), and
    /// `totem_validator_last_signed_height`, the last height whose certificate here carries its
    /// commit. Series exist for the validators of the set in force only (a validator that leaves
    /// loses its series), so there are at most `ConsensusLimits.validatorsMax` of each.
    final class ValidatorCommits: Sendable {
        private struct Series: Sendable {
            let missed: CoreMetrics.Counter
            let lastSigned: CoreMetrics.Gauge
        }

        private let factory: PrometheusMetricsFactory
        private let state = Mutex<(set: ValidatorSet?, series: [Bytes32: Series])>((nil, [:]))

        init(factory: PrometheusMetricsFactory) { self.factory = factory }

        /// The set in force at the height consensus starts (or starts again) at: its validators'
        /// series exist from then on, at zero, before this node decides a block (a node that caught
        /// up to the tip has decided none, and its monitoring must still find every series).
        func inForce(_ set: ValidatorSet) {
            state.withLock { s in adopt(set, into: &s) }
        }

        /// A block this node decided at `height`, with its certificate's `signers` and `set`, the
        /// set in force at that height.
        func decided(height: UInt64, signers: [Bytes32], set: ValidatorSet) {
            state.withLock { s in
                adopt(set, into: &s)
                for key in CommitParticipation.absent(signers: signers, set: set) { s.series[key]?.missed.increment() }
                for key in signers { s.series[key]?.lastSigned.record(Int(clamping: height)) }
            }
        }

        /// A block committed from catch-up: the last signed heights move, nothing counts as missed.
        func caughtUp(height: UInt64, signers: [Bytes32]) {
            state.withLock { s in
                for key in signers { s.series[key]?.lastSigned.record(Int(clamping: height)) }
            }
        }

        private func adopt(_ set: ValidatorSet, into s: inout (set: ValidatorSet?, series: [Bytes32: Series])) {
            if s.set != set { s.series = series(for: set, keeping: s.series) }
            s.set = set
        }

        /// The series of `set`'s validators: those kept, new ones at zero; the others removed.
        private func series(for set: ValidatorSet, keeping old: [Bytes32: Series]) -> [Bytes32: Series] {
            var out: [Bytes32: Series] = [:]
            for key in set.keys {
                out[key] = old[key] ?? {
                    let label = [("validator", CommitParticipation.label(key))]
                    return Series(missed: CoreMetrics.Counter(label: "totem_validator_missed_commits_total", dimensions: label,
                                                              factory: factory),
                                  lastSigned: CoreMetrics.Gauge(label: "totem_validator_last_signed_height", dimensions: label,
                                                                factory: factory))
                }()
            }
            for (key, gone) in old where out[key] == nil {
                gone.missed.destroy()
                gone.lastSigned.destroy()
            }
            return out
        }
    }

    func render() -> [UInt8] {
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }
}

extension CoreMetrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let d = ContinuousClock.now - start
        recordNanoseconds(d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
    }
}
