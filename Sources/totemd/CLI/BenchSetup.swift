import ArgumentParser
import ChainModel
import Foundation
import TotemCrypto

/// The bench's setup phase: a fresh registrar appointed by the root, then N fresh identities
/// registered by it, each step waited for until committed. Fresh keys every run, so runs never
/// collide with each other's nonces or works.
struct BenchSetup: Sendable {
    let client: APIClient
    let chain: APIClient.ChainInfo
    let log: @Sendable (String) -> Void

    /// Returns the identities' keys, all committed as registered identities (next nonce 1).
    func run(root: SigningKey, identities: Int) async throws -> [SigningKey] {
        let registrar = SigningKey.generate()
        let rootNonce = try await client.nextNonce(root.publicKey)
        let add = sign(.addRegistrar(AddRegistrar(subject: registrar.publicKey, name: "bench-\(registrar.publicKey.hex.prefix(8))")),
                       by: root, nonce: rootNonce)
        log("appointing registrar \(registrar.publicKey.hex.prefix(16))… (root nonce \(rootNonce))")
        try await submitAndWait([add], what: "AddRegistrar")

        let keys = (0..<identities).map { _ in SigningKey.generate() }
        var nonce: UInt64 = 1
        for start in stride(from: 0, to: identities, by: BenchLimits.identitiesPerRound) {
            let end = min(start + BenchLimits.identitiesPerRound, identities)
            let txs = (start..<end).map { i -> SignedTx in
                defer { nonce += 1 }
                let identity = RegisterIdentity(subject: keys[i].publicKey, displayName: "bench identity \(i)",
                                                role: .photographer, kycDigest: .zero)
                return sign(.registerIdentity(identity), by: registrar, nonce: nonce)
            }
            try await submitAndWait(txs, what: "RegisterIdentity")
            log("registered identities \(end)/\(identities)")
        }
        return keys
    }

    private func sign(_ payload: Payload, by key: SigningKey, nonce: UInt64) -> SignedTx {
        Tx(chainId: chain.chainId, sender: key.publicKey, nonce: nonce, payload: payload)
            .signed(by: key, genesisHash: chain.genesisHash)
    }

    /// Submits txs of one sender (consecutive nonces) and waits until the last is committed; since
    /// a block holds a sender's txs only in nonce order, the earlier ones are then committed too.
    /// A refusal that may pass later (a full mempool, a rate limit) is retried, the whole batch
    /// again: a tx the node already holds is answered as accepted.
    private func submitAndWait(_ txs: [SignedTx], what: String) async throws {
        var attempt = 0
        while true {
            attempt += 1
            let results = try await client.submit(txs)
            guard let bad = results.first(where: { !$0.accepted }) else { break }
            let code = bad.errorCode ?? "?"
            guard BenchState.retriableCodes.contains(code), attempt < BenchLimits.retriesPerTxMax else {
                throw BenchError("\(what) refused: \(code): \(bad.errorMessage ?? "")")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard let last = txs.last else { return }
        let final = try await client.waitForTx(last.hash.hex, timeout: .seconds(60))
        guard case .string("committed")? = final["status"] else {
            let error = String(decoding: JSONWriter.write(final), as: UTF8.self)
            throw BenchError("\(what) \(last.hash.hex) was not committed: \(error)")
        }
    }
}

/// A failure of a bench run (not of its options): printed as is, without the usage text.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
