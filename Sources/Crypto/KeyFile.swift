/// The key file of PROTOCOL.md, the one form every Totem tool (and agencies' own software) reads
/// and writes:
///
///     {"algorithm": "ed25519", "publicKey": "<hex 32>", "seed": "<hex 32>"}
///
/// `seed` is the RFC 8032 seed the key pair is derived from; `publicKey` is redundant and checked
/// against it, so a file whose halves come from different keys is refused rather than signing as
/// someone unexpected. Files are created with mode 0600 and refused when group or others may
/// access them.
public enum KeyFile {
    /// The only algorithm of protocol v1.
    public static let algorithm = "ed25519"

    /// A key file is about 170 bytes; anything much larger is not one, and is not read whole.
    public static let maxFileBytes = 4096

    /// The fields, in the order they are written and checked.
    static let fieldNames = ["algorithm", "publicKey", "seed"]

    /// The exact text of `key`'s key file (one line, ending in a newline).
    public static func encode(_ key: SigningKey) -> String {
        "{\"algorithm\": \"\(algorithm)\", \"publicKey\": \"\(key.publicKey.hex)\", \"seed\": \"\(key.seed.hex)\"}\n"
    }

    /// The key in the key-file text `bytes`. `origin` names the text in error messages.
    /// Refuses anything but a JSON object with exactly the three fields, `algorithm` "ed25519",
    /// `publicKey` and `seed` as 64 lowercase hex digits, and `publicKey` derived from `seed`.
    public static func decode(_ bytes: [UInt8], origin: String = "key file") throws(KeyFileError) -> SigningKey {
        let fields = try KeyFileJSON.parseObject(bytes, allowedKeys: fieldNames, origin: origin)
        for name in fieldNames where fields[name] == nil {
            throw KeyFileError(.missingField, "\(origin): field \"\(name)\" is missing")
        }
        guard fields["algorithm"] == algorithm else {
            throw KeyFileError(.unsupportedAlgorithm,
                               "\(origin): field \"algorithm\" must be \"\(algorithm)\", the only algorithm of Totem v1")
        }
        // Neither value is echoed: one of them is the secret.
        guard let publicKeyText = fields["publicKey"], let publicKey = Bytes32(hex: publicKeyText) else {
            throw KeyFileError(.invalidHex, "\(origin): field \"publicKey\" must be 64 lowercase hex digits (32 bytes)")
        }
        guard let seedText = fields["seed"], let seed = Bytes32(hex: seedText) else {
            throw KeyFileError(.invalidHex, "\(origin): field \"seed\" must be 64 lowercase hex digits (32 bytes)")
        }
        let key = SigningKey(seed: seed)
        guard key.publicKey == publicKey else {
            throw KeyFileError(.keyMismatch, "\(origin): field \"publicKey\" \(publicKey.hex) is not the public key "
                               + "of field \"seed\" (which is \(key.publicKey.hex))")
        }
        return key
    }

    /// Reads the key file at `path`, refusing it when its mode lets group or others access it
    /// (`mode & 0o077 != 0`) or when it is not a regular file.
    public static func read(path: String) throws(KeyFileError) -> SigningKey {
        let bytes = try KeyFileIO.readPrivate(path: path, maxBytes: maxFileBytes)
        return try decode(bytes, origin: "key file \(path)")
    }

    /// Writes `key` to `path` with mode 0600, atomically: the file appears whole or not at all and
    /// is never readable by others, even for an instant. Refuses to replace an existing file
    /// unless `overwrite` is true.
    public static func write(_ key: SigningKey, path: String, overwrite: Bool = false) throws(KeyFileError) {
        try KeyFileIO.writePrivate(path: path, bytes: Array(encode(key).utf8), overwrite: overwrite)
    }
}
