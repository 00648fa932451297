/// A half-open range of keys in LMDB's bytewise order: `lower` included, `upper` excluded; nil
/// bounds are open.
public struct KeyRange: Sendable, Hashable {
    /// The smallest key in the range; nil: from the first key.
    public var lower: [UInt8]?
    /// The first key past the range; nil: to the last key.
    public var upper: [UInt8]?

    /// The keys from `lower` (included) to `upper` (excluded).
    public init(lower: [UInt8]? = nil, upper: [UInt8]? = nil) {
        self.lower = lower
        self.upper = upper
    }

    /// Every key.
    public static let all = KeyRange()

    /// The keys that start with `prefix`.
    public init(prefix: [UInt8]) {
        self.init(lower: prefix.isEmpty ? nil : prefix, upper: StoreKey.successor(ofPrefix: prefix))
    }

    /// Whether `key` lies in the range.
    public func contains(_ key: UnsafeRawBufferPointer) -> Bool {
        if let lower, Self.compare(key, lower) < 0 { return false }
        if let upper, Self.compare(key, upper) >= 0 { return false }
        return true
    }

    /// LMDB's default order: bytewise, a proper prefix before its extensions.
    static func compare(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Int {
        let n = min(a.count, b.count)
        for i in 0..<n where a[i] != b[i] {
            return a[i] < b[i] ? -1 : 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }
}
