import CLMDB
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A named database of an environment, opened once when the environment opens and valid for its
/// whole life (LMDB's `MDB_dbi`).
public struct Database: Sendable, Hashable, CustomStringConvertible {
    /// The name the database was opened with.
    public let name: String
    let dbi: MDB_dbi
    public var description: String { name }
}

/// The `MDB_env` pointer, shared by all threads.
///
/// Why `@unchecked Sendable` is sound: LMDB documents an `MDB_env` as usable from any thread. The
/// environment is opened with `MDB_NOTLS`, so read transactions are not tied to the thread that
/// began them; each write transaction is begun and committed or aborted inside one synchronous
/// closure, on one thread. The two calls that are not thread-safe are guarded: `mdb_env_set_mapsize`
/// runs only under `TransactionGate`'s exclusive pass (no transaction of this process open), and
/// `mdb_env_close` runs only in `LMDBEnvironment.deinit`, when no other reference exists, or in
/// `releaseWriteBuffers` under the exclusive pass (every other use of the pointer holds a shared
/// pass or the exclusive one).
struct EnvironmentPointer: @unchecked Sendable {
    let raw: OpaquePointer
}

/// One LMDB environment: a directory holding named databases, opened with `MDB_NOTLS` and the
/// default (durable) sync flags, or `MDB_NOMETASYNC` when `Options.syncsMetaPage` is false.
///
/// Transactions are synchronous closures: `read { txn in ... }` and `write { txn in ... }`. A write
/// commits (and fsyncs) when its closure returns and aborts when it throws. When the map is full the
/// write is aborted, the map grows and the whole closure runs again, so a write closure must not
/// have side effects outside its transaction. Never `await` inside either closure, never start a
/// write inside a read or another write on the same thread (LMDB would wait for itself).
/// Opening one directory twice in a process is refused (`.alreadyOpen`).
public final class LMDBEnvironment: Sendable {
    /// How an environment is opened.
    public struct Options: Sendable {
        /// The map size to start with (rounded up to whole pages).
        public var initialMapSizeBytes: Int
        /// The map never grows beyond this.
        public var maxMapSizeBytes: Int
        /// Whether a commit also syncs the meta page (LMDB's default). When false the environment
        /// is opened with `MDB_NOMETASYNC`: a commit syncs its data pages and writes, but does not
        /// sync, the meta page that makes them current. The database stays consistent at any
        /// crash; a power loss (not a process crash) can undo the last commit until `sync()` or the
        /// next commit's sync. Only `StoreWriter`, which calls `sync()` after every such commit,
        /// should open an environment this way.
        public var syncsMetaPage: Bool
        /// Opens an existing environment for reading only and writes nothing to its directory:
        /// no `lock.mdb` (`MDB_NOLOCK`), no new file, no directory sync; every database must exist,
        /// and a write transaction fails. For copies no process writes to while they are open (a
        /// backup being checked, perhaps on read-only media), never for a node's live store.
        public var readOnly: Bool

        public init(initialMapSizeBytes: Int = StoreLimits.initialMapSizeBytesDefault,
                    maxMapSizeBytes: Int = StoreLimits.mapSizeMaxBytes, syncsMetaPage: Bool = true,
                    readOnly: Bool = false) {
            self.initialMapSizeBytes = initialMapSizeBytes
            self.maxMapSizeBytes = maxMapSizeBytes
            self.syncsMetaPage = syncsMetaPage
            self.readOnly = readOnly
        }
    }

    /// The directory holding `data.mdb` and `lock.mdb` (created if missing; its parent must exist).
    public let directory: String
    public let options: Options
    /// The open `MDB_env`, replaced only by `releaseWriteBuffers` under the gate's exclusive pass.
    private let envBits: Atomic<UInt>
    var env: EnvironmentPointer {
        EnvironmentPointer(raw: OpaquePointer(bitPattern: envBits.load(ordering: .acquiring))!)
    }
    /// The database names in the order they were opened: a reopen opens them in the same order,
    /// so each gets the same `MDB_dbi` (LMDB numbers them in order of opening).
    private let databaseOrder: [String]
    private let reopenCount = Atomic<Int>(0)
    /// Longest key LMDB accepts in this build (`mdb_env_get_maxkeysize`).
    let maxKeyBytes: Int
    private let gate = TransactionGate()
    private let databasesByName: [String: Database]
    /// The current map size, changed only under the gate's exclusive pass.
    private let mapSize: Atomic<Int>
    private let growthCount = Atomic<Int>(0)
    /// Detached read transactions begun and not ended (`DetachedRead`).
    private let detachedReads = Atomic<Int>(0)
    /// This environment's entry in `OpenDirectories`, released when it closes.
    private let openClaim: String

