import Testing
import TotemCrypto
@testable import P2PWire

@Suite struct HandshakeTests {
    /// Runs both sides of a handshake in memory; returns both results.
    func run(_ a: inout Handshake, _ b: inout Handshake, allowA: Set<Bytes32>? = nil, allowB: Set<Bytes32>? = nil,
             tamperHelloToA: (([UInt8]) -> [UInt8])? = nil) throws -> (Session, Session) {
        let helloA = a.hello
        var helloB = b.hello
        if let tamperHelloToA { helloB = tamperHelloToA(helloB) }
        let authA = try a.receiveHello(helloB, isAllowed: { allowA?.contains($0) ?? true })
        let authB = try b.receiveHello(helloA, isAllowed: { allowB?.contains($0) ?? true })
        return (try a.receiveAuth(authB), try b.receiveAuth(authA))
    }

    @Test func establishesMatchingSessions() throws {
        let ka = T.key(1), kb = T.key(2)
        var a = Handshake(role: .initiator, params: T.params(ka))
        var b = Handshake(role: .responder, params: T.params(kb))
        var (sa, sb) = try run(&a, &b, allowA: [kb.publicKey], allowB: [ka.publicKey])
        #expect(sa.peerKey == kb.publicKey)
        #expect(sb.peerKey == ka.publicKey)
        // Auth used nonce 0 each way; application frames continue from 1 and cross both ways.
        #expect(sa.sender.counter == 1 && sb.receiver.counter == 1)
        let m1 = try sa.sender.seal(Array("ping".utf8))
        #expect(try sb.receiver.open(m1) == Array("ping".utf8))
        let m2 = try sb.sender.seal(Array("pong".utf8))
        #expect(try sa.receiver.open(m2) == Array("pong".utf8))
    }

    @Test func deterministicTranscriptWithSeededEphemerals() throws {
        let ea = KxKeyPair(seed: Bytes32(w0: 1, w1: 0, w2: 0, w3: 0))
        let a1 = Handshake(role: .initiator, params: T.params(T.key(1)), ephemeral: ea)
        let a2 = Handshake(role: .initiator, params: T.params(T.key(1)), ephemeral: ea)
        #expect(a1.hello == a2.hello)
        let hello = try Hello.decode(a1.hello)
        #expect(hello.chainId == T.chainId && hello.staticKey == T.key(1).publicKey && hello.ephemeralKey == ea.publicKey)
    }

    @Test(arguments: [
        ("other-chain", T.genesisHash, P2PError.Code.chainIdMismatch),
        (T.chainId, SHA256.hash(Array("other".utf8)), P2PError.Code.genesisMismatch),
    ])
    func refusesOtherChain(chainId: String, genesis: Bytes32, code: P2PError.Code) {
        var a = Handshake(role: .initiator, params: T.params(T.key(1)))
        let b = Handshake(role: .responder, params: T.params(T.key(2), chainId: chainId, genesis: genesis))
        #expect { _ = try a.receiveHello(b.hello, isAllowed: { _ in true }) } throws: {
            ($0 as? P2PError)?.code == code
        }
    }

    @Test func refusesOtherVersionBeforeReadingTheRest() {
        var a = Handshake(role: .initiator, params: T.params(T.key(1)))
        var hello = Handshake(role: .responder, params: T.params(T.key(2))).hello
        hello[P2PLimits.helloMagic.count] = 2
        hello.append(contentsOf: [1, 2, 3])  // a later version may carry more
        #expect { _ = try a.receiveHello(hello, isAllowed: { _ in true }) } throws: {
            ($0 as? P2PError)?.code == .versionMismatch
        }
    }

    @Test func refusesUnknownKeySelfAndGarbage() {
        var a = Handshake(role: .initiator, params: T.params(T.key(1)))
        let b = Handshake(role: .responder, params: T.params(T.key(2)))
        #expect { _ = try a.receiveHello(b.hello, isAllowed: { _ in false }) } throws: {
            ($0 as? P2PError)?.code == .peerNotAllowed
        }
        var c = Handshake(role: .initiator, params: T.params(T.key(1)))
        let mirror = Handshake(role: .responder, params: T.params(T.key(1)))
        #expect { _ = try c.receiveHello(mirror.hello, isAllowed: { _ in true }) } throws: {
            ($0 as? P2PError)?.code == .selfConnection
        }
        var d = Handshake(role: .initiator, params: T.params(T.key(1)))
        #expect { _ = try d.receiveHello(Array("GET / HTTP/1.1\r\n\r\n".utf8), isAllowed: { _ in true }) } throws: {
            ($0 as? P2PError)?.code == .malformedHandshake
        }
    }

    @Test func refusesTamperedEphemeralKey() throws {
        // A man in the middle swaps the responder's ephemeral key: the initiator derives other
        // keys, so the responder cannot open the initiator's Auth.
        var a = Handshake(role: .initiator, params: T.params(T.key(1)))
        var b = Handshake(role: .responder, params: T.params(T.key(2)))
        let mitm = KxKeyPair.generate().publicKey.bytes
        #expect {
            _ = try run(&a, &b, tamperHelloToA: { hello in Array(hello.dropLast(32)) + mitm })
        } throws: { [P2PError.Code.authenticationFailed].contains(($0 as? P2PError)?.code) }
    }

    @Test func refusesImpostorPresentingAnotherKey() throws {
        // The Hello presents validator 2's key, but the impostor can only sign with its own.
        var a = Handshake(role: .initiator, params: T.params(T.key(1)))
        var impostor = Handshake(role: .responder, params: T.params(T.key(66)), ephemeral: .generate(),
                                 presenting: T.key(2).publicKey)
        let authA = try a.receiveHello(impostor.hello, isAllowed: { $0 == T.key(2).publicKey })
        let authI = try impostor.receiveHello(a.hello, isAllowed: { _ in true })
        _ = authA
        #expect { _ = try a.receiveAuth(authI) } throws: { ($0 as? P2PError)?.code == .badSignature }
    }

    @Test func signatureIsBoundToRole() throws {
        // Replaying the responder's own Auth back at it (reflection) fails: the role byte differs.
        var a = Handshake(role: .initiator, params: T.params(T.key(1)))
        var b = Handshake(role: .responder, params: T.params(T.key(2)))
        _ = try a.receiveHello(b.hello, isAllowed: { _ in true })
        let authB = try b.receiveHello(a.hello, isAllowed: { _ in true })
        #expect(throws: P2PError.self) { _ = try b.receiveAuth(authB) }
    }

    @Test func frameCipherRefusesTamperingAndCounterExhaustion() throws {
        let key = [UInt8](repeating: 7, count: 32)
        var s = FrameCipher(key: key)
        var r = FrameCipher(key: key)
        var c = try s.seal([1, 2, 3])
        c[0] ^= 1
        #expect { _ = try r.open(c) } throws: { ($0 as? P2PError)?.code == .authenticationFailed }
        #expect { _ = try r.open([1, 2]) } throws: { ($0 as? P2PError)?.code == .authenticationFailed }

        var last = FrameCipher(key: key, counter: P2PLimits.nonceCounterMax - 1)
        _ = try last.seal([0])
        #expect { _ = try last.seal([0]) } throws: { ($0 as? P2PError)?.code == .nonceExhausted }
    }
}
