import Storage

/// Bounds of the HTTP API's connections, all in one place. The defaults are here; `config.toml`'s
/// `[api]` section may change the ones with a setting (documented in config/node.toml).
///
/// A request must be read whole within `headerReadTimeoutMs + bodyReadTimeoutMs` of its first byte,
/// however slowly its bytes trickle in (the timers do not restart on each byte).
struct ConnectionLimits: Sendable, Equatable {
    /// From the first byte of a request to the end of its header block (`api.header_timeout_ms`).
    var headerReadTimeoutMs = 10_000
    /// From the end of a request's header block to the end of its body (`api.body_timeout_ms`).
    var bodyReadTimeoutMs = 60_000
    /// A connection with no request in progress and no answer owed (keep-alive, or never used)
    /// is closed after this long (`api.idle_timeout_ms`).
    var idleTimeoutMs = 30_000
    /// From the end of a request to the end of its answer: the handler's time (a `waitMs` of up to
    /// `NodeLimits.heightWaitMaxMs`, a store wait) plus a slow reader's (`api.response_timeout_ms`).
    var responseTimeoutMs = 60_000
    /// Connections open at once; a connection over the cap is closed at once (`api.max_connections`).
    var maxConnections = 512

    /// Least time between two log lines about refused or timed-out connections (each line counts
    /// the connections since the previous one), so a flood does not flood the log.
    static let connectionLogIntervalMs = 10_000
    /// The shortest `response_timeout_ms` a config may set: the longest wait a request may ask for
    /// (`waitMs`) plus a read's wait for the store, with as much again for a margin.
    static let responseTimeoutMinMs = 2 * (NodeLimits.heightWaitMaxMs + StoreLimits.pendingWriteWaitMaxMs)
    /// The range of the read and idle timeouts a config may set.
    static let readTimeoutRangeMs = 100...600_000
    /// The range of `max_connections` a config may set.
    static let maxConnectionsRange = 1...65_536
}
