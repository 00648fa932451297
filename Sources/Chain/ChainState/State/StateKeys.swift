import ChainModel
import TotemCrypto

/// The keys of the state tables (layouts in docs/state.md). Integers are big-endian, so a key's
/// byte order is its logical order (LMDB range scans list works by owner, licences of a work, …
/// in height order).
public enum StateKeys {
    public static let validatorSet: [UInt8] = Array("set".utf8)
    public static let validatorHistory: [UInt8] = Array("history".utf8)
    public static let validatorTallies: [UInt8] = Array("tallies".utf8)

    /// `subject:bytes32`: identities, registrars, nonces, works.
    public static func key(_ k: Bytes32) -> [UInt8] { k.bytes }

    /// `owner:bytes32 | sinceHeight:u64 | contentHash:bytes32`.
    public static func workByOwner(owner: Bytes32, sinceHeight: UInt64, contentHash: Bytes32) -> [UInt8] {
        var w = TCEWriter(capacity: 72)
        w.bytes32(owner); w.u64(sinceHeight); w.bytes32(contentHash)
        return w.bytes
    }

    /// `contentHash:bytes32 | height:u64 | txIndex:u32`: licences, claims, transfers of a work.
    public static func workEvent(contentHash: Bytes32, height: UInt64, txIndex: UInt32) -> [UInt8] {
        var w = TCEWriter(capacity: 44)
        w.bytes32(contentHash); w.u64(height); w.u32(txIndex)
        return w.bytes
    }

    /// `validator:bytes32 | height:u64 | view:u32 | phase:u8`.
    public static func evidence(validator: Bytes32, height: UInt64, view: UInt32, phase: VotePhase) -> [UInt8] {
        var w = TCEWriter(capacity: 45)
        w.bytes32(validator); w.u64(height); w.u32(view); w.u8(phase.rawValue)
        return w.bytes
    }

    static func encodeNonce(_ n: UInt64) -> [UInt8] {
        var w = TCEWriter(capacity: 8)
        w.u64(n)
        return w.bytes
    }
}

/// Typed reads of the state, for the state machine and for queries (API, store).
extension StateReader {
    func record<R: StateRecord>(_ type: R.Type, _ table: StateTable, _ key: [UInt8]) -> R? {
        get(table, key).map { R.decodeStored($0, table) }
    }

    public func identity(_ subject: Bytes32) -> IdentityRecord? {
        record(IdentityRecord.self, .identities, StateKeys.key(subject))
    }

    public func registrar(_ subject: Bytes32) -> RegistrarRecord? {
        record(RegistrarRecord.self, .registrars, StateKeys.key(subject))
    }

    public func work(_ contentHash: Bytes32) -> WorkRecord? {
        record(WorkRecord.self, .works, StateKeys.key(contentHash))
    }

    /// The sender's last nonce; 0 for a key never seen (its first tx has nonce 1).
    public func lastNonce(_ sender: Bytes32) -> UInt64 {
        guard let b = get(.nonces, StateKeys.key(sender)) else { return 0 }
        var r = TCEReader(b)
        do {
            let n = try r.u64("nonce")
            try r.finish()
            return n
        } catch {
            preconditionFailure("corrupted nonces record: \(error)")
        }
    }

    /// Written by `genesisChanges`: a state without it was never initialised.
    public func validatorSetRecord() -> ValidatorSetRecord {
        guard let r = record(ValidatorSetRecord.self, .validators, StateKeys.validatorSet) else {
            preconditionFailure("state has no validator set: genesis changes were not applied")
        }
        return r
    }

    public func validatorHistory() -> ValidatorHistory {
        guard let r = record(ValidatorHistory.self, .validators, StateKeys.validatorHistory) else {
            preconditionFailure("state has no validator history: genesis changes were not applied")
        }
        return r
    }

    public func validatorTallies() -> ValidatorTallies {
        record(ValidatorTallies.self, .validatorTallies, StateKeys.validatorTallies) ?? ValidatorTallies()
    }

    public func evidence(validator: Bytes32, height: UInt64, view: UInt32, phase: VotePhase) -> EvidenceRecord? {
        record(EvidenceRecord.self, .evidence,
               StateKeys.evidence(validator: validator, height: height, view: view, phase: phase))
    }
}

extension OverlayState {
    mutating func put<R: StateRecord>(_ record: R, _ table: StateTable, _ key: [UInt8]) {
        put(table, key, record.encoded)
    }
}
