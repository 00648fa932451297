import ChainModel
import ChainState
import TotemCrypto

/// What `ChainStore.verifyAtStart` checked.
public struct StartupCheck: Sendable, Equatable {
    /// Heights of the newest blocks checked against their certificates (empty before block 1).
    public let blocks: ClosedRange<UInt64>?
    /// Records of the state tables, meta and validator history whose checksums were checked.
    public let records: Int
}

extension ChainStore {
    /// Checks, before the node serves or signs anything, what it would serve and sign on: the
    /// checksum of every record of the state tables, the meta record and the validator history;
    /// and the newest `StoreLimits.startupVerifiedBlockCount` blocks: each decodes, carries the tx
    /// root and count of its header, names the block before it as parent, and has a certificate
    /// for its hash signed by a quorum of the set in force; the tip block's hash and state root
    /// are the meta record's. Throws `.corrupted` naming what is damaged.
    public func verifyAtStart() throws -> StartupCheck {
        let records = try checkRecords([databases.meta, databases.validatorHistory] + StateTable.allCases.map { databases.table($0) })
        let tip = try tip()
        guard tip.height > 0 else { return StartupCheck(blocks: nil, records: records) }
        var first = tip.height > UInt64(StoreLimits.startupVerifiedBlockCount)
            ? tip.height - UInt64(StoreLimits.startupVerifiedBlockCount) + 1 : 1
        // A state-synced store holds blocks from its base + 1 only (the base header is checked
        // as the parent of the first).
        if let base = try stateSyncBase()?.header.height {
            guard tip.height > base else { return StartupCheck(blocks: nil, records: records) }
            first = max(first, base + 1)
        }
        try verifyBlocks(first...tip.height, tip: tip, namingSets: false) { _ in }
        return StartupCheck(blocks: first...tip.height, records: records)
    }

    /// Checks the whole store, as `totemd backup verify` does for a copy: the checksum of every
    /// record of every database, and every block from 1 to the tip as `verifyAtStart` checks the
    /// newest ones and also that its header names the validator sets the store holds for its height
    /// and the next (`validatorSetHash`, `nextValidatorSetHash`). The genesis set was checked
    /// against the genesis file when the store opened, and each later set is named by a header its
    /// predecessor certified: every certificate is checked against a set certified from genesis
    /// on. Reads one block at a time; calls `progress` with each height checked. Throws
    /// `.corrupted` naming the height and what failed.
    public func verifyWhole(progress: (UInt64) -> Void = { _ in }) throws -> StartupCheck {
        // Blocks first, so damage in one is reported with its height rather than its key.
        let tip = try tip()
        let first = (try stateSyncBase()?.header.height).map { $0 + 1 } ?? 1
        if tip.height >= first { try verifyBlocks(first...tip.height, tip: tip, namingSets: true, progress: progress) }
        let records = try checkRecords(environment.databases)
        return StartupCheck(blocks: tip.height >= first ? first...tip.height : nil, records: records)
    }

    /// Reads every record of `tables` (each read checks its checksum); returns how many.
    private func checkRecords(_ tables: [Database]) throws -> Int {
        var records = 0
        try environment.read { txn in
            for db in tables {
                try txn.scan(db) { _ in
                    records += 1
                    return true
                }
            }
        }
        return records
    }

    /// Checks the blocks of `heights` in order (see `verifyStoredBlock`), the last one against the
    /// meta record's tip.
    private func verifyBlocks(_ heights: ClosedRange<UInt64>, tip: ChainTip, namingSets: Bool,
                              progress: (UInt64) -> Void) throws {
        var parentHash = heights.lowerBound == 1 ? genesisHash : try header(at: heights.lowerBound - 1)?.hash
        for height in heights {
            parentHash = try verifyStoredBlock(at: height, parentHash: parentHash, namingSets: namingSets)
            progress(height)
        }
        guard parentHash == tip.lastBlockHash, try header(at: tip.height)?.stateRoot == tip.stateRoot else {
            throw startupDamage("the meta record's tip (block hash, state root) is not block \(tip.height)'s")
        }
    }

    /// Checks the stored block at `height` (see `verifyAtStart`); returns its hash.
    /// With `namingSets`, also that the header names the stored sets of `height` and `height + 1`.
    private func verifyStoredBlock(at height: UInt64, parentHash: Bytes32?, namingSets: Bool) throws -> Bytes32 {
        let read: (Block?, CommitCertificate?, ValidatorSet?)
        do {
            read = (try block(at: height), try certificate(at: height), try validatorSet(at: height))
        } catch let error as StoreError {
            throw StoreError(error.code, "reading block \(height): \(error.message)", status: error.status)
        }
        guard let block = read.0, let certificate = read.1, let validators = read.2 else {
            throw startupDamage("block \(height), its certificate or its validator set is missing")
        }
        let header = block.header
        guard header.height == height, Int(header.txCount) == block.txs.count, header.txRoot == Block.txRoot(block.txs) else {
            throw startupDamage("block \(height) does not match its header (height, tx count or tx root)")
        }
        if let parentHash, header.parentHash != parentHash {
            throw startupDamage("block \(height) does not name block \(height - 1) as its parent")
        }
        if namingSets {
            guard header.validatorSetHash == validators.hash,
                  header.nextValidatorSetHash == (try validatorSet(at: height + 1))?.hash else {
                throw startupDamage("block \(height) does not name the stored validator sets of heights \(height) and \(height + 1)")
            }
        }
        do {
            try certificate.verify(blockHash: block.hash, headerHeight: height, headerView: header.view,
                                   validators: validators, genesisHash: genesisHash)
        } catch {
            throw startupDamage("the certificate of block \(height) does not certify it (\(error))")
        }
        return block.hash
    }

    private func startupDamage(_ what: String) -> StoreError {
        StoreError(.corrupted, "\(environment.directory)/data.mdb is damaged: \(what); " + StoreError.restoreAdvice)
    }
}
