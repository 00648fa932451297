import TotemCrypto

/// Why an Image-Code could not be computed or parsed. `code` is part of the public API contract.
public struct ImageCodeError: CodedError, Hashable {
    public enum Code: String, Sendable {
        /// The pixel input is not exactly `ImageCode.pixelCount` values.
        case wrongPixelCount = "wrong_pixel_count"
        /// The requested bit length is not a multiple of 32 in `ImageCode.bitLengths`.
        case unsupportedBitLength = "unsupported_bit_length"
        /// The text is not an ISCC display form (prefix, base32 alphabet or length).
        case malformedISCC = "malformed_iscc"
        /// The text is a valid ISCC unit, but not a 64-bit Image-Code v0.
        case notImageCode = "not_image_code"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
