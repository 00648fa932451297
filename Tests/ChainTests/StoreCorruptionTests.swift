import Foundation
import Testing
import TotemCrypto
@testable import ChainModel
@testable import Storage

/// A stopped node's `data.mdb` damaged in its data pages (issue 11, defect 3): a real store is
/// written with `ChainStore`, closed, copied, and bytes are flipped in the copy's record bytes;
/// every read path then returns the right data or throws a damage error, never wrong data.
@Suite struct StoreCorruptionTests {
    typealias S = StoreChainStoreTests
    /// Damaged copies tried, and bytes flipped in each.
    static let seedCount = 48
    static let flippedBytes = 4

    /// What the pristine store holds, read back before any damage.
    struct Expected {
        var tip: ChainTip
        var blocks: [Block] = []
        var certificates: [CommitCertificate] = []
        var works: [Work] = []
        var lastNonce: UInt64 = 0
        var imageCodeKeys: [[UInt8]] = []
    }

    /// Eight blocks, the last one large enough for LMDB overflow pages; some works with image codes.
    static func writePristine(_ dir: TemporaryDirectory) async throws -> Expected {
        let store = try S.open(dir)
        var expected = Expected(tip: try store.tip())
        var nonce: UInt64 = 1, workNumber = 0
        for height in 1...8 {
            let count = height == 8 ? 14 : 3
            let works = (0..<count).map { i -> Work in
                workNumber += 1
                return S.work(workNumber, code: i == 0 ? UInt64(workNumber) * 0x0101_0101 : nil)
            }
            let (block, certificate, changes) = S.nextBlock(on: expected.tip, works: works, firstNonce: nonce)
            expected.tip = try await store.commit(block, certificate: certificate, changes: changes)
            expected.blocks.append(block)
            expected.certificates.append(certificate)
            expected.works += works
            nonce += UInt64(count)
        }
        expected.lastNonce = nonce - 1
        expected.imageCodeKeys = try store.environment.read { try $0.entries(store.databases.imageCodes).map(\.key) }
        #expect(try store.verifyAtStart().blocks == 1...8)
        await store.shutdown()
        return expected
    }

    @Test func everyReadOfADamagedStoreIsRightOrAnError() async throws {
        let dir = try TemporaryDirectory("corruption")
        let expected = try await Self.writePristine(dir)
        let pristine = try Data(contentsOf: URL(fileURLWithPath: dir.sub("chain/data.mdb")))
        let regions = LMDBPages.recordRegions(Array(pristine))
        #expect(regions.count > 50, "the page walk found the records")
        var rng = SplitMix64(seed: 0x5EED_0011)
        var detected = 0
        for seed in 0..<Self.seedCount {
            let copy = dir.sub("copy-\(seed)")
            try FileManager.default.copyItem(atPath: dir.sub("chain"), toPath: copy)
            var bytes = Array(pristine)
            let region = regions[Int(rng.next() % UInt64(regions.count))]
            let start = region.lowerBound + Int(rng.next() % UInt64(region.count))
            for offset in start..<min(start + Self.flippedBytes, region.upperBound) { bytes[offset] ^= 0xFF }
            try Data(bytes).write(to: URL(fileURLWithPath: copy + "/data.mdb"))
            if try await Self.readAll(copy, expected, "seed \(seed) offset \(start)") { detected += 1 }
            try FileManager.default.removeItem(atPath: copy)
        }
        // Some flips land in pages LMDB no longer uses (copies left by earlier commits): no effect.
        #expect(detected >= Self.seedCount / 4, "only \(detected) of \(Self.seedCount) damaged copies were noticed")
    }

