import Testing
import TotemCrypto
@testable import ChainModel

/// Round trips over random values: every transaction kind, headers and commit certificates decode
/// to the value that was encoded, and re-encode to the same bytes (encoding is a function).
@Suite("Codec round trips")
struct CodecPropertyTests {
    struct Gen {
        var rng: SplitMix64
        mutating func b32() -> Bytes32 { Bytes32(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next()) }
        mutating func b64() -> Bytes64 { Bytes64(high: b32(), low: b32()) }
        mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        /// Valid UTF-8 of at most `maxBytes` bytes, mixing 1- to 4-byte scalars (NUL included).
        mutating func text(maxBytes: Int) -> String {
            let alphabet: [Character] = ["a", "Z", "0", " ", "\u{0}", "é", "Ł", "—", "山", "📷", "\u{301}"]
            var s = ""
            let target = int(maxBytes + 1)
            while true {
                let c = alphabet[int(alphabet.count)]
                if s.utf8.count + String(c).utf8.count > target { return s }
                s.append(c)
            }
        }
        mutating func work() -> Work {
            Work(contentHash: b32(), imageCode: int(2) == 0 ? nil : rng.next(), title: text(maxBytes: 256),
                 mediaType: text(maxBytes: 64), width: UInt32(truncatingIfNeeded: rng.next()),
                 height: UInt32(truncatingIfNeeded: rng.next()), license: text(maxBytes: 256))
        }
        mutating func payload(_ kind: TxKind) -> Payload {
            switch kind {
            case .registerIdentity:
                .registerIdentity(RegisterIdentity(subject: b32(), displayName: text(maxBytes: 128),
                                                   role: int(2) == 0 ? .photographer : .agency, kycDigest: b32()))
            case .revokeIdentity: .revokeIdentity(RevokeIdentity(subject: b32(), reason: text(maxBytes: 256)))
            case .registerWork: .registerWork(work())
            case .transferWork: .transferWork(TransferWork(contentHash: b32(), newOwner: b32()))
            case .grantLicense: .grantLicense(GrantLicense(contentHash: b32(), licensee: b32(), terms: text(maxBytes: 512),
                                                           validUntilMs: rng.next()))
            case .fileClaim: .fileClaim(FileClaim(contentHash: b32(), infringingDigest: b32(), locator: text(maxBytes: 512),
                                                  note: text(maxBytes: 1024)))
            case .addRegistrar: .addRegistrar(AddRegistrar(subject: b32(), name: text(maxBytes: 128)))
            case .removeRegistrar: .removeRegistrar(subject: b32())
            case .validatorChange: .validatorChange(ValidatorChange(op: int(2) == 0 ? .add : .remove, validator: b32(),
                                                                    name: text(maxBytes: 128), p2pAddress: text(maxBytes: 256)))
            case .registerWorkBatch: .registerWorkBatch((0..<(1 + int(20))).map { _ in work() })
            case .submitEvidence:
                {
                    var a = b32(), b = b32()
                    if b < a { swap(&a, &b) }
                    if a == b { b.w3 &+= 1 }
                    return .submitEvidence(SubmitEvidence(phase: int(2) == 0 ? .prepare : .commit, validator: b32(),
                                                          height: rng.next(), view: UInt32(truncatingIfNeeded: rng.next()),
                                                          blockHashA: a, signatureA: b64(), blockHashB: b, signatureB: b64()))
                }()
            }
        }
    }

    @Test(arguments: TxKind.allCases)
    func signedTxRoundTrip(_ kind: TxKind) throws {
        var g = Gen(rng: SplitMix64(seed: UInt64(kind.rawValue) * 7919))
        let key = SigningKey(seed: g.b32())
        let genesis = g.b32()
        for _ in 0..<200 {
            let tx = Tx(chainId: "c-\(g.int(1000))", sender: key.publicKey, nonce: g.rng.next(), payload: g.payload(kind))
            let signed = tx.signed(by: key, genesisHash: genesis)
            let decoded = try SignedTx.decode(signed.bytes)
            #expect(decoded == signed)
            #expect(decoded.tx.encoded == tx.encoded)
            #expect(decoded.tx.kind == kind)
            #expect(decoded.verifySignature(genesisHash: genesis))
            // Any strict prefix is refused: nothing decodes from a truncated transaction.
            let cut = g.int(signed.bytes.count)
            #expect(throws: DecodeError.self) { try SignedTx.decode(Array(signed.bytes.prefix(cut))) }
        }
    }

    @Test func headerAndCertificateRoundTrip() throws {
        var g = Gen(rng: SplitMix64(seed: 42))
        for _ in 0..<500 {
            let h = Header(chainId: g.text(maxBytes: 64), height: g.rng.next(), view: UInt32(truncatingIfNeeded: g.rng.next()),
                           timestampMs: g.rng.next(), parentHash: g.b32(), txRoot: g.b32(),
                           txCount: UInt32(truncatingIfNeeded: g.rng.next()), stateRoot: g.b32(), validatorSetHash: g.b32(),
                           nextValidatorSetHash: g.b32(), proposer: g.b32())
            let decoded = try Header.decode(h.encoded)
            #expect(decoded == h && decoded.encoded == h.encoded && decoded.hash == h.hash)
            let cert = CommitCertificate(height: g.rng.next(), view: UInt32(truncatingIfNeeded: g.rng.next()),
                                         signatures: (0..<g.int(8)).map { _ in ValidatorSignature(validator: g.b32(), signature: g.b64()) })
            var r = TCEReader(cert.encoded)
            #expect(try CommitCertificate.decode(from: &r) == cert)
            #expect(r.remaining == 0)
        }
    }
}
