import ChainModel
import Storage
import TotemCrypto

/// A deterministic stand-in for real blocks, for the crash-safety harness and benchmarks: each
/// block writes across eight schema databases (block body, certificate, tx index, works and their
/// owner and image-code indexes, nonces, meta), overwrites works of earlier blocks, deletes tx-index
/// entries of the block three below, and read-modify-writes nonces, so a block applied in part,
/// twice, or out of order leaves a store no replay produces. The meta record holds the height and
/// a running hash over everything each block wrote.
public struct SyntheticBlockSource: StoreBlockSource {
    public static let databaseNames = StoreSchema.all
    /// Meta key of the running hash: SHA-256(previous running hash | every write of the block).
    public static let runningHashKey = Array("syntheticRunningHash".utf8)
    /// Distinct senders and owners the synthetic transactions cycle through.
    public static let senderCount = 32
    public static let ownerCount = 16

    /// Transactions per block; every second one registers a work.
    public let transactionsPerBlock: Int
    private let dbs: StoreDatabases

    public init(environment: LMDBEnvironment, transactionsPerBlock: Int = 40) throws {
        precondition(transactionsPerBlock >= 2, "a synthetic block needs at least two transactions")
        self.transactionsPerBlock = transactionsPerBlock
        dbs = try StoreDatabases(environment)
    }

    public func writeBlock(height: UInt64, into txn: WriteTxn) throws {
        var writer = RecordingWriter(txn: txn)
        let previous = try txn.get(dbs.meta, key: Self.runningHashKey) ?? Bytes32.zero.bytes
        writer.hasher.update(previous)
        var random = SplitMix64(seed: height)

        try writer.put(dbs.blocks, StoreKey.u64(height), random.bytes(512 + Int(random.next() % 1536)))
        try writer.put(dbs.certificates, StoreKey.u64(height), random.bytes(192))
        for index in 0..<transactionsPerBlock {
            try writeTransaction(height: height, index: index, &writer, &random)
        }
        if height > 1 {
            for _ in 0..<3 {
                let earlier = 1 + random.next() % (height - 1)
                let item = 2 * Int(random.next() % UInt64(transactionsPerBlock / 2))
                try writer.put(dbs.works, Self.itemHash(earlier, item, tag: 2).bytes, random.bytes(150))
            }
        }
        if height > 3 {
            for index in stride(from: 1, to: transactionsPerBlock, by: 2) {
                try writer.delete(dbs.txIndex, Self.itemHash(height - 3, index, tag: 0).bytes)
            }
        }
        try writer.put(dbs.meta, StoreSchema.MetaKey.height, StoreKey.u64(height))
        let running = writer.hasher.finalize()
        try txn.put(dbs.meta, key: Self.runningHashKey, value: running.bytes)
    }

    private func writeTransaction(height: UInt64, index: Int, _ writer: inout RecordingWriter,
                                  _ random: inout SplitMix64) throws {
        var position = StoreKey(capacity: 12)
        position.append(height)
        position.append(UInt32(index))
        try writer.put(dbs.txIndex, Self.itemHash(height, index, tag: 0).bytes, position.bytes)

        let sender = Self.itemHash(0, index % Self.senderCount, tag: 1).bytes
        let last = try writer.txn.withValue(dbs.nonces, key: sender) { StoreKey.readU64($0) } ?? nil
        try writer.put(dbs.nonces, sender, StoreKey.u64((last ?? 0) + 1))

        guard index % 2 == 0 else { return }
        let contentHash = Self.itemHash(height, index, tag: 2)
        try writer.put(dbs.works, contentHash.bytes, random.bytes(150))
        var byOwner = StoreKey(capacity: 72)
        byOwner.append(Self.itemHash(0, index % Self.ownerCount, tag: 3))
        byOwner.append(height)
        byOwner.append(contentHash)
        try writer.put(dbs.worksByOwner, byOwner.bytes, [])
        try writer.put(dbs.imageCodes, ImageCodeKey.make(code: random.next(), contentHash: contentHash), [])
    }

    /// A 32-byte key standing for item `index` of block `height` in role `tag`.
    static func itemHash(_ height: UInt64, _ index: Int, tag: UInt8) -> Bytes32 {
        var key = StoreKey(capacity: 13)
        key.append(tag)
        key.append(height)
        key.append(UInt32(truncatingIfNeeded: index))
        return SHA256.hash(key.bytes)
    }
}

/// Writes through a transaction and hashes every write, in order.
private struct RecordingWriter {
    let txn: WriteTxn
    var hasher = Hasher256()

    mutating func put(_ db: Database, _ key: [UInt8], _ value: [UInt8]) throws {
        try txn.put(db, key: key, value: value)
        record(db, key, value)
    }

    mutating func delete(_ db: Database, _ key: [UInt8]) throws {
        try txn.delete(db, key: key)
        record(db, key, [])
    }

    private mutating func record(_ db: Database, _ key: [UInt8], _ value: [UInt8]) {
        hasher.update(Array(db.name.utf8))
        hasher.update(key)
        hasher.update(StoreKey.u64(UInt64(value.count)))
        hasher.update(value)
    }
}

extension SplitMix64 {
    /// `count` pseudo-random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = next()
            for _ in 0..<min(8, count - i) {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }
}
