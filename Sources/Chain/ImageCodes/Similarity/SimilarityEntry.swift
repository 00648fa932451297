import TotemCrypto

/// One indexed image code and the caller's key for it.
///
/// The index orders matches of equal distance by `key`, so a key whose order is the order the API
/// promises gives that order for free: the store passes the first 8 bytes of the work's contentHash
/// read big-endian (`Bytes32.w0`), and resolves a key back to its work with a range lookup on the
/// works table, which is keyed by contentHash. Keys need not be unique; equal keys are ordered by
/// code. (Two works whose hashes share their first 8 bytes, a chance of about n^2 / 2^65, then come
/// back as two matches with the same key: the caller resolves both and orders them by full hash.)
public struct SimilarityEntry: Sendable, Hashable {
    /// The 64-bit ISCC Image-Code body (`Work.imageCode`).
    public var code: UInt64
    /// The caller's key: orders ties and names the work (see the type's documentation).
    public var key: UInt64

    public init(code: UInt64, key: UInt64) {
        self.code = code
        self.key = key
    }

    /// The entry of a work: its image code, keyed by the first 8 bytes of its contentHash.
    public init(code: UInt64, contentHash: Bytes32) {
        self.init(code: code, key: contentHash.w0)
    }
}

/// An entry found by a query, and its Hamming distance to the queried code.
public struct SimilarityMatch: Sendable, Hashable, Comparable {
    /// The indexed code found.
    public var code: UInt64
    /// The key it was indexed with.
    public var key: UInt64
    /// Hamming distance to the queried code, 0 to `SimilarityLimits.distanceMax`.
    public var distance: Int

    public init(code: UInt64, key: UInt64, distance: Int) {
        self.code = code
        self.key = key
        self.distance = distance
    }

    /// Query order: nearest first, then by key, then by code.
    public static func < (a: SimilarityMatch, b: SimilarityMatch) -> Bool {
        (a.distance, a.key, a.code) < (b.distance, b.key, b.code)
    }
}
