import TotemCrypto

/// Why a genesis file was refused: a stable `code`, the `field` it concerns (a JSON path such as
/// `params.maxTxBytes` or `validators[4].publicKey`; `(root)` for the whole file) and a message.
public struct GenesisError: CodedError, Hashable {
    public enum Code: String, Sendable {
        case tooLarge = "genesis_too_large"
        case invalidJSON = "genesis_invalid_json"
        case duplicateKey = "genesis_duplicate_key"
        case missingField = "genesis_missing_field"
        case unknownField = "genesis_unknown_field"
        case wrongType = "genesis_wrong_type"
        case badInteger = "genesis_bad_integer"
        case badKey = "genesis_bad_key"
        case badChainId = "genesis_bad_chain_id"
        case badString = "genesis_bad_string"
        case tooLong = "genesis_too_long"
        case badValidators = "genesis_bad_validators"
        case duplicateValidator = "genesis_duplicate_validator"
        case badRegistrars = "genesis_bad_registrars"
        case duplicateRegistrar = "genesis_duplicate_registrar"
        case badParam = "genesis_bad_param"
    }

    public let code: Code
    public let field: String
    public let message: String

    public init(_ code: Code, field: String, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    /// Wraps a JSON-level error, keeping its path as the field.
    init(_ e: JSONError) {
        let code: Code = switch e.code {
        case .syntax, .invalidUTF8, .tooDeep: .invalidJSON
        case .tooLarge: .tooLarge
        case .duplicateKey: .duplicateKey
        case .missingKey: .missingField
        case .unknownKey: .unknownField
        case .wrongType: .wrongType
        case .badInteger: .badInteger
        case .badHex, .badBase64: .badKey
        case .badString: .badString
        case .tooLong: .tooLong
        }
        self.init(code, field: e.path.description, e.message)
    }

    /// Any error of a parse: a `GenesisError` as it is, a JSON-level one wrapped, anything else
    /// as invalid JSON of the whole file.
    init(wrapping error: any Error) {
        switch error {
        case let e as GenesisError: self = e
        case let e as JSONError: self.init(e)
        default: self.init(.invalidJSON, field: "(root)", "\(error)")
        }
    }

    public var description: String { "\(code.rawValue) (\(field)): \(message)" }
}
