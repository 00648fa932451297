import ArgumentParser
import ChainModel
import Foundation
import TotemCrypto

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an Ed25519 key file (mode 0600).")

    @Option(name: .shortAndLong, help: "Where to write the key file.")
    var out: String

    @Flag(help: "Replace an existing file.")
    var overwrite = false

    func run() throws {
        let key = SigningKey.generate()
        do {
            try KeyFile.write(key, path: out, overwrite: overwrite)
        } catch {
            throw ValidationError("\(error.message)")
        }
        print(key.publicKey.hex)
    }
}
