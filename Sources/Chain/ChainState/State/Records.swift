import ChainModel
import TotemCrypto

/// A value of a state table, TCE-encoded. Layouts are listed in docs/state.md: the state root
/// depends on them, so changing one is a protocol change for the nodes.
public protocol StateRecord: TCEEncodable {
    static func decode(from r: inout TCEReader) throws(DecodeError) -> Self
}

extension StateRecord {
    /// Decodes a whole value the state machine wrote. A failure is corrupted state, not bad input:
    /// the node stops rather than build on it.
    public static func decodeStored(_ bytes: [UInt8], _ table: StateTable) -> Self {
        var r = TCEReader(bytes)
        do {
            let v = try decode(from: &r)
            try r.finish()
            return v
        } catch {
            preconditionFailure("corrupted \(table.name) record: \(error)")
        }
    }
}

/// Large enough for any list the state machine writes; a list's real bound is enforced when it grows.
let storedListCounts: ClosedRange<Int> = 0...Int(UInt32.max)

/// `identities[subject]`: a person or agency registered by a registrar.
public struct IdentityRecord: StateRecord, Sendable, Equatable {
    public var displayName: String
    public var role: IdentityRole
    public var kycDigest: Bytes32
    /// The registrar (or the root registrar) that registered it.
    public var registrar: Bytes32
    public var registeredAtHeight: UInt64
    public var revocation: Revocation?

    public var revoked: Bool { revocation != nil }

    public struct Revocation: Sendable, Equatable {
        public var height: UInt64
        public var by: Bytes32
        public var reason: String
        public init(height: UInt64, by: Bytes32, reason: String) { self.height = height; self.by = by; self.reason = reason }
    }

    public init(displayName: String, role: IdentityRole, kycDigest: Bytes32, registrar: Bytes32,
                registeredAtHeight: UInt64, revocation: Revocation? = nil) {
        self.displayName = displayName; self.role = role; self.kycDigest = kycDigest; self.registrar = registrar
        self.registeredAtHeight = registeredAtHeight; self.revocation = revocation
    }

    public func encode(to w: inout TCEWriter) {
        w.u8(role.rawValue)
        w.bytes32(registrar)
        w.u64(registeredAtHeight)
        w.bytes32(kycDigest)
        w.string(displayName)
        w.optional(revocation) { w, r in w.u64(r.height); w.bytes32(r.by); w.string(r.reason) }
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> IdentityRecord {
        guard let role = IdentityRole(rawValue: try r.u8("role")) else { throw DecodeError(.enum, field: "role") }
        let registrar = try r.bytes32("registrar")
        let height = try r.u64("registeredAtHeight")
        let kyc = try r.bytes32("kycDigest")
        let name = try r.string(maxBytes: Limits.displayNameMaxBytes, "displayName")
        let revocation = try r.optional("revocation") { (r: inout TCEReader) throws(DecodeError) in
            Revocation(height: try r.u64("revocation.height"), by: try r.bytes32("revocation.by"),
                       reason: try r.string(maxBytes: Limits.revokeReasonMaxBytes, "revocation.reason"))
        }
        return IdentityRecord(displayName: name, role: role, kycDigest: kyc, registrar: registrar,
                              registeredAtHeight: height, revocation: revocation)
    }
}

/// `registrars[subject]`: a registrar appointed by the root registrar (or in genesis, height 0).
public struct RegistrarRecord: StateRecord, Sendable, Equatable {
    public var name: String
    public var addedAtHeight: UInt64

    public init(name: String, addedAtHeight: UInt64) { self.name = name; self.addedAtHeight = addedAtHeight }

    public func encode(to w: inout TCEWriter) { w.string(name); w.u64(addedAtHeight) }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> RegistrarRecord {
        RegistrarRecord(name: try r.string(maxBytes: Limits.registrarNameMaxBytes, "name"),
                        addedAtHeight: try r.u64("addedAtHeight"))
    }
}

/// `works[contentHash]`: a registered work, who registered it first and who owns it now.
public struct WorkRecord: StateRecord, Sendable, Equatable {
    public var work: Work
    /// The identity that registered it; a transfer does not change it.
    public var registrant: Bytes32
    public var owner: Bytes32
    /// The height at which `owner` acquired it (registration or last transfer): part of the
    /// `worksByOwner` key.
    public var ownerSinceHeight: UInt64
    /// The timestamp of the registering block.
    public var registeredAtMs: UInt64
    public var height: UInt64
    public var txHash: Bytes32
    /// The registering tx's position in its block (its leaf index).
    public var txIndex: UInt32
    /// The item's position in a RegisterWorkBatch; nil for RegisterWork.
    public var batchIndex: UInt32?

    public init(work: Work, registrant: Bytes32, owner: Bytes32, ownerSinceHeight: UInt64, registeredAtMs: UInt64,
                height: UInt64, txHash: Bytes32, txIndex: UInt32, batchIndex: UInt32?) {
        self.work = work; self.registrant = registrant; self.owner = owner; self.ownerSinceHeight = ownerSinceHeight
        self.registeredAtMs = registeredAtMs; self.height = height; self.txHash = txHash; self.txIndex = txIndex
        self.batchIndex = batchIndex
    }

