import CVips

/// Owns one libvips image reference and releases it when dropped. Not `Sendable`: an image lives
/// inside one decode call and is never shared between tasks.
final class VipsHandle {
    let pointer: UnsafeMutablePointer<VipsImage>

    init(_ pointer: UnsafeMutablePointer<VipsImage>) { self.pointer = pointer }

    deinit { cvips_unref(pointer) }

    var width: Int { Int(cvips_width(pointer)) }
    var height: Int { Int(cvips_height(pointer)) }
    var bands: Int { Int(cvips_bands(pointer)) }
    var hasAlpha: Bool { cvips_hasalpha(pointer) != 0 }

    /// Runs one libvips operation that writes a new image, naming `step` in its error.
    func apply(_ step: String,
               _ operation: (UnsafeMutablePointer<VipsImage>, UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32)
        throws(ImageDecodingError) -> VipsHandle {
        var out: UnsafeMutablePointer<VipsImage>?
        let status = operation(pointer, &out)
        guard status == 0, let out else {
            if let out { cvips_unref(out) }
            throw Vips.error(.decodeFailed, step)
        }
        return VipsHandle(out)
    }
}

/// Process-wide libvips state.
enum Vips {
    /// libvips starts once, on first use; `VIPS_INIT` is safe to call from any thread.
    static let started: Bool = cvips_init() == 0

    /// An error carrying libvips' own messages for `step`, which it then clears.
    static func error(_ code: ImageDecodingError.Code, _ step: String) -> ImageDecodingError {
        var detail = ""
        if let buffer = cvips_error_buffer() {
            detail = String(cString: buffer).split(separator: "\n").joined(separator: "; ")
        }
        cvips_error_clear()
        return ImageDecodingError(code, detail.isEmpty ? "\(step) failed" : "\(step) failed: \(detail)")
    }
}
