/// RFC 4648 base32 without padding, uppercase: the alphabet of ISCC display forms.
enum Base32 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bitCount = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bitCount += 8
            while bitCount >= 5 {
                bitCount -= 5
                out.append(alphabet[Int((buffer >> UInt32(bitCount)) & 0x1f)])
            }
        }
        if bitCount > 0 {
            out.append(alphabet[Int((buffer << UInt32(5 - bitCount)) & 0x1f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil unless `text` is unpadded base32 (either case) whose unused trailing bits are zero.
    static func decode(_ text: String) -> [UInt8]? {
        var out = [UInt8]()
        var buffer: UInt32 = 0
        var bitCount = 0
        for c in text.utf8 {
            guard let v = value(c) else { return nil }
            buffer = (buffer << 5 | UInt32(v)) & 0x1fff
            bitCount += 5
            if bitCount >= 8 {
                bitCount -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bitCount)))
            }
        }
        // Leftover bits must be fewer than a byte and zero, or the text has another length.
        guard bitCount < 5, buffer & ((1 << UInt32(bitCount)) - 1) == 0 else { return nil }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a")
        case UInt8(ascii: "2")...UInt8(ascii: "7"): c - UInt8(ascii: "2") + 26
        default: nil
        }
    }
}
