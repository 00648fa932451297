#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import TotemCrypto

/// The file-system side of key files, on POSIX calls because the guarantees are in the details:
/// the permission check is made on the opened descriptor (no window between checking and
/// reading), and a written key file is never visible half-written or, even briefly, readable by
/// anyone but its owner.
enum KeyFileIO {
    /// The bytes of the private file at `path`, refusing any file that group or others may access.
    static func readPrivate(path: String, maxBytes: Int) throws(KeyFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw KeyFileError(e == ENOENT ? .notFound : .unreadable, "cannot open key file \(path): \(describe(e))")
        }
        defer { close(fd) }
        var st = stat()
        if let e = failed(fstat(fd, &st)) {
            throw KeyFileError(.unreadable, "cannot stat key file \(path): \(describe(e))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw KeyFileError(.unreadable, "key file \(path) is not a regular file")
        }
        let mode = st.st_mode & 0o7777
        guard mode & 0o077 == 0 else {
            throw KeyFileError(.insecurePermissions, "key file \(path) has mode \(octal(mode)), so group or "
                               + "others may access it; a key file must have mode 0600 (chmod 600 \(path))")
        }
        guard Int(st.st_size) <= maxBytes else {
            throw KeyFileError(.malformed, "key file \(path) is \(st.st_size) bytes; a key file is at most \(maxBytes)")
        }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: maxBytes + 1)
        while true {
            // Read until EOF, not just st_size bytes: the size could change under us.
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                throw KeyFileError(.unreadable, "cannot read key file \(path): \(describe(e))")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= maxBytes else {
                throw KeyFileError(.malformed, "key file \(path) is over \(maxBytes) bytes")
            }
        }
        return out
    }

    /// Writes `bytes` to `path` with mode 0600, atomically: a temporary file in the same
    /// directory is created with O_EXCL and mode 0600, written, synced and then moved into place,
    /// and the directory is synced. An existing file at `path` is replaced only if `overwrite`.
    static func writePrivate(path: String, bytes: [UInt8], overwrite: Bool) throws(KeyFileError) {
        let (dir, base) = split(path)
        guard !base.isEmpty, base != ".", base != ".." else {
            throw KeyFileError(.writeFailed, "\(path) is not a file path")
        }
        let temp = "\(dir)/.\(base).tmp-\(randomSuffix())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
        guard fd >= 0 else {
            let e = errno
            throw KeyFileError(.writeFailed, "cannot create a file in \(dir) for key file \(path): \(describe(e))")
        }
        var isOpen = true
        do throws(KeyFileError) {
            // open applied the umask; fchmod makes the mode exactly 0600 whatever the umask is.
            if let e = failed(fchmod(fd, mode_t(0o600))) { throw writeError("set the mode of \(temp)", e) }
            try writeAll(fd, bytes, temp)
            if let e = failed(fsync(fd)) { throw writeError("sync \(temp)", e) }
            isOpen = false
            // After a failed close the descriptor is gone anyway (Linux), so it is never retried.
            if let e = failed(close(fd)) { throw writeError("close \(temp)", e) }
            try moveIntoPlace(temp, path, overwrite: overwrite)
        } catch {
            if isOpen { _ = close(fd) }
            _ = unlink(temp)
            throw error
        }
        try syncDirectory(dir, for: path)
    }

    /// Renames `temp` to `path`; without `overwrite`, hard-links instead, which fails on an
    /// existing `path` atomically, then drops the temporary name.
    private static func moveIntoPlace(_ temp: String, _ path: String, overwrite: Bool) throws(KeyFileError) {
        if overwrite {
            if let e = failed(rename(temp, path)) { throw writeError("rename \(temp) to \(path)", e) }
            return
        }
        guard let e = failed(link(temp, path)) else {
            _ = unlink(temp)
            return
        }
        if e == EEXIST {
            throw KeyFileError(.alreadyExists, "key file \(path) already exists; refusing to replace it")
        }
        // Some file systems have no hard links: check, then rename (racy, but only against
        // someone creating the same path at the same instant).
        guard e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == ENOSYS else {
            throw writeError("link \(temp) to \(path)", e)
        }
        var st = stat()
        guard lstat(path, &st) != 0 else {
            throw KeyFileError(.alreadyExists, "key file \(path) already exists; refusing to replace it")
        }
        if let e = failed(rename(temp, path)) { throw writeError("rename \(temp) to \(path)", e) }
    }

    /// Makes the new directory entry durable: without this a crash can lose a synced file's name.
    private static func syncDirectory(_ dir: String, for path: String) throws(KeyFileError) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw writeError("open \(dir) to sync it after writing \(path)", e)
        }
        defer { close(fd) }
        // Some file systems cannot sync a directory (EINVAL); there is nothing more to do there.
        if let e = failed(fsync(fd)), e != EINVAL {
            throw writeError("sync \(dir) after writing \(path)", e)
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ name: String) throws(KeyFileError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                throw writeError("write \(name)", e)
            }
            offset += n
        }
    }

    /// errno if `rc` reports a failure. Read at once: building a message can change errno.
    @inline(__always)
    private static func failed(_ rc: Int32) -> Int32? {
        rc == 0 ? nil : errno
    }

    private static func writeError(_ what: String, _ e: Int32) -> KeyFileError {
        KeyFileError(.writeFailed, "cannot \(what): \(describe(e))")
    }

    /// Directory and last component of `path` ("." for a bare file name).
    private static func split(_ path: String) -> (dir: String, base: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// 16 random hex digits, so concurrent writers never pick the same temporary name.
    private static func randomSuffix() -> String {
        Hex.encode(SecureRandom.bytes(8))
    }

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func describe(_ e: Int32) -> String {
        guard let s = strerror(e) else { return "error \(e)" }
        return "\(String(cString: s)) (errno \(e))"
    }
}
