import ChainModel
import ChainState
import TotemCrypto

/// The tables a snapshot holds (PROTOCOL.md "Checkpoints"), by the id an entry carries: what a node
/// needs, beside header H and its certificate, to check and apply block H + 1 and everything after
/// it, and to answer queries about the state. The state tables keep their `StateTable` ids; two
/// node indexes follow, because a node cannot rebuild them without the blocks below H:
/// `imageCodes` (the similarity index is rebuilt from it at start) and `validatorHistory` (the set
/// in force at each height, for certificates and for verifying commits). Blocks, commit
/// certificates, the tx index, the block-hash index, the signing state and the meta record are
/// not in it: they are history or this node's own.
public enum SnapshotTable: UInt8, Sendable, CaseIterable, Comparable {
    case identities = 1, registrars = 2, works = 3, worksByOwner = 4, licences = 5, claims = 6, evidence = 7
    case nonces = 8, validators = 9, validatorTallies = 10, transfers = 11
    case imageCodes = 12
    case validatorHistory = 13

    public static func < (a: SnapshotTable, b: SnapshotTable) -> Bool { a.rawValue < b.rawValue }

    /// The state table it is; nil for the two node indexes.
    public var stateTable: StateTable? { StateTable(rawValue: rawValue) }

    /// The store database the table is.
    public var databaseName: String {
        switch self {
        case .imageCodes: return StoreSchema.imageCodes
        case .validatorHistory: return StoreSchema.validatorHistory
        default: return stateTable?.name ?? "unknown"
        }
    }

    func database(_ dbs: StoreDatabases) -> Database {
        switch self {
        case .imageCodes: return dbs.imageCodes
        case .validatorHistory: return dbs.validatorHistory
        default:
            guard let table = stateTable else { preconditionFailure("snapshot table \(rawValue) has no state table") }
            return dbs.table(table)
        }
    }
}

/// Bounds of snapshot chunks, whatever the chain's `snapshotChunkBytes`.
public enum SnapshotLimits {
    /// A key as LMDB takes it (its default maximum key size).
    public static let keyMaxBytes = 511
    /// One stored record (without its checksum). A record this large would be its chunk alone.
    public static let valueMaxBytes = 8 * 1024 * 1024
    /// An encoded chunk: `snapshotChunkBytes` at most, or one record over it.
    public static let chunkMaxBytes = valueMaxBytes + keyMaxBytes + 16
    /// Entries in one chunk (the smallest entry is 10 bytes: table, two lengths, a 1-byte key).
    public static let chunkEntriesMax = chunkMaxBytes / 10
    /// Chunks of one snapshot (a 4 TiB state at 1 MiB chunks; the progress bitmap is 512 KiB).
    public static let chunkCountMax: UInt32 = 1 << 22
}

/// One record of a snapshot: `table:u8 | key:bytes | value:bytes` (the layouts of state.md,
/// without the store's checksum).
public struct SnapshotEntry: Sendable, Hashable {
    public var table: SnapshotTable
    public var key: [UInt8]
    public var value: [UInt8]

    public init(table: SnapshotTable, key: [UInt8], value: [UInt8]) {
        self.table = table; self.key = key; self.value = value
    }

    /// Bytes of the entry in a chunk.
    public static func encodedBytes(keyCount: Int, valueCount: Int) -> Int { 1 + 4 + keyCount + 4 + valueCount }

    /// Whether `a` comes before `b` in snapshot order: by table id, then by key as LMDB orders keys
    /// (bytewise, a prefix first).
    static func precedes(_ a: SnapshotEntry, _ b: SnapshotEntry) -> Bool {
        if a.table != b.table { return a.table < b.table }
        return a.key.lexicographicallyPrecedes(b.key)
    }
}

/// A chunk of a snapshot: `list<SnapshotEntry>`, entries in strictly increasing (table, key) order.
/// Its encoding is a leaf of the snapshot's Merkle tree.
public enum SnapshotChunk {
    public static func encode(_ entries: [SnapshotEntry]) -> [UInt8] {
        var w = TCEWriter(capacity: 4 + entries.reduce(0) { $0 + SnapshotEntry.encodedBytes(keyCount: $1.key.count, valueCount: $1.value.count) })
        w.list(entries) { w, e in w.u8(e.table.rawValue); w.varBytes(e.key); w.varBytes(e.value) }
        return w.bytes
    }

    /// Decodes a chunk: at least one entry, known tables, keys of 1 to `keyMaxBytes`, entries in
    /// strictly increasing order (so no record is given twice), nothing after the list.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> [SnapshotEntry] {
        guard bytes.count <= SnapshotLimits.chunkMaxBytes else { throw DecodeError(.tooLarge, field: "(size)") }
        var r = TCEReader(bytes)
        let entries = try r.list(counts: 1...SnapshotLimits.chunkEntriesMax, "entries") {
            (r: inout TCEReader, i: Int) throws(DecodeError) in
            guard let table = SnapshotTable(rawValue: try r.u8("entries[\(i)].table")) else {
                throw DecodeError(.enum, field: "entries[\(i)].table")
            }
            let key = try r.varBytes(maxBytes: SnapshotLimits.keyMaxBytes, "entries[\(i)].key")
            guard !key.isEmpty else { throw DecodeError(.limit, field: "entries[\(i)].key") }
            let value = try r.varBytes(maxBytes: SnapshotLimits.valueMaxBytes, "entries[\(i)].value")
            return SnapshotEntry(table: table, key: key, value: value)
        }
        try r.finish()
        for i in entries.indices.dropFirst() where !SnapshotEntry.precedes(entries[i - 1], entries[i]) {
            throw DecodeError(.order, field: "entries[\(i)]")
        }
        return entries
    }
}
