import TotemCrypto

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
    public static let fileMaxBytes = 4096

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
        let fields = try stringFields(bytes, origin: origin)
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

    /// The fields of the key-file text: a JSON object whose values are strings, read by the
    /// protocol's strict JSON parser (`JSONParser`: no duplicate key, valid UTF-8, no lone
    /// surrogate), with keys outside `fieldNames` refused before missing ones. Messages name
    /// fields, never values: one of them is the secret.
    static func stringFields(_ bytes: [UInt8], origin: String) throws(KeyFileError) -> [String: String] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, maxInputBytes: fileMaxBytes)
        } catch {
            if error.code == .duplicateKey, case .key(let key)? = error.path.components.last {
                throw KeyFileError(.duplicateField, "\(origin): field \"\(printable(key))\" appears more than once")
            }
            throw KeyFileError(.malformed, "\(origin) is not a valid key file: \(error.message)")
        }
        guard case .object(let members) = value else {
            throw KeyFileError(.malformed, "\(origin) is not a valid key file: expected a JSON object, found \(value.typeName)")
        }
        var fields = [String: String]()
        for (key, _) in members where !fieldNames.contains(key) {
            let expected = fieldNames.map { "\"\($0)\"" }.joined(separator: ", ")
            throw KeyFileError(.unknownField, "\(origin): unknown field \"\(printable(key))\" (a key file has exactly \(expected))")
        }
        for (key, member) in members {
            guard case .string(let text) = member else {
                throw KeyFileError(.malformed, "\(origin) is not a valid key file: field \"\(key)\" must be a JSON string")
            }
            fields[key] = text
        }
        return fields
    }

    /// A field name as it may appear in a message: bounded, with control characters replaced.
    private static func printable(_ s: String) -> String {
        String(s.prefix(64).unicodeScalars.map { $0.value < 0x20 ? "?" : Character($0) })
    }

    /// Reads the key file at `path`, refusing it when its mode lets group or others access it
    /// (`mode & 0o077 != 0`) or when it is not a regular file.
    public static func read(path: String) throws(KeyFileError) -> SigningKey {
        let bytes = try KeyFileIO.readPrivate(path: path, maxBytes: fileMaxBytes)
        return try decode(bytes, origin: "key file \(path)")
    }

    /// Writes `key` to `path` with mode 0600, atomically: the file appears whole or not at all and
    /// is never readable by others, even for an instant. Refuses to replace an existing file
    /// unless `overwrite` is true.
    public static func write(_ key: SigningKey, path: String, overwrite: Bool = false) throws(KeyFileError) {
        try KeyFileIO.writePrivate(path: path, bytes: Array(encode(key).utf8), overwrite: overwrite)
    }
}
