/// ISCC Image-Code v0 (ISO 24138): a 64-bit perceptual hash of an image, computed from its 32x32
/// grayscale thumbnail. Totem stores the 64-bit body as a `UInt64` (its 8 bytes read big-endian,
/// `Work.imageCode`); the ISCC header and base32 text are for display only (`ImageCode+Display`).
///
/// The algorithm: a DCT of every row, then of every column of the result; the top-left 8x8 block
/// of coefficients (lowest frequencies, row-major); each bit says whether its coefficient is greater
/// than the block's median. Longer codes append the blocks shifted one column right, one row down,
/// and both. The function is pure: decoding and normalising the image happen elsewhere
/// (`ImageDecoding`), and the node never needs the image.
public enum ImageCode {
    /// Side of the normalised thumbnail, in pixels.
    public static let side = 32
    /// Pixels of the thumbnail: 32 rows of 32 grayscale values, row-major, 0 (black) to 255 (white).
    public static let pixelCount = side * side
    /// Side of one block of DCT coefficients that yields 64 bits.
    static let blockSide = 8
    /// The code length Totem uses.
    public static let totemBits = 64
    /// Bit lengths ISCC allows for Image-Codes: multiples of 32, up to four 64-bit blocks.
    public static let bitLengths: [Int] = [32, 64, 96, 128, 160, 192, 224, 256]
    /// Block origins (column, row) in the order the reference appends them.
    private static let blockOrigins: [(column: Int, row: Int)] = [(0, 0), (1, 0), (0, 1), (1, 1)]

    /// The 64-bit Image-Code body of a 32x32 grayscale thumbnail, as Totem stores it.
    public static func compute(pixels: [UInt8]) throws(ImageCodeError) -> UInt64 {
        let digest = try digest(pixels: pixels, bits: totemBits)
        return digest.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The Image-Code body of `bits` bits (a value of `bitLengths`), as ISCC bytes.
    public static func digest(pixels: [UInt8], bits: Int) throws(ImageCodeError) -> [UInt8] {
        guard pixels.count == pixelCount else {
            throw ImageCodeError(.wrongPixelCount, "expected \(pixelCount) grayscale pixels (32x32), got \(pixels.count)")
        }
        guard bitLengths.contains(bits) else {
            throw ImageCodeError(.unsupportedBitLength, "Image-Code length must be one of \(bitLengths), got \(bits)")
        }
        let matrix = dctMatrix(pixels)
        var hashBits = [Bool]()
        hashBits.reserveCapacity(256)
        for origin in blockOrigins where hashBits.count < bits {
            hashBits += blockBits(matrix, column: origin.column, row: origin.row)
        }
        // Whole 64-bit blocks are computed; a length between them keeps the leading bits.
        return pack(hashBits.prefix(bits))
    }

    /// Hamming distance between two 64-bit codes: 0 to 64.
    @inlinable public static func distance(_ a: UInt64, _ b: UInt64) -> Int { (a ^ b).nonzeroBitCount }

    /// The 2-D DCT: rows first, then columns, indexed `[row][column]`.
    static func dctMatrix(_ pixels: [UInt8]) -> [[Double]] {
        var rows = (0..<side).map { r in
            DCT.transform(pixels[(r * side)..<((r + 1) * side)].map { Double($0) })
        }
        for c in 0..<side {
            let column = DCT.transform(rows.map { $0[c] })
            for r in 0..<side { rows[r][c] = column[r] }
        }
        return rows
    }

    /// 64 bits from the 8x8 block at (`column`, `row`): 1 where the coefficient exceeds the median.
    static func blockBits(_ matrix: [[Double]], column: Int, row: Int) -> [Bool] {
        var values = [Double]()
        values.reserveCapacity(blockSide * blockSide)
        for r in row..<(row + blockSide) {
            values += matrix[r][column..<(column + blockSide)]
        }
        let sorted = values.sorted()
        // The median of an even count is the mean of the two middle values, as in the reference.
        let median = (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return values.map { $0 > median }
    }

    private static func pack<C: Collection>(_ bits: C) -> [UInt8] where C.Element == Bool {
        var out = [UInt8]()
        out.reserveCapacity(bits.count / 8)
        var byte: UInt8 = 0
        for (i, bit) in bits.enumerated() {
            byte = byte << 1 | (bit ? 1 : 0)
            if i % 8 == 7 { out.append(byte); byte = 0 }
        }
        return out
    }
}
