import Synchronization
import Testing
@testable import Storage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct StoreWriterTests {
    static let counterKey = bytes("counter")

    static func increment(_ txn: WriteTxn, _ db: Database) throws -> UInt64 {
        let current = try txn.withValue(db, key: counterKey) { StoreKey.readU64($0) } ?? nil
        let next = (current ?? 0) + 1
        try txn.put(db, key: counterKey, value: StoreKey.u64(next))
        return next
    }

    @Test func concurrentWritesRunOneAtATimeOnOneThread() async throws {
        let dir = try TemporaryDirectory("writer")
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a")
        let writer = StoreWriter(environment: env)
        let results = try await withThrowingTaskGroup(of: (UInt64, UInt).self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await writer.write { txn in (try Self.increment(txn, a), currentThreadID()) }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(results.map(\.0)) == Set(1...100), "each write saw the previous one's commit")
        #expect(Set(results.map(\.1)).count == 1, "all writes ran on the writer thread")
        #expect(try env.read { try $0.get(a, key: Self.counterKey) } == StoreKey.u64(100))
        await writer.shutdown()
    }

    @Test func aFullQueueMakesCallersWait() async throws {
        let dir = try TemporaryDirectory("writer-full")
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a")
        let writer = StoreWriter(environment: env, queueCapacity: 1)
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            for _ in 0..<64 {
                group.addTask { try await writer.write { try Self.increment($0, a) } }
            }
            try await group.waitForAll()
        }
        #expect(try env.read { try $0.get(a, key: Self.counterKey) } == StoreKey.u64(64))
        await writer.shutdown()
    }

    @Test func anErrorInTheBodyReachesTheCallerAndWritesNothing() async throws {
        struct Refused: Error, Equatable {}
        let dir = try TemporaryDirectory("writer-error")
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a")
        let writer = StoreWriter(environment: env)
        await #expect(throws: Refused.self) {
            try await writer.write { txn in
                try txn.put(a, key: bytes("half"), value: [1])
                throw Refused()
            }
        }
        #expect(try env.read { try $0.count(a) } == 0)
        let after = try await writer.write { try Self.increment($0, a) }
        #expect(after == 1, "the writer keeps working after a failed write")
        await writer.shutdown()
    }

    @Test func shutdownFinishesQueuedWritesThenRefusesNewOnes() async throws {
        let dir = try TemporaryDirectory("writer-shutdown")
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a")
        let writer = StoreWriter(environment: env)
        let outcomes = await withTaskGroup(of: Bool?.self) { group in
            for i in 0..<40 {
                group.addTask {
                    do {
                        _ = try await writer.write { try Self.increment($0, a) }
                        return true
                    } catch let error as StoreError where error.code == .closed {
                        return false
                    } catch {
                        return nil
                    }
                }
                if i == 20 { group.addTask { await writer.shutdown(); return false } }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let committed = outcomes.filter { $0 == true }.count
        #expect(!outcomes.contains(nil), "a write either commits or is refused as closed")
        #expect(try env.read { try $0.get(a, key: Self.counterKey) } == (committed == 0 ? nil : StoreKey.u64(UInt64(committed))))
        do {
            _ = try await writer.write { try Self.increment($0, a) }
            Issue.record("a write after shutdown ran")
        } catch let error as StoreError {
            #expect(error.code == .closed)
        }
    }

    @Test func withDeferredMetaSyncsEveryWriteIsKeptAcrossReopen() async throws {
        let dir = try TemporaryDirectory("writer-deferred")
        do {
            let env = try LMDBEnvironment(directory: dir.sub("env"), databases: ["a"],
                                          options: .init(initialMapSizeBytes: 8 << 20, syncsMetaPage: false))
            let a = try env.database("a")
            let writer = StoreWriter(environment: env)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<50 {
                    group.addTask { _ = try await writer.write { try Self.increment($0, a) } }
                }
                try await group.waitForAll()
            }
            try await writer.barrier()
            #expect(try env.read { try $0.get(a, key: Self.counterKey) } == StoreKey.u64(50))
            await writer.shutdown()
            await #expect(throws: StoreError.self) { try await writer.barrier() }
        }
        let env = try openEnvironment(dir.sub("env"), ["a"])
        #expect(try env.read { try $0.get(env.database("a"), key: Self.counterKey) } == StoreKey.u64(50))
    }

    @Test func aStoreCanBeReopenedAsSoonAsItsLastWriteReturns() async throws {
        let dir = try TemporaryDirectory("writer-reopen")
        for round in 0..<20 {
            let env = try openEnvironment(dir.sub("env"))
            let a = try env.database("a")
            let writer = StoreWriter(environment: env)
            let value = try await writer.write { try Self.increment($0, a) }
            #expect(value == UInt64(round + 1))
            // No shutdown: dropping the last references must close the environment at once.
        }
    }
}

/// An identifier of the calling thread.
func currentThreadID() -> UInt {
    #if canImport(Glibc)
    return UInt(pthread_self())
    #else
    return UInt(bitPattern: pthread_self())
    #endif
}
