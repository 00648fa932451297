import ChainModel

/// The verification steps of a `totem-certificate/1`, in PROTOCOL.md's order; the raw value is the
/// step's name as PROTOCOL.md and the vectors spell it.
public enum CertificateStep: String, Sendable, CaseIterable, Comparable {
    case format
    case genesis
    case validatorSets
    case header
    case commit
    case tx
    case inclusion
    case work

    /// The step's name in snake_case, the prefix of its failure codes.
    public var codePrefix: String { self == .validatorSets ? "validator_sets" : rawValue }

    public static func < (a: CertificateStep, b: CertificateStep) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}

/// Why a certificate is invalid: the first step that failed, a stable snake_case `code`
/// (`<step>_<what>`, e.g. `commit_below_quorum`) and a message for people.
public struct CertificateFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public let step: CertificateStep
    public let code: String
    public let message: String

    public init(_ step: CertificateStep, _ what: String, _ message: String) {
        self.step = step
        self.code = "\(step.codePrefix)_\(what)"
        self.message = message
    }

    /// A JSON-level error found while `step` read its object.
    init(_ step: CertificateStep, _ e: JSONError) {
        let what = e.code.rawValue.hasPrefix("json_") ? String(e.code.rawValue.dropFirst(5)) : e.code.rawValue
        self.init(step, what, "\(e.path): \(e.message)")
    }

    public var description: String { "\(step.rawValue): \(message) [\(code)]" }
}
