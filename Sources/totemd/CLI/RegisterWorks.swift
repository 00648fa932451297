import ArgumentParser
import ChainModel
import Foundation
import ImageCodes
import Synchronization
import TotemCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `totemd tx register-works <files or folders…>`: registers an archive. Every image is fingerprinted
/// on all cores while the previous chunk's batches are sent; see `WorkManifest` for the record it
/// keeps and how a second run resumes.
struct RegisterWorksCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register-works",
        abstract: "Register every image under the given files and folders, in RegisterWorkBatch transactions.",
        discussion: """
            Folders are walked recursively for .jpg, .jpeg, .png, .webp, .tif and .tiff files; files named \
            on the command line are taken whatever their name. Each work's title is its file name without \
            the extension. The manifest gets one line per file (file, contentHash, txHash, item, height); \
            a file already in it is skipped, so running the same command again resumes an interrupted run. \
            Content this key registered before is recorded, not sent again; content another key registered \
            is reported and skipped. Export the certificates with: totemd export-certificates MANIFEST --out DIR
            """)
    @OptionGroup var signer: SignerOptions
    @Argument(help: "Image files and folders.") var paths: [String]
    @Option(help: "The manifest file (JSON lines), created or resumed.") var manifest: String = "totem-manifest.jsonl"
    @Option(help: "Licence statement of every work.") var license: String = ""
    @Option(help: "Most works per transaction, 1 to 1000 (each transaction also stays within the chain's maxTxBytes).")
    var batchSize: Int = 1000
    @Option(help: "Images fingerprinted at once (default: the number of cores).") var jobs: Int?

    func validate() throws {
        guard Limits.batchWorksCount.contains(batchSize) else { throw ValidationError("--batch-size must be 1 to 1000") }
        if let jobs, !(1...256).contains(jobs) { throw ValidationError("--jobs must be 1 to 256") }
        if signer.nonce != nil { throw ValidationError("--nonce is not taken here: each batch uses the account's next nonce") }
    }

    func run() async throws {
        let key: SigningKey
        do { key = try KeyFile.read(path: signer.key) } catch { throw ValidationError(error.message) }
        let client = APIClient(base: signer.api)
        let info = try await client.status()
        let files = try ArchiveWalk.files(paths)
        let done = try WorkManifest.read(path: manifest)
        let doneFiles = Set(done.map(\.file))
        let todo = files.filter { !doneFiles.contains($0) }
        let out = try ManifestWriter(path: manifest)
        let sender = BatchSender(client: client, key: key, info: info, license: license, batchSize: batchSize,
                                 manifest: out, knownHashes: Dictionary(done.compactMap { e in e.contentHash.map { ($0, e.file) } },
                                                                         uniquingKeysWith: { a, _ in a }))
        let progress = ProgressLine(total: todo.count, label: "files")
        note("\(files.count) files; \(files.count - todo.count) already in \(manifest), \(todo.count) to do; "
             + "fingerprinting on \(jobs ?? ProcessInfo.processInfo.activeProcessorCount) cores")
        // Chunks bound memory; the chunk being fingerprinted overlaps the sending of the one before.
        let chunkSize = 2 * batchSize
        var sending: Task<Void, any Error>?
        for start in stride(from: 0, to: todo.count, by: chunkSize) {
            let chunk = Array(todo[start..<min(start + chunkSize, todo.count)])
            let prints = await Fingerprints.of(chunk, width: jobs ?? ProcessInfo.processInfo.activeProcessorCount) {
                progress.advance(fingerprinted: 1)
            }
            try await sending?.value
            sending = Task { try await sender.send(prints) { progress.advance(done: $0) } }
        }
        try await sending?.value
        progress.finish()
        let c = sender.counts
        print("registered \(c[.registered, default: 0]), already registered by this key \(c[.alreadyRegistered, default: 0]), "
              + "registered by another key \(c[.registeredByAnother, default: 0]), duplicates \(c[.duplicate, default: 0]), "
              + "not images \(c[.notAnImage, default: 0]); skipped as already in the manifest \(files.count - todo.count)")
        print("manifest \(manifest); certificates: totemd export-certificates \(manifest) --out DIR --api \(signer.api)")
    }
}

