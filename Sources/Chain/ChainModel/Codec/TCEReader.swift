import TotemCrypto

/// Reads the Totem Canonical Encoding, refusing every malformed input PROTOCOL.md lists with a
/// `DecodeError` naming the field (field names are built only when an error is thrown: a block of
/// batch registrations decodes hundreds of thousands of fields, and interpolating each name was a
/// tenth of a validator's CPU): lengths beyond the input or the field's limit, invalid UTF-8,
/// unknown tags, optional tags other than 0/1, and (via `finish`) trailing bytes.
public struct TCEReader: Sendable {
    private let input: [UInt8]
    public private(set) var offset: Int

    public init(_ input: [UInt8]) {
        self.input = input
        self.offset = 0
    }

    public var remaining: Int { input.count - offset }

    private mutating func take(_ n: Int, _ field: @autoclosure () -> String) throws(DecodeError) -> Range<Int> {
        guard n <= remaining else { throw DecodeError(.truncated, field: field()) }
        let r = offset..<(offset + n)
        offset += n
        return r
    }

    private mutating func integer<T: FixedWidthInteger>(_: T.Type, _ field: @autoclosure () -> String) throws(DecodeError) -> T {
        let r = try take(MemoryLayout<T>.size, field())
        var v: T = 0
        for i in r { v = v << 8 | T(input[i]) }
        return v
    }

    public mutating func u8(_ field: @autoclosure () -> String) throws(DecodeError) -> UInt8 { try integer(UInt8.self, field()) }
    public mutating func u16(_ field: @autoclosure () -> String) throws(DecodeError) -> UInt16 { try integer(UInt16.self, field()) }
    public mutating func u32(_ field: @autoclosure () -> String) throws(DecodeError) -> UInt32 { try integer(UInt32.self, field()) }
    public mutating func u64(_ field: @autoclosure () -> String) throws(DecodeError) -> UInt64 { try integer(UInt64.self, field()) }

    public mutating func bytes32(_ field: @autoclosure () -> String) throws(DecodeError) -> Bytes32 {
        let r = try take(32, field())
        return input.withUnsafeBytes { Bytes32(unsafeRaw: $0.baseAddress! + r.lowerBound) }
    }

    public mutating func bytes64(_ field: @autoclosure () -> String) throws(DecodeError) -> Bytes64 {
        let r = try take(64, field())
        return input.withUnsafeBytes { Bytes64(unsafeRaw: $0.baseAddress! + r.lowerBound) }
    }

    /// A `u32`-length-prefixed UTF-8 string of at most `maxBytes` bytes.
    public mutating func string(maxBytes: Int, _ field: @autoclosure () -> String) throws(DecodeError) -> String {
        let n = Int(try u32(field()))
        guard n <= maxBytes else { throw DecodeError(.limit, field: field()) }
        let r = try take(n, field())
        guard let s = Self.validUTF8(input, r) else { throw DecodeError(.utf8, field: field()) }
        return s
    }

    /// The string of `input[r]` if those bytes are valid UTF-8. `String(validating:as:)` on a slice
    /// runs the standard library's generic validator, looking up type metadata on every call: it was
    /// a seventh of a validator's CPU under batch registrations (three strings per work, decoded on
    /// every node from gossip and again in each proposal). Decoding with repair is the fast path
    /// over contiguous bytes, and its output is valid UTF-8 by construction, so it equals the input
    /// byte for byte exactly when the input was valid (a repair replaces bytes with U+FFFD).
    private static func validUTF8(_ input: [UInt8], _ r: Range<Int>) -> String? {
        input.withUnsafeBufferPointer { all in
            let bytes = UnsafeBufferPointer(rebasing: all[r])
            var s = String(decoding: bytes, as: UTF8.self)
            let same = s.utf8.count == bytes.count && s.withUTF8 { $0.elementsEqual(bytes) }
            return same ? s : nil
        }
    }

    /// `u32`-length-prefixed raw bytes of at most `maxBytes`.
    public mutating func varBytes(maxBytes: Int, _ field: @autoclosure () -> String) throws(DecodeError) -> [UInt8] {
        let n = Int(try u32(field()))
        guard n <= maxBytes else { throw DecodeError(.limit, field: field()) }
        return Array(input[try take(n, field())])
    }

    /// Exactly `n` raw bytes.
    public mutating func raw(_ n: Int, _ field: @autoclosure () -> String) throws(DecodeError) -> ArraySlice<UInt8> {
        input[try take(n, field())]
    }

    public mutating func optional<T>(_ field: @autoclosure () -> String, _ read: (inout TCEReader) throws(DecodeError) -> T)
    throws(DecodeError) -> T? {
        switch try u8(field()) {
        case 0: return nil
        case 1: return try read(&self)
        default: throw DecodeError(.optional, field: field())
        }
    }

    /// A `u32`-counted list whose count must lie in `counts`.
    public mutating func list<T>(counts: ClosedRange<Int>, _ field: @autoclosure () -> String,
                                 _ read: (inout TCEReader, Int) throws(DecodeError) -> T) throws(DecodeError) -> [T] {
        let n = Int(try u32(field()))
        guard counts.contains(n) else { throw DecodeError(.limit, field: field()) }
        var items = [T]()
        items.reserveCapacity(min(n, remaining))
        for i in 0..<n { items.append(try read(&self, i)) }
        return items
    }

    /// Refuses trailing bytes: a value is the whole input.
    public func finish() throws(DecodeError) {
        guard remaining == 0 else { throw DecodeError(.trailing, field: "(end)") }
    }
}
