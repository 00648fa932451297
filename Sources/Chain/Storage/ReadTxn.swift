import CLMDB
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A key and value seen through a cursor or a lookup. Both point into LMDB's map: they are valid
/// only until the next operation on the same cursor, the next write in the transaction, or the end
/// of the transaction, whichever comes first. Copy what you keep (`keyBytes`, `valueBytes`).
public struct StoreEntry {
    /// The key, in LMDB's memory.
    public let key: UnsafeRawBufferPointer
    /// The value, in LMDB's memory.
    public let value: UnsafeRawBufferPointer

    /// A copy of the key.
    public var keyBytes: [UInt8] { Array(key) }
    /// A copy of the value.
    public var valueBytes: [UInt8] { Array(value) }
}

/// A read transaction: a consistent snapshot of every database. Exists only inside the closure it
/// was passed to; using it afterwards stops the process (a use-after-free in LMDB otherwise). It is
/// not `Sendable`: it stays on the thread running its closure.
public class ReadTxn {
    private var pointer: OpaquePointer?
    let environment: LMDBEnvironment

    init(_ pointer: OpaquePointer, environment: LMDBEnvironment) {
        self.pointer = pointer
        self.environment = environment
    }

    /// The live `MDB_txn`; stops the process if the transaction's closure already returned.
    var txn: OpaquePointer {
        guard let pointer else { preconditionFailure("LMDB transaction used after its closure returned") }
        return pointer
    }

    /// Ends the transaction's use: its lookup cursors are closed (before its commit or abort, as
    /// LMDB requires of a write transaction's cursors) and any later use stops the process.
    func invalidate() {
        for (_, cursor) in lookupCursors {
            mdb_cursor_close(cursor.raw)
            cursor.invalidate()
        }
        lookupCursors = []
        pointer = nil
    }

    /// One cursor per database for point lookups (`withValue`), opened on first use and kept until
    /// the transaction ends: a lookup allocates nothing. A write transaction's writes move its open
    /// cursors along (LMDB tracks them), and a lookup positions its cursor afresh each time.
    private var lookupCursors: [(dbi: MDB_dbi, cursor: Cursor)] = []

    private func lookupCursor(_ db: Database) throws -> Cursor {
        for entry in lookupCursors where entry.dbi == db.dbi { return entry.cursor }
        var raw: OpaquePointer?
        try check(mdb_cursor_open(txn, db.dbi, &raw), "mdb_cursor_open \(db.name)")
        guard let raw else { throw StoreError(.io, "mdb_cursor_open \(db.name) returned no cursor") }
        let cursor = Cursor(raw, database: db, transaction: self)
        lookupCursors.append((db.dbi, cursor))
        return cursor
    }

    /// The first damaged record this transaction read. The transaction throws it when its closure
    /// returns, even if the closure caught it: nothing read after damage leaves a transaction.
    private(set) var damage: StoreError?

    /// Records an LMDB status seen by an operation (the write transaction watches for a full map).
    func observe(_ status: Int32) {}

    /// Records `error` as the transaction's damage (the first one stays) and returns it.
    func recordDamage(_ error: StoreError) -> StoreError {
        if damage == nil { damage = error }
        return error
    }

    // MARK: Point lookups

    /// Calls `body` with the value stored under `key` without copying it (its checksum checked and
    /// removed, see `RecordChecksum`); nil when absent. Throws `.corrupted` for a damaged record.
    public func withValue<R>(_ db: Database, key: [UInt8],
                             _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try withKey(key) { k in
            // A key may be absent because its entry's key bytes are damaged: such an entry stays
            // where the key sorted, so it is the entry at or after `key`, or the one before it. Both
            // are checked (cursor moves check checksums), so a miss is never damage passed off as
            // "not stored". One search finds `key` or those neighbours (a miss used to cost two:
            // `mdb_get`, then a cursor; most lookups under load are misses, e.g. a new work's hash).
            let cursor = try lookupCursor(db)
            var keyVal = k
            var data = MDB_val()
            let rc = mdb_cursor_get(cursor.raw, &keyVal, &data, MDB_SET_RANGE)
            if rc == MDB_NOTFOUND {
                _ = try cursor.last()
                return nil
            }
            observe(rc)
            try check(rc, "mdb_cursor_get \(db.name)")
            let found = try cursor.verified(keyVal, data)
            guard found.key.count == key.count, let a = found.key.baseAddress, let b = k.mv_data,
                  memcmp(a, b, key.count) == 0 else {
                _ = try cursor.previous()
                return nil
            }
            return try body(found.value)
        }
    }

    /// Calls `body` with the value stored under `key` as LMDB holds it (checksum included, not
    /// checked); nil when absent. Only to tell a store of an older schema from a damaged one.
    func withStoredValue<R>(_ db: Database, key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try withKey(key) { k in
            var keyVal = k
            var data = MDB_val()
            let rc = mdb_get(txn, db.dbi, &keyVal, &data)
            if rc == MDB_NOTFOUND { return nil }
            try check(rc, "mdb_get \(db.name)")
            return try body(data.buffer)
        }
    }

