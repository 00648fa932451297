import ChainModel
import Foundation
import ImageCodes

/// Measures the similarity index against a linear scan on seeded synthetic codes; callable from an
/// executable (run it in release) and from a test at small sizes.
///
/// Codes: 90 % uniformly random, 10 % near-duplicates of an earlier code (1 to 8 bits flipped), as a
/// registry holding variants of the same pictures would. Queries: half are an indexed code with 0 to
/// 6 bits flipped (a re-submitted picture), half fresh random codes; `limit` 20, the API's default.
public enum SimilarityBenchmark {
    /// Query latencies at one size and radius, in microseconds of thread CPU time.
    public struct Row: Sendable {
        public var codeCount: Int
        public var radius: Int
        public var indexP50Micros: Double
        public var indexP99Micros: Double
        public var scanP50Micros: Double
        public var scanP99Micros: Double
        public var meanMatchCount: Double
    }

    /// Memory, build and merge cost at one size, and its rows.
    public struct SizeReport: Sendable {
        public var codeCount: Int
        public var bytesPerCode: Double
        public var buildSeconds: Double
        /// Filling the delta (`deltaCapacity` inserts) and merging it into the tables.
        public var mergeSeconds: Double
        public var mergeInsertCount: Int
        public var rows: [Row]
    }

    /// The `limit` of every benchmark query.
    public static let queryLimit = 20
    static let nearDuplicatePercent: UInt64 = 10

    /// Runs every size and radius; `indexQueryCount` queries per index row and `scanQueryCount`
    /// per linear-scan row (the scan is slow at large sizes).
    public static func run(codeCounts: [Int], radii: [Int] = [8, 12], indexQueryCount: Int = 2000,
                           scanQueryCount: Int = 100, seed: UInt64 = 1) throws(SimilarityIndexError) -> [SizeReport] {
        var reports: [SizeReport] = []
        for n in codeCounts {
            var rng = SplitMix64(seed: seed &+ UInt64(n))
            let entries = codes(count: n, rng: &rng)
            let started = threadCPUMicros()
            var index = SimilarityIndex(entries: entries)
            let buildSeconds = (threadCPUMicros() - started) / 1e6
            let bytesPerCode = Double(index.memoryBytes) / Double(max(1, n))
            let scan = SimilarityLinearScan(entries)
            let queries = (0..<max(indexQueryCount, scanQueryCount)).map { _ in query(entries, rng: &rng) }
            var rows: [Row] = []
            for r in radii {
                var matches = 0
                let indexTimes = try time(queries.prefix(indexQueryCount)) { (q) throws(SimilarityIndexError) in
                    matches += try index.query(q, maxDistance: r, limit: queryLimit).count
                }
                let scanTimes = time(queries.prefix(scanQueryCount)) { q in
                    _ = scan.query(q, maxDistance: r, limit: queryLimit)
                }
                rows.append(Row(codeCount: n, radius: r, indexP50Micros: percentile(indexTimes, 50),
                                indexP99Micros: percentile(indexTimes, 99), scanP50Micros: percentile(scanTimes, 50),
                                scanP99Micros: percentile(scanTimes, 99),
                                meanMatchCount: Double(matches) / Double(max(1, indexTimes.count))))
            }
            let mergeInsertCount = index.deltaCapacity
            let mergeStarted = threadCPUMicros()
            for _ in 0..<(mergeInsertCount - 1) { index.insert(SimilarityEntry(code: rng.next(), key: rng.next())) }
            index.insert(SimilarityEntry(code: rng.next(), key: rng.next()))  // this insert merges
            let mergeSeconds = (threadCPUMicros() - mergeStarted) / 1e6
            reports.append(SizeReport(codeCount: n, bytesPerCode: bytesPerCode, buildSeconds: buildSeconds,
                                      mergeSeconds: mergeSeconds, mergeInsertCount: mergeInsertCount, rows: rows))
        }
        return reports
    }

    /// The report as text, one line per size and per row.
    public static func format(_ reports: [SizeReport]) -> String {
        var lines: [String] = []
        for s in reports {
            lines.append("codes \(s.codeCount): \(fixed(s.bytesPerCode, 1)) bytes/code, bulk build \(fixed(s.buildSeconds, 2)) s, "
                         + "\(s.mergeInsertCount) inserts incl. one merge \(fixed(s.mergeSeconds, 2)) s (thread CPU time)")
            for r in s.rows {
                lines.append("  radius \(r.radius): index p50 \(fixed(r.indexP50Micros, 1)) us p99 \(fixed(r.indexP99Micros, 1)) us"
                             + " | linear scan p50 \(fixed(r.scanP50Micros, 1)) us p99 \(fixed(r.scanP99Micros, 1)) us"
                             + " | mean matches \(fixed(r.meanMatchCount, 2)) (limit \(queryLimit))")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func codes(count: Int, rng: inout SplitMix64) -> [SimilarityEntry] {
        var out: [SimilarityEntry] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            var code = rng.next()
            if !out.isEmpty, rng.next() % 100 < nearDuplicatePercent {
                code = flip(out[Int(rng.next() % UInt64(out.count))].code, bits: 1 + Int(rng.next() % 8), rng: &rng)
            }
            out.append(SimilarityEntry(code: code, key: rng.next()))
        }
        return out
    }

    static func query(_ entries: [SimilarityEntry], rng: inout SplitMix64) -> UInt64 {
        guard !entries.isEmpty, rng.next() % 2 == 0 else { return rng.next() }
        return flip(entries[Int(rng.next() % UInt64(entries.count))].code, bits: Int(rng.next() % 7), rng: &rng)
    }

    /// `code` with `bits` distinct random bits flipped.
    static func flip(_ code: UInt64, bits: Int, rng: inout SplitMix64) -> UInt64 {
        var mask: UInt64 = 0
        while mask.nonzeroBitCount < bits { mask |= 1 << (rng.next() % 64) }
        return code ^ mask
    }

    /// Per-query thread CPU time in microseconds, sorted. CPU time rather than wall time: the
    /// machines this runs on are shared, and a query preempted by another process is not slower.
    private static func time<E: Error>(_ queries: ArraySlice<UInt64>, _ body: (UInt64) throws(E) -> Void) throws(E) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(queries.count)
        for q in queries {
            let started = threadCPUMicros()
            try body(q)
            out.append(threadCPUMicros() - started)
        }
        return out.sorted()
    }

    static func threadCPUMicros() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e6 + Double(t.tv_nsec) / 1e3
    }

    static func percentile(_ sorted: [Double], _ p: Int) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, sorted.count * p / 100)]
    }

    private static func fixed(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
}
