/// Writes a `JSONValue` deterministically: members in the order given, numbers as their literal
/// text, strings with only the escapes JSON requires (`"`, `\` and control characters; everything
/// else, `/` and non-ASCII included, as raw UTF-8). One value, one text per style.
public enum JSONWriter {
    public enum Style: Sendable {
        /// No whitespace at all.
        case compact
        /// Members and items on their own lines, indented by `indent` spaces, `": "` after keys,
        /// and a final newline (the layout of the protocol's genesis files).
        case pretty(indent: Int)
    }

    public static func write(_ value: JSONValue, style: Style = .compact) -> [UInt8] {
        var out = [UInt8]()
        switch style {
        case .compact:
            writeCompact(value, to: &out)
        case .pretty(let indent):
            writePretty(value, indent: indent, level: 0, to: &out)
            out.append(0x0A)
        }
        return out
    }

    private static func writeCompact(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeCompact(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, m) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(m.key, to: &out)
                out.append(UInt8(ascii: ":"))
                writeCompact(m.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        default:
            writeScalar(value, to: &out)
        }
    }

    private static func writePretty(_ value: JSONValue, indent: Int, level: Int, to out: inout [UInt8]) {
        func newline(_ level: Int) {
            out.append(0x0A)
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
        }
        switch value {
        case .array(let items) where !items.isEmpty:
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1)
                writePretty(item, indent: indent, level: level + 1, to: &out)
            }
            newline(level)
            out.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            out.append(UInt8(ascii: "{"))
            for (i, m) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1)
                writeString(m.key, to: &out)
                out.append(contentsOf: ": ".utf8)
                writePretty(m.value, indent: indent, level: level + 1, to: &out)
            }
            newline(level)
            out.append(UInt8(ascii: "}"))
        case .array: out.append(contentsOf: "[]".utf8)
        case .object: out.append(contentsOf: "{}".utf8)
        default:
            writeScalar(value, to: &out)
        }
    }

    private static func writeScalar(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let s): writeString(s, to: &out)
        case .array, .object: preconditionFailure("containers are written by the caller")
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0x08: out.append(contentsOf: "\\b".utf8)
            case 0x0C: out.append(contentsOf: "\\f".utf8)
            case 0x00..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(c >> 4)])
                out.append(hexDigits[Int(c & 0x0F)])
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
