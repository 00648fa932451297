import TotemCrypto

/// Builds database keys: fixed-width fields concatenated, integers big-endian, so LMDB's bytewise
/// key order is numeric order and a cursor walks heights (or nonces) in sequence.
public struct StoreKey: Sendable, Hashable {
    /// The key's bytes.
    public private(set) var bytes: [UInt8]

    /// An empty key, with room reserved for `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends one field: integers big-endian, hashes and keys as their 32 raw bytes.
    public mutating func append(_ value: UInt8) { bytes.append(value) }
    public mutating func append(_ value: UInt16) { appendBigEndian(value) }
    public mutating func append(_ value: UInt32) { appendBigEndian(value) }
    public mutating func append(_ value: UInt64) { appendBigEndian(value) }
    public mutating func append(_ value: Bytes32) { value.append(to: &bytes) }
    /// Appends raw bytes (a variable-length field belongs only at the end of a key).
    public mutating func append(contentsOf raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    private mutating func appendBigEndian<I: FixedWidthInteger>(_ value: I) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// The 8-byte big-endian key of a height (or any u64).
    public static func u64(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// The 4-byte big-endian encoding of a u32.
    public static func u32Bytes(_ value: UInt32) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// The key of a 32-byte hash or public key.
    public static func bytes32(_ value: Bytes32) -> [UInt8] { value.bytes }

    /// Reads a big-endian u64 at `offset`; nil when the buffer is too short.
    public static func readU64(_ raw: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64? {
        guard offset >= 0, raw.count - offset >= 8, let base = raw.baseAddress else { return nil }
        return UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Reads a big-endian u32 at `offset`; nil when the buffer is too short.
    public static func readU32(_ raw: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt32? {
        guard offset >= 0, raw.count - offset >= 4, let base = raw.baseAddress else { return nil }
        return UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// Reads 32 bytes at `offset`; nil when the buffer is too short.
    public static func readBytes32(_ raw: UnsafeRawBufferPointer, at offset: Int = 0) -> Bytes32? {
        guard offset >= 0, raw.count - offset >= 32, let base = raw.baseAddress else { return nil }
        return Bytes32(unsafeRaw: base + offset)
    }

    /// The smallest key greater than every key that starts with `prefix`, or nil when there is none
    /// (the prefix is empty or all 0xFF).
    public static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return nil
    }
}