/// The image files under the given paths, each once, in a stable order.
enum ArchiveWalk {
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "webp", "tif", "tiff"]

    static func files(_ paths: [String]) throws -> [String] {
        var seen = Set<String>(), files: [String] = []
        func add(_ path: String) { if seen.insert(path).inserted { files.append(path) } }
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ValidationError("\(path): no such file or folder")
            }
            guard isDirectory.boolValue else { add(path); continue }
            guard let walk = FileManager.default.enumerator(atPath: path) else { throw ValidationError("cannot read \(path)") }
            var found: [String] = []
            for case let relative as String in walk
            where imageExtensions.contains((relative as NSString).pathExtension.lowercased()) {
                found.append((path as NSString).appendingPathComponent(relative))
            }
            found.sort()
            found.forEach(add)
        }
        return files
    }
}

/// An image's fingerprint, or why it has none.
struct FileFingerprint: Sendable {
    let file: String
    let result: Result<Fingerprint, ValidationError>
}

enum Fingerprints {
    /// Fingerprints `files` with at most `width` at once, in the files' order.
    static func of(_ files: [String], width: Int, onEach: @escaping @Sendable () -> Void) async -> [FileFingerprint] {
        await withTaskGroup(of: (Int, FileFingerprint).self) { group in
            var results = [FileFingerprint?](repeating: nil, count: files.count)
            var next = 0
            func start() {
                let i = next, file = files[i]
                next += 1
                group.addTask {
                    let result: Result<Fingerprint, ValidationError>
                    do { result = .success(try Fingerprint.of(file)) } catch let e as ValidationError {
                        result = .failure(e)
                    } catch { result = .failure(ValidationError("\(error)")) }
                    onEach()
                    return (i, FileFingerprint(file: file, result: result))
                }
            }
            while next < min(width, files.count) { start() }
            for await (i, fingerprint) in group {
                results[i] = fingerprint
                if next < files.count { start() }
            }
            return results.map { $0! }
        }
    }
}

/// Sends the works of fingerprinted files in batches, one transaction at a time, and records each
/// file's outcome in the manifest once its batch is committed (or once the chain says why not).
final class BatchSender: Sendable {
    private let client: APIClient
    private let key: SigningKey
    private let info: APIClient.ChainInfo
    private let license: String
    private let batchSize: Int
    private let manifest: ManifestWriter
    private let overhead: Int
    private let state: Mutex<State>

    private struct State {
        /// contentHash → the first file with those bytes (this run or the manifest).
        var knownHashes: [String: String]
        var counts: [ManifestEntry.Status: Int] = [:]
    }

    /// Rounds of "send, and on refusal ask the chain what is already registered" for one batch.
    static let attemptsMax = 5

    init(client: APIClient, key: SigningKey, info: APIClient.ChainInfo, license: String, batchSize: Int,
         manifest: ManifestWriter, knownHashes: [String: String]) {
        self.client = client; self.key = key; self.info = info; self.license = license
        self.batchSize = batchSize; self.manifest = manifest
        overhead = WorkBatches.overhead(chainId: info.chainId, sender: key.publicKey)
        state = Mutex(State(knownHashes: knownHashes))
    }

    var counts: [ManifestEntry.Status: Int] { state.withLock { $0.counts } }

    private func record(_ entries: [ManifestEntry], onDone: @Sendable (Int) -> Void) throws {
        try manifest.append(entries)
        state.withLock { s in for e in entries { s.counts[e.status, default: 0] += 1 } }
        onDone(entries.count)
    }

