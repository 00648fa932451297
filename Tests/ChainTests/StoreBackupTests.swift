import Foundation
import Testing
import TotemCrypto
@testable import ChainModel
@testable import Storage
#if canImport(Glibc)
import Glibc
#endif

/// Hot backups (issue 14): the compacting copy of a store, the whole-store check a backup gets, and
/// slot files read without writing them.
@Suite struct StoreBackupTests {
    typealias S = StoreChainStoreTests

    /// Commits `count` blocks of two works each on the store's tip.
    static func commit(_ count: Int, to store: ChainStore, firstWork: Int) async throws {
        var tip = try store.tip()
        for i in 0..<count {
            let n = firstWork + 2 * i
            let (block, certificate, changes) = S.nextBlock(on: tip, works: [S.work(n), S.work(n + 1)], firstNonce: tip.height * 2 + 1)
            tip = try await store.commit(block, certificate: certificate, changes: changes)
        }
    }

    /// Writes a store of `count` blocks and closes it; returns the header of `headerAt`.
    static func writeStore(_ dir: TemporaryDirectory, blocks count: Int, headerAt: UInt64 = 1) async throws -> Header? {
        let store = try S.open(dir)
        try await commit(count, to: store, firstWork: 0)
        let header = try store.header(at: headerAt)
        await store.shutdown()
        return header
    }

    // The copy while a node commits is a second process (LMDB forbids two handles of one
    // environment in a process, and `OpenDirectories` refuses it): tests/e2e/test_backup.py.
    @Test func aCompactedCopyIsOneWholeVerifiedStoreWithMode0600() async throws {
        let dir = try TemporaryDirectory("backup-copy")
        _ = try await Self.writeStore(dir, blocks: 6)
        try FileManager.default.createDirectory(atPath: dir.sub("copy"), withIntermediateDirectories: false)
        let bytes = try StoreBackup.copyCompacting(environment: dir.sub("chain"), to: dir.sub("copy/data.mdb"))
        #expect(bytes > 0)
        var info = stat()
        #expect(stat(dir.sub("copy/data.mdb"), &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(throws: StoreError.self) {
            try StoreBackup.copyCompacting(environment: dir.sub("chain"), to: dir.sub("copy/data.mdb"))
        }
        let copy = try ChainStore(directory: dir.sub("copy"), genesisHash: S.genesisHash, genesisValidators: S.validators)
        #expect(try copy.tip().height == 6)
        let checked = try copy.verifyWhole()
        #expect(checked.blocks == 1...6)
        #expect(checked.records > 12)
        await copy.shutdown()
    }

    @Test func aDamagedBlockIsNamedByTheWholeCheck() async throws {
        let dir = try TemporaryDirectory("backup-damage")
        let header = try #require(try await Self.writeStore(dir, blocks: 5, headerAt: 3))
        let path = dir.sub("chain/data.mdb")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let encoded = header.encoded
        var flipped = 0
        for i in 0..<(bytes.count - encoded.count) where bytes[i] == encoded[0] && Array(bytes[i..<(i + encoded.count)]) == encoded {
            bytes[i + encoded.count - 40] ^= 0x01
            flipped += 1
        }
        #expect(flipped > 0)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try await Self.verifyWhole(dir)
        #expect(error?.isDamage == true)
        #expect(error?.message.contains("block 3") == true, "\(error?.message ?? "")")
    }

    /// The error `verifyWhole` throws on the store in `dir`, if any.
    static func verifyWhole(_ dir: TemporaryDirectory) async throws -> StoreError? {
        let store = try S.open(dir)
        defer { _ = store }
        var found: StoreError?
        do { _ = try store.verifyWhole() } catch let error as StoreError { found = error }
        await store.shutdown()
        return found
    }

    @Test func slotFilesAreReadWithoutWritingAndWrittenAfresh() throws {
        let dir = try TemporaryDirectory("backup-slots")
        #expect(try StoreBackup.readSlots(.signingState, in: dir.path) == nil)
        try StoreBackup.writeSlots(.signingState, in: dir.path, payloads: [[1, 2], [3, 4, 5]])
        let read = try #require(try StoreBackup.readSlots(.signingState, in: dir.path))
        #expect(read.payloads == [[1, 2], [3, 4, 5]])
        #expect(read.newest == [3, 4, 5])
        #expect(read.damage == nil)
        #expect(throws: StoreError.self) { try StoreBackup.writeSlots(.signingState, in: dir.path, payloads: []) }
        // The node's own reader finds the same newest record.
        let file = try SlotFile(directory: dir.path, kind: .signingState)
        #expect(file.current == [3, 4, 5])
        // A damaged slot is reported, the other one's record kept.
        let newestSlot = dir.path + "/" + SlotKind.signingState.fileNames[0]
        let fd = open(newestSlot, O_WRONLY)
        #expect(fd >= 0)
        var junk: UInt8 = 0xFF
        #expect(pwrite(fd, &junk, 1, off_t(SlotFile.headerBytes)) == 1)
        close(fd)
        let damaged = try #require(try StoreBackup.readSlots(.signingState, in: dir.path))
        #expect(damaged.damage != nil)
        #expect(damaged.newest == [1, 2])
    }

    /// Every file of `directory` (name → bytes), to show that an open changed nothing.
    static func contents(_ directory: String) throws -> [String: Data] {
        var all: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            all[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        }
        return all
    }

    /// `backup verify` opens a backup read-only: whatever it reads, the directory keeps the same
    /// files with the same bytes (no lock.mdb, no slot file, no write), a write is refused, and a
    /// directory that holds no store is an error that creates nothing.
    @Test func aStoreOpenedReadOnlyLeavesItsFilesAsTheyWere() async throws {
        let dir = try TemporaryDirectory("backup-read-only")
        _ = try await Self.writeStore(dir, blocks: 4)
        try FileManager.default.createDirectory(atPath: dir.sub("copy"), withIntermediateDirectories: false)
        _ = try StoreBackup.copyCompacting(environment: dir.sub("chain"), to: dir.sub("copy/data.mdb"))
        let before = try Self.contents(dir.sub("copy"))
        #expect(Array(before.keys) == ["data.mdb"])

        let store = try ChainStore(directory: dir.sub("copy"), genesisHash: S.genesisHash, genesisValidators: S.validators,
                                   options: LMDBEnvironment.Options(readOnly: true))
        #expect(try store.tip().height == 4)
        #expect(try store.verifyWhole().blocks == 1...4)
        #expect(try store.signingState() == nil)
        #expect(try store.loggedBlocksAboveTip().isEmpty)
        let tip = try store.tip()
        let (block, certificate, changes) = S.nextBlock(on: tip, works: [S.work(100)], firstNonce: tip.height * 2 + 1)
        await #expect(throws: StoreError.self) { try await store.commit(block, certificate: certificate, changes: changes) }
        await #expect(throws: StoreError.self) { try await store.persistSigningState([1, 2, 3]) }
        await store.shutdown()
        #expect(try Self.contents(dir.sub("copy")) == before)

        // Another chain's genesis is refused read-only too, still writing nothing.
        #expect(throws: StoreError.self) {
            _ = try ChainStore(directory: dir.sub("copy"), genesisHash: SHA256.hash([9]), genesisValidators: S.validators,
                               options: LMDBEnvironment.Options(readOnly: true))
        }
        #expect(try Self.contents(dir.sub("copy")) == before)
        #expect(throws: StoreError.self) {
            _ = try ChainStore(directory: dir.sub("none"), genesisHash: S.genesisHash, genesisValidators: S.validators,
                               options: LMDBEnvironment.Options(readOnly: true))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.sub("none")))
    }
}
