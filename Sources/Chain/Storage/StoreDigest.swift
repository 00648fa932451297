import TotemCrypto

extension ReadTxn {
    /// SHA-256 over the whole content of `databases` (in the order given): for each database its
    /// name and entry count, then every entry in key order as `u32 keyLength | key | u32
    /// valueLength | value`. Two stores with equal digests hold the same bytes.
    public func digest(_ databases: [Database]) throws -> Bytes32 {
        var hasher = Hasher256()
        for db in databases {
            let name = Array(db.name.utf8)
            Self.update(&hasher, length: name.count)
            hasher.update(name)
            Self.update(&hasher, length: try count(db))
            try scan(db) { entry in
                Self.update(&hasher, length: entry.key.count)
                hasher.update(raw: entry.key)
                Self.update(&hasher, length: entry.value.count)
                hasher.update(raw: entry.value)
                return true
            }
        }
        return hasher.finalize()
    }

    private static func update(_ hasher: inout Hasher256, length: Int) {
        precondition(length >= 0 && length <= Int(UInt32.max), "digest: length out of u32 range")
        withUnsafeBytes(of: UInt32(length).bigEndian) { hasher.update(raw: $0) }
    }
}
