/// All 16-bit masks of each Hamming weight up to the largest probe radius: XOR-ing a substring with
/// them enumerates the substrings at exactly that distance.
enum NeighbourMasks {
    /// A query of radius r probes substrings within floor(r / substringCount).
    static let maxWeight = SimilarityLimits.distanceMax / SimilarityLimits.substringCount

    /// `byWeight[w]` holds the C(16, w) masks of weight `w`, ascending.
    static let byWeight: [[UInt16]] = {
        var out = [[UInt16]](repeating: [], count: maxWeight + 1)
        for m in 0...Int(UInt16.max) where m.nonzeroBitCount <= maxWeight {
            out[m.nonzeroBitCount].append(UInt16(m))
        }
        return out
    }()
}
