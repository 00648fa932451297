import TotemCrypto

/// Strict readers of single values: each names `path` in its error.
extension JSONValue {
    public func string(at path: JSONPath) throws(JSONError) -> String {
        guard case .string(let s) = self else { throw wrongType("a string", path) }
        return s
    }

    public func bool(at path: JSONPath) throws(JSONError) -> Bool {
        guard case .bool(let b) = self else { throw wrongType("a boolean", path) }
        return b
    }

    public func array(at path: JSONPath) throws(JSONError) -> [JSONValue] {
        guard case .array(let items) = self else { throw wrongType("an array", path) }
        return items
    }

    public func object(at path: JSONPath) throws(JSONError) -> JSONObjectReader {
        try JSONObjectReader(self, at: path)
    }

    /// A JSON integer (no sign, fraction or exponent) in `0...JSONLimits.safeIntegerMax`.
    public func uint(at path: JSONPath) throws(JSONError) -> UInt64 {
        guard case .number(let text) = self else { throw wrongType("an integer", path) }
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw JSONError(.badInteger, at: path, "\(text) is not a non-negative integer without fraction or exponent")
        }
        guard digits.count == 1 || digits[0] != UInt8(ascii: "0"), digits.count <= 16 else {
            throw JSONError(.badInteger, at: path, "\(text) is not an integer from 0 to 2^53 - 1")
        }
        var v: UInt64 = 0
        for d in digits { v = v * 10 + UInt64(d - UInt8(ascii: "0")) }
        guard v <= JSONLimits.safeIntegerMax else {
            throw JSONError(.badInteger, at: path, "\(text) is over 2^53 - 1")
        }
        return v
    }

    /// A JSON integer that must also fit `UInt32` (e.g. a view number).
    public func uint32(at path: JSONPath) throws(JSONError) -> UInt32 {
        let v = try uint(at: path)
        guard let small = UInt32(exactly: v) else {
            throw JSONError(.badInteger, at: path, "\(v) is over \(UInt32.max)")
        }
        return small
    }

    /// Lowercase hex of exactly `byteCount` bytes.
    public func hex(byteCount: Int, at path: JSONPath) throws(JSONError) -> [UInt8] {
        let text = try string(at: path)
        guard text.utf8.count == 2 * byteCount, let bytes = Hex.decode(text) else {
            throw JSONError(.badHex, at: path, "expected \(2 * byteCount) lowercase hex digits")
        }
        return bytes
    }

    public func bytes32(at path: JSONPath) throws(JSONError) -> Bytes32 {
        let b = try hex(byteCount: 32, at: path)
        guard let v = Bytes32(b) else { throw JSONError(.badHex, at: path, "expected 32 bytes") }
        return v
    }

    public func bytes64(at path: JSONPath) throws(JSONError) -> Bytes64 {
        let b = try hex(byteCount: 64, at: path)
        guard let v = Bytes64(b) else { throw JSONError(.badHex, at: path, "expected 64 bytes") }
        return v
    }

    /// Canonical standard base64 with padding, decoding to at most `maxBytes` bytes.
    public func base64(maxBytes: Int, at path: JSONPath) throws(JSONError) -> [UInt8] {
        let text = try string(at: path)
        guard text.utf8.count <= (maxBytes + 2) / 3 * 4 else {
            throw JSONError(.badBase64, at: path, "longer than \(maxBytes) bytes")
        }
        guard let bytes = Base64.decode(text) else {
            throw JSONError(.badBase64, at: path, "not canonical standard base64 with padding")
        }
        return bytes
    }

    private func wrongType(_ expected: String, _ path: JSONPath) -> JSONError {
        JSONError(.wrongType, at: path, "expected \(expected), found \(typeName)")
    }
}
