import ChainModel

/// Bounds on what a certificate may hold, so that verifying one does bounded work.
public enum CertificateLimits {
    /// The format name of PROTOCOL.md v1 certificates.
    public static let format = "totem-certificate/1"
    /// A certificate document larger than this fails `format` before parsing.
    public static let documentMaxBytes = 16 * 1024 * 1024
    /// Entries of `validatorSets` (the genesis set and every later change).
    public static let validatorSetEntriesMax = 4096
    /// Hashes in an inclusion proof: a tree of at most 2^32 leaves (`txCount: u32`) needs 32.
    public static let inclusionProofHashesMax = 64
    /// Keys of one `validatorSets` entry and signatures of one commit.
    public static let validatorsMax = Limits.validatorsMaxCount
    /// Encoded headers are well under this; a larger base64 value fails `format`.
    public static let headerMaxBytes = 4096
}
