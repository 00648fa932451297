import CLibCrypto

/// SHA-256 through OpenSSL's libcrypto (SHA-NI where the CPU has it: about 4x libsodium's here).
public enum SHA256 {
    public static func hash(_ data: [UInt8]) -> Bytes32 {
        data.withUnsafeBytes { hash(raw: $0) }
    }

    public static func hash(_ data: ArraySlice<UInt8>) -> Bytes32 {
        data.withUnsafeBytes { hash(raw: $0) }
    }

    public static func hash(raw: UnsafeRawBufferPointer) -> Bytes32 {
        var out = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &out) { o in
            _ = CLibCrypto.SHA256(raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count,
                                  o.baseAddress!.assumingMemoryBound(to: UInt8.self))
            return Bytes32(unsafeRaw: UnsafeRawPointer(o.baseAddress!))
        }
    }

    /// Hash of the concatenation of several parts, without copying them together.
    public static func hash(parts: [[UInt8]]) -> Bytes32 {
        var h = Hasher256()
        for p in parts { h.update(p) }
        return h.finalize()
    }
}

/// Incremental SHA-256. A value type: copying it forks the running hash.
public struct Hasher256: Sendable {
    private var ctx = SHA256_CTX()

    public init() { SHA256_Init(&ctx) }

    public mutating func update(_ data: [UInt8]) {
        data.withUnsafeBytes { update(raw: $0) }
    }

    public mutating func update(_ data: ArraySlice<UInt8>) {
        data.withUnsafeBytes { update(raw: $0) }
    }

    public mutating func update(raw: UnsafeRawBufferPointer) {
        guard raw.count > 0 else { return }
        SHA256_Update(&ctx, raw.baseAddress, raw.count)
    }

    public mutating func update(_ value: Bytes32) { value.withUnsafeBytes { update(raw: $0) } }

    public mutating func update(byte: UInt8) { withUnsafeBytes(of: byte) { update(raw: $0) } }

    public consuming func finalize() -> Bytes32 {
        var out = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &out) { o in
            SHA256_Final(o.baseAddress!.assumingMemoryBound(to: UInt8.self), &ctx)
            return Bytes32(unsafeRaw: UnsafeRawPointer(o.baseAddress!))
        }
    }
}
