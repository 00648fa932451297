import NIOConcurrencyHelpers

/// The node's inbound events, bounded in count (`eventBufferMaxCount`) and in bytes
/// (`eventBufferMaxBytes`): an event that would pass either bound is dropped and counted, so a node
/// that stops reading cannot make P2P hold unbounded memory. Consensus tolerates lost messages and
/// catch-up asks again; the admission function, not this stream, is the path of transactions.
/// One consumer at a time.
public struct P2PEvents: AsyncSequence, Sendable {
    public typealias Element = P2PEvent

    let stream: AsyncStream<P2PEvent>
    let budget: EventBudget

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<P2PEvent>.AsyncIterator
        let budget: EventBudget

        public mutating func next() async -> P2PEvent? {
            guard let event = await base.next() else { return nil }
            budget.release(event.byteCost)
            return event
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), budget: budget)
    }
}

/// Bytes held by events not yet consumed.
final class EventBudget: Sendable {
    private struct State {
        var bytes = 0
        var dropped = 0
    }

    private let state = NIOLockedValueBox(State())
    let maxBytes: Int

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func reserve(_ cost: Int) -> Bool {
        state.withLockedValue { s in
            guard s.bytes + cost <= maxBytes else {
                s.dropped += 1
                return false
            }
            s.bytes += cost
            return true
        }
    }

    func release(_ cost: Int) { state.withLockedValue { $0.bytes -= cost } }

    func dropped(returning cost: Int) {
        state.withLockedValue { s in
            s.bytes -= cost
            s.dropped += 1
        }
    }

    var droppedCount: Int { state.withLockedValue { $0.dropped } }
}

extension P2PEvent {
    /// What the event holds in memory, roughly: its payload bytes plus a fixed overhead.
    var byteCost: Int {
        let overhead = 128
        switch self {
        case .consensus(_, let payload): return overhead + payload.count
        case .txBatch(_, let txs): return overhead + txs.reduce(0) { $0 + $1.bytes.count + overhead }
        case .blockResponse(_, _, let blocks): return overhead + blocks.reduce(0) { $0 + $1.count }
        case .checkpointVote(_, let p), .snapshotOffer(_, let p), .chunkResponse(_, _, _, let p): return overhead + p.count
        default: return overhead
        }
    }
}
