import ChainModel
import Foundation
import Storage
import TotemCrypto
#if canImport(Glibc)
import Glibc
#endif

/// Every bound of `totemd backup`.
enum BackupLimits {
    /// Largest `backup.json` read.
    static let manifestMaxBytes = 1 << 20
    /// Bytes read or written at a time when hashing or copying a file: what a backup holds in memory
    /// beside one slot record.
    static let copyChunkBytes = 1 << 20
    /// Heights above a running node's tip that a restored validator without its own signing state
    /// stays silent through (`backup restore --api`): the heights it may have voted at before it
    /// was lost are at most one above the highest decided, and the node asked may lag the others.
    static let fenceMarginHeights: UInt64 = 16
}

/// `backup.json`: what a backup holds and where it comes from (docs/ops/backup.md).
struct BackupManifest: Codable, Equatable {
    static let formatName = "totem-backup/1"
    static let fileName = "backup.json"

    struct File: Codable, Equatable {
        let name: String
        let bytes: Int
        let sha256: String
    }

    var format = BackupManifest.formatName
    let chainId: String
    let genesisHash: String
    /// The copied store's tip: the last block's height and hash, and the state root after it.
    let height: UInt64
    let blockHash: String
    let stateRoot: String
    /// The public key of the node the backup was taken from (its signing state is that key's).
    let nodePublicKey: String
    let createdAtMs: UInt64
    /// The files, with their sizes and SHA-256: `data.mdb` and the slot files.
    let files: [File]

    /// Every file a backup holds, in the order listed.
    static let fileNames = [StoreBackup.dataFileName] + SlotKind.allCases.flatMap(\.fileNames)

    static func read(directory: String) throws -> BackupManifest {
        let path = directory + "/" + fileName
        let bytes = try BackupFiles.readSmall(path, maxBytes: BackupLimits.manifestMaxBytes)
        let manifest: BackupManifest
        do {
            manifest = try JSONDecoder().decode(BackupManifest.self, from: Data(bytes))
        } catch {
            throw BackupError("\(path) is not a backup manifest: \(error)")
        }
        guard manifest.format == formatName else {
            throw BackupError("\(path) has format \(manifest.format); this build reads \(formatName)")
        }
        return manifest
    }

    /// Writes the manifest into `directory` (mode 0600) through a temporary file renamed into place.
    func write(directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self) + Data("\n".utf8)
        let path = directory + "/" + Self.fileName
        try BackupFiles.writeNew(path + ".tmp", Array(data))
        guard rename(path + ".tmp", path) == 0 else { throw BackupFiles.posixError("rename \(path).tmp") }
        try StoreBackup.syncDirectory(directory)
    }
}

/// A failure of `totemd backup`, printed as it is.
struct BackupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// File chores of backups: bounded reads, streamed hashing and copying, modes.
enum BackupFiles {
    /// Size and SHA-256 of the file at `path`, read `BackupLimits.copyChunkBytes` at a time.
    static func digest(_ path: String) throws -> BackupManifest.File {
        try stream(from: path, to: nil)
    }

    /// Copies `source` to the new file `target` (mode 0600, synced) and returns the size and
    /// SHA-256 of what it copied.
    static func copy(_ source: String, to target: String) throws -> BackupManifest.File {
        let out = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw posixError("create \(target)") }
        defer { close(out) }
        let file = try stream(from: source, to: (out, target))
        guard fsync(out) == 0 else { throw posixError("fsync \(target)") }
        return file
    }

    private static func stream(from path: String, to target: (fd: Int32, path: String)?) throws -> BackupManifest.File {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw posixError("open \(path)") }
        defer { close(fd) }
        var hasher = Hasher256()
        var buffer = [UInt8](repeating: 0, count: BackupLimits.copyChunkBytes)
        var total = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw posixError("read \(path)") }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(raw: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            if let target { try writeAll(target.fd, buffer[0..<n], name: target.path) }
            total += n
        }
        return BackupManifest.File(name: (path as NSString).lastPathComponent, bytes: total, sha256: hasher.finalize().hex)
    }

    /// Reads a whole file of at most `maxBytes`.
    static func readSmall(_ path: String, maxBytes: Int) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BackupError("cannot read \(path)") }
        defer { try? handle.close() }
        let data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        guard data.count <= maxBytes else { throw BackupError("\(path) is larger than \(maxBytes) bytes") }
        return Array(data)
    }

    /// Writes `bytes` to the new file `path` (mode 0600) and syncs it.
    static func writeNew(_ path: String, _ bytes: [UInt8]) throws {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw posixError("create \(path)") }
        defer { close(fd) }
        try writeAll(fd, bytes[...], name: path)
        guard fsync(fd) == 0 else { throw posixError("fsync \(path)") }
    }

    private static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, name: String) throws {
        var done = bytes.startIndex
        while done < bytes.endIndex {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + (done - bytes.startIndex), bytes.endIndex - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw posixError("write \(name)") }
            done += n
        }
    }

    /// Makes `path` a new directory of mode 0700, or takes an empty one (setting its mode);
    /// refuses anything else, so a backup never mixes with other files.
    static func makeEmptyDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw BackupError("\(path) exists and is not a directory") }
            let entries = try FileManager.default.contentsOfDirectory(atPath: path)
            guard entries.isEmpty else {
                throw BackupError("\(path) exists and is not empty (\(entries.count) entries): give a new or empty directory")
            }
            guard chmod(path, 0o700) == 0 else { throw posixError("chmod \(path)") }
        } else {
            guard mkdir(path, 0o700) == 0 else { throw posixError("create \(path)") }
        }
    }

    static func posixError(_ what: String) -> BackupError {
        BackupError("\(what): \(String(cString: strerror(errno)))")
    }
}
