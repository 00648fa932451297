/// The image formats Totem fingerprints, told apart by the loader libvips picks from the bytes
/// (never by file name). Other formats libvips could read (SVG, PDF, HEIF...) are refused: fewer
/// decoders reachable from untrusted files, and a registry of photographs does not need them.
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg, png, webp, tiff

    /// The media type for `Work.mediaType`.
    public var mediaType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .webp: "image/webp"
        case .tiff: "image/tiff"
        }
    }

    /// The format of a libvips loader name such as "VipsForeignLoadJpegBuffer", or nil.
    init?(loader: String) {
        let name = loader.lowercased()
        guard name.hasPrefix("vipsforeignload") else { return nil }
        // Buffer loaders are named after their library: "jpeg", "png" or "spng", "webp", "tiff".
        let library = name.dropFirst("vipsforeignload".count)
        if library.hasPrefix("jpeg") { self = .jpeg }
        else if library.hasPrefix("png") || library.hasPrefix("spng") { self = .png }
        else if library.hasPrefix("webp") { self = .webp }
        else if library.hasPrefix("tiff") { self = .tiff }
        else { return nil }
    }
}
