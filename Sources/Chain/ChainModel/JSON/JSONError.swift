import TotemCrypto

/// Why a JSON text, or a value read from it, was refused; `path` names the value.
public struct JSONError: CodedError, Hashable {
    public enum Code: String, Sendable {
        /// The text is not JSON (or has bytes after the value).
        case syntax = "json_syntax"
        /// A string is not valid UTF-8, or escapes a lone surrogate.
        case invalidUTF8 = "json_invalid_utf8"
        /// An object repeats a key.
        case duplicateKey = "json_duplicate_key"
        /// Arrays and objects nest deeper than `JSONLimits.depthMax`.
        case tooDeep = "json_too_deep"
        /// The text is longer than the caller's limit.
        case tooLarge = "json_too_large"
        /// A required key is absent.
        case missingKey = "json_missing_key"
        /// A key the schema does not know.
        case unknownKey = "json_unknown_key"
        /// A value of the wrong JSON type.
        case wrongType = "json_wrong_type"
        /// A number that is not an integer in the allowed range.
        case badInteger = "json_bad_integer"
        /// Not lowercase hex of the required length.
        case badHex = "json_bad_hex"
        /// Not canonical standard base64 with padding.
        case badBase64 = "json_bad_base64"
        /// A string outside the field's allowed length or characters.
        case badString = "json_bad_string"
        /// An array with more items than the field allows.
        case tooLong = "json_too_long"
    }

    public let code: Code
    public let path: JSONPath
    public let message: String

    public init(_ code: Code, at path: JSONPath, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "\(code.rawValue) at \(path): \(message)" }
}
