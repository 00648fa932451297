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
        var records = 0
        let tables = [databases.meta, databases.validatorHistory] + StateTable.allCases.map { databases.table($0) }
        try environment.read { txn in
            for db in tables {
                try txn.scan(db) { _ in
                    records += 1
                    return true
                }
            }
        }
        let tip = try tip()
        guard tip.height > 0 else { return StartupCheck(blocks: nil, records: records) }
        let first = tip.height > UInt64(StoreLimits.startupVerifiedBlockCount)
            ? tip.height - UInt64(StoreLimits.startupVerifiedBlockCount) + 1 : 1
        var parentHash = first == 1 ? genesisHash : try header(at: first - 1)?.hash
        for height in first...tip.height {
            parentHash = try verifyStoredBlock(at: height, parentHash: parentHash)
        }
        guard parentHash == tip.lastBlockHash, try header(at: tip.height)?.stateRoot == tip.stateRoot else {
            throw startupDamage("the meta record's tip (block hash, state root) is not block \(tip.height)'s")
        }
        return StartupCheck(blocks: first...tip.height, records: records)
    }

    /// Checks the stored block at `height` (see `verifyAtStart`); returns its hash.
    private func verifyStoredBlock(at height: UInt64, parentHash: Bytes32?) throws -> Bytes32 {
        guard let block = try block(at: height), let certificate = try certificate(at: height),
              let validators = try validatorSet(at: height) else {
            throw startupDamage("block \(height), its certificate or its validator set is missing")
        }
        let header = block.header
        guard header.height == height, Int(header.txCount) == block.txs.count, header.txRoot == Block.txRoot(block.txs) else {
            throw startupDamage("block \(height) does not match its header (height, tx count or tx root)")
        }
        if let parentHash, header.parentHash != parentHash {
            throw startupDamage("block \(height) does not name block \(height - 1) as its parent")
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
