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
    /// copy; the buffer is LMDB's and is valid only inside `fill`).
    public func put(_ db: Database, key: [UInt8], reservingCount count: Int,
                    _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        try withKey(key) { k in
            var keyVal = k
            var data = MDB_val(mv_size: count, mv_data: nil)
            let rc = mdb_put(txn, db.dbi, &keyVal, &data, UInt32(MDB_RESERVE))
            observe(rc)
            try check(rc, "mdb_put (reserve) \(db.name)")
            try fill(UnsafeMutableRawBufferPointer(start: data.mv_data, count: count))
        }
    }

    private func put(_ db: Database, key: [UInt8], value: [UInt8], flags: UInt32) throws -> Bool {
        try withKey(key) { k in
            var keyVal = k
            // A stand-in address for an empty value: LMDB copies zero bytes from it.
            var empty: UInt8 = 0
            return try withUnsafeMutablePointer(to: &empty) { emptyAddress in
                try value.withUnsafeBytes { raw in
                    var data = MDB_val(mv_size: raw.count,
                                       mv_data: raw.count == 0 ? UnsafeMutableRawPointer(emptyAddress)
                                                               : UnsafeMutableRawPointer(mutating: raw.baseAddress))
                    let rc = mdb_put(txn, db.dbi, &keyVal, &data, flags)
                    if rc == MDB_KEYEXIST && flags & UInt32(MDB_NOOVERWRITE) != 0 { return false }
                    observe(rc)
                    try check(rc, "mdb_put \(db.name)")
                    return true
                }
            }
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
