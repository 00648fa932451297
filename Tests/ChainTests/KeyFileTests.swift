import ChainModel
import Foundation
import Testing
import TotemCrypto

/// Key files: the exact JSON form, mode 0600 on write, refusal of files others may access, and a
/// strict reader whose every refusal has its own code.
@Suite struct KeyFileTests {
    /// RFC 8032 TEST 1's key: a fixed key whose public half is known independently.
    static let seedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    static let publicKeyHex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    static let otherPublicKeyHex = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"

    static func key() throws -> SigningKey { SigningKey(seed: try #require(Bytes32(hex: seedHex))) }

    @Test func encodesTheProtocolForm() throws {
        #expect(KeyFile.encode(try Self.key()) ==
                "{\"algorithm\": \"ed25519\", \"publicKey\": \"\(Self.publicKeyHex)\", \"seed\": \"\(Self.seedHex)\"}\n")
    }

    @Test func roundTripWithMode0600() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/validator.key"
            let key = SigningKey.generate()
            try KeyFile.write(key, path: path)
            #expect(try mode(of: path) == 0o600)
            let read = try KeyFile.read(path: path)
            #expect(read.seed == key.seed)
            #expect(read.publicKey == key.publicKey)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == KeyFile.encode(key))
            // The temporary file was moved into place, not left beside it.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["validator.key"])
        }
    }

    @Test func writeRefusesToReplaceUnlessAsked() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/k.key"
            let first = SigningKey.generate(), second = SigningKey.generate()
            try KeyFile.write(first, path: path)
            #expect { try KeyFile.write(second, path: path) } throws: { error in
                let e = error as? KeyFileError
                return e?.code == .alreadyExists && e?.message.contains(path) == true
            }
            #expect(try KeyFile.read(path: path).seed == first.seed)
            try KeyFile.write(second, path: path, overwrite: true)
            #expect(try KeyFile.read(path: path).seed == second.seed)
            #expect(try mode(of: path) == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["k.key"])
        }
    }

    @Test func writeIntoMissingDirectoryFails() throws {
        try withTemporaryDirectory { dir in
            #expect { try KeyFile.write(try Self.key(), path: dir + "/missing/k.key") } throws: { error in
                (error as? KeyFileError)?.code == .writeFailed
            }
        }
    }

    /// Only modes with no group or other bits are read.
    @Test(arguments: [(0o600, true), (0o400, true), (0o700, true),
                      (0o644, false), (0o640, false), (0o604, false), (0o660, false),
                      (0o620, false), (0o602, false), (0o601, false), (0o610, false)])
    func permissions(mode: Int, accepted: Bool) throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/k.key"
            try KeyFile.write(try Self.key(), path: path)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
            if accepted {
                #expect(try KeyFile.read(path: path).publicKey.hex == Self.publicKeyHex)
            } else {
                let octal = "0" + String(mode, radix: 8)
                #expect { try KeyFile.read(path: path) } throws: { error in
                    let e = error as? KeyFileError
                    return e?.code == .insecurePermissions && e?.message.contains(path) == true
                        && e?.message.contains(octal) == true
                }
            }
        }
    }

    @Test func missingFileAndDirectory() throws {
        try withTemporaryDirectory { dir in
            #expect { try KeyFile.read(path: dir + "/absent.key") } throws: { error in
                (error as? KeyFileError)?.code == .notFound
            }
            #expect { try KeyFile.read(path: dir) } throws: { error in
                (error as? KeyFileError)?.code == .unreadable
            }
        }
    }

    /// A refused file on disk names its path; the reader checks content after permissions.
    @Test func malformedFileOnDisk() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/k.key"
            let text = "{\"algorithm\": \"ed25519\", \"publicKey\": \"\(Self.publicKeyHex)\", "
                + "\"seed\": \"\(Self.seedHex)\", \"note\": \"x\"}"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8),
                                                   attributes: [.posixPermissions: 0o600]))
            #expect { try KeyFile.read(path: path) } throws: { error in
                let e = error as? KeyFileError
                return e?.code == .unknownField && e?.message.contains(path) == true
                    && e?.message.contains("\"note\"") == true
            }
            let big = String(repeating: " ", count: KeyFile.fileMaxBytes + 1)
            #expect(FileManager.default.createFile(atPath: dir + "/big.key", contents: Data(big.utf8),
                                                   attributes: [.posixPermissions: 0o600]))
            #expect { try KeyFile.read(path: dir + "/big.key") } throws: { error in
                (error as? KeyFileError)?.code == .malformed
            }
        }
    }

    /// Any valid JSON text of the right shape is read, as other software may write it.
    @Test(arguments: [
        "{\"algorithm\":\"ed25519\",\"publicKey\":\"\(publicKeyHex)\",\"seed\":\"\(seedHex)\"}",
        "\n{\n  \"seed\": \"\(seedHex)\",\n  \"algorithm\": \"ed25519\",\n\t\"publicKey\" : \"\(publicKeyHex)\"\r\n}\n",
        "{\"algorithm\": \"ed\\u00325\\u00351\\u0039\", \"publicKey\": \"\(publicKeyHex)\", \"seed\": \"\(seedHex)\"}",
    ])
    func acceptsEquivalentJSON(text: String) throws {
        let key = try KeyFile.decode(Array(text.utf8))
        #expect(key.seed.hex == Self.seedHex)
        #expect(key.publicKey.hex == Self.publicKeyHex)
    }

    @Test(arguments: MalformedCase.all)
    func refusesMalformed(_ c: MalformedCase) {
        #expect { try KeyFile.decode(Array(c.text.utf8)) } throws: { error in
            guard let e = error as? KeyFileError else { return false }
            // Field errors name the field; no message ever repeats the seed.
            return e.code == c.code && (c.field.map { e.message.contains("\"\($0)\"") } ?? true)
                && !e.message.contains(Self.seedHex) && !e.message.lowercased().contains(Self.seedHex.prefix(16))
        }
    }

    @Test func refusesInvalidUTF8() {
        var bytes = Array("{\"algorithm\": \"ed25519\", \"publicKey\": \"\(Self.publicKeyHex)\", \"seed\": \"".utf8)
        bytes += [0xff, 0xfe] + Array("\"}".utf8)
        #expect { try KeyFile.decode(bytes) } throws: { error in
            (error as? KeyFileError)?.code == .malformed
        }
    }

    // MARK: Helpers

    private func mode(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require((attributes[.posixPermissions] as? NSNumber)?.intValue, "no permissions for \(path)")
    }

    private func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("totem-keyfile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }
}

