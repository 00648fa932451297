/// What a genesis file may hold, beyond PROTOCOL.md's own rules (chainId, key form, integer
/// range, `proposalTimeoutMs` bounds, `maxTxBytes <= 65536`). The extra bounds keep a chain usable
/// and its parameters within what the node's types and buffers hold.
public enum GenesisLimits {
    /// A genesis file larger than this is refused before parsing.
    public static let fileMaxBytes = 1024 * 1024
    public static let chainIdBytes: ClosedRange<Int> = 1...Limits.chainIdMaxBytes
    /// Registrar and validator names: non-empty, within the on-chain name limits.
    public static let registrarNameBytes: ClosedRange<Int> = 1...Limits.registrarNameMaxBytes
    public static let validatorNameBytes: ClosedRange<Int> = 1...Limits.validatorNameMaxBytes
    /// A validator must be reachable, so its address is non-empty.
    public static let p2pAddressBytes: ClosedRange<Int> = 1...Limits.p2pAddressMaxBytes
    public static let validatorsCount: ClosedRange<Int> = 1...Limits.validatorsMaxCount
    public static let registrarsMax = 1024
    /// A validator entry file (`Genesis.parseValidatorEntry`): one name, key and address.
    public static let validatorEntryMaxBytes = 4096

    /// PROTOCOL.md: `proposalTimeoutMs` is at least 100.
    public static let proposalTimeoutMinMs: UInt64 = 100
    /// Empty blocks no more often than the shortest proposal timeout.
    public static let emptyBlockIntervalMinMs: UInt64 = 100
    /// Large enough for any RegisterWork with every string at its limit (807 bytes encoded).
    public static let txBytesLimitMin = 1024
    /// A block fits a header's `txCount: u32`.
    public static let blockTxsLimitMax = Int(UInt32.max)
    /// A block travels in one P2P frame and one LMDB value.
    public static let blockBytesLimitMax = 64 * 1024 * 1024
    /// A validator-change tally must be able to count at least one block.
    public static let validatorChangeTtlMinBlocks: UInt64 = 1
    /// `checkpointIntervalBlocks` when the file does not set it (0 in the file: no checkpoints).
    public static let checkpointIntervalDefaultBlocks: UInt64 = 1000
    /// `snapshotChunkBytes` when the file does not set it: 1 MiB of encoded entries per chunk.
    public static let snapshotChunkDefaultBytes = 1024 * 1024
    /// `snapshotChunkBytes` bounds: small enough chunks for a test to have many, large enough that
    /// a chunk's audit path and message header stay small beside it; at most a quarter of the
    /// chunk-response limit, so a chunk that holds one record over the size still travels.
    public static let snapshotChunkBytes: ClosedRange<Int> = 4096...(4 * 1024 * 1024)
}
