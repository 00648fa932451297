import TotemCrypto

/// Writes the Totem Canonical Encoding (PROTOCOL.md): fixed-width big-endian integers, raw fixed
/// bytes, `u32`-length-prefixed strings and bytes, tagged optionals, `u32`-counted lists.
/// Encoding is a function: one value, one byte string.
public struct TCEWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { append(bigEndian: v) }
    public mutating func u32(_ v: UInt32) { append(bigEndian: v) }
    public mutating func u64(_ v: UInt64) { append(bigEndian: v) }
    public mutating func bytes32(_ v: Bytes32) { v.append(to: &bytes) }
    public mutating func bytes64(_ v: Bytes64) { v.append(to: &bytes) }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func varBytes(_ b: [UInt8]) {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }

    /// Appends raw bytes with no length prefix (an already-encoded value).
    public mutating func raw<C: Collection>(_ b: C) where C.Element == UInt8 { bytes.append(contentsOf: b) }

    public mutating func optional<T>(_ v: T?, _ write: (inout TCEWriter, T) -> Void) {
        if let v {
            u8(1)
            write(&self, v)
        } else {
            u8(0)
        }
    }

    public mutating func list<T>(_ items: [T], _ write: (inout TCEWriter, T) -> Void) {
        u32(UInt32(items.count))
        for item in items { write(&self, item) }
    }

    private mutating func append<T: FixedWidthInteger>(bigEndian v: T) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }
}
