import CSodium
import ChainModel
import TotemCrypto

/// An ephemeral X25519 key pair for one handshake (libsodium `crypto_kx`).
public struct KxKeyPair: Sendable {
    public let publicKey: Bytes32
    let secretKey: [UInt8]

    /// A fresh key pair from the operating system's CSPRNG.
    public static func generate() -> KxKeyPair {
        P2PSodium.ensureReady()
        var pk = [UInt8](repeating: 0, count: Int(crypto_kx_PUBLICKEYBYTES))
        var sk = [UInt8](repeating: 0, count: Int(crypto_kx_SECRETKEYBYTES))
        precondition(crypto_kx_keypair(&pk, &sk) == 0, "crypto_kx_keypair failed")
        guard let key = Bytes32(pk) else { preconditionFailure("crypto_kx public key size") }
        return KxKeyPair(publicKey: key, secretKey: sk)
    }

    /// A key pair from a 32-byte seed: deterministic, for tests and transcripts.
    public init(seed: Bytes32) {
        P2PSodium.ensureReady()
        var pk = [UInt8](repeating: 0, count: Int(crypto_kx_PUBLICKEYBYTES))
        var sk = [UInt8](repeating: 0, count: Int(crypto_kx_SECRETKEYBYTES))
        let rc = seed.withUnsafeBytes { s in
            crypto_kx_seed_keypair(&pk, &sk, s.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        precondition(rc == 0, "crypto_kx_seed_keypair failed")
        guard let key = Bytes32(pk) else { preconditionFailure("crypto_kx public key size") }
        self.init(publicKey: key, secretKey: sk)
    }

    private init(publicKey: Bytes32, secretKey: [UInt8]) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

enum P2PSodium {
    private static let ready: Bool = {
        precondition(sodium_init() >= 0, "sodium_init failed")
        return true
    }()

    static func ensureReady() { _ = ready }
}

/// The first, plaintext, handshake message:
/// `magic:"TOTEMP2P" | version:u8 | chainId:string(<=64) | genesisHash:bytes32 | staticKey:bytes32 | ephemeralKey:bytes32`.
public struct Hello: Sendable, Equatable {
    public var version: UInt8
    public var chainId: String
    public var genesisHash: Bytes32
    /// The node's Ed25519 public key, which it proves in Auth.
    public var staticKey: Bytes32
    /// The X25519 public key of this connection only.
    public var ephemeralKey: Bytes32

    public init(version: UInt8, chainId: String, genesisHash: Bytes32, staticKey: Bytes32, ephemeralKey: Bytes32) {
        self.version = version; self.chainId = chainId; self.genesisHash = genesisHash
        self.staticKey = staticKey; self.ephemeralKey = ephemeralKey
    }

    public var encoded: [UInt8] {
        var w = TCEWriter(capacity: P2PLimits.helloMaxBytes)
        w.raw(P2PLimits.helloMagic)
        w.u8(version)
        w.string(chainId)
        w.bytes32(genesisHash)
        w.bytes32(staticKey)
        w.bytes32(ephemeralKey)
        return w.bytes
    }

    /// Decodes a Hello. A version other than ours is reported before the rest is read, since a
    /// later version may lay the rest out differently.
    public static func decode(_ bytes: [UInt8]) throws(P2PError) -> Hello {
        guard bytes.count <= P2PLimits.helloMaxBytes else {
            throw P2PError(.malformedHandshake, "hello of \(bytes.count) bytes is over its limit")
        }
        var r = TCEReader(bytes)
        do {
            guard Array(try r.raw(P2PLimits.helloMagic.count, "magic")) == P2PLimits.helloMagic else {
                throw P2PError(.malformedHandshake, "hello does not start with the Totem magic")
            }
            let version = try r.u8("version")
            guard version == P2PLimits.protocolVersion else {
                throw P2PError(.versionMismatch, "peer speaks protocol version \(version), we speak \(P2PLimits.protocolVersion)")
            }
            let chainId = try r.string(maxBytes: Limits.chainIdMaxBytes, "chainId")
            let genesis = try r.bytes32("genesisHash")
            let staticKey = try r.bytes32("staticKey")
            let ephemeral = try r.bytes32("ephemeralKey")
            try r.finish()
            return Hello(version: version, chainId: chainId, genesisHash: genesis, staticKey: staticKey, ephemeralKey: ephemeral)
        } catch let e as DecodeError {
            throw P2PError(.malformedHandshake, "hello: \(e)")
        } catch let e as P2PError {
            throw e
        } catch {
            throw P2PError(.malformedHandshake, "hello: \(error)")
        }
    }
}

/// What both sides agree on before they talk: refused on any difference.
public struct HandshakeParams: Sendable {
    public var nodeKey: SigningKey
    public var chainId: String
    public var genesisHash: Bytes32
    public var version: UInt8

    public init(nodeKey: SigningKey, chainId: String, genesisHash: Bytes32, version: UInt8 = P2PLimits.protocolVersion) {
        self.nodeKey = nodeKey; self.chainId = chainId; self.genesisHash = genesisHash; self.version = version
    }
}

/// An authenticated, encrypted session: the peer's proven static key and one cipher per direction.
public struct Session: Sendable {
    public let peerKey: Bytes32
    public var sender: FrameCipher
    public var receiver: FrameCipher
}

/// The handshake as a pure value (docs/p2p.md, "Handshake"): no sockets, clocks or threads. The
/// caller sends `hello`, feeds the peer's Hello to `receiveHello` and sends the Auth frame it
/// returns, then feeds the peer's Auth frame to `receiveAuth`, which yields the session.
///
/// 1. Each side sends Hello (plaintext) with a fresh ephemeral X25519 key.
/// 2. On the peer's Hello: check version, chain id, genesis hash, that the static key is not ours and
///    is allowed; derive the session keys with `crypto_kx` (the dialler is the kx client); sign
///    `role:u8 | SHA-256(initiatorHello || responderHello)` in the `totem/handshake/v1` domain and
///    send the signature encrypted as the first frame (nonce 0) of our direction.
/// 3. On the peer's Auth: decrypt it (proving it derived the same keys) and verify its signature,
///    with the peer's role byte, under the static key from its Hello.
public struct Handshake: Sendable {
    public enum Role: UInt8, Sendable {
        /// The side that dialled (the `crypto_kx` client).
        case initiator = 1
        /// The side that accepted (the `crypto_kx` server).
        case responder = 2

        var peer: Role { self == .initiator ? .responder : .initiator }
    }

    private enum State: Sendable {
        case awaitingHello
        case awaitingAuth(peerKey: Bytes32, transcript: Bytes32, sender: FrameCipher, receiver: FrameCipher)
        case done
        case failed
    }

    public let role: Role
    public let params: HandshakeParams
    private let ephemeral: KxKeyPair
    /// Our Hello, to be sent first.
    public let hello: [UInt8]
    private var state: State = .awaitingHello

    public init(role: Role, params: HandshakeParams, ephemeral: KxKeyPair = .generate()) {
        self.init(role: role, params: params, ephemeral: ephemeral, presenting: params.nodeKey.publicKey)
    }

    /// A handshake whose Hello presents `staticKey` while it signs with `params.nodeKey`: an
    /// impostor, for tests that the peer refuses it.
    init(role: Role, params: HandshakeParams, ephemeral: KxKeyPair, presenting staticKey: Bytes32) {
        self.role = role
        self.params = params
        self.ephemeral = ephemeral
        self.hello = Hello(version: params.version, chainId: params.chainId, genesisHash: params.genesisHash,
                           staticKey: staticKey, ephemeralKey: ephemeral.publicKey).encoded
    }

    /// The bytes signed by the side in `role`, inside the `totem/handshake/v1` domain.
    static func signedBody(role: Role, transcript: Bytes32) -> [UInt8] {
        var body: [UInt8] = [role.rawValue]
        transcript.append(to: &body)
        return body
    }

    /// Checks the peer's Hello and returns our Auth frame (encrypted signature) to send.
    public mutating func receiveHello(_ frame: [UInt8], isAllowed: (Bytes32) -> Bool) throws(P2PError) -> [UInt8] {
        guard case .awaitingHello = state else { throw fail(.protocolViolation, "hello received twice") }
        let peer: Hello
        do { peer = try Hello.decode(frame) } catch { state = .failed; throw error }
        guard peer.chainId.utf8.elementsEqual(params.chainId.utf8) else {
            throw fail(.chainIdMismatch, "peer is on chain '\(peer.chainId)', we are on '\(params.chainId)'")
        }
        guard peer.genesisHash == params.genesisHash else {
            throw fail(.genesisMismatch, "peer genesis \(peer.genesisHash), ours \(params.genesisHash)")
        }
        guard peer.staticKey != params.nodeKey.publicKey else {
            throw fail(.selfConnection, "peer presents our own node key")
        }
        guard isAllowed(peer.staticKey) else {
            throw fail(.peerNotAllowed, "node key \(peer.staticKey) is not in the allow-list")
        }
        let rx: [UInt8], tx: [UInt8]
        do { (rx, tx) = try sessionKeys(peerEphemeral: peer.ephemeralKey) } catch { state = .failed; throw error }
        let transcript: Bytes32 = role == .initiator
            ? SHA256.hash(parts: [hello, frame]) : SHA256.hash(parts: [frame, hello])
        let signature = params.nodeKey.sign(.handshake, genesisHash: params.genesisHash,
                                            body: Handshake.signedBody(role: role, transcript: transcript))
        var sender = FrameCipher(key: tx)
        let receiver = FrameCipher(key: rx)
        let auth = try sender.seal(signature.bytes)
        state = .awaitingAuth(peerKey: peer.staticKey, transcript: transcript, sender: sender, receiver: receiver)
        return auth
    }

    /// Checks the peer's Auth frame and returns the established session.
    public mutating func receiveAuth(_ frame: [UInt8]) throws(P2PError) -> Session {
        guard case .awaitingAuth(let peerKey, let transcript, let sender, var receiver) = state else {
            throw fail(.protocolViolation, "auth received out of order")
        }
        guard frame.count == P2PLimits.authFrameBytes else {
            throw fail(.malformedHandshake, "auth frame of \(frame.count) bytes")
        }
        let plain: [UInt8]
        do { plain = try receiver.open(frame) } catch {
            throw fail(.authenticationFailed, "auth frame failed authentication (keys differ: tampered hello?)")
        }
        guard let signature = Bytes64(plain) else { throw fail(.malformedHandshake, "auth signature size") }
        let body = Handshake.signedBody(role: role.peer, transcript: transcript)
        guard Ed25519.verify(signature, .handshake, genesisHash: params.genesisHash, body: body, publicKey: peerKey) else {
            throw fail(.badSignature, "handshake signature of \(peerKey) does not verify")
        }
        state = .done
        return Session(peerKey: peerKey, sender: sender, receiver: receiver)
    }

    private func sessionKeys(peerEphemeral: Bytes32) throws(P2PError) -> (rx: [UInt8], tx: [UInt8]) {
        var rx = [UInt8](repeating: 0, count: Int(crypto_kx_SESSIONKEYBYTES))
        var tx = [UInt8](repeating: 0, count: Int(crypto_kx_SESSIONKEYBYTES))
        let ours = ephemeral.publicKey.bytes
        let theirs = peerEphemeral.bytes
        let rc: Int32 = ephemeral.secretKey.withUnsafeBufferPointer { sk in
            switch role {
            case .initiator: crypto_kx_client_session_keys(&rx, &tx, ours, sk.baseAddress!, theirs)
            case .responder: crypto_kx_server_session_keys(&rx, &tx, ours, sk.baseAddress!, theirs)
            }
        }
        guard rc == 0 else {
            throw P2PError(.keyExchangeFailed, "peer's ephemeral key is unusable")
        }
        return (rx, tx)
    }

    private mutating func fail(_ code: P2PError.Code, _ message: String) -> P2PError {
        state = .failed
        return P2PError(code, message)
    }
}
