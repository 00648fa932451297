import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState
@testable import Storage

@Suite struct StoreChainStoreTests {
    static let genesisHash = SHA256.hash(Array("chain store test genesis".utf8))
    static let validator = SigningKey(seed: SHA256.hash(Array("chain store test validator".utf8)))
    static let sender = SigningKey(seed: SHA256.hash(Array("chain store test sender".utf8)))
    static var validators: ValidatorSet { ValidatorSet([validator.publicKey])! }

    static func open(_ dir: TemporaryDirectory, genesis: Bytes32 = genesisHash) throws -> ChainStore {
        try ChainStore(directory: dir.sub("chain"), genesisHash: genesis, genesisValidators: validators)
    }

    /// The data directory is locked while a store has it: another holder (another process, in
    /// production) is refused with a message saying so, and the directory is free once the store
    /// is gone.
    @Test func aDataDirectoryHeldByAnotherOpenerIsRefused() async throws {
        let dir = try TemporaryDirectory()
        let other = try DirectoryLock(dir.sub("chain"))
        do {
            _ = try Self.open(dir)
            Issue.record("a store opened a data directory another opener holds")
        } catch let error as StoreError {
            #expect(error.code == .alreadyOpen)
            #expect(error.message.contains("in use by another process"))
        }
        other.release()
        do {
            let store = try Self.open(dir)
            await store.shutdown()
        }
        // The store is gone: its lock went with it.
        let again = try DirectoryLock(dir.sub("chain"))
        again.release()
    }

    /// Block `tip.height + 1` registering `works` (nonces from `firstNonce`), its certificate and changes.
    static func nextBlock(on tip: ChainTip, works: [Work], firstNonce: UInt64 = 1)
        -> (Block, CommitCertificate, StateChanges) {
        var changes = StateChanges()
        var txs: [SignedTx] = []
        for (i, work) in works.enumerated() {
            let tx = Tx(chainId: "test", sender: sender.publicKey, nonce: firstNonce + UInt64(i), payload: .registerWork(work))
            txs.append(tx.signed(by: sender, genesisHash: genesisHash))
            changes.put(.works, work.contentHash.bytes, work.encoded)
            changes.put(.nonces, sender.publicKey.bytes, StoreKey.u64(firstNonce + UInt64(i)))
        }
        let height = tip.height + 1
        let header = Header(chainId: "test", height: height, view: 0, timestampMs: height, parentHash: tip.lastBlockHash,
                            txRoot: Block.txRoot(txs), txCount: UInt32(txs.count),
                            stateRoot: StateRoot.next(parent: tip.stateRoot, changesHash: changes.hash),
                            validatorSetHash: validators.hash, nextValidatorSetHash: validators.hash,
                            proposer: validator.publicKey)
        let certificate = CommitCertificate(height: height, view: 0, signatures: [
            ValidatorSignature(validator: validator.publicKey,
                               signature: VoteBody(height: height, view: 0, blockHash: header.hash)
                                   .sign(.commit, key: validator, genesisHash: genesisHash)),
        ])
        return (Block(header: header, txs: txs), certificate, changes)
    }

    static func work(_ n: Int, code: UInt64? = nil) -> Work {
        Work(contentHash: SHA256.hash(Array("work \(n)".utf8)), imageCode: code, title: "w\(n)", mediaType: "image/png",
             width: 10, height: 10, license: "")
    }

    @Test func commitWritesEverythingAndReadsBack() async throws {
        let dir = try TemporaryDirectory("chainstore")
        let store = try Self.open(dir)
        let genesisTip = try store.tip()
        #expect(genesisTip == ChainTip(height: 0, lastBlockHash: Self.genesisHash, stateRoot: Self.genesisHash))
        let (block, certificate, changes) = Self.nextBlock(on: genesisTip, works: [Self.work(1, code: 0xABCD), Self.work(2)])
        let tip = try await store.commit(block, certificate: certificate, changes: changes)
        #expect(tip == ChainTip(height: 1, lastBlockHash: block.hash, stateRoot: block.header.stateRoot))
        #expect(try store.tip() == tip)
        #expect(try store.block(at: 1) == block)
        #expect(try store.block(at: 2) == nil)
        #expect(try store.certificate(at: 1) == certificate)
        #expect(try store.location(ofTx: block.txs[1].hash) == TxLocation(height: 1, index: 1))
        #expect(try store.location(ofTx: Bytes32.zero) == nil)
        let stored = try store.withState { state in
            (state.get(.works, Self.work(1).contentHash.bytes), state.get(.nonces, Self.sender.publicKey.bytes))
        }
        #expect(stored.0 == Self.work(1, code: 0xABCD).encoded)
        #expect(stored.1 == StoreKey.u64(2))
        let codes = try store.environment.read { try $0.entries(store.databases.imageCodes).map(\.key) }
        var expectedCode = StoreKey()
        expectedCode.append(UInt64(0xABCD))
        expectedCode.append(Self.work(1).contentHash)
        #expect(codes == [expectedCode.bytes], "only works with an image code are indexed")
        await store.shutdown()
    }

