import TotemCrypto

/// A validator set: keys sorted ascending and distinct. Its hash is what headers name.
public struct ValidatorSet: Sendable, Hashable {
    public let keys: [Bytes32]

    /// Sorts the keys; nil when a key repeats or the set is empty.
    public init?(_ keys: [Bytes32]) {
        let sorted = keys.sorted()
        guard !sorted.isEmpty else { return nil }
        for i in sorted.indices.dropFirst() where sorted[i - 1] == sorted[i] { return nil }
        self.keys = sorted
    }

    public var count: Int { keys.count }
    /// Faults tolerated: `(n - 1) / 3`.
    public var maxFaulty: Int { (keys.count - 1) / 3 }
    /// `floor(2n/3) + 1`.
    public var quorum: Int { ValidatorSet.quorum(of: keys.count) }

    public static func quorum(of n: Int) -> Int { 2 * n / 3 + 1 }

    public func contains(_ key: Bytes32) -> Bool { index(of: key) != nil }

    /// Position of `key` in the sorted set (binary search).
    public func index(of key: Bytes32) -> Int? {
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if keys[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo < keys.count && keys[lo] == key ? lo : nil
    }

    /// SHA-256 of `list<bytes32>` of the sorted keys.
    public var hash: Bytes32 { ValidatorSet.hash(sortedKeys: keys) }

    public static func hash(sortedKeys: [Bytes32]) -> Bytes32 {
        var w = TCEWriter(capacity: 4 + 32 * sortedKeys.count)
        w.list(sortedKeys) { $0.bytes32($1) }
        return SHA256.hash(w.bytes)
    }
}
