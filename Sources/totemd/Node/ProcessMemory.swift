import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The process's memory as Linux reports it (`/proc/self/statm`), for `/metrics`.
enum ProcessMemory {
    /// Resident bytes: the second field of `statm` (pages) times the page size; nil where there is
    /// no such file or it does not parse.
    static func residentBytes() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        return residentBytes(statm: text, pageBytes: UInt64(sysconf(Int32(_SC_PAGESIZE))))
    }

    static func residentBytes(statm: String, pageBytes: UInt64) -> UInt64? {
        let fields = statm.split(separator: " ")
        guard fields.count >= 2, let pages = UInt64(fields[1]) else { return nil }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageBytes)
        return overflow ? nil : bytes
    }

    /// Anonymous resident bytes (`RssAnon` of `/proc/self/status`: the heap, not the mapped
    /// store); nil where there is no such line.
    static func anonymousBytes() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return anonymousBytes(status: text)
    }

    static func anonymousBytes(status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 3, fields[2] == "kB", let kib = UInt64(fields[1]) else { return nil }
            let (bytes, overflow) = kib.multipliedReportingOverflow(by: 1024)
            return overflow ? nil : bytes
        }
        return nil
    }
}

/// Gives freed heap memory back to the system after a burst.
///
/// glibc's malloc keeps what was freed for reuse, so a node's anonymous memory stays at the high
/// water of its busiest minute: after a fill with batches (admission queue, gossip inboxes and
/// mempool full of decoded 500-work txs) a devnet node kept 690 MiB resident with 550 MiB in use,
/// and `malloc_trim` gave 205 MiB back at once. `MemoryTrim` runs it on a thread of its own (it
/// holds each malloc arena's lock while it walks it), only when the anonymous memory is above
/// `NodeLimits.memoryTrimAboveBytes` and at most every `NodeLimits.memoryTrimIntervalSeconds`.
final class MemoryTrim: Sendable {
    private let running = Atomic<Bool>(false)
    private let trims = Atomic<Int>(0)

    /// Trims done so far.
    var count: Int { trims.load(ordering: .relaxed) }

    /// Starts a trim unless one is running: `first` runs on the trim's thread (freeing what it can
    /// before the heap is trimmed), then the trim; `done` gets the anonymous bytes before both
    /// and after.
    func start(first: @escaping @Sendable () -> Void = {},
               done: @escaping @Sendable (_ before: UInt64?, _ after: UInt64?) -> Void) {
        #if canImport(Glibc)
        guard let mallocTrim = Self.mallocTrim else { return }
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let thread = Thread { [self] in
            let before = ProcessMemory.anonymousBytes()
            first()
            _ = mallocTrim(0)
            let after = ProcessMemory.anonymousBytes()
            trims.add(1, ordering: .relaxed)
            running.store(false, ordering: .releasing)
            done(before, after)
        }
        thread.name = "totem-memory-trim"
        thread.qualityOfService = .background
        thread.start()
        #endif
    }

    #if canImport(Glibc)
    /// glibc's `int malloc_trim(size_t pad)`, looked up at run time: Glibc's Swift module does not
    /// export <malloc.h>. Nil on a C library without it (nothing is trimmed then).
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()
    #endif
}

/// When the node trims its heap: above `NodeLimits.memoryTrimAboveBytes` of anonymous memory, at
/// most every `memoryTrimIntervalSeconds`, and only once it grew by `memoryTrimRegrowthBytes` since
/// what the last trim left, or `memoryTrimQuietSeconds` after the last trim. A node that holds its
/// memory in use would otherwise trim every 30 s for nothing, and `malloc_trim` walks the whole
/// heap holding the arenas' locks, which every allocation then waits for. But what a trim under
/// load left was in use then (pending batches, a block write's buffers): a node that stays a
/// little below that plus the margin once the load is gone is trimmed after the quiet time (at a
/// million works one validator held 322 MiB after a benchmark's last phase, its last trim having
/// left about 260).
struct TrimPolicy: Sendable, Equatable {
    private var secondsSinceTrim = 0
    private var lastAfter: UInt64?

    /// Called once a second with the anonymous bytes now; true when a trim should start.
    mutating func tick(anonymous: UInt64) -> Bool {
        secondsSinceTrim += 1
        guard anonymous > NodeLimits.memoryTrimAboveBytes, secondsSinceTrim >= NodeLimits.memoryTrimIntervalSeconds
        else { return false }
        if let lastAfter, anonymous < lastAfter + NodeLimits.memoryTrimRegrowthBytes,
           secondsSinceTrim < NodeLimits.memoryTrimQuietSeconds { return false }
        secondsSinceTrim = 0
        lastAfter = anonymous  // until the trim reports what it left
        return true
    }

    /// What a trim left. A trim whose LMDB reopen did not happen (a snapshot walk was open, or no
    /// moment without transactions came) sets no regrowth hurdle: the next tick after the interval
    /// tries again, instead of waiting for the quiet time with LMDB's buffers still held.
    mutating func trimmed(after: UInt64, storeReopened: Bool = true) {
        lastAfter = storeReopened ? after : nil
    }
}
