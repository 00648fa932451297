import Foundation
import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState

/// Replays the simulated chain of vectors.json (on certificates/genesis.json) through the state
/// machine: every tx must apply in the block order `headers[].txs` gives, and the headers' txRoot,
/// txCount and validator-set hashes must be what the state machine computes. (Their stateRoots
/// chain placeholder changesHash values, so only the state root may differ.)
@Suite("State machine: vector chain replay")
struct StateMachineVectorTests {
    static func config() throws -> ChainConfig {
        let bytes = [UInt8](try TestData.data("totem/certificates/genesis.json"))
        let g = JSONFields(VectorJSON(try JSONSerialization.jsonObject(with: Data(bytes))))
        let params = g.sub("params")
        return try ChainConfig(
            chainId: g.string("chainId"), genesisHash: SHA256.hash(bytes), genesisTimeMs: g.u64("genesisTimeMs"),
            rootRegistrar: g.b32("rootRegistrar"), maxBlockTxs: Int(params.u64("maxBlockTxs")),
            maxBlockBytes: Int(params.u64("maxBlockBytes")), maxTxBytes: Int(params.u64("maxTxBytes")),
            maxClockDriftMs: params.u64("maxClockDriftMs"), validatorChangeTtlBlocks: params.u64("validatorChangeTtlBlocks"),
            registrars: g.list("registrars").map { .init(name: $0.string("name"), publicKey: $0.b32("publicKey")) },
            validators: g.list("validators").map {
                ValidatorMember(key: $0.b32("publicKey"), name: $0.string("name"), p2pAddress: $0.string("p2pAddress"))
            })
    }

    static func transactions() throws -> [String: SignedTx] {
        var txs = [String: SignedTx]()
        for v in TestData.section("transactions") { txs[v.string("name")] = try SignedTx.decode(v.bytes("signedTx")) }
        return txs
    }

    @Test func genesisHashIsTheVectorsOne() throws {
        #expect(try Self.config().genesisHash == TestData.vectors.b32("genesisHash"))
    }

    @Test func configFromParsedGenesisIsTheSame() throws {
        let genesis = try Genesis.parse(fileBytes: [UInt8](try TestData.data("totem/certificates/genesis.json")))
        let a = ChainConfig(genesis: genesis), b = try Self.config()
        #expect(a.genesisHash == b.genesisHash && a.chainId == b.chainId && a.rootRegistrar == b.rootRegistrar)
        #expect(a.validators == b.validators && a.registrars == b.registrars)
        #expect(a.maxBlockTxs == b.maxBlockTxs && a.maxBlockBytes == b.maxBlockBytes && a.maxTxBytes == b.maxTxBytes)
        #expect(a.validatorChangeTtlBlocks == b.validatorChangeTtlBlocks && a.maxClockDriftMs == b.maxClockDriftMs)
        #expect(a.genesisTimeMs == b.genesisTimeMs)
        #expect(StateMachine(config: a).genesisChanges() == StateMachine(config: b).genesisChanges())
    }

    @Test func everyTxAppliesInBlockOrder() throws {
        let sm = StateMachine(config: try Self.config())
        let txs = try Self.transactions()
        var state = MemoryState()
        state.apply(sm.genesisChanges())
        var parent = sm.genesisParent
        var vectorParent = sm.genesisParent
        let headers = TestData.section("headers")
        #expect(headers.count == 7)
        var applied = 0
        for v in headers {
            let expected = VectorModel.header(v.sub("fields"))
            let blockTxs = try v.strings("txs").map { name in try #require(txs[name], "tx \(name)") }
            let built = sm.buildBlock(candidates: blockTxs, parent: parent, state: state, timestampMs: expected.timestampMs,
                                      view: expected.view, proposer: expected.proposer, signatures: .verify)
            #expect(built.rejected.isEmpty, "\(v.string("name")): \(built.rejected.map(\.error))")
            #expect(built.block.txs == blockTxs)
            let h = built.block.header
            #expect(h.timestampMs == expected.timestampMs)
            #expect(h.txRoot == expected.txRoot, "\(v.string("name")) txRoot")
            #expect(h.txCount == expected.txCount)
            #expect(h.validatorSetHash == expected.validatorSetHash, "\(v.string("name")) validatorSetHash")
            #expect(h.nextValidatorSetHash == expected.nextValidatorSetHash, "\(v.string("name")) nextValidatorSetHash")

            // The vector's own header passes every rule but the state root (a placeholder there).
            let vectorBlock = Block(header: expected, txs: blockTxs)
            let vectorResult = sm.apply(vectorBlock, parent: vectorParent, state: state, signatures: .verify)
            #expect(vectorResult.failureValue?.code == .blockStateRoot, "\(v.string("name")): \(String(describing: vectorResult.failureValue))")

            guard case .success(let outcome) = sm.apply(built.block, parent: parent, state: state, signatures: .verify) else {
                Issue.record("\(v.string("name")) built block does not validate"); return
            }
            state.apply(outcome.changes)
            parent = ParentInfo(header: h)
            vectorParent = ParentInfo(header: expected)
            applied += blockTxs.count
        }
        #expect(applied == 16)
        try checkFinalState(state, txs)
    }

    private func checkFinalState(_ state: MemoryState, _ txs: [String: SignedTx]) throws {
        let keys = TestData.vectors.list("keys").map { $0.b32("publicKey") }
        let (photographerP, agencyG, photographerQ, validator3, validator4) = (keys[2], keys[3], keys[4], keys[8], keys[9])
        let w0 = try #require(state.work(Bytes32(hex: "44babd5601249a9c7b357e021eb1a2c51f49b4eed034088fdb0a204120e403d4") ?? .zero))
        #expect(w0.registrant == photographerP && w0.owner == agencyG && w0.height == 2)
        let batch = try #require(txs["RegisterWorkBatch-W2-W4"])
        for (i, w) in batch.tx.payload.works.enumerated() {
            #expect(state.work(w.contentHash)?.batchIndex == UInt32(i))
        }
        #expect(state.identity(photographerQ)?.revoked == true)
        #expect(state.registrar(Bytes32(hex: "50a5e55be1b2c6e7f7d136d0c65b5c3209b4daf9f0e1531ebaf8338121cf1c2c") ?? .zero) == nil)
        #expect(state.evidence(validator: validator3, height: 6, view: 0, phase: .prepare) != nil)
        #expect(state.validatorSetRecord().inForce(at: 8).contains(validator4))
        #expect(state.lastNonce(photographerP) == 5)
    }
}
