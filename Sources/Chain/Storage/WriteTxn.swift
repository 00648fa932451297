import CLMDB

/// A write transaction: reads see its own writes. Exists only inside the closure of
/// `LMDBEnvironment.write` (or `StoreWriter.write`), on the thread running it.
///
/// A zero-copy value read in a write transaction is valid only until the next write in it.
public final class WriteTxn: ReadTxn {
    /// Set when any operation hit `MDB_MAP_FULL`: the transaction is then dead, and the environment
    /// grows the map and runs the closure again, even if the closure caught the error.
    private(set) var sawMapFull = false

    override func observe(_ status: Int32) {
        if status == MDB_MAP_FULL { sawMapFull = true }
    }

    /// Stores `value` under `key`, replacing any value there.
    public func put(_ db: Database, key: [UInt8], value: [UInt8]) throws {
        _ = try put(db, key: key, value: value, flags: 0)
    }

    /// Stores `value` under `key` only if `key` is absent; returns whether it stored it.
    @discardableResult
    public func insert(_ db: Database, key: [UInt8], value: [UInt8]) throws -> Bool {
        try put(db, key: key, value: value, flags: UInt32(MDB_NOOVERWRITE))
    }

    /// Stores a value of `count` bytes under `key`, written in place by `fill` (no intermediate
    /// copy; the buffer is LMDB's and is valid only inside `fill`). The checksum is added after.
    public func put(_ db: Database, key: [UInt8], reservingCount count: Int,
                    _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        _ = try reserve(db, key: key, count: count, flags: 0, fill)
    }

    private func put(_ db: Database, key: [UInt8], value: [UInt8], flags: UInt32) throws -> Bool {
        try reserve(db, key: key, count: value.count, flags: flags) { buffer in
            value.withUnsafeBytes { raw in
                if let base = raw.baseAddress { buffer.baseAddress?.copyMemory(from: base, byteCount: raw.count) }
            }
        }
    }

    /// Reserves `count` bytes and the checksum under `key` (`MDB_RESERVE`: LMDB's buffer, no
    /// intermediate copy), fills them and seals them (`RecordChecksum`). Returns false, writing
    /// nothing, when `flags` has `MDB_NOOVERWRITE` and `key` is present.
    private func reserve(_ db: Database, key: [UInt8], count: Int, flags: UInt32,
                         _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws -> Bool {
        try withKey(key) { k in
            var keyVal = k
            let stored = count + RecordChecksum.byteCount
            var data = MDB_val(mv_size: stored, mv_data: nil)
            let rc = mdb_put(txn, db.dbi, &keyVal, &data, flags | UInt32(MDB_RESERVE))
            if rc == MDB_KEYEXIST && flags & UInt32(MDB_NOOVERWRITE) != 0 { return false }
            observe(rc)
            try check(rc, "mdb_put \(db.name)")
            let buffer = UnsafeMutableRawBufferPointer(start: data.mv_data, count: stored)
            try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]))
            RecordChecksum.seal(key: keyVal.buffer, buffer, payloadCount: count)
            return true
        }
    }

    /// Deletes `key`; returns whether it was present.
    @discardableResult
    public func delete(_ db: Database, key: [UInt8]) throws -> Bool {
        try withKey(key) { k in
            var keyVal = k
            let rc = mdb_del(txn, db.dbi, &keyVal, nil)
            if rc == MDB_NOTFOUND { return false }
            observe(rc)
            try check(rc, "mdb_del \(db.name)")
            return true
        }
    }

    /// Deletes every entry of `db` (the database itself stays open).
    public func deleteAll(_ db: Database) throws {
        let rc = mdb_drop(txn, db.dbi, 0)
        observe(rc)
        try check(rc, "mdb_drop \(db.name)")
    }
}
