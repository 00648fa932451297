import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock (`flock`) on a node's data directory itself, held while its store is
/// open. A second `totemd start` on the same home is refused at once, naming the directory, instead
/// of opening the store and the signing-state files beside the first process (LMDB would allow it,
/// and two processes signing with one key's state is how double signs happen). The kernel drops the
/// lock when the process dies, however it dies. Read-only openers (`totemd backup`) do not take it.
final class DirectoryLock: Sendable {
    private let fd: Mutex<Int32?>

    /// Creates `directory` if it is missing (mode 0700, its parent must exist) and locks it; throws
    /// `.alreadyOpen` if another process (or another store in this one) holds the lock.
    init(_ directory: String) throws {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw DirectorySync.ioError("create \(directory)")
        }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DirectorySync.ioError("open \(directory) to lock it") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let error = busy
                ? StoreError(.alreadyOpen, "the data directory \(directory) is in use by another process "
                             + "(is a node already running from this home?)")
                : DirectorySync.ioError("lock \(directory)")
            close(fd)
            throw error
        }
        self.fd = Mutex(fd)
    }

    /// Releases the lock (once; later calls do nothing).
    func release() {
        fd.withLock { fd in
            if let open = fd { close(open) }
            fd = nil
        }
    }

    deinit { release() }
}
