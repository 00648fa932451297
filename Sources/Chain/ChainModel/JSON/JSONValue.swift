/// A parsed JSON value, kept as written: numbers as their literal text (so no precision is lost
/// and a reader decides what a number may be), objects as their members in document order.
///
/// Equality compares strings and keys as exact UTF-8 bytes, never Unicode-normalised (Swift's `==`
/// on `String` is canonical equivalence, which would make NFC and NFD titles equal).
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// The number's literal text, as the JSON grammar allows it (e.g. `12`, `-0.5e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a parsed object never repeats a key.
    case object([(key: String, value: JSONValue)])

    /// A number value for an unsigned integer, in its shortest decimal form.
    public static func integer(_ value: UInt64) -> JSONValue { .number(String(value)) }

    /// The JSON type's name, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The value of `key` in an object (compared as exact bytes); nil for other values.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key.utf8.elementsEqual(key.utf8) }?.value
    }
}

extension JSONValue: Equatable {
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { m, n in
                m.key.utf8.elementsEqual(n.key.utf8) && m.value == n.value
            }
        default: return false
        }
    }
}