    /// Opens (creating if needed) the environment in `directory` with the named databases `names`,
    /// creating any that do not exist yet.
    public init(directory: String, databases names: [String], options: Options = Options()) throws {
        precondition(names.count <= Int(StoreLimits.databasesMax), "more databases than StoreLimits.databasesMax")
        precondition(Set(names).count == names.count, "database names repeat")
        guard options.initialMapSizeBytes > 0, options.initialMapSizeBytes <= options.maxMapSizeBytes else {
            throw StoreError(.invalidOptions, "initial map size \(options.initialMapSizeBytes) outside 1...\(options.maxMapSizeBytes)")
        }
        if options.readOnly {
            guard access(directory + "/data.mdb", R_OK) == 0 else {
                throw StoreError(.io, "\(directory)/data.mdb: \(String(cString: strerror(errno)))", status: errno)
            }
        } else if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw StoreError(.io, "create directory \(directory): \(String(cString: strerror(errno)))", status: errno)
        }
        let claim = try OpenDirectories.claim(directory)
        do {
            if !options.readOnly {
                try Self.prepareDataFile(in: directory, mapSizeBytes: Self.roundToPages(options.initialMapSizeBytes))
            }
        } catch {
            OpenDirectories.release(claim)
            throw error
        }
        let raw: OpaquePointer
        do {
            raw = try Self.openRaw(directory: directory, options: options, mapSizeBytes: Self.roundToPages(options.initialMapSizeBytes))
        } catch {
            OpenDirectories.release(claim)
            throw error
        }
        do {
            if !options.readOnly {
                // LMDB syncs data.mdb but never the directory: without this a power cut could lose the
                // name of data.mdb, or of the directory itself (made above or by the caller), and with
                // it every synced commit (PowerCutTests).
                try DirectorySync.syncWithAncestors(directory)
            }
            databasesByName = try Self.openDatabases(raw, names, readOnly: options.readOnly, directory: directory)
        } catch {
            mdb_env_close(raw)
            OpenDirectories.release(claim)
            throw error
        }
        openClaim = claim
        envBits = Atomic(UInt(bitPattern: raw))
        databaseOrder = names
        maxKeyBytes = Int(mdb_env_get_maxkeysize(raw))
        mapSize = Atomic(Self.currentMapSize(raw))
        self.directory = directory
        self.options = options
    }

    deinit {
        mdb_env_close(env.raw)
        OpenDirectories.release(openClaim)
    }

    /// Creates and opens an `MDB_env` on `directory` with `options`' flags and a map of
    /// `mapSizeBytes`, and frees the reader slots a killed process left.
    private static func openRaw(directory: String, options: Options, mapSizeBytes: Int) throws -> OpaquePointer {
        var created: OpaquePointer?
        let rc = mdb_env_create(&created)
        guard rc == MDB_SUCCESS, let raw = created else { throw StoreError.lmdb(rc, "mdb_env_create") }
        do {
            try check(mdb_env_set_maxdbs(raw, StoreLimits.databasesMax), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(raw, StoreLimits.readersMax), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(raw, mapSizeBytes), "mdb_env_set_mapsize")
            let flags = UInt32(MDB_NOTLS) | (options.syncsMetaPage ? 0 : UInt32(MDB_NOMETASYNC))
                | (options.readOnly ? UInt32(MDB_RDONLY) | UInt32(MDB_NOLOCK) : 0)
            try check(mdb_env_open(raw, directory, flags, mdb_mode_t(StoreLimits.fileMode)),
                      "mdb_env_open \(directory)")
            if !options.readOnly {
                // Reader slots left by a process that was killed are freed here, not on first contention.
                var dead: Int32 = 0
                try check(mdb_reader_check(raw, &dead), "mdb_reader_check")
            }
            return raw
        } catch {
            mdb_env_close(raw)
            throw error
        }
    }

    private static func openDatabases(_ raw: OpaquePointer, _ names: [String], readOnly: Bool, directory: String) throws -> [String: Database] {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(raw, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn), "mdb_txn_begin (open databases)")
        var result: [String: Database] = [:]
        for name in names {
            var dbi: MDB_dbi = 0
            let rc = mdb_dbi_open(txn, name, readOnly ? 0 : UInt32(MDB_CREATE), &dbi)
            if rc != MDB_SUCCESS {
                mdb_txn_abort(txn)
                if rc == MDB_NOTFOUND {
                    throw StoreError(.io, "\(directory)/data.mdb has no database \(name) "
                                     + "(not a Totem store, or written by another schema)")
                }
                throw StoreError.lmdb(rc, "mdb_dbi_open \(name)")
            }
            result[name] = Database(name: name, dbi: dbi)
        }
        try check(mdb_txn_commit(txn), "mdb_txn_commit (open databases)")
        return result
    }

    /// The handle of a database named when the environment was opened.
    public func database(_ name: String) throws -> Database {
        guard let db = databasesByName[name] else {
            throw StoreError(.unknownDatabase, "no database named \(name) was opened")
        }
        return db
    }

    /// All databases opened with the environment, sorted by name.
    public var databases: [Database] { databasesByName.values.sorted { $0.name < $1.name } }

    /// The current map size in bytes.
    public var mapSizeBytes: Int { mapSize.load(ordering: .acquiring) }

    /// How many times this process grew the map.
    public var mapGrowthCount: Int { growthCount.load(ordering: .relaxed) }

    // MARK: Transactions

    /// Runs `body` in a read-only transaction (a consistent snapshot) on the calling thread.
    public func read<T>(_ body: (ReadTxn) throws -> T) throws -> T {
        try run(readTxn: try begin(flags: UInt32(MDB_RDONLY)), body)
    }

    /// Runs `body` with the begun read transaction `raw`, then ends it and leaves the gate (a
    /// `detached` one's pass was taken on another thread).
    fileprivate func run<T>(readTxn raw: OpaquePointer, detached: Bool = false, _ body: (ReadTxn) throws -> T) throws -> T {
        let txn = ReadTxn(raw, environment: self)
        defer {
            txn.invalidate()
            mdb_txn_abort(raw)
            if detached { leaveGate() } else { gate.leaveShared() }
        }
        let result = try body(txn)
        // Damage the closure caught (e.g. a state read that cannot throw) still fails the read.
        if let damage = txn.damage { throw damage }
        return result
    }

    /// Runs `body` in a write transaction on the calling thread and commits it durably (fsync)
    /// when `body` returns; aborts it when `body` throws. On a full map, aborts, grows the map and
    /// runs `body` again. Blocks while another thread's write transaction is open.
    @discardableResult
    public func write<T>(_ body: (WriteTxn) throws -> T) throws -> T {
        var growths = 0
        while true {
            let sizeAtBegin = mapSizeBytes
            let raw = try begin(flags: 0)
            let txn = WriteTxn(raw, environment: self)
            var outcome = Result { try body(txn) }
            // A write that read damaged data does not commit, whatever the closure made of it.
            if let damage = txn.damage { outcome = .failure(damage) }
            txn.invalidate()
            var mapFull = txn.sawMapFull
            if !mapFull, case .success(let value) = outcome {
                let rc = mdb_txn_commit(raw)  // frees the transaction whatever it returns
                gate.leaveShared()
                if rc == MDB_SUCCESS {
                    DiskSyncs.count(.lmdbCommit)
                    return value
                }
                guard rc == MDB_MAP_FULL else { throw StoreError.lmdb(rc, "mdb_txn_commit") }
                mapFull = true
            } else {
                mdb_txn_abort(raw)
                gate.leaveShared()
                if !mapFull, case .failure(let error) = outcome { throw error }
            }
            growths += 1
            guard growths <= StoreLimits.mapGrowthRetriesMax else {
                throw StoreError(.mapFull, "write still did not fit after \(StoreLimits.mapGrowthRetriesMax) map growths")
            }
            try growMap(seenSize: sizeAtBegin)
        }
    }

    /// Flushes everything committed so far to disk (`mdb_env_sync` with force): after it returns, a
    /// power loss cannot undo those commits, whatever the sync flags. Safe on any thread.
    public func sync() throws {
        guard !options.readOnly else { return }  // nothing written, nothing to sync
        gate.enterShared()  // the environment is not reopened under it (`releaseWriteBuffers`)
        defer { gate.leaveShared() }
        try check(mdb_env_sync(env.raw, 1), "mdb_env_sync")
        DiskSyncs.count(.lmdbEnvironment)
    }

    /// How many times `releaseWriteBuffers` reopened the environment.
    public var reopenedCount: Int { reopenCount.load(ordering: .relaxed) }

    /// Gives the memory LMDB keeps for write transactions back to the C heap, by closing the
    /// environment and opening it again; true if it did, false if no moment without an open
    /// transaction came within `waitingAtMost` (nothing changes then: try later).
    ///
    /// LMDB keeps every page buffer a write transaction dirtied on a free list of the environment's
    /// own (`me_dpages` in mdb.c) and frees them only when the environment closes: a node holds the
    /// dirty pages of its largest block write for good. A write of 15,000 random keys into a tree
    /// of a million dirties about 12,700 pages, 50 MiB, and a block of batched works writes three
    /// such trees. Committed data is on disk, so a reopen loses nothing; the database handles keep
    /// their numbers (the databases are opened again in the same order, and checked). It waits
    /// for a moment when no transaction is open rather than making new ones wait (a block's
    /// validation reads for a second at a million works), and gives up at once while a detached
    /// read (a snapshot walk) is open. The transactions begun while it closes and opens (a few
    /// milliseconds) wait. Run it on a thread that holds no transaction, e.g. a thread of its own.
    /// A reopen that fails stops the process: the store could serve nothing after it.
    @discardableResult
    public func releaseWriteBuffers(waitingAtMost: Duration) throws -> Bool {
        guard !options.readOnly, detachedReads.load(ordering: .relaxed) == 0 else { return false }
        return try gate.withExclusive(waitingAtMost: waitingAtMost) { () -> Void in
            let old = env.raw
            mdb_env_close(old)
            let raw: OpaquePointer
            let reopened: [String: Database]
            do {
                raw = try Self.openRaw(directory: directory, options: options, mapSizeBytes: mapSizeBytes)
                reopened = try Self.openDatabases(raw, databaseOrder, readOnly: false, directory: directory)
            } catch {
                fatalError("reopening the LMDB environment in \(directory) failed: \(error)")
            }
            precondition(reopened == databasesByName, "a reopened LMDB environment numbered its databases differently")
            envBits.store(UInt(bitPattern: raw), ordering: .releasing)
            mapSize.store(Self.currentMapSize(raw), ordering: .releasing)
            reopenCount.add(1, ordering: .relaxed)
        } != nil
    }

    /// Leaves the gate's shared pass a detached read transaction held.
    fileprivate func leaveGate() {
        detachedReads.subtract(1, ordering: .relaxed)
        gate.leaveSharedDetached()
    }

    /// Begins a transaction holding a shared pass of the gate; the caller leaves the gate after
    /// committing or aborting it (on this thread, or on any for a `detached` one).
    fileprivate func begin(flags: UInt32, detached: Bool = false) throws -> OpaquePointer {
        while true {
            if detached { gate.enterSharedDetached() } else { gate.enterShared() }
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env.raw, nil, flags, &txn)
            if rc == MDB_SUCCESS, let txn { return txn }
            if detached { gate.leaveSharedDetached() } else { gate.leaveShared() }
            guard rc == MDB_MAP_RESIZED else { throw StoreError.lmdb(rc, "mdb_txn_begin") }
            // Another process grew the map: adopt its size (0 = the size recorded in the file).
            try gate.withExclusive {
                try check(mdb_env_set_mapsize(env.raw, 0), "mdb_env_set_mapsize (adopt)")
                mapSize.store(Self.currentMapSize(env.raw), ordering: .releasing)
            }
        }
    }

    /// Doubles the map (by at most `StoreLimits.mapGrowthStepMaxBytes`), unless another thread
    /// already grew it past `seenSize`.
    private func growMap(seenSize: Int) throws {
        try gate.withExclusive {
            let current = Self.currentMapSize(env.raw)
            if current > seenSize {
                mapSize.store(current, ordering: .releasing)
                return
            }
            let grown = min(current + min(current, StoreLimits.mapGrowthStepMaxBytes), options.maxMapSizeBytes)
            guard grown > current else {
                throw StoreError(.mapFull, "map is full at \(current) bytes, the configured maximum")
            }
            try check(mdb_env_set_mapsize(env.raw, Self.roundToPages(grown)), "mdb_env_set_mapsize")
            mapSize.store(Self.currentMapSize(env.raw), ordering: .releasing)
            growthCount.add(1, ordering: .relaxed)
        }
    }

    private static func currentMapSize(_ raw: OpaquePointer) -> Int {
        var info = MDB_envinfo()
        _ = mdb_env_info(raw, &info)  // cannot fail on an open environment
        return info.me_mapsize
    }

    static func roundToPages(_ bytes: Int) -> Int {
        let page = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)
        return (bytes + page - 1) / page * page
    }
}

