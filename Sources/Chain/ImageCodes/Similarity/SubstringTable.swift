/// Codes bucketed by one 16-bit substring: a directory of bucket starts over flat arrays, so a
/// bucket is one contiguous run and scanning it is sequential memory.
///
/// A code is stored rotated left by `rotation` bits, which brings the table's substring to the top
/// 16 bits; those bits are the bucket key and are not stored. The remaining 48 bits are kept as a
/// `UInt32` and a `UInt16` (6 bytes per entry instead of 8: the index's memory is mostly these).
struct SubstringTable: Sendable {
    static let bucketCount = 1 << SimilarityLimits.substringBits
    static let remainderMask: UInt64 = (1 << UInt64(SimilarityLimits.remainderBits)) - 1

    /// Left rotation, in bits, that brings this table's substring to the top of the code.
    let rotation: Int
    /// `directory[k] ..< directory[k + 1]` are the positions of bucket `k`; `bucketCount + 1` values.
    private(set) var directory: [UInt32]
    /// Bits 47...16 of each stored (rotated) code.
    private(set) var remainderHigh: [UInt32]
    /// Bits 15...0 of each stored (rotated) code.
    private(set) var remainderLow: [UInt16]

    var count: Int { remainderHigh.count }
    var memoryBytes: Int { directory.count * 4 + remainderHigh.count * 4 + remainderLow.count * 2 }

    /// Buckets `codes` (passed twice through `forEachCode`: once to count, once to place). Codes of
    /// one bucket keep their order, so codes given in ascending order stay ascending when
    /// `rotation` is 0.
    init(rotation: Int, count: Int, forEachCode: ((UInt64) -> Void) -> Void) {
        precondition(count <= SimilarityLimits.entriesMax, "similarity index over its entry limit")
        self.rotation = rotation
        var starts = [UInt32](repeating: 0, count: Self.bucketCount + 1)
        forEachCode { code in starts[Int(Self.rotate(code, rotation) >> 48) + 1] += 1 }
        for k in 0..<Self.bucketCount { starts[k + 1] += starts[k] }
        precondition(Int(starts[Self.bucketCount]) == count, "forEachCode gave another count")
        directory = starts
        var next = starts
        var high = [UInt32](repeating: 0, count: count)
        var low = [UInt16](repeating: 0, count: count)
        forEachCode { code in
            let rotated = Self.rotate(code, rotation)
            let bucket = Int(rotated >> 48)
            let position = Int(next[bucket])
            next[bucket] += 1
            high[position] = UInt32(truncatingIfNeeded: rotated >> 16)
            low[position] = UInt16(truncatingIfNeeded: rotated)
        }
        remainderHigh = high
        remainderLow = low
    }

    /// The code stored at `position`, which lies in bucket `bucket`.
    @inline(__always) func code(at position: Int, bucket: Int) -> UInt64 {
        let rotated = UInt64(bucket) << 48 | UInt64(remainderHigh[position]) << 16 | UInt64(remainderLow[position])
        return Self.rotate(rotated, 64 - rotation)
    }

    /// The bucket of `code` and the rotated remainder this table would store for it.
    @inline(__always) func split(_ code: UInt64) -> (bucket: Int, remainder: UInt64) {
        let rotated = Self.rotate(code, rotation)
        return (Int(rotated >> 48), rotated & Self.remainderMask)
    }

    @inline(__always) static func rotate(_ code: UInt64, _ bits: Int) -> UInt64 {
        let r = UInt64(bits & 63)
        return r == 0 ? code : code << r | code >> (64 - r)
    }
}
