import TotemCrypto

/// Reads one JSON object against a schema: `expectKeys` refuses missing and unknown keys, and the
/// typed accessors refuse values of the wrong type or form, each error naming the field's path.
/// Keys compare as exact bytes.
public struct JSONObjectReader: Sendable {
    public let members: [(key: String, value: JSONValue)]
    public let path: JSONPath

    public init(_ value: JSONValue, at path: JSONPath) throws(JSONError) {
        guard case .object(let members) = value else {
            throw JSONError(.wrongType, at: path, "expected an object, found \(value.typeName)")
        }
        self.members = members
        self.path = path
    }

    /// Refuses an object whose keys are not exactly `required` plus any of `optional`: the first
    /// missing required key (in schema order), else the first unknown key (in document order).
    public func expectKeys(_ required: [String], optional: [String] = []) throws(JSONError) {
        for key in required where !has(key) {
            throw JSONError(.missingKey, at: path.appending(key), "required key \"\(key)\" is missing")
        }
        let known = required + optional
        for m in members where !known.contains(where: { $0.utf8.elementsEqual(m.key.utf8) }) {
            throw JSONError(.unknownKey, at: path.appending(m.key), "unknown key \"\(m.key)\"")
        }
    }

    public func has(_ key: String) -> Bool {
        members.contains { $0.key.utf8.elementsEqual(key.utf8) }
    }

    /// The value of `key`, or nil when absent.
    public func optional(_ key: String) -> JSONValue? {
        members.first { $0.key.utf8.elementsEqual(key.utf8) }?.value
    }

    /// The value of `key`; a `missingKey` error when absent.
    public func value(_ key: String) throws(JSONError) -> JSONValue {
        guard let v = optional(key) else {
            throw JSONError(.missingKey, at: path.appending(key), "required key \"\(key)\" is missing")
        }
        return v
    }

    public func string(_ key: String) throws(JSONError) -> String {
        try value(key).string(at: path.appending(key))
    }

    /// A string of `bytes` UTF-8 bytes.
    public func string(_ key: String, bytes: ClosedRange<Int>) throws(JSONError) -> String {
        let s = try string(key)
        guard bytes.contains(s.utf8.count) else {
            throw JSONError(.badString, at: path.appending(key),
                            "length \(s.utf8.count) bytes is outside \(bytes.lowerBound)...\(bytes.upperBound)")
        }
        return s
    }

    public func bool(_ key: String) throws(JSONError) -> Bool { try value(key).bool(at: path.appending(key)) }
    public func uint(_ key: String) throws(JSONError) -> UInt64 { try value(key).uint(at: path.appending(key)) }
    public func uint32(_ key: String) throws(JSONError) -> UInt32 { try value(key).uint32(at: path.appending(key)) }
    public func array(_ key: String) throws(JSONError) -> [JSONValue] { try value(key).array(at: path.appending(key)) }
    public func object(_ key: String) throws(JSONError) -> JSONObjectReader {
        try value(key).object(at: path.appending(key))
    }
    public func bytes32(_ key: String) throws(JSONError) -> Bytes32 { try value(key).bytes32(at: path.appending(key)) }
    public func bytes64(_ key: String) throws(JSONError) -> Bytes64 { try value(key).bytes64(at: path.appending(key)) }
    public func hex(_ key: String, byteCount: Int) throws(JSONError) -> [UInt8] {
        try value(key).hex(byteCount: byteCount, at: path.appending(key))
    }
    public func base64(_ key: String, maxBytes: Int) throws(JSONError) -> [UInt8] {
        try value(key).base64(maxBytes: maxBytes, at: path.appending(key))
    }
}
