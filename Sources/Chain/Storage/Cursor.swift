import CLMDB

/// A position in one database of a transaction. Exists only inside its `withCursor` closure.
/// Every move returns the entry it lands on (zero-copy, see `StoreEntry`) or nil when it runs off
/// the end.
public final class Cursor {
    private var pointer: OpaquePointer?
    /// The database the cursor walks.
    public let database: Database
    private let transaction: ReadTxn

    init(_ pointer: OpaquePointer, database: Database, transaction: ReadTxn) {
        self.pointer = pointer
        self.database = database
        self.transaction = transaction
    }

    func invalidate() { pointer = nil }

    /// The live `MDB_cursor`.
    var raw: OpaquePointer { cursor }

    private var cursor: OpaquePointer {
        guard let pointer else { preconditionFailure("LMDB cursor used after its closure returned") }
        return pointer
    }

    /// Moves to the entry with the smallest key.
    public func first() throws -> StoreEntry? { try move(MDB_FIRST) }
    /// Moves to the entry with the greatest key.
    public func last() throws -> StoreEntry? { try move(MDB_LAST) }
    /// Moves to the next entry in key order.
    public func next() throws -> StoreEntry? { try move(MDB_NEXT) }
    /// Moves to the previous entry in key order.
    public func previous() throws -> StoreEntry? { try move(MDB_PREV) }

    /// Moves to the first entry whose key is at least `key` (the first entry when `key` is nil).
    public func seek(atOrAfter key: [UInt8]?) throws -> StoreEntry? {
        guard let key else { return try first() }
        return try transaction.withKey(key) { k in
            var keyVal = k
            var data = MDB_val()
            return try step(mdb_cursor_get(cursor, &keyVal, &data, MDB_SET_RANGE), keyVal, data)
        }
    }

    /// Moves to the last entry whose key is below `key` (the last entry when `key` is nil).
    public func last(before key: [UInt8]?) throws -> StoreEntry? {
        guard let key else { return try last() }
        return try seek(atOrAfter: key) != nil ? previous() : last()
    }

    /// Moves to the last entry whose key is at most `key`.
    public func last(atOrBefore key: [UInt8]) throws -> StoreEntry? {
        guard let found = try seek(atOrAfter: key) else { return try last() }
        return KeyRange.compare(found.key, key) == 0 ? found : try previous()
    }

    private func move(_ op: MDB_cursor_op) throws -> StoreEntry? {
        var keyVal = MDB_val()
        var data = MDB_val()
        return try step(mdb_cursor_get(cursor, &keyVal, &data, op), keyVal, data)
    }

    private func step(_ rc: Int32, _ key: MDB_val, _ value: MDB_val) throws -> StoreEntry? {
        if rc == MDB_NOTFOUND { return nil }
        transaction.observe(rc)
        try check(rc, "mdb_cursor_get \(database.name)")
        return try verified(key, value)
    }

    /// The entry with its value's checksum checked and removed (`RecordChecksum`); throws
    /// `.corrupted` for a damaged entry.
    func verified(_ key: MDB_val, _ value: MDB_val) throws -> StoreEntry {
        guard let payload = RecordChecksum.payload(key: key.buffer, stored: value.buffer) else {
            throw transaction.recordDamage(.damaged(transaction.environment, database, key: key.buffer))
        }
        return StoreEntry(key: key.buffer, value: payload)
    }
}

@available(*, unavailable, message: "an LMDB cursor stays on the thread running its closure")
extension Cursor: Sendable {}
