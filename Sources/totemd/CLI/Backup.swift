import ArgumentParser
import ChainModel
import Consensus
import Foundation
import Storage
import TotemCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `totemd backup`: hot backups of a node's data directory, their verification and their restore
/// (docs/ops/backup.md).
struct BackupCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up a node's data directory while it runs; verify and restore backups.",
        subcommands: [BackupCreate.self, BackupVerify.self, BackupRestore.self],
        defaultSubcommand: BackupCreate.self)
}

/// `totemd backup --home HOME --out DIR`.
struct BackupCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Copy a node's store and slot files into a new directory, while the node runs or not.",
        discussion: """
            The store is copied from one LMDB read transaction (a compacting copy): a consistent \
            snapshot at one block that does not hold up the node's commits. The signing state and the \
            decided-block log are read first, so the copied store is never behind them. DIR must be new \
            or empty; it gets mode 0700, its files 0600. Check the copy with `totemd backup verify`.
            """)
    @Option(name: .long, help: "The node's home folder (holds config.toml).") var home: String
    @Option(name: .long, help: "A new or empty directory for the backup.") var out: String

    func run() async throws {
        let started = ContinuousClock.now
        let config = try BackupCommands.loadConfig(home: home)
        let genesis = try BackupCommands.genesis(config)
        let publicKey = try BackupCommands.publicKey(config)
        try BackupFiles.makeEmptyDirectory(out)
        // Slot files first, the LMDB snapshot last (StoreBackup): the store is never behind them.
        let signing = try StoreBackup.readSlots(.signingState, in: config.dataDir)
        let decided = try StoreBackup.readSlots(.decidedLog, in: config.dataDir)
        try StoreBackup.copyCompacting(environment: config.dataDir, to: out + "/" + StoreBackup.dataFileName)
        try StoreBackup.writeSlots(.signingState, in: out, payloads: signing?.newest.map { [$0] } ?? [])
        try StoreBackup.writeSlots(.decidedLog, in: out, payloads: decided?.payloads ?? [])
        let tip = try await BackupCommands.withStore(out, genesis: genesis) { try $0.tip() }
        let files = try BackupManifest.fileNames.map { try BackupFiles.digest(out + "/" + $0) }
        let manifest = BackupManifest(
            chainId: genesis.chainId, genesisHash: genesis.genesisHash.hex, height: tip.height,
            blockHash: tip.lastBlockHash.hex, stateRoot: tip.stateRoot.hex, nodePublicKey: publicKey.hex,
            createdAtMs: UInt64(Date().timeIntervalSince1970 * 1000), files: files)
        try manifest.write(directory: out)
        let bytes = files.reduce(0) { $0 + $1.bytes }
        let signingText = try signing?.newest.map { "signing state at \(try BackupCommands.position($0, genesis))" }
            ?? "no signing state"
        let seconds = (ContinuousClock.now - started).components
        print("backup of chain \(genesis.chainId) at height \(tip.height) (block \(tip.lastBlockHash.hex.prefix(16))…) in \(out): "
              + "\(bytes >> 10) KiB, \(signingText), \(decided?.payloads.count ?? 0) decided-block records; "
              + "took \(seconds.seconds).\(String(format: "%03d", Int(seconds.attoseconds / 1_000_000_000_000_000))) s")
        if let damage = signing?.damage ?? decided?.damage { print("warning: \(damage)") }
        print("check it with: totemd backup verify \(out) --genesis \(config.genesisFile)")
    }
}

/// What the backup subcommands share.
enum BackupCommands {
    static func loadConfig(home: String) throws -> NodeConfig {
        do {
            return try NodeConfig.load(path: (home as NSString).appendingPathComponent("config.toml"))
        } catch let e as ConfigError {
            throw ValidationError(e.description)
        }
    }

    static func genesis(_ config: NodeConfig) throws -> Genesis {
        do { return try config.readGenesis() } catch { throw ValidationError("\(error)") }
    }

    /// The node's public key: the record of whose votes its signing state is.
    static func publicKey(_ config: NodeConfig) throws -> Bytes32 {
        do { return try config.readKey().publicKey } catch { throw ValidationError("\(error)") }
    }

    /// The height and view of an encoded signing state.
    static func position(_ payload: [UInt8], _ genesis: Genesis) throws -> SigningPosition {
        do {
            let s = try ConsensusCodec.decodeSigningState(payload, maxBlockTxs: genesis.params.maxBlockTxs)
            return SigningPosition(height: s.height, view: s.view)
        } catch {
            throw BackupError("a signing state does not decode: \(error)")
        }
    }

    /// Opens the store in `directory` (a backup's, or a restored one) read-only for `body`, then
    /// closes it. Nothing in `directory` is created or changed (no `lock.mdb`, no slot file), so a
    /// backup on read-only media can be checked, and checking it leaves its files as they were.
    static func withStore<T>(_ directory: String, genesis: Genesis, _ body: (ChainStore) throws -> T) async throws -> T {
        guard access(directory + "/" + StoreBackup.dataFileName, F_OK) == 0 else {
            throw BackupError("\(directory) holds no \(StoreBackup.dataFileName)")
        }
        let store = try ChainStore(directory: directory, genesisHash: genesis.genesisHash, genesisValidators: genesis.validatorSet,
                                   options: LMDBEnvironment.Options(readOnly: true))
        let result = Result { try body(store) }
        await store.shutdown()
        return try result.get()
    }
}
