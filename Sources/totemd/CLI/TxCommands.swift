import ArgumentParser
import ChainModel
import Foundation
import ImageCodes
import ImageDecoding
import TotemCrypto

/// `totemd tx <kind>`: build, sign and submit a transaction of each kind through the API.
struct TxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx", abstract: "Build, sign and submit transactions.",
        subcommands: [RegisterIdentityCmd.self, RevokeIdentityCmd.self, RegisterWorkCmd.self, RegisterWorksCmd.self, TransferWorkCmd.self,
                      GrantLicenseCmd.self, FileClaimCmd.self, AddRegistrarCmd.self, RemoveRegistrarCmd.self,
                      ValidatorChangeCmd.self])
}

struct SignerOptions: ParsableArguments {
    @Option(name: .long, help: "The sender's key file.")
    var key: String
    @Option(name: .long, help: "Base URL of a node's HTTP API.")
    var api: String = "http://127.0.0.1:26701"
    @Option(name: .long, help: "Nonce to use (default: the account's next nonce from the node).")
    var nonce: UInt64?
    @Flag(name: .long, help: "Return at once instead of waiting until the transaction is committed.")
    var noWait = false

    /// Signs `payload` as the key's owner and submits it; prints the tx hash and its final status.
    func submit(_ payload: Payload) async throws {
        let signer: SigningKey
        do { signer = try KeyFile.read(path: key) } catch { throw ValidationError(error.message) }
        do {
            try await SignedSubmission.submit(payload, signer: signer, api: api, nonce: nonce, wait: !noWait)
        } catch let refused as SignedSubmission.Refused {
            throw ValidationError(refused.description)
        }
    }
}

/// Signing a payload with a key and submitting it through a node's API, for `tx` and `validator vote`.
enum SignedSubmission {
    /// The node refused the transaction at admission (its error code and message).
    struct Refused: Error, CustomStringConvertible {
        let code: String
        let message: String
        var description: String { "refused: \(code): \(message)" }
    }

    /// Signs and submits; prints the tx hash, and with `wait` the final status (exit 1 when the
    /// transaction was rejected in a block). Returns the final status when waited for.
    @discardableResult
    static func submit(_ payload: Payload, signer: SigningKey, api: String, nonce given: UInt64?,
                       wait: Bool) async throws -> JSONValue? {
        let client = APIClient(base: api)
        let info = try await client.status()
        let nonce: UInt64
        if let given { nonce = given } else { nonce = try await client.nextNonce(signer.publicKey) }
        let tx = Tx(chainId: info.chainId, sender: signer.publicKey, nonce: nonce, payload: payload)
            .signed(by: signer, genesisHash: info.genesisHash)
        guard let result = try await client.submit([tx]).first else { throw ValidationError("no answer") }
        guard result.accepted else { throw Refused(code: result.errorCode ?? "?", message: result.errorMessage ?? "") }
        print("txHash \(tx.hash.hex)")
        if !wait { return nil }
        let final = try await client.waitForTx(tx.hash.hex)
        print(String(decoding: JSONWriter.write(final, style: .pretty(indent: 2)), as: UTF8.self), terminator: "")
        if case .string("rejected")? = final["status"] { throw ExitCode(1) }
        return final
    }
}

func hex32(_ s: String, _ name: String) throws -> Bytes32 {
    guard let v = Bytes32(hex: s) else { throw ValidationError("--\(name) must be 64 lowercase hex digits") }
    return v
}

struct RegisterIdentityCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "register-identity",
                                                    abstract: "Register an identity (sent by a registrar).")
    @OptionGroup var signer: SignerOptions
    @Option(help: "The identity's public key (hex).") var subject: String
    @Option(help: "Display name.") var name: String
    @Option(help: "photographer or agency.") var role: String = "photographer"
    @Option(help: "SHA-256 of the KYC record (hex); default: zeros.") var kycDigest: String = String(repeating: "0", count: 64)

    func run() async throws {
        guard let r = IdentityRole.allCases.first(where: { $0.name == role }) else {
            throw ValidationError("--role must be photographer or agency")
        }
        try await signer.submit(.registerIdentity(RegisterIdentity(
            subject: hex32(subject, "subject"), displayName: name, role: r, kycDigest: hex32(kycDigest, "kyc-digest"))))
    }
}

struct RevokeIdentityCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke-identity", abstract: "Revoke an identity.")
    @OptionGroup var signer: SignerOptions
    @Option(help: "The identity's public key (hex).") var subject: String
    @Option(help: "Why.") var reason: String

    func run() async throws {
        try await signer.submit(.revokeIdentity(RevokeIdentity(subject: hex32(subject, "subject"), reason: reason)))
    }
}

