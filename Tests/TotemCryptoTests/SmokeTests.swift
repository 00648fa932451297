import Testing
@testable import TotemCrypto

@Test func signAndVerifyInDomain() {
    let key = SigningKey(seed: SHA256.hash(Array("seed".utf8)))
    let g = SHA256.hash([UInt8]())
    let sig = key.sign(.tx, genesisHash: g, body: [1, 2, 3])
    #expect(Ed25519.verify(sig, .tx, genesisHash: g, body: [1, 2, 3], publicKey: key.publicKey))
    #expect(!Ed25519.verify(sig, .commit, genesisHash: g, body: [1, 2, 3], publicKey: key.publicKey))
}
