/// Limits and shape of the similarity index, in one place.
public enum SimilarityLimits {
    /// Largest Hamming radius a query may ask for (DESIGN.md: 9 to 16 is "similar, review").
    public static let distanceMax = 16
    /// Most matches one query returns.
    public static let resultsMax = 1000
    /// Recent inserts kept unsorted and scanned linearly; reaching this count merges them into the
    /// sorted tables (an O(n) rebuild, so its cost is spread over this many inserts).
    public static let deltaMaxCount = 65_536
    /// A large index lets its delta grow to 1/`deltaShareDivisor` of its merged entries instead,
    /// so a merge's O(n) cost stays spread over a share of n inserts (10^8 codes: merges every
    /// 781,250 inserts; the delta scan then costs about as much as reading 6 % of the buckets).
    public static let deltaShareDivisor = 128
    /// Most entries the index holds: positions are stored as `UInt32`.
    public static let entriesMax = Int(UInt32.max)
    /// The 64-bit code is cut into this many substrings, each indexing one table.
    static let substringCount = 4
    /// Bits per substring: 64 / `substringCount`, and the bucket key width of each table.
    static let substringBits = 16
    /// Bits of a code stored per entry; the top `substringBits` are implied by the entry's bucket.
    static let remainderBits = 64 - substringBits
}
