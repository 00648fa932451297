/// Why a Merkle proof could not be made or did not verify. `code` is stable (tools and tests match
/// on it); `message` is for people and names the sizes and indices involved.
public struct MerkleError: CodedError, Equatable {
    public enum Code: String, Sendable {
        /// A leaf index at or beyond the tree size.
        case indexOutOfRange = "index_out_of_range"
        /// Tree sizes that admit no proof (an old size of 0, or above the new size).
        case invalidTreeSize = "invalid_tree_size"
        /// A proof with more or fewer hashes than the sizes and index call for.
        case wrongProofLength = "wrong_proof_length"
        /// The proof, correctly shaped, leads to another root.
        case rootMismatch = "root_mismatch"
    }

    public let code: Code
    public let message: String

    /// An error with a stable `code` and a message for people.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
