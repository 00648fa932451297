import ChainModel
import Foundation
import TotemCrypto

/// The explorer and verifier pages (`Sources/totemd/Web`, shipped as the executable's resource
/// bundle `Totem_totemd.resources` beside the binary), read once at startup and served from
/// memory when the config's `api.explorer` is on. The verifier page is served with this node's
/// genesis file pinned in it (`pinnedGenesisElement`), so it checks certificates of this chain
/// without being given the genesis; the file in the repository pins none.
struct WebAssets: Sendable {
    struct File: Sendable {
        let contentType: String
        let bytes: [UInt8]
    }

    /// Relative path (e.g. `explorer/index.html`, `verify.html`) → file.
    let files: [String: File]
    /// Where they were read from.
    let directory: String

    /// The empty element of the verifier page that carries a pinned genesis file (base64 of its
    /// exact bytes, since `genesisHash` is their SHA-256).
    static let pinnedGenesisElement = #"<script type="application/octet-stream" id="pinned-genesis" data-encoding="base64"></script>"#

    static let fileMaxBytes = 2 << 20
    static let filesMax = 64

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json",
    ]

    /// The folders searched, first found wins: beside the executable (SwiftPM's resource bundle),
    /// and `../share/totemd/Web` from it (an installed layout).
    static func candidateDirectories() -> [String] {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var dirs = [exe.appendingPathComponent("Totem_totemd.resources/Web").path,
                    exe.appendingPathComponent("../share/totemd/Web").standardizedFileURL.path]
        if let path = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() {
            dirs.append(path.appendingPathComponent("Totem_totemd.resources/Web").path)
        }
        return dirs
    }

    /// Reads the pages, pinning `genesisFileBytes` into the verifier page. Nil (with the reason)
    /// when no folder holds them.
    static func load(genesisFileBytes: [UInt8]) -> Result<WebAssets, WebAssetsMissing> {
        let fm = FileManager.default
        let tried = candidateDirectories()
        guard let dir = tried.first(where: { fm.fileExists(atPath: "\($0)/verify.html") || fm.fileExists(atPath: "\($0)/explorer") }) else {
            return .failure(WebAssetsMissing(tried: tried))
        }
        var files: [String: File] = [:]
        let root = URL(fileURLWithPath: dir)
        let items = fm.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])?.compactMap { $0 as? URL } ?? []
        for url in items.prefix(filesMax) {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                  let type = contentTypes[url.pathExtension.lowercased()],
                  let data = fm.contents(atPath: url.path), data.count <= fileMaxBytes else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            var bytes = Array(data)
            if relative == "verify.html" { bytes = pin(genesisFileBytes, into: bytes) }
            files[relative] = File(contentType: type, bytes: bytes)
        }
        return .success(WebAssets(files: files, directory: dir))
    }

    /// The verifier page with the genesis file's base64 inside its pinned-genesis element.
    static func pin(_ genesisFileBytes: [UInt8], into page: [UInt8]) -> [UInt8] {
        let text = String(decoding: page, as: UTF8.self)
        let filled = pinnedGenesisElement.replacingOccurrences(of: "></script>", with: ">\(Base64.encode(genesisFileBytes))</script>")
        return Array(text.replacingOccurrences(of: pinnedGenesisElement, with: filled).utf8)
    }
}

struct WebAssetsMissing: Error, CustomStringConvertible {
    let tried: [String]
    var description: String { "the explorer's pages are not installed (looked in \(tried.joined(separator: ", ")))" }
}
