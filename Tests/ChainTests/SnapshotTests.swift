import Foundation
import Synchronization
import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState
@testable import Storage

/// Checkpoints and snapshots (PROTOCOL.md "Checkpoints"): the checkpoint encoding and its signing
/// domain, the certificate's quorum rule, the walk of the state into chunks, `snapshotRoot`, chunk
/// proofs, and a store filled from chunks, resumable through its progress record.
@Suite struct SnapshotTests {
    typealias T = StoreChainStoreTests

    static let checkpoint = Checkpoint(chainId: "test", height: 0x0102, blockHash: Bytes32(w0: 1, w1: 2, w2: 3, w3: 4),
                                       snapshotRoot: Bytes32(w0: 5, w1: 6, w2: 7, w3: 8), chunkCount: 3)

    @Test func theCheckpointEncodingIsItsFieldsInOrder() throws {
        let hex = Hex.encode(Self.checkpoint.encoded)
        #expect(hex == "00000004" + Hex.encode(Array("test".utf8)) + "0000000000000102"
                + "0000000000000001000000000000000200000000000000030000000000000004"
                + "0000000000000005000000000000000600000000000000070000000000000008" + "00000003")
        var r = TCEReader(Self.checkpoint.encoded)
        #expect(try Checkpoint.decode(from: &r) == Self.checkpoint)
        var zero = Self.checkpoint
        zero.chunkCount = 0
        var z = TCEReader(zero.encoded)
        #expect(throws: DecodeError.self) { try Checkpoint.decode(from: &z) }
    }

    @Test func aCheckpointSignatureIsOverItsDomainTheGenesisHashAndTheEncoding() throws {
        let key = SigningKey(seed: SHA256.hash(Array("checkpoint signer".utf8)))
        let signature = Self.checkpoint.sign(key: key, genesisHash: T.genesisHash)
        let message = Array("totem/checkpoint/v1".utf8) + [0] + T.genesisHash.bytes + Self.checkpoint.encoded
        #expect(SigningDomain.checkpoint.message(genesisHash: T.genesisHash, body: Self.checkpoint.encoded) == message)
        #expect(Self.checkpoint.verify(signature: signature, validator: key.publicKey, genesisHash: T.genesisHash))
        // The same body in the commit domain, or on another chain, does not verify.
        #expect(!Ed25519.verify(signature, .commit, genesisHash: T.genesisHash, body: Self.checkpoint.encoded,
                                publicKey: key.publicKey))
        #expect(!Self.checkpoint.verify(signature: signature, validator: key.publicKey, genesisHash: SHA256.hash([1])))
    }

    @Test func aCheckpointCertificateNeedsAQuorumOfDistinctMembers() throws {
        let keys = (0..<4).map { SigningKey(seed: SHA256.hash(Array("validator \($0)".utf8))) }
        let set = ValidatorSet(keys.map(\.publicKey))!
        func sig(_ k: SigningKey) -> ValidatorSignature {
            ValidatorSignature(validator: k.publicKey, signature: Self.checkpoint.sign(key: k, genesisHash: T.genesisHash))
        }
        let good = CheckpointCertificate(checkpoint: Self.checkpoint, signatures: keys.prefix(3).map(sig))
        try good.verify(chainId: "test", validators: set, genesisHash: T.genesisHash)
        #expect(try CheckpointCertificate.decode(good.encoded) == good)
        func code(_ c: CheckpointCertificate, chainId: String = "test") -> CheckpointError.Code? {
            do { try c.verify(chainId: chainId, validators: set, genesisHash: T.genesisHash); return nil } catch { return error.code }
        }
        #expect(code(CheckpointCertificate(checkpoint: Self.checkpoint, signatures: keys.prefix(2).map(sig))) == .checkpointBelowQuorum)
        #expect(code(CheckpointCertificate(checkpoint: Self.checkpoint, signatures: [sig(keys[0]), sig(keys[0]), sig(keys[1])]))
                == .checkpointDuplicateSigner)
        let outsider = SigningKey(seed: SHA256.hash(Array("outsider".utf8)))
        #expect(code(CheckpointCertificate(checkpoint: Self.checkpoint, signatures: [sig(keys[0]), sig(keys[1]), sig(outsider)]))
                == .checkpointNonMember)
        var forged = good
        forged.checkpoint.snapshotRoot = Bytes32(w0: 9, w1: 9, w2: 9, w3: 9)
        #expect(code(forged) == .checkpointBadSignature)
        #expect(code(good, chainId: "other") == .checkpointWrongChain)
    }

    @Test func aChunkRoundTripsAndRefusesDisorderAndUnknownTables() throws {
        let entries = [SnapshotEntry(table: .works, key: [1], value: [9]), SnapshotEntry(table: .works, key: [1, 0], value: []),
                       SnapshotEntry(table: .nonces, key: [0], value: [1, 2])]
        let encoded = SnapshotChunk.encode(entries)
        #expect(Hex.encode(encoded) == "00000003" + "03" + "0000000101" + "0000000109" + "03" + "000000020100" + "00000000"
                + "08" + "0000000100" + "000000020102")
        #expect(try SnapshotChunk.decode(encoded) == entries)
        #expect(throws: DecodeError.self) { try SnapshotChunk.decode(SnapshotChunk.encode([entries[1], entries[0]])) }
        #expect(throws: DecodeError.self) { try SnapshotChunk.decode(SnapshotChunk.encode([entries[0], entries[0]])) }
        #expect(throws: DecodeError.self) { try SnapshotChunk.decode(SnapshotChunk.encode([])) }
        var unknown = SnapshotChunk.encode([entries[0]])
        unknown[4] = 99
        #expect(throws: DecodeError.self) { try SnapshotChunk.decode(unknown) }
        #expect(throws: DecodeError.self) { try SnapshotChunk.decode(encoded + [0]) }
    }

    /// A store with `blocks` blocks of `worksPerBlock` works each (image codes on every other work).
    static func filledStore(_ dir: TemporaryDirectory, blocks: Int, worksPerBlock: Int) async throws -> ChainStore {
        let store = try T.open(dir)
        var tip = try store.tip()
        var nonce: UInt64 = 1
        for b in 0..<blocks {
            let works = (0..<worksPerBlock).map { T.work(b * worksPerBlock + $0, code: $0 % 2 == 0 ? UInt64(b * 1000 + $0) : nil) }
            let (block, certificate, changes) = T.nextBlock(on: tip, works: works, firstNonce: nonce)
            tip = try await store.commit(block, certificate: certificate, changes: changes)
            nonce += UInt64(worksPerBlock)
        }
        return store
    }

    /// Every record of the snapshot tables, in snapshot order.
    static func records(_ store: ChainStore) throws -> [SnapshotEntry] {
        try store.environment.read { txn in
            var out: [SnapshotEntry] = []
            for table in SnapshotTable.allCases {
                try txn.scan(table.database(store.databases)) { e in
                    out.append(SnapshotEntry(table: table, key: e.keyBytes, value: e.valueBytes))
                    return true
                }
            }
            return out
        }
    }

    @Test func theWalkCutsTheStateIntoBoundedChunksUnderOneRoot() async throws {
        let dir = try TemporaryDirectory("snapshot-walk")
        let store = try await Self.filledStore(dir, blocks: 6, worksPerBlock: 20)
        let tip = try store.tip()
        let base = dir.sub("snapshots")
        let chunkBytes = 4096
        let checkpoint = try store.environment.read { txn in
            try SnapshotFiles.write(txn, databases: store.databases, chainId: "test", height: tip.height,
                                    blockHash: tip.lastBlockHash, chunkBytes: chunkBytes, base: base)
        }
        #expect(checkpoint.height == 6 && checkpoint.blockHash == tip.lastBlockHash)
        #expect(checkpoint.chunkCount > 3, "120 works of ~150 bytes each do not fit in three 4 KiB chunks")
        #expect(SnapshotFiles.heights(base: base) == [6])
        var chunks: [[UInt8]] = []
        var walked: [SnapshotEntry] = []
        for i in 0..<checkpoint.chunkCount {
            let chunk = try SnapshotFiles.chunk(base: base, height: 6, index: i)
            #expect(chunk.count <= chunkBytes)
            chunks.append(chunk)
            walked += try SnapshotChunk.decode(chunk)
        }
        #expect(walked == (try Self.records(store)), "the chunks hold every record of the snapshot tables, in order")
        #expect(walked.contains { $0.table == .imageCodes } && walked.contains { $0.table == .validatorHistory })
        #expect(checkpoint.snapshotRoot == MerkleTree(leaves: chunks).root)
        #expect(try SnapshotFiles.checkpoint(base: base, height: 6) == checkpoint)
        // Every chunk checks against the root by its audit path; a changed byte or index does not.
        let tree = MerkleTree(leafHashes: try SnapshotFiles.leafHashes(base: base, height: 6))
        for (i, chunk) in chunks.enumerated() {
            try checkpoint.checkChunk(chunk, index: UInt32(i), proof: try tree.inclusionProof(index: i))
        }
        var bad = chunks[1]
        bad[bad.count - 1] ^= 1
        #expect(throws: MerkleError.self) { try checkpoint.checkChunk(bad, index: 1, proof: try tree.inclusionProof(index: 1)) }
        #expect(throws: MerkleError.self) { try checkpoint.checkChunk(chunks[1], index: 2, proof: try tree.inclusionProof(index: 1)) }
        // The walk is deterministic: a second one gives the same root.
        let again = try store.environment.read { txn in
            try SnapshotFiles.write(txn, databases: store.databases, chainId: "test", height: tip.height,
                                    blockHash: tip.lastBlockHash, chunkBytes: chunkBytes, base: dir.sub("again"))
        }
        #expect(again == checkpoint)
        await store.shutdown()
    }

    /// The read a checkpoint takes is begun right after its commit, before the next one: it sees
    /// the state of its height, whatever is committed while the walk waits; a catch-up run is cut
    /// at checkpoint heights so each is read as committed.
    @Test func theCheckpointReadSeesItsHeightWhateverIsCommittedAfter() async throws {
        let dir = try TemporaryDirectory("snapshot-hook")
        let store = try T.open(dir)
        let taken = Mutex<[(tip: ChainTip, read: DetachedRead)]>([])
        store.onCheckpoints(every: 2) { tip, read in taken.withLock { $0.append((tip, read)) } }
        var tip = try store.tip()
        for n in 1...3 {
            let (block, certificate, changes) = T.nextBlock(on: tip, works: [T.work(n)], firstNonce: UInt64(n))
            tip = try await store.commit(block, certificate: certificate, changes: changes)
        }
        var run: [(block: Block, certificate: CommitCertificate, changes: StateChanges, adoptedValidatorSet: ValidatorSet?)] = []
        var runTip = tip
        for n in 4...7 {
            let (block, certificate, changes) = T.nextBlock(on: runTip, works: [T.work(n)], firstNonce: UInt64(n))
            run.append((block, certificate, changes, nil))
            runTip = ChainTip(height: block.height, lastBlockHash: block.hash, stateRoot: block.header.stateRoot)
        }
        #expect(try await store.commitRun(run) == runTip)
        let reads = taken.withLock { $0 }
        #expect(reads.map(\.tip.height) == [2, 4, 6])
        for (checkpointTip, read) in reads {
            let seen = try read.run { txn in
                (tip: try ChainStore.tip(txn, store.databases, genesisHash: T.genesisHash), works: try txn.count(store.databases.works))
            }
            #expect(seen.tip == checkpointTip, "the read is of its checkpoint's commit, not of a later one")
            #expect(seen.works == Int(checkpointTip.height))
        }
        await store.shutdown()
    }

    /// A walk that fails midway (here a record above the snapshot limit, after the chunks of the
    /// tables before it; on a node, usually a full disk) leaves no partial directory holding space.
    @Test func aFailedWalkRemovesWhatItWrote() async throws {
        let dir = try TemporaryDirectory("snapshot-failed")
        let store = try await Self.filledStore(dir, blocks: 2, worksPerBlock: 20)
        let tip = try store.tip()
        let base = dir.sub("snapshots")
        try store.environment.write { txn in
            try txn.put(store.databases.table(.transfers), key: [1], value: [UInt8](repeating: 7, count: SnapshotLimits.valueMaxBytes + 1))
        }
        #expect(throws: StoreError.self) {
            try store.environment.read { txn in
                try SnapshotFiles.write(txn, databases: store.databases, chainId: "test", height: tip.height,
                                        blockHash: tip.lastBlockHash, chunkBytes: 4096, base: base)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: base).isEmpty, "no partial directory is left")
        await store.shutdown()
    }

    @Test func prunedSnapshotsKeepTheNewestAndDropPartials() throws {
        let dir = try TemporaryDirectory("snapshot-prune")
        let base = dir.sub("snapshots")
        for name in ["10", "20", "30", "40.partial"] {
            try FileManager.default.createDirectory(atPath: base + "/" + name, withIntermediateDirectories: true)
        }
        SnapshotFiles.prune(base: base, keep: 2)
        #expect(SnapshotFiles.heights(base: base) == [20, 30])
        #expect(!FileManager.default.fileExists(atPath: base + "/40.partial"))
    }

    @Test func aStoreFilledFromChunksResumesAndEndsAtTheCheckpoint() async throws {
        let source = try TemporaryDirectory("snapshot-source")
        let store = try await Self.filledStore(source, blocks: 4, worksPerBlock: 20)
        let tip = try store.tip()
        let base = source.sub("snapshots")
        let checkpoint = try store.environment.read { txn in
            try SnapshotFiles.write(txn, databases: store.databases, chainId: "test", height: tip.height,
                                    blockHash: tip.lastBlockHash, chunkBytes: 4096, base: base)
        }
        let header = try #require(try store.read { try $0.header(at: tip.height) })
        let commit = try #require(try store.read { try $0.certificate(at: tip.height) })
        let (header2, commit2, header3) = try store.read { s in (try s.header(at: 2)!, try s.certificate(at: 2)!, try s.header(at: 3)!) }
        let expected = try Self.records(store)
        await store.shutdown()
        let certificate = CheckpointCertificate(checkpoint: checkpoint, signatures: [ValidatorSignature(
            validator: T.validator.publicKey, signature: checkpoint.sign(key: T.validator, genesisHash: T.genesisHash))])

        let target = try TemporaryDirectory("snapshot-target")
        let half = Int(checkpoint.chunkCount) / 2
        do {
            let fresh = try T.open(target)
            // The genesis state a node writes at its first start: the snapshot replaces it.
            var genesis = StateChanges()
            genesis.put(.identities, [UInt8](repeating: 7, count: 32), [1])
            try fresh.writeGenesisStateIfNew(genesis)
            let progress = try await fresh.beginStateSync(certificate)
            #expect(progress.doneCount == 0 && progress.missing.count == Int(checkpoint.chunkCount))
            for i in 0..<UInt32(half) {
                try await fresh.applySnapshotChunk(try SnapshotChunk.decode(try SnapshotFiles.chunk(base: base, height: 4, index: i)),
                                                   index: i)
            }
            await fresh.shutdown()  // a node stopped midway
        }
        let reopened = try T.open(target)
        let resumed = try #require(try reopened.stateSyncProgress())
        #expect(resumed.checkpoint == checkpoint)
        #expect(resumed.missing == Array(UInt32(half)..<checkpoint.chunkCount), "only the chunks not yet in are left")
        #expect(try await reopened.beginStateSync(certificate) == resumed, "the same checkpoint resumes")
        await #expect(throws: StoreError.self) { try await reopened.finishStateSync(header: header, certificate: commit) }
        for i in resumed.missing {
            try await reopened.applySnapshotChunk(try SnapshotChunk.decode(try SnapshotFiles.chunk(base: base, height: 4, index: i)),
                                                  index: i)
        }
        // Header 3 as a recent header (the leader rotation's), header 2 as a set change's.
        let synced = try await reopened.finishStateSync(header: header, certificate: commit, recentHeaders: [header3],
                                                        setChanges: [SetChangeProof(header: header2, commit: commit2,
                                                                                    keys: T.validators.keys)])
        #expect(synced == tip)
        #expect(try reopened.tip() == tip)
        #expect(try reopened.stateSyncProgress() == nil)
        #expect(try Self.records(reopened) == expected, "the synced store holds the source's state records")
        #expect(try reopened.read { try $0.header(at: 4) } == header)
        #expect(try reopened.read { try $0.certificate(at: 4) } == commit)
        #expect(try reopened.read { try $0.block(at: 2) } == nil, "blocks below the base are absent, not damage")
        #expect(try reopened.read { try $0.header(at: 3) } == header3)
        #expect(try reopened.read { (try $0.header(at: 2), try $0.certificate(at: 2)) } == (header2, commit2))
        #expect(try reopened.read { try $0.header(at: 1) } == nil)
        #expect(try reopened.read { try $0.baseHeight() } == 4)
        // The next block chains from the synced tip's state root and commits.
        let (next, nextCert, nextChanges) = T.nextBlock(on: synced, works: [T.work(999)], firstNonce: 81)
        #expect(try await reopened.commit(next, certificate: nextCert, changes: nextChanges).height == 5)
        await reopened.shutdown()
    }
}

