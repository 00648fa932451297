import Testing
import TotemCrypto
@testable import Certificates
@testable import ChainModel

/// ChainModel's strict JSON value (the test module's own `JSONValue` shadows it).
typealias ChainJSON = ChainModel.JSONValue

/// `value` with the member or item at `path` replaced by `new` (nil removes it).
private func replacing(_ value: ChainJSON, at path: [JSONPath.Component], with new: ChainJSON?) -> ChainJSON {
    guard let head = path.first else { return new ?? .null }
    let rest = Array(path.dropFirst())
    switch (value, head) {
    case (.object(let members), .key(let k)):
        var out = members
        if let i = out.firstIndex(where: { $0.key == k }) {
            if rest.isEmpty && new == nil {
                out.remove(at: i)
            } else {
                out[i].value = replacing(out[i].value, at: rest, with: new)
            }
        } else if rest.isEmpty, let new {
            out.append((key: k, value: new))
        }
        return .object(out)
    case (.array(let items), .index(let i)) where items.indices.contains(i):
        var out = items
        out[i] = replacing(out[i], at: rest, with: new)
        return .array(out)
    default:
        return value
    }
}

private func step(_ bytes: [UInt8], _ genesis: Genesis) -> CertificateStep? {
    switch CertificateVerifier.verify(bytes, genesis: genesis) {
    case .success: nil
    case .failure(let f): f.step
    }
}

@Suite("Certificate verifier")
struct CertificateVerifierTests {
    static func base() throws -> (ChainJSON, Genesis) {
        let bytes = try CertificateVectors.file("valid-registerwork.json")
        return (try JSONParser.parse(bytes), try CertificateVectors.genesis())
    }

    static let k = JSONPath.Component.key
    static let i = JSONPath.Component.index

    /// Structural faults fail the step that reads their object.
    static let structural: [(String, [JSONPath.Component], ChainJSON?, CertificateStep)] = [
        ("work not an object", [k("work")], .array([]), .format),
        ("work null", [k("work")], .null, .format),
        ("validatorSets not an array", [k("validatorSets")], .object([]), .format),
        ("inclusionProof item a number", [k("inclusionProof"), i(0)], .integer(1), .format),
        ("leafIndex fraction", [k("leafIndex")], .number("1.0"), .format),
        ("treeSize exponent", [k("treeSize")], .number("5e0"), .format),
        ("treeSize negative", [k("treeSize")], .number("-5"), .format),
        ("tx URL-safe base64", [k("tx")], .string("AQ-_"), .format),
        ("chainId a number", [k("chainId")], .integer(7), .format),
        ("validatorSets entry a string", [k("validatorSets"), i(1)], .string("x"), .validatorSets),
        ("fromHeight a string", [k("validatorSets"), i(0), k("fromHeight")], .string("1"), .validatorSets),
        ("genesis entry without fromHeight", [k("validatorSets"), i(0), k("fromHeight")], nil, .validatorSets),
        ("certifying header unpadded", [k("validatorSets"), i(1), k("certifiedBy"), k("header")], .string("AQ"),
         .validatorSets),
        ("certifying commit view over u32", [k("validatorSets"), i(1), k("certifiedBy"), k("commit"), k("view")],
         .integer(1 << 32), .validatorSets),
        ("commit view over u32", [k("commit"), k("view")], .integer(1 << 32), .commit),
        ("commit height over 2^53", [k("commit"), k("height")], .number("9007199254740992"), .commit),
        ("commit signatures not an array", [k("commit"), k("signatures")], .object([]), .commit),
        ("commit signature entry null", [k("commit"), k("signatures"), i(0)], .null, .commit),
        ("work title a number", [k("work"), k("title")], .integer(1), .work),
        ("work registeredAtMs fraction", [k("work"), k("registeredAtMs")], .number("1764000006500.0"), .work),
    ]

    @Test(arguments: structural.indices)
    func structuralFaultFailsTheReadingStep(_ n: Int) throws {
        let (doc, genesis) = try Self.base()
        let (name, path, value, expected) = Self.structural[n]
        let bad = replacing(doc, at: path, with: value)
        #expect(bad != doc, "\(name): the mutation changed nothing")
        #expect(step(JSONWriter.write(bad), genesis) == expected, "\(name)")
    }

