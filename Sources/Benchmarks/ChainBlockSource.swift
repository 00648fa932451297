import ChainModel
import ChainState
import Storage
import TotemCrypto

/// Real blocks committed through `ChainStore.write`: signed RegisterWork transactions, a header
/// with a correct parent, tx root and chained state root, a certificate signed by the single
/// validator, and state changes that register works, index them by owner, bump nonces and delete
/// owner-index entries of the block three below. Deterministic in the height and the stored tip,
/// so the crash-safety harness can drive the real commit path. (The state changes stand in for
/// what the state machine will produce; the store treats them as bytes either way.)
public struct ChainBlockSource: StoreBlockSource {
    /// The chain id of the harness chain's transactions and headers.
    public static let chainId = "totem-store-harness"
    /// Distinct senders the harness transactions cycle through.
    public static let senderCount = 8

    /// The chain store the blocks are committed to.
    public let store: ChainStore
    /// RegisterWork transactions per block.
    public let transactionsPerBlock: Int
    private let validator: SigningKey
    private let senders: [SigningKey]

    /// Opens (or creates) a harness chain store in `directory`.
    public init(directory: String, transactionsPerBlock: Int = 40,
                options: LMDBEnvironment.Options = .init()) throws {
        precondition(transactionsPerBlock >= 1, "a harness block needs a transaction")
        validator = SigningKey(seed: SHA256.hash(Array("totem harness validator".utf8)))
        senders = (0..<Self.senderCount).map { SigningKey(seed: SHA256.hash(Array("totem harness sender \($0)".utf8))) }
        guard let set = ValidatorSet([validator.publicKey]) else { preconditionFailure("one key is a valid set") }
        store = try ChainStore(directory: directory, genesisHash: Self.genesisHash, genesisValidators: set,
                               options: options)
        self.transactionsPerBlock = transactionsPerBlock
    }

    /// The harness chain's genesis hash (a constant: there is no genesis file).
    public static var genesisHash: Bytes32 { SHA256.hash(Array("totem harness genesis".utf8)) }

    public func writeBlock(height: UInt64, into txn: WriteTxn) throws {
        let made = try block(height: height, on: txn)
        try store.write(made.block, certificate: made.certificate, changes: made.changes, into: txn)
    }

    /// Block `height` with its certificate and state changes, built on the tip `txn` sees (which
    /// must be at `height - 1`): what `writeBlock` writes, for callers that commit it through
    /// `ChainStore`'s own steps (the power-cut child logs it, then commits it).
    public func block(height: UInt64, on txn: ReadTxn) throws
        -> (block: Block, certificate: CommitCertificate, changes: StateChanges) {
        let tip = try ChainStore.tip(txn, store.databases, genesisHash: Self.genesisHash)
        precondition(tip.height + 1 == height, "harness block \(height) on tip \(tip.height)")
        var changes = StateChanges()
        var txs: [SignedTx] = []
        var nextNonce: [Int: UInt64] = [:]
        for index in 0..<transactionsPerBlock {
            let s = index % Self.senderCount
            let sender = senders[s]
            let nonce = try nextNonce[s] ?? storedNonce(sender.publicKey, txn) + 1
            nextNonce[s] = nonce + 1
            let work = Work(contentHash: SyntheticBlockSource.itemHash(height, index, tag: 7),
                            imageCode: UInt64(truncatingIfNeeded: height &* 0x9E37_79B9 &+ UInt64(index)),
                            title: "work \(height).\(index)", mediaType: "image/jpeg",
                            width: 640, height: 480, license: "all rights reserved")
            let tx = Tx(chainId: Self.chainId, sender: sender.publicKey, nonce: nonce, payload: .registerWork(work))
            txs.append(tx.signed(by: sender, genesisHash: Self.genesisHash))
            changes.put(.works, work.contentHash.bytes, work.encoded + sender.publicKey.bytes)
            changes.put(.worksByOwner, Self.ownerKey(sender.publicKey, height, work.contentHash), [])
            changes.put(.nonces, sender.publicKey.bytes, StoreKey.u64(nonce))
            if height > 3 {
                let old = SyntheticBlockSource.itemHash(height - 3, index, tag: 7)
                changes.delete(.worksByOwner, Self.ownerKey(sender.publicKey, height - 3, old))
            }
        }
        let header = Header(chainId: Self.chainId, height: height, view: 0, timestampMs: height * 1_000,
                            parentHash: tip.lastBlockHash, txRoot: Block.txRoot(txs), txCount: UInt32(txs.count),
                            stateRoot: StateRoot.next(parent: tip.stateRoot, changesHash: changes.hash),
                            validatorSetHash: ValidatorSet.hash(sortedKeys: [validator.publicKey]),
                            nextValidatorSetHash: ValidatorSet.hash(sortedKeys: [validator.publicKey]),
                            proposer: validator.publicKey)
        let vote = VoteBody(height: height, view: 0, blockHash: header.hash)
        let certificate = CommitCertificate(height: height, view: 0, signatures: [
            ValidatorSignature(validator: validator.publicKey,
                               signature: vote.sign(.commit, key: validator, genesisHash: Self.genesisHash)),
        ])
        return (Block(header: header, txs: txs), certificate, changes)
    }

    /// Stores the decided blocks a crash left in the log but not in LMDB, as the node does at
    /// start (`ChainService.applyLoggedBlocks`: one synced write each), with this source's state
    /// changes. Each must be the block this source builds at its height. Returns how many it stored.
    @discardableResult
    public func storeLoggedBlocks() throws -> Int {
        let logged = try store.loggedBlocksAboveTip()
        for entry in logged {
            try store.environment.write { txn in
                let made = try block(height: entry.block.height, on: txn)
                guard made.block.hash == entry.block.hash else {
                    throw StoreError(.corrupted, "the logged block \(entry.block.height) is not the harness block of its height")
                }
                try store.write(entry.block, certificate: entry.certificate, changes: made.changes, into: txn)
            }
            try store.environment.sync()
        }
        return logged.count
    }

    private func storedNonce(_ sender: Bytes32, _ txn: ReadTxn) throws -> UInt64 {
        let stored = try txn.withValue(store.databases.nonces, key: sender.bytes) { StoreKey.readU64($0) }
        return (stored ?? nil) ?? 0
    }

    private static func ownerKey(_ owner: Bytes32, _ height: UInt64, _ contentHash: Bytes32) -> [UInt8] {
        var key = StoreKey(capacity: 72)
        key.append(owner)
        key.append(height)
        key.append(contentHash)
        return key.bytes
    }
}
