import CVips
import Foundation
import ImageCodes

/// Decodes JPEG, PNG, WebP and TIFF with libvips and normalises them to the 1,024 grayscale pixels
/// an ISCC Image-Code is computed from. The steps, in order (docs/fingerprint.md explains each):
///
/// 1. Refuse what is not one of the four formats, or declares over `DecodingLimits.pixelsMax` pixels.
/// 2. Apply the EXIF orientation (libvips autorot), so a rotated photograph keeps its code.
/// 3. Convert to 8-bit sRGB (grayscale, 16-bit, CMYK and palette images alike).
/// 4. Flatten transparency over white.
/// 5. Trim a uniform border: the box of pixels farther than `trimThreshold` from the top-left one.
/// 6. Grayscale by BT.601 luma, in floating point.
/// 7. Resize to exactly 32x32 (aspect ratio not kept) with libvips' anti-aliased cubic kernel.
/// 8. Round to 0...255.
public enum ImageDecoder {
    /// Side of the output thumbnail; `ImageCode.side`.
    static let side = ImageCode.side

    /// Decodes and normalises an image file.
    public static func decode(contentsOf path: String) throws(ImageDecodingError) -> DecodedImage {
        try decode(try readFile(path))
    }

    /// Decodes and normalises encoded image bytes.
    public static func decode(_ bytes: [UInt8]) throws(ImageDecodingError) -> DecodedImage {
        guard Vips.started else { throw Vips.error(.libraryUnavailable, "starting libvips") }
        guard !bytes.isEmpty else { throw ImageDecodingError(.notAnImage, "no bytes to decode") }
        guard bytes.count <= DecodingLimits.fileMaxBytes else {
            throw ImageDecodingError(.fileTooLarge, "\(bytes.count) bytes, over \(DecodingLimits.fileMaxBytes)")
        }
        // libvips reads the buffer lazily without copying it: every image derived from it must be
        // released before this closure returns, which `normalise` guarantees by returning values only.
        let result: Result<DecodedImage, ImageDecodingError> = bytes.withUnsafeBytes { raw in
            do throws(ImageDecodingError) { return .success(try normalise(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The 64-bit Image-Code of an image file.
    public static func imageCode(contentsOf path: String) throws(ImageDecodingError) -> UInt64 {
        try decode(contentsOf: path).imageCode
    }

    static func readFile(_ path: String) throws(ImageDecodingError) -> [UInt8] {
        let url = URL(fileURLWithPath: path)
        let size: Int
        do {
            size = try url.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0
        } catch {
            throw ImageDecodingError(.fileUnreadable, "cannot read \(path): \(error.localizedDescription)")
        }
        guard size <= DecodingLimits.fileMaxBytes else {
            throw ImageDecodingError(.fileTooLarge, "\(path) has \(size) bytes, over \(DecodingLimits.fileMaxBytes)")
        }
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else {
            throw ImageDecodingError(.fileUnreadable, "cannot read \(path), or it is empty")
        }
        return [UInt8](data)
    }

    private static func normalise(_ raw: UnsafeRawBufferPointer) throws(ImageDecodingError) -> DecodedImage {
        guard let base = raw.baseAddress, let loaderName = cvips_find_load_buffer(base, raw.count) else {
            cvips_error_clear()
            throw ImageDecodingError(.notAnImage, "not a recognised image format")
        }
        let loader = String(cString: loaderName)
        guard let format = ImageFormat(loader: loader) else {
            throw ImageDecodingError(.unsupportedFormat, "\(loader) is not JPEG, PNG, WebP or TIFF")
        }
        guard let opened = cvips_new_from_buffer(base, raw.count) else { throw Vips.error(.decodeFailed, "reading the header") }
        var image = VipsHandle(opened)
        guard image.width * image.height <= DecodingLimits.pixelsMax else {
            throw ImageDecodingError(.imageTooLarge, "\(image.width)x\(image.height) pixels, over \(DecodingLimits.pixelsMax)")
        }
        image = try image.apply("EXIF orientation") { cvips_autorot($0, $1) }
        let (width, height) = (image.width, image.height)
        image = try toOpaqueSRGB(image)
        image = try trimmed(image)
        image = try grayscale(image)
        let (hscale, vscale) = (Double(side) / Double(image.width), Double(side) / Double(image.height))
        image = try image.apply("resize to 32x32") { cvips_resize($0, $1, hscale, vscale, VIPS_KERNEL_CUBIC) }
        return DecodedImage(format: format, width: width, height: height, pixels: try pixels(of: image))
    }

    /// 8-bit sRGB, three bands, transparency composited over white.
    static func toOpaqueSRGB(_ input: VipsHandle) throws(ImageDecodingError) -> VipsHandle {
        var image = try input.apply("conversion to sRGB") { cvips_colourspace_srgb($0, $1) }
        image = try image.apply("conversion to 8 bits") { cvips_cast_uchar($0, $1) }
        if image.hasAlpha {
            image = try image.apply("flattening transparency") { cvips_flatten($0, $1, DecodingLimits.flattenBackground) }
        }
        if image.bands > 3 {
            image = try image.apply("dropping extra bands") { cvips_extract_bands($0, $1, 0, 3) }
        }
        guard image.bands == 3 || image.bands == 1 else {
            throw ImageDecodingError(.decodeFailed, "\(image.bands) colour bands after conversion to sRGB")
        }
        return image
    }

    /// Crops a border of the top-left pixel's colour; an image that is all border stays whole.
    static func trimmed(_ image: VipsHandle) throws(ImageDecodingError) -> VipsHandle {
        var vector: UnsafeMutablePointer<Double>?
        var count: Int32 = 0
        guard cvips_getpoint(image.pointer, &vector, &count, 0, 0) == 0, let vector else {
            throw Vips.error(.decodeFailed, "reading the border colour")
        }
        let background = Array(UnsafeBufferPointer(start: vector, count: Int(count)))
        cvips_free(vector)
        var left: Int32 = 0, top: Int32 = 0, w: Int32 = 0, h: Int32 = 0
        guard cvips_find_trim(image.pointer, DecodingLimits.trimThreshold, background, Int32(background.count),
                              &left, &top, &w, &h) == 0 else {
            throw Vips.error(.decodeFailed, "finding the border")
        }
        guard w > 0, h > 0, Int(w) < image.width || Int(h) < image.height else { return image }
        return try image.apply("trimming the border") { cvips_crop($0, $1, left, top, w, h) }
    }

    /// One float band of BT.601 luma (0...255).
    static func grayscale(_ image: VipsHandle) throws(ImageDecodingError) -> VipsHandle {
        guard image.bands == 3 else {
            return try image.apply("conversion to float") { cvips_recomb_row($0, $1, [1.0], 1) }
        }
        return try image.apply("grayscale") { cvips_recomb_row($0, $1, DecodingLimits.lumaWeights, 3) }
    }

    /// The 32x32 float image as rounded, clamped bytes.
    static func pixels(of image: VipsHandle) throws(ImageDecodingError) -> [UInt8] {
        guard image.width == side, image.height == side, image.bands == 1, cvips_format(image.pointer) == VIPS_FORMAT_FLOAT else {
            throw ImageDecodingError(.decodeFailed, "normalised image is \(image.width)x\(image.height)x\(image.bands), not 32x32 float")
        }
        var size = 0
        guard let memory = cvips_write_to_memory(image.pointer, &size) else { throw Vips.error(.decodeFailed, "decoding pixels") }
        defer { cvips_free(memory) }
        guard size == ImageCode.pixelCount * MemoryLayout<Float>.size else {
            throw ImageDecodingError(.decodeFailed, "decoded \(size) bytes, expected \(ImageCode.pixelCount) floats")
        }
        let floats = UnsafeBufferPointer(start: memory.assumingMemoryBound(to: Float.self), count: ImageCode.pixelCount)
        return floats.map { $0.isFinite ? UInt8(max(0, min(255, $0.rounded()))) : 0 }
    }
}
