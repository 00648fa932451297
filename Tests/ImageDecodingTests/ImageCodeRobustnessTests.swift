import CVips
import ImageCodes
import Testing
@testable import ImageDecoding

/// DESIGN.md's distances on generated photographs: the same picture resized to half, re-encoded as
/// JPEG quality 50 or brightened by 10 % stays within 8 bits (at least 95 % of cases), while
/// different pictures are more than 16 bits apart (at least 99 % of pairs). Prints the distributions
/// recorded in docs/fingerprint.md.
@Suite struct ImageCodeRobustnessTests {
    static let pictureCount = 100
    static let sizes: [(width: Int, height: Int)] = [(640, 480), (800, 600), (1024, 683), (480, 640), (500, 500), (900, 400)]
    static let formats = [".jpg[Q=90]", ".png", ".webp[Q=90]", ".tif"]
    static let sameMaxDistance = 8
    static let differentMinDistance = 17
    static let sameMinShare = 0.95
    static let differentMinShare = 0.99
    static let brightnessFactor = 1.1

    enum Variant: String, CaseIterable { case halfSize = "resized to half", jpeg50 = "JPEG quality 50", brighter = "brightened 10 %" }

    @Test func sameStaysCloseAndDifferentStaysFar() throws {
        var originals: [UInt64] = []
        var distances: [Variant: [Int]] = [:]
        for i in 0..<Self.pictureCount {
            let size = Self.sizes[i % Self.sizes.count]
            let suffix = Self.formats[i % Self.formats.count]
            let photo = try SyntheticPhoto.make(seed: 1000 + UInt64(i), width: size.width, height: size.height)
            let file = try SyntheticPhoto.encode(photo, suffix)
            let original = try ImageDecoder.decode(file).imageCode
            originals.append(original)
            for variant in Variant.allCases {
                let changed = try Self.variant(variant, of: file, suffix: suffix)
                distances[variant, default: []].append(ImageCode.distance(original, try ImageDecoder.decode(changed).imageCode))
            }
        }
        var pairs: [Int] = []
        for a in originals.indices { for b in originals.indices where b > a { pairs.append(ImageCode.distance(originals[a], originals[b])) } }

        for variant in Variant.allCases {
            let d = distances[variant, default: []]
            let share = Self.share(d) { $0 <= Self.sameMaxDistance }
            print("same picture, \(variant.rawValue): \(Self.summary(d)); within \(Self.sameMaxDistance): \(Self.percent(share))")
            #expect(d.count == Self.pictureCount)
            #expect(share >= Self.sameMinShare, "\(variant.rawValue): \(Self.summary(d))")
        }
        let farShare = Self.share(pairs) { $0 >= Self.differentMinDistance }
        print("different pictures, \(pairs.count) pairs: \(Self.summary(pairs)); over 16: \(Self.percent(farShare))")
        #expect(farShare >= Self.differentMinShare, "different pairs: \(Self.summary(pairs))")
    }

    static func variant(_ variant: Variant, of file: [UInt8], suffix: String) throws -> [UInt8] {
        let image = try SyntheticPhoto.open(file)
        switch variant {
        case .halfSize:
            let half = try SyntheticPhoto.step("half") { SyntheticPhoto.cvipsOut { cvips_resize(image.pointer, $0, 0.5, 0.5, VIPS_KERNEL_LANCZOS3) } }
            return try SyntheticPhoto.encode(half, suffix)
        case .jpeg50:
            return try SyntheticPhoto.encode(image, ".jpg[Q=50]")
        case .brighter:
            let lit = try SyntheticPhoto.step("brighten") { SyntheticPhoto.cvipsOut { cvips_linear(image.pointer, $0, [brightnessFactor], [0], 1) } }
            let bytes = try SyntheticPhoto.step("8 bits") { SyntheticPhoto.cvipsOut { cvips_cast_uchar(lit.pointer, $0) } }
            return try SyntheticPhoto.encode(bytes, suffix)
        }
    }

    static func share(_ values: [Int], _ predicate: (Int) -> Bool) -> Double {
        values.isEmpty ? 0 : Double(values.filter(predicate).count) / Double(values.count)
    }

    static func percent(_ share: Double) -> String { "\((share * 10000).rounded() / 100) %" }

    /// "min 0, median 1, p95 3, max 6; histogram 0:40 1:30 ..." for the record.
    static func summary(_ values: [Int]) -> String {
        let sorted = values.sorted()
        guard let first = sorted.first, let last = sorted.last else { return "no values" }
        var histogram: [Int: Int] = [:]
        for v in sorted { histogram[v, default: 0] += 1 }
        let bins = histogram.keys.sorted().map { "\($0):\(histogram[$0] ?? 0)" }.joined(separator: " ")
        return "min \(first), median \(sorted[sorted.count / 2]), p95 \(sorted[sorted.count * 95 / 100]), max \(last); histogram \(bins)"
    }
}