extension LMDBEnvironment {
    /// Begins a read transaction on this thread for use on another (`DetachedRead`): a snapshot
    /// walk that must see the state of one commit, begun on the writer thread right after that
    /// commit, and run off it so the next commits do not wait.
    public func beginDetachedRead() throws -> DetachedRead {
        let read = DetachedRead(try begin(flags: UInt32(MDB_RDONLY), detached: true), environment: self)
        detachedReads.add(1, ordering: .relaxed)
        return read
    }

    /// Grows the map now when less than half of it is free, unless a detached read is open (the
    /// growth would wait for it). For the moment before a long read begins (a checkpoint's
    /// snapshot walk, seconds at a million works): while it lasts no growth can happen (a resize
    /// waits for every transaction), and the writes meanwhile cannot reuse pages freed after it
    /// began, so they need fresh room; a map that filled then held every write, and consensus,
    /// until the walk ended (a 10 s stall and a view change at height 1000 of a devnet at 10^6
    /// works). Returns whether it grew.
    @discardableResult
    public func growAhead() throws -> Bool {
        guard !options.readOnly, detachedReads.load(ordering: .relaxed) == 0 else { return false }
        var info = MDB_envinfo()
        var stat = MDB_stat()
        gate.enterShared()  // not reopened meanwhile (`releaseWriteBuffers`)
        _ = mdb_env_info(env.raw, &info)
        _ = mdb_env_stat(env.raw, &stat)
        gate.leaveShared()
        let used = (info.me_last_pgno + 1) * Int(stat.ms_psize)
        guard info.me_mapsize - used < used else { return false }
        try growMap(seenSize: info.me_mapsize)
        return mapSizeBytes > info.me_mapsize
    }
}

