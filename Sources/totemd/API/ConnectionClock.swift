/// The deadline of one HTTP connection, as a value: no clock, no I/O. The connection's handler
/// tells it what was read and written, and when; it answers when the connection must be closed.
///
/// Every state has a deadline, so no connection stays open for ever, whatever the client does:
/// - idle (no request begun, no answer owed): `idleTimeoutMs` from the last answer (or the accept);
/// - header (bytes of a request arrived, its header block not complete): `headerReadTimeoutMs` from
///   the first byte;
/// - body (header block read, body not complete): `bodyReadTimeoutMs` from the end of the header;
/// - answering (request read, answer not written): `responseTimeoutMs` from the end of the request
///   (or from the previous answer, for a pipelined one), or from the last part written of a
///   streamed answer.
/// A read timer runs from a fixed start: bytes trickling in never push it back.
struct ConnectionClock: Sendable, Equatable {
    enum Phase: Sendable, Equatable { case idle, header, body }
    /// Which timer ran out.
    enum Expiry: Sendable, Equatable { case idle, header, body, response }

    let limits: ConnectionLimits
    private(set) var phase = Phase.idle
    private(set) var phaseStartNs: UInt64
    /// Requests whose header was read and whose answer is not yet written.
    private(set) var answersOwed = 0
    private(set) var answerStartNs: UInt64

    init(limits: ConnectionLimits, nowNs: UInt64) {
        self.limits = limits
        phaseStartNs = nowNs
        answerStartNs = nowNs
    }

    /// Bytes arrived from the client; the first ones after an idle time begin a request.
    mutating func bytesRead(nowNs: UInt64) {
        guard phase == .idle else { return }
        phase = .header
        phaseStartNs = nowNs
    }

    /// A request's header block was read.
    mutating func headRead(nowNs: UInt64) {
        phase = .body
        phaseStartNs = nowNs
        answersOwed += 1
    }

    /// A request was read whole.
    mutating func endRead(nowNs: UInt64) {
        phase = .idle
        phaseStartNs = nowNs
        if answersOwed == 1 { answerStartNs = nowNs }
    }

    /// An answer was written whole (it may come before its request's body was read, e.g. a 413).
    mutating func answerWritten(nowNs: UInt64) {
        answersOwed = max(0, answersOwed - 1)
        answerStartNs = nowNs
        if phase == .idle { phaseStartNs = nowNs }
    }

    /// Part of a streamed answer (an event stream) was written: its `responseTimeoutMs` starts
    /// again, so a stream lives while its reader takes what it is sent. A reader that stops
    /// reading stops the writes (backpressure), and the timer runs out.
    mutating func answerProgressed(nowNs: UInt64) {
        guard answersOwed > 0 else { return }
        answerStartNs = nowNs
    }

    /// When the connection must be closed unless something happens first, and why.
    var deadline: (atNs: UInt64, expiry: Expiry) {
        switch phase {
        case .header: return (phaseStartNs &+ Self.ns(limits.headerReadTimeoutMs), .header)
        case .body: return (phaseStartNs &+ Self.ns(limits.bodyReadTimeoutMs), .body)
        case .idle where answersOwed > 0: return (answerStartNs &+ Self.ns(limits.responseTimeoutMs), .response)
        case .idle: return (phaseStartNs &+ Self.ns(limits.idleTimeoutMs), .idle)
        }
    }

    /// The expiry, if the deadline has passed at `nowNs`.
    func expired(nowNs: UInt64) -> Expiry? {
        let d = deadline
        return nowNs >= d.atNs ? d.expiry : nil
    }

    private static func ns(_ ms: Int) -> UInt64 { UInt64(max(0, ms)) * 1_000_000 }
}
