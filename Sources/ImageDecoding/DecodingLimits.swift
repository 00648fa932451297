/// Limits and fixed parameters of image decoding, in one place.
public enum DecodingLimits {
    /// Largest image file accepted (a 100-megapixel TIFF is about 300 MB uncompressed).
    public static let fileMaxBytes = 512 * 1024 * 1024
    /// Largest image accepted, in pixels (width x height), checked from the header before any pixel
    /// is decoded, so a small file declaring a huge image (a decompression bomb) costs nothing.
    public static let pixelsMax = 250_000_000
    /// A border is trimmed where every pixel is within this distance (per band, 0-255, after
    /// libvips' 3x3 median smoothing) of the top-left pixel: libvips' default, which absorbs JPEG
    /// noise in a flat border but not the content of a photograph.
    public static let trimThreshold = 10.0
    /// ITU-R BT.601 luma weights (R, G, B) on the sRGB values: the grayscale conversion of the ISCC
    /// reference preprocessing (Pillow's "L" mode), so codes stay comparable with other tools.
    public static let lumaWeights: [Double] = [0.299, 0.587, 0.114]
    /// Transparent areas are composited over white.
    public static let flattenBackground = 255.0
}
