import CoreMetrics
import Metrics
import Prometheus

/// The node's Prometheus metrics (`GET /metrics`).
struct NodeMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let height: CoreMetrics.Gauge
    let view: CoreMetrics.Gauge
    let viewChanges: CoreMetrics.Counter
    let committedTxs: CoreMetrics.Counter
    let mempoolTxs: CoreMetrics.Gauge
    let mempoolBytes: CoreMetrics.Gauge
    let peers: CoreMetrics.Gauge
    let commitLatency: CoreMetrics.Timer
    let signingPersist: CoreMetrics.Timer
    /// The synced LMDB write of a block alone (part of `commitLatency`).
    let lmdbBlockWrite: CoreMetrics.Timer
    /// Blocks applied at commit because no earlier check cached their outcome (catch-up).
    let blocksAppliedAtCommit: CoreMetrics.Counter
    let p2pBytesReceived: CoreMetrics.Gauge
    let lmdbMapBytes: CoreMetrics.Gauge
    /// Free bytes of the file system holding the data directory (`statvfs`).
    let dataDirFreeBytes: CoreMetrics.Gauge
    let apiRequests: CoreMetrics.Counter
    /// Transactions submitted through the API, and those of them refused.
    let txsSubmitted: CoreMetrics.Counter
    let txsRejected: CoreMetrics.Counter
    /// Transactions that entered the mempool, by where they came from (`totem_txs_accepted_total{origin}`).
    let txsAccepted: TxsAccepted
    /// Store reads and writes that failed (each is also logged): a damaged record, an I/O error,
    /// a full disk.
    let storeReadFailures: CoreMetrics.Counter
    let storeWriteFailures: CoreMetrics.Counter
    /// Catch-up: blocks between this node and the highest peer, and block requests sent.
    let catchUpBlocksBehind: CoreMetrics.Gauge
    let catchUpRequests: CoreMetrics.Counter
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

    init() {
        registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        height = CoreMetrics.Gauge(label: "totem_height", factory: factory)
        view = CoreMetrics.Gauge(label: "totem_view", factory: factory)
        viewChanges = CoreMetrics.Counter(label: "totem_view_changes_total", factory: factory)
        committedTxs = CoreMetrics.Counter(label: "totem_committed_txs_total", factory: factory)
        mempoolTxs = CoreMetrics.Gauge(label: "totem_mempool_txs", factory: factory)
        mempoolBytes = CoreMetrics.Gauge(label: "totem_mempool_bytes", factory: factory)
        peers = CoreMetrics.Gauge(label: "totem_peers", factory: factory)
        commitLatency = CoreMetrics.Timer(label: "totem_block_commit_seconds", factory: factory)
        signingPersist = CoreMetrics.Timer(label: "totem_signing_state_persist_seconds", factory: factory)
        lmdbBlockWrite = CoreMetrics.Timer(label: "totem_lmdb_block_write_seconds", factory: factory)
        blocksAppliedAtCommit = CoreMetrics.Counter(label: "totem_blocks_applied_at_commit_total", factory: factory)
        p2pBytesReceived = CoreMetrics.Gauge(label: "totem_p2p_bytes_received", factory: factory)
        lmdbMapBytes = CoreMetrics.Gauge(label: "totem_lmdb_map_bytes", factory: factory)
        dataDirFreeBytes = CoreMetrics.Gauge(label: "totem_data_dir_free_bytes", factory: factory)
        apiRequests = CoreMetrics.Counter(label: "totem_api_requests_total", factory: factory)
        txsSubmitted = CoreMetrics.Counter(label: "totem_txs_submitted_total", factory: factory)
        txsRejected = CoreMetrics.Counter(label: "totem_txs_rejected_total", factory: factory)
        txsAccepted = TxsAccepted(factory: factory)
        storeReadFailures = CoreMetrics.Counter(label: "totem_store_read_failures_total", factory: factory)
        storeWriteFailures = CoreMetrics.Counter(label: "totem_store_write_failures_total", factory: factory)
        catchUpBlocksBehind = CoreMetrics.Gauge(label: "totem_catchup_blocks_behind", factory: factory)
        catchUpRequests = CoreMetrics.Counter(label: "totem_catchup_requests_total", factory: factory)
        sendFailures = CoreMetrics.Counter(label: "totem_p2p_send_failures_total", factory: factory)
        apiConnectionsOpen = CoreMetrics.Gauge(label: "totem_api_connections_open", factory: factory)
        apiConnectionsRefused = CoreMetrics.Counter(label: "totem_api_connections_refused_total", factory: factory)
        apiConnectionsTimedOut = CoreMetrics.Counter(label: "totem_api_connections_timed_out_total", factory: factory)
        eventsSent = CoreMetrics.Counter(label: "totem_events_sent_total", factory: factory)
        eventStreamsOpen = CoreMetrics.Gauge(label: "totem_event_streams_open", factory: factory)
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
