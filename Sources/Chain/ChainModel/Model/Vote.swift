import TotemCrypto

/// The body of a prepare or commit vote: `height:u64 | view:u32 | blockHash:bytes32`, signed in the
/// `totem/prepare/v1` or `totem/commit/v1` domain.
public struct VoteBody: Sendable, Hashable {
    public var height: UInt64
    public var view: UInt32
    public var blockHash: Bytes32

    public init(height: UInt64, view: UInt32, blockHash: Bytes32) {
        self.height = height; self.view = view; self.blockHash = blockHash
    }

    public var encoded: [UInt8] {
        var w = TCEWriter(capacity: 44)
        w.u64(height); w.u32(view); w.bytes32(blockHash)
        return w.bytes
    }

    public func sign(_ phase: VotePhase, key: SigningKey, genesisHash: Bytes32) -> Bytes64 {
        key.sign(phase.domain, genesisHash: genesisHash, body: encoded)
    }

    public func verify(_ phase: VotePhase, signature: Bytes64, validator: Bytes32, genesisHash: Bytes32) -> Bool {
        Ed25519.verify(signature, phase.domain, genesisHash: genesisHash, body: encoded, publicKey: validator)
    }
}

/// One validator's signature in a commit certificate.
public struct ValidatorSignature: Sendable, Hashable {
    public var validator: Bytes32
    public var signature: Bytes64
    public init(validator: Bytes32, signature: Bytes64) { self.validator = validator; self.signature = signature }
}

/// Why a commit certificate was refused.
public struct CertificateError: CodedError, Hashable {
    public enum Code: String, Sendable {
        case commitHeight = "commit_height"
        case commitView = "commit_view"
        case commitNonMember = "commit_non_member"
        case commitDuplicateSigner = "commit_duplicate_signer"
        case commitBadSignature = "commit_bad_signature"
        case commitBelowQuorum = "commit_below_quorum"
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
}

/// At least q `totem/commit/v1` signatures over `(height, view, blockHash)` by distinct validators of
/// the set in force at `height`. `view` is at least the header's view.
public struct CommitCertificate: Sendable, Hashable, TCEEncodable {
    public var height: UInt64
    public var view: UInt32
    public var signatures: [ValidatorSignature]

    public init(height: UInt64, view: UInt32, signatures: [ValidatorSignature]) {
        self.height = height; self.view = view; self.signatures = signatures
    }

    /// Checks the certificate for the header with `blockHash` at `headerView`; every entry must be a
    /// distinct member with a valid signature (no byte of a certificate can change unnoticed).
    public func verify(blockHash: Bytes32, headerHeight: UInt64, headerView: UInt32, validators: ValidatorSet,
                       genesisHash: Bytes32) throws(CertificateError) {
        guard height == headerHeight else {
            throw CertificateError(.commitHeight, "commit height \(height) is not the header's \(headerHeight)")
        }
        guard view >= headerView else {
            throw CertificateError(.commitView, "commit view \(view) is below the header's view \(headerView)")
        }
        let body = VoteBody(height: height, view: view, blockHash: blockHash)
        let failure = ValidatorSignature.quorumFailure(signatures, of: validators) {
            body.verify(.commit, signature: $0.signature, validator: $0.validator, genesisHash: genesisHash)
        }
        switch failure {
        case nil: return
        case .nonMember(let key): throw CertificateError(.commitNonMember, "signer \(key) is not in the validator set")
        case .duplicate(let key): throw CertificateError(.commitDuplicateSigner, "signer \(key) is listed twice")
        case .badSignature(let key): throw CertificateError(.commitBadSignature, "signature of \(key) does not verify")
        case .belowQuorum: throw CertificateError(.commitBelowQuorum,
                                                  "\(signatures.count) signatures, quorum is \(validators.quorum)")
        }
    }

    public func encode(to w: inout TCEWriter) {
        w.u64(height)
        w.u32(view)
        ValidatorSignature.encode(signatures, to: &w)
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> CommitCertificate {
        let height = try r.u64("height")
        let view = try r.u32("view")
        return CommitCertificate(height: height, view: view, signatures: try ValidatorSignature.decodeList(from: &r))
    }
}

extension ValidatorSignature {
    /// Why a list of signatures is not a certificate.
    public enum QuorumFailure: Sendable, Equatable {
        case nonMember(Bytes32), duplicate(Bytes32), badSignature(Bytes32), belowQuorum
    }

    /// The rule every certificate of the validators follows (commit and checkpoint certificates):
    /// each entry a distinct member of `validators` whose signature `verifies`, and at least q of
    /// them. Nil when it holds; else the first failure, entries in order.
    public static func quorumFailure(_ signatures: [ValidatorSignature], of validators: ValidatorSet,
                                     verifies: (ValidatorSignature) -> Bool) -> QuorumFailure? {
        var seen = Set<Bytes32>()
        for s in signatures {
            guard validators.contains(s.validator) else { return .nonMember(s.validator) }
            guard seen.insert(s.validator).inserted else { return .duplicate(s.validator) }
            guard verifies(s) else { return .badSignature(s.validator) }
        }
        return signatures.count >= validators.quorum ? nil : .belowQuorum
    }

    /// `list<(validator:bytes32, signature:bytes64)>`.
    public static func encode(_ signatures: [ValidatorSignature], to w: inout TCEWriter) {
        w.list(signatures) { w, s in w.bytes32(s.validator); w.bytes64(s.signature) }
    }

    /// A signature list of at most `Limits.validatorsMaxCount` entries.
    public static func decodeList(from r: inout TCEReader) throws(DecodeError) -> [ValidatorSignature] {
        try r.list(counts: 0...Limits.validatorsMaxCount, "signatures") { (r: inout TCEReader, _: Int) throws(DecodeError) in
            ValidatorSignature(validator: try r.bytes32("signatures.validator"), signature: try r.bytes64("signatures.signature"))
        }
    }
}
