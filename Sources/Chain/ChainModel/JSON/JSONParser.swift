/// A strict JSON parser (RFC 8259): one value, surrounded only by JSON whitespace, with no
/// duplicate key in any object (keys compared as exact bytes), strings of valid UTF-8 without lone
/// surrogates, nesting at most `JSONLimits.depthMax` deep and the input at most `maxInputBytes`.
/// Numbers are checked against the grammar and kept as their literal text.
public struct JSONParser {
    private let input: [UInt8]
    private var offset = 0
    private var depth = 0
    /// The path of the value being parsed, for errors.
    private var path = JSONPath()

    private init(_ input: [UInt8]) { self.input = input }

    /// Parses a whole JSON text.
    public static func parse(_ bytes: [UInt8], maxInputBytes: Int = JSONLimits.inputMaxBytesDefault)
    throws(JSONError) -> JSONValue {
        guard bytes.count <= maxInputBytes else {
            throw JSONError(.tooLarge, at: .root, "input of \(bytes.count) bytes is over the limit of \(maxInputBytes)")
        }
        var p = JSONParser(bytes)
        p.skipWhitespace()
        let value = try p.parseValue()
        p.skipWhitespace()
        guard p.offset == bytes.count else {
            throw JSONError(.syntax, at: .root, "unexpected content after the JSON value at byte \(p.offset)")
        }
        return value
    }

    private var peek: UInt8? { offset < input.count ? input[offset] : nil }

    private func fail(_ what: String) -> JSONError {
        JSONError(.syntax, at: path, "\(what) at byte \(offset)")
    }

    private mutating func skipWhitespace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { offset += 1 }
    }

    private mutating func expect(_ c: UInt8) throws(JSONError) {
        guard peek == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        offset += 1
    }

    private mutating func literal(_ word: String) throws(JSONError) {
        for c in word.utf8 { try expect(c) }
    }

    private mutating func parseValue() throws(JSONError) -> JSONValue {
        guard let c = peek else { throw fail("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character")
        }
    }

    private mutating func enter() throws(JSONError) {
        depth += 1
        guard depth <= JSONLimits.depthMax else {
            throw JSONError(.tooDeep, at: path, "nesting deeper than \(JSONLimits.depthMax) levels")
        }
    }

    private mutating func parseObject() throws(JSONError) -> JSONValue {
        try enter()
        offset += 1
        var members: [(key: String, value: JSONValue)] = []
        var keys = Set<[UInt8]>()
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            offset += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            path.push(.key(key))
            guard keys.insert(Array(key.utf8)).inserted else {
                throw JSONError(.duplicateKey, at: path, "key \"\(key)\" appears twice in one object")
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            members.append((key: key, value: try parseValue()))
            path.pop()
            skipWhitespace()
            if peek == UInt8(ascii: ",") { offset += 1; continue }
            try expect(UInt8(ascii: "}"))
            depth -= 1
            return .object(members)
        }
    }

    private mutating func parseArray() throws(JSONError) -> JSONValue {
        try enter()
        offset += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            offset += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            path.push(.index(items.count))
            items.append(try parseValue())
            path.pop()
            skipWhitespace()
            if peek == UInt8(ascii: ",") { offset += 1; continue }
            try expect(UInt8(ascii: "]"))
            depth -= 1
            return .array(items)
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as written.
    private mutating func parseNumber() throws(JSONError) -> String {
        let start = offset
        if peek == UInt8(ascii: "-") { offset += 1 }
        if peek == UInt8(ascii: "0") {
            offset += 1
        } else {
            guard digits() > 0 else { throw fail("expected a digit") }
        }
        if peek == UInt8(ascii: ".") {
            offset += 1
            guard digits() > 0 else { throw fail("expected a digit after '.'") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            offset += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { offset += 1 }
            guard digits() > 0 else { throw fail("expected a digit in the exponent") }
        }
        return String(decoding: input[start..<offset], as: UTF8.self)
    }

    private mutating func digits() -> Int {
        var n = 0
        while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { offset += 1; n += 1 }
        return n
    }

    private mutating func parseString() throws(JSONError) -> String {
        offset += 1
        var out = [UInt8]()
        while true {
            guard let c = peek else { throw fail("unterminated string") }
            offset += 1
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else {
                    throw JSONError(.invalidUTF8, at: path, "string is not valid UTF-8")
                }
                return s
            case UInt8(ascii: "\\"):
                try parseEscape(into: &out)
            case 0x00..<0x20:
                throw fail("control character in a string")
            default:
                out.append(c)
            }
        }
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws(JSONError) {
        guard let c = peek else { throw fail("unterminated escape") }
        offset += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(c)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            let scalar = try parseUnicodeEscape()
            out.append(contentsOf: String(Character(scalar)).utf8)
        default: throw fail("invalid escape")
        }
    }

    /// `\uXXXX`, or a surrogate pair `\uD8xx\uDCxx`; a lone surrogate is not a character.
    private mutating func parseUnicodeEscape() throws(JSONError) -> Unicode.Scalar {
        let first = try hex4()
        var value = UInt32(first)
        if (0xD800...0xDBFF).contains(first) {
            guard peek == UInt8(ascii: "\\") else { throw loneSurrogate() }
            offset += 1
            guard peek == UInt8(ascii: "u") else { throw loneSurrogate() }
            offset += 1
            let second = try hex4()
            guard (0xDC00...0xDFFF).contains(second) else { throw loneSurrogate() }
            value = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else { throw loneSurrogate() }
        return scalar
    }

    private func loneSurrogate() -> JSONError {
        JSONError(.invalidUTF8, at: path, "lone surrogate escape at byte \(offset)")
    }

    private mutating func hex4() throws(JSONError) -> UInt16 {
        var v: UInt16 = 0
        for _ in 0..<4 {
            guard let c = peek else { throw fail("truncated \\u escape") }
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit in \\u escape")
            }
            offset += 1
            v = v << 4 | UInt16(d)
        }
        return v
    }
}
