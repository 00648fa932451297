import CVips
import ChainModel
@testable import ImageDecoding

/// Seeded photograph-like pictures made with libvips: a smooth colour field (a random 8x6 grid
/// upsampled with a cubic kernel), a dozen soft-edged shapes of random colour, and Gaussian noise.
/// Nothing flat: every picture has gradients, edges and grain, as photographs do.
enum SyntheticPhoto {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ step: String) { description = Vips.error(.decodeFailed, step).message }
    }

    static let gridWidth = 8, gridHeight = 6
    static let shapeCount = 12
    static let noiseSigma = 6.0
    static let blurSigma = 1.2

    /// An 8-bit sRGB picture of `width` x `height`, the same for the same seed.
    static func make(seed: UInt64, width: Int, height: Int) throws -> VipsHandle {
        guard Vips.started else { throw Failure("starting libvips") }
        var rng = SplitMix64(seed: seed)
        let grid = (0..<(gridWidth * gridHeight * 3)).map { _ in UInt8(truncatingIfNeeded: 30 + rng.next() % 196) }
        guard let small = grid.withUnsafeBytes({ cvips_new_from_uchar($0.baseAddress, $0.count, Int32(gridWidth), Int32(gridHeight), 3) }) else {
            throw Failure("grid")
        }
        var image = VipsHandle(small)
        let (sx, sy) = (Double(width) / Double(gridWidth), Double(height) / Double(gridHeight))
        image = try step("field") { cvipsOut { cvips_resize(image.pointer, $0, sx, sy, VIPS_KERNEL_CUBIC) } }
        image = try step("8 bits") { cvipsOut { cvips_cast_uchar(image.pointer, $0) } }
        guard let canvas = cvips_copy_memory(image.pointer) else { throw Failure("canvas") }
        image = VipsHandle(canvas)
        for _ in 0..<shapeCount {
            let ink = (0..<3).map { _ in Double(rng.next() % 256) }
            let cx = Int32(rng.next() % UInt64(width)), cy = Int32(rng.next() % UInt64(height))
            let size = Int32(Int(rng.next() % UInt64(max(2, min(width, height) / 4))) + min(width, height) / 20)
            let status = rng.next() % 2 == 0
                ? cvips_draw_circle(image.pointer, ink, 3, cx, cy, size)
                : cvips_draw_rect(image.pointer, ink, 3, cx - size, cy - size / 2, 2 * size, size)
            guard status == 0 else { throw Failure("shape") }
        }
        image = try step("blur") { cvipsOut { cvips_gaussblur(image.pointer, $0, blurSigma) } }
        let noiseSeed = Int32(truncatingIfNeeded: rng.next() & 0x7fff_ffff)
        let noise = try step("noise") { cvipsOut { cvips_gaussnoise($0, Int32(width), Int32(height), noiseSigma, noiseSeed) } }
        image = try step("grain") { cvipsOut { cvips_add(image.pointer, noise.pointer, $0) } }
        return try step("8 bits") { cvipsOut { cvips_cast_uchar(image.pointer, $0) } }
    }

    /// Encodes with a libvips suffix and options, e.g. ".jpg[Q=90]".
    static func encode(_ image: VipsHandle, _ suffix: String) throws -> [UInt8] {
        var buffer: UnsafeMutableRawPointer?
        var size = 0
        guard cvips_write_to_buffer(image.pointer, suffix, &buffer, &size) == 0, let buffer else { throw Failure("encoding \(suffix)") }
        defer { cvips_free(buffer) }
        return Array(UnsafeRawBufferPointer(start: buffer, count: size))
    }

    /// Opens encoded bytes as a libvips image (decoded into memory, so the bytes may go away).
    static func open(_ bytes: [UInt8]) throws -> VipsHandle {
        try bytes.withUnsafeBytes { raw in
            guard let p = cvips_new_from_buffer(raw.baseAddress, raw.count) else { throw Failure("open") }
            let lazy = VipsHandle(p)
            guard let copy = cvips_copy_memory(lazy.pointer) else { throw Failure("decode") }
            return VipsHandle(copy)
        }
    }

    static func step(_ name: String, _ body: () -> UnsafeMutablePointer<VipsImage>?) throws -> VipsHandle {
        guard let p = body() else { throw Failure(name) }
        return VipsHandle(p)
    }

    /// Runs an operation writing one output image; nil on failure.
    static func cvipsOut(_ operation: (UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32) -> UnsafeMutablePointer<VipsImage>? {
        var out: UnsafeMutablePointer<VipsImage>?
        guard operation(&out) == 0 else {
            if let out { cvips_unref(out) }
            return nil
        }
        return out
    }
}