    /// With two faults, the earlier step is reported, whatever order the objects are read in.
    @Test func theFirstFailingStepWins() throws {
        let (doc, genesis) = try Self.base()
        let badHash = replacing(doc, at: [Self.k("genesisHash")], with: .string(String(repeating: "0", count: 64)))
        let badEntry = replacing(badHash, at: [Self.k("validatorSets"), Self.i(0), Self.k("name")], with: .string("x"))
        #expect(step(JSONWriter.write(badEntry), genesis) == .genesis)
        let badCommit = replacing(badHash, at: [Self.k("commit"), Self.k("round")], with: .integer(0))
        #expect(step(JSONWriter.write(badCommit), genesis) == .genesis)
        let badWork = replacing(doc, at: [Self.k("work"), Self.k("extra")], with: .integer(0))
        let badWorkAndTx = replacing(badWork, at: [Self.k("txHash")], with: .string(String(repeating: "1", count: 64)))
        #expect(step(JSONWriter.write(badWorkAndTx), genesis) == .tx)
        let badSetsAndCommit = replacing(badCommit, at: [Self.k("genesisHash")], with: doc["genesisHash"])
        let both = replacing(badSetsAndCommit, at: [Self.k("validatorSets"), Self.i(0), Self.k("fromHeight")],
                             with: .integer(2))
        #expect(step(JSONWriter.write(both), genesis) == .validatorSets)
    }

    @Test func documentLimitsFailFormat() throws {
        let genesis = try CertificateVectors.genesis()
        let deep = [UInt8](repeating: UInt8(ascii: "["), count: JSONLimits.depthMax + 1)
        #expect(step(deep, genesis) == .format)
        let huge = [UInt8](repeating: 0x20, count: CertificateLimits.documentMaxBytes) + Array("{}".utf8)
        #expect(step(huge, genesis) == .format)
        #expect(step([], genesis) == .format)
        #expect(step(Array("[]".utf8), genesis) == .format)
        let (doc, _) = try Self.base()
        let longProof = replacing(doc, at: [Self.k("inclusionProof")], with: .array(Array(
            repeating: .string(String(repeating: "a", count: 64)), count: CertificateLimits.inclusionProofHashesMax + 1)))
        #expect(step(JSONWriter.write(longProof), genesis) == .format)
    }

    @Test func titlesCompareAsBytes() throws {
        let (doc, genesis) = try Self.base()
        guard case .string(let title)? = doc["work"]?["title"] else {
            Issue.record("no title")
            return
        }
        let nfd = title.decomposedStringWithCanonicalMappingBytes
        #expect(nfd != Array(title.utf8), "the vector title has a precomposed character")
        let bad = replacing(doc, at: [Self.k("work"), Self.k("title")], with: .string(String(decoding: nfd, as: UTF8.self)))
        #expect(step(JSONWriter.write(bad), genesis) == .work)
        #expect(step(JSONWriter.write(doc), genesis) == nil)
    }

    @Test func verifiesAgainstGenesisFileBytes() throws {
        let file = [UInt8](try TestData.data("totem/certificates/genesis.json"))
        let doc = try CertificateVectors.file("valid-fileclaim.json")
        let result = try CertificateVerifier.verify(doc, genesisFile: file)
        #expect(throws: Never.self) { try result.get() }
        #expect(throws: GenesisError.self) { _ = try CertificateVerifier.verify(doc, genesisFile: Array(file.dropLast(3))) }
    }
}

private extension String {
    /// NFD by hand for the characters the vector title uses (so the test needs no Foundation).
    var decomposedStringWithCanonicalMappingBytes: [UInt8] {
        var out = [UInt8]()
        for scalar in unicodeScalars {
            switch scalar {
            case "\u{EB}": out += Array("e\u{308}".utf8)
            case "\u{E9}": out += Array("e\u{301}".utf8)
            default: out += Array(String(scalar).utf8)
            }
        }
        return out
    }
}
