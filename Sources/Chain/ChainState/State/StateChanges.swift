import ChainModel
import TotemCrypto

/// The writes a block makes to the state: for each touched key its new value, or nil for a delete.
/// The store applies them in the same LMDB write transaction as the block; their canonical encoding
/// is hashed into the block's `stateRoot`.
public struct StateChanges: Sendable, Equatable {
    public private(set) var writes: [StateKey: [UInt8]?] = [:]
    /// `sorted`, kept by `seal()` until the next change: a block's changes are sorted for its state
    /// root and again for its LMDB write, and a block of batch registrations changes about 100,000
    /// keys (the two sorts took 6.5 % of a validator's CPU under batch load).
    private var sealedOrder: SortedOrder?

    /// An immutable sorted copy, shared by the copies of the changes that were sealed.
    private final class SortedOrder: Sendable {
        let entries: [(key: StateKey, value: [UInt8]?)]
        init(_ entries: [(key: StateKey, value: [UInt8]?)]) { self.entries = entries }
    }

    public init() {}

    public var isEmpty: Bool { writes.isEmpty }
    public var count: Int { writes.count }

    public mutating func put(_ table: StateTable, _ key: [UInt8], _ value: [UInt8]) {
        sealedOrder = nil
        writes[StateKey(table, key)] = .some(value)
    }

    public mutating func delete(_ table: StateTable, _ key: [UInt8]) {
        sealedOrder = nil
        writes[StateKey(table, key)] = .some(nil)
    }

    /// Later changes win over earlier ones for the same key.
    public mutating func merge(_ later: StateChanges) {
        sealedOrder = nil
        for (k, v) in later.writes { writes[k] = .some(v) }
    }

    /// Sorts the changes now and keeps the order until they change (`sorted` then costs nothing).
    public mutating func seal() {
        if sealedOrder == nil { sealedOrder = SortedOrder(Self.sort(writes)) }
    }

    /// Equal when they hold the same writes (sealed or not).
    public static func == (a: StateChanges, b: StateChanges) -> Bool { a.writes == b.writes }

    /// The writes sorted by (table, key): the order of the canonical encoding.
    ///
    /// Sorted through `SortPrefix`es, plain integers, rather than by comparing `StateKey`s: a
    /// block of batch registrations changes about 100,000 keys, and the generic sort of
    /// (key, value) pairs spent most of its time retaining and releasing their arrays (a third of
    /// a validator's CPU under batch load). Keys whose first 15 bytes agree are then ordered by
    /// their whole bytes.
    public var sorted: [(key: StateKey, value: [UInt8]?)] { sealedOrder?.entries ?? Self.sort(writes) }

    private static func sort(_ writes: [StateKey: [UInt8]?]) -> [(key: StateKey, value: [UInt8]?)] {
        let entries = Array(writes)
        var order = entries.indices.map { SortPrefix(entries[$0].key, index: $0) }
        order.sort { $0.precedes($1) }
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && order[end].samePrefix(order[start]) { end += 1 }
            if end - start > 1 {
                order[start..<end].sort { entries[$0.index].key < entries[$1.index].key }
            }
            start = end
        }
        return order.map { entries[$0.index] }
    }

    /// Canonical encoding: `list<change>` sorted by (table, key), where
    /// `change = table:u8 | key:bytes | value:optional<bytes>` (absent = deleted).
    public var encoded: [UInt8] { Self.encode(sorted: sorted) }

    /// The canonical encoding of changes already in `sorted` order (sort once, hash and write).
    public static func encode(sorted: [(key: StateKey, value: [UInt8]?)]) -> [UInt8] {
        var w = TCEWriter(capacity: 64 * sorted.count + 4)
        w.list(sorted) { w, change in
            w.u8(change.key.table.rawValue)
            w.varBytes(change.key.key)
            w.optional(change.value) { $0.varBytes($1) }
        }
        return w.bytes
    }

    /// `changesHash` of PROTOCOL.md: SHA-256 of the canonical encoding.
    public var hash: Bytes32 { SHA256.hash(encoded) }
}

/// The first 15 bytes of a state key, table first, as two integers whose order is the keys' order
/// (a shorter key is padded with zeros, which sorts it before every longer key it begins), and
/// the key's place in the array being sorted.
struct SortPrefix {
    let high: UInt64
    let low: UInt64
    let index: Int

    init(_ key: StateKey, index: Int) {
        self.index = index
        var high = UInt64(key.table.rawValue) << 56
        var low: UInt64 = 0
        key.key.withUnsafeBytes { bytes in
            for i in 0..<min(bytes.count, 15) {
                if i < 7 {
                    high |= UInt64(bytes[i]) << (48 - 8 * i)
                } else {
                    low |= UInt64(bytes[i]) << (56 - 8 * (i - 7))
                }
            }
        }
        self.high = high
        self.low = low
    }

    func precedes(_ other: SortPrefix) -> Bool {
        high != other.high ? high < other.high : low < other.low
    }

    func samePrefix(_ other: SortPrefix) -> Bool { high == other.high && low == other.low }
}

/// Committed state seen through the changes of the blocks and transactions applied on top of it.
public struct OverlayState<Base: StateReader>: StateReader {
    public let base: Base
    public private(set) var changes = StateChanges()

    public init(base: Base) { self.base = base }

    /// `changes` laid over `base` (shared, not copied). Changes are whole values or deletes, so
    /// laying them over a base that already holds them reads the same.
    public init(base: Base, changes: StateChanges) {
        self.base = base
        self.changes = changes
    }

    public func get(_ table: StateTable, _ key: [UInt8]) -> [UInt8]? {
        if let v = changes.writes[StateKey(table, key)] { return v }
        return base.get(table, key)
    }

    public mutating func put(_ table: StateTable, _ key: [UInt8], _ value: [UInt8]) { changes.put(table, key, value) }
    public mutating func delete(_ table: StateTable, _ key: [UInt8]) { changes.delete(table, key) }
    public mutating func merge(_ later: StateChanges) { changes.merge(later) }
}

/// State held in memory: for unit tests of the pure state machine and for simulators.
public struct MemoryState: StateReader, Sendable {
    public private(set) var tables: [StateKey: [UInt8]] = [:]

    public init() {}

    public func get(_ table: StateTable, _ key: [UInt8]) -> [UInt8]? { tables[StateKey(table, key)] }

    public mutating func apply(_ changes: StateChanges) {
        for (k, v) in changes.writes { tables[k] = v }
    }
}
