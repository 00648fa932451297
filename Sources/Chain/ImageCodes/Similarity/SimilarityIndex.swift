/// Hamming-radius search over 64-bit image codes by multi-index hashing (Norouzi, Punjani and
/// Fleet, "Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012).
///
/// A code is cut into four 16-bit substrings and every table buckets the codes by one of them. If
/// two codes differ in at most r bits, the four substring distances add up to at most r, so for
/// r = 4s + a some substring among the first a + 1 differs in at most s bits, or one among the others
/// in at most s - 1 (otherwise the total would be at least r + 1). A query therefore reads, in each
/// table, the buckets whose key lies within that small radius of its own substring, and checks the
/// codes there. A code found in table i is reported only if no earlier table could have found it,
/// so every match is reported exactly once.
///
/// Layout (see `memoryBytes`): table 0 holds every entry sorted by (code, key) with the keys beside
/// it; tables 1 to 3 hold each distinct code once. Stored codes omit their 16 bucket bits, so an
/// entry costs 6 + 8 bytes in table 0 and 6 bytes in each other table: 32 bytes for distinct codes,
/// plus 1 MiB of directories. Inserts go to a small unsorted delta scanned linearly, merged into the
/// tables when it reaches `deltaCapacity`.
///
/// A value type: copies share storage, so a reader may keep a snapshot while the owner inserts
/// (an insert copies at most the delta; a merge builds new tables and leaves the snapshot's alone).
/// Entries are never removed: works are never unregistered, and a chain with final blocks has no
/// rollback.
public struct SimilarityIndex: Sendable {
    /// Table 0: all merged entries, ascending by (code, key); position i holds `keys[i]`.
    var master: SubstringTable
    var keys: [UInt64]
    /// Tables 1...3: the distinct codes of `master`, bucketed by substrings 1, 2 and 3.
    var others: [SubstringTable]
    /// Entries inserted since the last merge, in insertion order.
    var deltaCodes: [UInt64] = []
    var deltaKeys: [UInt64] = []
    /// The smallest delta size that triggers a merge (see `deltaCapacity`).
    public let deltaMaxCount: Int

    /// An empty index.
    public init(deltaMaxCount: Int = SimilarityLimits.deltaMaxCount) {
        self.init(sortedCodes: [], keys: [], deltaMaxCount: deltaMaxCount)
    }

    /// An index of `entries` in any order (the bulk build at start, from the store): O(n log b)
    /// for buckets of b entries, with no delta left over.
    public init(entries: [SimilarityEntry], deltaMaxCount: Int = SimilarityLimits.deltaMaxCount) {
        let (codes, keys) = Self.sortedColumns(entries)
        self.init(sortedCodes: codes, keys: keys, deltaMaxCount: deltaMaxCount)
    }

    /// Codes and keys ascending by (code, key), as two columns; the sorted rows are released before
    /// the tables are built, which keeps the peak memory of a bulk build lower.
    static func sortedColumns(_ entries: [SimilarityEntry]) -> (codes: [UInt64], keys: [UInt64]) {
        let sorted = sortedByCodeThenKey(entries)
        return (sorted.map(\.code), sorted.map(\.key))
    }

    init(sortedCodes codes: [UInt64], keys: [UInt64], deltaMaxCount: Int) {
        precondition(deltaMaxCount >= 1, "deltaMaxCount must be positive")
        precondition(codes.count == keys.count, "one key per code")
        self.deltaMaxCount = deltaMaxCount
        self.keys = keys
        master = SubstringTable(rotation: 0, count: codes.count) { body in codes.forEach(body) }
        var distinctCount = 0
        Self.forEachDistinct(codes) { _ in distinctCount += 1 }
        others = (1..<SimilarityLimits.substringCount).map { i in
            SubstringTable(rotation: i * SimilarityLimits.substringBits, count: distinctCount) { body in
                Self.forEachDistinct(codes, body)
            }
        }
    }

    /// Number of entries.
    public var count: Int { keys.count + deltaCodes.count }

