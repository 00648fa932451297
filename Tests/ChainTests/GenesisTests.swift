import Foundation
import Testing
import TotemCrypto
@testable import ChainModel

private func genesisError(_ bytes: [UInt8]) -> GenesisError? {
    do {
        _ = try Genesis.parse(fileBytes: bytes)
        return nil
    } catch {
        return error
    }
}

/// The genesis file of the certificate vectors, as text.
private func standardText() throws -> String {
    String(decoding: try TestData.data("totem/certificates/genesis.json"), as: UTF8.self)
}

/// `standardText()` with one exact substring replaced; fails the test if it is not there.
private func mutated(_ from: String, _ to: String) throws -> [UInt8] {
    let text = try standardText()
    let range = try #require(text.range(of: from), "genesis.json has no \(from)")
    return Array(text.replacingCharacters(in: range, with: to).utf8)
}

@Suite("Genesis")
struct GenesisTests {
    /// The code and field each rejected vector must produce (the vectors only say "reject").
    static let expectedRejections: [String: (GenesisError.Code, String)] = [
        "missing-registrars": (.missingField, "registrars"),
        "missing-rootRegistrar": (.missingField, "rootRegistrar"),
        "missing-param": (.missingField, "params.validatorChangeTtlBlocks"),
        "unknown-field": (.unknownField, "description"),
        "unknown-param": (.unknownField, "params.maxValidators"),
        "unknown-validator-field": (.unknownField, "validators[0].stake"),
        "unknown-registrar-field": (.unknownField, "registrars[0].role"),
        "maxTxBytes-65537": (.badParam, "params.maxTxBytes"),
        "no-validators": (.badValidators, "validators"),
        "duplicate-validator-key": (.duplicateValidator, "validators[4].publicKey"),
        "key-uppercase": (.badKey, "rootRegistrar"),
        "key-31-bytes": (.badKey, ".publicKey"),
        "chainId-uppercase": (.badChainId, "chainId"),
        "chainId-65": (.badChainId, "chainId"),
        "chainId-empty": (.badChainId, "chainId"),
        "proposalTimeoutMs-99": (.badParam, "params.proposalTimeoutMs"),
        "proposalTimeoutMs-above-max": (.badParam, "params.proposalTimeoutMs"),
    ]

    @Test func vectorSectionIsComplete() {
        let files = TestData.section("genesisFiles")
        #expect(files.count == 20)
        let rejected = files.filter { if case .bool(false)? = $0.dict["accept"] { true } else { false } }
        #expect(Set(rejected.map { $0.string("name") }) == Set(Self.expectedRejections.keys))
    }

