import ChainModel
import TotemCrypto

/// A candidate validator's request to be voted in, written by `totemd validator join` and checked
/// by `totemd validator vote add` (docs/ops/validator-changes.md). It is an agreement between
/// operators, not a consensus rule: the chain sees only the ValidatorChange votes it leads to.
///
/// The signature proves that whoever wrote it holds the key to be voted in, so no agency can be
/// made a validator with a key it does not hold (a typo, or someone else's key): Ed25519 by
/// `validator` over `"totem/join-request/v1" || 0x00 || genesisHash || body`, where
/// `body = chainId:string | validator:bytes32 | name:string | p2pAddress:string | timeMs:u64` (TCE).
/// The domain is its own, so no tx, vote or handshake signature can pass for one, nor the reverse.
struct JoinRequest: Sendable, Equatable {
    var chainId: String
    var genesisHash: Bytes32
    var validator: Bytes32
    var name: String
    var p2pAddress: String
    /// When the candidate wrote it (ms since the epoch): `vote` refuses a stale one.
    var timeMs: UInt64
    var signature: Bytes64

    /// How old a request `vote` accepts: long enough for the request to travel between agencies
    /// and be voted on, short enough that an old request (e.g. of an agency that left) is not
    /// replayed by accident.
    static let ageMaxMs: UInt64 = 7 * 24 * 3_600_000
    /// How far in the future a request may be dated (the two hosts' clocks differ).
    static let futureMaxMs: UInt64 = 10 * 60_000
    /// A request file is a few hundred bytes; anything much larger is not one.
    static let fileMaxBytes = 4096

    static let keys = ["chainId", "genesisHash", "validator", "name", "p2pAddress", "timeMs", "signature"]

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func body(chainId: String, validator: Bytes32, name: String, p2pAddress: String, timeMs: UInt64) -> [UInt8] {
        var w = TCEWriter()
        w.string(chainId)
        w.bytes32(validator)
        w.string(name)
        w.string(p2pAddress)
        w.u64(timeMs)
        return w.bytes
    }

    var body: [UInt8] {
        Self.body(chainId: chainId, validator: validator, name: name, p2pAddress: p2pAddress, timeMs: timeMs)
    }

    /// A request signed by `key` (its public key is the validator voted in).
    static func signed(by key: SigningKey, chainId: String, genesisHash: Bytes32, name: String, p2pAddress: String,
                       timeMs: UInt64) -> JoinRequest {
        let body = Self.body(chainId: chainId, validator: key.publicKey, name: name, p2pAddress: p2pAddress, timeMs: timeMs)
        return JoinRequest(chainId: chainId, genesisHash: genesisHash, validator: key.publicKey, name: name,
                           p2pAddress: p2pAddress, timeMs: timeMs,
                           signature: key.sign(.joinRequest, genesisHash: genesisHash, body: body))
    }

    /// Checks the request for the chain `(chainId, genesisHash)` at `nowMs`: same chain, fields
    /// within the ValidatorChange limits, fresh, and signed by the key it names. Throws the first
    /// problem, worded for the validator's operator.
    func verify(chainId: String, genesisHash: Bytes32, nowMs: UInt64) throws(Invalid) {
        guard self.chainId.utf8.elementsEqual(chainId.utf8), self.genesisHash == genesisHash else {
            throw Invalid("the request is for chain \(self.chainId) (genesis \(self.genesisHash.hex)), not this chain "
                          + "\(chainId) (genesis \(genesisHash.hex))")
        }
        guard (1...Limits.validatorNameMaxBytes).contains(name.utf8.count) else {
            throw Invalid("name must be 1 to \(Limits.validatorNameMaxBytes) bytes")
        }
        guard (1...Limits.p2pAddressMaxBytes).contains(p2pAddress.utf8.count) else {
            throw Invalid("p2pAddress must be 1 to \(Limits.p2pAddressMaxBytes) bytes")
        }
        guard Ed25519.verify(signature, .joinRequest, genesisHash: genesisHash, body: body, publicKey: validator) else {
            throw Invalid("the signature does not verify: the request was not signed by the key \(validator.hex), or was changed after")
        }
        if timeMs > nowMs + Self.futureMaxMs {
            throw Invalid("the request is dated \((timeMs - nowMs) / 1000) s in the future (clocks apart?)")
        }
        if nowMs > timeMs + Self.ageMaxMs {
            throw Invalid("the request is \((nowMs - timeMs) / 3_600_000) hours old (at most \(Self.ageMaxMs / 3_600_000)); ask the candidate for a new one")
        }
    }

    var json: JSONValue {
        .object([("chainId", .string(chainId)), ("genesisHash", .string(genesisHash.hex)),
                 ("validator", .string(validator.hex)), ("name", .string(name)), ("p2pAddress", .string(p2pAddress)),
                 ("timeMs", .integer(timeMs)), ("signature", .string(signature.hex))])
    }

    /// Parses a request file: exactly the seven keys, each of its type (the signature is checked by
    /// `verify`, not here).
    static func parse(_ bytes: [UInt8]) throws(Invalid) -> JoinRequest {
        do {
            let o = try JSONObjectReader(try JSONParser.parse(bytes, maxInputBytes: fileMaxBytes), at: .root)
            try o.expectKeys(keys)
            return JoinRequest(chainId: try o.string("chainId", bytes: 1...Limits.chainIdMaxBytes),
                               genesisHash: try o.bytes32("genesisHash"), validator: try o.bytes32("validator"),
                               name: try o.string("name"), p2pAddress: try o.string("p2pAddress"),
                               timeMs: try o.uint("timeMs"), signature: try o.bytes64("signature"))
        } catch {
            throw Invalid("not a join request: \(error)")
        }
    }
}
