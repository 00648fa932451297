import TotemCrypto

/// The checksum every stored value carries: a value is written as `payload | crc:u32` (big
/// endian), where `crc` is the CRC-32C of `key | payload`. Covering the key as well makes a
/// damaged key (an entry that moved under another key) as visible as a damaged value. Reads
/// check it before anything sees the payload (`ReadTxn`, `Cursor`); writes add it (`WriteTxn`).
enum RecordChecksum {
    /// Bytes the checksum adds to every value.
    static let byteCount = 4

    static func crc(key: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> UInt32 {
        CRC32C.update(CRC32C.update(0, key), payload)
    }

    /// The payload of `stored` (a value as LMDB holds it under `key`), or nil if its checksum fails.
    static func payload(key: UnsafeRawBufferPointer, stored: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard stored.count >= byteCount else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: stored[0..<(stored.count - byteCount)])
        var expected: UInt32 = 0
        for b in stored[(stored.count - byteCount)...] { expected = expected << 8 | UInt32(b) }
        return crc(key: key, payload: payload) == expected ? payload : nil
    }

    /// Writes the checksum of `key | buffer[0..<payloadCount]` into the last `byteCount` bytes of
    /// `buffer`, which holds `payloadCount + byteCount` bytes.
    static func seal(key: UnsafeRawBufferPointer, _ buffer: UnsafeMutableRawBufferPointer, payloadCount: Int) {
        precondition(buffer.count == payloadCount + byteCount, "sealed value of the wrong size")
        let c = crc(key: key, payload: UnsafeRawBufferPointer(rebasing: buffer[0..<payloadCount]))
        for i in 0..<byteCount { buffer[payloadCount + i] = UInt8(truncatingIfNeeded: c >> (8 * (byteCount - 1 - i))) }
    }
}

extension StoreError {
    /// A record that fails its checksum (or could be hiding behind a damaged neighbour): the
    /// data file is damaged. Names the file, the database and the key.
    static func damaged(_ environment: LMDBEnvironment, _ db: Database, key: UnsafeRawBufferPointer,
                        _ what: String = "fails its checksum") -> StoreError {
        let shown = Hex.encode(Array(key.prefix(StoreLimits.damagedKeyShownBytes)))
        return StoreError(.corrupted, "\(environment.directory)/data.mdb is damaged: a record of database \(db.name) "
                          + "(key \(shown)\(key.count > StoreLimits.damagedKeyShownBytes ? "…" : "")) \(what); "
                          + StoreError.restoreAdvice)
    }

    /// What an operator does about a damaged store.
    public static let restoreAdvice = "stop the node and restore the data directory from a verified backup "
        + "(totemd backup restore), or move it away and let the node resync from its peers"

    /// Whether the error means stored data is damaged (as opposed to a bad request or an I/O failure).
    public var isDamage: Bool { code == .corrupted || code == .malformedRecord }
}
