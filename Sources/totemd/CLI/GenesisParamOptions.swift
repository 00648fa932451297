import ArgumentParser
import ChainModel

/// The consensus parameters of a new genesis, as options shared by `totemd testnet` and
/// `totemd genesis new`; an option not given keeps the command's default.
struct GenesisParamOptions: ParsableArguments {
    @Option(name: .long, help: "Genesis maxBlockTxs (default \(GenesisParams.standard.maxBlockTxs)).")
    var maxBlockTxs: Int?
    @Option(name: .long, help: "Genesis maxBlockBytes (default \(GenesisParams.standard.maxBlockBytes)).")
    var maxBlockBytes: Int?
    @Option(name: .long, help: "Genesis maxTxBytes (default \(GenesisParams.standard.maxTxBytes)).")
    var maxTxBytes: Int?
    @Option(name: .long, help: "Genesis proposalTimeoutMs (default \(GenesisParams.standard.proposalTimeoutMs); testnet \(GenesisParams.testnet.proposalTimeoutMs)).")
    var proposalTimeoutMs: UInt64?
    @Option(name: .long, help: "Genesis maxProposalTimeoutMs (default \(GenesisParams.standard.maxProposalTimeoutMs)).")
    var maxProposalTimeoutMs: UInt64?
    @Option(name: .long, help: "Genesis emptyBlockIntervalMs, the heartbeat of an idle chain (default \(GenesisParams.standard.emptyBlockIntervalMs); testnet \(GenesisParams.testnet.emptyBlockIntervalMs)).")
    var emptyBlockIntervalMs: UInt64?
    @Option(name: .long, help: "Genesis maxClockDriftMs (default \(GenesisParams.standard.maxClockDriftMs)).")
    var maxClockDriftMs: UInt64?
    @Option(name: .long, help: "Genesis validatorChangeTtlBlocks (default \(GenesisParams.standard.validatorChangeTtlBlocks)).")
    var validatorChangeTtlBlocks: UInt64?
    @Option(name: .long, help: "Genesis checkpointIntervalBlocks: a checkpoint (co-signed snapshot for state sync) every N blocks; 0 for none. Not written unless given (default \(GenesisLimits.checkpointIntervalDefaultBlocks)).")
    var checkpointInterval: UInt64?
    @Option(name: .long, help: "Genesis snapshotChunkBytes: encoded entries per snapshot chunk, \(GenesisLimits.snapshotChunkBytes.lowerBound) to \(GenesisLimits.snapshotChunkBytes.upperBound). Not written unless given (default \(GenesisLimits.snapshotChunkDefaultBytes)).")
    var snapshotChunkBytes: Int?

    /// `base` with the options given; the genesis parser checks the result (`Genesis.build`).
    func applied(to base: GenesisParams) -> GenesisParams {
        var p = base
        if let v = maxBlockTxs { p.maxBlockTxs = v }
        if let v = maxBlockBytes { p.maxBlockBytes = v }
        if let v = maxTxBytes { p.maxTxBytes = v }
        if let v = proposalTimeoutMs { p.proposalTimeoutMs = v }
        if let v = maxProposalTimeoutMs { p.maxProposalTimeoutMs = v }
        if let v = emptyBlockIntervalMs { p.emptyBlockIntervalMs = v }
        if let v = maxClockDriftMs { p.maxClockDriftMs = v }
        if let v = validatorChangeTtlBlocks { p.validatorChangeTtlBlocks = v }
        if let v = checkpointInterval { p.checkpointIntervalBlocks = v }
        if let v = snapshotChunkBytes { p.snapshotChunkBytes = v }
        return p
    }
}

extension GenesisParams {
    /// `totemd testnet`'s defaults: a longer proposal timeout (many nodes on one machine) and a
    /// heartbeat block every 5 s, so an idle devnet shows progress.
    static let testnet: GenesisParams = {
        var p = GenesisParams.standard
        p.proposalTimeoutMs = 3000
        p.emptyBlockIntervalMs = 5000
        return p
    }()
}