/// The optional genesis parameters of checkpoints: absent, a file keeps its bytes (and hash) and the
/// defaults hold; present, they are written after the required ones and read back.
@Suite struct CheckpointGenesisParamTests {
    static func build(_ params: GenesisParams) throws -> Genesis {
        let key = SigningKey(seed: SHA256.hash(Array("genesis validator".utf8))).publicKey
        return try Genesis.build(chainId: "test", genesisTimeMs: 1, rootRegistrar: key, registrars: [],
                                 validators: [GenesisValidator(name: "v", publicKey: key, p2pAddress: "127.0.0.1:1")],
                                 params: params)
    }

    @Test func absentParamsAreNotWrittenAndTakeTheirDefaults() throws {
        let g = try Self.build(.standard)
        let text = String(decoding: g.fileBytes, as: UTF8.self)
        #expect(!text.contains("checkpointIntervalBlocks") && !text.contains("snapshotChunkBytes"))
        #expect(g.params.checkpointInterval == 1000 && g.params.chunkBytes == 1 << 20)
        #expect(g.params.isCheckpoint(height: 2000) && !g.params.isCheckpoint(height: 2001) && !g.params.isCheckpoint(height: 0))
    }

    @Test func setParamsRoundTripAndZeroMeansNoCheckpoints() throws {
        var params = GenesisParams.standard
        params.checkpointIntervalBlocks = 0
        params.snapshotChunkBytes = 8192
        let g = try Self.build(params)
        let parsed = try Genesis.parse(fileBytes: g.fileBytes)
        #expect(parsed.params == params)
        #expect(!parsed.params.isCheckpoint(height: 1000))
        params.snapshotChunkBytes = 100
        #expect(throws: GenesisError.self) { try Self.build(params) }
    }
}

