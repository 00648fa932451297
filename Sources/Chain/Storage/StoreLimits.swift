/// Every limit of the LMDB layer, with its unit in its name.
public enum StoreLimits {
    /// Map size a new environment starts with unless its options say otherwise. The map is
    /// address space, not disk: the file grows with the data.
    public static let initialMapSizeBytesDefault = 256 << 20
    /// The map never grows beyond this; a write that needs more fails with `.mapFull`.
    public static let mapSizeMaxBytes = 1 << 40
    /// A full map doubles, but grows by at most this much at a time.
    public static let mapGrowthStepMaxBytes = 4 << 30
    /// Named databases an environment may hold (`mdb_env_set_maxdbs`).
    public static let databasesMax: UInt32 = 32
    /// Concurrent read transactions (`mdb_env_set_maxreaders`).
    public static let readersMax: UInt32 = 256
    /// Write closures waiting for the dedicated writer thread; callers beyond it wait for room.
    public static let writerQueueMax = 1_024
    /// Signing-state writes queued at once: consensus awaits each before it sends the vote it
    /// covers, so one is queued at a time; the rest is slack.
    public static let signingWriterQueueMax = 8
    /// How many times one write is retried after growing the map before giving up.
    public static let mapGrowthRetriesMax = 40
    /// Shortest and longest pause while waiting for transactions to drain before a map resize.
    public static let resizeWaitMinMicroseconds: UInt32 = 20
    public static let resizeWaitMaxMicroseconds: UInt32 = 2_000
    /// How long a reopen that gives LMDB's write buffers back (`ChainStore.releaseWriteBuffers`)
    /// looks for a moment when no transaction is open (nothing waits for it meanwhile), and how
    /// often it looks at most.
    public static let reopenWaitMax: Duration = .seconds(5)
    public static let reopenPollMaxMicroseconds: UInt32 = 500
    /// Largest signing state record (its lock carries a whole block, at most 64 MiB by genesis rules).
    public static let signingStateMaxBytes = 65 << 20
    /// Largest decided-block log record: a block (at most 64 MiB by genesis rules) and its certificate.
    public static let decidedRecordMaxBytes = 65 << 20
    /// Longest a read waits for a logged block's LMDB write before giving up.
    public static let pendingWriteWaitMaxMs = 5_000
    /// File mode of the data, lock and signing-state files.
    public static let fileMode: UInt32 = 0o600
    /// Transactions accepted when decoding a block this store wrote (genesis bounds proposals far
    /// below it; the limit only keeps a damaged record from asking for unbounded memory).
    public static let storedBlockMaxTxCount = 1_000_000
    /// Block headers kept after a read (`ChainStore.header(at:)`): the newest heights are the ones asked for.
    public static let headerCacheEntriesMax = 64
    /// Bytes of a damaged record's key shown in the error that reports it.
    public static let damagedKeyShownBytes = 40
    /// Blocks (the newest ones) checked at start-up against their certificates, parents and the
    /// meta record (`ChainStore.verifyAtStart`).
    public static let startupVerifiedBlockCount = 64
    /// A failed write on a file system with less free space than this is reported as a full disk
    /// (LMDB reports a short write as `EIO`, not `ENOSPC`).
    public static let diskFullFreeBytes = 64 << 20
    /// Reads of a slot-file pair written by another process (a running node) before a slot that
    /// fails its checksum counts as damaged rather than caught mid-write (`StoreBackup.readSlots`).
    public static let slotReadAttemptsMax = 20
    /// Pause between those reads.
    public static let slotReadRetryMicroseconds: UInt32 = 5_000
}