    /// A copy of the value stored under `key`; nil when absent.
    public func get(_ db: Database, key: [UInt8]) throws -> [UInt8]? {
        try withValue(db, key: key) { Array($0) }
    }

    /// Whether `key` is present.
    public func contains(_ db: Database, key: [UInt8]) throws -> Bool {
        try withValue(db, key: key) { _ in true } ?? false
    }

    /// The number of entries in `db`.
    public func count(_ db: Database) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(txn, db.dbi, &stat), "mdb_stat \(db.name)")
        return stat.ms_entries
    }

    // MARK: Cursors

    /// Runs `body` with a cursor on `db`, closed when `body` returns.
    public func withCursor<R>(_ db: Database, _ body: (Cursor) throws -> R) throws -> R {
        var raw: OpaquePointer?
        try check(mdb_cursor_open(txn, db.dbi, &raw), "mdb_cursor_open \(db.name)")
        guard let raw else { throw StoreError(.io, "mdb_cursor_open \(db.name) returned no cursor") }
        let cursor = Cursor(raw, database: db, transaction: self)
        defer {
            cursor.invalidate()
            mdb_cursor_close(raw)
        }
        return try body(cursor)
    }

    /// Visits the entries whose keys lie in `range`, in key order (or reverse order), while `body`
    /// returns true. Entries are zero-copy (see `StoreEntry`).
    public func scan(_ db: Database, range: KeyRange = .all, reverse: Bool = false,
                     _ body: (StoreEntry) throws -> Bool) throws {
        try withCursor(db) { cursor in
            var entry = try reverse ? cursor.last(before: range.upper) : cursor.seek(atOrAfter: range.lower)
            while let current = entry, range.contains(current.key) {
                guard try body(current) else { return }
                entry = try reverse ? cursor.previous() : cursor.next()
            }
        }
    }

    /// Visits the entries whose keys start with `prefix` (see `scan(_:range:reverse:_:)`).
    public func scan(_ db: Database, prefix: [UInt8], reverse: Bool = false,
                     _ body: (StoreEntry) throws -> Bool) throws {
        try scan(db, range: KeyRange(prefix: prefix), reverse: reverse, body)
    }

    /// Copies of at most `limit` entries whose keys start with `prefix`, in key order or reversed.
    public func entries(_ db: Database, prefix: [UInt8] = [], reverse: Bool = false,
                        limit: Int = .max) throws -> [(key: [UInt8], value: [UInt8])] {
        var result: [(key: [UInt8], value: [UInt8])] = []
        guard limit > 0 else { return result }
        try scan(db, prefix: prefix, reverse: reverse) { entry in
            result.append((entry.keyBytes, entry.valueBytes))
            return result.count < limit
        }
        return result
    }

    /// A copy of the entry with the greatest key starting with `prefix` ("latest"); nil if none.
    public func last(_ db: Database, prefix: [UInt8] = []) throws -> (key: [UInt8], value: [UInt8])? {
        try entries(db, prefix: prefix, reverse: true, limit: 1).first
    }

    /// A copy of the entry with the smallest key starting with `prefix`; nil if none.
    public func first(_ db: Database, prefix: [UInt8] = []) throws -> (key: [UInt8], value: [UInt8])? {
        try entries(db, prefix: prefix, limit: 1).first
    }

    /// A copy of the entry with the greatest key less than or equal to `key` (e.g. the validator
    /// set in force at a height, keyed by the height it took effect); nil if none.
    public func floor(_ db: Database, atOrBefore key: [UInt8]) throws -> (key: [UInt8], value: [UInt8])? {
        try withCursor(db) { cursor in
            guard let entry = try cursor.last(atOrBefore: key) else { return nil }
            return (entry.keyBytes, entry.valueBytes)
        }
    }

    /// Runs `body` with `key` as an `MDB_val`, after checking LMDB accepts its length.
    func withKey<R>(_ key: [UInt8], _ body: (MDB_val) throws -> R) throws -> R {
        guard !key.isEmpty, key.count <= environment.maxKeyBytes else {
            throw StoreError(.invalidKey, "key of \(key.count) bytes; LMDB accepts 1...\(environment.maxKeyBytes)")
        }
        return try key.withUnsafeBytes { raw in
            try body(MDB_val(mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress)))
        }
    }
}

@available(*, unavailable, message: "an LMDB transaction stays on the thread running its closure")
extension ReadTxn: Sendable {}

extension MDB_val {
    /// The bytes this value points at (LMDB's memory: valid only as `StoreEntry` says).
    var buffer: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mv_data.map { UnsafeRawPointer($0) }, count: mv_size)
    }
}
