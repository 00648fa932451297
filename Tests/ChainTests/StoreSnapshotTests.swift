import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState
@testable import Storage

/// `ChainStore.read`: one read transaction with the logged decided block, and the image-code index
/// read and written through `ImageCodeKey` only.
@Suite struct StoreSnapshotTests {
    typealias T = StoreChainStoreTests

    @Test func aSnapshotReadsStoredAndLoggedBlocksAsOneChain() async throws {
        let dir = try TemporaryDirectory("snapshot")
        let store = try T.open(dir)
        let (b1, c1, ch1) = T.nextBlock(on: try store.tip(), works: [T.work(1, code: 0xABCD)])
        let tip1 = try await store.commit(b1, certificate: c1, changes: ch1)
        let (b2, c2, ch2) = T.nextBlock(on: tip1, works: [T.work(2, code: 0x1234)], firstNonce: 2)
        try await store.logDecided(b2, certificate: c2, changes: ch2)  // decided, not yet in LMDB
        let seen = try store.read { s in
            (tip: try s.tip().height, b1: try s.block(at: 1), b2: try s.block(at: 2), c2: try s.certificate(at: 2),
             at: try s.location(ofTx: b2.txs[0].hash), tx: try s.tx(at: TxLocation(height: 2, index: 0)),
             header: try s.header(at: 1), work: s.state.get(.works, T.work(1).contentHash.bytes))
        }
        #expect(seen.tip == 1, "the tip is LMDB's: the logged block is not written yet")
        #expect(seen.b1 == b1)
        #expect(seen.b2 == b2, "the logged block is read from the log")
        #expect(seen.c2 == c2)
        #expect(seen.at == TxLocation(height: 2, index: 0))
        #expect(seen.tx == b2.txs[0])
        #expect(seen.header == b1.header)
        #expect(seen.work == T.work(1, code: 0xABCD).encoded)
        await store.shutdown()
    }

    @Test func theImageCodeIndexIsWrittenAndReadThroughImageCodeKey() async throws {
        let dir = try TemporaryDirectory("snapshot")
        let store = try T.open(dir)
        let works = [T.work(1, code: 0xABCD), T.work(2), T.work(3, code: 0xABCD)]
        let (block, certificate, changes) = T.nextBlock(on: try store.tip(), works: works)
        try await store.commit(block, certificate: certificate, changes: changes)
        let hashes = [works[0].contentHash, works[2].contentHash].sorted()
        let entries = try store.imageCodeEntries()
        #expect(entries.map(\.code) == [0xABCD, 0xABCD])
        #expect(entries.map(\.contentHash) == hashes, "in key order: by code, then contentHash")
        let found = try store.read { s in
            try s.contentHashes(imageCode: 0xABCD, hashPrefix: works[2].contentHash.w0, limit: 4)
        }
        #expect(found == [works[2].contentHash])
        #expect(try store.read { try $0.contentHashes(imageCode: 0xABCE, hashPrefix: works[2].contentHash.w0, limit: 4) } == [])
        #expect(ImageCodeKey.make(code: 0xABCD, contentHash: works[0].contentHash).count == ImageCodeKey.byteCount)
        await store.shutdown()
    }

    @Test func aMalformedImageCodeKeyIsAnErrorNotSkipped() async throws {
        let dir = try TemporaryDirectory("snapshot")
        let store = try T.open(dir)
        try store.environment.write { txn in try txn.put(store.databases.imageCodes, key: [1, 2, 3], value: []) }
        #expect(throws: StoreError.self) { try store.imageCodeEntries() }
        await store.shutdown()
    }
}