    func send(_ prints: [FileFingerprint], onDone: @escaping @Sendable (Int) -> Void) async throws {
        // Not images, and bytes seen before in this archive: recorded, never sent.
        var works: [(file: String, work: Work)] = []
        var immediate: [ManifestEntry] = []
        for p in prints {
            switch p.result {
            case .failure(let e):
                immediate.append(ManifestEntry(file: p.file, status: .notAnImage, error: e.message))
            case .success(let fp):
                let hash = fp.contentHash.hex
                let first: String? = state.withLock { s in
                    if let f = s.knownHashes[hash] { return f }
                    s.knownHashes[hash] = p.file
                    return nil
                }
                if let first {
                    immediate.append(ManifestEntry(file: p.file, status: .duplicate, contentHash: hash, duplicateOf: first))
                    continue
                }
                let title = ((p.file as NSString).lastPathComponent as NSString).deletingPathExtension
                works.append((p.file, Work(contentHash: fp.contentHash, imageCode: fp.imageCode, title: String(title.prefix(200)),
                                           mediaType: fp.mediaType, width: UInt32(clamping: fp.width),
                                           height: UInt32(clamping: fp.height), license: license)))
            }
        }
        try record(immediate, onDone: onDone)
        // What the chain already holds is recorded, not sent: a batch applies all its items or none.
        works = try await unregistered(works, onDone: onDone)
        let sizes = works.map { $0.work.encoded.count }
        for range in WorkBatches.cut(itemBytes: sizes, overhead: overhead, maxTxBytes: info.maxTxBytes, maxItems: batchSize) {
            try await sendBatch(Array(works[range]), onDone: onDone)
        }
    }

    /// Looks each work up on the chain (a few at a time); records those registered and returns the rest.
    private func unregistered(_ works: [(file: String, work: Work)], onDone: @escaping @Sendable (Int) -> Void) async throws
    -> [(file: String, work: Work)] {
        let lookupsAtOnce = 8
        var answers = [JSONValue?](repeating: nil, count: works.count)
        try await withThrowingTaskGroup(of: (Int, JSONValue?).self) { group in
            var next = 0
            func start() {
                let i = next, hash = works[i].work.contentHash.hex, client = self.client
                next += 1
                group.addTask {
                    do { return (i, try await client.get("/v1/works/\(hash)")) } catch let f as APIClient.Failure where f.status == 404 {
                        return (i, nil)
                    }
                }
            }
            while next < min(lookupsAtOnce, works.count) { start() }
            while let (i, answer) = try await group.next() {
                answers[i] = answer
                if next < works.count { start() }
            }
        }
        var left: [(file: String, work: Work)] = [], found: [ManifestEntry] = []
        for (w, answer) in zip(works, answers) {
            guard let answer else { left.append(w); continue }
            found.append(entry(for: w, registeredAs: answer))
        }
        try record(found, onDone: onDone)
        return left
    }

    private func entry(for w: (file: String, work: Work), registeredAs answer: JSONValue) -> ManifestEntry {
        func string(_ key: String) -> String? { if case .string(let s)? = answer[key] { s } else { nil } }
        func number(_ key: String) -> UInt64? { if case .number(let n)? = answer[key] { UInt64(n) } else { nil } }
        let hash = w.work.contentHash.hex, code = w.work.imageCode.map(ImageCode.hex)
        guard string("registrant") == key.publicKey.hex else {
            return ManifestEntry(file: w.file, status: .registeredByAnother, contentHash: hash, imageCode: code,
                                 txHash: string("txHash"), height: number("height"), registrant: string("registrant"))
        }
        return ManifestEntry(file: w.file, status: .alreadyRegistered, contentHash: hash, imageCode: code,
                             txHash: string("txHash"), item: number("batchIndex").map { Int(clamping: $0) },
                             height: number("height"))
    }