    /// The delta size that triggers the next merge: `deltaMaxCount`, or a share of the merged
    /// entries for a large index.
    public var deltaCapacity: Int { max(deltaMaxCount, keys.count / SimilarityLimits.deltaShareDivisor) }

    /// Bytes held by the index's arrays (tables, directories, keys and delta), capacity included.
    public var memoryBytes: Int {
        master.memoryBytes + others.reduce(0) { $0 + $1.memoryBytes } + keys.capacity * 8
            + deltaCodes.capacity * 8 + deltaKeys.capacity * 8
    }

    /// Adds one entry (e.g. each work with an image code in a committed block). The insert that
    /// fills the delta to `deltaCapacity` merges it into the tables, in O(count): about 0.9 s of CPU
    /// at 10^7 entries, so an owner serving queries should insert on a copy off the request path
    /// and publish the copy (copies share storage; see the type's documentation).
    public mutating func insert(_ entry: SimilarityEntry) {
        precondition(count < SimilarityLimits.entriesMax, "similarity index over its entry limit")
        if deltaCodes.isEmpty {
            deltaCodes.reserveCapacity(deltaCapacity)
            deltaKeys.reserveCapacity(deltaCapacity)
        }
        deltaCodes.append(entry.code)
        deltaKeys.append(entry.key)
        if deltaCodes.count >= deltaCapacity { mergeDelta() }
    }

    /// Adds entries in order, as `insert` does one by one.
    public mutating func insert<S: Sequence>(contentsOf entries: S) where S.Element == SimilarityEntry {
        for entry in entries { insert(entry) }
    }

    /// Merges the delta into the sorted tables now (otherwise done when the delta fills).
    public mutating func mergeDelta() {
        guard !deltaCodes.isEmpty else { return }
        let delta = Self.sortedByCodeThenKey(zip(deltaCodes, deltaKeys).map { SimilarityEntry(code: $0, key: $1) })
        var codes = [UInt64](), merged = [UInt64]()
        codes.reserveCapacity(keys.count + delta.count)
        merged.reserveCapacity(keys.count + delta.count)
        var d = 0
        forEachMasterEntry { code, key in
            while d < delta.count, (delta[d].code, delta[d].key) < (code, key) {
                codes.append(delta[d].code); merged.append(delta[d].key); d += 1
            }
            codes.append(code); merged.append(key)
        }
        for e in delta[d...] { codes.append(e.code); merged.append(e.key) }
        self = SimilarityIndex(sortedCodes: codes, keys: merged, deltaMaxCount: deltaMaxCount)
    }

    /// Calls `body` with every merged entry, ascending by (code, key).
    func forEachMasterEntry(_ body: (UInt64, UInt64) -> Void) {
        for bucket in 0..<SubstringTable.bucketCount {
            for p in Int(master.directory[bucket])..<Int(master.directory[bucket + 1]) {
                body(master.code(at: p, bucket: bucket), keys[p])
            }
        }
    }

    static func forEachDistinct(_ sortedCodes: [UInt64], _ body: (UInt64) -> Void) {
        for (i, code) in sortedCodes.enumerated() where i == 0 || sortedCodes[i - 1] != code { body(code) }
    }

    /// Sorts by (code, key): bucketed by the top 16 bits in one counting pass, then each small
    /// bucket sorted, which is much faster than one comparison sort of millions of entries.
    static func sortedByCodeThenKey(_ entries: [SimilarityEntry]) -> [SimilarityEntry] {
        var starts = [Int](repeating: 0, count: SubstringTable.bucketCount + 1)
        for e in entries { starts[Int(e.code >> 48) + 1] += 1 }
        for k in 0..<SubstringTable.bucketCount { starts[k + 1] += starts[k] }
        var next = starts
        var out = [SimilarityEntry](repeating: SimilarityEntry(code: 0, key: 0), count: entries.count)
        for e in entries {
            out[next[Int(e.code >> 48)]] = e
            next[Int(e.code >> 48)] += 1
        }
        for k in 0..<SubstringTable.bucketCount where starts[k + 1] - starts[k] > 1 {
            out[starts[k]..<starts[k + 1]].sort { ($0.code, $0.key) < ($1.code, $1.key) }
        }
        return out
    }
}