/// A key-file text that must be refused with `code`, naming `field` when one is at fault.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    let code: KeyFileError.Code
    let field: String?
    var testDescription: String { name }

    static let all: [MalformedCase] = {
        let pk = KeyFileTests.publicKeyHex, seed = KeyFileTests.seedHex
        let alg = "\"algorithm\": \"ed25519\""
        let pkField = "\"publicKey\": \"\(pk)\""
        let seedField = "\"seed\": \"\(seed)\""
        let valid = "{\(alg), \(pkField), \(seedField)}"
        return [
            MalformedCase(name: "empty", text: "", code: .malformed, field: nil),
            MalformedCase(name: "not JSON", text: "ed25519 \(pk)", code: .malformed, field: nil),
            MalformedCase(name: "array", text: "[\(valid)]", code: .malformed, field: nil),
            MalformedCase(name: "truncated", text: String(valid.dropLast()), code: .malformed, field: nil),
            MalformedCase(name: "trailing text", text: valid + "x", code: .malformed, field: nil),
            MalformedCase(name: "two objects", text: valid + valid, code: .malformed, field: nil),
            MalformedCase(name: "trailing comma", text: "{\(alg), \(pkField), \(seedField),}", code: .malformed, field: nil),
            MalformedCase(name: "single quotes", text: "{'algorithm': 'ed25519'}", code: .malformed, field: nil),
            MalformedCase(name: "number value", text: "{\(alg), \(pkField), \"seed\": 5}", code: .malformed, field: "seed"),
            MalformedCase(name: "null value", text: "{\"algorithm\": null, \(pkField), \(seedField)}",
                          code: .malformed, field: "algorithm"),
            MalformedCase(name: "raw newline in string", text: "{\"algorithm\": \"ed\n25519\", \(pkField), \(seedField)}",
                          code: .malformed, field: nil),
            MalformedCase(name: "lone surrogate", text: "{\"algorithm\": \"\\ud800\", \(pkField), \(seedField)}",
                          code: .malformed, field: nil),
            MalformedCase(name: "bad escape", text: "{\"algorithm\": \"\\x41\", \(pkField), \(seedField)}",
                          code: .malformed, field: nil),
            MalformedCase(name: "unknown field", text: "{\(alg), \(pkField), \(seedField), \"comment\": \"x\"}",
                          code: .unknownField, field: "comment"),
            MalformedCase(name: "secret key field", text: "{\(alg), \(pkField), \"secretKey\": \"\(seed)\"}",
                          code: .unknownField, field: "secretKey"),
            MalformedCase(name: "missing seed", text: "{\(alg), \(pkField)}", code: .missingField, field: "seed"),
            MalformedCase(name: "missing algorithm", text: "{\(pkField), \(seedField)}", code: .missingField,
                          field: "algorithm"),
            MalformedCase(name: "empty object", text: "{}", code: .missingField, field: "algorithm"),
            MalformedCase(name: "duplicate field", text: "{\(alg), \(alg), \(pkField), \(seedField)}",
                          code: .duplicateField, field: "algorithm"),
            MalformedCase(name: "duplicate seed", text: "{\(alg), \(pkField), \(seedField), \(seedField)}",
                          code: .duplicateField, field: "seed"),
            MalformedCase(name: "other algorithm", text: "{\"algorithm\": \"secp256k1\", \(pkField), \(seedField)}",
                          code: .unsupportedAlgorithm, field: "algorithm"),
            MalformedCase(name: "algorithm in capitals", text: "{\"algorithm\": \"Ed25519\", \(pkField), \(seedField)}",
                          code: .unsupportedAlgorithm, field: "algorithm"),
            MalformedCase(name: "uppercase seed", text: "{\(alg), \(pkField), \"seed\": \"\(seed.uppercased())\"}",
                          code: .invalidHex, field: "seed"),
            MalformedCase(name: "short seed", text: "{\(alg), \(pkField), \"seed\": \"\(seed.dropLast(2))\"}",
                          code: .invalidHex, field: "seed"),
            MalformedCase(name: "0x-prefixed public key", text: "{\(alg), \"publicKey\": \"0x\(pk)\", \(seedField)}",
                          code: .invalidHex, field: "publicKey"),
            MalformedCase(name: "base64 public key",
                          text: "{\(alg), \"publicKey\": \"11qYAYKxCrfVS/7TyWQHOg7hcvPaYiMlrwIaaPcHURo=\", \(seedField)}",
                          code: .invalidHex, field: "publicKey"),
            MalformedCase(name: "public key of another seed",
                          text: "{\(alg), \"publicKey\": \"\(KeyFileTests.otherPublicKeyHex)\", \(seedField)}",
                          code: .keyMismatch, field: "publicKey"),
        ]
    }()
}

/// Keys end up in logs and failure messages; the seed must not.
@Test func signingKeyNeverPrintsItsSeed() throws {
    let key = try KeyFileTests.key()
    var dumped = ""
    dump(key, to: &dumped)
    for text in ["\(key)", String(describing: key), String(reflecting: key), dumped] {
        #expect(text.contains(KeyFileTests.publicKeyHex))
        #expect(!text.contains(KeyFileTests.seedHex.prefix(16)), "\(text)")
        #expect(!text.contains("157, 97, 177"), "\(text)") // the seed's first bytes, as decimals
    }
}
