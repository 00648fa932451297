import Foundation
import Testing
@testable import Storage

@Suite struct StoreEnvironmentTests {
    @Test func putGetDeleteRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a")
        try env.write { txn throws in
            try txn.put(a, key: bytes("k1"), value: bytes("v1"))
            try txn.put(a, key: bytes("k2"), value: [])
            #expect(try txn.get(a, key: bytes("k1")) == bytes("v1"), "a write transaction reads its own writes")
        }
        try env.read { txn throws in
            #expect(try txn.get(a, key: bytes("k1")) == bytes("v1"))
            #expect(try txn.get(a, key: bytes("k2")) == [], "empty values are stored")
            #expect(try txn.get(a, key: bytes("missing")) == nil)
            #expect(try txn.contains(a, key: bytes("k2")))
            #expect(try txn.count(a) == 2)
        }
        let deleted = try env.write { txn throws in
            (try txn.delete(a, key: bytes("k1")), try txn.delete(a, key: bytes("k1")))
        }
        #expect(deleted == (true, false))
        #expect(try env.read { try $0.get(a, key: bytes("k1")) } == nil)
    }

    /// A new data.mdb is made in a staging directory and renamed into place (a power cut during the
    /// first open cannot leave a file LMDB refuses); a staging directory a crash left is discarded.
    @Test func aStagingDirectoryLeftByACrashIsDiscardedAtOpen() throws {
        let dir = try TemporaryDirectory()
        let path = dir.sub("env"), staging = path + "/" + LMDBEnvironment.stagingDirectoryName
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        // A half-made data file, as a power cut during creation can leave it.
        #expect(FileManager.default.createFile(atPath: staging + "/data.mdb", contents: Data(repeating: 0xA5, count: 4096)))
        do {
            let env = try openEnvironment(path)
            try env.write { try $0.put(try env.database("a"), key: bytes("k"), value: bytes("v")) }
        }
        #expect(!FileManager.default.fileExists(atPath: staging))
        let reopened = try openEnvironment(path)
        #expect(try reopened.read { try $0.get(try reopened.database("a"), key: bytes("k")) } == bytes("v"))
        #expect(!FileManager.default.fileExists(atPath: staging))
    }

    @Test func namedDatabasesAreSeparate() throws {
        let dir = try TemporaryDirectory()
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a"), b = try env.database("b")
        try env.write { txn throws in
            try txn.put(a, key: bytes("same"), value: bytes("in a"))
            try txn.put(b, key: bytes("same"), value: bytes("in b"))
        }
        try env.read { txn throws in
            #expect(try txn.get(a, key: bytes("same")) == bytes("in a"))
            #expect(try txn.get(b, key: bytes("same")) == bytes("in b"))
        }
        try env.write { try $0.deleteAll(a) }
        try env.read { txn throws in
            #expect(try txn.count(a) == 0)
            #expect(try txn.get(b, key: bytes("same")) == bytes("in b"), "clearing one database leaves the other")
        }
        #expect(env.databases.map(\.name) == ["a", "b"])
    }

    @Test func dataSurvivesReopen() throws {
        let dir = try TemporaryDirectory()
        do {
            let env = try openEnvironment(dir.sub("env"))
            let a = try env.database("a")
            try env.write { try $0.put(a, key: StoreKey.u64(7), value: bytes("seven")) }
        }
        let env = try openEnvironment(dir.sub("env"), ["a", "b", "c"])
        #expect(try env.read { try $0.get(env.database("a"), key: StoreKey.u64(7)) } == bytes("seven"))
        #expect(try env.read { try $0.count(env.database("c")) } == 0, "a database added on reopen is created empty")
    }

    @Test func thrownErrorAbortsTheWholeTransaction() throws {
        struct Boom: Error {}
        let dir = try TemporaryDirectory()
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a"), b = try env.database("b")
        #expect(throws: Boom.self) {
            try env.write { txn throws in
                try txn.put(a, key: bytes("x"), value: bytes("1"))
                try txn.put(b, key: bytes("y"), value: bytes("2"))
                throw Boom()
            }
        }
        try env.read { txn throws in
            #expect(try txn.count(a) == 0)
            #expect(try txn.count(b) == 0)
        }
    }

    @Test func insertRefusesAnExistingKey() throws {
        let dir = try TemporaryDirectory()
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a")
        let results = try env.write { txn throws in
            [try txn.insert(a, key: bytes("work"), value: bytes("first")),
             try txn.insert(a, key: bytes("work"), value: bytes("second"))]
        }
        #expect(results == [true, false])
        #expect(try env.read { try $0.get(a, key: bytes("work")) } == bytes("first"), "first registration wins")
    }

    @Test func zeroCopyReadAndReservedWrite() throws {
        let dir = try TemporaryDirectory()
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a")
        try env.write { txn throws in
            try txn.put(a, key: bytes("r"), reservingCount: 16) { buffer in
                for i in 0..<16 { buffer[i] = UInt8(i * 3) }
            }
        }
        let sum = try env.read { txn throws in
            try txn.withValue(a, key: bytes("r")) { raw in raw.reduce(0) { $0 + Int($1) } }
        }
        #expect(sum == (0..<16).reduce(0) { $0 + $1 * 3 })
        #expect(try env.read { try $0.withValue(a, key: bytes("absent")) { _ in 1 } } == nil)
    }

    @Test func keysOutsideLMDBLimitsAreTypedErrors() throws {
        let dir = try TemporaryDirectory()
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a")
        for key in [[UInt8](), [UInt8](repeating: 1, count: env.maxKeyBytes + 1)] {
            #expect(throws: StoreError.self) { try env.write { try $0.put(a, key: key, value: [1]) } }
            do {
                _ = try env.read { try $0.get(a, key: key) }
                Issue.record("a \(key.count)-byte key was accepted")
            } catch let error as StoreError {
                #expect(error.code == .invalidKey)
            }
        }
        // The longest legal key works.
        let longest = [UInt8](repeating: 2, count: env.maxKeyBytes)
        try env.write { try $0.put(a, key: longest, value: [9]) }
        #expect(try env.read { try $0.get(a, key: longest) } == [9])
    }

    @Test func unknownDatabaseIsATypedError() throws {
        let dir = try TemporaryDirectory()
        let env = try openEnvironment(dir.sub("env"))
        do {
            _ = try env.database("nope")
            Issue.record("an undeclared database was returned")
        } catch let error as StoreError {
            #expect(error.code == .unknownDatabase)
            #expect(error.message.contains("nope"))
        }
    }

    @Test func openingAFileThatIsNotLMDBFailsWithLMDBMessage() throws {
        let dir = try TemporaryDirectory()
        let path = dir.sub("bad")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try Data(repeating: 0xAB, count: 64 << 10).write(to: URL(fileURLWithPath: path + "/data.mdb"))
        do {
            _ = try openEnvironment(path)
            Issue.record("garbage opened as an environment")
        } catch let error as StoreError {
            #expect(error.code == .corrupted)
            #expect(error.status != nil)
            #expect(error.message.contains("mdb_env_open"))
        }
    }

    @Test func readsRunOnManyThreadsAtOnce() async throws {
        let dir = try TemporaryDirectory()
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a")
        try env.write { txn throws in
            for i in 0..<1_000 as Range<UInt64> { try txn.put(a, key: StoreKey.u64(i), value: StoreKey.u64(i * i)) }
        }
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var bad = 0
                    for round in 0..<200 {
                        let i = UInt64((worker * 131 + round * 17) % 1_000)
                        let v = try env.read { try $0.withValue(a, key: StoreKey.u64(i)) { StoreKey.readU64($0) } }
                        if v != i * i { bad += 1 }
                    }
                    return bad
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test func openingADirectoryTwiceInOneProcessIsRefused() throws {
        let dir = try TemporaryDirectory()
        do {
            let first = try openEnvironment(dir.sub("env"))
            do {
                _ = try openEnvironment(dir.sub("env") + "/.")
                Issue.record("one environment opened twice")
            } catch let error as StoreError {
                #expect(error.code == .alreadyOpen)
            }
            #expect(try first.read { try $0.count(first.database("a")) } == 0, "the first handle still works")
        }
        let again = try openEnvironment(dir.sub("env"))
        #expect(again.databases.count == 2, "closing the first handle frees the directory")
    }
}
