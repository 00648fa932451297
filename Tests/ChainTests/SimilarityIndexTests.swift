import Testing
@testable import Benchmarks
@testable import ChainModel
@testable import ImageCodes

/// The similarity index returns exactly what a linear scan returns.
@Suite struct SimilarityIndexTests {
    /// Uniform codes, clusters of near-duplicates, and exact duplicates under several keys.
    static func mixedEntries(count: Int, seed: UInt64) -> [SimilarityEntry] {
        var rng = SplitMix64(seed: seed)
        let centers = (0..<8).map { _ in rng.next() }
        var out: [SimilarityEntry] = []
        for i in 0..<count {
            let code: UInt64
            switch i % 4 {
            case 0: code = rng.next()
            case 1, 2: code = SimilarityBenchmark.flip(centers[Int(rng.next() % 8)], bits: Int(rng.next() % 13), rng: &rng)
            default: code = out.isEmpty ? 0 : out[Int(rng.next() % UInt64(out.count))].code  // duplicate
            }
            out.append(SimilarityEntry(code: code, key: rng.next() % 1_000_000))  // some keys repeat
        }
        return out
    }

    static func queries(_ entries: [SimilarityEntry], count: Int, seed: UInt64) -> [UInt64] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { i in
            i % 3 == 0 ? rng.next()
                : SimilarityBenchmark.flip(entries[Int(rng.next() % UInt64(entries.count))].code,
                                           bits: Int(rng.next() % 18), rng: &rng)
        }
    }

    /// nil when equal; otherwise the counts and the first position where the answers differ.
    static func difference(_ got: [SimilarityMatch], _ want: [SimilarityMatch]) -> String? {
        guard got != want else { return nil }
        let i = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
        return "index gave \(got.count), scan \(want.count) matches; first difference at \(i): "
            + "\(i < got.count ? "\(got[i])" : "none") vs \(i < want.count ? "\(want[i])" : "none")"
    }

    /// Every radius 0...16 and several limits: bulk-built index against the scan.
    @Test(arguments: [1, 7])
    func bulkIndexEqualsLinearScan(seed: UInt64) throws {
        let entries = Self.mixedEntries(count: 6000, seed: seed)
        let index = SimilarityIndex(entries: entries)
        let scan = SimilarityLinearScan(entries)
        var nonEmpty = 0
        for (i, q) in Self.queries(entries, count: 120, seed: seed + 100).enumerated() {
            for r in 0...SimilarityLimits.distanceMax {
                let limit = [1, 3, 20, 1000][(i + r) % 4]
                let got = try index.query(q, maxDistance: r, limit: limit)
                let want = scan.query(q, maxDistance: r, limit: limit)
                #expect(Self.difference(got, want) == nil, "seed \(seed) query \(q) radius \(r) limit \(limit)")
                if !want.isEmpty { nonEmpty += 1 }
            }
        }
        #expect(nonEmpty > 500, "the queries must exercise matches, not only empty answers")
    }

    /// Inserts one by one with a small delta, so queries see merged tables and a delta together.
    @Test func incrementalIndexEqualsLinearScan() throws {
        let entries = Self.mixedEntries(count: 3000, seed: 3)
        var index = SimilarityIndex(entries: Array(entries.prefix(500)), deltaMaxCount: 97)
        var scan = SimilarityLinearScan(Array(entries.prefix(500)))
        var rng = SplitMix64(seed: 33)
        for (n, entry) in entries.dropFirst(500).enumerated() {
            index.insert(entry)
            scan.insert(entry)
            guard n % 50 == 0 else { continue }
            #expect(index.count == scan.codes.count)
            let q = SimilarityBenchmark.flip(entries[Int(rng.next() % UInt64(500 + n))].code, bits: Int(rng.next() % 10), rng: &rng)
            for r in [0, 3, 8, 12, 16] {
                let got = try index.query(q, maxDistance: r, limit: 20)
                #expect(Self.difference(got, scan.query(q, maxDistance: r, limit: 20)) == nil, "after \(n) inserts, radius \(r)")
            }
        }
    }

    /// A large index lets its delta grow to a share of its size before merging.
    @Test func deltaGrowsWithTheIndex() throws {
        var rng = SplitMix64(seed: 12)
        let n = 128 * 200
        var index = SimilarityIndex(entries: (0..<n).map { _ in SimilarityEntry(code: rng.next(), key: rng.next()) },
                                    deltaMaxCount: 10)
        #expect(index.deltaCapacity == 200)
        let late = SimilarityEntry(code: rng.next(), key: 7)
        index.insert(late)
        for _ in 0..<198 { index.insert(SimilarityEntry(code: rng.next(), key: rng.next())) }
        #expect(index.deltaCodes.count == 199 && index.keys.count == n, "199 inserts stay in the delta")
        #expect(try index.query(late.code, maxDistance: 0, limit: 5).contains(SimilarityMatch(code: late.code, key: 7, distance: 0)))
        index.insert(SimilarityEntry(code: rng.next(), key: rng.next()))
        #expect(index.deltaCodes.isEmpty && index.keys.count == n + 200, "the 200th merges")
        #expect(try index.query(late.code, maxDistance: 0, limit: 5).contains(SimilarityMatch(code: late.code, key: 7, distance: 0)))
    }

    /// A huge cluster of one code: bounded answers ordered by key, and an exact scan agreement.
    @Test func largeDuplicateClusterIsBoundedAndOrderedByKey() throws {
        var rng = SplitMix64(seed: 5)
        var entries = (0..<20_000).map { _ in SimilarityEntry(code: 0x0F0F_0F0F_0F0F_0F0F, key: rng.next()) }
        entries += (0..<2000).map { _ in SimilarityEntry(code: rng.next(), key: rng.next()) }
        let index = SimilarityIndex(entries: entries)
        let got = try index.query(0x0F0F_0F0F_0F0F_0F0E, maxDistance: 16, limit: 100)
        #expect(got.count == 100)
        #expect(got.allSatisfy { $0.distance == 1 })
        #expect(got.map(\.key) == entries.prefix(20_000).map(\.key).sorted().prefix(100).map { $0 })
        #expect(got == SimilarityLinearScan(entries).query(0x0F0F_0F0F_0F0F_0F0E, maxDistance: 16, limit: 100))
    }

    /// The probe radii satisfy the pigeonhole bound with no slack: sum of (radius + 1) is r + 1.
    @Test func probeRadiiCoverEveryRadius() {
        for r in 0...SimilarityLimits.distanceMax {
            let radii = SimilarityIndex.probeRadii(r)
            #expect(radii.count == SimilarityLimits.substringCount)
            #expect(radii.reduce(0) { $0 + $1 + 1 } == r + 1, "radius \(r): \(radii)")
            #expect(radii.allSatisfy { $0 <= NeighbourMasks.maxWeight })
            #expect(radii == (0..<4).map { $0 <= r % 4 ? r / 4 : r / 4 - 1 }, "r = 4s + a: s for tables 0...a, s - 1 after")
        }
        #expect(NeighbourMasks.byWeight.map(\.count) == [1, 16, 120, 560, 1820])
    }

    @Test func refusesOutOfRangeQueries() {
        let index = SimilarityIndex(entries: [SimilarityEntry(code: 1, key: 1)])
        for (r, limit, code) in [(17, 20, SimilarityIndexError.Code.maxDistanceOutOfRange), (-1, 20, .maxDistanceOutOfRange),
                                 (8, 0, .limitOutOfRange), (8, 1001, .limitOutOfRange)] {
            #expect(throws: (any Error).self) { try index.query(1, maxDistance: r, limit: limit) }
            do { _ = try index.query(1, maxDistance: r, limit: limit) } catch { #expect(error.code == code) }
        }
        #expect(throws: Never.self) { try SimilarityIndex().query(1, maxDistance: 16, limit: 1000) }
    }

    /// 32 bytes per distinct code plus 1 MiB of directories: within 40 from a few hundred thousand codes.
    @Test func memoryPerCodeWithinTarget() {
        let n = 300_000
        var rng = SplitMix64(seed: 9)
        let entries = SimilarityBenchmark.codes(count: n, rng: &rng)
        let index = SimilarityIndex(entries: entries)
        let bytesPerCode = Double(index.memoryBytes) / Double(n)
        print("similarity index: \(n) codes, \(index.memoryBytes) bytes, \(bytesPerCode) bytes/code")
        #expect(bytesPerCode <= 40)
        #expect(bytesPerCode >= 32, "the layout stores at least 32 bytes per distinct code")
    }

    /// The benchmark at a small size (debug build: the figures that count come from release).
    @Test func benchmarkRunsAtSmallSize() throws {
        let reports = try SimilarityBenchmark.run(codeCounts: [20_000], radii: [8, 12], indexQueryCount: 200,
                                                  scanQueryCount: 20)
        print(SimilarityBenchmark.format(reports))
        #expect(reports.count == 1 && reports[0].rows.count == 2)
        #expect(reports[0].rows.allSatisfy { $0.meanMatchCount > 0 && $0.indexP99Micros > 0 })
    }
}
