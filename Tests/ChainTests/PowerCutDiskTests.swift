import Testing
@testable import ChainModel

/// The power-cut model (`PowerCutDisk`) with values: what a cut may keep and what it must.
@Suite struct PowerCutDiskTests {
    typealias Disk = PowerCutDisk

    static func image(_ disk: Disk, _ cut: Disk.Cut, seed: UInt64 = 1) -> [String: [UInt8]?] {
        var random = SplitMix64(seed: seed)
        return disk.image(cut, random: &random)
    }

    @Test func aSyncedFileWithoutADirectorySyncMayBeLost() {
        var disk = Disk(directories: ["data"])
        disk.apply(.create(path: "data/f", inode: 7))
        disk.apply(.write(inode: 7, offset: 0, bytes: [1, 2, 3], durable: false))
        disk.apply(.fsync(inode: 7))
        #expect(Self.image(disk, .syncedOnly)["data/f"] == nil, "the name is not durable")
        #expect(Self.image(disk, .everything)["data/f"] == .some([1, 2, 3]))
        disk.apply(.dirsync(path: "data"))
        #expect(Self.image(disk, .syncedOnly)["data/f"] == .some([1, 2, 3]))
    }

    @Test func aNewDirectoryNeedsItsParentSynced() {
        var disk = Disk()
        disk.apply(.mkdir(path: "data"))
        disk.apply(.create(path: "data/f", inode: 1))
        disk.apply(.fsync(inode: 1))
        disk.apply(.dirsync(path: "data"))
        #expect(Self.image(disk, .syncedOnly).isEmpty, "the directory's own entry is not durable: everything under it is lost")
        disk.apply(.dirsync(path: ""))
        let expected: [String: [UInt8]?] = ["data": nil, "data/f": []]
        #expect(Self.image(disk, .syncedOnly) == expected)
    }

    @Test func unsyncedWritesAreKeptOrLostAndSyncedOnesStay() {
        var disk = Disk(base: ["f": [UInt8](repeating: 1, count: 1024)])
        disk.apply(.open(path: "f", inode: 3))
        disk.apply(.write(inode: 3, offset: 0, bytes: [UInt8](repeating: 2, count: 1024), durable: false))
        #expect(Self.image(disk, .syncedOnly)["f"] == .some([UInt8](repeating: 1, count: 1024)))
        #expect(Self.image(disk, .everything)["f"] == .some([UInt8](repeating: 2, count: 1024)))
        // Random cuts tear the write at its 512-byte sector boundary, never inside a sector.
        var seen = Set<[UInt8]>()
        for seed in 1...64 {
            guard case .some(.some(let bytes)) = Self.image(disk, .random, seed: UInt64(seed))["f"] else { continue }
            #expect(Set(bytes[0..<512]).count == 1 && Set(bytes[512...]).count == 1, "sectors are whole")
            seen.insert([bytes[0], bytes[512]])
        }
        #expect(seen == [[1, 1], [1, 2], [2, 1], [2, 2]], "every mix of the two sectors occurs")
        disk.apply(.fsync(inode: 3))
        for cut in Disk.Cut.allCases {
            #expect(Self.image(disk, cut)["f"] == .some([UInt8](repeating: 2, count: 1024)), "synced data survives \(cut)")
        }
    }

    @Test func aDurableWriteSurvivesWithoutAnFsync() {
        var disk = Disk(base: ["f": [0, 0, 0, 0]])
        disk.apply(.open(path: "f", inode: 3))
        disk.apply(.write(inode: 3, offset: 0, bytes: [9], durable: false))
        disk.apply(.write(inode: 3, offset: 2, bytes: [5, 5, 5], durable: true))
        for seed in 1...16 {
            let bytes = Self.image(disk, .random, seed: UInt64(seed))["f"]
            #expect(bytes == .some([9, 0, 5, 5, 5]), "an O_DSYNC write is durable, and the sector keeps what preceded it")
        }
        #expect(Self.image(disk, .syncedOnly)["f"] == .some([9, 0, 5, 5, 5]))
    }

