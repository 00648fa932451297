import TotemCrypto

/// Why an image could not be decoded and normalised. `code` is part of the public API contract.
public struct ImageDecodingError: CodedError, Hashable {
    public enum Code: String, Sendable {
        /// The file does not exist, cannot be read, or is empty.
        case fileUnreadable = "file_unreadable"
        /// Over `DecodingLimits.fileMaxBytes`.
        case fileTooLarge = "file_too_large"
        /// The bytes are not an image format libvips recognises.
        case notAnImage = "not_an_image"
        /// An image format other than JPEG, PNG, WebP and TIFF.
        case unsupportedFormat = "unsupported_format"
        /// More pixels than `DecodingLimits.pixelsMax`.
        case imageTooLarge = "image_too_large"
        /// The format was recognised but the data is corrupt, truncated or of an unsupported kind.
        case decodeFailed = "decode_failed"
        /// libvips could not be started.
        case libraryUnavailable = "library_unavailable"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
