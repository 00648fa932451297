import CLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The valid records of a slot-file pair, read without writing to it.
public struct SlotRecords: Sendable, Equatable {
    /// The payloads of the valid records (the empty creation record excluded), oldest first: at
    /// most two.
    public let payloads: [[UInt8]]
    /// A slot that held no valid record while the other one did (see `SlotDamage`).
    public let damage: SlotDamage?
    /// The newest record's payload; nil when none was ever written.
    public var newest: [UInt8]? { payloads.last }
}

/// The files of a node's data directory, copied while the node runs (`totemd backup`,
/// docs/ops/backup.md) and put back (`totemd backup restore`).
///
/// How a backup reaches a running node's store. The node takes no exclusive lock of its data
/// directory: LMDB's `lock.mdb` is shared by every process that opens the environment (that is
/// what it is for), and `OpenDirectories` refuses a second opener only inside one process. So a
/// second process, the backup, opens the environment itself, read-only (`MDB_RDONLY`): it takes a
/// reader slot in `lock.mdb` and never the writer lock. A loopback admin endpoint on the node was
/// the other way; it would put a long file transfer and a new privileged surface inside the node,
/// for no gain in consistency, since LMDB gives a second process the same snapshot isolation.
/// `mdb_env_copyfd2` with `MDB_CP_COMPACT` walks the B-trees of one read transaction: the copy is
/// the store at one committed block, whatever the node commits meanwhile, and omits free pages.
/// A read transaction does not block the node's writer; it only keeps the pages of its snapshot
/// from being reused while it lasts, so the node's `data.mdb` may grow by what it writes during
/// the copy.
///
/// Consistency with the slot files. The node syncs a block to LMDB before any signing-state record
/// of a later height and before the decided-block record that overwrites the one two blocks back
/// (`ChainStore`). A backup reads in the opposite order (signing state, then the decided-block
/// log, then the LMDB snapshot), so the copied store holds every block the copied records imply
/// or the copied log holds it: the same relation a crash leaves, which a starting node accepts.
public enum StoreBackup {
    /// The LMDB data file of an environment directory (`lock.mdb` is never copied).
    public static let dataFileName = "data.mdb"

    /// The valid records of the `kind` slot files in `directory`, read without writing (the node
    /// may be writing them at the same time: a slot caught mid-write fails its checksum and is read
    /// again, `StoreLimits.slotReadAttemptsMax` times at most). Nil when the files were never
    /// created; throws `.corrupted` when neither slot holds a valid record.
    public static func readSlots(_ kind: SlotKind, in directory: String) throws -> SlotRecords? {
        let paths = kind.fileNames.map { directory + "/" + $0 }
        // Without `.a` the pair was never (completely) created: the node starts it afresh.
        guard access(paths[0], F_OK) == 0 else { return nil }
        var attempt = 1
        while true {
            var records: [(sequence: UInt64, payload: [UInt8])] = []
            var invalid: [String] = []
            for (path, name) in zip(paths, kind.fileNames) {
                if let record = try readRecord(path, kind) { records.append(record) } else { invalid.append(name) }
            }
            if invalid.isEmpty || attempt >= StoreLimits.slotReadAttemptsMax {
                records.sort { $0.sequence < $1.sequence }
                guard let newest = records.last else {
                    throw StoreError(.corrupted, "neither \(kind.fileNames[0]) nor \(kind.fileNames[1]) in \(directory) "
                                     + "holds a valid record (\(kind.holds))")
                }
                let damage = invalid.first.map { SlotDamage(directory: directory, slot: $0, survivingSequence: newest.sequence) }
                return SlotRecords(payloads: records.filter { $0.sequence > 0 }.map(\.payload), damage: damage)
            }
            attempt += 1
            usleep(StoreLimits.slotReadRetryMicroseconds)
        }
    }

    private static func readRecord(_ path: String, _ kind: SlotKind) throws -> (sequence: UInt64, payload: [UInt8])? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw DirectorySync.ioError("open \(path)")
        }
        defer { close(fd) }
        return try SlotFile.readRecord(fd, maxPayloadBytes: kind.maxPayloadBytes)
    }

    /// Creates the `kind` slot files in `directory` (which must not hold them yet) and writes
    /// `payloads` in order, so the last one is the newest record. Each write is synced.
    public static func writeSlots(_ kind: SlotKind, in directory: String, payloads: [[UInt8]]) throws {
        precondition(payloads.count <= 2, "a slot-file pair keeps two records")
        for name in kind.fileNames where access(directory + "/" + name, F_OK) == 0 {
            throw StoreError(.io, "\(directory)/\(name) already exists")
        }
        let file = try SlotFile(directory: directory, kind: kind)
        for payload in payloads { try file.write(payload) }
    }

    /// Writes a compacted copy of the LMDB environment in `directory` to the new file `path` (mode
    /// 0600, synced), from one read transaction of a read-only handle: safe while a node has the
    /// environment open and commits (see the type's comment). Returns the copy's size in bytes.
    @discardableResult
    public static func copyCompacting(environment directory: String, to path: String) throws -> Int {
        guard access(directory + "/" + dataFileName, R_OK) == 0 else {
            throw StoreError(.io, "\(directory) holds no readable \(dataFileName): not a node's data directory")
        }
        let claim = try OpenDirectories.claim(directory)
        defer { OpenDirectories.release(claim) }
        var created: OpaquePointer?
        try check(mdb_env_create(&created), "mdb_env_create")
        guard let env = created else { throw StoreError(.io, "mdb_env_create returned no environment") }
        defer { mdb_env_close(env) }
        try check(mdb_env_set_maxdbs(env, StoreLimits.databasesMax), "mdb_env_set_maxdbs")
        try check(mdb_env_set_maxreaders(env, StoreLimits.readersMax), "mdb_env_set_maxreaders")
        // Address space only (a read-only map never extends the file): as large as the node's
        // map may ever grow, so a growth during the copy cannot end it with MDB_MAP_RESIZED.
        try check(mdb_env_set_mapsize(env, StoreLimits.mapSizeMaxBytes), "mdb_env_set_mapsize")
        try check(mdb_env_open(env, directory, UInt32(MDB_RDONLY) | UInt32(MDB_NOTLS), mdb_mode_t(StoreLimits.fileMode)),
                  "mdb_env_open \(directory) (read-only)")
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(StoreLimits.fileMode))
        guard fd >= 0 else { throw DirectorySync.ioError("create \(path)") }
        defer { close(fd) }
        try check(mdb_env_copyfd2(env, fd, UInt32(MDB_CP_COMPACT)), "copy \(directory)/\(dataFileName) to \(path)")
        guard fsync(fd) == 0 else { throw DirectorySync.ioError("fsync \(path)") }
        let size = lseek(fd, 0, SEEK_END)
        guard size >= 0 else { throw DirectorySync.ioError("size of \(path)") }
        return Int(size)
    }

    /// fsyncs `directory`, making the names of the files just created in it durable.
    public static func syncDirectory(_ directory: String) throws {
        try DirectorySync.sync(directory)
    }
}
