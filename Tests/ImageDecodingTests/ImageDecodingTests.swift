import CVips
import ChainModel
import Foundation
import ImageCodes
import Testing
@testable import ImageDecoding

/// The decoding pipeline: formats, orientation, transparency, border, errors.
@Suite struct ImageDecodingTests {
    static func code(_ bytes: [UInt8]) throws -> UInt64 { try ImageDecoder.decode(bytes).imageCode }

    @Test(arguments: [(ImageFormat.jpeg, ".jpg[Q=95]"), (.png, ".png"), (.webp, ".webp[lossless]"), (.tiff, ".tif")])
    func decodesEachFormat(format: ImageFormat, suffix: String) throws {
        let photo = try SyntheticPhoto.make(seed: 1, width: 400, height: 300)
        let decoded = try ImageDecoder.decode(try SyntheticPhoto.encode(photo, suffix))
        #expect(decoded.format == format)
        #expect(decoded.width == 400 && decoded.height == 300)
        #expect(decoded.pixels.count == ImageCode.pixelCount)
        #expect(Set(decoded.pixels).count > 50, "a photograph-like thumbnail has many gray levels")
        let lossless = try Self.code(try SyntheticPhoto.encode(photo, ".png"))
        #expect(ImageCode.distance(decoded.imageCode, lossless) <= (format == .jpeg ? 4 : 0), "\(format)")
    }

