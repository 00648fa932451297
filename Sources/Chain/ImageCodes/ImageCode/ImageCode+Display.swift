/// The ISCC display form of Image-Codes: "ISCC:" and the base32 of a 2-byte header and the body.
///
/// The header's four nibbles are main type CONTENT (2), subtype IMAGE (1), version 0, and the length
/// as `bits / 32 - 1`; every value is below 8, so each is one nibble: a 64-bit code has 0x21 0x01.
extension ImageCode {
    /// The prefix of every ISCC display form.
    public static let displayPrefix = "ISCC:"
    private static let headerTypeByte: UInt8 = 0x21  // main type CONTENT, subtype IMAGE
    private static let headerVersion: UInt8 = 0
    /// The longest display form accepted by `parse`: prefix plus base32 of a 2-byte header and 32 bytes.
    static let displayMaxCharacters = 5 + 55

    /// "ISCC:" + base32 of the header and the 8-byte big-endian body of a 64-bit code.
    public static func display(_ code: UInt64) -> String {
        encodeDisplay(digest: (0..<8).map { UInt8(truncatingIfNeeded: code >> (56 - 8 * $0)) })
    }

    /// The display form of a body of any length in `bitLengths` (its byte count times 8).
    public static func display(digest: [UInt8]) throws(ImageCodeError) -> String {
        guard bitLengths.contains(digest.count * 8) else {
            throw ImageCodeError(.unsupportedBitLength, "an Image-Code body of \(digest.count) bytes has no ISCC length")
        }
        return encodeDisplay(digest: digest)
    }

    private static func encodeDisplay(digest: [UInt8]) -> String {
        let lengthNibble = UInt8(digest.count * 8 / 32 - 1)
        return displayPrefix + Base32.encode([headerTypeByte, headerVersion << 4 | lengthNibble] + digest)
    }

    /// The 64-bit body of a display form ("ISCC:EEA..."; the prefix may be omitted, base32 in either
    /// case). Any other ISCC unit or length is refused with `notImageCode`.
    public static func parse(_ text: String) throws(ImageCodeError) -> UInt64 {
        let (bits, digest) = try parseDigest(text)
        guard bits == totemBits else {
            throw ImageCodeError(.notImageCode, "Totem uses 64-bit Image-Codes; this one has \(bits) bits")
        }
        return digest.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The bit length and body of an Image-Code v0 display form of any length in `bitLengths`.
    public static func parseDigest(_ text: String) throws(ImageCodeError) -> (bits: Int, digest: [UInt8]) {
        guard text.utf8.count <= displayMaxCharacters else {
            throw ImageCodeError(.malformedISCC, "ISCC text longer than \(displayMaxCharacters) characters")
        }
        let body = text.hasPrefix(displayPrefix) ? String(text.dropFirst(displayPrefix.count)) : text
        guard let bytes = Base32.decode(body), bytes.count >= 2 else {
            throw ImageCodeError(.malformedISCC, "not an ISCC display form (base32 of header and body): \(text)")
        }
        guard bytes[0] == headerTypeByte, bytes[1] >> 4 == headerVersion else {
            throw ImageCodeError(.notImageCode, "ISCC header \(bytes[0]) \(bytes[1]) is not an Image-Code v0")
        }
        let bits = (Int(bytes[1] & 0x0f) + 1) * 32
        let digest = Array(bytes[2...])
        guard bitLengths.contains(bits), digest.count * 8 == bits else {
            throw ImageCodeError(.malformedISCC, "header says \(bits) bits, body has \(digest.count * 8)")
        }
        return (bits, digest)
    }
}
