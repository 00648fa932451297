import Foundation
import Synchronization

/// Runs every write transaction of the node on one dedicated thread.
///
/// Async callers hand a synchronous closure to `write` and are resumed with its result; the
/// closure runs start to finish (begin, puts, commit with fsync) on the writer thread, so no event
/// loop blocks on a disk sync and no transaction spans an `await`. Writes run one at a time in the
/// order they were queued. The queue is bounded (`StoreLimits.writerQueueMax`): when it is
/// full, callers wait for room. Reads do not go through the writer; use
/// `environment.read` on any thread.
///
/// An environment opened without meta-page syncs (`Options.syncsMetaPage` false) syncs each commit's
/// data pages, and with them the meta page the commit before wrote: a power cut can undo the last
/// commit only (LMDB's `MDB_NOMETASYNC`). The chain store's decided-block log holds the last two
/// decided blocks, so that commit is stored again at the next start; one sync per block is saved
/// (there used to be an environment sync after every commit). A caller that needs every earlier
/// write safe from a power loss without such a log awaits `barrier()`, which syncs the environment.
public final class StoreWriter: Sendable {
    /// The environment the writer commits to.
    public let environment: LMDBEnvironment
    private let thread: SerialThread

    /// Starts the writer thread for `environment`.
    public init(environment: LMDBEnvironment, queueCapacity: Int = StoreLimits.writerQueueMax) {
        self.environment = environment
        thread = SerialThread(name: "totem-store-writer", queueCapacity: queueCapacity)
    }

    /// Runs `body` in one write transaction on the writer thread and returns its result once the
    /// transaction is committed (durably, but for the meta page when the environment defers
    /// meta-page syncs; see the type's comment); rethrows what `body` throws (the transaction is then aborted). `body` may
    /// run more than once if the map has to grow, so it must not have effects outside the
    /// transaction. A write that was queued runs even if the calling task is cancelled.
    @discardableResult
    public func write<T: Sendable>(_ body: @escaping @Sendable (WriteTxn) throws -> T) async throws -> T {
        let environment = self.environment
        return try await thread.run { try environment.write(body) }
    }

    /// As `write`, and when `readAfter` says so of the result, begins a read transaction right
    /// after the commit, on the writer thread, before any later write: it sees exactly the state
    /// this write left (a checkpoint's snapshot). A read that cannot begin is returned as nil.
    public func write<T: Sendable>(_ body: @escaping @Sendable (WriteTxn) throws -> T,
                                   readAfter: @escaping @Sendable (T) -> Bool) async throws -> (T, DetachedRead?) {
        let environment = self.environment
        return try await thread.run {
            let value = try environment.write(body)
            guard readAfter(value) else { return (value, nil) }
            _ = try? environment.growAhead()  // a failure leaves the map as it was: writes grow it later
            return (value, try? environment.beginDetachedRead())
        }
    }

    /// Returns once every write queued before it is synced to disk, meta pages included.
    public func barrier() async throws {
        let environment = self.environment
        try await thread.run {
            guard !environment.options.syncsMetaPage else { return }
            try environment.sync()
        }
    }

    /// Runs `body` (blocking I/O outside LMDB) on the writer thread once every write queued before
    /// it is committed (synced but for the last one's meta page when meta-page syncs are deferred),
    /// and returns its result.
    public func afterQueuedWrites<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await thread.run(body)
    }

    /// Stops accepting writes, lets the queued ones finish, syncs the environment (a stopped node's
    /// store is whole without its decided-block log), and returns when the thread has exited.
    public func shutdown() async {
        try? await barrier()
        await thread.shutdown()
    }
}

/// A dedicated thread that runs blocking jobs (disk writes and syncs) one at a time, in the order
/// they were queued, for async callers. Its queue is bounded; callers beyond it wait for room.
public final class SerialThread: Sendable {
    private let queue: WriterQueue

    public init(name: String, queueCapacity: Int) {
        precondition(queueCapacity > 0, "queue capacity must be positive")
        let queue = WriterQueue(capacity: queueCapacity)
        self.queue = queue
        let thread = Thread { queue.runUntilClosed() }
        thread.name = name
        thread.start()
    }

    deinit {
        queue.close()
    }