    /// Opens the damaged copy and reads everything; true if damage was reported anywhere.
    static func readAll(_ directory: String, _ expected: Expected, _ label: String) async throws -> Bool {
        let store: ChainStore
        do {
            store = try ChainStore(directory: directory, genesisHash: S.genesisHash, genesisValidators: S.validators)
        } catch let error as StoreError {
            #expect(error.isDamage, "\(label): opening threw \(error)")
            return true
        }
        var reads = Reads(label: label)
        reads.check(true, "start-up check") { try store.verifyAtStart().blocks == 1...8 }
        reads.check(expected.tip, "tip") { try store.tip() }
        for (i, block) in expected.blocks.enumerated() {
            let h = UInt64(i + 1)
            reads.check(block, "block \(h)") { try store.block(at: h) }
            reads.check(block.header, "header \(h)") { try store.header(at: h) }
            reads.check(expected.certificates[i], "certificate \(h)") { try store.certificate(at: h) }
            reads.check(S.validators, "validator set \(h)") { try store.validatorSet(at: h) }
            for (index, tx) in block.txs.enumerated() {
                let location = TxLocation(height: h, index: UInt32(index))
                reads.check(tx, "tx \(h).\(index)") { try store.tx(at: location) }
                reads.check(location, "location of \(tx.hash)") { try store.location(ofTx: tx.hash) }
            }
        }
        for work in expected.works {
            reads.check(work.encoded, "work \(work.title)") { try store.withState { $0.get(.works, work.contentHash.bytes) } }
        }
        reads.check(StoreKey.u64(expected.lastNonce), "nonce") {
            try store.withState { $0.get(.nonces, S.sender.publicKey.bytes) }
        }
        reads.check(expected.imageCodeKeys, "image codes") {
            try store.environment.read { try $0.entries(store.databases.imageCodes).map(\.key) }
        }
        await store.shutdown()
        return reads.damageSeen
    }

    /// Reads of one damaged copy: each returns what the pristine store held, or throws damage.
    struct Reads {
        let label: String
        var damageSeen = false

        mutating func check<T: Equatable>(_ expected: T?, _ what: String, _ read: () throws -> T?) {
            do {
                let got = try read()
                #expect(got == expected, "\(label): \(what) returned wrong data")
            } catch let error as StoreError {
                #expect(error.isDamage, "\(label): \(what) threw \(error)")
                damageSeen = true
            } catch {
                Issue.record("\(label): \(what) threw \(error)")
            }
        }
    }

    // MARK: Smaller cases

    @Test func crc32cMatchesKnownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)  // RFC 3720 B.4
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        // Slicing-by-8 agrees with the one-byte loop at every alignment and tail length.
        var rng = SplitMix64(seed: 7)
        let data = (0..<100).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for n in 0...data.count {
            let slow = data[0..<n].reduce(UInt32(0xFFFF_FFFF)) { c, b in
                (0..<8).reduce(c ^ UInt32(b)) { c, _ in c & 1 == 1 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            }
            #expect(CRC32C.checksum(Array(data[0..<n])) == ~slow, "length \(n)")
            // The table and the CPU's instruction (where this CPU has one) agree, continued from
            // a running checksum too, at every offset.
            data.withUnsafeBytes { all in
                let tail = UnsafeRawBufferPointer(rebasing: all[(100 - n)...])
                #expect(CRC32C.tableUpdate(0x1234_5678, tail) == CRC32C.update(0x1234_5678, tail), "offset \(100 - n)")
            }
        }
        print("CRC-32C with the CPU's instruction: \(CRC32C.hardware)")
    }

    @Test func aDamagedValueIsAnErrorAndFailsItsTransaction() async throws {
        let dir = try TemporaryDirectory("corruption-value")
        let expected = try await Self.writePristine(dir)
        let path = dir.sub("chain/data.mdb")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        // Every place work 1's content hash is stored (its key, its record, its tx) gets a flipped byte.
        let work = expected.works[0]
        let hash = work.contentHash.bytes
        var flipped = 0
        for i in 0..<(bytes.count - hash.count) where bytes[i] == hash[0] && Array(bytes[i..<(i + hash.count)]) == hash {
            bytes[i + 31] ^= 0x01
            flipped += 1
        }
        #expect(flipped > 0)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let store = try S.open(dir)
        #expect(throws: StoreError.self) { try store.withState { $0.get(.works, work.contentHash.bytes) } }
        // A caller that swallows the error still gets no answer out of the transaction.
        #expect(throws: StoreError.self) { try store.withState { _ = try? $0.txn.get(store.databases.works, key: work.contentHash.bytes); return 1 } }
        #expect(throws: StoreError.self) { try store.verifyAtStart() }
        await store.shutdown()
    }

    @Test func aStoreOfTheOlderSchemaIsRefusedWithWhatToDo() async throws {
        let dir = try TemporaryDirectory("corruption-schema")
        _ = try await Self.writePristine(dir)
        let path = dir.sub("chain/data.mdb")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        // Rewrite the version record as schema 1 stored it: 4 bytes, no checksum.
        let key = Array("schemaVersion".utf8), value: [UInt8] = [0, 0, 0, 2]
        var patched = 0
        for i in 8..<(bytes.count - key.count - 8) where bytes[i] == key[0] && Array(bytes[i..<(i + key.count + 4)]) == key + value {
            bytes[i - 8] = 4
            bytes[i - 7] = 0
            bytes[i + key.count + 3] = 1
            patched += 1
        }
        #expect(patched > 0)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: StoreError.self) { try S.open(dir) }
        #expect(error?.code == .unsupportedSchema)
        #expect(error?.message.contains("schema 1") == true)
        #expect(error?.message.contains("resync") == true)
    }

    @Test func aFailedWriteOnAFullDiskSaysSo() {
        let error = StoreError(.io, "write x: No space left on device", status: ENOSPC)
        let named = error.namingFullDisk(directory: "/")
        #expect(named.code == .diskFull)
        #expect(named.message.contains("disk full"))
        #expect(named.message.contains("bytes free"))
        let other = StoreError(.invalidCommit, "no")
        #expect(other.namingFullDisk(directory: "/") == other)
    }
}

