import TotemCrypto

/// A registered work: an image identified by the SHA-256 of its file, with its ISCC Image-Code.
public struct Work: Sendable, Equatable, TCEEncodable {
    public var contentHash: Bytes32
    /// The 64-bit body of the ISCC Image-Code v0, its 8 bytes read as a big-endian u64.
    public var imageCode: UInt64?
    public var title: String
    public var mediaType: String
    public var width: UInt32
    public var height: UInt32
    public var license: String

    public init(contentHash: Bytes32, imageCode: UInt64?, title: String, mediaType: String,
                width: UInt32, height: UInt32, license: String) {
        self.contentHash = contentHash; self.imageCode = imageCode; self.title = title
        self.mediaType = mediaType; self.width = width; self.height = height; self.license = license
    }

    /// Equal when the encodings are equal: strings compare as exact bytes, never Unicode-normalised.
    public static func == (a: Work, b: Work) -> Bool { a.encoded == b.encoded }

    public func encode(to w: inout TCEWriter) {
        w.bytes32(contentHash)
        w.optional(imageCode) { $0.u64($1) }
        w.string(title)
        w.string(mediaType)
        w.u32(width)
        w.u32(height)
        w.string(license)
    }

    /// `prefix` names the work in errors, e.g. `payload` or `payload.works[2]`.
    public static func decode(from r: inout TCEReader, prefix: @autoclosure () -> String) throws(DecodeError) -> Work {
        let contentHash = try r.bytes32("\(prefix()).contentHash")
        let imageCode = try r.optional("\(prefix()).imageCode") { (r: inout TCEReader) throws(DecodeError) in
            try r.u64("\(prefix()).imageCode")
        }
        let title = try r.string(maxBytes: Limits.titleMaxBytes, "\(prefix()).title")
        let mediaType = try r.string(maxBytes: Limits.mediaTypeMaxBytes, "\(prefix()).mediaType")
        let width = try r.u32("\(prefix()).width")
        let height = try r.u32("\(prefix()).height")
        let license = try r.string(maxBytes: Limits.workLicenseMaxBytes, "\(prefix()).license")
        return Work(contentHash: contentHash, imageCode: imageCode, title: title, mediaType: mediaType,
                    width: width, height: height, license: license)
    }
}
