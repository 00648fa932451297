import Foundation
import Synchronization
import Testing
@testable import Storage

@Suite struct StoreMapGrowthTests {
    static let mebibyte = 1 << 20
    static let valueBytes = 1_000

    /// A value that names its key: the key's 8 bytes, then a fill byte derived from it.
    static func value(_ k: UInt64) -> [UInt8] {
        StoreKey.u64(k) + [UInt8](repeating: UInt8(k % 251), count: valueBytes - 8)
    }

    /// Keys 1...20,000 with their values, in 20 write transactions of 1,000 (about 20 MB: a 1 MiB
    /// map grows several times on the way).
    static func writeTwentyThousand(_ env: LMDBEnvironment, _ a: Database) throws {
        for batch in 0..<UInt64(20) {
            try env.write { txn in
                for k in batch * 1_000 + 1...batch * 1_000 + 1_000 {
                    try txn.put(a, key: StoreKey.u64(k), value: value(k))
                }
            }
        }
    }

    @Test func mapGrowsFromOneMiBToFiftyAndDataSurvivesReopen() throws {
        let dir = try TemporaryDirectory("growth")
        let path = dir.sub("env")
        let totalPuts = UInt64(50 * Self.mebibyte / Self.valueBytes)
        let putsPerTxn: UInt64 = 1_024
        let digestBefore: TotemDigest
        do {
            let env = try openEnvironment(path, ["a"], initialMapSizeBytes: Self.mebibyte)
            let a = try env.database("a")
            #expect(env.mapSizeBytes <= 2 * Self.mebibyte)
            var next: UInt64 = 0
            while next < totalPuts {
                let end = min(next + putsPerTxn, totalPuts)
                try env.write { txn in
                    for k in next..<end { try txn.put(a, key: StoreKey.u64(k), value: Self.value(k)) }
                }
                next = end
            }
            // One transaction bigger than the map at that moment has to grow it more than once.
            let sizeBefore = env.mapSizeBytes
            try env.write { txn in
                for k in totalPuts..<totalPuts + UInt64(sizeBefore * 2 / Self.valueBytes) {
                    try txn.put(a, key: StoreKey.u64(k), value: Self.value(k))
                }
            }
            #expect(env.mapGrowthCount >= 6, "1 MiB doubling to hold > 50 MiB grows at least 6 times")
            #expect(env.mapSizeBytes >= 50 * Self.mebibyte)
            digestBefore = TotemDigest(try env.read { try $0.digest([a]) })
        }
        let env = try openEnvironment(path, ["a"], initialMapSizeBytes: Self.mebibyte)
        let a = try env.database("a")
        #expect(TotemDigest(try env.read { try $0.digest([a]) }) == digestBefore, "all data readable after reopen")
        let spotChecks = try env.read { txn throws -> Int in
            var good = 0
            for k in stride(from: 0, to: totalPuts, by: 997) {
                if try txn.get(a, key: StoreKey.u64(k)) == Self.value(k) { good += 1 }
            }
            return good
        }
        #expect(spotChecks == Int((totalPuts + 996) / 997))
        // Reopened with a map smaller than the data: the next big write grows it again.
        try env.write { txn in
            for k in 0..<UInt64(4 * Self.mebibyte / Self.valueBytes) {
                try txn.put(a, key: StoreKey.u64(1 << 40 + k), value: Self.value(k))
            }
        }
        #expect(try env.read { try $0.get(a, key: StoreKey.u64(1 << 40)) } == Self.value(0))
    }

