import Foundation
import Testing
import TotemCrypto
@testable import Storage

@Suite struct SlotFileTests {
    static let limit = 1 << 16

    static let slotNames = ["test-slot.a", "test-slot.b"]

    static func open(_ dir: TemporaryDirectory) throws -> SlotFile {
        try SlotFile(directory: dir.path, name: "test-slot", maxPayloadBytes: limit, holds: "a test record")
    }

    /// Overwrites `count` bytes of a slot file at `offset` (a write the disk tore or damaged).
    static func damage(_ dir: TemporaryDirectory, slot: Int, offset: UInt64, count: Int = 4) throws {
        let handle = try #require(FileHandle(forWritingAtPath: dir.sub(Self.slotNames[slot])))
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data(repeating: 0xEE, count: count))
        try handle.close()
    }

    @Test func aNewFileHasNoRecordAndKeepsTheLastWriteAcrossReopen() throws {
        let dir = try TemporaryDirectory("signing-file")
        do {
            let file = try Self.open(dir)
            #expect(file.current == nil)
            try file.write([1, 2, 3])
            try file.write(Array(repeating: 9, count: 5_000))
            try file.write([4, 5])
            #expect(file.current == [4, 5])
        }
        let file = try Self.open(dir)
        #expect(file.current == [4, 5], "a shorter record over a longer one reads back exactly")
        for name in Self.slotNames {
            let mode = try FileManager.default.attributesOfItem(atPath: dir.sub(name))[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name) is a secret-bearing file")
        }
    }

    @Test func aTornNewestRecordLeavesThePreviousOneInForce() throws {
        let dir = try TemporaryDirectory("signing-file-torn")
        do {
            let file = try Self.open(dir)
            try file.write([1, 1, 1])  // record 1, slot b
            try file.write([2, 2, 2])  // record 2, slot a
        }
        // Damage the payload of record 2: its checksum fails, record 1 is the last complete write.
        try Self.damage(dir, slot: 0, offset: UInt64(SlotFile.headerBytes))
        let file = try Self.open(dir)
        #expect(file.current == [1, 1, 1])
        // The next write goes after the surviving record and wins on reopen.
        try file.write([3])
        #expect(try Self.open(dir).current == [3])
    }

    /// A write goes to the slot that does not hold the newest valid record, whatever its sequence's
    /// parity: with `.a`'s creation record damaged, the first write goes to `.a`, so tearing it
    /// leaves `.b`'s record and the node can start (it used to go to `.b`, leaving no valid slot;
    /// found by the simulator's flaky disks, seed 18,852).
    @Test func theFirstWriteAfterADamagedCreationRecordSparesTheSurvivor() throws {
        let dir = try TemporaryDirectory("signing-file-creation-damaged")
        _ = try Self.open(dir)
        try Self.damage(dir, slot: 0, offset: 0)
        let survivor = try Data(contentsOf: URL(fileURLWithPath: dir.sub(Self.slotNames[1])))
        do {
            let file = try Self.open(dir)
            #expect(file.damageAtOpen != nil && file.current == nil)
            try file.write([7, 7])
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.sub(Self.slotNames[1]))) == survivor, "the survivor was overwritten")
        #expect(try Self.open(dir).current == [7, 7])
        // That write torn: the survivor is still there to start from.
        try Self.damage(dir, slot: 0, offset: UInt64(SlotFile.headerBytes))
        let reopened = try Self.open(dir)
        #expect(reopened.current == nil && reopened.damageAtOpen != nil)
        try reopened.write([8])
        try reopened.write([9])
        #expect(try Self.open(dir).current == [9])
    }

    @Test func twoDamagedSlotsAreReportedNotReadAsNothingSigned() throws {
        let dir = try TemporaryDirectory("signing-file-damaged")
        do {
            let file = try Self.open(dir)
            try file.write([1])
            try file.write([2])
        }
        try Self.damage(dir, slot: 0, offset: 10)
        try Self.damage(dir, slot: 1, offset: 10)
        #expect {
            _ = try Self.open(dir)
        } throws: { error in
            (error as? StoreError)?.code == .corrupted
        }
    }

    @Test func aCrashDuringCreationIsStartedOver() throws {
        let dir = try TemporaryDirectory("signing-file-creation")
        // What a crash between writing slot b and renaming slot a into place leaves behind.
        #expect(FileManager.default.createFile(atPath: dir.sub(Self.slotNames[1]), contents: Data([1, 2])))
        #expect(FileManager.default.createFile(atPath: dir.sub(Self.slotNames[0] + ".tmp"), contents: Data()))
        let file = try Self.open(dir)
        #expect(file.current == nil)
        try file.write([7])
        #expect(try Self.open(dir).current == [7])
    }

    @Test func anOversizeStateIsRefusedAndTheFileKeepsItsRecord() throws {
        let dir = try TemporaryDirectory("signing-file-oversize")
        let file = try Self.open(dir)
        try file.write([1])
        #expect(throws: StoreError.self) { try file.write(Array(repeating: 0, count: Self.limit + 1)) }
        #expect(try Self.open(dir).current == [1])
    }

    @Test func aStoreReadsTheSigningStateAnEarlierBuildKeptInLMDBUntilItWritesItsOwn() async throws {
        let dir = try TemporaryDirectory("signing-file-legacy")
        do {
            let store = try StoreChainStoreTests.open(dir)
            let db = store.databases.signingState
            _ = try store.environment.write { try $0.put(db, key: StoreSchema.MetaKey.signingState, value: [8, 8]) }
            #expect(try store.signingState() == [8, 8])
            try await store.persistSigningState([9])
            #expect(try store.signingState() == [9])
            await store.shutdown()
        }
        let store = try StoreChainStoreTests.open(dir)
        #expect(try store.signingState() == [9])
        await store.shutdown()
    }
}
