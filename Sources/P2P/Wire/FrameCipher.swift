import CSodium

/// One direction of a session: ChaCha20-Poly1305 (IETF, 96-bit nonce) under a key from the
/// handshake, with the nonce `0x00000000 || counter:u64 big-endian` and the counter incremented per
/// frame. Invariant: a counter value is used at most once per key; at `P2PLimits.nonceCounterMax`
/// the cipher refuses, and the connection closes, before the counter could wrap.
public struct FrameCipher: Sendable {
    /// 32 bytes (checked in `init`), so its base address is never nil.
    private let key: [UInt8]
    public private(set) var counter: UInt64

    init(key: [UInt8], counter: UInt64 = 0) {
        precondition(key.count == Int(crypto_aead_chacha20poly1305_ietf_KEYBYTES), "key size")
        self.key = key
        self.counter = counter
    }

    /// The nonce for the current counter, which is then advanced.
    private mutating func advance() throws(P2PError) -> [UInt8] {
        guard counter < P2PLimits.nonceCounterMax else {
            throw P2PError(.nonceExhausted, "nonce counter exhausted; the connection must be re-established")
        }
        var n = [UInt8](repeating: 0, count: Int(crypto_aead_chacha20poly1305_ietf_NPUBBYTES))
        let be = counter.bigEndian
        withUnsafeBytes(of: be) { c in
            for i in 0..<8 { n[4 + i] = c[i] }
        }
        counter += 1
        return n
    }

    /// Encrypts `plaintext` and returns `ciphertext || tag`.
    public mutating func seal(_ plaintext: [UInt8]) throws(P2PError) -> [UInt8] {
        let n = try advance()
        var out = [UInt8](repeating: 0, count: plaintext.count + P2PLimits.aeadTagBytes)
        var outLen: UInt64 = 0
        let rc = key.withUnsafeBufferPointer { k in
            crypto_aead_chacha20poly1305_ietf_encrypt(&out, &outLen, plaintext, UInt64(plaintext.count),
                                                      nil, 0, nil, n, k.baseAddress!)
        }
        precondition(rc == 0 && Int(outLen) == out.count, "AEAD encrypt failed")
        return out
    }

    /// Decrypts and authenticates `ciphertext || tag`; any failure is `authenticationFailed`, and
    /// the connection must close (the peer's counter and ours no longer agree).
    public mutating func open(_ ciphertext: [UInt8]) throws(P2PError) -> [UInt8] {
        guard ciphertext.count >= P2PLimits.aeadTagBytes else {
            throw P2PError(.authenticationFailed, "frame shorter than its authentication tag")
        }
        let n = try advance()
        var out = [UInt8](repeating: 0, count: ciphertext.count - P2PLimits.aeadTagBytes)
        var outLen: UInt64 = 0
        let rc = key.withUnsafeBufferPointer { k in
            crypto_aead_chacha20poly1305_ietf_decrypt(&out, &outLen, nil, ciphertext, UInt64(ciphertext.count),
                                                      nil, 0, n, k.baseAddress!)
        }
        guard rc == 0 else { throw P2PError(.authenticationFailed, "frame failed authentication") }
        return out
    }
}
