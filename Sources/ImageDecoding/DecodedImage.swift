import ImageCodes

/// An image decoded and normalised for its Image-Code.
public struct DecodedImage: Sendable, Hashable {
    public let format: ImageFormat
    /// Size after EXIF orientation, before trimming: what a viewer shows (for `Work.width/height`).
    public let width: Int
    public let height: Int
    /// The 32x32 grayscale thumbnail, row-major: always `ImageCode.pixelCount` values.
    public let pixels: [UInt8]

    init(format: ImageFormat, width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == ImageCode.pixelCount, "the decoder returns exactly 32x32 pixels")
        self.format = format
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The 64-bit ISCC Image-Code of `pixels`.
    public var imageCode: UInt64 {
        // `pixels` holds `ImageCode.pixelCount` values (checked in init), the only way this fails.
        guard let code = try? ImageCode.compute(pixels: pixels) else {
            preconditionFailure("DecodedImage holds \(pixels.count) pixels, not \(ImageCode.pixelCount)")
        }
        return code
    }
}
