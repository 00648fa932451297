import TotemCrypto

/// A validator set in force at some height: keys sorted ascending (PROTOCOL.md), so a validator's
/// index is its position and the leader of `(h, v)` is `keys[(h + v) mod n]`.
public struct ValidatorSet: Sendable, Hashable {
    public let keys: [Bytes32]

    /// nil unless `keys` is non-empty, within `validatorsMax` and without repeats. Order is free.
    public init?(_ keys: [Bytes32]) {
        let sorted = keys.sorted()
        guard !sorted.isEmpty, sorted.count <= ConsensusLimits.validatorsMax else { return nil }
        for i in 1..<max(sorted.count, 1) where sorted[i - 1] == sorted[i] { return nil }
        self.keys = sorted
    }

    public var count: Int { keys.count }
    /// Faults tolerated: f = (n-1)/3.
    public var faultsTolerated: Int { (keys.count - 1) / 3 }
    /// Quorum: q = floor(2n/3) + 1.
    public var quorum: Int { keys.count * 2 / 3 + 1 }

    /// Index of `key` in the set, by binary search.
    public func index(of key: Bytes32) -> Int? {
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if keys[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo < keys.count && keys[lo] == key ? lo : nil
    }

    public func contains(_ key: Bytes32) -> Bool { index(of: key) != nil }

    /// The leader of `(height, view)`: `V[(height + view) mod n]`, computed without overflow.
    public func leader(height: UInt64, view: UInt32) -> Bytes32 {
        let n = UInt64(keys.count)
        return keys[Int((height % n + UInt64(view) % n) % n)]
    }
}
