/// The one shape of Totem's errors: a stable code, part of the contract (logs, metrics, API error
/// bodies, exit codes), and a message for people. Each module declares its own codes; they all
/// print, compare and map to API errors the same way, through this protocol.
///
/// It lives in TotemCrypto because that is the lowest Swift target: every module sees it.
public protocol CodedError: Error, Sendable, CustomStringConvertible {
    associatedtype Code: RawRepresentable<String> & Sendable & Hashable
    var code: Code { get }
    /// For people: names the values at fault; may change between versions. Never holds a secret.
    var message: String { get }
}

extension CodedError {
    /// The code as it appears in logs and API bodies (`snake_case`).
    public var codeName: String { code.rawValue }

    public var description: String { "\(code.rawValue): \(message)" }
}