    private func sendBatch(_ batch: [(file: String, work: Work)], onDone: @escaping @Sendable (Int) -> Void) async throws {
        var batch = batch
        var lastFailure = ""
        for _ in 0..<Self.attemptsMax {
            guard !batch.isEmpty else { return }
            let nonce = try await client.nextNonce(key.publicKey)
            let tx = Tx(chainId: info.chainId, sender: key.publicKey, nonce: nonce,
                        payload: .registerWorkBatch(batch.map(\.work))).signed(by: key, genesisHash: info.genesisHash)
            let result = try await client.submit([tx]).first
            if let result, result.accepted {
                let final = try await client.waitForTx(tx.hash.hex, timeout: .seconds(120))
                if case .string("committed")? = final["status"] {
                    let height: UInt64? = if case .number(let h)? = final["height"] { UInt64(h) } else { nil }
                    try record(batch.enumerated().map { i, w in
                        ManifestEntry(file: w.file, status: .registered, contentHash: w.work.contentHash.hex,
                                      imageCode: w.work.imageCode.map(ImageCode.hex), txHash: tx.hash.hex, item: i, height: height)
                    }, onDone: onDone)
                    return
                }
                lastFailure = "rejected: \(final["error"].map { String(decoding: JSONWriter.write($0), as: UTF8.self) } ?? "?")"
            } else {
                lastFailure = "refused: \(result?.errorCode ?? "?"): \(result?.errorMessage ?? "no answer")"
                // A batch of an interrupted run may still be pending under this nonce: give it time.
                try await Task.sleep(for: .seconds(1))
            }
            // Whatever got registered meanwhile (this key's pending batch, or another key's) is
            // recorded; the rest is sent again.
            batch = try await unregistered(batch, onDone: onDone)
        }
        guard batch.isEmpty else {
            throw ValidationError("a batch of \(batch.count) works was not committed after \(Self.attemptsMax) attempts; last: \(lastFailure)")
        }
    }
}

/// One line of progress on standard error: counts, rate and ETA; rewritten in place on a terminal,
/// a new line every 5 s otherwise.
final class ProgressLine: Sendable {
    private struct State {
        var fingerprinted = 0, done = 0
        var lastPrint = ContinuousClock.now
    }
    private let total: Int
    private let label: String
    private let start = ContinuousClock.now
    private let isTerminal = isatty(2) != 0
    private let state = Mutex(State())

    init(total: Int, label: String) { self.total = total; self.label = label }

    func advance(fingerprinted: Int = 0, done: Int = 0) {
        let line: String? = state.withLock { s in
            s.fingerprinted += fingerprinted
            s.done += done
            let now = ContinuousClock.now
            guard now - s.lastPrint >= (isTerminal ? .milliseconds(200) : .seconds(5)) else { return nil }
            s.lastPrint = now
            return Self.text(total: total, label: label, fingerprinted: s.fingerprinted, done: s.done, elapsed: now - start)
        }
        if let line { write(line) }
    }

    func finish() {
        let s = state.withLock { $0 }
        write(Self.text(total: total, label: label, fingerprinted: s.fingerprinted, done: s.done,
                        elapsed: ContinuousClock.now - start))
        if isTerminal { note("") }
    }

    private func write(_ line: String) {
        if isTerminal { FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8)) } else { note(line) }
    }

    /// `[#####.....] 120/1000 files  fingerprinted 300  24.0/s  ETA 0:36`, the rate and ETA from
    /// the files recorded so far.
    static func text(total: Int, label: String, fingerprinted: Int, done: Int, elapsed: Duration) -> String {
        let width = 20
        let filled = total == 0 ? width : min(width, done * width / total)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let eta = rate > 0 ? Int((Double(total - done) / rate).rounded(.up)) : nil
        let etaText = eta.map { String(format: "%d:%02d", $0 / 60, $0 % 60) } ?? "-"
        return "[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] "
            + "\(done)/\(total) \(label)  fingerprinted \(fingerprinted)  \(String(format: "%.1f", rate))/s  ETA \(etaText)"
    }
}

/// A line on standard error.
func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
