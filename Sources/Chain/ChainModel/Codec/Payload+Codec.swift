import TotemCrypto

extension Payload {
    public func encode(to w: inout TCEWriter) {
        switch self {
        case .registerIdentity(let p):
            w.bytes32(p.subject); w.string(p.displayName); w.u8(p.role.rawValue); w.bytes32(p.kycDigest)
        case .revokeIdentity(let p):
            w.bytes32(p.subject); w.string(p.reason)
        case .registerWork(let work):
            work.encode(to: &w)
        case .transferWork(let p):
            w.bytes32(p.contentHash); w.bytes32(p.newOwner)
        case .grantLicense(let p):
            w.bytes32(p.contentHash); w.bytes32(p.licensee); w.string(p.terms); w.u64(p.validUntilMs)
        case .fileClaim(let p):
            w.bytes32(p.contentHash); w.bytes32(p.infringingDigest); w.string(p.locator); w.string(p.note)
        case .addRegistrar(let p):
            w.bytes32(p.subject); w.string(p.name)
        case .removeRegistrar(let subject):
            w.bytes32(subject)
        case .validatorChange(let p):
            w.u8(p.op.rawValue); w.bytes32(p.validator); w.string(p.name); w.string(p.p2pAddress)
        case .registerWorkBatch(let works):
            w.list(works) { $1.encode(to: &$0) }
        case .submitEvidence(let p):
            w.u8(p.phase.rawValue); w.bytes32(p.validator); w.u64(p.height); w.u32(p.view)
            w.bytes32(p.blockHashA); w.bytes64(p.signatureA); w.bytes32(p.blockHashB); w.bytes64(p.signatureB)
        }
    }

    public static func decode(kind: TxKind, from r: inout TCEReader) throws(DecodeError) -> Payload {
        switch kind {
        case .registerIdentity:
            let subject = try r.bytes32("payload.subject")
            let name = try r.string(maxBytes: Limits.displayNameMaxBytes, "payload.displayName")
            guard let role = IdentityRole(rawValue: try r.u8("payload.role")) else {
                throw DecodeError(.enum, field: "payload.role")
            }
            let kyc = try r.bytes32("payload.kycDigest")
            return .registerIdentity(RegisterIdentity(subject: subject, displayName: name, role: role, kycDigest: kyc))
        case .revokeIdentity:
            let subject = try r.bytes32("payload.subject")
            let reason = try r.string(maxBytes: Limits.revokeReasonMaxBytes, "payload.reason")
            return .revokeIdentity(RevokeIdentity(subject: subject, reason: reason))
        case .registerWork:
            return .registerWork(try Work.decode(from: &r, prefix: "payload"))
        case .transferWork:
            let hash = try r.bytes32("payload.contentHash")
            return .transferWork(TransferWork(contentHash: hash, newOwner: try r.bytes32("payload.newOwner")))
        case .grantLicense:
            let hash = try r.bytes32("payload.contentHash")
            let licensee = try r.bytes32("payload.licensee")
            let terms = try r.string(maxBytes: Limits.licenseTermsMaxBytes, "payload.terms")
            let until = try r.u64("payload.validUntilMs")
            return .grantLicense(GrantLicense(contentHash: hash, licensee: licensee, terms: terms, validUntilMs: until))
        case .fileClaim:
            let hash = try r.bytes32("payload.contentHash")
            let digest = try r.bytes32("payload.infringingDigest")
            let locator = try r.string(maxBytes: Limits.claimLocatorMaxBytes, "payload.locator")
            let note = try r.string(maxBytes: Limits.claimNoteMaxBytes, "payload.note")
            return .fileClaim(FileClaim(contentHash: hash, infringingDigest: digest, locator: locator, note: note))
        case .addRegistrar:
            let subject = try r.bytes32("payload.subject")
            let name = try r.string(maxBytes: Limits.registrarNameMaxBytes, "payload.name")
            return .addRegistrar(AddRegistrar(subject: subject, name: name))
        case .removeRegistrar:
            return .removeRegistrar(subject: try r.bytes32("payload.subject"))
        case .validatorChange:
            guard let op = ValidatorChangeOp(rawValue: try r.u8("payload.op")) else {
                throw DecodeError(.enum, field: "payload.op")
            }
            let validator = try r.bytes32("payload.validator")
            let name = try r.string(maxBytes: Limits.validatorNameMaxBytes, "payload.name")
            let address = try r.string(maxBytes: Limits.p2pAddressMaxBytes, "payload.p2pAddress")
            return .validatorChange(ValidatorChange(op: op, validator: validator, name: name, p2pAddress: address))
        case .registerWorkBatch:
            let works = try r.list(counts: Limits.batchWorksCount, "payload.works") {
                (r: inout TCEReader, i: Int) throws(DecodeError) in
                try Work.decode(from: &r, prefix: "payload.works[\(i)]")
            }
            return .registerWorkBatch(works)
        case .submitEvidence:
            return .submitEvidence(try decodeEvidence(from: &r))
        }
    }

    private static func decodeEvidence(from r: inout TCEReader) throws(DecodeError) -> SubmitEvidence {
        guard let phase = VotePhase(rawValue: try r.u8("payload.phase")) else {
            throw DecodeError(.enum, field: "payload.phase")
        }
        let validator = try r.bytes32("payload.validator")
        let height = try r.u64("payload.height")
        let view = try r.u32("payload.view")
        let hashA = try r.bytes32("payload.blockHashA")
        let sigA = try r.bytes64("payload.signatureA")
        let hashB = try r.bytes32("payload.blockHashB")
        // One piece of evidence has one encoding: the pair is ordered, and equal hashes are no conflict.
        guard hashA < hashB else { throw DecodeError(.order, field: "payload.blockHashB") }
        let sigB = try r.bytes64("payload.signatureB")
        return SubmitEvidence(phase: phase, validator: validator, height: height, view: view,
                              blockHashA: hashA, signatureA: sigA, blockHashB: hashB, signatureB: sigB)
    }
}