struct RegisterWorkCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register-work",
        abstract: "Register an image: SHA-256 of the file and its ISCC Image-Code, computed here from the decoded image.",
        discussion: "Warns, and asks for --force, when a registered work lies within Hamming distance 8 (the same picture).")
    @OptionGroup var signer: SignerOptions
    @Option(help: "The image file (JPEG, PNG, WebP or TIFF).") var file: String
    @Option(help: "Title.") var title: String
    @Option(help: "Licence statement.") var license: String = ""
    @Flag(help: "Submit even when a registered work looks the same.") var force = false

    func run() async throws {
        let fp = try Fingerprint.of(file)
        print("contentHash \(fp.contentHash.hex)  imageCode \(ImageCode.hex(fp.imageCode))  \(fp.width)x\(fp.height) \(fp.mediaType)")
        let similar = try await APIClient(base: signer.api)
            .get("/v1/works/similar?imageCode=\(ImageCode.hex(fp.imageCode))&maxDistance=8&limit=5")
        if case .array(let matches)? = similar["matches"], !matches.isEmpty {
            print("warning: \(matches.count) registered work(s) within distance 8 (the same picture?):")
            printJSON(.array(matches))
            guard force else { throw ValidationError("not submitted; add --force to register anyway") }
        }
        let work = Work(contentHash: fp.contentHash, imageCode: fp.imageCode, title: title, mediaType: fp.mediaType,
                        width: UInt32(clamping: fp.width), height: UInt32(clamping: fp.height), license: license)
        try await signer.submit(.registerWork(work))
    }
}

struct TransferWorkCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transfer", abstract: "Transfer a work to another identity.")
    @OptionGroup var signer: SignerOptions
    @Option(help: "The work's content hash.") var contentHash: String
    @Option(help: "The new owner's public key.") var to: String

    func run() async throws {
        try await signer.submit(.transferWork(TransferWork(contentHash: hex32(contentHash, "content-hash"), newOwner: hex32(to, "to"))))
    }
}

struct GrantLicenseCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "license", abstract: "Grant a licence on a work.")
    @OptionGroup var signer: SignerOptions
    @Option(help: "The work's content hash.") var contentHash: String
    @Option(help: "The licensee's public key.") var licensee: String
    @Option(help: "Licence terms.") var terms: String
    @Option(help: "End of validity, ms since the epoch (0 = perpetual).") var validUntilMs: UInt64 = 0

    func run() async throws {
        try await signer.submit(.grantLicense(GrantLicense(contentHash: hex32(contentHash, "content-hash"),
                                                           licensee: hex32(licensee, "licensee"), terms: terms,
                                                           validUntilMs: validUntilMs)))
    }
}

struct FileClaimCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "claim", abstract: "File an infringement claim on a work.")
    @OptionGroup var signer: SignerOptions
    @Option(help: "The registered work's content hash.") var contentHash: String
    @Option(help: "SHA-256 of the infringing copy.") var infringingDigest: String
    @Option(help: "Where the copy was found.") var locator: String
    @Option(help: "Note.") var note: String = ""

    func run() async throws {
        try await signer.submit(.fileClaim(FileClaim(contentHash: hex32(contentHash, "content-hash"),
                                                     infringingDigest: hex32(infringingDigest, "infringing-digest"),
                                                     locator: locator, note: note)))
    }
}

struct AddRegistrarCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add-registrar", abstract: "Appoint a registrar (root registrar only).")
    @OptionGroup var signer: SignerOptions
    @Option(help: "The registrar's public key.") var subject: String
    @Option(help: "Its name.") var name: String

    func run() async throws {
        try await signer.submit(.addRegistrar(AddRegistrar(subject: hex32(subject, "subject"), name: name)))
    }
}

struct RemoveRegistrarCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove-registrar", abstract: "Remove a registrar (root registrar only).")
    @OptionGroup var signer: SignerOptions
    @Option(help: "The registrar's public key.") var subject: String

    func run() async throws {
        try await signer.submit(.removeRegistrar(subject: hex32(subject, "subject")))
    }
}

struct ValidatorChangeCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validator-change", abstract: "Vote to add or remove a validator (validators only).",
        discussion: """
            Before it signs, makes the quorum check of `totemd validator vote` (the same code), as the node \
            at --api sees the set: refused, with the counts and who is not live, when after the change fewer \
            than a quorum of the validators would be live (--force votes anyway). `validator vote` adds the \
            checks of the join request and of the voter's membership around it (docs/ops/validator-changes.md).
            """)
    @OptionGroup var signer: SignerOptions
    @Option(help: "add or remove.") var op: String
    @Option(help: "The validator's public key.") var validator: String
    @Option(help: "Its name (add only).") var name: String = ""
    @Option(help: "Its P2P address host:port (add only).") var p2pAddress: String = ""
    @OptionGroup(title: "Quorum check") var quorum: QuorumCheckOptions

    func run() async throws {
        let o: ValidatorChangeOp
        switch op {
        case "add": o = .add
        case "remove": o = .remove
        default: throw ValidationError("--op must be add or remove")
        }
        let change = ValidatorChange(op: o, validator: try hex32(validator, "validator"), name: o == .add ? name : "",
                                     p2pAddress: o == .add ? p2pAddress : "")
        let client = APIClient(base: signer.api)
        try await quorum.enforce(change, client: client, node: try await NodeView.read(client),
                                 set: try await ValidatorsView.read(client))
        try await signer.submit(.validatorChange(change))
    }
}