    @Test func readersOnOtherThreadsKeepWorkingWhileTheMapGrows() async throws {
        let dir = try TemporaryDirectory("growth-readers")
        let env = try openEnvironment(dir.sub("env"), ["a"], initialMapSizeBytes: Self.mebibyte)
        let a = try env.database("a")
        try env.write { try $0.put(a, key: StoreKey.u64(0), value: Self.value(0)) }
        let done = Flag()
        let (reads, bad) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            group.addTask {
                defer { done.set() }
                try Self.writeTwentyThousand(env, a)
                return (0, 0)
            }
            group.addTask {
                var reads = 0, bad = 0
                while !done.isSet || reads == 0 {
                    let v = try env.read { try $0.get(a, key: StoreKey.u64(0)) }
                    if v != Self.value(0) { bad += 1 }
                    reads += 1
                }
                return (reads, bad)
            }
            return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        }
        #expect(env.mapGrowthCount >= 3, "20 MB from a 1 MiB map")
        #expect(reads > 0)
        #expect(bad == 0)
    }

    @Test func growthStopsAtTheConfiguredMaximum() throws {
        let dir = try TemporaryDirectory("growth-max")
        let env = try openEnvironment(dir.sub("env"), ["a"], initialMapSizeBytes: Self.mebibyte,
                                      maxMapSizeBytes: 2 * Self.mebibyte)
        let a = try env.database("a")
        do {
            try env.write { txn in
                for k in 0..<UInt64(4 * Self.mebibyte / Self.valueBytes) {
                    try txn.put(a, key: StoreKey.u64(k), value: Self.value(k))
                }
            }
            Issue.record("4 MB fitted in a map capped at 2 MiB")
        } catch let error as StoreError {
            #expect(error.code == .mapFull)
        }
        #expect(env.mapSizeBytes <= 2 * Self.mebibyte)
        try env.write { try $0.put(a, key: [1], value: [2]) }
        #expect(try env.read { try $0.count(a) } == 1, "the failed write left nothing behind; the store still works")
    }

    @Test func aWriteThatCatchesMapFullIsStillRetried() throws {
        let dir = try TemporaryDirectory("growth-catch")
        let env = try openEnvironment(dir.sub("env"), ["a"], initialMapSizeBytes: Self.mebibyte)
        let a = try env.database("a")
        let puts = UInt64(3 * Self.mebibyte / Self.valueBytes)
        let attempts = try env.write { txn throws -> Int in
            var swallowed = 0
            for k in 0..<puts {
                do { try txn.put(a, key: StoreKey.u64(k), value: Self.value(k)) } catch { swallowed += 1; break }
            }
            return swallowed
        }
        #expect(env.mapGrowthCount >= 1, "3 MB in a 1 MiB map hit MDB_MAP_FULL")
        #expect(attempts == 0, "the result is the final, successful run's")
        #expect(try env.read { try $0.count(a) } == Int(puts))
    }
}

@Suite struct TransactionGateTests {
    /// The deadlock a devnet met at a map growth: a thread holding a read begins a nested read
    /// while a resize has claimed the gate. The nested read must get its pass at once (the resize
    /// waits for the outer one anyway), and the resize runs once both are given back.
    @Test func aNestedReadIsNotMadeToWaitForAClaimedResize() throws {
        let gate = TransactionGate()
        let held = DispatchSemaphore(value: 0), claimed = DispatchSemaphore(value: 0)
        let nestedEntered = DispatchSemaphore(value: 0), resized = DispatchSemaphore(value: 0)
        // Passes are per thread: the holder is a thread of its own, not a task that may move.
        let holder = Thread {
            gate.enterShared()
            held.signal()
            claimed.wait()
            gate.enterShared()  // nested: before the fix this waited for the resize, forever
            nestedEntered.signal()
            gate.leaveShared()
            gate.leaveShared()
        }
        holder.start()
        held.wait()
        let resizer = Thread {
            do { try gate.withExclusive { () } } catch { return }
            resized.signal()
        }
        resizer.start()
        var sawClaim = false
        for _ in 0..<10_000 where !sawClaim {
            sawClaim = gate.exclusiveIsClaimed
            if !sawClaim { usleep(1_000) }
        }
        #expect(sawClaim, "the resize claimed the gate while the holder held a pass")
        claimed.signal()
        #expect(nestedEntered.wait(timeout: .now() + 10) == .success, "the nested pass was given at once")
        #expect(resized.wait(timeout: .now() + 10) == .success, "the resize ran once both passes were given back")
    }

    @Test func aThreadHoldingAPassIsRefusedTheExclusiveOneInsteadOfWaitingForItself() throws {
        let gate = TransactionGate()
        gate.enterShared()
        defer { gate.leaveShared() }
        #expect(throws: StoreError.self) { try gate.withExclusive { () } }
    }

