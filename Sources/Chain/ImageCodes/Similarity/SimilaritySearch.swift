/// The state of one query: what was found so far, and the radius still worth searching.
///
/// Once `limit` entries lie within distance d, nothing farther than d can be returned, so the
/// radius shrinks to d: a query near a large cluster stops reading buckets that cannot matter.
struct SimilaritySearch {
    let query: UInt64
    let limit: Int
    /// Current search radius: starts at the requested one, only shrinks.
    private(set) var radius: Int
    /// A distinct code found in the tables, and its run of entries in table 0.
    struct Hit { var code: UInt64; var distance: Int; var start: Int; var end: Int }
    private(set) var hits: [Hit] = []
    private(set) var deltaMatches: [SimilarityMatch] = []
    private var countAtDistance: [Int]

    init(query: UInt64, radius: Int, limit: Int) {
        self.query = query
        self.radius = radius
        self.limit = limit
        countAtDistance = [Int](repeating: 0, count: radius + 1)
    }

    mutating func addHit(_ hit: Hit) {
        hits.append(hit)
        added(hit.end - hit.start, at: hit.distance)
    }

    mutating func addDelta(_ match: SimilarityMatch) {
        deltaMatches.append(match)
        added(1, at: match.distance)
    }

    private mutating func added(_ n: Int, at distance: Int) {
        precondition(distance <= radius, "a match outside the search radius")
        countAtDistance[distance] += n
        var total = 0
        for d in 0...radius {
            total += countAtDistance[d]
            if total >= limit { radius = d; return }
        }
    }

    /// The matches in query order: within a run of equal codes keys ascend, so no run contributes
    /// more than its first `limit` entries.
    func results(keys: [UInt64]) -> [SimilarityMatch] {
        var out = deltaMatches.filter { $0.distance <= radius }
        for hit in hits where hit.distance <= radius {
            for p in hit.start..<min(hit.end, hit.start + limit) {
                out.append(SimilarityMatch(code: hit.code, key: keys[p], distance: hit.distance))
            }
        }
        out.sort()
        return Array(out.prefix(limit))
    }
}
