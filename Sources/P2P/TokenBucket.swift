import P2PWire

/// A token bucket with injected time: `rate` tokens per second up to `burst`. Taking more tokens than
/// are present leaves a debt, and `take` answers how long the caller must wait before acting, so a
/// message larger than the burst is still served, just later.
public struct TokenBucket: Sendable {
    public let ratePerSecond: Double
    public let burst: Double
    private var tokens: Double
    private var lastNs: UInt64

    public init(ratePerSecond: Int, burst: Int, nowNs: UInt64) {
        precondition(ratePerSecond > 0 && burst > 0, "rate and burst must be positive")
        self.ratePerSecond = Double(ratePerSecond)
        self.burst = Double(burst)
        self.tokens = Double(burst)
        self.lastNs = nowNs
    }

    /// Takes `count` tokens at `nowNs`; returns the nanoseconds to wait before the action they pay
    /// for (0 when the bucket held enough).
    public mutating func take(_ count: Int, nowNs: UInt64) -> UInt64 {
        if nowNs > lastNs {
            tokens = min(burst, tokens + Double(nowNs - lastNs) * ratePerSecond / 1e9)
            lastNs = nowNs
        }
        tokens -= Double(count)
        guard tokens < 0 else { return 0 }
        return UInt64((-tokens / ratePerSecond * 1e9).rounded(.up))
    }
}

/// Per-peer inbound limits: messages per second and bytes per second.
public struct RateLimit: Sendable, Hashable {
    public var messagesPerSecond: Int
    public var messagesBurst: Int
    public var bytesPerSecond: Int
    public var bytesBurst: Int

    public init(messagesPerSecond: Int = P2PLimits.inboundMessagesPerSecondDefault,
                messagesBurst: Int = P2PLimits.inboundMessagesBurstDefault,
                bytesPerSecond: Int = P2PLimits.inboundBytesPerSecondDefault,
                bytesBurst: Int = P2PLimits.inboundBytesBurstDefault) {
        self.messagesPerSecond = messagesPerSecond; self.messagesBurst = messagesBurst
        self.bytesPerSecond = bytesPerSecond; self.bytesBurst = bytesBurst
    }
}

/// The two buckets of one peer's inbound traffic.
struct InboundLimiter: Sendable {
    private var messages: TokenBucket
    private var bytes: TokenBucket

    init(_ limit: RateLimit, nowNs: UInt64) {
        messages = TokenBucket(ratePerSecond: limit.messagesPerSecond, burst: limit.messagesBurst, nowNs: nowNs)
        bytes = TokenBucket(ratePerSecond: limit.bytesPerSecond, burst: limit.bytesBurst, nowNs: nowNs)
    }

    /// Charges one frame of `byteCount` bytes; returns the nanoseconds to wait before reading on.
    mutating func charge(byteCount: Int, nowNs: UInt64) -> UInt64 {
        max(messages.take(1, nowNs: nowNs), bytes.take(byteCount, nowNs: nowNs))
    }
}

/// Counts occurrences of something worth logging and says when to report them: the first at once,
/// then at most one report per `intervalMs`, carrying the count since the last report.
/// Public so the node's other services throttle their repeated warnings the same way.
public struct ReportThrottle: Sendable {
    public var intervalMs: Int64
    private var countSinceReport = 0
    private var reportedMs: Int64?

    public init(intervalMs: Int64 = P2PLimits.refusalReportIntervalMs) { self.intervalMs = intervalMs }

    /// Notes one occurrence; returns the count to report now, or nil to stay quiet.
    public mutating func note(nowMs: Int64) -> Int? {
        countSinceReport += 1
        if let last = reportedMs, nowMs - last < intervalMs { return nil }
        defer { countSinceReport = 0; reportedMs = nowMs }
        return countSinceReport
    }
}
