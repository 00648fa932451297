import ArgumentParser
import ChainModel
import Foundation
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// `totemd backup verify DIR --genesis FILE`.
struct BackupVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a backup against the genesis file and its own signed headers.",
        discussion: """
            Checks the manifest, each file's size and SHA-256, the checksum of every record of the \
            store, every block from 1 with its commit certificate against validator sets certified \
            from the genesis set on, the store's tip against the last block and the manifest, and the \
            slot files. One line per check; exits 1 when one fails.
            """)
    @Argument(help: "The backup directory.") var directory: String
    @Option(name: .long, help: "The chain's genesis file (the trust root).") var genesis: String

    func run() async throws {
        let genesisValue: Genesis
        do {
            genesisValue = try Genesis.parse(fileBytes: try BackupFiles.readSmall(genesis, maxBytes: GenesisLimits.fileMaxBytes))
        } catch {
            throw ValidationError("\(genesis): \(error)")
        }
        var report = DoctorReport(name: "backup verify")
        _ = await BackupCheck.run(directory, genesis: genesisValue, &report)
        report.print()
        if report.failed { throw ExitCode(1) }
    }
}

/// What `backup verify` checks and `backup restore` requires.
enum BackupCheck {
    /// A backup that passed every check.
    struct Verified {
        let manifest: BackupManifest
        /// The signing state's record and position, if the backup holds one.
        let signing: (payload: [UInt8], position: SigningPosition)?
        /// The decided-block records (oldest first).
        let decided: [[UInt8]]
    }

    /// Runs the checks on the backup in `directory`, adding one line per check to `report`;
    /// returns the backup when every check passed.
    static func run(_ directory: String, genesis: Genesis, _ report: inout DoctorReport) async -> Verified? {
        let manifest: BackupManifest
        do {
            manifest = try BackupManifest.read(directory: directory)
            report.ok("manifest", "chain \(manifest.chainId) at height \(manifest.height), taken from node "
                      + "\(manifest.nodePublicKey.prefix(16))… at \(manifest.createdAtMs) ms")
        } catch {
            report.fail("manifest", "\(error)")
            return nil
        }
        guard manifest.genesisHash == genesis.genesisHash.hex else {
            report.fail("genesis", "the backup is of genesis \(manifest.genesisHash), the file given has \(genesis.genesisHash.hex)")
            return nil
        }
        report.ok("genesis", "hash \(genesis.genesisHash.hex) as the manifest says")
        let filesIntact = checkFiles(directory, manifest, &report)
        // A file the manifest does not match is still checked for what it holds: where the damage
        // sits (a block's height) is worth knowing. Without data.mdb there is nothing to open.
        guard access(directory + "/" + StoreBackup.dataFileName, F_OK) == 0 else { return nil }
        // LMDB trusts its page structure: what was found so far is out before it reads a damaged file.
        report.printPending()
        let store = await checkStore(directory, genesis: genesis, manifest: manifest, &report)
        guard filesIntact, let store else { return nil }
        return Verified(manifest: manifest, signing: store.signing, decided: store.decided)
    }

    /// Size and SHA-256 of each file against the manifest.
    private static func checkFiles(_ directory: String, _ manifest: BackupManifest, _ report: inout DoctorReport) -> Bool {
        var intact = true
        var bytes = 0
        for name in BackupManifest.fileNames {
            guard let recorded = manifest.files.first(where: { $0.name == name }) else {
                report.fail("files", "the manifest does not list \(name)")
                intact = false
                continue
            }
            do {
                let found = try BackupFiles.digest(directory + "/" + name)
                if found != recorded {
                    report.fail("files", "\(name) differs from the manifest: \(found.bytes) bytes, SHA-256 \(found.sha256.prefix(16))…, "
                                + "recorded \(recorded.bytes) bytes, \(recorded.sha256.prefix(16))… (changed or damaged since the backup)")
                    intact = false
                }
                bytes += found.bytes
            } catch {
                report.fail("files", "\(error)")
                intact = false
            }
        }
        if intact { report.ok("files", "\(BackupManifest.fileNames.count) files, \(bytes >> 10) KiB, sizes and SHA-256 as recorded") }
        return intact
    }

    private struct StoreFindings {
        let signing: (payload: [UInt8], position: SigningPosition)?
        let decided: [[UInt8]]
    }

    /// The store's records, blocks and tip, then the slot files against the store.
    private static func checkStore(_ directory: String, genesis: Genesis, manifest: BackupManifest,
                                   _ report: inout DoctorReport) async -> StoreFindings? {
        do {
            let outcome = try await BackupCommands.withStore(directory, genesis: genesis) { store in
                var lines: [(ok: Bool, check: String, detail: String)] = []
                let checked = try store.verifyWhole()
                let tip = try store.tip()
                lines.append((true, "chain", tip.height == 0 ? "no block yet; \(checked.records) records checksummed" : "blocks 1…\(tip.height), each certified by a quorum of a validator set certified "
                              + "from the genesis set on; \(checked.records) records checksummed; tip as the meta record says"))
                let tipMatches = tip.height == manifest.height && tip.lastBlockHash.hex == manifest.blockHash
                    && tip.stateRoot.hex == manifest.stateRoot
                lines.append((tipMatches, "tip", tipMatches ? "height \(tip.height), block \(tip.lastBlockHash.hex.prefix(16))…"
                              : "the store ends at height \(tip.height) block \(tip.lastBlockHash.hex), the manifest says "
                              + "\(manifest.height) block \(manifest.blockHash)"))
                let logged = try store.loggedBlocksAboveTip()
                var parent = tip.lastBlockHash
                for entry in logged {
                    guard entry.block.header.parentHash == parent, let set = try store.validatorSet(at: entry.block.height) else {
                        throw BackupError("decided-block record of height \(entry.block.height) does not extend the store")
                    }
                    do {
                        try entry.certificate.verify(blockHash: entry.block.hash, headerHeight: entry.block.height,
                                                     headerView: entry.block.header.view, validators: set,
                                                     genesisHash: genesis.genesisHash)
                    } catch {
                        throw BackupError("decided-block record of height \(entry.block.height): \(error)")
                    }
                    parent = entry.block.hash
                }
                lines.append((true, "decided", "\(logged.count) decided block(s) above the tip, certified"))
                var signing: (payload: [UInt8], position: SigningPosition)?
                if let payload = try store.signingState() {
                    let position = try BackupCommands.position(payload, genesis)
                    let limit = tip.height + 1 + UInt64(logged.count)
                    lines.append((position.height <= limit, "signing", position.height <= limit
                                  ? "signing state at \(position) (copied with the store, not ahead of it)"
                                  : "signing state at \(position) is ahead of the copied chain (blocks up to \(limit - 1)): "
                                  + "the files are not one backup"))
                    signing = (payload, position)
                } else {
                    lines.append((true, "signing", "no signing state (the node never signed)"))
                }
                return (lines, StoreFindings(signing: signing, decided: try decidedPayloads(directory)))
            }
            for line in outcome.0 { line.ok ? report.ok(line.check, line.detail) : report.fail(line.check, line.detail) }
            return outcome.0.allSatisfy(\.ok) ? outcome.1 : nil
        } catch let error as StoreError {
            report.fail("chain", error.message)
        } catch {
            report.fail("chain", "\(error)")
        }
        return nil
    }

    private static func decidedPayloads(_ directory: String) throws -> [[UInt8]] {
        try StoreBackup.readSlots(.decidedLog, in: directory)?.payloads ?? []
    }
}
