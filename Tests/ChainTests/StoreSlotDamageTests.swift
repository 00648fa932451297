import Foundation
import Testing
@testable import Storage

/// A slot of the signing state or the decided-block log without a valid record at open (issue 11,
/// defect 4 and item 11): reported, never silently dropped, and named after what it holds.
@Suite struct StoreSlotDamageTests {
    typealias S = StoreChainStoreTests

    static func flip(_ path: String, at offset: Int, count: Int) throws {
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        for i in offset..<(offset + count) { bytes[i] ^= 0xFF }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func aDamagedNewestSigningStateIsReportedWithTheRecordThatSurvived() async throws {
        let dir = try TemporaryDirectory("signing-damage")
        do {
            let store = try S.open(dir)
            try await store.persistSigningState([1, 1, 1])     // record 1, slot .b
            try await store.persistSigningState([2, 2, 2, 2])  // record 2, slot .a: the newest
            await store.shutdown()
        }
        try Self.flip(dir.sub("chain/signing-state.a"), at: SlotFile.headerBytes, count: 4)
        do {
            let store = try S.open(dir)
            let damage = try #require(store.signingStateDamage, "a damaged newest record must be reported")
            #expect(damage.slot == "signing-state.a")
            #expect(damage.survivingSequence == 1)
            #expect(damage.description.contains("may have been newer"))
            #expect(try store.signingState() == [1, 1, 1])
            #expect(store.decidedLogDamage == nil)
            // The next record goes over the damaged slot: after it, the store is whole again.
            try await store.persistSigningState([3])
            await store.shutdown()
        }
        let store = try S.open(dir)
        #expect(store.signingStateDamage == nil)
        #expect(try store.signingState() == [3])
        await store.shutdown()
    }

    @Test func aDecidedBlockLogWithoutAValidRecordIsNamedAsSuch() async throws {
        let dir = try TemporaryDirectory("decided-log-damage")
        do {
            let store = try S.open(dir)
            await store.shutdown()
        }
        try Self.flip(dir.sub("chain/decided-block.a"), at: 0, count: 4)
        try Self.flip(dir.sub("chain/decided-block.b"), at: 0, count: 4)
        let error = #expect(throws: StoreError.self) { try S.open(dir) }
        #expect(error?.message.contains("decided-block log") == true, "\(String(describing: error))")
        #expect(error?.message.contains("signing state") == false, "\(String(describing: error))")
    }
}
