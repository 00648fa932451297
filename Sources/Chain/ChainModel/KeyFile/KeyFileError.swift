import TotemCrypto

/// Why a key file could not be read or written. `code` is stable (tools map it to exit codes and
/// API errors); `message` is for people and names the path, and the field when one is at fault.
/// Messages never contain the seed.
public struct KeyFileError: CodedError, Equatable {
    public enum Code: String, Sendable {
        /// No file at the path.
        case notFound = "key_file_not_found"
        /// The file exists but cannot be read: no permission, not a regular file, an I/O error.
        case unreadable = "key_file_unreadable"
        /// The file's mode lets group or others read, write or run it.
        case insecurePermissions = "key_file_insecure_permissions"
        /// Not a JSON object of strings, or too large to be a key file.
        case malformed = "key_file_malformed"
        /// A key other than `algorithm`, `publicKey` and `seed`.
        case unknownField = "key_file_unknown_field"
        /// One of `algorithm`, `publicKey`, `seed` is absent.
        case missingField = "key_file_missing_field"
        /// A key appears twice (JSON parsers disagree on which one wins).
        case duplicateField = "key_file_duplicate_field"
        /// `algorithm` is not `ed25519`.
        case unsupportedAlgorithm = "key_file_unsupported_algorithm"
        /// `publicKey` or `seed` is not 64 lowercase hex digits.
        case invalidHex = "key_file_invalid_hex"
        /// `publicKey` is not the key derived from `seed`.
        case keyMismatch = "key_file_key_mismatch"
        /// Writing would replace an existing file and replacing was not asked for.
        case alreadyExists = "key_file_exists"
        /// Creating, writing, syncing or renaming the file failed.
        case writeFailed = "key_file_write_failed"
    }

    public let code: Code
    public let message: String

    /// An error with a stable `code` and a message for people.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