/// A snapshot offer checked from genesis alone: the validator-set chain, the checkpoint
/// certificate, header H and its commit, and the recent headers chained to it.
@Suite struct SnapshotOfferTests {
    static let genesisHash = SHA256.hash(Array("offer genesis".utf8))
    static let first = (0..<4).map { SigningKey(seed: SHA256.hash(Array("first set \($0)".utf8))) }
    static let second = (0..<4).map { SigningKey(seed: SHA256.hash(Array("second set \($0)".utf8))) }
    static var firstSet: ValidatorSet { ValidatorSet(first.map(\.publicKey))! }
    static var secondSet: ValidatorSet { ValidatorSet(second.map(\.publicKey))! }

    static func header(_ height: UInt64, parent: Bytes32, set: ValidatorSet, next: ValidatorSet) -> Header {
        Header(chainId: "test", height: height, view: 0, timestampMs: height, parentHash: parent, txRoot: Block.txRoot([]),
               txCount: 0, stateRoot: SHA256.hash([UInt8(height)]), validatorSetHash: set.hash, nextValidatorSetHash: next.hash,
               proposer: set.keys[0])
    }

    static func commit(_ h: Header, by keys: [SigningKey]) -> CommitCertificate {
        CommitCertificate(height: h.height, view: 0, signatures: keys.prefix(3).map { k in
            ValidatorSignature(validator: k.publicKey,
                               signature: VoteBody(height: h.height, view: 0, blockHash: h.hash).sign(.commit, key: k, genesisHash: genesisHash))
        })
    }

