/// Standard base64 (RFC 4648 §4) with padding, the only base64 form PROTOCOL.md allows in JSON.
/// Decoding accepts exactly the text `encode` produces: no whitespace, no URL-safe alphabet, no
/// missing padding and no non-zero bits in the padding, so one byte string has one text.
public enum Base64 {
    private static let alphabet: [UInt8] =
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let pad = UInt8(ascii: "=")

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let input = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i < input.count {
            let n = min(3, input.count - i)
            let b0 = UInt32(input[i])
            let b1 = n > 1 ? UInt32(input[i + 1]) : 0
            let b2 = n > 2 ? UInt32(input[i + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            out.append(n > 1 ? alphabet[Int(group >> 6 & 63)] : pad)
            out.append(n > 2 ? alphabet[Int(group & 63)] : pad)
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of canonical padded base64 `text`; nil for any other text.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let last = i + 4 == chars.count
            guard let group = decodeGroup(chars[i..<(i + 4)], isLast: last) else { return nil }
            out.append(contentsOf: group)
            i += 4
        }
        return out
    }

    /// One 4-character group: padding only at the end of the last group, and the bits it leaves
    /// unused must be zero.
    private static func decodeGroup(_ g: ArraySlice<UInt8>, isLast: Bool) -> [UInt8]? {
        let c = Array(g)
        let padCount = c[3] == pad ? (c[2] == pad ? 2 : 1) : 0
        guard padCount == 0 || isLast else { return nil }
        var v: UInt32 = 0
        for k in 0..<(4 - padCount) {
            guard let d = value(c[k]) else { return nil }
            v = v << 6 | UInt32(d)
        }
        switch padCount {
        case 0:
            return [UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        case 1:
            guard v & 0x3 == 0 else { return nil }
            return [UInt8(v >> 10 & 0xFF), UInt8(v >> 2 & 0xFF)]
        default:
            guard v & 0xF == 0 else { return nil }
            return [UInt8(v >> 4 & 0xFF)]
        }
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
