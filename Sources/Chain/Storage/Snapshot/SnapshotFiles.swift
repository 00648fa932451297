import ChainModel
import Foundation
import TotemCrypto
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The snapshots a node keeps beside its store (`<data>/snapshots/<height>/`), written from one
/// read transaction and served to state-syncing peers (docs/state-sync.md).
///
/// A snapshot directory holds `chunk-<i>` (the chunk encodings, `SnapshotChunk`), `leaves` (their
/// Merkle leaf hashes back to back, so a proof is built without reading every chunk again) and
/// `checkpoint` (`TCE(Checkpoint)`). It is written under `<height>.partial` and renamed when whole,
/// so a crash leaves either a complete snapshot or a partial directory that the next write of
/// that height, or `prune`, removes. Why files rather than a read transaction held open: a reader
/// pins every page of its snapshot, so the store would grow by all it writes for as long as the
/// snapshot is served (two checkpoint intervals).
public enum SnapshotFiles {
    static let partialSuffix = ".partial"
    static let leavesName = "leaves"
    static let checkpointName = "checkpoint"
    /// The checkpoint certificate, once the node has one (`saveCertificate`).
    static let certificateName = "certificate"

    static func chunkName(_ index: UInt32) -> String { "chunk-\(index)" }

    /// The directory of the snapshot of `height` under `base`.
    public static func directory(base: String, height: UInt64) -> String { "\(base)/\(height)" }