/// A read transaction begun on one thread and used, once, on another.
///
/// Why `@unchecked Sendable` is sound: the environment is opened with `MDB_NOTLS`, so LMDB ties a
/// read transaction to no thread; `run` may be entered once only (an atomic flag), so the
/// transaction is used by one thread at a time and ended exactly once, by `run` or, if `run` is
/// never called, by `deinit`, which no other reference can race. While it lasts it holds the
/// environment's shared pass, so a map growth waits for it (as for any reader).
public final class DetachedRead: @unchecked Sendable {
    private let raw: OpaquePointer
    private let environment: LMDBEnvironment
    private let taken = Atomic<Bool>(false)

    fileprivate init(_ raw: OpaquePointer, environment: LMDBEnvironment) {
        self.raw = raw
        self.environment = environment
    }

    /// Runs `body` with the transaction on the calling thread, then ends it. A second call stops
    /// the process (a transaction must not be used after it ended).
    public func run<T>(_ body: (ReadTxn) throws -> T) throws -> T {
        let (exchanged, _) = taken.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        precondition(exchanged, "a detached read transaction was run twice")
        return try environment.run(readTxn: raw, detached: true, body)
    }

    deinit {
        guard !taken.load(ordering: .acquiring) else { return }
        mdb_txn_abort(raw)
        environment.leaveGate()
    }
}
