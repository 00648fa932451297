/// A strict reader for the one JSON shape a key file has: an object whose values are strings.
///
/// Written by hand rather than with Foundation because a key file must be refused on things
/// Foundation's parser silently accepts or resolves (duplicate keys, non-string values), and
/// because each refusal has to name the field at fault. It accepts any RFC 8259 text of that
/// shape: whitespace between tokens and string escapes are fine.
struct KeyFileJSON {
    private let bytes: [UInt8]
    private var pos = 0
    /// Says where the text came from in error messages ("key file /path").
    private let origin: String

    /// The fields of the object in `bytes`, refusing keys outside `allowedKeys` before their values.
    static func parseObject(_ bytes: [UInt8], allowedKeys: [String], origin: String)
        throws(KeyFileError) -> [String: String] {
        var parser = KeyFileJSON(bytes: bytes, origin: origin)
        return try parser.object(allowedKeys: allowedKeys)
    }

    private init(bytes: [UInt8], origin: String) {
        self.bytes = bytes
        self.origin = origin
    }

    private mutating func object(allowedKeys: [String]) throws(KeyFileError) -> [String: String] {
        var fields = [String: String]()
        skipWhitespace()
        try expect(UInt8(ascii: "{"), "a JSON object")
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            pos += 1
        } else {
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw malformed("expected a field name") }
                let key = try string()
                guard allowedKeys.contains(key) else {
                    let expected = allowedKeys.map { "\"\($0)\"" }.joined(separator: ", ")
                    throw KeyFileError(.unknownField, "\(origin): unknown field \"\(printable(key))\" "
                                       + "(a key file has exactly \(expected))")
                }
                guard fields[key] == nil else {
                    throw KeyFileError(.duplicateField, "\(origin): field \"\(key)\" appears more than once")
                }
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':' after field \"\(key)\"")
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else {
                    throw malformed("field \"\(key)\" must be a JSON string")
                }
                fields[key] = try string()
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                try expect(UInt8(ascii: "}"), "',' or '}' after field \"\(key)\"")
                break
            }
        }
        skipWhitespace()
        guard pos == bytes.count else { throw malformed("unexpected text after the JSON object") }
        return fields
    }

    /// A JSON string starting at the opening quote, with its escapes resolved.
    private mutating func string() throws(KeyFileError) -> String {
        pos += 1
        var out = [UInt8]()
        while true {
            guard let c = next() else { throw malformed("unterminated string") }
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else {
                    throw malformed("a string is not valid UTF-8")
                }
                return s
            case UInt8(ascii: "\\"):
                try escape(into: &out)
            case 0x00..<0x20:
                throw malformed("a control character inside a string must be escaped")
            default:
                out.append(c)
            }
        }
    }

    private mutating func escape(into out: inout [UInt8]) throws(KeyFileError) {
        guard let c = next() else { throw malformed("unterminated escape") }
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(c)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0c)
        case UInt8(ascii: "n"): out.append(0x0a)
        case UInt8(ascii: "r"): out.append(0x0d)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try hex4())
            if (0xd800..<0xdc00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                guard next() == UInt8(ascii: "\\"), next() == UInt8(ascii: "u") else {
                    throw malformed("unpaired surrogate in a \\u escape")
                }
                let low = UInt32(try hex4())
                guard (0xdc00..<0xe000).contains(low) else { throw malformed("unpaired surrogate in a \\u escape") }
                scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
            }
            guard let u = Unicode.Scalar(scalar) else { throw malformed("unpaired surrogate in a \\u escape") }
            UTF8.encode(u) { out.append($0) }
        default:
            throw malformed("invalid escape \\\(printable(String(decoding: [c], as: UTF8.self)))")
        }
    }

    private mutating func hex4() throws(KeyFileError) -> UInt16 {
        var v: UInt16 = 0
        for _ in 0..<4 {
            guard let c = next() else { throw malformed("truncated \\u escape") }
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw malformed("invalid \\u escape")
            }
            v = v << 4 | UInt16(d)
        }
        return v
    }

    private func peek() -> UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private mutating func next() -> UInt8? {
        guard pos < bytes.count else { return nil }
        defer { pos += 1 }
        return bytes[pos]
    }

    private mutating func skipWhitespace() {
        while let c = peek(), c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d { pos += 1 }
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws(KeyFileError) {
        guard peek() == c else { throw malformed("expected \(what)") }
        pos += 1
    }

    private func malformed(_ why: String) -> KeyFileError {
        KeyFileError(.malformed, "\(origin) is not a valid key file: \(why) at byte \(pos)")
    }

    /// A field name as it may appear in a message: bounded, with control characters escaped.
    private func printable(_ s: String) -> String {
        String(s.prefix(64).unicodeScalars.map { $0.value < 0x20 ? "?" : Character($0) })
    }
}
