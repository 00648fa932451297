import TotemCrypto

/// Why the similarity index refused a query. `code` is part of the public API contract.
public struct SimilarityIndexError: CodedError, Hashable {
    public enum Code: String, Sendable {
        /// `maxDistance` is outside 0...`SimilarityLimits.distanceMax`.
        case maxDistanceOutOfRange = "max_distance_out_of_range"
        /// `limit` is outside 1...`SimilarityLimits.resultsMax`.
        case limitOutOfRange = "limit_out_of_range"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
