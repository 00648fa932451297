import Synchronization

/// Per-client token buckets (requests per second with a burst), bounded in the number of clients
/// tracked: when the table is full, the least recently seen client is forgotten (it starts again
/// with a full bucket, which costs at most one burst).
final class RateLimiter: Sendable {
    struct Bucket: Sendable {
        var tokens: Double
        var lastSeenNs: UInt64
    }

    static let maxClientsTracked = 65_536

    private let ratePerSecond: Double
    private let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(ratePerSecond: Int, burst: Int) {
        self.ratePerSecond = Double(ratePerSecond)
        self.burst = Double(burst)
    }

    /// Takes `cost` tokens from `client`'s bucket at time `nowNs`; false when the client must wait.
    func allow(_ client: String, cost: Double = 1, nowNs: UInt64) -> Bool {
        buckets.withLock { table in
            var b = table[client] ?? Bucket(tokens: burst, lastSeenNs: nowNs)
            let elapsed = Double(nowNs &- b.lastSeenNs) / 1e9
            b.tokens = min(burst, b.tokens + max(0, elapsed) * ratePerSecond)
            b.lastSeenNs = nowNs
            let ok = b.tokens >= cost
            if ok { b.tokens -= cost }
            if table[client] == nil, table.count >= RateLimiter.maxClientsTracked {
                evictOldest(&table)
            }
            table[client] = b
            return ok
        }
    }

    private func evictOldest(_ table: inout [String: Bucket]) {
        // Rare (only when the table is full): drop the oldest eighth in one pass.
        let cutoff = table.values.map(\.lastSeenNs).sorted()[table.count / 8]
        table = table.filter { $0.value.lastSeenNs > cutoff }
    }
}
