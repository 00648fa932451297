import Testing
@testable import Storage

@Suite struct StoreCursorTests {
    /// Keys `owner(1 byte) | height:u64` for owners 0x00, 0x01, 0xFF and heights 1, 2, 255, 256, 65536.
    static let owners: [UInt8] = [0x00, 0x01, 0xFF]
    static let heights: [UInt64] = [1, 2, 255, 256, 65_536]

    static func key(_ owner: UInt8, _ height: UInt64) -> [UInt8] {
        var k = StoreKey()
        k.append(owner)
        k.append(height)
        return k.bytes
    }

    func populated() throws -> (TemporaryDirectory, LMDBEnvironment, Database) {
        let dir = try TemporaryDirectory()
        let env = try openEnvironment(dir.sub("env"))
        let a = try env.database("a")
        try env.write { txn in
            // Insert in scrambled order: the cursor order must come from the keys.
            for height in Self.heights.reversed() {
                for owner in Self.owners {
                    try txn.put(a, key: Self.key(owner, height), value: StoreKey.u64(height))
                }
            }
        }
        return (dir, env, a)
    }

    @Test func bigEndianKeysScanInNumericOrder() throws {
        let (_, env, a) = try populated()
        let heights = try env.read { txn in
            try txn.entries(a, prefix: [0x01]).map { entry -> UInt64? in
                entry.value.withUnsafeBytes { StoreKey.readU64($0) }
            }
        }
        #expect(heights == Self.heights)
    }

    @Test func prefixScanForwardAndReverse() throws {
        let (_, env, a) = try populated()
        for owner in Self.owners {
            let forward = try env.read { try $0.entries(a, prefix: [owner]).map(\.key) }
            let backward = try env.read { try $0.entries(a, prefix: [owner], reverse: true).map(\.key) }
            #expect(forward == Self.heights.map { Self.key(owner, $0) }, "owner \(owner)")
            #expect(backward == forward.reversed(), "owner \(owner) reversed")
        }
        #expect(try env.read { try $0.entries(a, prefix: [0x02]) }.isEmpty)
        #expect(try env.read { try $0.entries(a, prefix: []).count } == Self.owners.count * Self.heights.count)
    }

    @Test func limitAndEarlyStop() throws {
        let (_, env, a) = try populated()
        let firstTwo = try env.read { try $0.entries(a, prefix: [0xFF], limit: 2).map(\.key) }
        #expect(firstTwo == [Self.key(0xFF, 1), Self.key(0xFF, 2)])
        var visited = 0
        try env.read { txn throws in
            try txn.scan(a, prefix: [0x00]) { _ in
                visited += 1
                return visited < 3
            }
        }
        #expect(visited == 3)
        #expect(try env.read { try $0.entries(a, limit: 0) }.isEmpty)
    }

    @Test func latestUnderAPrefixIncludingAllOnesPrefix() throws {
        let (_, env, a) = try populated()
        for owner in Self.owners {
            let last = try env.read { try $0.last(a, prefix: [owner]) }
            #expect(last?.key == Self.key(owner, 65_536), "latest of owner \(owner)")
            let first = try env.read { try $0.first(a, prefix: [owner]) }
            #expect(first?.key == Self.key(owner, 1))
        }
        #expect(try env.read { try $0.last(a) }?.key == Self.key(0xFF, 65_536))
        #expect(try env.read { try $0.last(a, prefix: [0x00, 0xFF]) } == nil)
    }

    @Test func rangeScanIsHalfOpen() throws {
        let (_, env, a) = try populated()
        let range = KeyRange(lower: Self.key(0x01, 2), upper: Self.key(0x01, 65_536))
        let keys = try env.read { txn throws -> [[UInt8]] in
            var keys: [[UInt8]] = []
            try txn.scan(a, range: range) { keys.append($0.keyBytes); return true }
            return keys
        }
        #expect(keys == [2, 255, 256].map { Self.key(0x01, $0) })
        let reversed = try env.read { txn throws -> [[UInt8]] in
            var keys: [[UInt8]] = []
            try txn.scan(a, range: range, reverse: true) { keys.append($0.keyBytes); return true }
            return keys
        }
        #expect(reversed == keys.reversed())
    }

    @Test func floorFindsTheEntryInForceAtAHeight() throws {
        let dir = try TemporaryDirectory()
        let env = try openEnvironment(dir.sub("env"))
        let sets = try env.database("a")
        // Validator sets in force from heights 1, 120 and 500.
        try env.write { txn in
            for from: UInt64 in [1, 120, 500] { try txn.put(sets, key: StoreKey.u64(from), value: StoreKey.u64(from)) }
        }
        func inForce(_ h: UInt64) throws -> UInt64? {
            try env.read { txn in
                try txn.floor(sets, atOrBefore: StoreKey.u64(h)).flatMap { e in e.value.withUnsafeBytes { StoreKey.readU64($0) } }
            }
        }
        #expect(try inForce(0) == nil)
        #expect(try inForce(1) == 1)
        #expect(try inForce(119) == 1)
        #expect(try inForce(120) == 120)
        #expect(try inForce(499) == 120)
        #expect(try inForce(10_000) == 500)
    }

    @Test func cursorMovesAndSeeks() throws {
        let (_, env, a) = try populated()
        try env.read { txn throws in
            try txn.withCursor(a) { cursor throws in
                #expect(try cursor.first()?.keyBytes == Self.key(0x00, 1))
                #expect(try cursor.next()?.keyBytes == Self.key(0x00, 2))
                #expect(try cursor.last()?.keyBytes == Self.key(0xFF, 65_536))
                #expect(try cursor.next() == nil, "next past the end")
                #expect(try cursor.seek(atOrAfter: Self.key(0x01, 3))?.keyBytes == Self.key(0x01, 255))
                #expect(try cursor.previous()?.keyBytes == Self.key(0x01, 2))
                #expect(try cursor.seek(atOrAfter: [0xFF, 0xFF]) == nil)
                #expect(try cursor.last(before: Self.key(0x01, 1))?.keyBytes == Self.key(0x00, 65_536))
                #expect(try cursor.last(before: Self.key(0x00, 1)) == nil)
            }
        }
    }

    @Test func prefixSuccessor() {
        #expect(StoreKey.successor(ofPrefix: [0x01, 0x02]) == [0x01, 0x03])
        #expect(StoreKey.successor(ofPrefix: [0x01, 0xFF]) == [0x02])
        #expect(StoreKey.successor(ofPrefix: [0xFF, 0xFF]) == nil)
        #expect(StoreKey.successor(ofPrefix: []) == nil)
    }

    @Test func writeTransactionScansSeeItsOwnWritesAndDeletes() throws {
        let (_, env, a) = try populated()
        let keys = try env.write { txn throws -> [[UInt8]] in
            try txn.delete(a, key: Self.key(0x01, 255))
            try txn.put(a, key: Self.key(0x01, 300), value: [])
            return try txn.entries(a, prefix: [0x01]).map(\.key)
        }
        #expect(keys == [1, 2, 256, 300, 65_536].map { Self.key(0x01, $0) })
    }
}
