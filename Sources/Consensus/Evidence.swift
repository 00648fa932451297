import ChainModel
import TotemCrypto

/// Two conflicting votes by one validator at the same `(height, view, phase)`: the content of a
/// SubmitEvidence transaction (PROTOCOL.md kind 11). `a.blockHash < b.blockHash` always.
public struct Evidence: Sendable, Hashable {
    public let phase: VotePhase
    public let validator: Bytes32
    public let height: UInt64
    public let view: UInt32
    public let blockHashA: Bytes32
    public let signatureA: Bytes64
    public let blockHashB: Bytes32
    public let signatureB: Bytes64

    /// nil unless the votes are by one validator at one `(height, view, phase)` for different blocks.
    public init?(_ x: Vote, _ y: Vote) {
        guard x.phase == y.phase, x.validator == y.validator, x.height == y.height, x.view == y.view,
              x.blockHash != y.blockHash else { return nil }
        let (a, b) = x.blockHash < y.blockHash ? (x, y) : (y, x)
        phase = a.phase; validator = a.validator; height = a.height; view = a.view
        blockHashA = a.blockHash; signatureA = a.signature
        blockHashB = b.blockHash; signatureB = b.signature
    }

    /// What a piece of evidence is about: one is recorded per key (PROTOCOL.md).
    var key: EvidenceKey { EvidenceKey(phase: phase, validator: validator, height: height, view: view) }
}

struct EvidenceKey: Hashable, Sendable {
    let phase: VotePhase
    let validator: Bytes32
    let height: UInt64
    let view: UInt32
}

/// Evidence seen, bounded: the oldest is forgotten first. Used to report each piece once.
struct EvidenceLog: Sendable {
    private(set) var items: [Evidence] = []

    /// Records `e`; false if evidence with the same key is already held.
    mutating func record(_ e: Evidence) -> Bool {
        guard !items.contains(where: { $0.key == e.key }) else { return false }
        if items.count == ConsensusLimits.evidenceMax { items.removeFirst() }
        items.append(e)
        return true
    }
}
