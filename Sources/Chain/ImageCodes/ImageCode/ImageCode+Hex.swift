import TotemCrypto

/// The JSON form of an image code (PROTOCOL.md): 16 lowercase hex digits of the big-endian u64.
extension ImageCode {
    /// Hex digits in the JSON form of one code.
    public static let hexDigitCount = 16

    /// 16 lowercase hex digits of the big-endian code, e.g. "f0e1d2c3b4a59687".
    public static func hex(_ code: UInt64) -> String {
        Hex.encode((0..<8).map { UInt8(truncatingIfNeeded: code >> (56 - 8 * $0)) })
    }

    /// The code of exactly 16 lowercase hex digits; nil for any other text.
    public static func parseHex(_ text: String) -> UInt64? {
        guard text.utf8.count == hexDigitCount, let bytes = Hex.decode(text) else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
