import Chain

/// An image decoded and normalised for its Image-Code.
public struct DecodedImage: Sendable, Hashable {
    public var format: ImageFormat
    /// Size after EXIF orientation, before trimming: what a viewer shows (for `Work.width/height`).
    public var width: Int
    public var height: Int
    /// The 32x32 grayscale thumbnail, row-major (`ImageCode.pixelCount` values).
    public var pixels: [UInt8]

    /// The 64-bit ISCC Image-Code of `pixels`.
    public var imageCode: UInt64 {
        // `pixels` always holds `ImageCode.pixelCount` values: the decoder checks it.
        guard let code = try? ImageCode.compute(pixels: pixels) else {
            preconditionFailure("DecodedImage holds \(pixels.count) pixels, not \(ImageCode.pixelCount)")
        }
        return code
    }
}
