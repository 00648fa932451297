import Consensus
import Synchronization

/// A control event for the consensus runtime: what wakes the replica other than a network message.
enum ControlEvent: Sendable, Hashable {
    /// The mempool holds transactions.
    case workPending
    /// `BlockSync` holds blocks ready to commit: the loop should run `commitReadyRun`.
    case catchUpReady
    /// A timer the replica scheduled fired.
    case timeout(Timeout)
}

/// The control lane of the runtime's inbox, as a value: at most one pending event per slot, so
/// no sender can grow it. Repeated wake-ups coalesce (a second `workPending` or `catchUpReady`
/// while one waits adds nothing: the replica reads the mempool and the runtime reads `BlockSync`
/// when it is stepped, not the event's payload). Timeouts keep one per kind, the newest by
/// `(height, sequence)`: the replica acts only on the timer with its latest sequence at its current
/// height (heights only grow, and a replica started afresh after a catch-up run is at a higher
/// height than every timer of the one before), so an older firing is one it would ignore.
/// Events leave in the order their slot was first filled.
struct ControlLane: Sendable {
    enum Slot: Sendable, Hashable {
        case workPending, catchUpReady, timeout(Timeout.Kind)
    }

    /// One per slot: `workPending`, `catchUpReady`, and one timeout per `Timeout.Kind` (two).
    static let capacity = 4

    private(set) var pending: [ControlEvent] = []

    var count: Int { pending.count }
    var isEmpty: Bool { pending.isEmpty }

    static func slot(of e: ControlEvent) -> Slot {
        switch e {
        case .workPending: .workPending
        case .catchUpReady: .catchUpReady
        case .timeout(let t): .timeout(t.kind)
        }
    }

    /// Adds `e` unless an event it supersedes or duplicates waits; returns false if `e` was
    /// coalesced into (or superseded by) the pending one.
    @discardableResult
    mutating func push(_ e: ControlEvent) -> Bool {
        let slot = Self.slot(of: e)
        guard let i = pending.firstIndex(where: { Self.slot(of: $0) == slot }) else {
            pending.append(e)
            precondition(pending.count <= Self.capacity, "one pending control event per slot")
            return true
        }
        if case .timeout(let new) = e, case .timeout(let held) = pending[i],
           (new.height, new.sequence) > (held.height, held.sequence) {
            pending[i] = e  // the held firing is stale now; keep its place in the order
            return true
        }
        return false
    }

    mutating func pop() -> ControlEvent? { pending.isEmpty ? nil : pending.removeFirst() }
}

/// The consensus runtime's inbox: one consumer, many producers. The control lane (timers, work
/// pending, catch-up wake-ups) coalesces to at most `ControlLane.capacity` events and is served
/// first; network messages are bounded by `networkCapacity` and the newest is dropped when full,
/// since PBFT recovers lost messages through view changes and certificates. `makeControl` turns a
/// control event into an element when it is taken.
final class EventQueue<Element: Sendable>: Sendable {
    private struct State {
        var control = ControlLane()
        var network: [Element] = []
        var networkHead = 0
        var waiter: CheckedContinuation<Element?, Never>?
        var closed = false
        var dropped = 0
        var coalesced = 0
    }

    private let state = Mutex(State())
    let networkCapacity: Int
    private let makeControl: @Sendable (ControlEvent) -> Element

    init(networkCapacity: Int, makeControl: @escaping @Sendable (ControlEvent) -> Element) {
        self.networkCapacity = networkCapacity
        self.makeControl = makeControl
    }

    /// Queues a control event, or coalesces it with the pending one of its slot.
    func pushControl(_ e: ControlEvent) {
        let waiter: CheckedContinuation<Element?, Never>? = state.withLock { s in
            guard !s.closed else { return nil }
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            if !s.control.push(e) { s.coalesced += 1 }
            return nil
        }
        waiter?.resume(returning: makeControl(e))
    }

    /// Returns false when the message was dropped.
    @discardableResult
    func pushNetwork(_ e: Element) -> Bool {
        let (waiter, accepted): (CheckedContinuation<Element?, Never>?, Bool) = state.withLock { s in
            guard !s.closed else { return (nil, false) }
            if let w = s.waiter {
                s.waiter = nil
                return (w, true)
            }
            guard s.network.count - s.networkHead < networkCapacity else {
                s.dropped += 1
                return (nil, false)
            }
            s.network.append(e)
            return (nil, true)
        }
        waiter?.resume(returning: e)
        return accepted
    }

    /// The next event (control first), or nil once closed.
    func next() async -> Element? {
        await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
            let ready: Element?? = state.withLock { s in
                if let e = s.control.pop() { return .some(makeControl(e)) }
                if s.networkHead < s.network.count {
                    let e = s.network[s.networkHead]
                    s.networkHead += 1
                    if s.networkHead > 1024, s.networkHead * 2 > s.network.count {
                        s.network.removeFirst(s.networkHead)
                        s.networkHead = 0
                    }
                    return .some(e)
                }
                if s.closed { return .some(nil) }
                s.waiter = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    func close() {
        let w = state.withLock { s -> CheckedContinuation<Element?, Never>? in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume(returning: nil)
    }

    var droppedCount: Int { state.withLock { $0.dropped } }
    /// Control events merged into one already pending (repeated wake-ups, stale timer firings).
    var coalescedCount: Int { state.withLock { $0.coalesced } }
    /// Events waiting: control, network.
    var pendingCounts: (control: Int, network: Int) {
        state.withLock { ($0.control.count, $0.network.count - $0.networkHead) }
    }
    var isClosed: Bool { state.withLock { $0.closed } }
}
