/// 32 raw bytes held inline (no heap allocation): hashes, public keys, seeds.
///
/// Stored as four big-endian 64-bit words, so `<` is bytewise (lexicographic) order, which is the
/// order PROTOCOL.md uses for validator sets and evidence.
public struct Bytes32: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public static let zero = Bytes32(w0: 0, w1: 0, w2: 0, w3: 0)
    public static let byteCount = 32

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// Reads exactly 32 bytes; nil for any other length.
    public init?<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard bytes.count == 32 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var i = 0
        for b in bytes {
            let shift = UInt64(56 - 8 * (i % 8))
            switch i / 8 {
            case 0: words.0 |= UInt64(b) << shift
            case 1: words.1 |= UInt64(b) << shift
            case 2: words.2 |= UInt64(b) << shift
            default: words.3 |= UInt64(b) << shift
            }
            i += 1
        }
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// Reads 32 bytes from a raw buffer that holds at least 32 bytes.
    public init(unsafeRaw p: UnsafeRawPointer) {
        self.init(w0: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                  w1: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                  w2: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                  w3: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
    }

    /// Calls `body` with the 32 bytes laid out in order.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var be = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        return try Swift.withUnsafeBytes(of: &be) { try body($0) }
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    public func append(to out: inout [UInt8]) { withUnsafeBytes { out.append(contentsOf: $0) } }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    /// Strict lowercase hex of exactly 64 digits.
    public init?(hex: String) {
        guard let b = Hex.decode(hex), let v = Bytes32(b) else { return nil }
        self = v
    }

    public static func < (a: Bytes32, b: Bytes32) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}

/// 64 raw bytes held inline: Ed25519 signatures.
public struct Bytes64: Hashable, Sendable, CustomStringConvertible {
    public var high: Bytes32, low: Bytes32
    public static let zero = Bytes64(high: .zero, low: .zero)

    public init(high: Bytes32, low: Bytes32) { self.high = high; self.low = low }

    public init?<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard bytes.count == 64, let h = Bytes32(bytes.prefix(32)), let l = Bytes32(bytes.dropFirst(32)) else {
            return nil
        }
        self.init(high: h, low: l)
    }

    public init(unsafeRaw p: UnsafeRawPointer) {
        self.init(high: Bytes32(unsafeRaw: p), low: Bytes32(unsafeRaw: p + 32))
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var be = (high.w0.bigEndian, high.w1.bigEndian, high.w2.bigEndian, high.w3.bigEndian,
                  low.w0.bigEndian, low.w1.bigEndian, low.w2.bigEndian, low.w3.bigEndian)
        return try Swift.withUnsafeBytes(of: &be) { try body($0) }
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
    public func append(to out: inout [UInt8]) { withUnsafeBytes { out.append(contentsOf: $0) } }
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public init?(hex: String) {
        guard let b = Hex.decode(hex), let v = Bytes64(b) else { return nil }
        self = v
    }
}
