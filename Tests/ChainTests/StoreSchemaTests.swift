import Testing
@testable import Benchmarks
@testable import ChainState
@testable import Storage

@Suite struct StoreSchemaTests {
    @Test func everySchemaDatabaseOpens() throws {
        #expect(Set(StoreSchema.all).count == StoreSchema.all.count, "database names are unique")
        // blocks, certificates, txIndex, blockHashes, imageCodes, validatorHistory, signingState, meta
        #expect(StoreSchema.all.count == 8 + StateTable.allCases.count)
        #expect(StateTable.allCases.allSatisfy { StoreSchema.all.contains($0.name) }, "every state table has a database")
        #expect(StoreSchema.all.count <= Int(StoreLimits.databasesMax))
        let dir = try TemporaryDirectory("schema")
        let env = try LMDBEnvironment(directory: dir.sub("env"), databases: StoreSchema.all)
        let dbs = try StoreDatabases(env)
        #expect(dbs.worksByOwner.name == StoreSchema.worksByOwner)
        #expect(env.databases.count == StoreSchema.all.count)
    }

    @Test func openingWithoutTheSchemaFailsToFindIt() throws {
        let dir = try TemporaryDirectory("schema-missing")
        let env = try LMDBEnvironment(directory: dir.sub("env"), databases: [StoreSchema.meta])
        #expect(throws: StoreError.self) { try StoreDatabases(env) }
    }

    @Test func syntheticBlocksAreTheSameWhetherBatchedOrNot() throws {
        let dir = try TemporaryDirectory("synthetic")
        let batched = try LMDBEnvironment(directory: dir.sub("batched"), databases: StoreSchema.all)
        let single = try LMDBEnvironment(directory: dir.sub("single"), databases: StoreSchema.all)
        let other = try LMDBEnvironment(directory: dir.sub("other"), databases: StoreSchema.all)
        try batched.write { txn in
            try StoreBlockReplay.apply(SyntheticBlockSource(environment: batched), upTo: 20, into: txn,
                                       meta: batched.database(StoreSchema.meta))
        }
        let source = try SyntheticBlockSource(environment: single)
        for h in 1...20 as ClosedRange<UInt64> {
            let reached = try single.write { txn in
                try StoreBlockReplay.apply(source, upTo: h, into: txn, meta: single.database(StoreSchema.meta))
            }
            #expect(reached == h)
        }
        try other.write { txn in
            try StoreBlockReplay.apply(SyntheticBlockSource(environment: other, transactionsPerBlock: 42), upTo: 20,
                                       into: txn, meta: other.database(StoreSchema.meta))
        }
        func digest(_ env: LMDBEnvironment) throws -> String {
            let dbs = try StoreSchema.all.map { try env.database($0) }
            return try env.read { try $0.digest(dbs) }.hex
        }
        #expect(try digest(batched) == digest(single))
        #expect(try digest(batched) != digest(other), "the digest sees a different workload")
        let heights = try single.read { txn in
            (try StoreBlockReplay.committedHeight(txn, meta: single.database(StoreSchema.meta)),
             try txn.count(single.database(StoreSchema.blocks)))
        }
        #expect(heights == (20, 20))
    }

    @Test func aMalformedMetaHeightIsATypedError() throws {
        let dir = try TemporaryDirectory("meta")
        let env = try LMDBEnvironment(directory: dir.sub("env"), databases: [StoreSchema.meta])
        let meta = try env.database(StoreSchema.meta)
        #expect(try env.read { try StoreBlockReplay.committedHeight($0, meta: meta) } == 0)
        try env.write { try $0.put(meta, key: StoreSchema.MetaKey.height, value: [1, 2, 3]) }
        do {
            _ = try env.read { try StoreBlockReplay.committedHeight($0, meta: meta) }
            Issue.record("a 3-byte height was read")
        } catch let error as StoreError {
            #expect(error.code == .malformedRecord)
        }
    }

    @Test func benchmarkCommitsWhatItCounts() async throws {
        let dir = try TemporaryDirectory("bench")
        let result = try await StoreBenchmark.syncedCommits(directory: dir.sub("env"), transactions: 10,
                                                           putsPerTransaction: 100)
        #expect(result.transactions == 10)
        #expect(result.commitsPerSecond > 0)
        let env = try LMDBEnvironment(directory: dir.sub("env"), databases: ["bench"])
        #expect(try env.read { try $0.count(env.database("bench")) } == 1_000)
        #expect(result.description.contains("commits/s"))
    }
}