/// Just enough of LMDB's page layout (lmdb.h 0.9, 64-bit) to find where records' bytes are.
enum LMDBPages {
    static let pageBytes = 4096
    static let headerBytes = 16
    static let nodeHeaderBytes = 8
    static let leafFlag: UInt16 = 0x02, overflowFlag: UInt16 = 0x04, leaf2Flag: UInt16 = 0x20, subpageFlag: UInt16 = 0x40
    static let bigDataFlag: UInt16 = 0x01, subDatabaseFlag: UInt16 = 0x02

    /// Byte ranges holding keys and values of leaf pages (not named-database records, whose
    /// damage LMDB itself reports), and the contents of overflow pages. Page and node headers are
    /// left out: their damage is LMDB's structure, not a record.
    static func recordRegions(_ file: [UInt8]) -> [Range<Int>] {
        var regions: [Range<Int>] = []
        var page = 2  // 0 and 1 are the meta pages
        while (page + 1) * pageBytes <= file.count {
            let base = page * pageBytes
            let flags = u16(file, base + 10)
            if flags & overflowFlag != 0 {
                let pages = max(1, Int(u16(file, base + 12)) | Int(u16(file, base + 14)) << 16)
                regions.append((base + headerBytes)..<min(base + pages * pageBytes, file.count))
                page += pages
                continue
            }
            if flags & leafFlag != 0, flags & (leaf2Flag | subpageFlag) == 0 {
                regions += leafRegions(file, base)
            }
            page += 1
        }
        return regions
    }

    static func leafRegions(_ file: [UInt8], _ base: Int) -> [Range<Int>] {
        let lower = Int(u16(file, base + 12))
        guard lower >= headerBytes, lower <= pageBytes else { return [] }
        var regions: [Range<Int>] = []
        for i in 0..<((lower - headerBytes) / 2) {
            let node = base + Int(u16(file, base + headerBytes + 2 * i))
            guard node + nodeHeaderBytes <= base + pageBytes else { continue }
            let size = Int(u16(file, node)) | Int(u16(file, node + 2)) << 16
            let nodeFlags = u16(file, node + 4), keySize = Int(u16(file, node + 6))
            let key = node + nodeHeaderBytes
            guard nodeFlags & subDatabaseFlag == 0, key + keySize <= base + pageBytes else { continue }
            if keySize > 0 { regions.append(key..<(key + keySize)) }
            let value = key + keySize
            if nodeFlags & bigDataFlag == 0, size > 0, value + size <= base + pageBytes {
                regions.append(value..<(value + size))
            }
        }
        return regions
    }

    static func u16(_ file: [UInt8], _ at: Int) -> UInt16 { UInt16(file[at]) | UInt16(file[at + 1]) << 8 }
}
