/// Protocol limits of PROTOCOL.md v1, in one place. Byte limits count UTF-8 bytes.
public enum Limits {
    public static let protocolVersion: UInt8 = 1
    public static let chainIdMaxBytes = 64
    /// Maximum encoded SignedTx; genesis `maxTxBytes` may lower it for admission, never raise it.
    public static let signedTxMaxBytes = 65_536
    public static let displayNameMaxBytes = 128
    public static let revokeReasonMaxBytes = 256
    public static let titleMaxBytes = 256
    public static let mediaTypeMaxBytes = 64
    public static let workLicenseMaxBytes = 256
    public static let licenseTermsMaxBytes = 512
    public static let claimLocatorMaxBytes = 512
    public static let claimNoteMaxBytes = 1024
    public static let registrarNameMaxBytes = 128
    public static let validatorNameMaxBytes = 128
    public static let p2pAddressMaxBytes = 256
    public static let batchWorksCount: ClosedRange<Int> = 1...1000
    /// Commit certificates carry at most this many signatures (one per validator; sets are bounded).
    public static let validatorsMaxCount = 1024
    public static let signatureBytes = 64
}
