import Testing
import TotemCrypto
@testable import Certificates
@testable import ChainModel

private func flipped(_ bytes: [UInt8], _ i: Int, _ mask: UInt8) -> [UInt8] {
    var b = bytes
    b[i] ^= mask
    return b
}

private func flipped(_ v: Bytes32, _ i: Int, _ mask: UInt8 = 0x01) throws -> Bytes32 {
    try #require(Bytes32(flipped(v.bytes, i, mask)))
}

private func flipped(_ v: Bytes64, _ i: Int, _ mask: UInt8 = 0x01) throws -> Bytes64 {
    try #require(Bytes64(flipped(v.bytes, i, mask)))
}

/// The step that rejects `c`, or nil when it verifies.
private func rejectingStep(_ c: Certificate, _ genesis: Genesis) -> CertificateStep? {
    switch CertificateVerifier.verify(c, genesis: genesis) {
    case .success: nil
    case .failure(let f): f.step
    }
}

private let masks: [UInt8] = [0x01, 0x80]

/// Properties of valid certificates under change: no byte of a decoded binary field can change
/// without failing the step that checks it.
@Suite("Certificate properties")
struct CertificatePropertyTests {
    /// The certificate across the validator-set change (two entries, q = 4 of 5) and the batch one.
    static let subjects = ["valid-registerwork.json", "valid-registerworkbatch.json"]

    static func load(_ file: String) throws -> (Certificate, Genesis) {
        let genesis = try CertificateVectors.genesis()
        let c = try Certificate.parse(try CertificateVectors.file(file))
        try #require(rejectingStep(c, genesis) == nil, "\(file) must verify")
        return (c, genesis)
    }

    @Test(arguments: subjects)
    func txBytes(_ file: String) throws {
        let (c, genesis) = try Self.load(file)
        for i in c.tx.indices {
            for m in masks {
                var bad = c
                bad.tx = flipped(c.tx, i, m)
                #expect(rejectingStep(bad, genesis) == .tx, "tx[\(i)]^\(m)")
                bad.txHash = SHA256.hash(bad.tx)
                #expect(rejectingStep(bad, genesis) == .tx, "tx[\(i)]^\(m) with its txHash")
            }
        }
        for i in 0..<32 {
            var bad = c
            bad.txHash = try flipped(c.txHash, i)
            #expect(rejectingStep(bad, genesis) == .tx, "txHash[\(i)]")
        }
    }

    @Test(arguments: subjects)
    func headerBytes(_ file: String) throws {
        let (c, genesis) = try Self.load(file)
        for i in c.header.indices {
            for m in masks {
                var bad = c
                bad.header = flipped(c.header, i, m)
                #expect(rejectingStep(bad, genesis) == .header, "header[\(i)]^\(m)")
                bad.blockHash = SHA256.hash(bad.header)
                // Fields a verifier cannot check (stateRoot, proposer, ...) fail at the signatures.
                let step = rejectingStep(bad, genesis)
                #expect(step == .header || step == .commit, "header[\(i)]^\(m) with its blockHash: \(String(describing: step))")
            }
        }
        for i in 0..<32 {
            var bad = c
            bad.blockHash = try flipped(c.blockHash, i)
            #expect(rejectingStep(bad, genesis) == .header, "blockHash[\(i)]")
        }
    }

    @Test(arguments: subjects)
    func commitBytes(_ file: String) throws {
        let (c, genesis) = try Self.load(file)
        for s in c.commit.signatures.indices {
            for i in 0..<64 {
                var bad = c
                bad.commit.signatures[s].signature = try flipped(c.commit.signatures[s].signature, i)
                #expect(rejectingStep(bad, genesis) == .commit, "commit.signatures[\(s)].signature[\(i)]")
            }
            for i in 0..<32 {
                var bad = c
                bad.commit.signatures[s].validator = try flipped(c.commit.signatures[s].validator, i)
                #expect(rejectingStep(bad, genesis) == .commit, "commit.signatures[\(s)].validator[\(i)]")
            }
        }
        for delta in [-1, 1] {
            var bad = c
            bad.commit.height = UInt64(Int(c.commit.height) + delta)
            #expect(rejectingStep(bad, genesis) == .commit, "commit.height \(delta)")
            bad = c
            bad.commit.view = UInt32(Int(c.commit.view) + delta)
            #expect(rejectingStep(bad, genesis) == .commit, "commit.view \(delta)")
        }
    }

