import Synchronization

/// The consensus runtime's inbox: one consumer, many producers. Control events (timers, work
/// pending, catch-up answers) are never dropped (they are few: each comes from an action the
/// replica asked for); network messages are bounded and the newest is dropped when full, since
/// PBFT recovers lost messages through view changes and certificates.
final class EventQueue<Element: Sendable>: Sendable {
    private struct State {
        var control: [Element] = []
        var network: [Element] = []
        var networkHead = 0
        var waiter: CheckedContinuation<Element?, Never>?
        var closed = false
        var dropped = 0
    }

    private let state = Mutex(State())
    let networkCapacity: Int

    init(networkCapacity: Int) { self.networkCapacity = networkCapacity }

    func pushControl(_ e: Element) { _ = push(e, control: true) }

    /// Returns false when the message was dropped.
    @discardableResult
    func pushNetwork(_ e: Element) -> Bool { push(e, control: false) }

    private func push(_ e: Element, control: Bool) -> Bool {
        let (waiter, accepted): (CheckedContinuation<Element?, Never>?, Bool) = state.withLock { s in
            guard !s.closed else { return (nil, false) }
            if let w = s.waiter {
                s.waiter = nil
                return (w, true)
            }
            if control {
                s.control.append(e)
            } else {
                guard s.network.count - s.networkHead < networkCapacity else {
                    s.dropped += 1
                    return (nil, false)
                }
                s.network.append(e)
            }
            return (nil, true)
        }
        waiter?.resume(returning: e)
        return accepted
    }

    /// The next event (control first), or nil once closed.
    func next() async -> Element? {
        await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
            let ready: Element?? = state.withLock { s in
                if !s.control.isEmpty { return .some(s.control.removeFirst()) }
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
    var isClosed: Bool { state.withLock { $0.closed } }
}
