/// Why a TCE byte string was refused, and the field where a left-to-right decoder first failed.
///
/// Field names follow the wire layout: `chainId`, `payload.title`, `payload.works[1].imageCode`;
/// `(end)` for trailing bytes and `(size)` for an input over its maximum size.
public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// The input ends inside a field.
        case truncated
        /// Bytes remain after the value.
        case trailing
        /// A length or count is beyond the field's limit.
        case limit
        /// A string is not valid UTF-8.
        case utf8
        /// An unknown enum tag or version.
        case `enum`
        /// An optional tag other than 0 or 1.
        case optional
        /// The whole input is over its maximum size.
        case tooLarge
        /// Values that must be ordered are not (SubmitEvidence's block hashes).
        case order
    }

    public let reason: Reason
    public let field: String

    public init(_ reason: Reason, field: String) {
        self.reason = reason
        self.field = field
    }

    /// Stable code for APIs: `decode_<reason>`.
    public var code: String { "decode_\(reason.rawValue)" }

    public var description: String {
        switch reason {
        case .truncated: "input ends inside field \(field)"
        case .trailing: "trailing bytes after the value"
        case .limit: "field \(field) is longer than its limit"
        case .utf8: "field \(field) is not valid UTF-8"
        case .enum: "field \(field) has an unknown value"
        case .optional: "field \(field) has an optional tag other than 0 or 1"
        case .tooLarge: "input is larger than its maximum size"
        case .order: "field \(field) is out of the required order"
        }
    }
}
