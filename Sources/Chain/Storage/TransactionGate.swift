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
/// A thread must not ask for the exclusive pass while it holds a shared one (e.g. a write started
/// inside a read closure): it would wait for itself.
final class TransactionGate: Sendable {
    private struct State {
        var sharedCount = 0
        var exclusiveClaimed = false
    }

    private let state = Mutex(State())

    func enterShared() {
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

    func leaveShared() {
        state.withLock { s in
            precondition(s.sharedCount > 0, "TransactionGate: leaveShared without enterShared")
            s.sharedCount -= 1
        }
    }

    /// Runs `body` while no transaction of this process is open.
    func withExclusive<T>(_ body: () throws -> T) rethrows -> T {
        var pause = StoreLimits.resizeWaitMinMicroseconds
        while !state.withLock({ s -> Bool in
            if s.exclusiveClaimed { return false }
            s.exclusiveClaimed = true
            return true
        }) {
            Self.sleep(&pause)
        }
        defer { state.withLock { $0.exclusiveClaimed = false } }
        pause = StoreLimits.resizeWaitMinMicroseconds
        while state.withLock({ $0.sharedCount }) > 0 {
            Self.sleep(&pause)
        }
        return try body()
    }

    private static func sleep(_ pause: inout UInt32) {
        usleep(pause)
        pause = min(pause * 2, StoreLimits.resizeWaitMaxMicroseconds)
    }
}
