import Testing
import TotemCrypto
@testable import Storage

/// The decided-block log: a logged block is readable and counts in the committed state before its
/// LMDB write, and a crash between the two leaves it for the next start.
@Suite struct DecidedLogTests {
    typealias S = StoreChainStoreTests

    @Test func aLoggedBlockIsReadableAndInTheCommittedStateBeforeItsWrite() async throws {
        let dir = try TemporaryDirectory("decided-log-reads")
        let store = try S.open(dir)
        let (block, certificate, changes) = S.nextBlock(on: try store.tip(), works: [S.work(1), S.work(2)])
        try await store.logDecided(block, certificate: certificate, changes: changes)
        #expect(try store.tip().height == 0, "LMDB is not written yet")
        #expect(store.pendingHeight == 1)
        #expect(try store.block(at: 1)?.hash == block.hash)
        #expect(try store.header(at: 1)?.hash == block.hash)
        #expect(try store.certificate(at: 1) == certificate)
        #expect(try store.location(ofTx: block.txs[1].hash) == TxLocation(height: 1, index: 1))
        #expect(try store.tx(at: TxLocation(height: 1, index: 0))?.hash == block.txs[0].hash)
        let (seen, height) = try store.withCommittedState { r, h in (r.get(.works, S.work(2).contentHash.bytes), h) }
        #expect(seen == S.work(2).encoded)
        #expect(height == 1)
        #expect(try store.withState { $0.get(.works, S.work(2).contentHash.bytes) } == nil, "the plain stored state lacks it")

        try await store.commit(block, certificate: certificate, changes: changes)
        #expect(store.pendingHeight == nil)
        #expect(try store.tip().height == 1)
        #expect(try store.location(ofTx: block.txs[1].hash) == TxLocation(height: 1, index: 1))
        await store.shutdown()
    }

    @Test func aBlockLoggedButNotWrittenIsFoundAtTheNextOpen() async throws {
        let dir = try TemporaryDirectory("decided-log-replay")
        do {
            let store = try S.open(dir)
            let first = S.nextBlock(on: try store.tip(), works: [S.work(1)])
            #expect(try store.loggedBlocksAboveTip().isEmpty)
            try await store.logDecided(first.0, certificate: first.1, changes: first.2)
            try await store.commit(first.0, certificate: first.1, changes: first.2)
            let second = S.nextBlock(on: try store.tip(), works: [S.work(2)], firstNonce: 2)
            // A crash after the log record and before the LMDB write.
            try await store.logDecided(second.0, certificate: second.1, changes: second.2)
            await store.shutdown()
        }
        let store = try S.open(dir)
        #expect(try store.tip().height == 1)
        let logged = try store.loggedBlocksAboveTip()
        #expect(logged.map(\.block.height) == [2], "block 1 is stored; only block 2 is left to apply")
        #expect(logged.first?.certificate.height == 2)
        await store.shutdown()
    }
}
