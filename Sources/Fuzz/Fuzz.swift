import Certificates
import ChainModel
import Consensus
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ImageCodes
import P2PWire
import TotemCrypto

/// libFuzzer targets for every decoder that takes bytes from outside the node (issue 13): one
/// binary, the target named by `TOTEM_FUZZ` (`scripts/fuzz.sh` builds it with
/// `-sanitize=fuzzer`, seeds each target's corpus from `testdata/` and runs it). A decoder may
/// refuse any input; it must never crash, hang or allocate without bound, and what it accepts must
/// encode back to the same bytes where the encoding is canonical (PROTOCOL.md: one value, one byte
/// string). A failed check is a crash libFuzzer reports and saves.
enum FuzzTarget: String, CaseIterable {
    case tx, block, header, consensus, signingState = "signing-state", p2pMessage = "p2p-message", hello
    case json, genesis, keyFile = "key-file", certificate, imageCode = "image-code"
    /// The state-sync payloads P2P carries opaque (docs/state-sync.md): the first byte picks the
    /// decoder (checkpoint vote, snapshot offer, chunk payload, checkpoint certificate).
    case snapshot

    static let maxBlockTxs = 5_000

    func run(_ bytes: [UInt8]) {
        switch self {
        case .tx:
            if let tx = try? SignedTx.decode(bytes) { check(tx.bytes == bytes, "SignedTx re-encodes differently") }
        case .block:
            if let b = try? Block.decode(bytes, maxTxs: Self.maxBlockTxs) { check(b.encoded == bytes, "Block re-encodes differently") }
        case .header:
            if let h = try? Header.decode(bytes) { check(h.encoded == bytes, "Header re-encodes differently") }
        case .consensus:
            if let m = try? ConsensusCodec.decodeMessage(bytes, maxBlockTxs: Self.maxBlockTxs) {
                check(ConsensusCodec.encode(m) == bytes, "consensus message re-encodes differently")
            }
        case .signingState:
            if let s = try? ConsensusCodec.decodeSigningState(bytes, maxBlockTxs: Self.maxBlockTxs) {
                check(ConsensusCodec.encode(s) == bytes, "signing state re-encodes differently")
            }
        case .p2pMessage:
            if let m = try? P2PWire.Message.decode(bytes) { check(m.encoded == bytes, "P2P message re-encodes differently") }
        case .hello:
            if let h = try? Hello.decode(bytes) { check(h.encoded == bytes, "handshake hello re-encodes differently") }
        case .json:
            _ = try? JSONParser.parse(bytes)
        case .genesis:
            if let g = try? Genesis.parse(fileBytes: bytes) { check(g.fileBytes == bytes, "genesis keeps other bytes") }
        case .keyFile:
            _ = try? KeyFile.decode(bytes)
        case .certificate:
            if let genesis = Self.certificateGenesis { _ = CertificateVerifier.verify(bytes, genesis: genesis) }
        case .imageCode:
            _ = try? ImageCode.parse(String(decoding: bytes, as: UTF8.self))
        case .snapshot:
            guard let kind = bytes.first else { return }
            let body = Array(bytes.dropFirst())
            switch kind % 4 {
            case 0: if let v = try? CheckpointVote.decode(body) { check(v.encoded == body, "checkpoint vote re-encodes differently") }
            case 1: if let o = try? SnapshotOffer.decode(body) { check(o.encoded == body, "snapshot offer re-encodes differently") }
            case 2:
                if let c = try? ChunkPayload.decode(body, maxChunkBytes: 1 << 20) { check(c.encoded == body, "chunk payload re-encodes differently") }
            default:
                if let c = try? CheckpointCertificate.decode(body) { check(c.encoded == body, "checkpoint certificate re-encodes differently") }
            }
        }
    }

    /// The genesis the certificate target verifies against: `TOTEM_FUZZ_GENESIS` (scripts/fuzz.sh
    /// passes the conformance certificates' genesis, so seeds from there reach every step).
    nonisolated(unsafe) static var certificateGenesis: Genesis?
}

func check(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition { fatalError("fuzz check failed: \(what())") }
}

// Read once at start, before libFuzzer calls the target from its single thread.
nonisolated(unsafe) var target: FuzzTarget = .tx

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// libFuzzer's `LLVMFuzzerRunDriver`, looked up at run time: a plain `swift build` builds this
/// target without libFuzzer (the symbol is absent and the binary says how to build it), and
/// scripts/fuzz.sh links libFuzzer in and exports it (`--export-dynamic`).
typealias RunDriver = @convention(c) (UnsafeMutablePointer<CInt>,
                                      UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                      @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

func fail(_ message: String) -> CInt {
    FileHandle.standardError.write(Data("totem-fuzz: \(message)\n".utf8))
    return 2
}

/// The entry point: picks the target and hands over to libFuzzer's driver (which reads the usual
/// flags).
@main
enum FuzzMain {
    static func main() {
        exit(fuzzMain(CommandLine.argc, CommandLine.unsafeArgv))
    }
}

func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerRunDriver") else {
        return fail("built without libFuzzer: run scripts/fuzz.sh")
    }
    let env = ProcessInfo.processInfo.environment
    guard let name = env["TOTEM_FUZZ"], let chosen = FuzzTarget(rawValue: name) else {
        return fail("set TOTEM_FUZZ to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    target = chosen
    if chosen == .certificate {
        guard let path = env["TOTEM_FUZZ_GENESIS"], let bytes = FileManager.default.contents(atPath: path),
              let genesis = try? Genesis.parse(fileBytes: Array(bytes)) else {
            return fail("the certificate target needs TOTEM_FUZZ_GENESIS, a valid genesis file")
        }
        FuzzTarget.certificateGenesis = genesis
    }
    var c = argc
    var v = argv
    return unsafeBitCast(symbol, to: RunDriver.self)(&c, &v, fuzzOne)
}
