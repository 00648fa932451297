import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState

/// Deterministic keys and a small chain driven through the real builder and validator.
enum Keys {
    static func key(_ name: String) -> SigningKey { SigningKey(seed: SHA256.hash(Array("sm-test-\(name)".utf8))) }
    static let root = key("root")
    static let registrar = key("registrar")
    static let registrar2 = key("registrar2")
    static let photographer = key("photographer")
    static let photographer2 = key("photographer2")
    static let agency = key("agency")
    static let stranger = key("stranger")
    static let validators = (0..<7).map { key("validator-\($0)") }
}

/// A chain on a MemoryState: builds each block with `buildBlock`, re-validates it with `apply`
/// as a replica would, and commits its changes.
struct Harness {
    let sm: StateMachine
    var state = MemoryState()
    var parent: ParentInfo
    var blocks: [Block] = []
    var timeMs: UInt64

    static let genesisHash = SHA256.hash(Array("sm-test-genesis".utf8))
    static let genesisTimeMs: UInt64 = 1_764_000_000_000

    static func config(validators: Int = 4, ttl: UInt64 = 100, maxBlockTxs: Int = 5000,
                       maxBlockBytes: Int = 8 << 20, maxTxBytes: Int = 65536) -> ChainConfig {
        let members = Keys.validators.prefix(validators).enumerated().map {
            ValidatorMember(key: $1.publicKey, name: "validator-\($0)", p2pAddress: "127.0.0.1:\(26600 + $0)")
        }
        do {
            return try ChainConfig(chainId: "totem-test", genesisHash: genesisHash, genesisTimeMs: genesisTimeMs,
                                   rootRegistrar: Keys.root.publicKey, maxBlockTxs: maxBlockTxs,
                                   maxBlockBytes: maxBlockBytes, maxTxBytes: maxTxBytes, maxClockDriftMs: 2000,
                                   validatorChangeTtlBlocks: ttl,
                                   registrars: [.init(name: "Registrar A", publicKey: Keys.registrar.publicKey)],
                                   validators: members)
        } catch {
            preconditionFailure("test config: \(error)")
        }
    }

    init(_ config: ChainConfig = Harness.config()) {
        sm = StateMachine(config: config)
        state.apply(sm.genesisChanges())
        parent = sm.genesisParent
        timeMs = config.genesisTimeMs
    }

    var height: UInt64 { parent.height }
    var nextContext: TxContext { TxContext(height: parent.height + 1, timestampMs: timeMs + 1000, index: 0) }

    func nonce(_ key: SigningKey) -> UInt64 { state.lastNonce(key.publicKey) + 1 }

    /// A tx signed by `key`; the nonce defaults to the next one after committed state plus `ahead`.
    func tx(_ key: SigningKey, _ payload: Payload, nonce: UInt64? = nil, ahead: UInt64 = 0,
            chainId: String? = nil) -> SignedTx {
        Tx(chainId: chainId ?? sm.config.chainId, sender: key.publicKey, nonce: nonce ?? self.nonce(key) + ahead,
           payload: payload).signed(by: key, genesisHash: sm.config.genesisHash)
    }

    /// Checks one tx against committed state at the next height.
    func check(_ stx: SignedTx, signature: SignatureCheck = .verify) -> Result<StateChanges, TxError> {
        sm.check(stx, context: nextContext, state: state, signature: signature)
    }

    func error(_ stx: SignedTx) -> TxError? {
        if case .failure(let e) = check(stx) { return e }
        return nil
    }

    /// Builds the next block from `txs`, validates it independently, commits it. Returns the
    /// builder's result; every tx is expected to apply unless `allowRejects`.
    @discardableResult
    mutating func commit(_ txs: [SignedTx], allowRejects: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) -> BuiltBlock {
        timeMs += 1000
        let built = sm.buildBlock(candidates: txs, parent: parent, state: state, timestampMs: timeMs, view: 0,
                                  proposer: Keys.validators[0].publicKey, signatures: .verify)
        if !allowRejects {
            #expect(built.rejected.isEmpty, "rejected: \(built.rejected.map(\.error))", sourceLocation: sourceLocation)
        }
        switch sm.apply(built.block, parent: parent, state: state, signatures: .verify) {
        case .success(let outcome):
            #expect(outcome == built.outcome, sourceLocation: sourceLocation)
        case .failure(let e):
            Issue.record("built block does not validate: \(e)", sourceLocation: sourceLocation)
        }
        state.apply(built.outcome.changes)
        parent = ParentInfo(header: built.block.header)
        blocks.append(built.block)
        return built
    }

    /// Commits `txs` one by one, each in its own block.
    mutating func commitEach(_ txs: [SignedTx]) { for t in txs { commit([t]) } }

    /// Registers `key` as an identity (by the genesis registrar) in its own block.
    mutating func registerIdentity(_ key: SigningKey, role: IdentityRole = .photographer) {
        commit([tx(Keys.registrar, .registerIdentity(RegisterIdentity(
            subject: key.publicKey, displayName: "id", role: role, kycDigest: SHA256.hash(key.publicKey.bytes))))])
    }

    /// A sealed header for the next height, for block-rule tests.
    func block(_ txs: [SignedTx], timeMs: UInt64? = nil) -> Block {
        sm.buildBlock(candidates: txs, parent: parent, state: state, timestampMs: timeMs ?? self.timeMs + 1000,
                      view: 0, proposer: Keys.validators[0].publicKey).block
    }
}

func work(_ n: Int, title: String = "work") -> Work {
    Work(contentHash: SHA256.hash(Array("content-\(n)".utf8)), imageCode: UInt64(n), title: "\(title) \(n)",
         mediaType: "image/jpeg", width: 4000, height: 3000, license: "All rights reserved")
}

extension Result {
    var failureValue: Failure? { if case .failure(let e) = self { e } else { nil } }
}
