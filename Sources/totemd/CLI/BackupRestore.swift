import ArgumentParser
import ChainModel
import Consensus
import Foundation
import Storage
import TotemCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `totemd backup restore DIR --home HOME`.
struct BackupRestore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a verified backup into a stopped node's home; the node then catches up from its peers.",
        discussion: """
            Verifies the backup first. The home's data directory must be empty or absent, or given \
            --replace (it is then moved aside, not deleted). The signing state is never rolled back: \
            the home's own record is kept when it is the newest; a validator home without an intact \
            one needs --api URL (a running node of the network) or --fence-height H, and the restored \
            validator votes at no height up to there (docs/ops/backup.md).
            """)
    @Argument(help: "The backup directory.") var directory: String
    @Option(name: .long, help: "The node's home folder (holds config.toml); the node must be stopped.") var home: String
    @Option(name: .long, help: "A running node's API: the restored validator will not vote up to its height + \(BackupLimits.fenceMarginHeights).")
    var api: String?
    @Option(name: .long, help: "The restored validator will not vote at or below this height.") var fenceHeight: UInt64?
    @Flag(name: .long, help: "Move a non-empty data directory aside (to DATA.before-restore-TIME) instead of refusing.")
    var replace = false

    func run() async throws {
        let config = try BackupCommands.loadConfig(home: home)
        let genesis = try BackupCommands.genesis(config)
        let publicKey = try BackupCommands.publicKey(config)
        if let problem = PortProbe.bindProblem(host: config.p2pListenHost, port: config.p2pListenPort) {
            throw BackupError("the P2P address \(config.p2pListenHost):\(config.p2pListenPort) of \(home) \(problem): "
                              + "stop the node before restoring into its home")
        }
        var report = DoctorReport(name: "backup verify")
        let verified = await BackupCheck.run(directory, genesis: genesis, &report)
        report.print()
        guard let backup = verified else { throw BackupError("the backup does not verify: nothing was restored") }

        let dataDir = config.dataDir
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: dataDir)) ?? []
        guard existing.isEmpty || replace else {
            throw BackupError("\(dataDir) is not empty (\(existing.count) entries): stop the node and give --replace to move it "
                              + "aside (it is kept, not deleted)")
        }
        let (choice, payload) = try await signingState(backup: backup, config: config, genesis: genesis, publicKey: publicKey)
        try install(backup, signingState: payload, into: dataDir, movingAside: !existing.isEmpty)
        let tip = try await BackupCommands.withStore(dataDir, genesis: genesis) { try $0.tip() }
        print("restored chain \(genesis.chainId) at height \(tip.height) into \(dataDir)")
        switch choice {
        case .home(let p): print("signing state: kept the home's own (\(p)), not older than the backup's")
        case .backup(let p): print("signing state: the backup's (\(p)), newer than the home's")
        case .fence(let h): print("signing state: a fence at height \(h): this validator will not vote at or below height \(h - 1)")
        case .none: print("signing state: none (not a validator)")
        }
        print("start the node (totemd start --home \(home)): it catches up from its peers")
    }

    /// The signing state to write (see `SigningStateChoice`) and its record.
    private func signingState(backup: BackupCheck.Verified, config: NodeConfig, genesis: Genesis,
                              publicKey: Bytes32) async throws -> (SigningStateChoice, [UInt8]?) {
        var known = SigningStateChoice.Known(isValidator: config.role == .validator)
        var homeRecord: [UInt8]?
        do {
            let records = try StoreBackup.readSlots(.signingState, in: config.dataDir)
            homeRecord = records?.newest
            known.home = try homeRecord.map { try BackupCommands.position($0, genesis) }
            known.homeDamaged = records?.damage != nil
        } catch let error as StoreError where error.code == .corrupted {
            known.homeDamaged = true
        }
        if backup.manifest.nodePublicKey == publicKey.hex { known.backupOfThisNode = backup.signing?.position }
        known.votedAtMost = fenceHeight
        if let api {
            let status = try await APIClient(base: api).status()
            guard status.genesisHash == genesis.genesisHash else {
                throw BackupError("\(api) runs genesis \(status.genesisHash.hex), this home has \(genesis.genesisHash.hex)")
            }
            known.votedAtMost = max(known.votedAtMost ?? 0, status.height + BackupLimits.fenceMarginHeights)
        }
        let choice = try SigningStateChoice.choose(known)
        switch choice {
        case .home: return (choice, homeRecord)
        case .backup: return (choice, backup.signing?.payload)
        case .fence(let height): return (choice, ConsensusCodec.encode(SigningState<Block>(height: height)))
        case .none: return (choice, nil)
        }
    }

    /// Builds the new data directory beside the old one and renames it into place: an interrupted
    /// restore leaves the old directory (or none) and a `.restoring` one to discard.
    private func install(_ backup: BackupCheck.Verified, signingState: [UInt8]?, into dataDir: String, movingAside: Bool) throws {
        let parent = (dataDir as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let staging = dataDir + ".restoring"
        if FileManager.default.fileExists(atPath: staging) { try FileManager.default.removeItem(atPath: staging) }
        guard mkdir(staging, 0o700) == 0 else { throw BackupFiles.posixError("create \(staging)") }
        let name = StoreBackup.dataFileName
        let copied = try BackupFiles.copy(directory + "/" + name, to: staging + "/" + name)
        guard backup.manifest.files.contains(copied) else {
            throw BackupError("\(directory)/\(name) changed while it was restored (its SHA-256 is no longer the manifest's)")
        }
        try StoreBackup.writeSlots(.signingState, in: staging, payloads: signingState.map { [$0] } ?? [])
        try StoreBackup.writeSlots(.decidedLog, in: staging, payloads: backup.decided)
        try StoreBackup.syncDirectory(staging)
        if movingAside {
            let aside = dataDir + ".before-restore-\(Int(Date().timeIntervalSince1970))"
            guard rename(dataDir, aside) == 0 else { throw BackupFiles.posixError("move \(dataDir) to \(aside)") }
            print("moved the old data directory to \(aside)")
        } else if FileManager.default.fileExists(atPath: dataDir) {
            guard rmdir(dataDir) == 0 else { throw BackupFiles.posixError("remove the empty \(dataDir)") }
        }
        guard rename(staging, dataDir) == 0 else { throw BackupFiles.posixError("rename \(staging) to \(dataDir)") }
        try StoreBackup.syncDirectory(parent)
    }
}
