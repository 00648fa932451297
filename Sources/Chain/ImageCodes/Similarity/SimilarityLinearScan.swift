/// The plain answer to a similarity query: compare the code with every entry. The index must return
/// exactly this (its tests say so), and the benchmark prints its latency next to the index's.
public struct SimilarityLinearScan: Sendable {
    /// Every code, in insertion order.
    public private(set) var codes: [UInt64] = []
    /// The key of `codes[i]` at `keys[i]`.
    public private(set) var keys: [UInt64] = []

    public init(_ entries: [SimilarityEntry] = []) {
        codes = entries.map(\.code)
        keys = entries.map(\.key)
    }

    /// Adds one entry.
    public mutating func insert(_ entry: SimilarityEntry) {
        codes.append(entry.code)
        keys.append(entry.key)
    }

    /// Every entry within `maxDistance` of `code`, in `SimilarityMatch` order, at most `limit`.
    public func query(_ code: UInt64, maxDistance: Int, limit: Int) -> [SimilarityMatch] {
        var matches: [SimilarityMatch] = []
        codes.withUnsafeBufferPointer { codes in
            for i in codes.indices {
                let d = (codes[i] ^ code).nonzeroBitCount
                if d <= maxDistance { matches.append(SimilarityMatch(code: codes[i], key: keys[i], distance: d)) }
            }
        }
        matches.sort()
        return Array(matches.prefix(max(0, limit)))
    }
}
