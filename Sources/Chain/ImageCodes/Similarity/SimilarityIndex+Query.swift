extension SimilarityIndex {
    /// Entries within Hamming distance `maxDistance` (0...16) of `code`: nearest first, then by key,
    /// then by code; at most `limit` (1...1000). Exactly what a linear scan returns.
    public func query(_ code: UInt64, maxDistance: Int, limit: Int) throws(SimilarityIndexError) -> [SimilarityMatch] {
        guard (0...SimilarityLimits.distanceMax).contains(maxDistance) else {
            throw SimilarityIndexError(.maxDistanceOutOfRange,
                                       "maxDistance must be 0 to \(SimilarityLimits.distanceMax), got \(maxDistance)")
        }
        guard (1...SimilarityLimits.resultsMax).contains(limit) else {
            throw SimilarityIndexError(.limitOutOfRange,
                                       "limit must be 1 to \(SimilarityLimits.resultsMax), got \(limit)")
        }
        var search = SimilaritySearch(query: code, radius: maxDistance, limit: limit)
        scanDelta(&search)
        // Each table's probe radius is chosen just before it is read, from the radius still worth
        // searching: when earlier tables filled `limit`, later ones read far fewer buckets.
        var radii: [Int] = []
        radii.reserveCapacity(SimilarityLimits.substringCount)
        for i in 0..<SimilarityLimits.substringCount {
            let probe = Self.probeRadius(radius: search.radius, earlier: radii)
            radii.append(probe)
            guard probe >= 0 else { continue }
            if i == 0 {
                scanMaster(&search, probeRadius: probe)
            } else {
                scanOther(i, &search, radii: radii)
            }
        }
        return search.results(keys: keys)
    }

    private func scanMaster(_ search: inout SimilaritySearch, probeRadius: Int) {
        master.scan(&search, probeRadius: probeRadius) { search, p, bucket, distance in
            let end = master.runEnd(from: p, bucket: bucket)
            search.addHit(.init(code: master.code(at: p, bucket: bucket), distance: distance, start: p, end: end))
            return end
        }
    }

    private func scanOther(_ i: Int, _ search: inout SimilaritySearch, radii: [Int]) {
        let table = others[i - 1]
        let query = search.query
        table.scan(&search, probeRadius: radii[i]) { search, p, bucket, distance in
            let found = table.code(at: p, bucket: bucket)
            // Reported by the first table whose probe radius covers it, and only there.
            if Self.earlierTableFinds(found, query: query, radii: radii, before: i) { return p + 1 }
            let (masterBucket, remainder) = master.split(found)
            let run = master.run(of: remainder, bucket: masterBucket)
            precondition(!run.isEmpty, "a code of table \(i) is missing from table 0")
            search.addHit(.init(code: found, distance: distance, start: run.lowerBound, end: run.upperBound))
            return p + 1
        }
    }

    /// The probe radius of the next table, given those of the tables already read (-1: skip it).
    ///
    /// A code within `radius` has substring distances summing to at most `radius`; it escapes
    /// tables probed with radii p_0...p_3 only if each substring distance exceeds its p_j, that is
    /// if the sum is at least the sum of (p_j + 1). So the (p_j + 1) must add up to `radius` + 1:
    /// the remaining amount is split as evenly as possible, the larger shares first. Without
    /// shrinking, r = 4s + a gives s for tables 0...a and s - 1 for the others.
    static func probeRadius(radius: Int, earlier: [Int]) -> Int {
        let remaining = SimilarityLimits.substringCount - earlier.count
        precondition(remaining > 0, "four tables, four probe radii")
        let need = max(0, radius + 1 - earlier.reduce(0) { $0 + $1 + 1 })
        let probe = need / remaining + (need % remaining > 0 ? 1 : 0) - 1
        precondition(probe <= NeighbourMasks.maxWeight, "probe radius \(probe) beyond the precomputed masks")
        return probe
    }

    /// Probe radii for a query of radius `r` that never shrinks.
    static func probeRadii(_ r: Int) -> [Int] {
        var radii: [Int] = []
        for _ in 0..<SimilarityLimits.substringCount { radii.append(probeRadius(radius: r, earlier: radii)) }
        return radii
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