    /// Header-only and single-tx reads give what the whole block gives, without decoding the rest.
    @Test func headerAndSingleTxReadsMatchTheBlock() async throws {
        let dir = try TemporaryDirectory("chainstore-reads")
        let store = try Self.open(dir)
        let (block, certificate, changes) = Self.nextBlock(on: try store.tip(), works: (1...7).map { Self.work($0) })
        try await store.commit(block, certificate: certificate, changes: changes)
        #expect(try store.header(at: 1) == block.header)
        #expect(try store.header(at: 2) == nil)
        for (i, tx) in block.txs.enumerated() {
            let location = try #require(try store.location(ofTx: tx.hash))
            #expect(try store.tx(at: location) == tx, "tx \(i)")
        }
        #expect(try store.tx(at: TxLocation(height: 1, index: 7)) == nil)
        #expect(try store.tx(at: TxLocation(height: 2, index: 0)) == nil)
        await store.shutdown()
    }

    @Test func theStateMachineReadsThroughAnOverlay() async throws {
        let dir = try TemporaryDirectory("chainstore-overlay")
        let store = try Self.open(dir)
        let (block, certificate, changes) = Self.nextBlock(on: try store.tip(), works: [Self.work(1)])
        try await store.commit(block, certificate: certificate, changes: changes)
        let seen = try store.withState { state in
            var overlay = OverlayState(base: state)
            overlay.delete(.works, Self.work(1).contentHash.bytes)
            overlay.put(.works, Self.work(9).contentHash.bytes, [9])
            return (overlay.get(.works, Self.work(1).contentHash.bytes), overlay.get(.works, Self.work(9).contentHash.bytes),
                    state.get(.works, Self.work(1).contentHash.bytes) != nil)
        }
        #expect(seen.0 == nil)
        #expect(seen.1 == [9])
        #expect(seen.2, "the overlay does not write through")
        await store.shutdown()
    }

    @Test func deletesInChangesRemoveStateEntries() async throws {
        let dir = try TemporaryDirectory("chainstore-delete")
        let store = try Self.open(dir)
        let first = Self.nextBlock(on: try store.tip(), works: [Self.work(1)])
        let tip = try await store.commit(first.0, certificate: first.1, changes: first.2)
        var second = Self.nextBlock(on: tip, works: [Self.work(2)], firstNonce: 2)
        second.2.delete(.works, Self.work(1).contentHash.bytes)
        // Re-derive the header's state root for the extra delete.
        var header = second.0.header
        header.stateRoot = StateRoot.next(parent: tip.stateRoot, changesHash: second.2.hash)
        let block = Block(header: header, txs: second.0.txs)
        let certificate = CommitCertificate(height: 2, view: 0, signatures: second.1.signatures)
        try await store.commit(block, certificate: certificate, changes: second.2)
        let works = try store.withState { ($0.get(.works, Self.work(1).contentHash.bytes), $0.get(.works, Self.work(2).contentHash.bytes)) }
        #expect(works.0 == nil)
        #expect(works.1 == Self.work(2).encoded)
        await store.shutdown()
    }

    @Test(arguments: ["height", "parent", "stateRoot", "certificate", "txCount"])
    func aCommitThatDoesNotExtendTheTipWritesNothing(broken: String) async throws {
        let dir = try TemporaryDirectory("chainstore-invalid")
        let store = try Self.open(dir)
        var (block, certificate, changes) = Self.nextBlock(on: try store.tip(), works: [Self.work(1)])
        switch broken {
        case "height": block.header.height = 2
        case "parent": block.header.parentHash = Bytes32.zero
        case "stateRoot": changes.put(.nonces, [1], [1])
        case "certificate": certificate = CommitCertificate(height: 5, view: 0, signatures: certificate.signatures)
        default: block.header.txCount = 3
        }
        do {
            try await store.commit(block, certificate: certificate, changes: changes)
            Issue.record("a block with a wrong \(broken) was committed")
        } catch let error as StoreError {
            #expect(error.code == .invalidCommit)
        }
        #expect(try store.tip().height == 0)
        let counts = try store.environment.read { txn in
            try store.environment.databases.map { try txn.count($0) }.reduce(0, +)
        }
        // Only the records written when the store was created: genesis hash, schema version, genesis set.
        #expect(counts == 3)
        await store.shutdown()
    }

