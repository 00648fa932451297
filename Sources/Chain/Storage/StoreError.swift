import CLMDB
import TotemCrypto

/// An error of the LMDB store: a stable code for programs and a message (with LMDB's own error
/// string where LMDB reported it) for people.
public struct StoreError: CodedError, Equatable {
    /// Stable error codes. The raw values are part of the node's contract (logs, API mapping).
    public enum Code: String, Sendable, Equatable {
        /// The map is full and may not grow further (`StoreLimits.mapSizeMaxBytes`).
        case mapFull = "map_full"
        /// A key is empty or longer than LMDB's maximum key size.
        case invalidKey = "invalid_key"
        /// A value is too large for LMDB (`MDB_BAD_VALSIZE`).
        case invalidValue = "invalid_value"
        /// A database name was not declared when the environment was opened.
        case unknownDatabase = "unknown_database"
        /// Too many concurrent read transactions (`MDB_READERS_FULL`).
        case readersFull = "readers_full"
        /// The files are damaged (a record fails its checksum, a block below the tip is missing
        /// or does not match its certificate) or not an LMDB environment of a compatible version.
        case corrupted = "corrupted"
        /// A stored record does not have the layout its database promises.
        case malformedRecord = "malformed_record"
        /// A block commit that does not extend the stored chain (height, parent, state root,
        /// certificate height) or repeats a transaction.
        case invalidCommit = "invalid_commit"
        /// The store belongs to another chain (its genesis hash differs).
        case wrongChain = "wrong_chain"
        /// The store was written with a schema version this build does not read.
        case unsupportedSchema = "unsupported_schema"
        /// Environment options out of range (e.g. an initial map size above the maximum).
        case invalidOptions = "invalid_options"
        /// The environment's directory is already open in this process.
        case alreadyOpen = "already_open"
        /// A write failed because the file system holding the store is out of space.
        case diskFull = "disk_full"
        /// The store (or its writer) is shut down.
        case closed = "closed"
        /// Any other failure reported by LMDB or the operating system.
        case io = "io"
    }

    public let code: Code
    public let message: String
    /// The LMDB or errno status behind the error, when there is one.
    public let status: Int32?

    public init(_ code: Code, _ message: String, status: Int32? = nil) {
        self.code = code
        self.message = message
        self.status = status
    }

    /// Maps a non-zero LMDB return code to an error, naming the operation that failed.
    static func lmdb(_ status: Int32, _ operation: String) -> StoreError {
        let text = String(cString: mdb_strerror(status))
        let code: Code
        switch status {
        case MDB_MAP_FULL: code = .mapFull
        case MDB_BAD_VALSIZE: code = .invalidValue
        case MDB_READERS_FULL: code = .readersFull
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH: code = .corrupted
        default: code = .io
        }
        return StoreError(code, "\(operation): \(text)", status: status)
    }
}

/// Throws a `StoreError` unless `status` is `MDB_SUCCESS`.
@inline(__always)
func check(_ status: Int32, _ operation: @autoclosure () -> String) throws(StoreError) {
    if status != MDB_SUCCESS { throw StoreError.lmdb(status, operation()) }
}
