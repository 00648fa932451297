import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The environment directories open in this process.
///
/// LMDB must not open one environment twice in a process: closing the second handle drops the
/// first one's POSIX file locks, and the two handles' reader tables disagree, so a writer may reuse
/// pages a reader still sees. Nothing in LMDB reports it; this registry turns it into an error.
enum OpenDirectories {
    private static let open = Mutex<Set<String>>([])

    /// Claims `directory` (by its resolved path); throws if this process already has it open.
    static func claim(_ directory: String) throws -> String {
        let key = resolved(directory)
        let claimed = open.withLock { $0.insert(key).inserted }
        guard claimed else {
            throw StoreError(.alreadyOpen, "environment \(key) is already open in this process")
        }
        return key
    }

    static func release(_ key: String) {
        _ = open.withLock { $0.remove(key) }
    }

    private static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }
}
