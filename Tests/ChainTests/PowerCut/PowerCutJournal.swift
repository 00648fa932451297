/// One operation the LD_PRELOAD shim (powercut_journal.c) journaled, in the order it took effect.
/// Paths are relative to the journaled root ("" is the root itself); an inode names a file the
/// process opened or created under the root.
enum JournalOp: Equatable, Sendable {
    case create(path: String, inode: UInt64)
    /// An existing file opened: binds the inode to the file at `path`.
    case open(path: String, inode: UInt64)
    /// `durable`: written through O_DSYNC (durable when the call returned).
    case write(inode: UInt64, offset: Int, bytes: [UInt8], durable: Bool)
    case truncate(inode: UInt64, size: Int)
    /// fsync or fdatasync of a file (both make its data and size durable).
    case fsync(inode: UInt64)
    /// fsync of a directory: its entries become durable.
    case dirsync(path: String)
    case rename(from: String, to: String)
    case unlink(path: String)
    case mkdir(path: String)
    /// A line (or lines) the child wrote to its report file.
    case note(String)
    /// A shared writable mapping of a journaled file: writes through it are not journaled.
    case mapShared(inode: UInt64)
    /// sync() or syncfs(): everything becomes durable.
    case syncAll
    case unsupported(String)
}

enum PowerCutJournal {
    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses a journal: `op u8 | inode u64 | a u64 | path | path2 | data`, strings and data
    /// length-prefixed (u32, u64), little-endian.
    static func parse(_ bytes: [UInt8]) throws -> [JournalOp] {
        var ops: [JournalOp] = []
        var at = 0
        func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, bytes.count - at >= count else { throw FormatError(description: "journal ends inside a record at \(at)") }
            defer { at += count }
            return bytes[at..<at + count]
        }
        func int(_ width: Int) throws -> UInt64 {
            try take(width).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        func string() throws -> String { String(decoding: try take(Int(try int(4))), as: UTF8.self) }
        while at < bytes.count {
            let op = try take(1).first ?? 0
            let inode = try int(8), a = try int(8)
            let path = try string(), path2 = try string()
            let data = Array(try take(Int(try int(8))))
            switch op {
            case 1: ops.append(.create(path: path, inode: inode))
            case 2: ops.append(.open(path: path, inode: inode))
            case 3: ops.append(.write(inode: inode, offset: Int(a >> 1), bytes: data, durable: a & 1 == 1))
            case 4: ops.append(.truncate(inode: inode, size: Int(a)))
            case 5: ops.append(.fsync(inode: inode))
            case 6: ops.append(.dirsync(path: path))
            case 7: ops.append(.rename(from: path, to: path2))
            case 8: ops.append(.unlink(path: path))
            case 9: ops.append(.mkdir(path: path))
            case 10: ops.append(.note(String(decoding: data, as: UTF8.self)))
            case 11: ops.append(.mapShared(inode: inode))
            case 12: ops.append(.syncAll)
            case 13: ops.append(.unsupported("\(path2): \(path)"))
            default: throw FormatError(description: "unknown journal op \(op) at \(at)")
            }
        }
        return ops
    }
}
