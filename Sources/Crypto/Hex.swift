/// Lowercase hexadecimal, the only form PROTOCOL.md allows in JSON: decoding rejects uppercase
/// digits, whitespace, prefixes and odd lengths, so one value has one text.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil unless `text` is an even number of lowercase hex digits.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    public static func decode(_ raw: UnsafeRawBufferPointer) -> [UInt8]? {
        guard raw.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(raw.count / 2)
        var i = 0
        while i < raw.count {
            guard let hi = value(raw[i]), let lo = value(raw[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    @inline(__always) private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