    public func encode(to w: inout TCEWriter) {
        work.encode(to: &w)
        w.bytes32(registrant)
        w.bytes32(owner)
        w.u64(ownerSinceHeight)
        w.u64(registeredAtMs)
        w.u64(height)
        w.bytes32(txHash)
        w.u32(txIndex)
        w.optional(batchIndex) { $0.u32($1) }
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> WorkRecord {
        let work = try Work.decode(from: &r, prefix: "work")
        return WorkRecord(work: work, registrant: try r.bytes32("registrant"), owner: try r.bytes32("owner"),
                          ownerSinceHeight: try r.u64("ownerSinceHeight"), registeredAtMs: try r.u64("registeredAtMs"),
                          height: try r.u64("height"), txHash: try r.bytes32("txHash"), txIndex: try r.u32("txIndex"),
                          batchIndex: try r.optional("batchIndex") { (r: inout TCEReader) throws(DecodeError) in
                              try r.u32("batchIndex")
                          })
    }
}

/// `licences[contentHash | height | txIndex]`: a licence granted by the owner.
public struct LicenceRecord: StateRecord, Sendable, Equatable {
    public var grantor: Bytes32
    public var licensee: Bytes32
    public var terms: String
    /// 0 = perpetual.
    public var validUntilMs: UInt64
    public var grantedAtMs: UInt64
    public var txHash: Bytes32

    public init(grantor: Bytes32, licensee: Bytes32, terms: String, validUntilMs: UInt64, grantedAtMs: UInt64,
                txHash: Bytes32) {
        self.grantor = grantor; self.licensee = licensee; self.terms = terms; self.validUntilMs = validUntilMs
        self.grantedAtMs = grantedAtMs; self.txHash = txHash
    }

    public func encode(to w: inout TCEWriter) {
        w.bytes32(grantor); w.bytes32(licensee); w.string(terms); w.u64(validUntilMs); w.u64(grantedAtMs)
        w.bytes32(txHash)
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> LicenceRecord {
        LicenceRecord(grantor: try r.bytes32("grantor"), licensee: try r.bytes32("licensee"),
                      terms: try r.string(maxBytes: Limits.licenseTermsMaxBytes, "terms"),
                      validUntilMs: try r.u64("validUntilMs"), grantedAtMs: try r.u64("grantedAtMs"),
                      txHash: try r.bytes32("txHash"))
    }
}

/// `claims[contentHash | height | txIndex]`: an infringement claim on a registered work.
public struct ClaimRecord: StateRecord, Sendable, Equatable {
    public var claimant: Bytes32
    public var infringingDigest: Bytes32
    public var locator: String
    public var note: String
    public var filedAtMs: UInt64
    public var txHash: Bytes32

    public init(claimant: Bytes32, infringingDigest: Bytes32, locator: String, note: String, filedAtMs: UInt64,
                txHash: Bytes32) {
        self.claimant = claimant; self.infringingDigest = infringingDigest; self.locator = locator; self.note = note
        self.filedAtMs = filedAtMs; self.txHash = txHash
    }

    public func encode(to w: inout TCEWriter) {
        w.bytes32(claimant); w.bytes32(infringingDigest); w.string(locator); w.string(note); w.u64(filedAtMs)
        w.bytes32(txHash)
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> ClaimRecord {
        ClaimRecord(claimant: try r.bytes32("claimant"), infringingDigest: try r.bytes32("infringingDigest"),
                    locator: try r.string(maxBytes: Limits.claimLocatorMaxBytes, "locator"),
                    note: try r.string(maxBytes: Limits.claimNoteMaxBytes, "note"),
                    filedAtMs: try r.u64("filedAtMs"), txHash: try r.bytes32("txHash"))
    }
}

/// `transfers[contentHash | height | txIndex]`: one change of ownership (the transfer history).
public struct TransferRecord: StateRecord, Sendable, Equatable {
    public var from: Bytes32
    public var to: Bytes32
    public var atMs: UInt64
    public var txHash: Bytes32

    public init(from: Bytes32, to: Bytes32, atMs: UInt64, txHash: Bytes32) {
        self.from = from; self.to = to; self.atMs = atMs; self.txHash = txHash
    }

    public func encode(to w: inout TCEWriter) { w.bytes32(from); w.bytes32(to); w.u64(atMs); w.bytes32(txHash) }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> TransferRecord {
        TransferRecord(from: try r.bytes32("from"), to: try r.bytes32("to"), atMs: try r.u64("atMs"),
                       txHash: try r.bytes32("txHash"))
    }
}

/// `evidence[validator | height | view | phase]`: two conflicting votes of one validator.
public struct EvidenceRecord: StateRecord, Sendable, Equatable {
    public var blockHashA: Bytes32
    public var signatureA: Bytes64
    public var blockHashB: Bytes32
    public var signatureB: Bytes64
    public var submitter: Bytes32
    public var includedAtHeight: UInt64
    public var txHash: Bytes32

    public init(blockHashA: Bytes32, signatureA: Bytes64, blockHashB: Bytes32, signatureB: Bytes64,
                submitter: Bytes32, includedAtHeight: UInt64, txHash: Bytes32) {
        self.blockHashA = blockHashA; self.signatureA = signatureA; self.blockHashB = blockHashB
        self.signatureB = signatureB; self.submitter = submitter; self.includedAtHeight = includedAtHeight
        self.txHash = txHash
    }

    public func encode(to w: inout TCEWriter) {
        w.bytes32(blockHashA); w.bytes64(signatureA); w.bytes32(blockHashB); w.bytes64(signatureB)
        w.bytes32(submitter); w.u64(includedAtHeight); w.bytes32(txHash)
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> EvidenceRecord {
        EvidenceRecord(blockHashA: try r.bytes32("blockHashA"), signatureA: try r.bytes64("signatureA"),
                       blockHashB: try r.bytes32("blockHashB"), signatureB: try r.bytes64("signatureB"),
                       submitter: try r.bytes32("submitter"), includedAtHeight: try r.u64("includedAtHeight"),
                       txHash: try r.bytes32("txHash"))
    }
}