    @Test func aTransactionCannotBeCommittedTwice() async throws {
        let dir = try TemporaryDirectory("chainstore-repeat")
        let store = try Self.open(dir)
        let first = Self.nextBlock(on: try store.tip(), works: [Self.work(1)])
        let tip = try await store.commit(first.0, certificate: first.1, changes: first.2)
        let changes = StateChanges()
        let header = Header(chainId: "test", height: 2, view: 0, timestampMs: 2, parentHash: tip.lastBlockHash,
                            txRoot: Block.txRoot(first.0.txs), txCount: 1,
                            stateRoot: StateRoot.next(parent: tip.stateRoot, changesHash: changes.hash),
                            validatorSetHash: Self.validators.hash, nextValidatorSetHash: Self.validators.hash,
                            proposer: Self.validator.publicKey)
        do {
            try await store.commit(Block(header: header, txs: first.0.txs),
                                   certificate: CommitCertificate(height: 2, view: 0, signatures: []), changes: changes)
            Issue.record("a repeated transaction was committed")
        } catch let error as StoreError {
            #expect(error.code == .invalidCommit)
        }
        #expect(try store.tip() == tip)
        await store.shutdown()
    }

    @Test func aStoreRefusesAnotherChainAndKeepsItsTipAcrossReopen() async throws {
        let dir = try TemporaryDirectory("chainstore-reopen")
        var tip: ChainTip
        do {
            let store = try Self.open(dir)
            let (block, certificate, changes) = Self.nextBlock(on: try store.tip(), works: [Self.work(1)])
            tip = try await store.commit(block, certificate: certificate, changes: changes)
            await store.shutdown()
        }
        do {
            _ = try Self.open(dir, genesis: Bytes32.zero)
            Issue.record("a store opened for another genesis")
        } catch let error as StoreError {
            #expect(error.code == .wrongChain)
        }
        let store = try Self.open(dir)
        #expect(try store.tip() == tip)
        await store.shutdown()
    }

    @Test func blocksAreFoundByHashAndAnOlderStoreGetsItsIndexAtOpen() async throws {
        let dir = try TemporaryDirectory("chainstore-block-hashes")
        var blocks: [Block] = []
        do {
            let store = try Self.open(dir)
            for n in 1...3 {
                let (block, certificate, changes) = Self.nextBlock(on: try store.tip(), works: [Self.work(n)], firstNonce: UInt64(n))
                _ = try await store.commit(block, certificate: certificate, changes: changes)
                blocks.append(block)
            }
            for b in blocks { #expect(try store.read { try $0.height(ofBlock: b.hash) } == b.height) }
            #expect(try store.read { try $0.height(ofBlock: Self.genesisHash) } == nil)
            // A store written before the index existed: the same data without it.
            let dbs = store.databases
            try store.environment.write { txn in try txn.deleteAll(dbs.blockHashes) }
            #expect(try store.read { try $0.height(ofBlock: blocks[0].hash) } == nil)
            await store.shutdown()
        }
        let store = try Self.open(dir)
        for b in blocks { #expect(try store.read { try $0.height(ofBlock: b.hash) } == b.height) }
        #expect(try store.environment.read { try $0.count(store.databases.blockHashes) } == 3)
        await store.shutdown()
    }

    @Test func validatorSetHistoryAnswersTheSetInForceAtEachHeight() async throws {
        let dir = try TemporaryDirectory("chainstore-validators")
        let store = try Self.open(dir)
        let newSet = ValidatorSet([Self.validator.publicKey, Self.sender.publicKey])!
        var tip = try store.tip()
        for height in 1...3 as ClosedRange<UInt64> {
            let (block, certificate, changes) = Self.nextBlock(on: tip, works: [Self.work(Int(height))], firstNonce: height)
            tip = try await store.commit(block, certificate: certificate, changes: changes,
                                         adoptedValidatorSet: height == 2 ? newSet : nil)
        }
        #expect(try store.validatorSet(at: 0) == nil)
        #expect(try store.validatorSet(at: 1) == Self.validators)
        #expect(try store.validatorSet(at: 3) == Self.validators, "a change adopted at 2 is not in force at 3")
        #expect(try store.validatorSet(at: 4) == newSet)
        #expect(try store.validatorSet(at: 1_000) == newSet)
        await store.shutdown()
    }

    @Test func signingStateIsDurable() async throws {
        let dir = try TemporaryDirectory("chainstore-signing")
        do {
            let store = try Self.open(dir)
            #expect(try store.signingState() == nil)
            try await store.persistSigningState([1, 2, 3])
            try await store.persistSigningState([4, 5])
            await store.shutdown()
        }
        let store = try Self.open(dir)
        #expect(try store.signingState() == [4, 5])
        await store.shutdown()
    }
}