    @Test(arguments: subjects)
    func validatorSetBytes(_ file: String) throws {
        let (c, genesis) = try Self.load(file)
        for (e, entry) in c.validatorSets.enumerated() {
            for k in entry.validators.indices {
                for i in 0..<32 {
                    var bad = c
                    bad.validatorSets[e].validators[k] = try flipped(entry.validators[k], i)
                    #expect(rejectingStep(bad, genesis) == .validatorSets, "validatorSets[\(e)].validators[\(k)][\(i)]")
                }
            }
            guard let cert = entry.certifiedBy else { continue }
            for i in cert.header.indices {
                var bad = c
                bad.validatorSets[e].certifiedBy?.header = flipped(cert.header, i, 0x01)
                #expect(rejectingStep(bad, genesis) == .validatorSets, "validatorSets[\(e)].certifiedBy.header[\(i)]")
            }
            for s in cert.commit.signatures.indices {
                for i in 0..<64 {
                    var bad = c
                    bad.validatorSets[e].certifiedBy?.commit.signatures[s].signature =
                        try flipped(cert.commit.signatures[s].signature, i)
                    #expect(rejectingStep(bad, genesis) == .validatorSets, "certifying signature [\(s)][\(i)]")
                }
                for i in 0..<32 {
                    var bad = c
                    bad.validatorSets[e].certifiedBy?.commit.signatures[s].validator =
                        try flipped(cert.commit.signatures[s].validator, i)
                    #expect(rejectingStep(bad, genesis) == .validatorSets, "certifying validator [\(s)][\(i)]")
                }
            }
            var bad = c
            bad.validatorSets[e].fromHeight += 1
            let step = rejectingStep(bad, genesis)
            #expect(step == .validatorSets || step == .header, "validatorSets[\(e)].fromHeight + 1")
        }
    }

    @Test(arguments: subjects)
    func inclusionAndWorkBytes(_ file: String) throws {
        let (c, genesis) = try Self.load(file)
        for p in c.inclusionProof.indices {
            for i in 0..<32 {
                var bad = c
                bad.inclusionProof[p] = try flipped(c.inclusionProof[p], i)
                #expect(rejectingStep(bad, genesis) == .inclusion, "inclusionProof[\(p)][\(i)]")
            }
        }
        for (name, edit) in [("leafIndex + 1", { (b: inout Certificate) in b.leafIndex += 1 }),
                             ("leafIndex - 1", { (b: inout Certificate) in b.leafIndex -= 1 }),
                             ("treeSize + 1", { (b: inout Certificate) in b.treeSize += 1 }),
                             ("treeSize - 1", { (b: inout Certificate) in b.treeSize -= 1 })] {
            var bad = c
            edit(&bad)
            #expect(rejectingStep(bad, genesis) == .inclusion, "\(name)")
        }
        let work = try #require(c.work)
        for i in 0..<32 {
            var bad = c
            bad.work?.contentHash = try flipped(work.contentHash, i)
            #expect(rejectingStep(bad, genesis) == .work, "work.contentHash[\(i)]")
            bad = c
            bad.work?.registrant = try flipped(work.registrant, i)
            #expect(rejectingStep(bad, genesis) == .work, "work.registrant[\(i)]")
        }
        for i in 0..<32 {
            var bad = c
            bad.genesisHash = try flipped(c.genesisHash, i)
            #expect(rejectingStep(bad, genesis) == .genesis, "genesisHash[\(i)]")
        }
    }

    @Test func droppingASignatureBelowQuorumFailsCommit() throws {
        let (c, genesis) = try Self.load("valid-registerwork.json")
        #expect(c.commit.signatures.count == 4)
        for s in c.commit.signatures.indices {
            var bad = c
            bad.commit.signatures.remove(at: s)
            #expect(rejectingStep(bad, genesis) == .commit, "without signature \(s)")
        }
    }

    @Test(arguments: subjects)
    func duplicatingASignerFailsCommit(_ file: String) throws {
        let (c, genesis) = try Self.load(file)
        for s in c.commit.signatures.indices {
            var bad = c
            bad.commit.signatures.append(c.commit.signatures[s])
            #expect(rejectingStep(bad, genesis) == .commit, "signer \(s) appended twice")
            bad = c
            bad.commit.signatures[(s + 1) % c.commit.signatures.count] = c.commit.signatures[s]
            #expect(rejectingStep(bad, genesis) == .commit, "signer \(s) in place of another")
        }
    }

    @Test func anotherGenesisFailsGenesis() throws {
        let (c, _) = try Self.load("valid-registerwork.json")
        let others = TestData.section("genesisFiles").filter {
            if case .bool(true)? = $0.dict["accept"] { $0.string("name") != "certificates-genesis" } else { false }
        }
        #expect(others.count == 2)
        for other in others {
            let g = try Genesis.parse(fileBytes: Array(other.string("file").utf8))
            #expect(rejectingStep(c, g) == .genesis, "\(other.string("name"))")
        }
        // Same content, one more byte: another genesisHash, so another chain.
        let spaced = try Genesis.parse(fileBytes: [UInt8](try TestData.data("totem/certificates/genesis.json")) + [0x20])
        #expect(rejectingStep(c, spaced) == .genesis)
    }

    @Test func certificateAcrossAValidatorSetChangeVerifies() throws {
        let genesis = try CertificateVectors.genesis()
        let verified = try CertificateVerifier.verify(try CertificateVectors.file("valid-registerwork.json"),
                                                      genesis: genesis).get()
        #expect(verified.certificate.validatorSets.count == 2)
        #expect(verified.height == 6)
        #expect(verified.validatorSet.count == 5)
        #expect(verified.validatorSet != genesis.validatorSet)
        #expect(verified.tx.tx.kind == .registerWork)
        #expect(verified.work?.contentHash == verified.certificate.work?.contentHash)
        #expect(verified.registeredAtMs == verified.certificate.work?.registeredAtMs)
    }
}