    @Test func filesDecodeLikeBytes() throws {
        let bytes = try SyntheticPhoto.encode(try SyntheticPhoto.make(seed: 2, width: 300, height: 200), ".webp[Q=90]")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("totem-decoding-\(UInt32.random(in: 0...UInt32.max)).webp").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try ImageDecoder.imageCode(contentsOf: path) == Self.code(bytes))
    }

    /// Pixels stored turned a quarter clockwise with EXIF orientation 8 ("turn back to view") give
    /// the upright picture's code; without the tag they would not.
    @Test func appliesEXIFOrientation() throws {
        let upright = try SyntheticPhoto.make(seed: 3, width: 320, height: 240)
        let turned = try SyntheticPhoto.step("rot90") { SyntheticPhoto.cvipsOut { cvips_rot90(upright.pointer, $0) } }
        let plain = try Self.code(try SyntheticPhoto.encode(turned, ".tif"))
        guard let tagged = cvips_copy_memory(turned.pointer) else { throw SyntheticPhoto.Failure("copy") }
        let taggedImage = VipsHandle(tagged)
        cvips_set_orientation(taggedImage.pointer, 8)
        let decoded = try ImageDecoder.decode(try SyntheticPhoto.encode(taggedImage, ".tif"))
        #expect(decoded.width == 320 && decoded.height == 240, "size as displayed")
        let want = try Self.code(try SyntheticPhoto.encode(upright, ".tif"))
        #expect(decoded.imageCode == want)
        #expect(ImageCode.distance(plain, want) > 16, "the test needs a rotation that changes the code")
        // JPEG, where orientation tags are most common: the tag travels in EXIF.
        let jpeg = try ImageDecoder.decode(try SyntheticPhoto.encode(taggedImage, ".jpg[Q=95]"))
        #expect(jpeg.width == 320 && jpeg.height == 240)
        #expect(ImageCode.distance(jpeg.imageCode, want) <= 4)
    }

    /// Transparent pixels count as white.
    @Test func flattensTransparencyOnWhite() throws {
        let photo = try SyntheticPhoto.make(seed: 4, width: 320, height: 240)
        let withAlpha = try SyntheticPhoto.step("alpha") { SyntheticPhoto.cvipsOut { cvips_add_alpha(photo.pointer, $0) } }
        guard let canvas = cvips_copy_memory(withAlpha.pointer) else { throw SyntheticPhoto.Failure("copy") }
        let transparent = VipsHandle(canvas)
        #expect(cvips_draw_rect(transparent.pointer, [0, 0, 0, 0], 4, 40, 30, 160, 120) == 0)  // a transparent hole
        guard let reference = cvips_copy_memory(photo.pointer) else { throw SyntheticPhoto.Failure("copy") }
        let white = VipsHandle(reference)
        #expect(cvips_draw_rect(white.pointer, [255, 255, 255], 3, 40, 30, 160, 120) == 0)
        let got = try ImageDecoder.decode(try SyntheticPhoto.encode(transparent, ".png"))
        #expect(got.pixels == (try ImageDecoder.decode(try SyntheticPhoto.encode(white, ".png"))).pixels)
        #expect(ImageCode.distance(got.imageCode, try Self.code(try SyntheticPhoto.encode(photo, ".png"))) > 0)
    }

    /// A one-band grayscale file, and the same file with an alpha band, decode like the same gray
    /// values stored as sRGB (the luma of equal R, G and B is that value).
    @Test func decodesGrayscaleAndGrayWithAlpha() throws {
        let photo = try SyntheticPhoto.make(seed: 8, width: 300, height: 300)
        let gray = try SyntheticPhoto.step("gray") { SyntheticPhoto.cvipsOut { cvips_colourspace(photo.pointer, $0, VIPS_INTERPRETATION_B_W) } }
        #expect(gray.bands == 1)
        let asRGB = try SyntheticPhoto.step("sRGB") { SyntheticPhoto.cvipsOut { cvips_colourspace_srgb(gray.pointer, $0) } }
        #expect(asRGB.bands == 3)
        let want = try ImageDecoder.decode(try SyntheticPhoto.encode(asRGB, ".png")).pixels
        #expect(try ImageDecoder.decode(try SyntheticPhoto.encode(gray, ".png")).pixels == want)
        let grayAlpha = try SyntheticPhoto.step("alpha") { SyntheticPhoto.cvipsOut { cvips_add_alpha(gray.pointer, $0) } }
        #expect(grayAlpha.bands == 2)
        #expect(try ImageDecoder.decode(try SyntheticPhoto.encode(grayAlpha, ".png")).pixels == want)
    }

    /// 16-bit RGB and CMYK files are converted to 8-bit sRGB first.
    @Test func decodes16BitAndCMYK() throws {
        let photo = try SyntheticPhoto.make(seed: 9, width: 320, height: 240)
        let want = try ImageDecoder.decode(try SyntheticPhoto.encode(photo, ".png"))
        let deep = try SyntheticPhoto.step("RGB16") { SyntheticPhoto.cvipsOut { cvips_colourspace(photo.pointer, $0, VIPS_INTERPRETATION_RGB16) } }
        #expect(cvips_format(deep.pointer) == VIPS_FORMAT_USHORT)
        let got16 = try ImageDecoder.decode(try SyntheticPhoto.encode(deep, ".png"))
        #expect(got16.imageCode == want.imageCode)
        let cmyk = try SyntheticPhoto.step("CMYK") { SyntheticPhoto.cvipsOut { cvips_colourspace(photo.pointer, $0, VIPS_INTERPRETATION_CMYK) } }
        #expect(cmyk.bands == 4)
        let gotCMYK = try ImageDecoder.decode(try SyntheticPhoto.encode(cmyk, ".jpg[Q=95]"))
        print("CMYK JPEG: distance \(ImageCode.distance(gotCMYK.imageCode, want.imageCode)) from the sRGB PNG")
        #expect(ImageCode.distance(gotCMYK.imageCode, want.imageCode) <= 8)
    }

    /// A uniform frame added around a picture is trimmed away.
    @Test func trimsUniformBorder() throws {
        let photo = try SyntheticPhoto.make(seed: 5, width: 320, height: 240)
        let framed = try SyntheticPhoto.step("frame") { SyntheticPhoto.cvipsOut { cvips_embed_white(photo.pointer, $0, 60, 20, 440, 300) } }
        let want = try Self.code(try SyntheticPhoto.encode(photo, ".png"))
        let got = try Self.code(try SyntheticPhoto.encode(framed, ".png"))
        print("trim: framed picture at distance \(ImageCode.distance(got, want)) from the original")
        #expect(ImageCode.distance(got, want) <= 2)
    }

    @Test func refusesWhatIsNotAnImage() throws {
        var rng = SplitMix64(seed: 6)
        let noise = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for (name, bytes) in [("empty", []), ("random bytes", noise), ("text", Array("GET /v1/status HTTP/1.1\r\n".utf8))] {
            #expect(throws: ImageDecodingError.self, "\(name)") { try ImageDecoder.decode(bytes) }
            do { _ = try ImageDecoder.decode(bytes) } catch { #expect(error.code == .notAnImage, "\(name): \(error)") }
        }
        let jpeg = try SyntheticPhoto.encode(try SyntheticPhoto.make(seed: 7, width: 400, height: 300), ".jpg[Q=90]")
        do {
            _ = try ImageDecoder.decode(Array(jpeg.prefix(jpeg.count / 2)))
            Issue.record("a truncated JPEG must be refused")
        } catch {
            #expect(error.code == .decodeFailed, "\(error)")
            print("truncated JPEG: \(error)")
        }
        do {
            _ = try ImageDecoder.decode(contentsOf: "/nonexistent/totem/picture.jpg")
            Issue.record("a missing file must be refused")
        } catch {
            #expect(error.code == .fileUnreadable, "\(error)")
        }
    }

    @Test func refusesOtherFormats() throws {
        let svg = Array(#"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>"#.utf8)
        do {
            _ = try ImageDecoder.decode(svg)
            Issue.record("SVG must be refused")
        } catch {
            #expect(error.code == .unsupportedFormat || error.code == .notAnImage, "\(error)")
            print("SVG: \(error)")
        }
        #expect(ImageFormat(loader: "VipsForeignLoadSvgBuffer") == nil)
        #expect(ImageFormat(loader: "VipsForeignLoadJpegBuffer") == .jpeg)
        #expect(ImageFormat(loader: "VipsForeignLoadPngBuffer") == .png)
        #expect(ImageFormat(loader: "VipsForeignLoadWebpBuffer") == .webp)
        #expect(ImageFormat(loader: "VipsForeignLoadTiffBuffer") == .tiff)
    }
}
