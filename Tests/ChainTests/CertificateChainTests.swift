import Testing
import TotemCrypto
@testable import Certificates
@testable import ChainModel

/// A small chain made in the test: genesis set A (validator0...3), set B (A + validator4) from
/// height 3, set C (B without validator0) from height 5; block 5 carries the txs under test.
struct SyntheticChain {
    let genesis: Genesis
    let keys: [Bytes32: SigningKey]
    var headers: [Header] = []
    var commits: [CommitCertificate] = []
    var history: [CertifiedValidatorSet] = []

    static func key(_ seedIndex: Int) throws -> SigningKey { try #require(VectorModel.key(seedIndex: seedIndex)) }

    init() throws {
        let validators = try (5...8).map { try Self.key($0) }
        var keys = [Bytes32: SigningKey]()
        for k in try (5...9).map({ try Self.key($0) }) { keys[k.publicKey] = k }
        self.keys = keys
        genesis = try Genesis.build(
            chainId: "totem-synthetic", genesisTimeMs: 1_800_000_000_000, rootRegistrar: try Self.key(0).publicKey,
            registrars: [], validators: validators.enumerated().map { i, k in
                GenesisValidator(name: "v\(i)", publicKey: k.publicKey, p2pAddress: "127.0.0.1:\(27000 + i)")
            }, params: .standard)
        history = [CertifiedValidatorSet(fromHeight: 1, validators: genesis.validatorSet, certifiedBy: nil)]
    }

    func set(at height: UInt64) -> ValidatorSet {
        history.last { $0.fromHeight <= height }?.validators ?? genesis.validatorSet
    }

    /// Appends a block of `txs`; `next` is the set in force from the height after the next one.
    mutating func append(_ txs: [SignedTx], next: ValidatorSet? = nil) throws {
        let height = UInt64(headers.count + 1)
        let inForce = set(at: height)
        let nextSet = set(at: height + 1)
        let header = Header(
            chainId: genesis.chainId, height: height, view: 0, timestampMs: genesis.genesisTimeMs + height * 1000,
            parentHash: headers.last?.hash ?? genesis.genesisHash,
            txRoot: Block.txRoot(txs),
            txCount: UInt32(txs.count), stateRoot: .zero, validatorSetHash: inForce.hash,
            nextValidatorSetHash: nextSet.hash, proposer: inForce.keys[0])
        let body = VoteBody(height: height, view: 1, blockHash: header.hash)
        let signers = try inForce.keys.suffix(inForce.quorum).map { try #require(keys[$0]) }
        let commit = CommitCertificate(height: height, view: 1, signatures: signers.reversed().map {
            ValidatorSignature(validator: $0.publicKey, signature: body.sign(.commit, key: $0, genesisHash: genesis.genesisHash))
        })
        headers.append(header)
        commits.append(commit)
        if let next {
            // Adopted in this block's parent: the next header is the last of the old set.
            history.append(CertifiedValidatorSet(fromHeight: height + 2, validators: next, certifiedBy: nil))
        }
        if let i = history.firstIndex(where: { $0.fromHeight == height + 1 && $0.certifiedBy == nil }) {
            history[i].certifiedBy = CertifiedHeader(header: header, commit: commit)
        }
    }
}

@Suite("Certificates on a synthetic chain")
struct CertificateChainTests {
    static func works(_ n: Int, title: String) -> [Work] {
        (0..<n).map { i in
            Work(contentHash: SHA256.hash(Array("\(title) \(i)".utf8)), imageCode: i % 2 == 0 ? nil : UInt64(i),
                 title: "\(title) \(i) — Zoë", mediaType: "image/jpeg", width: 10, height: 20, license: "CC-BY-4.0")
        }
    }

    /// Certificates for every tx of blocks of 1 to 9 txs (a 3-item batch first), two set changes
    /// back, all verify; each batch item has its own.
    @Test(arguments: 1...9)
    func everyLeafOfEveryBlockSizeVerifies(_ n: Int) throws {
        var chain = try SyntheticChain()
        let sender = try SyntheticChain.key(2)
        let gh = chain.genesis.genesisHash
        let cid = chain.genesis.chainId
        let v4 = try SyntheticChain.key(9).publicKey
        let setB = try #require(ValidatorSet(chain.genesis.validatorSet.keys + [v4]))
        let setC = try #require(ValidatorSet(setB.keys.filter { $0 != chain.genesis.validatorSet.keys[0] }))
        try chain.append([], next: setB)
        try chain.append([])
        try chain.append([], next: setC)
        try chain.append([])
        var txs = [Tx(chainId: cid, sender: sender.publicKey, nonce: 1,
                      payload: .registerWorkBatch(Self.works(3, title: "batch"))).signed(by: sender, genesisHash: gh)]
        for i in 1..<n {
            let w = Self.works(1, title: "single \(i)")[0]
            txs.append(Tx(chainId: cid, sender: sender.publicKey, nonce: UInt64(i + 1), payload: .registerWork(w))
                .signed(by: sender, genesisHash: gh))
        }
        try chain.append(txs)
        #expect(chain.history.map(\.fromHeight) == [1, 3, 5])
        let header = chain.headers[4]
        #expect(header.validatorSetHash == setC.hash)
        for (index, tx) in txs.enumerated() {
            let items: [Int?] = index == 0 ? [0, 1, 2] : [nil]
            for item in items {
                let c = try CertificateBuilder.build(genesis: chain.genesis, tx: tx, header: header, commit: chain.commits[4],
                                                     blockTxs: txs, history: chain.history, batchIndex: item)
                let verified = try CertificateVerifier.verify(c.jsonBytes(), genesis: chain.genesis).get()
                #expect(verified.certificate == c)
                #expect(c.validatorSets.count == 3)
                #expect(c.leafIndex == UInt64(index))
                #expect(verified.work.map { Array($0.title.utf8) } == c.work.map { Array($0.title.utf8) })
            }
        }
    }

    /// A certificate for an early block built from the full history leaves out later sets.
    @Test func earlyBlockWithTheFullHistory() throws {
        var chain = try SyntheticChain()
        let sender = try SyntheticChain.key(2)
        let tx = Tx(chainId: chain.genesis.chainId, sender: sender.publicKey, nonce: 1,
                    payload: .fileClaim(FileClaim(contentHash: SHA256.hash([1]), infringingDigest: SHA256.hash([2]),
                                                  locator: "https://example.org/x", note: "")))
            .signed(by: sender, genesisHash: chain.genesis.genesisHash)
        let v4 = try SyntheticChain.key(9).publicKey
        let setB: ValidatorSet = try #require(ValidatorSet(chain.genesis.validatorSet.keys + [v4]))
        try chain.append([tx], next: setB)
        try chain.append([])
        try chain.append([])
        let c = try CertificateBuilder.build(genesis: chain.genesis, tx: tx, header: chain.headers[0], commit: chain.commits[0],
                                             blockTxs: [tx], history: chain.history)
        #expect(c.validatorSets.count == 1)
        #expect(c.work == nil)
        #expect(throws: Never.self) { try CertificateVerifier.verify(c, genesis: chain.genesis).get() }
        // With the set that block 2 certifies attached, the history goes past the block: `header`.
        let record = try #require(chain.history.last)
        let certified = try #require(record.certifiedBy)
        var withLater = c
        withLater.validatorSets.append(CertificateValidatorSet(
            fromHeight: record.fromHeight, validators: record.validators.keys,
            certifiedBy: CertifyingBlock(header: certified.header.encoded, commit: certified.commit)))
        #expect(record.fromHeight == 3)
        switch CertificateVerifier.verify(withLater, genesis: chain.genesis) {
        case .success: Issue.record("a history past the block verified")
        case .failure(let f): #expect(f.step == .header, "\(f)")
        }
    }
}
