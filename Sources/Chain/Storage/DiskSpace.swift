#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Free and total space of the file system holding a path (`statvfs`).
public struct DiskSpace: Sendable, Equatable, CustomStringConvertible {
    /// Bytes an unprivileged process may still write (`f_bavail`).
    public let freeBytes: UInt64
    public let totalBytes: UInt64

    /// The space of the file system holding `path`; nil if `statvfs` fails.
    public static func of(path: String) -> DiskSpace? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        let unit = UInt64(s.f_frsize)
        return DiskSpace(freeBytes: UInt64(s.f_bavail) * unit, totalBytes: UInt64(s.f_blocks) * unit)
    }

    public var description: String { "\(freeBytes) bytes free of \(totalBytes)" }
}

extension StoreError {
    /// `self`, or a `.diskFull` error saying so when `self` is an I/O failure on a file system
    /// that is out of space: `ENOSPC` or `EDQUOT`, or (LMDB turns a short write into `EIO`) less
    /// than `StoreLimits.diskFullFreeBytes` free.
    public func namingFullDisk(directory: String) -> StoreError {
        guard code == .io else { return self }
        let space = DiskSpace.of(path: directory)
        let outOfSpace = status == ENOSPC || status == EDQUOT
            || space.map { $0.freeBytes < UInt64(StoreLimits.diskFullFreeBytes) } ?? false
        guard outOfSpace else { return self }
        return StoreError(.diskFull, "disk full: the file system holding \(directory) has "
                          + "\(space.map(\.description) ?? "an unknown number of bytes free") (\(message)); "
                          + "free space there or move the data directory to a larger disk, then restart the node",
                          status: status)
    }
}
