extension SubstringTable {
    /// Reads every bucket whose key lies within `probeRadius` of the query's substring (nearest
    /// buckets first) and calls `onHit(&search, position, bucket, distance)` for each stored code
    /// within `search.radius` of the query. `onHit` returns the position to continue from, which
    /// lets table 0 step over a run of equal codes at once.
    func scan(_ search: inout SimilaritySearch, probeRadius: Int,
              onHit: (inout SimilaritySearch, Int, Int, Int) -> Int) {
        let (queryBucket, queryRemainder) = split(search.query)
        directory.withUnsafeBufferPointer { directory in
            remainderHigh.withUnsafeBufferPointer { high in
                remainderLow.withUnsafeBufferPointer { low in
                    for weight in 0...probeRadius where weight <= search.radius {
                        for mask in NeighbourMasks.byWeight[weight] {
                            let bucket = queryBucket ^ Int(mask)
                            var p = Int(directory[bucket])
                            let end = Int(directory[bucket + 1])
                            while p < end {
                                let remainder = UInt64(high[p]) << 16 | UInt64(low[p])
                                let distance = weight + (remainder ^ queryRemainder).nonzeroBitCount
                                if distance <= search.radius {
                                    p = onHit(&search, p, bucket, distance)
                                } else {
                                    p += 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Positions of bucket `bucket` holding `remainder`, for a table whose buckets are ascending
    /// (table 0): binary searches for the first and past the last equal value.
    func run(of remainder: UInt64, bucket: Int) -> Range<Int> {
        let lower = firstPosition(in: bucket) { $0 >= remainder }
        let upper = firstPosition(in: bucket) { $0 > remainder }
        return lower..<upper
    }

    /// End of the run of codes equal to the one at `position`, stepping linearly (runs are short).
    func runEnd(from position: Int, bucket: Int) -> Int {
        var e = position + 1
        let end = Int(directory[bucket + 1])
        while e < end, remainderHigh[e] == remainderHigh[position], remainderLow[e] == remainderLow[position] { e += 1 }
        return e
    }

    private func firstPosition(in bucket: Int, where predicate: (UInt64) -> Bool) -> Int {
        var lo = Int(directory[bucket]), hi = Int(directory[bucket + 1])
        while lo < hi {
            let mid = (lo + hi) / 2
            if predicate(UInt64(remainderHigh[mid]) << 16 | UInt64(remainderLow[mid])) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
