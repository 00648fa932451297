import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lets transactions run concurrently and a map resize run alone.
///
/// `mdb_env_set_mapsize` unmaps and remaps the data file, so a transaction of this process that is
/// open at that moment would read unmapped memory, and LMDB does not check for it. Every
/// transaction therefore holds a shared pass from begin to commit/abort, and a resize takes the
/// exclusive pass, which waits until no shared pass is held. New shared passes wait while an
/// exclusive one is claimed, so a steady stream of reads cannot starve a resize.
///
/// Waiting polls with a short, growing sleep: resizes happen a handful of times in a store's life
/// (the map doubles), so a condition variable would buy nothing measurable.
///
/// A thread that already holds a shared pass (a read begun inside another read's closure, e.g.
/// admission looking up a tx while it holds the committed state) gets another at once, even while
/// an exclusive pass is claimed: making it wait would deadlock, since the claim waits for the pass
/// that thread holds. (It did: every validator of a devnet stopped at the same map growth, with
/// admission's nested read waiting for the resize and the resize for admission's outer read.)
/// The gate counts each thread's passes in thread-local storage for that.
///
/// A thread that holds a shared pass cannot take the exclusive one (it would wait for itself):
/// `withExclusive` refuses with an error instead.
final class TransactionGate: Sendable {
    private struct State {
        var sharedCount = 0
        var exclusiveClaimed = false
    }

    private let state = Mutex(State())
    /// This gate's thread-local count of the shared passes the calling thread holds.
    private let held = ThreadLocalCount()

    /// Takes a shared pass for a transaction run on this thread (counted as held by it).
    func enterShared() {
        if held.value > 0 {
            state.withLock { $0.sharedCount += 1 }
            held.value += 1
            return
        }
        enterSharedWaiting()
        held.value = 1
    }

    /// Takes a shared pass for a transaction another thread will end (`DetachedRead`): not
    /// counted as held by this thread.
    func enterSharedDetached() { enterSharedWaiting() }

    private func enterSharedWaiting() {
        var pause = StoreLimits.resizeWaitMinMicroseconds
        while true {
            let entered = state.withLock { s -> Bool in
                if s.exclusiveClaimed { return false }
                s.sharedCount += 1
                return true
            }
            if entered { return }
            Self.sleep(&pause)
        }
    }

    /// Gives back a pass taken by `enterShared` on this thread.
    func leaveShared() {
        precondition(held.value > 0, "TransactionGate: leaveShared on a thread that holds no pass")
        held.value -= 1
        leaveSharedDetached()
    }

    /// Gives back a pass taken by `enterSharedDetached`, on any thread.
    func leaveSharedDetached() {
        state.withLock { s in
            precondition(s.sharedCount > 0, "TransactionGate: leaveShared without enterShared")
            s.sharedCount -= 1
        }
    }

    /// Whether a resize has claimed the gate (new threads' passes wait).
    var exclusiveIsClaimed: Bool { state.withLock { $0.exclusiveClaimed } }

    /// Whether the calling thread holds a shared pass of this gate.
    var heldByThisThread: Bool { held.value > 0 }

    /// Runs `body` while no transaction of this process is open. Throws, running nothing, on a
    /// thread that holds a shared pass itself (a write begun inside a read closure whose map must
    /// grow): waiting would never end.
    func withExclusive<T>(_ body: () throws -> T) throws -> T {
        guard !heldByThisThread else {
            throw StoreError(.io, "the map must be resized, but this thread holds a transaction open; "
                             + "retry the write outside any read")
        }
        var pause = StoreLimits.resizeWaitMinMicroseconds
        while !claim(onlyWhenIdle: false) {
            Self.sleep(&pause)
        }
        defer { state.withLock { $0.exclusiveClaimed = false } }
        pause = StoreLimits.resizeWaitMinMicroseconds
        while state.withLock({ $0.sharedCount }) > 0 {
            Self.sleep(&pause)
        }
        return try body()
    }

    /// As `withExclusive`, but waits for a moment when no transaction is open instead of claiming
    /// the gate at once: new transactions never wait for it, but under a steady stream of them it
    /// may not find one. Runs `body` with the exclusive pass taken in that moment; gives up after
    /// `waitingAtMost`, running nothing and returning nil.
    func withExclusive<T>(waitingAtMost: Duration, _ body: () throws -> T) throws -> T? {
        guard !heldByThisThread else {
            throw StoreError(.io, "the environment must be reopened, but this thread holds a transaction open")
        }
        let deadline = ContinuousClock.now + waitingAtMost
        var pause = StoreLimits.resizeWaitMinMicroseconds
        while !claim(onlyWhenIdle: true) {
            if ContinuousClock.now >= deadline { return nil }
            usleep(pause)
            pause = min(pause * 2, StoreLimits.reopenPollMaxMicroseconds)
        }
        defer { state.withLock { $0.exclusiveClaimed = false } }
        return try body()
    }

    /// Claims the exclusive pass unless another thread has; with `onlyWhenIdle`, also unless a
    /// shared pass is held. True if claimed.
    private func claim(onlyWhenIdle: Bool) -> Bool {
        state.withLock { s in
            if s.exclusiveClaimed || (onlyWhenIdle && s.sharedCount > 0) { return false }
            s.exclusiveClaimed = true
            return true
        }
    }

    private static func sleep(_ pause: inout UInt32) {
        usleep(pause)
        pause = min(pause * 2, StoreLimits.resizeWaitMaxMicroseconds)
    }
}

/// A non-negative count per thread, in a POSIX thread-specific key of its own (released with the
/// object). Each thread sees only its own value; a new thread starts at 0.
///
/// Why `@unchecked Sendable` is sound: the only stored property is the key, written once in
/// `init`; `pthread_getspecific`/`pthread_setspecific` touch the calling thread's slot only.
final class ThreadLocalCount: @unchecked Sendable {
    private var key = pthread_key_t()

    init() {
        let rc = pthread_key_create(&key, nil)
        precondition(rc == 0, "pthread_key_create failed (\(rc)): too many keys in this process")
    }

    deinit { pthread_key_delete(key) }

    var value: Int {
        get { Int(bitPattern: pthread_getspecific(key)) }
        set { pthread_setspecific(key, UnsafeRawPointer(bitPattern: newValue)) }
    }
}
