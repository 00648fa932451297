import ArgumentParser
import ChainModel
import Foundation
import ImageCodes
import ImageDecoding
import TotemCrypto

/// The two codes of an image file: SHA-256 of its bytes, and the ISCC Image-Code of its pixels.
struct Fingerprint {
    let contentHash: Bytes32
    let imageCode: UInt64
    let width: Int
    let height: Int
    let mediaType: String

    static func of(_ path: String) throws -> Fingerprint {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        let bytes = Array(data)
        let image: DecodedImage
        do {
            image = try ImageDecoder.decode(bytes)
        } catch {
            throw ValidationError("\(path): \(error.message) (\(error.code.rawValue))")
        }
        return Fingerprint(contentHash: SHA256.hash(bytes), imageCode: image.imageCode, width: image.width,
                           height: image.height, mediaType: image.format.mediaType)
    }
}

struct FingerprintCmd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fingerprint", abstract: "Print an image's SHA-256 and ISCC Image-Code (hex and ISCC display form).")
    @Argument(help: "The image file.") var image: String

    func run() throws {
        let fp = try Fingerprint.of(image)
        print("contentHash \(fp.contentHash.hex)")
        print("imageCode   \(ImageCode.hex(fp.imageCode))")
        print("iscc        \(ImageCode.display(fp.imageCode))")
        print("image       \(fp.width)x\(fp.height) \(fp.mediaType)")
    }
}

struct SimilarCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar", abstract: "List registered works that look like an image (Hamming distance of image codes).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The image file.") var image: String
    @Option(help: "Largest distance, 0 to 16 (<= 8 the same picture, 9 to 16 similar).") var maxDistance: Int = 12
    @Option(help: "Most matches, 1 to 100.") var limit: Int = 20

    func run() async throws {
        let fp = try Fingerprint.of(image)
        let answer = try await APIClient(base: client.api)
            .get("/v1/works/similar?imageCode=\(ImageCode.hex(fp.imageCode))&maxDistance=\(maxDistance)&limit=\(limit)")
        printJSON(answer)
    }
}

/// `totemd certificate TXHASH --out FILE`: exports a committed transaction's `totem-certificate/1`.
struct CertificateCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificate",
        abstract: "Export the registration certificate (totem-certificate/1) of a committed transaction.",
        discussion: "Check it offline with: totemd verify FILE --genesis genesis.json")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The transaction hash.") var txHash: String
    @Option(help: "Item of a RegisterWorkBatch (0-based).") var item: Int?
    @Option(help: "Where to write the certificate.") var out: String

    func run() async throws {
        let path = "/v1/certificates/\(txHash)" + (item.map { "?item=\($0)" } ?? "")
        let answer = try await APIClient(base: client.api).get(path)
        try Data(JSONWriter.write(answer, style: .pretty(indent: 2))).write(to: URL(fileURLWithPath: out))
        print("wrote \(out); check it with: totemd verify \(out) --genesis <the chain's genesis.json>")
    }
}