    /// The same through LMDB: reads nested in a read on one thread while a writer on another grows
    /// the map many times. Before the fix this hung at the first growth.
    @Test func nestedReadsKeepWorkingWhileTheMapGrows() async throws {
        let dir = try TemporaryDirectory("growth-nested")
        let env = try openEnvironment(dir.sub("env"), ["a"], initialMapSizeBytes: StoreMapGrowthTests.mebibyte)
        let a = try env.database("a")
        try env.write { try $0.put(a, key: StoreKey.u64(0), value: StoreMapGrowthTests.value(0)) }
        let done = Flag()
        let writer = Task.detached {
            defer { done.set() }
            try StoreMapGrowthTests.writeTwentyThousand(env, a)
        }
        let reader = Task.detached { () throws -> (Int, Int) in
            var nested = 0, bad = 0
            while !done.isSet || nested == 0 {
                try env.read { outer in
                    _ = try outer.get(a, key: StoreKey.u64(0))
                    usleep(200)  // hold the outer read while the writer may claim the gate
                    let v = try env.read { try $0.get(a, key: StoreKey.u64(0)) }
                    if v != StoreMapGrowthTests.value(0) { bad += 1 }
                    nested += 1
                }
            }
            return (nested, bad)
        }
        try await writer.value
        let (nested, bad) = try await reader.value
        #expect(env.mapGrowthCount >= 3, "20 MB from a 1 MiB map")
        #expect(nested > 0)
        #expect(bad == 0)
    }
}

/// A digest wrapper so `#expect` can compare and print it.
struct TotemDigest: Equatable, CustomStringConvertible {
    let hex: String
    init(_ d: some CustomStringConvertible) { hex = d.description }
    var description: String { hex }
}

/// A one-way flag shared between tasks.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

@Suite struct StoreConcurrentGrowthTests {
    @Test func writersOnSeveralThreadsShareTheGrowingMap() async throws {
        let dir = try TemporaryDirectory("growth-writers")
        let env = try openEnvironment(dir.sub("env"), ["a"], initialMapSizeBytes: StoreMapGrowthTests.mebibyte)
        let a = try env.database("a")
        let writers = 3, transactions = 8, puts: UInt64 = 500
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for t in 0..<transactions {
                        let base = UInt64(w) << 32 | UInt64(t) << 16
                        try env.write { txn in
                            for k in base..<base + puts { try txn.put(a, key: StoreKey.u64(k), value: StoreMapGrowthTests.value(k)) }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(env.mapGrowthCount >= 2)
        #expect(try env.read { try $0.count(a) } == writers * transactions * Int(puts))
        let sample = UInt64(2) << 32 | UInt64(7) << 16 | 499
        #expect(try env.read { try $0.get(a, key: StoreKey.u64(sample)) } == StoreMapGrowthTests.value(sample))
    }

    /// Before a long read (a checkpoint's snapshot walk) the map grows when less than half is
    /// free, so the writes under way meanwhile have room (a growth waits for every reader); not
    /// while a detached read is open, which the growth would wait for.
    @Test func growAheadMakesRoomBeforeALongReadButNotDuringOne() throws {
        let dir = try TemporaryDirectory("growth-ahead")
        let env = try openEnvironment(dir.sub("env"), ["a"], initialMapSizeBytes: 4 * StoreMapGrowthTests.mebibyte)
        let a = try env.database("a")
        #expect(try env.growAhead() == false, "an empty map is mostly free")
        // About 3 MB of values: more than half of a 4 MiB map.
        try env.write { txn in
            for k in UInt64(0)..<3_000 { try txn.put(a, key: StoreKey.u64(k), value: StoreMapGrowthTests.value(k)) }
        }
        let before = env.mapSizeBytes
        let read = try env.beginDetachedRead()
        #expect(try env.growAhead() == false, "not while a detached read is open")
        #expect(env.mapSizeBytes == before)
        #expect(try read.run { try $0.count(a) } == 3_000)
        #expect(try env.growAhead() == true)
        #expect(env.mapSizeBytes >= 2 * before)
        #expect(try env.growAhead() == false, "half free now")
    }
}
