import ArgumentParser
import ChainModel
import Foundation

/// The record `register-works` keeps of an archive: one JSON object per line, one line per file,
/// appended as each batch is committed (so a run killed at any moment loses at most the batch in
/// flight, which the next run finds on the chain). A file with a line is done; a new run skips it.
///
///     {"file": "…", "status": "registered", "contentHash": "…", "imageCode": "…", "txHash": "…",
///      "item": 3, "height": 120}
///
/// `status` is `registered` (by this run), `already-registered` (by this registrant before: the
/// chain's record), `registered-by-another` (`registrant` names who; not sent: the first
/// registration wins), `duplicate` (the same bytes as `duplicateOf`, earlier in the archive) or
/// `not-an-image` (`error` says why). `txHash` with `item` (the batch index) names the certificate:
/// `GET /v1/certificates/{txHash}?item={item}`.
struct ManifestEntry: Sendable, Equatable {
    enum Status: String, Sendable, CaseIterable {
        case registered, alreadyRegistered = "already-registered", registeredByAnother = "registered-by-another"
        case duplicate, notAnImage = "not-an-image"
    }

    var file: String
    var status: Status
    var contentHash: String?
    var imageCode: String?
    var txHash: String?
    var item: Int?
    var height: UInt64?
    var registrant: String?
    var duplicateOf: String?
    var error: String?

    /// Whether the entry names a registration this registrant holds a certificate for.
    var hasCertificate: Bool { (status == .registered || status == .alreadyRegistered) && txHash != nil }

    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("file", .string(file)), ("status", .string(status.rawValue))]
        func add(_ key: String, _ value: String?) { if let value { members.append((key, .string(value))) } }
        add("contentHash", contentHash)
        add("imageCode", imageCode)
        add("txHash", txHash)
        if let item { members.append(("item", .integer(UInt64(item)))) }
        if let height { members.append(("height", .integer(height))) }
        add("registrant", registrant)
        add("duplicateOf", duplicateOf)
        add("error", error)
        return .object(members)
    }

    init(file: String, status: Status, contentHash: String? = nil, imageCode: String? = nil, txHash: String? = nil,
         item: Int? = nil, height: UInt64? = nil, registrant: String? = nil, duplicateOf: String? = nil,
         error: String? = nil) {
        self.file = file; self.status = status; self.contentHash = contentHash; self.imageCode = imageCode
        self.txHash = txHash; self.item = item; self.height = height; self.registrant = registrant
        self.duplicateOf = duplicateOf; self.error = error
    }

    init(json: JSONValue) throws(ManifestError) {
        func string(_ key: String) throws(ManifestError) -> String? {
            guard let value = json[key] else { return nil }
            guard case .string(let s) = value else { throw ManifestError("\(key) is not a string") }
            return s
        }
        func number(_ key: String) throws(ManifestError) -> UInt64? {
            guard let value = json[key] else { return nil }
            guard case .number(let n) = value, let v = UInt64(n) else { throw ManifestError("\(key) is not a whole number") }
            return v
        }
        guard let file = try string("file") else { throw ManifestError("no file") }
        guard let raw = try string("status"), let status = Status(rawValue: raw) else {
            throw ManifestError("status is not one of \(Status.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.init(file: file, status: status, contentHash: try string("contentHash"), imageCode: try string("imageCode"),
                  txHash: try string("txHash"), item: try number("item").map { Int(clamping: $0) },
                  height: try number("height"), registrant: try string("registrant"),
                  duplicateOf: try string("duplicateOf"), error: try string("error"))
    }
}

struct ManifestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum WorkManifest {
    /// The entries of a manifest's text. A last line without its newline is what a kill in the
    /// middle of an append leaves: it is dropped (its batch is found on the chain again); any other
    /// line that does not parse is an error naming its line number.
    static func parse(_ text: [UInt8]) throws(ManifestError) -> [ManifestEntry] {
        var entries: [ManifestEntry] = []
        let lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() where !line.isEmpty {
            let isTorn = i == lines.count - 1  // no newline after it
            do {
                entries.append(try ManifestEntry(json: try JSONParser.parse(Array(line))))
            } catch {
                if isTorn { break }
                throw ManifestError("line \(i + 1): \(error)")
            }
        }
        return entries
    }

    static func read(path: String) throws -> [ManifestEntry] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else { throw ManifestError("cannot read \(path)") }
        do { return try parse(Array(data)) } catch { throw ManifestError("\(path): \(error)") }
    }

    static func lines(_ entries: [ManifestEntry]) -> [UInt8] {
        entries.flatMap { JSONWriter.write($0.json) + [UInt8(ascii: "\n")] }
    }
}

/// Appends to a manifest file and syncs after each append: an entry on disk is a registration the
/// next run need not look for.
final class ManifestWriter: Sendable {
    private let handle: FileHandle

    init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ManifestError("cannot create \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ManifestError("cannot open \(path)") }
        try handle.seekToEnd()
        self.handle = handle
    }

    func append(_ entries: [ManifestEntry]) throws {
        guard !entries.isEmpty else { return }
        try handle.write(contentsOf: Data(WorkManifest.lines(entries)))
        try handle.synchronize()
    }

    deinit { try? handle.close() }
}

/// `totemd export-certificates MANIFEST --out DIR`: the certificate of every registration a
/// `register-works` manifest records, one file each, named after the content hash.
struct ExportCertificatesCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-certificates",
        abstract: "Export the registration certificate of every work a register-works manifest records.",
        discussion: "Each certificate is written to DIR/<contentHash>.json; check one offline with: "
            + "totemd verify FILE --genesis genesis.json")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The manifest written by tx register-works.") var manifest: String
    @Option(help: "The folder to write the certificates to (created if missing).") var out: String

    func run() async throws {
        let entries = try WorkManifest.read(path: manifest).filter(\.hasCertificate)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let api = APIClient(base: client.api)
        var written = 0
        for e in entries {
            guard let txHash = e.txHash, let hash = e.contentHash else { continue }
            let path = "/v1/certificates/\(txHash)" + (e.item.map { "?item=\($0)" } ?? "")
            let answer = try await api.get(path)
            let file = (out as NSString).appendingPathComponent("\(hash).json")
            try Data(JSONWriter.write(answer, style: .pretty(indent: 2))).write(to: URL(fileURLWithPath: file))
            written += 1
        }
        print("wrote \(written) certificates to \(out)")
    }
}
