import Foundation
import Testing
import TotemCrypto
@testable import ChainModel
@testable import ImageCodes

/// Conformance of `ImageCode` with ISCC's published vectors and Totem's `imageCodes` vectors.
@Suite struct ImageCodeTests {
    struct ISCCVector: Sendable, CustomTestStringConvertible {
        let name: String
        let pixels: [UInt8]
        let bits: Int
        let iscc: String
        var testDescription: String { name }
    }

    /// Every `gen_image_code_v0` vector of iscc-core's data.json; throws if the data is absent.
    static func isccVectors() throws -> [ISCCVector] {
        let tests = JSONFields(try TestData.json("iscc/data.json")).sub("gen_image_code_v0").dict
        return tests.keys.sorted().map { name in
            let test = JSONFields(tests[name] ?? .null)
            var pixels: [UInt8] = [], bits = -1
            if case .array(let inputs)? = test.dict["inputs"], inputs.count == 2 {
                if case .array(let values) = inputs[0] {
                    pixels = values.map { if case .uint(let v) = $0, v <= 255 { UInt8(v) } else { 0xEE } }
                }
                if case .uint(let b) = inputs[1] { bits = Int(b) }
            }
            return ISCCVector(name: name, pixels: pixels, bits: bits, iscc: test.sub("outputs").string("iscc"))
        }
    }

    @Test func matchesEveryISCCVector() throws {
        let vectors = try Self.isccVectors()
        #expect(vectors.count >= 3, "data.json lists at least the 64-, 128- and 256-bit vectors")
        for v in vectors {
            let digest = try ImageCode.digest(pixels: v.pixels, bits: v.bits)
            #expect(try ImageCode.display(digest: digest) == v.iscc, "\(v.name)")
            let parsed = try ImageCode.parseDigest(v.iscc)
            #expect(parsed.bits == v.bits && parsed.digest == digest, "\(v.name) parses back")
            if v.bits == 64 {
                #expect(try ImageCode.compute(pixels: v.pixels) == ImageCode.parse(v.iscc), "\(v.name)")
            }
        }
    }

    @Test func matchesTotemImageCodeVectors() throws {
        _ = try TestData.data("totem/vectors.json")
        let vectors = TestData.section("imageCodes")
        #expect(vectors.count == 3)
        for v in vectors {
            let code = v.u64("imageCode")
            #expect(ImageCode.display(code) == v.string("iscc"), "\(v.string("name"))")
            #expect(try ImageCode.parse(v.string("iscc")) == code)
            #expect(ImageCode.hex(code) == v.string("body"))
            #expect(ImageCode.parseHex(v.string("body")) == code)
            let header = try #require(Base32.decode(String(v.string("iscc").dropFirst(5))))
            #expect(Hex.encode(header.prefix(2)) == v.string("header"))
            #expect(Hex.encode(Work(contentHash: .init(w0: 0, w1: 0, w2: 0, w3: 0), imageCode: code, title: "",
                                    mediaType: "", width: 0, height: 0, license: "").encoded.dropFirst(32).prefix(9))
                    == v.string("encoding"), "optional<u64> encoding of imageCode")
        }
    }

    @Test func dctOfKnownVectors() {
        #expect(DCT.transform([Double](repeating: 0, count: 32)) == [Double](repeating: 0, count: 32))
        // A constant row has all its energy in the first (unnormalised: sum) coefficient.
        let constant = DCT.transform([Double](repeating: 1, count: 32))
        #expect(constant[0] == 32)
        #expect(constant.dropFirst().allSatisfy { abs($0) < 1e-9 })
        // Against the O(n^2) definition X[k] = sum x[i] cos(pi k (2i+1) / 2n).
        let ramp = (0..<32).map { Double($0 * $0 % 17) }
        let fast = DCT.transform(ramp)
        for k in 0..<32 {
            let direct = (0..<32).reduce(0.0) { $0 + ramp[$1] * cos(Double.pi * Double(k) * Double(2 * $1 + 1) / 64) }
            #expect(abs(fast[k] - direct) < 1e-9, "coefficient \(k)")
        }
    }

    @Test func refusesBadInput() {
        #expect(throws: ImageCodeError(.wrongPixelCount, "expected 1024 grayscale pixels (32x32), got 1023")) {
            try ImageCode.compute(pixels: [UInt8](repeating: 0, count: 1023))
        }
        #expect { try ImageCode.digest(pixels: [UInt8](repeating: 0, count: 1024), bits: 48) } throws: {
            ($0 as? ImageCodeError)?.code == .unsupportedBitLength
        }
        #expect { try ImageCode.display(digest: [1, 2, 3]) } throws: { ($0 as? ImageCodeError)?.code == .unsupportedBitLength }
        for (text, code) in [("ISCC:EEAQAAAAAAAAAAA", ImageCodeError.Code.malformedISCC),   // one character short
                             ("ISCC:EEAQAAAAAAAAAAA!", .malformedISCC),
                             ("ISCC:", .malformedISCC),
                             ("ISCC:AAAQAAAAAAAAAAAA", .notImageCode),                   // Meta-Code header
                             ("ISCC:EEBYAAAAAAAAAAAAAAAAAAAAAAAAA", .notImageCode),      // 128 bits
                             ("ISCC:" + String(repeating: "A", count: 80), .malformedISCC)] {
            #expect(throws: (any Error).self, "\(text)") { try ImageCode.parse(text) }
            do { _ = try ImageCode.parse(text) } catch { #expect(error.code == code, "\(text): \(error)") }
        }
    }

    @Test func displayRoundTripsAndDistance() throws {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<1000 {
            let code = rng.next()
            let text = ImageCode.display(code)
            #expect(text.count == 21 && text.hasPrefix("ISCC:EEA"))
            #expect(try ImageCode.parse(text) == code)
            #expect(try ImageCode.parse(text.lowercased().replacingOccurrences(of: "iscc:", with: "")) == code)
        }
        for bad in ["", "0123456789abcde", "0123456789ABCDEF", "0123456789abcdef0", "0x23456789abcdef", " 123456789abcdef"] {
            #expect(ImageCode.parseHex(bad) == nil, "\(bad)")
        }
        #expect(ImageCode.hex(1) == "0000000000000001")
        #expect(ImageCode.distance(0, .max) == 64)
        #expect(ImageCode.distance(0b1011, 0b0110) == 3)
    }

    @Test func imageCodeHasHalfItsBitsSet() throws {
        // The median split sets at most 32 of 64 bits: a property of every code from distinct values.
        var rng = SplitMix64(seed: 11)
        for _ in 0..<50 {
            let pixels = (0..<1024).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(try ImageCode.compute(pixels: pixels).nonzeroBitCount == 32)
        }
    }
}
