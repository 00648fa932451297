import Chain
import Synchronization

/// The internal stream of committed blocks (DESIGN.md "Later": an explorer can follow it). Each
/// subscriber has a bounded buffer; a subscriber that falls behind loses the oldest blocks and can
/// re-read them from the store by height.
final class CommitFeed: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<Block>.Continuation]>([:])
    private let nextId = Mutex(0)
    static let bufferBlocks = 64

    func publish(_ block: Block) {
        let targets = subscribers.withLock { Array($0.values) }
        for c in targets { c.yield(block) }
    }

    func subscribe() -> AsyncStream<Block> {
        let id = nextId.withLock { v -> Int in v += 1; return v }
        let (stream, continuation) = AsyncStream<Block>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferBlocks))
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0.removeValue(forKey: id) } }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }
}
