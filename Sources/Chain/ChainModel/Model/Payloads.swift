import TotemCrypto

/// The kinds of PROTOCOL.md v1. 12 and 13 are reserved (registration by commitment) and, like
/// every other value, unknown tags.
public enum TxKind: UInt8, Sendable, CaseIterable {
    case registerIdentity = 1
    case revokeIdentity = 2
    case registerWork = 3
    case transferWork = 4
    case grantLicense = 5
    case fileClaim = 6
    case addRegistrar = 7
    case removeRegistrar = 8
    case validatorChange = 9
    case registerWorkBatch = 10
    case submitEvidence = 11

    public var name: String {
        switch self {
        case .registerIdentity: "RegisterIdentity"
        case .revokeIdentity: "RevokeIdentity"
        case .registerWork: "RegisterWork"
        case .transferWork: "TransferWork"
        case .grantLicense: "GrantLicense"
        case .fileClaim: "FileClaim"
        case .addRegistrar: "AddRegistrar"
        case .removeRegistrar: "RemoveRegistrar"
        case .validatorChange: "ValidatorChange"
        case .registerWorkBatch: "RegisterWorkBatch"
        case .submitEvidence: "SubmitEvidence"
        }
    }
}

public enum IdentityRole: UInt8, Sendable, CaseIterable {
    case photographer = 1
    case agency = 2

    public var name: String { self == .photographer ? "photographer" : "agency" }
}

public enum ValidatorChangeOp: UInt8, Sendable {
    case add = 1
    case remove = 2
}

public enum VotePhase: UInt8, Sendable {
    case prepare = 1
    case commit = 2

    public var domain: SigningDomain { self == .prepare ? .prepare : .commit }
}

public struct RegisterIdentity: Sendable {
    public var subject: Bytes32
    public var displayName: String
    public var role: IdentityRole
    public var kycDigest: Bytes32
    public init(subject: Bytes32, displayName: String, role: IdentityRole, kycDigest: Bytes32) {
        self.subject = subject; self.displayName = displayName; self.role = role; self.kycDigest = kycDigest
    }
}

public struct RevokeIdentity: Sendable {
    public var subject: Bytes32
    public var reason: String
    public init(subject: Bytes32, reason: String) { self.subject = subject; self.reason = reason }
}

public struct TransferWork: Sendable {
    public var contentHash: Bytes32
    public var newOwner: Bytes32
    public init(contentHash: Bytes32, newOwner: Bytes32) { self.contentHash = contentHash; self.newOwner = newOwner }
}

public struct GrantLicense: Sendable {
    public var contentHash: Bytes32
    public var licensee: Bytes32
    public var terms: String
    /// 0 = perpetual.
    public var validUntilMs: UInt64
    public init(contentHash: Bytes32, licensee: Bytes32, terms: String, validUntilMs: UInt64) {
        self.contentHash = contentHash; self.licensee = licensee; self.terms = terms; self.validUntilMs = validUntilMs
    }
}

public struct FileClaim: Sendable {
    public var contentHash: Bytes32
    public var infringingDigest: Bytes32
    public var locator: String
    public var note: String
    public init(contentHash: Bytes32, infringingDigest: Bytes32, locator: String, note: String) {
        self.contentHash = contentHash; self.infringingDigest = infringingDigest; self.locator = locator; self.note = note
    }
}

public struct AddRegistrar: Sendable {
    public var subject: Bytes32
    public var name: String
    public init(subject: Bytes32, name: String) { self.subject = subject; self.name = name }
}

public struct ValidatorChange: Sendable {
    public var op: ValidatorChangeOp
    public var validator: Bytes32
    /// Empty for a removal.
    public var name: String
    /// Empty for a removal.
    public var p2pAddress: String
    public init(op: ValidatorChangeOp, validator: Bytes32, name: String, p2pAddress: String) {
        self.op = op; self.validator = validator; self.name = name; self.p2pAddress = p2pAddress
    }
}

/// Two conflicting signed votes of one validator at one (height, view, phase).
public struct SubmitEvidence: Sendable {
    public var phase: VotePhase
    public var validator: Bytes32
    public var height: UInt64
    public var view: UInt32
    /// `blockHashA < blockHashB` bytewise, so one piece of evidence has one encoding.
    public var blockHashA: Bytes32
    public var signatureA: Bytes64
    public var blockHashB: Bytes32
    public var signatureB: Bytes64
    public init(phase: VotePhase, validator: Bytes32, height: UInt64, view: UInt32,
                blockHashA: Bytes32, signatureA: Bytes64, blockHashB: Bytes32, signatureB: Bytes64) {
        self.phase = phase; self.validator = validator; self.height = height; self.view = view
        self.blockHashA = blockHashA; self.signatureA = signatureA
        self.blockHashB = blockHashB; self.signatureB = signatureB
    }
}

/// A transaction's payload; its case is the tx kind.
public enum Payload: Sendable {
    case registerIdentity(RegisterIdentity)
    case revokeIdentity(RevokeIdentity)
    case registerWork(Work)
    case transferWork(TransferWork)
    case grantLicense(GrantLicense)
    case fileClaim(FileClaim)
    case addRegistrar(AddRegistrar)
    case removeRegistrar(subject: Bytes32)
    case validatorChange(ValidatorChange)
    case registerWorkBatch([Work])
    case submitEvidence(SubmitEvidence)

    public var kind: TxKind {
        switch self {
        case .registerIdentity: .registerIdentity
        case .revokeIdentity: .revokeIdentity
        case .registerWork: .registerWork
        case .transferWork: .transferWork
        case .grantLicense: .grantLicense
        case .fileClaim: .fileClaim
        case .addRegistrar: .addRegistrar
        case .removeRegistrar: .removeRegistrar
        case .validatorChange: .validatorChange
        case .registerWorkBatch: .registerWorkBatch
        case .submitEvidence: .submitEvidence
        }
    }

    /// The works this payload registers (RegisterWork, RegisterWorkBatch), in order.
    public var works: [Work] {
        switch self {
        case .registerWork(let w): [w]
        case .registerWorkBatch(let ws): ws
        default: []
        }
    }
}
