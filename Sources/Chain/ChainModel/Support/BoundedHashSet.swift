import TotemCrypto

/// A set of hashes that remembers at most `capacity` of them, forgetting the oldest insertion first.
/// Memory is bounded by the capacity whatever peers send.
public struct BoundedHashSet: Sendable {
    public let capacity: Int
    private var members: Set<Bytes32>
    /// Insertion order as a ring: `ring[next]` is the oldest once the ring is full.
    private var ring: [Bytes32]
    private var next = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
        members = Set(minimumCapacity: min(capacity, 4096))
        ring = []
    }

    public var count: Int { members.count }

    public func contains(_ hash: Bytes32) -> Bool { members.contains(hash) }

    /// Inserts `hash`; returns false if it was already present.
    @discardableResult
    public mutating func insert(_ hash: Bytes32) -> Bool {
        guard members.insert(hash).inserted else { return false }
        if ring.count < capacity {
            ring.append(hash)
        } else {
            members.remove(ring[next])
            ring[next] = hash
            next = (next + 1) % capacity
        }
        return true
    }

    /// Forgets `hash` (its place in the insertion ring stays until overwritten: a hash inserted
    /// again may then be forgotten early, which only costs checking it once more).
    public mutating func remove(_ hash: Bytes32) {
        members.remove(hash)
    }
}