    @Test(arguments: TestData.section("genesisFiles"))
    func vector(_ v: JSONFields) throws {
        let bytes = Array(v.string("file").utf8)
        guard case .bool(let accept)? = v.dict["accept"] else {
            Issue.record("\(v.string("name")): no accept flag")
            return
        }
        if accept {
            let g = try Genesis.parse(fileBytes: bytes)
            #expect(g.genesisHash.hex == v.string("genesisHash"))
            #expect(g.fileBytes == bytes)
        } else {
            let error = try #require(genesisError(bytes), "\(v.string("name")) must be rejected")
            let (code, field) = try #require(Self.expectedRejections[v.string("name")])
            #expect(error.code == code, "\(v.string("name")): \(error)")
            #expect(error.field == field || (field.hasPrefix(".") && error.field.hasSuffix(field)),
                    "\(v.string("name")): \(error)")
        }
    }

    @Test func certificateGenesisParsesToItsFields() throws {
        let bytes = [UInt8](try TestData.data("totem/certificates/genesis.json"))
        let g = try Genesis.parse(fileBytes: bytes)
        #expect(g.genesisHash == SHA256.hash(bytes))
        #expect(g.genesisHash == TestData.vectors.b32("genesisHash"))
        #expect(g.chainId == "totem-devnet")
        #expect(g.genesisTimeMs == 1_764_000_000_000)
        #expect(g.registrars.count == 1)
        #expect(Array(g.registrars[0].name.utf8) == Array("Agence R\u{E9}gistre A".utf8))
        #expect(g.validators.map(\.name) == ["validator-0", "validator-1", "validator-2", "validator-3"])
        #expect(g.validatorSet.count == 4)
        #expect(g.params == .standard)
    }

    /// The writer reproduces the vectors' accepted files byte for byte, so `totemd testnet` files
    /// and these have the same layout.
    @Test(arguments: TestData.section("genesisFiles").filter { if case .bool(true)? = $0.dict["accept"] { true } else { false } })
    func writerReproducesAcceptedFiles(_ v: JSONFields) throws {
        let bytes = Array(v.string("file").utf8)
        let g = try Genesis.parse(fileBytes: bytes)
        let rebuilt = try Genesis.build(chainId: g.chainId, genesisTimeMs: g.genesisTimeMs, rootRegistrar: g.rootRegistrar,
                                        registrars: g.registrars, validators: g.validators, params: g.params)
        #expect(rebuilt.fileBytes == bytes)
        #expect(rebuilt.genesisHash == g.genesisHash)
    }

    @Test func builderRefusesWhatTheParserRefuses() throws {
        let key = SigningKey(seed: SHA256.hash([1])).publicKey
        let v = GenesisValidator(name: "v", publicKey: key, p2pAddress: "127.0.0.1:1")
        func build(chainId: String = "t", validators: [GenesisValidator], params: GenesisParams = .standard) -> GenesisError? {
            do {
                _ = try Genesis.build(chainId: chainId, genesisTimeMs: 0, rootRegistrar: key, registrars: [],
                                      validators: validators, params: params)
                return nil
            } catch {
                return error
            }
        }
        #expect(build(validators: [v]) == nil)
        #expect(build(validators: [v, v])?.code == .duplicateValidator)
        #expect(build(validators: [])?.code == .badValidators)
        #expect(build(chainId: "Totem", validators: [v])?.code == .badChainId)
        var p = GenesisParams.standard
        p.maxBlockTxs = -1
        #expect(build(validators: [v], params: p)?.code == .badInteger)
        p = .standard
        p.maxTxBytes = 70_000
        #expect(build(validators: [v], params: p)?.field == "params.maxTxBytes")
    }

    /// A draft (the ceremony's file before validators are added) is a genesis file with an empty
    /// validator list: the draft parser takes it, the genesis parser does not; every other rule holds.
    @Test func draftMayHaveNoValidatorsYet() throws {
        let g = try Genesis.parse(fileBytes: Array(try standardText().utf8))
        var draft = GenesisDraft(chainId: g.chainId, genesisTimeMs: g.genesisTimeMs, rootRegistrar: g.rootRegistrar,
                                 registrars: g.registrars, validators: [], params: g.params)
        let empty = try GenesisDraft.parse(fileBytes: draft.fileBytes)
        #expect(empty.validators.isEmpty && empty.chainId == g.chainId && empty.params == g.params)
        #expect(genesisError(draft.fileBytes)?.code == .badValidators)
        #expect(throws: GenesisError.self) { try draft.build() }
        draft.validators = g.validators
        #expect(try draft.build().fileBytes == g.fileBytes)
        draft.chainId = "Totem"
        #expect(throws: GenesisError(.badChainId, field: "chainId",
                                     "chainId must be 1 to \(Limits.chainIdMaxBytes) characters of [a-z0-9-]")) {
            try GenesisDraft.parse(fileBytes: draft.fileBytes)
        }
    }

    /// A validator entry file holds exactly one item of `validators`, under the same rules.
    @Test func validatorEntryRoundTripsAndIsCheckedAsAnItem() throws {
        let v = try Genesis.parse(fileBytes: Array(try standardText().utf8)).validators[0]
        #expect(try Genesis.parseValidatorEntry(fileBytes: v.entryFileBytes) == v)
        let text = String(decoding: v.entryFileBytes, as: UTF8.self)
        func refusal(_ from: String, _ to: String) -> GenesisError? {
            do {
                _ = try Genesis.parseValidatorEntry(fileBytes: Array(text.replacingOccurrences(of: from, with: to).utf8))
                return nil
            } catch {
                return error
            }
        }
        #expect(refusal("\"name\"", "\"seed\": \"00\", \"name\"")?.field == "seed")
        #expect(refusal(v.publicKey.hex, v.publicKey.hex.uppercased())?.field == "publicKey")
        #expect(refusal(v.p2pAddress, "")?.field == "p2pAddress")
        #expect(refusal("{", "[")?.code == .invalidJSON)
    }

    @Test func hashIsOfTheExactBytes() throws {
        let bytes = [UInt8](try TestData.data("totem/certificates/genesis.json"))
        let spaced = try Genesis.parse(fileBytes: bytes + Array(" \n".utf8))
        #expect(spaced.genesisHash != TestData.vectors.b32("genesisHash"))
        #expect(spaced.chainId == "totem-devnet")
    }

    static let ownRejections: [(String, String, GenesisError.Code, String)] = [
        ("\"chainId\": \"totem-devnet\"", "\"chainId\": \"totem-devnet\", \"chainId\": \"totem-devnet\"", .duplicateKey, "chainId"),
        ("\"maxTxBytes\": 65536", "\"maxTxBytes\": 65536, \"maxTxBytes\": 65536", .duplicateKey, "params.maxTxBytes"),
        ("\"p2pAddress\": \"127.0.0.1:26601\"", "\"p2pAddress\": \"127.0.0.1:26601\", \"p2pAddress\": \"x\"",
         .duplicateKey, "validators[0].p2pAddress"),
        ("1764000000000", "1764000000000.0", .badInteger, "genesisTimeMs"),
        ("1764000000000", "1.764e12", .badInteger, "genesisTimeMs"),
        ("1764000000000", "-1", .badInteger, "genesisTimeMs"),
        ("1764000000000", "9007199254740992", .badInteger, "genesisTimeMs"),
        ("1764000000000", "\"1764000000000\"", .wrongType, "genesisTimeMs"),
        ("\"totem-devnet\"", "\"totem_devnet\"", .badChainId, "chainId"),
        ("\"totem-devnet\"", "\"totem-d\u{E9}vnet\"", .badChainId, "chainId"),
        ("\"totem-devnet\"", "\"totem devnet\"", .badChainId, "chainId"),
        ("\"totem-devnet\"", "7", .wrongType, "chainId"),
        ("\"maxTxBytes\": 65536", "\"maxTxBytes\": 1023", .badParam, "params.maxTxBytes"),
        ("\"maxBlockBytes\": 8388608", "\"maxBlockBytes\": 65535", .badParam, "params.maxBlockBytes"),
        ("\"maxBlockBytes\": 8388608", "\"maxBlockBytes\": 67108865", .badParam, "params.maxBlockBytes"),
        ("\"maxBlockTxs\": 5000", "\"maxBlockTxs\": 0", .badParam, "params.maxBlockTxs"),
        ("\"emptyBlockIntervalMs\": 30000", "\"emptyBlockIntervalMs\": 99", .badParam, "params.emptyBlockIntervalMs"),
        ("\"validatorChangeTtlBlocks\": 10000", "\"validatorChangeTtlBlocks\": 0", .badParam,
         "params.validatorChangeTtlBlocks"),
        ("\"name\": \"validator-0\"", "\"name\": \"\"", .badString, "validators[0].name"),
        ("\"p2pAddress\": \"127.0.0.1:26601\"", "\"p2pAddress\": \"\"", .badString, "validators[0].p2pAddress"),
        ("\"name\": \"Agence R\u{E9}gistre A\"", "\"name\": \"\(String(repeating: "n", count: 129))\"", .badString,
         "registrars[0].name"),
        ("\"validators\": [\n    {", "\"validators\": [\n    7, {", .wrongType, "validators[0]"),
        ("c154ba42ed7401c7fb79708abedfce1fe41dd96c8b9386583a8eec4dcb1a3726\"",
         "c154ba42ed7401c7fb79708abedfce1fe41dd96c8b9386583a8eec4dcb1a3726 \"", .badKey, "validators[0].publicKey"),
        ("}\n}\n", "}\n}\n{}", .invalidJSON, "(root)"),
        ("}\n}\n", "}\n", .invalidJSON, "(root)"),
    ]

    @Test(arguments: ownRejections.indices)
    func ownRejection(_ i: Int) throws {
        let (from, to, code, field) = Self.ownRejections[i]
        let error = try #require(genesisError(try mutated(from, to)), "case \(i) accepted")
        #expect(error.code == code, "case \(i): \(error)")
        #expect(error.field == field, "case \(i): \(error)")
    }

    @Test func wrongContainerTypesAreRefused() throws {
        let text = try standardText()
        let params = try #require(text.range(of: "\"params\": {"))
        let noParams = String(text[..<params.lowerBound]) + "\"params\": []\n}\n"
        #expect(genesisError(Array(noParams.utf8))?.code == .wrongType)
        #expect(genesisError(Array(noParams.utf8))?.field == "params")
        let registrars = try #require(text.range(of: "\"registrars\": ["))
        let objectRegistrars = text.replacingCharacters(in: registrars, with: "\"registrars\": {\"a\": 1}, \"b\": [")
        // The unknown key "b" is found first; the wrong type only when the keys are right.
        #expect(genesisError(Array(objectRegistrars.utf8))?.code == .unknownField)
        let registrarsObject = try #require(TestData.section("genesisFiles").first { $0.string("name") == "registrars-empty" })
        let bad = registrarsObject.string("file").replacingOccurrences(of: "\"registrars\": []", with: "\"registrars\": {}")
        #expect(genesisError(Array(bad.utf8))?.code == .wrongType)
        #expect(genesisError(Array(bad.utf8))?.field == "registrars")
    }

    @Test func duplicateRegistrarKeysAreRefused() throws {
        let registrar = "{\n      \"name\": \"Agence R\u{E9}gistre A\",\n      \"publicKey\": \"9e96d397a9fb9f54c0153a1cc784ab85256d58c16cfbd5d6545c7d40d4582b0e\"\n    }"
        let bytes = try mutated(registrar, registrar + ", " + registrar.replacingOccurrences(of: "A\"", with: "B\""))
        let error = try #require(genesisError(bytes))
        #expect(error.code == .duplicateRegistrar)
        #expect(error.field == "registrars[1].publicKey")
    }

    @Test func refusesOversizedFilesAndInvalidUTF8() throws {
        let big = [UInt8](repeating: 0x20, count: GenesisLimits.fileMaxBytes) + Array("{}".utf8)
        #expect(genesisError(big)?.code == .tooLarge)
        var bytes = try mutated("validator-0", "validator-\u{E9}")
        let i = try #require(bytes.firstIndex(of: 0xC3))
        bytes[i] = 0xFF
        #expect(genesisError(bytes)?.code == .invalidJSON)
    }
}
