#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
/// The tables of the chain state. Each is a named LMDB database in the store; the state machine
/// reads and writes them only as bytes keyed by bytes, through `StateReader` and `StateChanges`,
/// so the same pure code runs over LMDB in the node and over a dictionary in unit tests.
///
/// Key and value layouts (TCE encodings; see docs/state.md):
public enum StateTable: UInt8, Sendable, CaseIterable, Comparable {
    /// subject:bytes32 -> IdentityRecord
    case identities = 1
    /// subject:bytes32 -> RegistrarRecord
    case registrars = 2
    /// contentHash:bytes32 -> WorkRecord
    case works = 3
    /// owner:bytes32 | sinceHeight:u64 | contentHash:bytes32 -> empty (works by owner, in the order the
    /// owner acquired them: registration or transfer height)
    case worksByOwner = 4
    /// contentHash:bytes32 | height:u64 | index:u32 -> LicenceRecord
    case licences = 5
    /// contentHash:bytes32 | height:u64 | index:u32 -> ClaimRecord
    case claims = 6
    /// validator:bytes32 | height:u64 | view:u32 | phase:u8 -> EvidenceRecord
    case evidence = 7
    /// sender:bytes32 -> lastNonce:u64
    case nonces = 8
    /// "set" -> ValidatorSetRecord (set in force, adopted sets not yet in force with their heights);
    /// "history" -> ValidatorHistory (every set with the height from which it is in force)
    case validators = 9
    /// singleton key "tallies" -> list of pending validator-change tallies
    case validatorTallies = 10
    /// contentHash:bytes32 | height:u64 | index:u32 -> TransferRecord (transfer history)
    case transfers = 11

    public var name: String {
        switch self {
        case .identities: "identities"
        case .registrars: "registrars"
        case .works: "works"
        case .worksByOwner: "worksByOwner"
        case .licences: "licences"
        case .claims: "claims"
        case .evidence: "evidence"
        case .nonces: "nonces"
        case .validators: "validators"
        case .validatorTallies: "validatorTallies"
        case .transfers: "transfers"
        }
    }

    public static func < (a: StateTable, b: StateTable) -> Bool { a.rawValue < b.rawValue }
}

/// Read access to committed state (an LMDB read transaction in the node, a dictionary in tests).
public protocol StateReader {
    func get(_ table: StateTable, _ key: [UInt8]) -> [UInt8]?
}

/// One key of one table.
public struct StateKey: Hashable, Sendable, Comparable {
    public let table: StateTable
    public let key: [UInt8]

    public init(_ table: StateTable, _ key: [UInt8]) { self.table = table; self.key = key }

    /// The key's bytes in one call: the synthesized hash combines them one at a time, which was 7 %
    /// of a catching-up node's CPU (every state change is a dictionary entry).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(table)
        hasher.combine(key.count)
        key.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public static func < (a: StateKey, b: StateKey) -> Bool {
        if a.table != b.table { return a.table < b.table }
        // memcmp, then length: the same order as lexicographicallyPrecedes, without the generic
        // element-by-element loop (blocks sort tens of thousands of keys).
        return a.key.withUnsafeBytes { x in
            b.key.withUnsafeBytes { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
    }
}
