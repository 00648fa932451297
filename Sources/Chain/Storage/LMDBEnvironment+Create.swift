import CLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LMDBEnvironment {
    /// Where a new `data.mdb` is made before it is renamed into the environment's directory.
    static let stagingDirectoryName = "data.mdb.new"

    /// Creates `data.mdb` in `directory`, if it is missing, whole or not at all. LMDB writes a new file's two meta
    /// pages without syncing them, so a power cut during a node's first start could leave a
    /// `data.mdb` that LMDB refuses for good (`MDB_INVALID`). Here LMDB makes the file in a staging
    /// directory; it is synced, renamed into place and its name synced. A staging directory a crash
    /// left behind is discarded: nothing was ever committed to it.
    static func prepareDataFile(in directory: String, mapSizeBytes: Int) throws {
        let staging = directory + "/" + stagingDirectoryName
        for name in ["data.mdb", "lock.mdb"] { unlink(staging + "/" + name) }
        guard rmdir(staging) == 0 || errno == ENOENT else { throw DirectorySync.ioError("remove \(staging)") }
        guard access(directory + "/data.mdb", F_OK) != 0 else { return }
        guard mkdir(staging, 0o700) == 0 else { throw DirectorySync.ioError("create \(staging)") }
        var created: OpaquePointer?
        try check(mdb_env_create(&created), "mdb_env_create (new data file)")
        guard let raw = created else { throw StoreError(.io, "mdb_env_create returned no environment") }
        do {
            try check(mdb_env_set_mapsize(raw, mapSizeBytes), "mdb_env_set_mapsize (new data file)")
            try check(mdb_env_open(raw, staging, 0, mdb_mode_t(StoreLimits.fileMode)), "mdb_env_open \(staging)")
            try check(mdb_env_sync(raw, 1), "mdb_env_sync (new data file)")
            DiskSyncs.count(.lmdbEnvironment)
        } catch {
            mdb_env_close(raw)
            throw error
        }
        mdb_env_close(raw)
        guard rename(staging + "/data.mdb", directory + "/data.mdb") == 0 else {
            throw DirectorySync.ioError("rename \(staging)/data.mdb into \(directory)")
        }
        unlink(staging + "/lock.mdb")
        rmdir(staging)
        try DirectorySync.sync(directory)
    }
}
