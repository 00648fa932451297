extension SimilarityIndex {
    /// Entries within Hamming distance `maxDistance` (0...16) of `code`: nearest first, then by key,
    /// then by code; at most `limit` (1...1000). Exactly what a linear scan returns.
    public func query(_ code: UInt64, maxDistance: Int, limit: Int) throws(SimilarityIndexError) -> [SimilarityMatch] {
        guard (0...SimilarityLimits.maxDistance).contains(maxDistance) else {
            throw SimilarityIndexError(.maxDistanceOutOfRange,
                                       "maxDistance must be 0 to \(SimilarityLimits.maxDistance), got \(maxDistance)")
        }
        guard (1...SimilarityLimits.maxResultCount).contains(limit) else {
            throw SimilarityIndexError(.limitOutOfRange,
                                       "limit must be 1 to \(SimilarityLimits.maxResultCount), got \(limit)")
        }
        var search = SimilaritySearch(query: code, radius: maxDistance, limit: limit)
        scanDelta(&search)
        let radii = Self.probeRadii(maxDistance)
        master.scan(&search, probeRadius: radii[0]) { search, p, bucket, distance in
            let end = master.runEnd(from: p, bucket: bucket)
            search.addHit(.init(code: master.code(at: p, bucket: bucket), distance: distance, start: p, end: end))
            return end
        }
        for (i, table) in others.enumerated() where radii[i + 1] >= 0 {
            table.scan(&search, probeRadius: radii[i + 1]) { search, p, bucket, distance in
                let found = table.code(at: p, bucket: bucket)
                // Reported by the first table whose probe radius covers it, and only there.
                if Self.earlierTableFinds(found, query: code, radii: radii, before: i + 1) { return p + 1 }
                let (masterBucket, remainder) = master.split(found)
                let run = master.run(of: remainder, bucket: masterBucket)
                precondition(!run.isEmpty, "a code of table \(i + 1) is missing from table 0")
                search.addHit(.init(code: found, distance: distance, start: run.lowerBound, end: run.upperBound))
                return p + 1
            }
        }
        return search.results(keys: keys)
    }

    /// Probe radius per table for query radius r = 4s + a: s for tables 0...a, s - 1 for the others
    /// (-1: the table is not read). Some substring of every code within r is within its table's radius.
    static func probeRadii(_ r: Int) -> [Int] {
        let m = SimilarityLimits.substringCount
        return (0..<m).map { $0 <= r % m ? r / m : r / m - 1 }
    }

    /// Whether a table before `table` has `code`'s substring within its probe radius of the query's.
    static func earlierTableFinds(_ code: UInt64, query: UInt64, radii: [Int], before table: Int) -> Bool {
        let diff = code ^ query
        for j in 0..<table {
            let substring = SubstringTable.rotate(diff, j * SimilarityLimits.substringBits) >> 48
            if substring.nonzeroBitCount <= radii[j] { return true }
        }
        return false
    }

    private func scanDelta(_ search: inout SimilaritySearch) {
        for i in deltaCodes.indices {
            let distance = (deltaCodes[i] ^ search.query).nonzeroBitCount
            if distance <= search.radius {
                search.addDelta(SimilarityMatch(code: deltaCodes[i], key: deltaKeys[i], distance: distance))
            }
        }
    }
}
