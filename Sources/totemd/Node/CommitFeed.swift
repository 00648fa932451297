import ChainModel
import Synchronization

/// The internal stream of committed blocks (DESIGN.md "Later": an explorer can follow it), and the
/// committed height that API requests may wait for (`wait(forHeight:timeout:)`).
///
/// Each subscriber has a bounded buffer; a subscriber that falls behind loses the oldest blocks and
/// can re-read them from the store by height. At most `NodeLimits.heightWaitersMax` requests wait
/// at once; more are answered at once, as if they had not asked to wait.
final class CommitFeed: Sendable {
    static let bufferBlocks = 64

    private struct Waiter {
        var target: UInt64
        /// Nil until the waiting task has suspended.
        var continuation: CheckedContinuation<Void, Never>?
    }

    private struct State {
        var height: UInt64 = 0
        var nextId = 0
        var subscribers: [Int: AsyncStream<Block>.Continuation] = [:]
        var waiters: [Int: Waiter] = [:]
    }

    private let state = Mutex(State())

    /// Sets the committed height without a block (the store's tip when the node starts).
    func start(at height: UInt64) {
        advance(to: height)
    }

    /// A block was committed: subscribers get it and requests waiting for its height return.
    func publish(_ block: Block) {
        let targets = state.withLock { Array($0.subscribers.values) }
        for c in targets { c.yield(block) }
        advance(to: block.height)
    }

    func subscribe() -> AsyncStream<Block> {
        let (stream, continuation) = AsyncStream<Block>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferBlocks))
        let id = state.withLock { s -> Int in
            s.nextId += 1
            s.subscribers[s.nextId] = continuation
            return s.nextId
        }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) } }
        return stream
    }

    /// Returns true once the committed height is at least `target`, false after `timeout` (or at
    /// once when too many requests are already waiting).
    func wait(forHeight target: UInt64, timeout: Duration) async -> Bool {
        let registered = state.withLock { s -> Int? in
            guard s.height < target, s.waiters.count < NodeLimits.heightWaitersMax else { return nil }
            s.nextId += 1
            s.waiters[s.nextId] = Waiter(target: target)
            return s.nextId
        }
        guard let id = registered else { return reached(target) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)  // cancelled only when the wait ends first: release either way
                self.release(id)
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let released = state.withLock { s -> Bool in
                    guard s.waiters[id] != nil else { return true }  // released before suspending
                    s.waiters[id]?.continuation = continuation
                    return false
                }
                if released { continuation.resume() }
            }
            group.cancelAll()
        }
        return reached(target)
    }

    private func reached(_ target: UInt64) -> Bool {
        state.withLock { $0.height >= target }
    }

    private func advance(to height: UInt64) {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.height = max(s.height, height)
            let due = s.waiters.filter { $0.value.target <= s.height }
            for id in due.keys { s.waiters[id] = nil }
            return due.values.compactMap(\.continuation)
        }
        for c in ready { c.resume() }
    }

    /// Ends one wait (timeout or cancellation): resumes it if it is still waiting.
    private func release(_ id: Int) {
        let continuation = state.withLock { s in s.waiters.removeValue(forKey: id)?.continuation }
        continuation?.resume()
    }
}