    @Test func anUnsyncedRenameLeavesTheOldName() {
        var disk = Disk(directories: ["d"])
        disk.apply(.create(path: "d/t.tmp", inode: 4))
        disk.apply(.write(inode: 4, offset: 0, bytes: [7], durable: false))
        disk.apply(.fsync(inode: 4))
        disk.apply(.dirsync(path: "d"))
        disk.apply(.rename(from: "d/t.tmp", to: "d/t"))
        #expect(Self.image(disk, .syncedOnly)["d/t.tmp"] == .some([7]))
        #expect(Self.image(disk, .syncedOnly)["d/t"] == nil)
        #expect(Self.image(disk, .everything)["d/t"] == .some([7]))
        #expect(Self.image(disk, .everything)["d/t.tmp"] == nil)
        #expect(disk.problems.isEmpty)
    }

    @Test func aRenameAcrossDirectoriesIsDurableWithEachDirectory() {
        var disk = Disk(directories: ["d", "d/new"])
        disk.apply(.create(path: "d/new/f", inode: 5))
        disk.apply(.fsync(inode: 5))
        disk.apply(.dirsync(path: "d/new"))
        disk.apply(.rename(from: "d/new/f", to: "d/f"))
        #expect(Self.image(disk, .syncedOnly)["d/new/f"] == .some([]))
        #expect(Self.image(disk, .syncedOnly)["d/f"] == nil)
        disk.apply(.dirsync(path: "d"))
        let image = Self.image(disk, .syncedOnly)
        #expect(image["d/f"] == .some([]) && image["d/new/f"] == .some([]), "the old name is not removed until d/new is synced")
        #expect(Self.image(disk, .everything)["d/new/f"] == nil)
        #expect(disk.problems.isEmpty)
    }

    @Test func aTruncationIsUndoneOrKept() {
        var disk = Disk(base: ["f": [1, 2, 3, 4]])
        disk.apply(.open(path: "f", inode: 2))
        disk.apply(.truncate(inode: 2, size: 0))
        disk.apply(.write(inode: 2, offset: 0, bytes: [8], durable: false))
        #expect(Self.image(disk, .syncedOnly)["f"] == .some([1, 2, 3, 4]))
        #expect(Self.image(disk, .everything)["f"] == .some([8]))
    }

    @Test func operationsOnUnknownFilesAreProblems() {
        var disk = Disk()
        disk.apply(.write(inode: 99, offset: 0, bytes: [1], durable: false))
        disk.apply(.unsupported("rename into the root: x"))
        #expect(disk.problems.count == 2)
    }

    @Test func theJournalFormatParses() throws {
        func record(_ op: UInt8, inode: UInt64 = 0, a: UInt64 = 0, path: String = "", path2: String = "", data: [UInt8] = []) -> [UInt8] {
            func le(_ v: UInt64, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
            return [op] + le(inode, 8) + le(a, 8) + le(UInt64(path.utf8.count), 4) + Array(path.utf8)
                + le(UInt64(path2.utf8.count), 4) + Array(path2.utf8) + le(UInt64(data.count), 8) + data
        }
        let bytes = record(1, inode: 5, path: "data/x") + record(3, inode: 5, a: 4096 << 1 | 1, data: [1, 2])
            + record(7, path: "a", path2: "b") + record(10, data: Array("committed 1 ab\n".utf8))
        #expect(try PowerCutJournal.parse(bytes) == [
            .create(path: "data/x", inode: 5), .write(inode: 5, offset: 4096, bytes: [1, 2], durable: true),
            .rename(from: "a", to: "b"), .note("committed 1 ab\n"),
        ])
        #expect(throws: PowerCutJournal.FormatError.self) { try PowerCutJournal.parse(Array(bytes.dropLast())) }
    }
}
