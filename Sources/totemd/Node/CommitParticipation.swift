import ChainModel
import TotemCrypto

/// Which validators of the set in force are in a block's commit certificate (PROTOCOL.md, "Commit
/// certificate"), as pure functions, for `totem_validator_missed_commits_total`.
///
/// A certificate carries the commits this node held when it had `q` of them: with every validator
/// up, the one whose commit arrived last is often absent though it voted. A validator absent from
/// one certificate is late; one absent from most is slow, down or cut off (docs/ops/monitoring.md).
enum CommitParticipation {
    /// The validators of `set` that did not sign, in the set's order (keys ascending). Signers
    /// outside the set count for nothing (a certificate that verified has none).
    static func absent(signers: [Bytes32], set: ValidatorSet) -> [Bytes32] {
        let present = Set(signers)
        return set.keys.filter { !present.contains($0) }
    }

    /// The highest height whose certificate carries each key's commit, from `certificates` (any
    /// order); a key in none of them has no entry. `GET /v1/validators` reads it from the last
    /// `NodeLimits.participationScanHeights` stored certificates.
    static func lastSigned(_ certificates: [CommitCertificate]) -> [Bytes32: UInt64] {
        var out: [Bytes32: UInt64] = [:]
        for c in certificates {
            for s in c.signatures where (out[s.validator] ?? 0) < c.height { out[s.validator] = c.height }
        }
        return out
    }

    /// The `validator` label of a key's series: its first 16 hex digits, as the logs name it.
    static func label(_ key: Bytes32) -> String { String(key.hex.prefix(16)) }
}
