#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Makes directory entries durable. A file's fsync does not make its name durable, nor does a new
/// directory's: only an fsync of the directory holding the entry does (fsync(2)). Without it a
/// power cut can take a synced file, or a whole data directory, away.
enum DirectorySync {
    /// fsyncs `directory`. (A file system that cannot sync a directory, EINVAL, has nothing more
    /// to do.)
    static func sync(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open \(directory) to sync it") }
        defer { close(fd) }
        guard fsync(fd) == 0 || errno == EINVAL else { throw ioError("fsync \(directory)") }
        DiskSyncs.count(.directory)
    }

    /// fsyncs `directory` and every directory above it, so its own entry is durable however many of
    /// them were just created (the node creates its data directory with its missing parents).
    /// Ancestors this process may not read (EACCES) it did not create, and they are skipped.
    static func syncWithAncestors(_ directory: String) throws {
        guard let resolved = realpath(directory, nil) else { throw ioError("resolve \(directory)") }
        var path = String(cString: resolved)
        free(resolved)
        try sync(path)
        while path != "/" {
            path = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "/"
            do {
                try sync(path)
            } catch let error as StoreError where error.status == EACCES || error.status == EPERM {
                continue
            }
        }
    }

    static func ioError(_ what: String) -> StoreError {
        let code = errno
        return StoreError(.io, "\(what): \(String(cString: strerror(code)))", status: code)
    }
}
