import TotemCrypto

/// The key layout of the `imageCodes` index, `imageCode:u64 | contentHash:bytes32` (the code
/// big-endian first, so the works of one code are adjacent and ordered by contentHash). This type
/// is its one owner: the store writes the index through it, and the similarity search reads it
/// through `ChainStore.imageCodeEntries()` and `StoreSnapshot.contentHashes(imageCode:hashPrefix:limit:)`.
public enum ImageCodeKey {
    /// Every key of the index has this length.
    public static let byteCount = 40

    /// The key of a work's image code.
    public static func make(code: UInt64, contentHash: Bytes32) -> [UInt8] {
        var key = StoreKey(capacity: byteCount)
        key.append(code)
        key.append(contentHash)
        return key.bytes
    }

    /// The prefix of the keys of the works indexed under `code` whose contentHash begins with the
    /// 8 bytes of `hashPrefix` read big-endian (`Bytes32.w0`, the similarity index's key).
    static func prefix(code: UInt64, hashPrefix: UInt64) -> [UInt8] {
        var key = StoreKey(capacity: 16)
        key.append(code)
        key.append(hashPrefix)
        return key.bytes
    }

    /// The code and contentHash of a stored key; nil when the key is not `byteCount` bytes.
    static func parse(_ key: UnsafeRawBufferPointer) -> (code: UInt64, contentHash: Bytes32)? {
        guard key.count == byteCount, let code = StoreKey.readU64(key), let hash = StoreKey.readBytes32(key, at: 8) else {
            return nil
        }
        return (code, hash)
    }
}

extension ChainStore {
    /// Every entry of the image-code index, in key order (one read transaction). A key of another
    /// length is a damaged record, and throws.
    public func imageCodeEntries() throws -> [(code: UInt64, contentHash: Bytes32)] {
        let db = databases.imageCodes
        var entries: [(code: UInt64, contentHash: Bytes32)] = []
        try environment.read { txn in
            try txn.scan(db, range: KeyRange()) { e in
                guard let parsed = ImageCodeKey.parse(e.key) else {
                    throw StoreError(.malformedRecord, "an \(db.name) key is \(e.key.count) bytes, not \(ImageCodeKey.byteCount)")
                }
                entries.append(parsed)
                return true
            }
        }
        return entries
    }
}

extension StoreSnapshot {
    /// The contentHashes of the works indexed under `code` whose contentHash begins with the 8
    /// bytes of `hashPrefix` (read big-endian), in hash order, at most `limit`.
    public func contentHashes(imageCode code: UInt64, hashPrefix: UInt64, limit: Int) throws -> [Bytes32] {
        let db = databases.imageCodes
        return try txn.entries(db, prefix: ImageCodeKey.prefix(code: code, hashPrefix: hashPrefix), limit: limit).map { e in
            guard let parsed = e.key.withUnsafeBytes({ ImageCodeKey.parse($0) }) else {
                throw StoreError(.malformedRecord, "an \(db.name) key is \(e.key.count) bytes, not \(ImageCodeKey.byteCount)")
            }
            return parsed.contentHash
        }
    }
}
