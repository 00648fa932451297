import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Counts events and says when to report them: the first at once, then at most once per interval,
/// with the number since the previous report (a flood makes one log line per interval, not one per
/// connection).
struct CountedLog: Sendable, Equatable {
    let intervalNs: UInt64
    private(set) var unreported = 0
    private(set) var lastReportNs: UInt64?

    init(intervalMs: Int) {
        intervalNs = UInt64(intervalMs) * 1_000_000
    }

    /// Records one event at `nowNs`; returns how many to report now, or nil to stay quiet.
    mutating func record(nowNs: UInt64) -> Int? {
        unreported += 1
        if let last = lastReportNs, nowNs &- last < intervalNs { return nil }
        lastReportNs = nowNs
        defer { unreported = 0 }
        return unreported
    }
}

/// The API's open connections against `limits.maxConnections`, and what happens to the ones that
/// are refused or time out (metrics, rate-limited log lines).
final class ConnectionGuard: Sendable {
    let limits: ConnectionLimits
    /// Open connections; the gauge is set under the same lock, so it ends at the true count.
    private let open = Mutex(0)
    private let refusals = Mutex(CountedLog(intervalMs: ConnectionLimits.connectionLogIntervalMs))
    private let timeouts = Mutex(CountedLog(intervalMs: ConnectionLimits.connectionLogIntervalMs))
    private let logger: Logger
    private let metrics: NodeMetrics?

    init(limits: ConnectionLimits, logger: Logger, metrics: NodeMetrics?) {
        self.limits = limits
        self.logger = logger
        self.metrics = metrics
    }

    /// Takes a place for a new connection; false (and counted as refused) when all are taken.
    func admit() -> Bool {
        let admitted = open.withLock { n in
            guard n < limits.maxConnections else { return false }
            n += 1
            metrics?.apiConnectionsOpen.record(n)
            return true
        }
        if !admitted { refused() }
        return admitted
    }

    /// Gives back the place of a closed connection.
    func release() {
        open.withLock { n in
            precondition(n > 0, "more API connections released than admitted")
            n -= 1
            metrics?.apiConnectionsOpen.record(n)
        }
    }

    private func refused() {
        metrics?.apiConnectionsRefused.increment()
        guard let n = refusals.withLock({ $0.record(nowNs: ConnectionTimeoutHandler.nowNs()) }) else { return }
        logger.warning("API connections refused: all places taken", metadata: [
            "refused": "\(n)", "maxConnections": "\(limits.maxConnections)",
        ])
    }

    /// A connection closed because a timer ran out.
    func timedOut(_ expiry: ConnectionClock.Expiry) {
        guard expiry != .idle else { return }  // an idle keep-alive connection closing is normal
        metrics?.apiConnectionsTimedOut.increment()
        guard let n = timeouts.withLock({ $0.record(nowNs: ConnectionTimeoutHandler.nowNs()) }) else { return }
        logger.notice("API connections closed: a request or its answer took too long", metadata: [
            "closed": "\(n)", "last": "\(expiry)", "headerReadTimeoutMs": "\(limits.headerReadTimeoutMs)",
            "bodyReadTimeoutMs": "\(limits.bodyReadTimeoutMs)", "responseTimeoutMs": "\(limits.responseTimeoutMs)",
        ])
    }
}

/// An HTTP/1 child channel whose connections pass `ConnectionGuard` first: one over the cap is
/// set up and closed at once (before any byte is read), the others are served as usual.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http: HTTP1Channel
    let connections: ConnectionGuard

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admitted = connections.admit()
        if admitted {
            let connections = self.connections
            channel.closeFuture.whenComplete { _ in connections.release() }
        }
        return http.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try channel.pipeline.syncOperations.addHandler(ConnectionGuardHandler(admitted: admitted), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with the API's connection cap and timeouts (`ConnectionLimits`).
    static func guardedHTTP1(_ connections: ConnectionGuard) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            // No idle timeout of Hummingbird's own: it restarts on every request part, so a body
            // trickled in a byte at a time would never end; ConnectionTimeoutHandler keeps time.
            let configuration = HTTP1Channel.Configuration(
                additionalChannelHandlers: [ConnectionTimeoutHandler(connections: connections)], idleTimeout: nil)
            return GuardedHTTP1Channel(http: HTTP1Channel(responder: responder, configuration: configuration),
                                       connections: connections)
        }
    }
}