    /// Walks the snapshot tables (`SnapshotTable`, in id order, each in key order) through `txn`,
    /// the state right after the block at `height` (`blockHash`) was committed, cuts the entries
    /// into chunks of at most `chunkBytes` (whole entries; a single larger entry is a chunk alone)
    /// and writes them under `base`. Memory: one chunk and the leaf hashes. Returns the checkpoint
    /// the validators sign.
    public static func write(_ txn: ReadTxn, databases: StoreDatabases, chainId: String, height: UInt64,
                             blockHash: Bytes32, chunkBytes: Int, base: String) throws -> Checkpoint {
        precondition(chunkBytes > 0, "chunk size must be positive")
        try makeDirectory(base)
        let final = directory(base: base, height: height)
        let partial = final + partialSuffix
        try? FileManager.default.removeItem(atPath: partial)
        try makeDirectory(partial)
        do {
            return try write(txn, databases: databases, chainId: chainId, height: height, blockHash: blockHash,
                             chunkBytes: chunkBytes, base: base, partial: partial, final: final)
        } catch {
            // A failed walk removes what it wrote: on a full disk (the usual failure) its chunks
            // would otherwise hold the space the store needs until the next walk succeeds.
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    private static func write(_ txn: ReadTxn, databases: StoreDatabases, chainId: String, height: UInt64,
                              blockHash: Bytes32, chunkBytes: Int, base: String, partial: String,
                              final: String) throws -> Checkpoint {
        var leaves: [Bytes32] = []
        var current: [SnapshotEntry] = []
        var currentBytes = 4
        func flush() throws {
            guard !current.isEmpty else { return }
            guard leaves.count < Int(SnapshotLimits.chunkCountMax) else {
                throw StoreError(.io, "snapshot of height \(height) needs more than \(SnapshotLimits.chunkCountMax) chunks")
            }
            let encoded = SnapshotChunk.encode(current)
            try writeFile(partial + "/" + chunkName(UInt32(leaves.count)), encoded)
            leaves.append(Merkle.leafHash(encoded))
            current.removeAll(keepingCapacity: true)
            currentBytes = 4
        }
        for table in SnapshotTable.allCases {
            try txn.scan(table.database(databases)) { entry in
                guard entry.value.count <= SnapshotLimits.valueMaxBytes else {
                    throw StoreError(.io, "\(table.databaseName) holds a record of \(entry.value.count) bytes, "
                                     + "above the snapshot limit \(SnapshotLimits.valueMaxBytes)")
                }
                let size = SnapshotEntry.encodedBytes(keyCount: entry.key.count, valueCount: entry.value.count)
                if currentBytes + size > chunkBytes { try flush() }
                current.append(SnapshotEntry(table: table, key: entry.keyBytes, value: entry.valueBytes))
                currentBytes += size
                return true
            }
        }
        try flush()
        guard !leaves.isEmpty else { throw StoreError(.io, "the state of height \(height) is empty: nothing to snapshot") }
        var w = TCEWriter(capacity: 32 * leaves.count)
        for leaf in leaves { w.bytes32(leaf) }
        try writeFile(partial + "/" + leavesName, w.bytes)
        let checkpoint = Checkpoint(chainId: chainId, height: height, blockHash: blockHash,
                                    snapshotRoot: MerkleTree(leafHashes: leaves).root, chunkCount: UInt32(leaves.count))
        try writeFile(partial + "/" + checkpointName, checkpoint.encoded)
        try DirectorySync.sync(partial)
        try? FileManager.default.removeItem(atPath: final)
        guard rename(partial, final) == 0 else { throw DirectorySync.ioError("rename \(partial) to \(final)") }
        try DirectorySync.sync(base)
        return checkpoint
    }

    /// The heights of the complete snapshots under `base`, ascending (partial ones excluded).
    public static func heights(base: String) -> [UInt64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return names.compactMap { UInt64($0) }.sorted()
    }

    /// Keeps the newest `keep` complete snapshots under `base` and removes the others and any
    /// partial directory but the one of `writing` (a walk under way).
    public static func prune(base: String, keep: Int, writing: UInt64? = nil) {
        let complete = heights(base: base)
        for height in complete.dropLast(keep) {
            try? FileManager.default.removeItem(atPath: directory(base: base, height: height))
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for name in names where name.hasSuffix(partialSuffix) && name != writing.map({ "\($0)\(partialSuffix)" }) {
            try? FileManager.default.removeItem(atPath: base + "/" + name)
        }
    }

    /// The checkpoint of the snapshot of `height`.
    public static func checkpoint(base: String, height: UInt64) throws -> Checkpoint {
        let bytes = try readFile(directory(base: base, height: height) + "/" + checkpointName, maxBytes: 4096)
        do {
            var r = TCEReader(bytes)
            let checkpoint = try Checkpoint.decode(from: &r)
            try r.finish()
            return checkpoint
        } catch {
            throw StoreError(.malformedRecord, "snapshot \(height) checkpoint: \(error)")
        }
    }

    /// The leaf hashes of the snapshot of `height`, in chunk order.
    public static func leafHashes(base: String, height: UInt64) throws -> [Bytes32] {
        let bytes = try readFile(directory(base: base, height: height) + "/" + leavesName,
                                 maxBytes: 32 * Int(SnapshotLimits.chunkCountMax))
        guard bytes.count % 32 == 0, !bytes.isEmpty else {
            throw StoreError(.malformedRecord, "snapshot \(height) leaves: \(bytes.count) bytes, not a list of hashes")
        }
        return stride(from: 0, to: bytes.count, by: 32).map { Bytes32(Array(bytes[$0..<$0 + 32]))! }
    }

    /// The encoding of chunk `index` of the snapshot of `height`.
    public static func chunk(base: String, height: UInt64, index: UInt32) throws -> [UInt8] {
        try readFile(directory(base: base, height: height) + "/" + chunkName(index), maxBytes: SnapshotLimits.chunkMaxBytes)
    }

    /// Stores the checkpoint certificate of the snapshot of `height` (replacing an earlier one).
    public static func saveCertificate(_ certificate: CheckpointCertificate, base: String) throws {
        let dir = directory(base: base, height: certificate.checkpoint.height)
        let tmp = dir + "/" + certificateName + ".tmp"
        try? FileManager.default.removeItem(atPath: tmp)
        try writeFile(tmp, certificate.encoded)
        guard rename(tmp, dir + "/" + certificateName) == 0 else { throw DirectorySync.ioError("rename \(tmp)") }
        try DirectorySync.sync(dir)
    }

    /// The stored checkpoint certificate of the snapshot of `height`; nil when there is none yet.
    public static func certificate(base: String, height: UInt64) throws -> CheckpointCertificate? {
        let path = directory(base: base, height: height) + "/" + certificateName
        guard access(path, F_OK) == 0 else { return nil }
        let bytes = try readFile(path, maxBytes: 4096 + 100 * Limits.validatorsMaxCount)
        do {
            return try CheckpointCertificate.decode(bytes)
        } catch {
            throw StoreError(.malformedRecord, "snapshot \(height) certificate: \(error)")
        }
    }

    // MARK: Files

    private static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw DirectorySync.ioError("create \(path)") }
    }

    /// Writes `bytes` to the new file `path` (mode 0600) and syncs it.
    private static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(StoreLimits.fileMode))
        guard fd >= 0 else { throw DirectorySync.ioError("create \(path)") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            guard n > 0 else { throw DirectorySync.ioError("write \(path)") }
            written += n
        }
        guard fsync(fd) == 0 else { throw DirectorySync.ioError("fsync \(path)") }
    }

    private static func readFile(_ path: String, maxBytes: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DirectorySync.ioError("open \(path)") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            guard n >= 0 else { throw DirectorySync.ioError("read \(path)") }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
            guard out.count <= maxBytes else {
                throw StoreError(.malformedRecord, "\(path) is larger than \(maxBytes) bytes")
            }
        }
    }
}