    /// The set changes at height 6 (header 5 names the second set); the checkpoint is at 10.
    static func offer() -> SnapshotOffer {
        let change = header(5, parent: SHA256.hash([5]), set: firstSet, next: secondSet)
        let h9 = header(9, parent: SHA256.hash([9]), set: secondSet, next: secondSet)
        let h10 = header(10, parent: h9.hash, set: secondSet, next: secondSet)
        let checkpoint = Checkpoint(chainId: "test", height: 10, blockHash: h10.hash, snapshotRoot: SHA256.hash([1]), chunkCount: 2)
        let certificate = CheckpointCertificate(checkpoint: checkpoint, signatures: second.prefix(3).map { k in
            ValidatorSignature(validator: k.publicKey, signature: checkpoint.sign(key: k, genesisHash: genesisHash))
        })
        return SnapshotOffer(certificate: certificate, header: h10, commit: commit(h10, by: second),
                             setChanges: [SetChangeProof(header: change, commit: commit(change, by: first), keys: secondSet.keys)],
                             recentHeaders: [h9])
    }

    static func code(_ offer: SnapshotOffer) -> SnapshotOfferError.Code? {
        do {
            _ = try offer.verify(chainId: "test", genesisSet: firstSet, genesisHash: genesisHash)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func aWholeOfferChecksAndRoundTrips() throws {
        let offer = Self.offer()
        let sets = try offer.verify(chainId: "test", genesisSet: Self.firstSet, genesisHash: Self.genesisHash)
        #expect(sets.atHeight == Self.secondSet && sets.atNext == Self.secondSet)
        #expect(try SnapshotOffer.decode(offer.encoded) == offer)
    }

    @Test func eachLinkOfTheChainIsChecked() {
        var noChange = Self.offer()
        noChange.setChanges = []
        #expect(Self.code(noChange) == .offerCheckpoint, "without the set change, the checkpoint's signers are strangers")
        var changeSignedByNewSet = Self.offer()
        changeSignedByNewSet.setChanges[0].commit = Self.commit(changeSignedByNewSet.setChanges[0].header, by: Self.second)
        #expect(Self.code(changeSignedByNewSet) == .offerSetChain)
        var otherKeys = Self.offer()
        otherKeys.setChanges[0].keys = Self.firstSet.keys
        #expect(Self.code(otherKeys) == .offerSetChain)
        var otherHeader = Self.offer()
        otherHeader.header.timestampMs += 1
        #expect(Self.code(otherHeader) == .offerHeader, "the checkpoint names another block")
        var badRecent = Self.offer()
        badRecent.recentHeaders[0].timestampMs += 1
        #expect(Self.code(badRecent) == .offerHeader, "a recent header that is not header H's parent")
        var forged = Self.offer()
        forged.certificate.checkpoint.chunkCount = 3
        #expect(Self.code(forged) == .offerCheckpoint)
    }
}
