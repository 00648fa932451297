import ArgumentParser
import Certificates
import Foundation

/// `totemd verify CERT --genesis FILE`: checks a registration certificate offline, with only the
/// genesis file as trust root, and prints each named step passed or the first one failing.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a totem-certificate/1 offline against the chain's genesis file.")

    @Argument(help: "The certificate file (JSON).")
    var certificate: String

    @Option(name: .long, help: "The chain's genesis file (the trust root).")
    var genesis: String

    func run() throws {
        guard let cert = FileManager.default.contents(atPath: certificate) else {
            throw ValidationError("cannot read \(certificate)")
        }
        guard let genesisBytes = FileManager.default.contents(atPath: genesis) else {
            throw ValidationError("cannot read \(genesis)")
        }
        let result: Result<VerifiedCertificate, CertificateFailure>
        do {
            result = try CertificateVerifier.verify(Array(cert), genesisFile: Array(genesisBytes))
        } catch {
            throw ValidationError("the genesis file is not valid: \(error)")
        }
        switch result {
        case .success(let verified):
            for step in CertificateStep.allCases { print("ok    \(step.rawValue)") }
            let h = verified.header
            print("VALID: tx \(verified.tx.hash.hex) (\(verified.tx.tx.kind.name)) committed at height \(h.height), "
                  + "time \(h.timestampMs) ms, by a quorum of a validator set certified from genesis")
            if let work = verified.work {
                print("work \(work.contentHash.hex) \"\(work.title)\" registered by \(verified.tx.tx.sender.hex)")
            }
        case .failure(let failure):
            for step in CertificateStep.allCases where step < failure.step { print("ok    \(step.rawValue)") }
            print("FAIL  \(failure.step.rawValue): \(failure.code): \(failure.message)")
            throw ExitCode(1)
        }
    }
}
