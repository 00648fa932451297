import Testing
import TotemCrypto
@testable import ChainModel
@testable import ChainState

@Suite("State machine: committed accounts for the mempool")
struct StateMachineAccountsTests {
    @Test func nonceAndKnownSenders() {
        var h = Harness()
        h.registerIdentity(Keys.photographer)
        h.registerIdentity(Keys.agency)
        h.commit([h.tx(Keys.registrar, .revokeIdentity(RevokeIdentity(subject: Keys.agency.publicKey, reason: "")))])
        let accounts = CommittedAccounts(state: h.state, config: h.sm.config, committedHeight: h.height)
        #expect(accounts.nextNonce(of: Keys.registrar.publicKey) == 4)
        #expect(accounts.nextNonce(of: Keys.stranger.publicKey) == 1)
        #expect(accounts.isKnownSender(Keys.root.publicKey))
        #expect(accounts.isKnownSender(Keys.registrar.publicKey))
        #expect(accounts.isKnownSender(Keys.photographer.publicKey))
        #expect(accounts.isKnownSender(Keys.validators[3].publicKey))
        #expect(!accounts.isKnownSender(Keys.agency.publicKey))
        #expect(!accounts.isKnownSender(Keys.stranger.publicKey))
        #expect(!accounts.isKnownSender(Keys.validators[4].publicKey))
    }

    @Test func mempoolAdmitsThroughCommittedAccounts() {
        var h = Harness()
        h.registerIdentity(Keys.photographer)
        let accounts = CommittedAccounts(state: h.state, config: h.sm.config, committedHeight: h.height)
        let pool = Mempool(chainId: h.sm.config.chainId)
        #expect(pool.precheck(h.tx(Keys.photographer, .registerWork(work(1))), accounts: accounts) == .accepted)
        if case .rejected(let e) = pool.precheck(h.tx(Keys.stranger, .registerWork(work(1))), accounts: accounts) {
            #expect(e.code == .unknownSender)
        } else {
            Issue.record("a stranger's tx must be refused")
        }
    }
}