    /// Runs `body` on the thread and returns its result. Throws `.closed` after `shutdown`.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await queue.reserveSlot()
        return try await withCheckedThrowingContinuation { continuation in
            queue.enqueueReserved {
                let result = Result { try body() }
                return { continuation.resume(with: result) }
            }
        }
    }

    /// Stops accepting jobs, lets the queued ones finish, and returns when the thread has exited.
    public func shutdown() async {
        queue.close()
        await queue.waitUntilFinished()
    }
}

/// The bounded job queue between async callers and the writer thread.
final class WriterQueue: Sendable {
    /// Runs a write and returns how to report its result. The writer thread drops the job (and
    /// with it everything the write captured, such as the environment) before reporting, so a
    /// caller that resumes and closes the store does not race the writer thread's last reference
    /// (a report that syncs afterwards holds the environment until then: `shutdown` waits for it).
    typealias Job = @Sendable () -> @Sendable () -> Void

    private struct State {
        var jobs: [Job] = []
        var head = 0
        /// Slots promised to callers that are about to enqueue.
        var reserved = 0
        var accepting = true
        var finished = false
        var waitingForRoom: [CheckedContinuation<Void, Never>] = []
        var waitingForFinish: [CheckedContinuation<Void, Never>] = []

        var queuedCount: Int { jobs.count - head }
    }

    private let capacity: Int
    private let state = Mutex(State())
    /// Counts queued jobs plus one signal for closing: the writer thread sleeps on it.
    private let wakeups = DispatchSemaphore(value: 0)

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Waits until the queue has room and reserves it; throws `.closed` after `close()`.
    func reserveSlot() async throws {
        while true {
            let reservedNow = try state.withLock { s -> Bool in
                guard s.accepting else { throw StoreError(.closed, "the store writer is shut down") }
                guard s.queuedCount + s.reserved < capacity else { return false }
                s.reserved += 1
                return true
            }
            if reservedNow { return }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let retryNow = state.withLock { s -> Bool in
                    if !s.accepting || s.queuedCount + s.reserved < capacity { return true }
                    s.waitingForRoom.append(continuation)
                    return false
                }
                if retryNow { continuation.resume() }
            }
        }
    }

    /// Queues a job in a slot reserved by `reserveSlot` (accepted even if closing meanwhile: the
    /// writer drains the queue before it exits).
    func enqueueReserved(_ job: @escaping Job) {
        state.withLock { s in
            precondition(s.reserved > 0, "enqueueReserved without a reserved slot")
            s.reserved -= 1
            s.jobs.append(job)
        }
        wakeups.signal()
    }

    func close() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard s.accepting else { return [] }
            s.accepting = false
            defer { s.waitingForRoom.removeAll() }
            return s.waitingForRoom
        }
        waiters.forEach { $0.resume() }
        wakeups.signal()
    }

    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                if s.finished { return true }
                s.waitingForFinish.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// The writer thread's loop: run jobs in order until closed and drained.
    func runUntilClosed() {
        while true {
            var pending: Job?
            var roomWaiter: CheckedContinuation<Void, Never>?
            let exit = state.withLock { s -> Bool in
                guard s.head < s.jobs.count else { return !s.accepting && s.reserved == 0 }
                pending = s.jobs[s.head]
                s.head += 1
                if s.head == s.jobs.count || s.head >= capacity {
                    s.jobs.removeFirst(s.head)
                    s.head = 0
                }
                roomWaiter = s.waitingForRoom.isEmpty ? nil : s.waitingForRoom.removeFirst()
                return false
            }
            roomWaiter?.resume()
            if pending != nil {
                let report = Self.run(pending.take())
                report()
            } else if exit {
                break
            } else {
                // Signals may outnumber jobs (one per job plus one for closing); the state decides.
                wakeups.wait()
            }
        }
        let finishWaiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.finished = true
            defer { s.waitingForFinish.removeAll() }
            return s.waitingForFinish
        }
        finishWaiters.forEach { $0.resume() }
    }

    /// Runs `job` and releases it (this function owns the only reference) before returning the
    /// report, so the report runs after everything the write captured is gone.
    private static func run(_ job: consuming Job?) -> @Sendable () -> Void {
        guard let job else { return {} }
        return job()
    }
}
